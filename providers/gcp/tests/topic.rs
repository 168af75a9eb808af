//! Pub/Sub topics against the Pub/Sub emulator (`./scripts/test.sh` starts it;
//! `PUBSUB_EMULATOR_HOST` points at it): the topic conformance checks, each subscription a pull
//! subscription of the topic read as a queue — so every subscription gets every event — and the
//! binary-mode wire form checked on the native message.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use cloudport_core::conformance::Fixture;
use cloudport_core::conformance::topic::TopicFixture;
use cloudport_core::export::async_trait;
use cloudport_core::export::cloudevents::{self, AttributesReader, EventBuilder, EventBuilderV10};
use cloudport_core::topic::wire::{BINARY_CONTENT_TYPE, BINARY_PREFIX, from_binary};
use cloudport_core::{
    Bucket, KvStore, Provider, Queue, ReceivedMessage, ResourceUrl, Result, Topic,
};
use cloudport_gcp::{Gcp, Settings};

const PROJECT: &str = "cloudport-test";

fn gcp() -> Gcp {
    Gcp::with_settings(Settings {
        project: Some(PROJECT.to_owned()),
        pubsub_emulator: Some(
            std::env::var("PUBSUB_EMULATOR_HOST").unwrap_or_else(|_| "127.0.0.1:8085".to_owned()),
        ),
        storage_emulator: None,
    })
}

struct PubSubTopics {
    gcp: Gcp,
    next: AtomicU32,
    run: String,
}

impl PubSubTopics {
    fn new() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        Self {
            gcp: gcp(),
            next: AtomicU32::new(0),
            run: format!("{:x}", nanos & 0xffff_ffff),
        }
    }

    fn unique(&self, kind: &str) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        format!("cp-{kind}-{}-{n}", self.run)
    }

    /// A new topic with `n` pull subscriptions, each read as a queue.
    async fn topic_with(&self, n: usize) -> (String, Vec<Queue>) {
        let name = self.unique("t");
        let admin = self.gcp.pubsub_queue(PROJECT, &name, None).unwrap();
        let client = admin.client().await.unwrap();
        client.create_topic(&name, None, None).await.unwrap();
        let mut queues = Vec::new();
        for i in 0..n {
            let sub = format!("{name}-sub{i}");
            client
                .create_subscription(&sub, &name, Default::default(), None)
                .await
                .unwrap();
            queues.push(Queue::new(
                self.gcp.pubsub_queue(PROJECT, &name, Some(&sub)).unwrap(),
            ));
        }
        (name, queues)
    }
}

/// The event a subscription's message holds, read through the queue driver: its attribute names
/// come normalized to portable ones (`ce-type` → `cetype`, `content-type` → `contenttype`), so
/// they are mapped back first. (Hosts read push deliveries, whose attributes arrive as published.)
fn decode(msg: &ReceivedMessage) -> Result<cloudevents::Event> {
    let mut attributes = BTreeMap::new();
    for (name, value) in &msg.attributes {
        let native = if name == "contenttype" {
            BINARY_CONTENT_TYPE.to_owned()
        } else if let Some(rest) = name.strip_prefix("ce") {
            format!("{BINARY_PREFIX}{rest}")
        } else {
            continue;
        };
        attributes.insert(native, value.clone());
    }
    from_binary(&attributes, &msg.body)
}

#[async_trait]
impl Fixture for PubSubTopics {
    async fn queue(&self) -> Queue {
        unimplemented!("the topic checks use topics only")
    }

    async fn bucket(&self) -> Bucket {
        unimplemented!("the topic checks use topics only")
    }

    async fn kv(&self) -> KvStore {
        unimplemented!("the topic checks use topics only")
    }

    async fn advance(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }

    async fn topic(&self, subscriptions: usize) -> Option<TopicFixture> {
        let (name, queues) = self.topic_with(subscriptions).await;
        Some(TopicFixture {
            topic: Topic::new(self.gcp.pubsub_topic(PROJECT, &name).unwrap()),
            subscriptions: queues,
            decode,
        })
    }
}

cloudport_core::conformance_topic_tests! {
    #[ignore = "needs emulators: ./scripts/test.sh"]
    fixture = PubSubTopics::new()
}

/// On the wire, an event is a binary-mode Pub/Sub message: the data as is, `content-type`, and
/// `ce-` attributes for the rest — read here from the native message of a pull.
#[tokio::test]
#[ignore = "needs emulators: ./scripts/test.sh"]
async fn events_travel_in_binary_mode() {
    let f = PubSubTopics::new();
    let (name, _) = f.topic_with(0).await;
    let sub = format!("{name}-raw");
    let admin = f.gcp.pubsub_queue(PROJECT, &name, None).unwrap();
    let client = admin.client().await.unwrap();
    client
        .create_subscription(&sub, &name, Default::default(), None)
        .await
        .unwrap();
    let url = format!("gcptopic://projects/{PROJECT}/topics/{name}");
    let topic = f
        .gcp
        .open_topic(&ResourceUrl::parse(&url).unwrap())
        .unwrap();
    let event = EventBuilderV10::new()
        .id("b-1")
        .source("https://shop.example/orders")
        .ty("order.placed")
        .subject("o-42")
        .data("application/json", serde_json::json!({"total": 3}))
        .extension("tenant", "acme")
        .build()
        .unwrap();
    topic.publish(&event).await.unwrap();
    let subscription = client.subscription(&sub);
    let mut pulled = Vec::new();
    for _ in 0..20 {
        pulled = subscription.pull(1, None).await.unwrap();
        if !pulled.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let message = &pulled.first().expect("the event arrives").message;
    assert_eq!(message.data, br#"{"total":3}"#);
    let attrs: BTreeMap<String, String> = message.attributes.clone().into_iter().collect();
    assert_eq!(attrs["ce-specversion"], "1.0");
    assert_eq!(attrs["ce-id"], "b-1");
    assert_eq!(attrs["ce-type"], "order.placed");
    assert_eq!(attrs["ce-source"], "https://shop.example/orders");
    assert_eq!(attrs["ce-subject"], "o-42");
    assert_eq!(attrs["ce-tenant"], "acme");
    assert_eq!(attrs["content-type"], "application/json");
    let back = from_binary(&attrs, &message.data).unwrap();
    assert_eq!(back.id(), "b-1");
    assert_eq!(back.data(), event.data());
    pulled[0].ack().await.unwrap();
}
