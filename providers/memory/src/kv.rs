//! The memory key-value driver: versions, preconditions, TTL on the world's clock, prefix scans.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use bytes::Bytes;
use cloudport_core::{
    Error, ErrorKind, KvCapabilities, KvDriver, KvEntry, Precondition, Result, ScanPage, Version,
};

use crate::World;

#[derive(Debug, Clone)]
struct Stored {
    value: Bytes,
    version: Version,
    expires_at: Option<SystemTime>,
}

impl Stored {
    fn live(&self, now: SystemTime) -> bool {
        self.expires_at.is_none_or(|t| t > now)
    }

    fn entry(&self, key: &str) -> KvEntry {
        KvEntry::new(key, self.value.clone(), self.version.clone()).with_expires_at(self.expires_at)
    }
}

/// The shared state of one named store.
#[derive(Debug, Default)]
pub(crate) struct KvState {
    entries: Mutex<BTreeMap<String, Stored>>,
}

/// A key-value store in a [`Memory`](crate::Memory) world.
#[derive(Debug, Clone)]
pub struct MemoryKv {
    name: String,
    state: Arc<KvState>,
    world: Arc<World>,
    capabilities: KvCapabilities,
}

impl MemoryKv {
    pub(crate) fn new(
        name: String,
        state: Arc<KvState>,
        world: Arc<World>,
        capabilities: KvCapabilities,
    ) -> Self {
        Self {
            name,
            state,
            world,
            capabilities,
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Stored>> {
        self.state
            .entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Live entries in the store.
    pub fn len(&self) -> usize {
        let now = self.world.clock.now();
        self.entries().values().filter(|s| s.live(now)).count()
    }

    /// Whether the store holds no live entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn check(current: Option<&Stored>, precondition: &Precondition) -> Result<()> {
    match (precondition, current) {
        (Precondition::None, _) => Ok(()),
        (Precondition::IfAbsent, None) => Ok(()),
        (Precondition::IfAbsent, Some(_)) => {
            Err(Error::new(ErrorKind::AlreadyExists, "the key exists"))
        }
        (Precondition::IfVersion(v), Some(s)) if s.version == *v => Ok(()),
        (Precondition::IfVersion(_), Some(_)) => Err(Error::new(
            ErrorKind::PreconditionFailed,
            "the key has another version",
        )),
        (Precondition::IfVersion(_), None) => Err(Error::new(
            ErrorKind::PreconditionFailed,
            "the key is absent",
        )),
    }
}

#[async_trait]
impl KvDriver for MemoryKv {
    fn provider(&self) -> &'static str {
        "memory"
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn capabilities(&self) -> &KvCapabilities {
        &self.capabilities
    }

    async fn get(&self, key: &str) -> Result<Option<KvEntry>> {
        self.world.faults.check("kv.get", &self.name).await?;
        let result = async {
            let now = self.world.clock.now();
            Ok(self
                .entries()
                .get(key)
                .filter(|s| s.live(now))
                .map(|s| s.entry(key)))
        }
        .await;
        self.world.faults.settle("kv.get", &self.name, result)
    }

    async fn put(
        &self,
        key: &str,
        value: Bytes,
        precondition: &Precondition,
        ttl: Option<Duration>,
    ) -> Result<Version> {
        self.world.faults.check("kv.put", &self.name).await?;
        let result = async {
            let now = self.world.clock.now();
            let mut entries = self.entries();
            check(entries.get(key).filter(|s| s.live(now)), precondition)?;
            let version = Version::new(self.world.next_version().to_string());
            entries.insert(
                key.to_owned(),
                Stored {
                    value,
                    version: version.clone(),
                    expires_at: ttl.map(|t| now + t),
                },
            );
            Ok(version)
        }
        .await;
        self.world.faults.settle("kv.put", &self.name, result)
    }

    async fn delete(&self, key: &str, precondition: &Precondition) -> Result<bool> {
        self.world.faults.check("kv.delete", &self.name).await?;
        let result = async {
            let now = self.world.clock.now();
            let mut entries = self.entries();
            let live = entries.get(key).filter(|s| s.live(now));
            check(live, precondition)?;
            let existed = live.is_some();
            entries.remove(key);
            Ok(existed)
        }
        .await;
        self.world.faults.settle("kv.delete", &self.name, result)
    }

    async fn scan(
        &self,
        prefix: &str,
        limit: usize,
        page_token: Option<String>,
    ) -> Result<ScanPage> {
        self.world.faults.check("kv.scan", &self.name).await?;
        let result = async {
            let now = self.world.clock.now();
            let entries = self.entries();
            let start = match page_token {
                Some(t) if t.as_str() >= prefix => Bound::Excluded(t),
                _ => Bound::Included(prefix.to_owned()),
            };
            let mut page = ScanPage::default();
            for (key, stored) in entries.range((start, Bound::Unbounded)) {
                if !key.starts_with(prefix) {
                    break;
                }
                if !stored.live(now) {
                    continue;
                }
                if page.entries.len() == limit {
                    page.next_page_token = page.entries.last().map(|e| e.key.clone());
                    break;
                }
                page.entries.push(stored.entry(key));
            }
            Ok(page)
        }
        .await;
        self.world.faults.settle("kv.scan", &self.name, result)
    }
}
