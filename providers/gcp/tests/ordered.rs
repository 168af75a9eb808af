//! Pub/Sub ordering keys on the emulator: the ordering conformance checks on a subscription with
//! message ordering enabled (`./scripts/test.sh` starts the emulator; `PUBSUB_EMULATOR_HOST`
//! points at it), and keys over Pub/Sub's limit refused before any call.

mod support;

use std::time::Duration;

use cloudport_core::conformance::Fixture;
use cloudport_core::conformance::ordering::OrderingFixture;
use cloudport_core::export::async_trait;
use cloudport_core::{Bucket, ErrorKind, KvStore, Message, Queue};
use cloudport_gcp::sdk::pubsub::subscription::SubscriptionConfig;
use support::{Emulators, PROJECT};

/// The emulators, with ordered queues: a topic and a subscription with message ordering.
struct Ordered(Emulators);

#[async_trait]
impl Fixture for Ordered {
    async fn queue(&self) -> Queue {
        self.0.queue().await
    }

    async fn bucket(&self) -> Bucket {
        self.0.bucket().await
    }

    async fn kv(&self) -> KvStore {
        self.0.kv().await
    }

    async fn advance(&self, duration: Duration) {
        self.0.advance(duration).await;
    }

    fn known_gap(&self, gap: &str) -> Option<&'static str> {
        match gap {
            "queue.ordering.redelivery" => Some(
                "the Pub/Sub emulator 0.8.20 redelivers a nacked ordered message after the later \
                 messages of its key (seen: a-0 nacked, then a-1, a-2, a-0); Pub/Sub redelivers \
                 it and the key's subsequent messages in order \
                 (https://cloud.google.com/pubsub/docs/ordering)",
            ),
            _ => self.0.known_gap(gap),
        }
    }
}

#[async_trait]
impl OrderingFixture for Ordered {
    async fn ordered_queue(&self) -> Option<Queue> {
        let name = self.0.unique("ordered");
        let sub = format!("{name}-sub");
        let queue = self
            .0
            .gcp
            .pubsub_queue(PROJECT, &name, Some(&sub))
            .expect("names");
        let client = queue.client().await.expect("client");
        client
            .create_topic(&name, None, None)
            .await
            .expect("create topic");
        client
            .create_subscription(
                &sub,
                &name,
                SubscriptionConfig {
                    ack_deadline_seconds: 10,
                    enable_message_ordering: true,
                    ..Default::default()
                },
                None,
            )
            .await
            .expect("create subscription");
        Some(Queue::new(queue))
    }
}

cloudport_core::ordering_conformance_tests! {
    #[ignore = "needs emulators: ./scripts/test.sh"]
    fixture = Ordered(Emulators::new())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_over_a_kilobyte_fail_alone_before_any_call() {
    // A closed port: a publish would fail `Unavailable`.
    let gcp = cloudport_gcp::Gcp::with_settings(cloudport_gcp::Settings {
        project: Some(PROJECT.to_owned()),
        pubsub_emulator: Some("127.0.0.1:9".to_owned()),
        storage_emulator: None,
    });
    let q = Queue::new(
        gcp.pubsub_queue(PROJECT, "topic", Some("sub"))
            .expect("names"),
    );
    let results = q
        .send_batch([Message::new("x").with_ordering_key("k".repeat(1025))])
        .await;
    let e = results.into_iter().next().unwrap().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    let e = q
        .send(Message::new("x").with_deduplication_id("d"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
}
