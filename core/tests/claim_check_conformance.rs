//! The queue checks of the conformance suite through the claim-check driver: wrapping a queue
//! changes nothing a consumer can observe (leases, nacks, delays, per-item batch results, bad
//! input, dead-lettering, faults) — on the memory provider under Azure's limits, where a message
//! over 48 KiB is claimed and the wrapper takes up to 1 MiB (its bucket's single-put limit here).
#![cfg(feature = "conformance")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use cloudport_core::conformance::{self, Fixture};
use cloudport_core::export::async_trait;
use cloudport_core::{BlobCapabilities, Bucket, KvStore, Queue, claim_check};
use cloudport_memory::{Clock, Memory, Profile};

struct ClaimCheckFixture {
    memory: Memory,
    next: AtomicU32,
}

impl ClaimCheckFixture {
    fn new() -> Self {
        Self {
            memory: Memory::with_clock(Clock::manual()).with_default_profile(Profile::Azure),
            next: AtomicU32::new(0),
        }
    }

    fn name(&self, kind: &str) -> String {
        format!("{kind}-{}", self.next.fetch_add(1, Ordering::Relaxed))
    }
}

#[async_trait]
impl Fixture for ClaimCheckFixture {
    async fn queue(&self) -> Queue {
        let payloads = self.memory.bucket_with_capabilities(
            &self.name("payloads"),
            BlobCapabilities {
                max_object_bytes: 1024 * 1024,
                ..BlobCapabilities::default()
            },
        );
        claim_check::wrap(self.memory.queue(&self.name("queue")), "payloads", payloads)
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
}

macro_rules! queue_checks {
    ($($check:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $check() {
            let fixture = ClaimCheckFixture::new();
            let limit = conformance::CHECK_TIMEOUT;
            if tokio::time::timeout(limit, conformance::$check(&fixture)).await.is_err() {
                panic!("{} did not finish in {limit:?}", stringify!($check));
            }
        }
    )*};
}

queue_checks!(
    queue_send_receive_ack,
    queue_lease_hides_and_expires,
    queue_nack_redelivers,
    queue_extend_lease,
    queue_delayed_send,
    queue_send_batch_reports_per_item,
    queue_rejects_bad_input,
    queue_dead_letter_after_max_deliveries,
    queue_thousand_messages_failing_consumer,
    faults_queue_operations,
);
