//! A memory bucket under a cloud's object-store limits.

use std::collections::BTreeMap;

use async_trait::async_trait;
use cloudport_core::blob::{
    BlobChange, Body, GetOptions, GetResult, ListOptions, ListPage, ObjectMeta, PutOptions,
    WriteCondition,
};
use cloudport_core::{BlobCapabilities, BlobDriver, ErrorKind, Result};

use super::{Cloud, Profile, limits};
use crate::MemoryBucket;

/// The capabilities a bucket reports under `profile`.
pub(crate) fn capabilities(profile: Profile) -> BlobCapabilities {
    let mut clouds = profile.clouds().iter().map(|&c| limits::blob(c));
    let first = clouds.next().unwrap_or_default();
    clouds.fold(first, |acc, c| limits::min_blob(&acc, &c))
}

/// A [`MemoryBucket`] that refuses what its profile's object stores refuse, before the memory
/// bucket sees the call.
#[derive(Debug, Clone)]
pub struct ProfiledBucket {
    inner: MemoryBucket,
    profile: Profile,
    capabilities: BlobCapabilities,
}

impl ProfiledBucket {
    pub(crate) fn new(
        inner: MemoryBucket,
        profile: Profile,
        capabilities: BlobCapabilities,
    ) -> Self {
        Self {
            inner,
            profile,
            capabilities,
        }
    }

    /// The memory bucket underneath.
    pub fn inner(&self) -> &MemoryBucket {
        &self.inner
    }

    /// The profile enforced.
    pub fn profile(&self) -> Profile {
        self.profile
    }

    /// Checks an object key against every rule of the profile.
    pub fn check_key(&self, key: &str) -> Result<()> {
        let p = self.profile;
        for &cloud in p.clouds() {
            let service = cloud.blob_service();
            let max = limits::blob(cloud).max_key_bytes;
            if key.len() > max {
                return Err(p.refuse(
                    ErrorKind::InvalidArgument,
                    format_args!(
                        "the key is {} bytes; this exceeds {service}' {max}-byte key limit",
                        key.len()
                    ),
                ));
            }
            match cloud {
                Cloud::Aws => {}
                Cloud::Azure => check_azure_name(p, key)?,
                Cloud::Gcp => {
                    if key.starts_with(limits::GCS_RESERVED_PREFIX) {
                        return Err(p.refuse(
                            ErrorKind::InvalidArgument,
                            format_args!(
                                "Cloud Storage object names may not start with {:?}",
                                limits::GCS_RESERVED_PREFIX
                            ),
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// Checks user metadata against every size rule of the profile.
    pub fn check_metadata(&self, metadata: &BTreeMap<String, String>) -> Result<()> {
        let size: usize = metadata.iter().map(|(k, v)| k.len() + v.len()).sum();
        for &cloud in self.profile.clouds() {
            let (max, limit) = match cloud {
                Cloud::Aws => (limits::S3_MAX_METADATA, "2 KB"),
                Cloud::Azure => (limits::AZURE_BLOB_MAX_METADATA, "8 KB"),
                Cloud::Gcp => (limits::GCS_MAX_METADATA, "8 KiB"),
            };
            if size > max {
                return Err(self.profile.refuse(
                    ErrorKind::TooLarge,
                    format_args!(
                        "user metadata is {size} bytes (names and values); this exceeds {}' {limit} metadata limit",
                        cloud.blob_service()
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// Azure's blob-name rules: no name ending with `.` or `/`, no path segment ending with `.` (the
/// service trims trailing dots, so the object would be stored under another name), at most 254
/// segments.
fn check_azure_name(p: Profile, key: &str) -> Result<()> {
    let segments = key.split('/').count();
    if segments > limits::AZURE_BLOB_MAX_SEGMENTS {
        return Err(p.refuse(
            ErrorKind::InvalidArgument,
            format_args!(
                "the key has {segments} path segments; Azure Blob Storage takes {}",
                limits::AZURE_BLOB_MAX_SEGMENTS
            ),
        ));
    }
    if key.ends_with('/') || key.split('/').any(|s| s.ends_with('.')) {
        return Err(p.refuse(
            ErrorKind::InvalidArgument,
            "Azure Blob Storage names may not end with '/' nor have a path segment ending with '.' (the service trims trailing dots)",
        ));
    }
    Ok(())
}

#[async_trait]
impl BlobDriver for ProfiledBucket {
    fn provider(&self) -> &'static str {
        self.inner.provider()
    }

    fn name(&self) -> &str {
        self.inner.name()
    }

    fn capabilities(&self) -> &BlobCapabilities {
        &self.capabilities
    }

    async fn put(&self, key: &str, body: Body, options: &PutOptions) -> Result<ObjectMeta> {
        self.check_key(key)?;
        self.check_metadata(&options.metadata)?;
        self.inner.put(key, body, options).await
    }

    async fn get(&self, key: &str, options: &GetOptions) -> Result<GetResult> {
        self.check_key(key)?;
        self.inner.get(key, options).await
    }

    async fn head(&self, key: &str) -> Result<ObjectMeta> {
        self.check_key(key)?;
        self.inner.head(key).await
    }

    async fn delete(&self, key: &str) -> Result<()> {
        self.check_key(key)?;
        self.inner.delete(key).await
    }

    async fn list(&self, options: &ListOptions) -> Result<ListPage> {
        self.inner.list(options).await
    }

    async fn copy(&self, from: &str, to: &str, condition: &WriteCondition) -> Result<ObjectMeta> {
        self.check_key(from)?;
        self.check_key(to)?;
        self.inner.copy(from, to, condition).await
    }

    fn subscribe(&self) -> Option<tokio::sync::broadcast::Receiver<BlobChange>> {
        self.inner.subscribe()
    }
}
