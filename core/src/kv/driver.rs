//! The trait a provider implements for key-value state.

use std::any::Any;
use std::fmt::Debug;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

use super::{KvEntry, Precondition, ScanPage, Version};
use crate::{KvCapabilities, Result};

/// A provider's key-value table (DynamoDB table, Azure table, Firestore collection). Thin:
/// [`KvStore`](crate::KvStore) validates keys, values and preconditions and adds error context;
/// drivers never retry.
///
/// Expired entries are never returned and count as absent, whether or not the provider has
/// deleted them yet.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait KvDriver: Any + Debug + Send + Sync {
    /// The provider's name.
    fn provider(&self) -> &'static str;

    /// The store's name at the provider.
    fn name(&self) -> &str;

    /// What this store supports.
    fn capabilities(&self) -> &KvCapabilities;

    /// Reads a key; `None` when absent or expired.
    async fn get(&self, key: &str) -> Result<Option<KvEntry>>;

    /// Writes a key under a precondition (`IfAbsent` fails with `AlreadyExists`, a stale
    /// `IfVersion` with `PreconditionFailed`); returns the new version.
    async fn put(
        &self,
        key: &str,
        value: Bytes,
        precondition: &Precondition,
        ttl: Option<Duration>,
    ) -> Result<Version>;

    /// Deletes a key under a precondition (`None` or `IfVersion`); deleting an absent key without a
    /// precondition succeeds. Returns whether a live entry was deleted.
    async fn delete(&self, key: &str, precondition: &Precondition) -> Result<bool>;

    /// Lists live entries whose keys start with `prefix`, in key order, at most `limit`.
    async fn scan(
        &self,
        prefix: &str,
        limit: usize,
        page_token: Option<String>,
    ) -> Result<ScanPage>;
}

/// For drivers whose unconditional delete is a read and a delete under the version read (so
/// "was a live entry deleted" stays exact): runs `round` until it settles (`Some(live)`), at most
/// 8 times; a key that keeps changing is a temporary `Unavailable` error for the portable retry.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let mut rounds = 0;
/// let deleted = cloudport_core::kv::delete_in_rounds(|| {
///     rounds += 1;
///     let settled = (rounds == 2).then_some(true);
///     async move { Ok(settled) }
/// }).await?;
/// assert!(deleted);
/// # Ok::<(), cloudport_core::Error>(()) }).unwrap();
/// ```
pub async fn delete_in_rounds<F, Fut>(mut round: F) -> Result<bool>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<bool>>>,
{
    const MAX_ROUNDS: usize = 8;
    for _ in 0..MAX_ROUNDS {
        if let Some(live) = round().await? {
            return Ok(live);
        }
    }
    Err(crate::Error::new(
        crate::ErrorKind::Unavailable,
        "the entry kept changing while it was being deleted",
    )
    .temporary(true))
}
