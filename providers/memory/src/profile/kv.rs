//! A memory key-value store under a cloud's table limits.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use cloudport_core::{
    ErrorKind, KvCapabilities, KvDriver, KvEntry, Precondition, Result, ScanPage, Version,
};

use super::{Cloud, Profile, limits};
use crate::MemoryKv;

/// The capabilities a store reports under `profile`.
pub(crate) fn capabilities(profile: Profile) -> KvCapabilities {
    let mut clouds = profile.clouds().iter().map(|&c| limits::kv(c));
    let first = clouds.next().unwrap_or_default();
    clouds.fold(first, |acc, c| limits::min_kv(&acc, &c))
}

/// A [`MemoryKv`] that refuses what its profile's tables refuse, before the memory store sees the
/// call.
///
/// TTLs: the portable layer takes whole-second-or-longer TTLs; every provider stores the expiry
/// time and honours it on read (the AWS and Azure providers in Unix milliseconds, the GCP one in a
/// Firestore timestamp, microseconds:
/// <https://firebase.google.com/docs/firestore/manage-data/data-types>), so the services' own TTL
/// deletion — seconds-granular and lazy in DynamoDB
/// (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/howitworks-ttl.html>),
/// lazy in Firestore (<https://cloud.google.com/firestore/docs/ttl>), absent in Azure Table — is
/// not observable through cloudport. A profile keeps a TTL to whole milliseconds, the coarsest
/// precision a provider stores.
#[derive(Debug, Clone)]
pub struct ProfiledKv {
    inner: MemoryKv,
    profile: Profile,
    capabilities: KvCapabilities,
}

impl ProfiledKv {
    pub(crate) fn new(inner: MemoryKv, profile: Profile, capabilities: KvCapabilities) -> Self {
        Self {
            inner,
            profile,
            capabilities,
        }
    }

    /// The memory store underneath.
    pub fn inner(&self) -> &MemoryKv {
        &self.inner
    }

    /// The profile enforced.
    pub fn profile(&self) -> Profile {
        self.profile
    }

    /// Checks a key against every rule of the profile.
    pub fn check_key(&self, key: &str) -> Result<()> {
        let p = self.profile;
        for &cloud in p.clouds() {
            let max = limits::kv(cloud).max_key_bytes;
            if key.len() > max {
                return Err(p.refuse(
                    ErrorKind::InvalidArgument,
                    format_args!(
                        "the key is {} bytes; this exceeds {}' {max}-byte key limit",
                        key.len(),
                        cloud.kv_service()
                    ),
                ));
            }
            if cloud == Cloud::Azure {
                let escaped = azure_escaped_len(key);
                if escaped > limits::AZURE_TABLE_MAX_KEY_UTF16 {
                    return Err(p.refuse(
                        ErrorKind::InvalidArgument,
                        format_args!(
                            "the key is {escaped} UTF-16 code units once its / \\ # ? % ' and control characters are escaped; this exceeds Azure Table Storage's 1 KiB (512 UTF-16 code units) RowKey limit"
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    fn check_value(&self, value: &[u8]) -> Result<()> {
        for &cloud in self.profile.clouds() {
            let max = limits::kv(cloud).max_value_bytes;
            if value.len() > max {
                return Err(self.profile.refuse(
                    ErrorKind::TooLarge,
                    format_args!(
                        "the value is {} bytes; this exceeds the {} KiB cloudport stores in one {} item",
                        value.len(),
                        max / 1024,
                        cloud.kv_service()
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// The length, in UTF-16 code units (what Table Storage counts), of `key` escaped as the Azure
/// provider escapes Table keys: `/ \ # ?`, `%`, `'` and control characters as `%XX` per UTF-8
/// byte.
fn azure_escaped_len(key: &str) -> usize {
    key.chars()
        .map(|c| {
            if matches!(c, '/' | '\\' | '#' | '?' | '%' | '\'') || c.is_control() {
                3 * c.len_utf8()
            } else {
                c.len_utf16()
            }
        })
        .sum()
}

/// `ttl` at the precision expiry is stored in: whole milliseconds.
fn stored_ttl(ttl: Duration) -> Duration {
    Duration::from_millis(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX))
}

#[async_trait]
impl KvDriver for ProfiledKv {
    fn provider(&self) -> &'static str {
        self.inner.provider()
    }

    fn name(&self) -> &str {
        self.inner.name()
    }

    fn capabilities(&self) -> &KvCapabilities {
        &self.capabilities
    }

    async fn get(&self, key: &str) -> Result<Option<KvEntry>> {
        self.check_key(key)?;
        self.inner.get(key).await
    }

    async fn put(
        &self,
        key: &str,
        value: Bytes,
        precondition: &Precondition,
        ttl: Option<Duration>,
    ) -> Result<Version> {
        self.check_key(key)?;
        self.check_value(&value)?;
        self.inner
            .put(key, value, precondition, ttl.map(stored_ttl))
            .await
    }

    async fn delete(&self, key: &str, precondition: &Precondition) -> Result<bool> {
        self.check_key(key)?;
        self.inner.delete(key, precondition).await
    }

    async fn scan(
        &self,
        prefix: &str,
        limit: usize,
        page_token: Option<String>,
    ) -> Result<ScanPage> {
        if limit > self.capabilities.max_scan_page {
            return Err(self.profile.refuse(
                ErrorKind::InvalidArgument,
                format_args!(
                    "a scan page of {limit} exceeds the {} per page",
                    self.capabilities.max_scan_page
                ),
            ));
        }
        self.inner.scan(prefix, limit, page_token).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_triples_what_table_forbids() {
        assert_eq!(azure_escaped_len("a/b"), 5);
        assert_eq!(azure_escaped_len("é"), 1);
        assert_eq!(azure_escaped_len("😀"), 2);
        assert_eq!(azure_escaped_len("\u{7f}"), 3);
    }

    #[test]
    fn ttls_keep_whole_milliseconds() {
        assert_eq!(
            stored_ttl(Duration::from_micros(1_500_700)),
            Duration::from_millis(1500)
        );
    }
}
