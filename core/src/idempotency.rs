//! Run a piece of work at most once per key, on any provider's key-value store.
//!
//! A record per key moves from *in progress* (a create-only write) to *completed* (a versioned
//! write holding the result). A repeat with the same key returns the stored result; a repeat while
//! the first run is still going fails with a temporary error, so the platform delivers it again
//! later; a repeat with the same key but a different payload is an error; a run that fails deletes
//! its record so a later delivery runs again. Records expire, and an in-progress record of a run
//! that died frees its key after `in_progress_timeout`.

use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{Error, ErrorKind, KvStore, Precondition, Result};

/// Runs closures at most once per key.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> cloudport_core::Result<()> {
/// use cloudport_core::idempotency::Idempotency;
/// let once = Idempotency::new(cloudport_memory::Memory::new().kv("idempotency"));
/// let charge = serde_json::json!({"order": "42", "cents": 1250});
/// let first: String = once.run("charge/42", &charge, || async { Ok("receipt-1".to_owned()) }).await?;
/// let again: String = once.run("charge/42", &charge, || async { Ok("receipt-2".to_owned()) }).await?;
/// assert_eq!(first, again); // the second closure never ran
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Idempotency {
    kv: KvStore,
    expiry: Duration,
    in_progress_timeout: Duration,
    prefix: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
enum Record {
    InProgress {
        fingerprint: String,
        started_ms: u64,
    },
    Completed {
        fingerprint: String,
        result: serde_json::Value,
    },
}

fn now_ms() -> u64 {
    u64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis(),
    )
    .unwrap_or(u64::MAX)
}

/// A stable fingerprint of a payload: SHA-256 of its JSON with object keys sorted (so map order,
/// which differs between processes, does not change it).
pub fn fingerprint<P: Serialize + ?Sized>(payload: &P) -> Result<String> {
    let canonical = serde_json::to_value(payload)
        .map_err(|e| Error::invalid(format!("the payload is not serializable: {e}")))?;
    let bytes = serde_json::to_vec(&canonical)
        .map_err(|e| Error::invalid(format!("the payload is not serializable: {e}")))?;
    Ok(Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

impl Idempotency {
    /// Records in `kv`, completed ones kept for a day, in-progress ones for five minutes.
    pub fn new(kv: KvStore) -> Self {
        Self {
            kv,
            expiry: Duration::from_secs(24 * 3600),
            in_progress_timeout: Duration::from_secs(300),
            prefix: "idempotency/".to_owned(),
        }
    }

    /// How long a completed run's result is kept (and repeats answered from it).
    pub fn expiry(mut self, expiry: Duration) -> Self {
        self.expiry = expiry;
        self
    }

    /// After how long a run still in progress is presumed dead and its key freed. Set it above
    /// the function's timeout.
    pub fn in_progress_timeout(mut self, timeout: Duration) -> Self {
        self.in_progress_timeout = timeout;
        self
    }

    /// The prefix of record keys (`idempotency/` by default).
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Runs `work` unless a run with `key` completed already (then its stored result is returned).
    ///
    /// Errors: `AlreadyExists` (temporary) while another run of the key is in progress;
    /// `InvalidArgument` when the key was used with a different payload; `Malformed`, naming the
    /// key, when its record is corrupt (never a silent re-run); and `work`'s own error, after
    /// which the key is free again.
    pub async fn run<T, P, F, Fut>(&self, key: &str, payload: &P, work: F) -> Result<T>
    where
        T: Serialize + DeserializeOwned,
        P: Serialize + ?Sized,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let record_key = format!("{}{key}", self.prefix);
        let fp = fingerprint(payload)?;
        for ttl in [self.expiry, self.in_progress_timeout] {
            if ttl < Duration::from_secs(1) || ttl > crate::kv::MAX_TTL {
                return Err(Error::invalid(format!(
                    "idempotency expiries must be 1 s to 100 years, got {ttl:?}"
                )));
            }
        }
        // A claim outlives the invocation that holds it, so no redelivery runs the work meanwhile.
        let claim_ttl = crate::context::remaining().map_or(self.in_progress_timeout, |left| {
            self.in_progress_timeout.max(left + Duration::from_secs(30))
        });
        let started = Record::InProgress {
            fingerprint: fp.clone(),
            started_ms: now_ms(),
        };
        let claim = self
            .kv
            .put_json(
                &record_key,
                &started,
                Precondition::IfAbsent.with_ttl(claim_ttl),
            )
            .await;
        let version = match claim {
            Ok(version) => version,
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                return self.answer_repeat(&record_key, &fp).await;
            }
            Err(e) => return Err(e),
        };
        match work().await {
            Ok(value) => {
                // The work is done: whatever happens to the record now, the caller gets its value.
                // A record left in progress expires, and only then could a redelivery run again.
                match serde_json::to_value(&value) {
                    Ok(result) => {
                        let done = Record::Completed {
                            fingerprint: fp,
                            result,
                        };
                        let saved = self
                            .kv
                            .put_json(
                                &record_key,
                                &done,
                                Precondition::IfVersion(version).with_ttl(self.expiry),
                            )
                            .await;
                        if let Err(e) = saved {
                            tracing::error!(key = %record_key, error = %e,
                                "the work ran but its idempotency record could not be completed");
                        }
                    }
                    Err(e) => tracing::error!(key = %record_key, error = %e,
                        "the work ran but its result cannot be stored (not serializable)"),
                }
                Ok(value)
            }
            Err(e) => {
                // Free the key so the next delivery runs again; if that fails, the in-progress
                // record expires after `in_progress_timeout`.
                if let Err(release) = self
                    .kv
                    .delete_if(&record_key, Precondition::IfVersion(version))
                    .await
                {
                    tracing::warn!(key = %record_key, error = %release, "could not release the idempotency key");
                }
                Err(e)
            }
        }
    }

    async fn answer_repeat<T: DeserializeOwned>(&self, record_key: &str, fp: &str) -> Result<T> {
        let Some(entry) = self.kv.get(record_key).await? else {
            // Gone between our write and this read (expired or released): the caller retries.
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!(
                    "the idempotency record {record_key:?} changed during the check; try again"
                ),
            )
            .temporary(true));
        };
        let record: Record = serde_json::from_slice(&entry.value).map_err(|e| {
            Error::new(
                ErrorKind::Malformed,
                format!("the idempotency record {record_key:?} is corrupt: {e}"),
            )
            .with_resource(record_key.to_owned())
        })?;
        match record {
            Record::InProgress { fingerprint, .. } | Record::Completed { fingerprint, .. }
                if fingerprint != fp =>
            {
                Err(Error::invalid(format!(
                    "idempotency key {record_key:?} was used with a different payload"
                ))
                .with_resource(record_key.to_owned()))
            }
            Record::InProgress { .. } => Err(Error::new(
                ErrorKind::AlreadyExists,
                format!("a run of {record_key:?} is in progress"),
            )
            .temporary(true)
            .with_resource(record_key.to_owned())),
            Record::Completed { result, .. } => serde_json::from_value(result).map_err(|e| {
                Error::new(
                    ErrorKind::Malformed,
                    format!("the stored result of {record_key:?} is not the expected type: {e}"),
                )
                .with_resource(record_key.to_owned())
            }),
        }
    }
}
