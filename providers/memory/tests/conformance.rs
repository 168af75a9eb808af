//! The memory provider passes the whole conformance suite, on a virtual clock (no sleeps).

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use cloudport_core::conformance::Fixture;
use cloudport_core::export::async_trait;
use cloudport_core::{Bucket, KvStore, Queue};
use cloudport_memory::{Clock, Memory};

struct MemoryFixture {
    memory: Memory,
    next: AtomicU32,
}

impl MemoryFixture {
    fn new() -> Self {
        Self {
            memory: Memory::with_clock(Clock::manual()),
            next: AtomicU32::new(0),
        }
    }

    fn name(&self, kind: &str) -> String {
        format!("{kind}-{}", self.next.fetch_add(1, Ordering::Relaxed))
    }
}

#[async_trait]
impl Fixture for MemoryFixture {
    async fn queue(&self) -> Queue {
        self.memory.queue(&self.name("queue"))
    }

    async fn bucket(&self) -> Bucket {
        self.memory.bucket(&self.name("bucket"))
    }

    async fn kv(&self) -> KvStore {
        self.memory.kv(&self.name("kv"))
    }

    async fn advance(&self, duration: Duration) {
        self.memory.clock().advance(duration).expect("manual clock");
    }

    fn slack(&self) -> Duration {
        Duration::ZERO
    }

    fn wait(&self) -> Duration {
        Duration::ZERO
    }

    async fn topic(
        &self,
        subscriptions: usize,
    ) -> Option<cloudport_core::conformance::topic::TopicFixture> {
        let topic = self.memory.topic(&self.name("topic"));
        let queues = (0..subscriptions)
            .map(|i| {
                topic
                    .subscription(&format!("sub{i}"))
                    .expect("memory subscription")
            })
            .collect();
        Some(cloudport_core::conformance::topic::TopicFixture::structured(topic, queues))
    }
}

#[async_trait]
impl cloudport_core::conformance::ordering::OrderingFixture for MemoryFixture {
    async fn ordered_queue(&self) -> Option<Queue> {
        Some(self.memory.queue(&self.name("ordered")))
    }
}

cloudport_core::conformance_tests! {
    fixture = MemoryFixture::new()
}

mod ordering {
    use super::MemoryFixture;

    cloudport_core::ordering_conformance_tests! {
        fixture = MemoryFixture::new()
    }
}

mod topic {
    use super::MemoryFixture;

    cloudport_core::conformance_topic_tests! {
        fixture = MemoryFixture::new()
    }
}
