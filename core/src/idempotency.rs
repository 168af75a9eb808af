//! Run a piece of work at most once per key, on any provider's key-value store.
//!
//! A record per key moves from *in progress* (a create-only write: the claim) to *completed* (a
//! versioned write holding the result). A repeat with the same key returns the stored result; a
//! repeat while the first run is still going fails with a temporary error, so the platform delivers
//! it again later; a repeat with the same key but a different payload is an error (the payload's
//! hash is kept in the record). A run that fails, panics or is cancelled (its future dropped)
//! deletes its claim, so a later delivery runs again — the semantics of Powertools for AWS
//! Lambda's idempotency utility.
//!
//! A claim expires with the invocation that holds it: inside an invocation with a deadline (every
//! host sets one) at the deadline plus [`CLAIM_MARGIN`], elsewhere after `in_progress_timeout`.
//! So a run that died (the process killed) frees its key as soon as it can no longer be running.
//!
//! **Fencing.** The claim's version is the run's fencing token: the result is written only if the
//! record still has that version. A run that outlived its claim (a stalled process whose claim
//! expired, after which a newer delivery claimed the key and completed) can never overwrite the
//! newer run's record. The conformance suite checks that no store reuses a version after a delete.

use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{Error, ErrorKind, KvStore, Precondition, Result, Version};

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

/// How long a claim outlives its invocation's deadline: the clock skew allowed between the
/// function and the store.
pub const CLAIM_MARGIN: Duration = Duration::from_secs(5);

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

    /// After how long a run still in progress is presumed dead and its key freed, when it runs
    /// outside an invocation with a deadline (inside one, the claim ends with the deadline). Set
    /// it above the longest the work can take.
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
    pub async fn run<T, P, F, Fut>(&self, key: impl AsRef<str>, payload: &P, work: F) -> Result<T>
    where
        T: Serialize + DeserializeOwned,
        P: Serialize + ?Sized,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let record_key = format!("{}{}", self.prefix, key.as_ref());
        let fp = fingerprint(payload)?;
        for ttl in [self.expiry, self.in_progress_timeout] {
            if ttl < Duration::from_secs(1) || ttl > crate::kv::MAX_TTL {
                return Err(Error::invalid(format!(
                    "idempotency expiries must be 1 s to 100 years, got {ttl:?}"
                )));
            }
        }
        // The claim lasts as long as the invocation can: no redelivery runs the work meanwhile,
        // and a run that died frees the key once it can no longer be running.
        let claim_ttl = crate::context::remaining().map_or(self.in_progress_timeout, |left| {
            (left + CLAIM_MARGIN).min(crate::kv::MAX_TTL)
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
        // Released if the work panics or its future is dropped (the invocation cancelled).
        let mut claim = Claim {
            kv: &self.kv,
            key: &record_key,
            version: Some(version.clone()),
        };
        let outcome = work().await;
        claim.version = None;
        match outcome {
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

    /// The store the records are kept in.
    pub fn store(&self) -> &KvStore {
        &self.kv
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

/// A claim held while the work runs: dropped still armed (the work panicked, or its future was
/// dropped), it deletes the record if it still has the claim's version — in a task of its own,
/// since `Drop` cannot wait. Without a Tokio runtime the claim expires instead.
struct Claim<'a> {
    kv: &'a KvStore,
    key: &'a str,
    version: Option<Version>,
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        let Some(version) = self.version.take() else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!(key = %self.key, "the work was abandoned outside a Tokio runtime; its idempotency claim expires instead of being released");
            return;
        };
        let (kv, key) = (self.kv.clone(), self.key.to_owned());
        tracing::warn!(key = %key, "the work panicked or was cancelled; releasing its idempotency claim");
        runtime.spawn(async move {
            if let Err(e) = kv.delete_if(&key, Precondition::IfVersion(version)).await
                && e.kind() != ErrorKind::PreconditionFailed
                && e.kind() != ErrorKind::NotFound
            {
                tracing::warn!(key = %key, error = %e, "could not release the idempotency claim; it expires instead");
            }
        });
    }
}
