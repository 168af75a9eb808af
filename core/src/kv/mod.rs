//! Key-value state: the portable [`KvStore`] over a provider's [`KvDriver`].

mod driver;
mod types;

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;

use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;

#[cfg(feature = "mock")]
pub use driver::MockKvDriver;
pub use driver::{KvDriver, delete_in_rounds};
pub use types::{KvEntry, KvPut, Precondition, ScanPage, Version};

use crate::retry::{Idempotence, RetryPolicy};
use crate::{Error, ErrorKind, KvCapabilities, Result, validate};

/// Key-value state with versions: optimistic concurrency, time to live and prefix scans.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> cloudport_core::Result<()> {
/// use cloudport_core::{ErrorKind, Precondition};
/// let kv = cloudport_memory::Memory::new().kv("orders");
///
/// let v1 = kv.put("order/42", "new", Precondition::IfAbsent).await?;
/// let dup = kv.put("order/42", "new", Precondition::IfAbsent).await;
/// assert_eq!(dup.unwrap_err().kind(), ErrorKind::AlreadyExists);
///
/// kv.put("order/42", "paid", Precondition::IfVersion(v1.clone())).await?;
/// let stale = kv.put("order/42", "lost", Precondition::IfVersion(v1)).await;
/// assert_eq!(stale.unwrap_err().kind(), ErrorKind::PreconditionFailed);
///
/// assert_eq!(kv.get("order/42").await?.unwrap().value, "paid");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct KvStore {
    driver: Arc<dyn KvDriver>,
    retry: RetryPolicy,
    grant: Option<Arc<crate::access::Grant>>,
}

crate::access::granted!(KvStore);

impl std::fmt::Debug for KvStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KvStore")
            .field("provider", &self.driver.provider())
            .field("name", &self.driver.name())
            .finish()
    }
}

impl KvStore {
    /// A store over a driver.
    pub fn new(driver: impl KvDriver) -> Self {
        Self::from_driver(Arc::new(driver))
    }

    /// A store over a shared driver.
    pub fn from_driver(driver: Arc<dyn KvDriver>) -> Self {
        Self {
            driver,
            retry: RetryPolicy::default(),
            grant: None,
        }
    }

    /// Retries driver calls that fail temporarily by this policy (default: [`RetryPolicy::default`]).
    /// Conditional writes are repeated only after throttling: a repeat of one that took effect
    /// would fail its own condition.
    pub fn with_retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The store's name at the provider.
    pub fn name(&self) -> &str {
        self.driver.name()
    }

    /// The provider's name.
    pub fn provider(&self) -> &'static str {
        self.driver.provider()
    }

    /// What this store supports.
    pub fn capabilities(&self) -> &KvCapabilities {
        self.driver.capabilities()
    }

    /// The driver.
    pub fn driver(&self) -> &Arc<dyn KvDriver> {
        &self.driver
    }

    /// The provider's concrete driver (the escape hatch).
    pub fn native<D: KvDriver>(&self) -> Option<&D> {
        (self.driver.as_ref() as &dyn Any).downcast_ref::<D>()
    }

    fn span(&self, op: &'static str) -> tracing::Span {
        crate::telemetry::operation_span(op, self.driver.provider(), self.driver.name())
    }

    fn context(&self, op: &'static str, key: &str, err: Error) -> Error {
        err.with_provider(self.driver.provider())
            .with_operation(op)
            .with_resource(format!(
                "{}/{}",
                self.driver.name(),
                validate::truncate(key)
            ))
    }

    fn check_key(&self, op: &'static str, key: &str) -> Result<()> {
        validate::key(key, self.capabilities().max_key_bytes).map_err(|e| self.context(op, key, e))
    }

    fn check_precondition(&self, precondition: &Precondition) -> Result<()> {
        let caps = self.capabilities();
        match precondition {
            Precondition::IfAbsent if !caps.if_absent => {
                Err(Error::unsupported("this store cannot make IfAbsent writes"))
            }
            Precondition::IfVersion(_) if !caps.if_version => Err(Error::unsupported(
                "this store cannot make IfVersion writes",
            )),
            _ => Ok(()),
        }
    }

    /// Reads a key; `None` when absent or expired.
    pub async fn get(&self, key: impl AsRef<str>) -> Result<Option<KvEntry>> {
        const OP: &str = "kv.get";
        self.allow(crate::access::Access::KV_READ, OP)?;
        let key = key.as_ref();
        self.check_key(OP, key)?;
        self.retry
            .run(Idempotence::Safe, || self.driver.get(key))
            .instrument(self.span(OP))
            .await
            .map_err(|e| self.context(OP, key, e))
    }

    /// Reads a JSON value and its version; a corrupt value is a `Malformed` error naming the key.
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        key: impl AsRef<str>,
    ) -> Result<Option<(T, Version)>> {
        let key = key.as_ref();
        match self.get(key).await? {
            None => Ok(None),
            Some(entry) => {
                let value = entry.json().map_err(|e| self.context("kv.get", key, e))?;
                Ok(Some((value, entry.version)))
            }
        }
    }

    /// Writes a key under a precondition, and optionally a time to live (see [`KvPut`]).
    pub async fn put(
        &self,
        key: impl AsRef<str>,
        value: impl Into<Bytes>,
        how: impl Into<KvPut>,
    ) -> Result<Version> {
        const OP: &str = "kv.put";
        self.allow(crate::access::Access::KV_WRITE, OP)?;
        let key = key.as_ref();
        let value = value.into();
        let how = how.into();
        self.check_key(OP, key)?;
        let caps = self.capabilities();
        let check = || -> Result<()> {
            self.check_precondition(&how.precondition)?;
            if value.len() > caps.max_value_bytes {
                return Err(Error::new(
                    ErrorKind::TooLarge,
                    format!(
                        "value is {} bytes; the limit of this store is {}",
                        value.len(),
                        caps.max_value_bytes
                    ),
                ));
            }
            if let Some(ttl) = how.ttl {
                if !caps.ttl {
                    return Err(Error::unsupported("this store cannot expire entries"));
                }
                if ttl < Duration::from_secs(1) {
                    return Err(Error::invalid(format!("ttl {ttl:?} is under one second")));
                }
                if ttl > MAX_TTL {
                    return Err(Error::invalid(format!(
                        "ttl {ttl:?} is over the limit of {} years",
                        MAX_TTL.as_secs() / (365 * 24 * 3600)
                    )));
                }
            }
            Ok(())
        };
        check().map_err(|e| self.context(OP, key, e))?;
        let idempotence = match how.precondition {
            Precondition::None => Idempotence::Safe,
            _ => Idempotence::Unsafe,
        };
        self.retry
            .run(idempotence, || {
                self.driver
                    .put(key, value.clone(), &how.precondition, how.ttl)
            })
            .instrument(self.span(OP))
            .await
            .map_err(|e| self.context(OP, key, e))
    }

    /// Writes `value` as JSON under a precondition.
    pub async fn put_json<T: Serialize + ?Sized>(
        &self,
        key: impl AsRef<str>,
        value: &T,
        how: impl Into<KvPut>,
    ) -> Result<Version> {
        let bytes = serde_json::to_vec(value)
            .map_err(|e| Error::invalid(format!("value is not serializable as JSON: {e}")))?;
        self.put(key, bytes, how).await
    }

    /// Deletes a key; deleting an absent key succeeds. Returns whether a live entry was deleted.
    pub async fn delete(&self, key: impl AsRef<str>) -> Result<bool> {
        self.delete_if(key, Precondition::None).await
    }

    /// Deletes a key only if it has this version (`Precondition::IfVersion`).
    pub async fn delete_if(
        &self,
        key: impl AsRef<str>,
        precondition: Precondition,
    ) -> Result<bool> {
        const OP: &str = "kv.delete";
        self.allow(crate::access::Access::KV_WRITE, OP)?;
        let key = key.as_ref();
        self.check_key(OP, key)?;
        if precondition == Precondition::IfAbsent {
            return Err(self.context(
                OP,
                key,
                Error::invalid("a delete cannot be conditional on absence"),
            ));
        }
        self.check_precondition(&precondition)
            .map_err(|e| self.context(OP, key, e))?;
        let idempotence = match precondition {
            Precondition::None => Idempotence::Safe,
            _ => Idempotence::Unsafe,
        };
        self.retry
            .run(idempotence, || self.driver.delete(key, &precondition))
            .instrument(self.span(OP))
            .await
            .map_err(|e| self.context(OP, key, e))
    }

    /// One page of entries whose keys start with `prefix` (which may be empty), in key order.
    pub async fn scan(
        &self,
        prefix: impl AsRef<str>,
        limit: usize,
        page_token: Option<&str>,
    ) -> Result<ScanPage> {
        let prefix = prefix.as_ref();
        const OP: &str = "kv.scan";
        self.allow(crate::access::Access::KV_READ, OP)?;
        let caps = self.capabilities();
        let check = || -> Result<()> {
            if !caps.scan_prefix {
                return Err(Error::unsupported("this store cannot scan by prefix"));
            }
            if limit == 0 || limit > caps.max_scan_page {
                return Err(Error::invalid(format!(
                    "limit must be 1..={}, got {limit}",
                    caps.max_scan_page
                )));
            }
            if prefix.len() > caps.max_key_bytes || prefix.chars().any(char::is_control) {
                return Err(Error::invalid("prefix is not a valid key prefix"));
            }
            Ok(())
        };
        check().map_err(|e| self.context(OP, prefix, e))?;
        self.retry
            .run(Idempotence::Safe, || {
                self.driver
                    .scan(prefix, limit, page_token.map(str::to_owned))
            })
            .instrument(self.span(OP))
            .await
            .map_err(|e| self.context(OP, prefix, e))
    }

    /// Every live entry whose key starts with `prefix`, following pages.
    pub async fn scan_all(&self, prefix: impl AsRef<str>) -> Result<Vec<KvEntry>> {
        let prefix = prefix.as_ref();
        let limit = self.capabilities().max_scan_page;
        let mut all = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self.scan(prefix, limit, token.as_deref()).await?;
            all.extend(page.entries);
            match page.next_page_token {
                Some(t) => token = Some(t),
                None => return Ok(all),
            }
        }
    }

    /// Read-modify-write of a JSON value under optimistic concurrency: reads the value (`None` when
    /// absent), applies `f`, and writes the result only if nobody wrote in between; on a conflict it
    /// reads again and retries, up to `max_attempts` times. Returns the written value and version.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> cloudport_core::Result<()> {
    /// let kv = cloudport_memory::Memory::new().kv("counters");
    /// for _ in 0..3 {
    ///     kv.update_json("hits", 16, |n: Option<u64>| Ok(n.unwrap_or(0) + 1)).await?;
    /// }
    /// assert_eq!(kv.get_json::<u64>("hits").await?.unwrap().0, 3);
    /// # Ok(()) }
    /// ```
    pub async fn update_json<T, F>(
        &self,
        key: impl AsRef<str>,
        max_attempts: u32,
        mut f: F,
    ) -> Result<(T, Version)>
    where
        T: Serialize + DeserializeOwned,
        F: FnMut(Option<T>) -> Result<T>,
    {
        let key = key.as_ref();
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let current = self.get_json::<T>(key).await?;
            let (value, precondition) = match current {
                Some((v, version)) => (Some(v), Precondition::IfVersion(version)),
                None => (None, Precondition::IfAbsent),
            };
            let next = f(value)?;
            match self.put_json(key, &next, precondition).await {
                Ok(version) => return Ok((next, version)),
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::PreconditionFailed | ErrorKind::AlreadyExists
                    ) && attempt < max_attempts =>
                {
                    tokio::time::sleep(conflict_backoff(attempt)).await;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// The longest time to live (100 years): beyond it, expiry times overflow some stores' clocks.
pub const MAX_TTL: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// A short random pause after a write conflict, so contending writers spread out.
fn conflict_backoff(attempt: u32) -> Duration {
    let cap_micros = 200u64 << attempt.min(8);
    Duration::from_micros(fastrand::u64(..cap_micros))
}
