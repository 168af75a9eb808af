//! The memory blob driver: conditional writes, ranges, delimiter listing with pages, copies, and a
//! change feed for local blob triggers.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use async_trait::async_trait;
use bytes::Bytes;
use cloudport_core::{
    BlobCapabilities, BlobChange, BlobDriver, Body, ETag, Error, ErrorKind, GetOptions, GetResult,
    ListOptions, ListPage, ObjectMeta, PutOptions, Result, WriteCondition,
};
use tokio::sync::broadcast;

use crate::World;

#[derive(Debug, Clone)]
struct Stored {
    data: Bytes,
    etag: ETag,
    content_type: Option<String>,
    metadata: BTreeMap<String, String>,
    last_modified: SystemTime,
}

impl Stored {
    fn meta(&self, key: &str) -> ObjectMeta {
        ObjectMeta::new(key, self.data.len() as u64, self.etag.clone())
            .with_last_modified(Some(self.last_modified))
            .with_content_type(self.content_type.clone())
            .with_metadata(self.metadata.clone())
    }
}

/// The shared state of one named bucket.
#[derive(Debug)]
pub(crate) struct BucketState {
    objects: Mutex<BTreeMap<String, Stored>>,
    changes: broadcast::Sender<BlobChange>,
}

impl Default for BucketState {
    fn default() -> Self {
        Self {
            objects: Mutex::default(),
            changes: broadcast::channel(1024).0,
        }
    }
}

/// A bucket in a [`Memory`](crate::Memory) world.
#[derive(Debug, Clone)]
pub struct MemoryBucket {
    name: String,
    state: Arc<BucketState>,
    world: Arc<World>,
    capabilities: BlobCapabilities,
}

impl MemoryBucket {
    pub(crate) fn new(
        name: String,
        state: Arc<BucketState>,
        world: Arc<World>,
        capabilities: BlobCapabilities,
    ) -> Self {
        Self {
            name,
            state,
            world,
            capabilities,
        }
    }

    fn objects(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Stored>> {
        self.state
            .objects
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn check_write(existing: Option<&Stored>, condition: &WriteCondition) -> Result<()> {
        match (condition, existing) {
            (WriteCondition::IfNotExists, Some(_)) => Err(Error::new(
                ErrorKind::AlreadyExists,
                "the object exists (create-only write)",
            )),
            (WriteCondition::IfMatch(etag), Some(s)) if s.etag != *etag => Err(Error::new(
                ErrorKind::PreconditionFailed,
                "the object's ETag does not match",
            )),
            (WriteCondition::IfMatch(_), None) => Err(Error::new(
                ErrorKind::PreconditionFailed,
                "the object does not exist (If-Match write)",
            )),
            _ => Ok(()),
        }
    }

    fn store(&self, key: &str, stored: Stored, condition: &WriteCondition) -> Result<ObjectMeta> {
        let meta = {
            let mut objects = self.objects();
            Self::check_write(objects.get(key), condition)?;
            let meta = stored.meta(key);
            objects.insert(key.to_owned(), stored);
            meta
        };
        // Nobody listening is fine: the feed only serves local blob triggers.
        let _ = self.state.changes.send(BlobChange::Created(meta.clone()));
        Ok(meta)
    }

    fn stored(
        &self,
        data: Bytes,
        content_type: Option<String>,
        metadata: BTreeMap<String, String>,
    ) -> Stored {
        Stored {
            data,
            etag: ETag::new(format!("\"{}\"", self.world.next_version())),
            content_type,
            metadata,
            last_modified: self.world.clock.now(),
        }
    }
}

#[async_trait]
impl BlobDriver for MemoryBucket {
    fn provider(&self) -> &'static str {
        "memory"
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn capabilities(&self) -> &BlobCapabilities {
        &self.capabilities
    }

    async fn put(&self, key: &str, body: Body, options: &PutOptions) -> Result<ObjectMeta> {
        self.world.faults.check("blob.put", &self.name).await?;
        let result = async {
            let data = body.bytes().await?;
            if data.len() as u64 > self.capabilities.max_object_bytes {
                return Err(Error::new(
                    ErrorKind::TooLarge,
                    "object exceeds the bucket's limit",
                ));
            }
            let stored = self.stored(data, options.content_type.clone(), options.metadata.clone());
            self.store(key, stored, &options.condition)
        }
        .await;
        self.world.faults.settle("blob.put", &self.name, result)
    }

    async fn get(&self, key: &str, options: &GetOptions) -> Result<GetResult> {
        self.world.faults.check("blob.get", &self.name).await?;
        let result = async {
            let stored = self
                .objects()
                .get(key)
                .cloned()
                .ok_or_else(|| Error::new(ErrorKind::NotFound, "no such object"))?;
            if options.if_match.as_ref().is_some_and(|e| *e != stored.etag) {
                return Err(Error::new(
                    ErrorKind::PreconditionFailed,
                    "the object's ETag does not match",
                ));
            }
            if options.if_none_match.as_ref() == Some(&stored.etag) {
                return Err(Error::new(
                    ErrorKind::NotModified,
                    "the object is unchanged",
                ));
            }
            let size = stored.data.len() as u64;
            let range = match options.range {
                None => 0..size,
                Some(r) => r.resolve(size).ok_or_else(|| {
                    Error::invalid(format!("range {r:?} is not satisfiable for {size} bytes"))
                })?,
            };
            let body = Body::from(stored.data.slice(range.start as usize..range.end as usize));
            Ok(GetResult::new(stored.meta(key), range, body))
        }
        .await;
        self.world.faults.settle("blob.get", &self.name, result)
    }

    async fn head(&self, key: &str) -> Result<ObjectMeta> {
        self.world.faults.check("blob.head", &self.name).await?;
        let result = async {
            self.objects()
                .get(key)
                .map(|s| s.meta(key))
                .ok_or_else(|| Error::new(ErrorKind::NotFound, "no such object"))
        }
        .await;
        self.world.faults.settle("blob.head", &self.name, result)
    }

    async fn delete(&self, key: &str) -> Result<()> {
        self.world.faults.check("blob.delete", &self.name).await?;
        let result = async {
            if let Some(gone) = self.objects().remove(key) {
                let _ = self.state.changes.send(BlobChange::Deleted {
                    key: key.to_owned(),
                    etag: Some(gone.etag),
                });
            }
            Ok(())
        }
        .await;
        self.world.faults.settle("blob.delete", &self.name, result)
    }

    async fn list(&self, options: &ListOptions) -> Result<ListPage> {
        self.world.faults.check("blob.list", &self.name).await?;
        let result = async {
            let prefix = options.prefix.as_deref().unwrap_or("");
            let page_size = options.page_size.unwrap_or(self.capabilities.max_list_page);
            // Tokens say what the last entry was: `o:<key>` an object, `p:<prefix>` a common prefix
            // (whose whole subtree the next page skips).
            let (after, after_prefix) = match options.page_token.as_deref() {
                None => (None, None),
                Some(t) => match (t.strip_prefix("o:"), t.strip_prefix("p:")) {
                    (Some(key), _) => (Some(key), None),
                    (_, Some(p)) => (Some(p), Some(p)),
                    _ => {
                        return Err(Error::invalid(format!(
                            "{t:?} is not a page token of this bucket"
                        )));
                    }
                },
            };
            let objects = self.objects();
            let start = match after {
                Some(t) if t >= prefix => Bound::Excluded(t.to_owned()),
                _ => Bound::Included(prefix.to_owned()),
            };
            let mut page = ListPage::default();
            let mut entries = 0usize;
            let mut last_entry: Option<String> = None;
            for (key, stored) in objects.range((start, Bound::Unbounded)) {
                if !key.starts_with(prefix) {
                    break;
                }
                // A token that is a common prefix covers every key under it.
                if after_prefix.is_some_and(|p| key.starts_with(p)) {
                    continue;
                }
                let common = options.delimiter.as_deref().and_then(|d| {
                    key[prefix.len()..]
                        .find(d)
                        .map(|i| key[..prefix.len() + i + d.len()].to_owned())
                });
                if let Some(cp) = &common
                    && page.common_prefixes.last() == Some(cp)
                {
                    continue;
                }
                if entries == page_size {
                    page.next_page_token = last_entry;
                    return Ok(page);
                }
                entries += 1;
                match common {
                    Some(cp) => {
                        last_entry = Some(format!("p:{cp}"));
                        page.common_prefixes.push(cp);
                    }
                    None => {
                        last_entry = Some(format!("o:{key}"));
                        page.objects.push(stored.meta(key));
                    }
                }
            }
            Ok(page)
        }
        .await;
        self.world.faults.settle("blob.list", &self.name, result)
    }

    async fn copy(&self, from: &str, to: &str, condition: &WriteCondition) -> Result<ObjectMeta> {
        self.world.faults.check("blob.copy", &self.name).await?;
        let result = async {
            let source = self
                .objects()
                .get(from)
                .cloned()
                .ok_or_else(|| Error::new(ErrorKind::NotFound, "no such source object"))?;
            let stored = self.stored(source.data, source.content_type, source.metadata);
            self.store(to, stored, condition)
        }
        .await;
        self.world.faults.settle("blob.copy", &self.name, result)
    }

    fn subscribe(&self) -> Option<broadcast::Receiver<BlobChange>> {
        Some(self.state.changes.subscribe())
    }
}
