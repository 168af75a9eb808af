//! SNS topics against moto (`./scripts/test.sh` starts it; `CLOUDPORT_TEST_MOTO` overrides the
//! endpoint): the topic conformance checks, each subscription an SQS queue — the first with raw
//! message delivery (the body is the structured CloudEvent), the others without (the SNS
//! envelope's `Message` is) — and the URL rules, which need no emulator.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use cloudport_core::conformance::Fixture;
use cloudport_core::conformance::topic::TopicFixture;
use cloudport_core::export::cloudevents::{AttributesReader, EventBuilder, EventBuilderV10};
use cloudport_core::export::{async_trait, serde_json};
use cloudport_core::topic::wire::from_structured;
use cloudport_core::{
    Bucket, ErrorKind, KvStore, Provider, Queue, ReceivedMessage, ResourceUrl, Result, Topic,
};

/// moto's default account, in which it creates every resource.
const MOTO_ACCOUNT: &str = "123456789012";

struct SnsFixture(support::Moto);

/// The event a subscription's message holds: the body itself (raw delivery) or the `Message` of
/// the SNS envelope around it.
fn decode(msg: &ReceivedMessage) -> Result<cloudport_core::export::cloudevents::Event> {
    let envelope: Option<serde_json::Value> = serde_json::from_slice(&msg.body).ok();
    match envelope {
        Some(v) if v["Type"] == "Notification" => {
            let message = v["Message"].as_str().unwrap_or_default();
            from_structured(message.as_bytes())
        }
        _ => from_structured(&msg.body),
    }
}

impl SnsFixture {
    /// A new topic (its ARN built from the account) with `n` SQS subscriptions.
    async fn topic_with(&self, n: usize) -> (cloudport_aws::SnsTopic, Vec<Queue>) {
        let name = self.0.unique("t");
        let topic = self
            .0
            .aws
            .sns_topic(&name, Some(MOTO_ACCOUNT.to_owned()), support::settings())
            .expect("topic name");
        let created = topic
            .client()
            .await
            .create_topic()
            .name(&name)
            .send()
            .await
            .expect("create topic");
        let arn = created.topic_arn.expect("topic ARN");
        assert_eq!(
            topic.arn().await.expect("arn"),
            arn,
            "the ARN built from the account"
        );
        let mut queues = Vec::new();
        for i in 0..n {
            let queue = self.0.create_queue(&self.0.unique("sub")).await;
            let url = queue.queue_url().await.expect("queue url").to_owned();
            let attrs = queue
                .client()
                .await
                .get_queue_attributes()
                .queue_url(&url)
                .attribute_names(cloudport_aws::sdk::sqs::types::QueueAttributeName::QueueArn)
                .send()
                .await
                .expect("queue attributes");
            let queue_arn = attrs
                .attributes
                .and_then(|a| {
                    a.get(&cloudport_aws::sdk::sqs::types::QueueAttributeName::QueueArn)
                        .cloned()
                })
                .expect("queue ARN");
            topic
                .client()
                .await
                .subscribe()
                .topic_arn(&arn)
                .protocol("sqs")
                .endpoint(queue_arn)
                .attributes("RawMessageDelivery", if i == 0 { "true" } else { "false" })
                .send()
                .await
                .expect("subscribe");
            queues.push(Queue::new(queue));
        }
        (topic, queues)
    }
}

#[async_trait]
impl Fixture for SnsFixture {
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

    async fn topic(&self, subscriptions: usize) -> Option<TopicFixture> {
        let (topic, queues) = self.topic_with(subscriptions.max(2)).await;
        let queues = if subscriptions == 1 {
            // Both forms still checked: the raw subscription first, the enveloped one dropped.
            queues.into_iter().take(1).collect()
        } else {
            queues
        };
        Some(TopicFixture {
            topic: Topic::new(topic),
            subscriptions: queues,
            decode,
        })
    }
}

cloudport_core::conformance_topic_tests! {
    #[ignore = "needs emulators: ./scripts/test.sh"]
    fixture = SnsFixture(support::Moto::new())
}

/// Without an account in the URL, the ARN is looked up by name once (`ListTopics`), and an
/// unknown topic is `NotFound`.
#[tokio::test]
#[ignore = "needs emulators: ./scripts/test.sh"]
async fn the_arn_is_looked_up_by_name_without_an_account() {
    let f = SnsFixture(support::Moto::new());
    let (named, queues) = f.topic_with(1).await;
    let url = format!(
        "sns://{}?endpoint={}",
        cloudport_core::TopicDriver::name(&named),
        support::endpoint()
    );
    let topic =
        f.0.aws
            .open_topic(&ResourceUrl::parse(&url).unwrap())
            .unwrap();
    let event = EventBuilderV10::new()
        .id("lookup-1")
        .source("shop")
        .ty("order.placed")
        .build()
        .unwrap();
    topic.publish(&event).await.expect("publish by name");
    let got = queues[0]
        .receive(cloudport_core::ReceiveOptions::default().wait(Duration::from_secs(2)))
        .await
        .unwrap();
    assert_eq!(decode(&got[0]).unwrap().id(), "lookup-1");

    let missing = format!("sns://cp-missing-topic?endpoint={}", support::endpoint());
    let err =
        f.0.aws
            .open_topic(&ResourceUrl::parse(&missing).unwrap())
            .unwrap()
            .with_retry(cloudport_core::RetryPolicy::none())
            .publish(&event)
            .await
            .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
}

/// Names follow SNS's rule (1-256 letters, digits, `-`, `_`); FIFO topics and malformed
/// accounts are refused when the URL is opened, before any call.
#[test]
fn topic_urls_are_checked_when_opened() {
    let aws = support::aws();
    let open = |url: &str| aws.open_topic(&ResourceUrl::parse(url).unwrap());
    let orders = open("sns://orders").unwrap();
    assert_eq!(
        orders.subscription("billing").unwrap_err().kind(),
        ErrorKind::Unsupported,
        "SNS delivers to the subscriptions deployment makes"
    );
    assert!(open("sns://Orders_v2-eu?account=123456789012&region=eu-west-1").is_ok());
    let long = format!("sns://{}", "a".repeat(257));
    for (url, kind) in [
        ("sns://orders.v2", ErrorKind::InvalidArgument),
        (long.as_str(), ErrorKind::InvalidArgument),
        ("sns://orders.fifo", ErrorKind::Unsupported),
        ("sns://orders?account=12", ErrorKind::InvalidArgument),
        (
            "sns://orders?acount=123456789012",
            ErrorKind::InvalidArgument,
        ),
        ("sns://orders/extra", ErrorKind::InvalidArgument),
        ("sqs://orders", ErrorKind::InvalidArgument),
    ] {
        let err = open(url).unwrap_err();
        assert_eq!(err.kind(), kind, "{url}: {err}");
    }
}

/// With raw message delivery the SQS body is the structured CloudEvent itself; without it, the
/// SNS envelope's `Message` is — which the Lambda host's SQS decoder unwraps.
#[tokio::test]
#[ignore = "needs emulators: ./scripts/test.sh"]
async fn raw_and_enveloped_subscriptions_both_hold_the_structured_event() {
    let f = SnsFixture(support::Moto::new());
    let (sns, queues) = f.topic_with(2).await;
    let event = EventBuilderV10::new()
        .id("raw-1")
        .source("shop")
        .ty("order.placed")
        .extension("tenant", "acme")
        .build()
        .unwrap();
    Topic::new(sns).publish(&event).await.unwrap();
    let wait = cloudport_core::ReceiveOptions::default().wait(Duration::from_secs(2));
    let raw = queues[0].receive(wait).await.unwrap();
    assert_eq!(
        from_structured(&raw[0].body).unwrap(),
        event,
        "raw delivery: the event itself"
    );
    let wrapped = queues[1].receive(wait).await.unwrap();
    let envelope: serde_json::Value = serde_json::from_slice(&wrapped[0].body).unwrap();
    assert_eq!(envelope["Type"], "Notification");
    let inner = envelope["Message"].as_str().unwrap();
    assert_eq!(
        from_structured(inner.as_bytes()).unwrap(),
        event,
        "the envelope's Message"
    );
}
