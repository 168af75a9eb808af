//! Versions, preconditions and entries of key-value state.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use serde::de::DeserializeOwned;

use crate::{Error, ErrorKind, Result};

/// An opaque version of a stored value (a counter, an ETag, an update time). Compare it; never
/// parse it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Version(String);

impl Version {
    /// Wraps a provider's version.
    pub fn new(v: impl Into<String>) -> Self {
        Self(v.into())
    }

    /// The provider's value.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A condition on a write or delete.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Precondition {
    /// No condition.
    #[default]
    None,
    /// Only if the key is absent (or expired); otherwise `AlreadyExists`.
    IfAbsent,
    /// Only if the stored version is this one; otherwise `PreconditionFailed`.
    IfVersion(Version),
}

impl Precondition {
    /// This precondition with a time to live for the written value.
    ///
    /// ```
    /// use cloudport_core::Precondition;
    /// use std::time::Duration;
    /// let put = Precondition::IfAbsent.with_ttl(Duration::from_secs(60));
    /// assert_eq!(put.ttl, Some(Duration::from_secs(60)));
    /// ```
    pub fn with_ttl(self, ttl: Duration) -> KvPut {
        KvPut {
            precondition: self,
            ttl: Some(ttl),
        }
    }
}

/// How to write a value: a precondition and an optional time to live. A [`Precondition`] converts
/// into one.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct KvPut {
    /// The precondition.
    pub precondition: Precondition,
    /// After this long the value is gone: never returned, and `IfAbsent` succeeds again.
    pub ttl: Option<Duration>,
}

impl KvPut {
    /// A write under `precondition`, kept until overwritten or deleted.
    ///
    /// ```
    /// use std::time::Duration;
    /// use cloudport_core::{KvPut, Precondition};
    /// let how = KvPut::new(Precondition::IfAbsent).with_ttl(Duration::from_secs(60));
    /// assert_eq!(how, Precondition::IfAbsent.with_ttl(Duration::from_secs(60)));
    /// ```
    pub fn new(precondition: Precondition) -> Self {
        precondition.into()
    }

    /// Gone after `ttl`: never returned, and `IfAbsent` succeeds again.
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }
}

impl From<Precondition> for KvPut {
    fn from(precondition: Precondition) -> Self {
        Self {
            precondition,
            ttl: None,
        }
    }
}

/// A stored value with its version.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct KvEntry {
    /// The key.
    pub key: String,
    /// The value.
    pub value: Bytes,
    /// Its version, for [`Precondition::IfVersion`].
    pub version: Version,
    /// When it expires, if it has a time to live.
    pub expires_at: Option<SystemTime>,
}

impl KvEntry {
    /// An entry; drivers build these.
    pub fn new(key: impl Into<String>, value: impl Into<Bytes>, version: Version) -> Self {
        Self {
            key: key.into(),
            value: value.into(),
            version,
            expires_at: None,
        }
    }

    /// Sets the expiry.
    pub fn with_expires_at(mut self, expires_at: Option<SystemTime>) -> Self {
        self.expires_at = expires_at;
        self
    }

    /// The value parsed as JSON; a corrupt value is a `Malformed` error naming the key.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.value).map_err(|e| {
            Error::new(
                ErrorKind::Malformed,
                format!("value of key {:?} is not the expected JSON: {e}", self.key),
            )
            .with_resource(self.key.clone())
        })
    }
}

/// One page of a prefix scan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ScanPage {
    /// Entries in key order.
    pub entries: Vec<KvEntry>,
    /// Pass to the next scan for more; `None` on the last page.
    pub next_page_token: Option<String>,
}

impl ScanPage {
    /// A page; drivers build these.
    pub fn new(entries: Vec<KvEntry>, next_page_token: Option<String>) -> Self {
        Self {
            entries,
            next_page_token,
        }
    }
}
