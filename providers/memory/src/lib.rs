//! # cloudport-memory
//!
//! The in-memory reference provider of cloudport: every driver with the full contract — leases
//! that expire, redelivery, delivery counts, delays, dead-lettering (through the portable policy),
//! versions and preconditions, TTL, listing with delimiter and pages, ranges — on a [`Clock`] that
//! tests can move by hand, with [`Fault`] injection to test retry and idempotency logic.
//!
//! [`Profile`]s make resources refuse what a cloud would (`mem://orders?profile=azure`, or
//! `strictest` for every cloud's limits at once), so a unit test fails locally where production
//! would: see [`profile`].
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
pub mod profile;
mod queue;
mod topic;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use cloudport_core::{
    BlobCapabilities, Bucket, KvCapabilities, KvStore, Queue, QueueCapabilities, Topic,
};

pub use blob::MemoryBucket;
pub use clock::Clock;
pub use faults::{ENTRY_SEND, Fault, Faults};
pub use kv::MemoryKv;
pub use profile::{Profile, ProfiledBucket, ProfiledKv, ProfiledQueue};
pub use queue::MemoryQueue;
pub use topic::{MemoryTopic, subscription_queue};

/// A world of in-memory queues, buckets and stores sharing one clock and one set of faults.
/// Cloning shares the world; [`Memory::new`] makes a separate one.
#[derive(Clone, Debug)]
pub struct Memory {
    world: Arc<World>,
    profile: Option<Profile>,
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
    topics: Mutex<HashMap<String, Arc<topic::TopicState>>>,
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
                topics: Mutex::default(),
            }),
            profile: None,
        }
    }

    /// A handle on the same world whose resources enforce `profile`'s limits unless a URL names
    /// another (`mem://NAME` opens under it; `mem://NAME?profile=…` overrides it): to run a whole
    /// app's tests under a cloud's limits.
    ///
    /// ```
    /// use cloudport_memory::{Memory, Profile};
    /// let memory = Memory::new().with_default_profile(Profile::Strictest);
    /// assert_eq!(memory.queue("orders").capabilities().max_message_bytes, 48 * 1024);
    /// ```
    pub fn with_default_profile(&self, profile: Profile) -> Memory {
        Memory {
            world: self.world.clone(),
            profile: Some(profile),
        }
    }

    /// The profile resources of this handle enforce when their URL names none.
    pub fn default_profile(&self) -> Option<Profile> {
        self.profile
    }

    /// The world's clock.
    pub fn clock(&self) -> &Clock {
        &self.world.clock
    }

    /// The world's faults.
    pub fn faults(&self) -> &Faults {
        &self.world.faults
    }

    /// The queue of this name (created on first use), under the
    /// [default profile](Memory::with_default_profile) if any.
    pub fn queue(&self, name: &str) -> Queue {
        match self.profile {
            Some(profile) => self.queue_with_profile(name, profile),
            None => Queue::new(self.queue_driver(name)),
        }
    }

    /// The queue of this name, with other limits (to rehearse a provider's, say).
    pub fn queue_with_capabilities(&self, name: &str, capabilities: QueueCapabilities) -> Queue {
        Queue::new(self.queue_driver_with(name, capabilities))
    }

    /// The driver of the queue of this name, for inspection in tests.
    pub fn queue_driver(&self, name: &str) -> MemoryQueue {
        self.queue_driver_with(name, queue::default_queue_capabilities())
    }

    pub(crate) fn queue_driver_with(
        &self,
        name: &str,
        capabilities: QueueCapabilities,
    ) -> MemoryQueue {
        MemoryQueue::new(
            name.to_owned(),
            shared(&self.world.queues, name),
            self.world.clone(),
            capabilities,
        )
    }

    /// The bucket of this name (created on first use), under the default profile if any.
    pub fn bucket(&self, name: &str) -> Bucket {
        match self.profile {
            Some(profile) => self.bucket_with_profile(name, profile),
            None => Bucket::new(self.bucket_driver(name)),
        }
    }

    /// The bucket of this name, with other limits.
    pub fn bucket_with_capabilities(&self, name: &str, capabilities: BlobCapabilities) -> Bucket {
        Bucket::new(self.bucket_driver_with(name, capabilities))
    }

    /// The driver of the bucket of this name.
    pub fn bucket_driver(&self, name: &str) -> MemoryBucket {
        self.bucket_driver_with(name, BlobCapabilities::default())
    }

    pub(crate) fn bucket_driver_with(
        &self,
        name: &str,
        capabilities: BlobCapabilities,
    ) -> MemoryBucket {
        MemoryBucket::new(
            name.to_owned(),
            shared(&self.world.buckets, name),
            self.world.clone(),
            capabilities,
        )
    }

    /// The key-value store of this name (created on first use), under the default profile if
    /// any.
    pub fn kv(&self, name: &str) -> KvStore {
        match self.profile {
            Some(profile) => self.kv_with_profile(name, profile),
            None => KvStore::new(self.kv_driver(name)),
        }
    }

    /// The key-value store of this name, with other limits.
    pub fn kv_with_capabilities(&self, name: &str, capabilities: KvCapabilities) -> KvStore {
        KvStore::new(self.kv_driver_with(name, capabilities))
    }

    /// The driver of the store of this name.
    pub fn kv_driver(&self, name: &str) -> MemoryKv {
        self.kv_driver_with(name, KvCapabilities::default())
    }

    pub(crate) fn kv_driver_with(&self, name: &str, capabilities: KvCapabilities) -> MemoryKv {
        MemoryKv::new(
            name.to_owned(),
            shared(&self.world.stores, name),
            self.world.clone(),
            capabilities,
        )
    }

    /// The topic of this name (created on first use), under the default profile's limits if
    /// any. Publishing stores each event in every subscription ([`Memory::subscribe`]).
    pub fn topic(&self, name: &str) -> Topic {
        Topic::new(self.topic_driver_with(name, self.profile))
    }

    /// The driver of the topic of this name, for inspection in tests.
    pub fn topic_driver(&self, name: &str) -> MemoryTopic {
        self.topic_driver_with(name, self.profile)
    }

    pub(crate) fn topic_driver_with(&self, name: &str, profile: Option<Profile>) -> MemoryTopic {
        MemoryTopic::new(
            name.to_owned(),
            shared(&self.world.topics, name),
            self.clone(),
            topic::topic_capabilities(profile),
        )
    }

    /// Subscribes `subscription` to topic `topic` (once; again returns the same queue): every
    /// event published from now on is stored in the returned queue — named
    /// [`subscription_queue`]`(topic, subscription)` — as a structured-mode CloudEvent
    /// (`cloudport_core::topic::wire::from_structured` reads it back).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> cloudport_core::Result<()> {
    /// use cloudport_core::export::cloudevents::{EventBuilder, EventBuilderV10};
    /// let memory = cloudport_memory::Memory::new();
    /// let audit = memory.subscribe("orders", "audit");
    /// assert_eq!(audit.name(), "orders--audit");
    /// let event = EventBuilderV10::new().id("1").source("shop").ty("order.placed").build().unwrap();
    /// memory.topic("orders").publish(&event).await?;
    /// assert_eq!(memory.queue_driver("orders--audit").len(), 1);
    /// # Ok(()) }
    /// ```
    pub fn subscribe(&self, topic: &str, subscription: &str) -> Queue {
        self.topic_driver(topic).add_subscription(subscription);
        self.queue(&subscription_queue(topic, subscription))
    }
}
