//! # cloudport-memory
//!
//! The in-memory reference provider of cloudport: every driver with the full contract — leases
//! that expire, redelivery, delivery counts, delays, dead-lettering (through the portable policy),
//! versions and preconditions, TTL, listing with delimiter and pages, ranges — on a [`Clock`] that
//! tests can move by hand, with [`Fault`] injection to test retry and idempotency logic.
//!
//! Resources live in a [`Memory`] world; the same name opens the same resource, so an HTTP handler
//! that sends to `mem://orders` and a consumer of `mem://orders` meet.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> cloudport_core::Result<()> {
//! use cloudport_core::ReceiveOptions;
//! use cloudport_memory::{Clock, Memory};
//! use std::time::Duration;
//!
//! let memory = Memory::with_clock(Clock::manual());
//! let queue = memory.queue("orders");
//! queue.send("hello").await?;
//! let lease = Duration::from_secs(30);
//! let first = queue.receive(ReceiveOptions::default().lease(lease)).await?;
//! assert_eq!(first.len(), 1);
//! assert!(queue.receive(ReceiveOptions::default()).await?.is_empty()); // leased
//!
//! memory.clock().advance(lease)?; // no sleep: the lease ends on the virtual clock
//! let again = queue.receive(ReceiveOptions::default()).await?;
//! assert_eq!(again[0].delivery_count, 2);
//! # Ok(()) }
//! ```

mod blob;
mod clock;
mod faults;
mod kv;
mod open;
mod queue;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use cloudport_core::{BlobCapabilities, Bucket, KvCapabilities, KvStore, Queue, QueueCapabilities};

pub use blob::MemoryBucket;
pub use clock::Clock;
pub use faults::{ENTRY_SEND, Fault, Faults};
pub use kv::MemoryKv;
pub use queue::MemoryQueue;

/// A world of in-memory queues, buckets and stores sharing one clock and one set of faults.
/// Cloning shares the world; [`Memory::new`] makes a separate one.
#[derive(Clone, Debug)]
pub struct Memory {
    world: Arc<World>,
}

#[derive(Debug)]
pub(crate) struct World {
    id: u64,
    clock: Clock,
    faults: Faults,
    versions: AtomicU64,
    queues: Mutex<HashMap<String, Arc<queue::QueueState>>>,
    buckets: Mutex<HashMap<String, Arc<blob::BucketState>>>,
    stores: Mutex<HashMap<String, Arc<kv::KvState>>>,
}

impl World {
    pub(crate) fn next_version(&self) -> u64 {
        self.versions.fetch_add(1, Ordering::Relaxed) + 1
    }
}

fn shared<T: Default>(map: &Mutex<HashMap<String, Arc<T>>>, name: &str) -> Arc<T> {
    map.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .entry(name.to_owned())
        .or_default()
        .clone()
}

impl Default for Memory {
    fn default() -> Self {
        Self::new()
    }
}

impl Memory {
    /// A new, empty world on the system clock.
    pub fn new() -> Self {
        Self::with_clock(Clock::system())
    }

    /// A new, empty world on this clock ([`Clock::manual`] for tests of expiry and redelivery).
    pub fn with_clock(clock: Clock) -> Self {
        static WORLDS: AtomicU64 = AtomicU64::new(0);
        Self {
            world: Arc::new(World {
                id: WORLDS.fetch_add(1, Ordering::Relaxed) + 1,
                clock,
                faults: Faults::default(),
                versions: AtomicU64::new(0),
                queues: Mutex::default(),
                buckets: Mutex::default(),
                stores: Mutex::default(),
            }),
        }
    }

    /// The world's clock.
    pub fn clock(&self) -> &Clock {
        &self.world.clock
    }

    /// The world's faults.
    pub fn faults(&self) -> &Faults {
        &self.world.faults
    }

    /// The queue of this name (created on first use).
    pub fn queue(&self, name: &str) -> Queue {
        Queue::new(self.queue_driver(name))
    }

    /// The queue of this name, with other limits (to rehearse a provider's, say).
    pub fn queue_with_capabilities(&self, name: &str, capabilities: QueueCapabilities) -> Queue {
        Queue::new(MemoryQueue::new(
            name.to_owned(),
            shared(&self.world.queues, name),
            self.world.clone(),
            capabilities,
        ))
    }

    /// The driver of the queue of this name, for inspection in tests.
    pub fn queue_driver(&self, name: &str) -> MemoryQueue {
        MemoryQueue::new(
            name.to_owned(),
            shared(&self.world.queues, name),
            self.world.clone(),
            queue::default_queue_capabilities(),
        )
    }

    /// The bucket of this name (created on first use).
    pub fn bucket(&self, name: &str) -> Bucket {
        Bucket::new(self.bucket_driver(name))
    }

    /// The bucket of this name, with other limits.
    pub fn bucket_with_capabilities(&self, name: &str, capabilities: BlobCapabilities) -> Bucket {
        Bucket::new(MemoryBucket::new(
            name.to_owned(),
            shared(&self.world.buckets, name),
            self.world.clone(),
            capabilities,
        ))
    }

    /// The driver of the bucket of this name.
    pub fn bucket_driver(&self, name: &str) -> MemoryBucket {
        MemoryBucket::new(
            name.to_owned(),
            shared(&self.world.buckets, name),
            self.world.clone(),
            BlobCapabilities::default(),
        )
    }

    /// The key-value store of this name (created on first use).
    pub fn kv(&self, name: &str) -> KvStore {
        KvStore::new(self.kv_driver(name))
    }

    /// The key-value store of this name, with other limits.
    pub fn kv_with_capabilities(&self, name: &str, capabilities: KvCapabilities) -> KvStore {
        KvStore::new(MemoryKv::new(
            name.to_owned(),
            shared(&self.world.stores, name),
            self.world.clone(),
            capabilities,
        ))
    }

    /// The driver of the store of this name.
    pub fn kv_driver(&self, name: &str) -> MemoryKv {
        MemoryKv::new(
            name.to_owned(),
            shared(&self.world.stores, name),
            self.world.clone(),
            KvCapabilities::default(),
        )
    }
}
