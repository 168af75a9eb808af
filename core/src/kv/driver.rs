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
