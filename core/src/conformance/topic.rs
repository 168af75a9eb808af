//! Topic checks: every subscription gets each event, as published, with its extensions and the
//! publisher's trace context; bad events are refused before any call. A provider opts in by
//! answering [`Fixture::topic`] and expanding [`conformance_topic_tests!`](crate::conformance_topic_tests);
//! a fixture without topics makes each check say so and skip.

use std::time::Duration;

use cloudevents::{AttributesReader, AttributesWriter, EventBuilder, EventBuilderV10};

use super::{Fixture, assert_kind};
use crate::topic::wire::from_structured;
use crate::{ErrorKind, Queue, ReceiveOptions, ReceivedMessage, Result, Topic};

/// A topic with subscriptions the checks read as queues, and how a subscription's message holds
/// the event (its transport's wire form).
pub struct TopicFixture {
    /// The topic under test.
    pub topic: Topic,
    /// One queue per subscription, each receiving every event published after it was made.
    pub subscriptions: Vec<Queue>,
    /// Reads the published event back from a subscription's message.
    pub decode: fn(&ReceivedMessage) -> Result<cloudevents::Event>,
}

impl TopicFixture {
    /// Subscriptions that hold each event in structured JSON mode, as the message body (memory;
    /// SNS → SQS with raw message delivery).
    pub fn structured(topic: Topic, subscriptions: Vec<Queue>) -> Self {
        Self {
            topic,
            subscriptions,
            decode: |msg| from_structured(&msg.body),
        }
    }
}

async fn topic_or_skip(f: &dyn Fixture, subscriptions: usize, check: &str) -> Option<TopicFixture> {
    let fixture = f.topic(subscriptions).await;
    if fixture.is_none() {
        eprintln!("conformance: skipping {check}: this fixture serves no topics");
    }
    fixture
}

fn event(id: &str) -> cloudevents::Event {
    EventBuilderV10::new()
        .id(id)
        .source("https://conformance.cloudport.io/shop")
        .ty("io.cloudport.conformance.order.placed")
        .data(
            "application/json",
            serde_json::json!({"order": id, "total": 1250}),
        )
        .build()
        .expect("a valid event")
}

/// Receives from `queue` until `n` messages arrived (acking each) or about 30 s passed.
async fn receive_n(f: &dyn Fixture, queue: &Queue, n: usize) -> Vec<ReceivedMessage> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut got = Vec::new();
    while got.len() < n && tokio::time::Instant::now() < deadline {
        let batch = queue
            .receive(ReceiveOptions::default().wait(f.wait()))
            .await
            .expect("receive from a subscription");
        for msg in batch {
            queue.ack(&msg).await.expect("ack");
            got.push(msg);
        }
        if got.len() < n && f.wait().is_zero() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    got
}

/// Two subscriptions each receive every event — published alone and in a batch — as it was
/// published: id, type, source and data.
pub async fn topic_every_subscriber_gets_each_event(f: &dyn Fixture) {
    let Some(t) = topic_or_skip(f, 2, "topic_every_subscriber_gets_each_event").await else {
        return;
    };
    let events = [event("e-1"), event("e-2"), event("e-3")];
    t.topic.publish(&events[0]).await.expect("publish");
    for r in t.topic.publish_batch(&events[1..]).await {
        r.expect("publish in a batch");
    }
    for (i, subscription) in t.subscriptions.iter().enumerate() {
        let got = receive_n(f, subscription, 3).await;
        let mut delivered: Vec<cloudevents::Event> = got
            .iter()
            .map(|m| (t.decode)(m).expect("a subscription message holds the event"))
            .collect();
        delivered.sort_by(|a, b| a.id().cmp(b.id()));
        assert_eq!(delivered.len(), 3, "subscription {i} got every event once");
        for (sent, got) in events.iter().zip(&delivered) {
            assert_eq!(got.id(), sent.id(), "subscription {i}: id");
            assert_eq!(got.ty(), sent.ty(), "subscription {i}: type");
            assert_eq!(got.source(), sent.source(), "subscription {i}: source");
            assert_eq!(got.data(), sent.data(), "subscription {i}: data");
            assert_eq!(got.datacontenttype(), sent.datacontenttype());
        }
    }
}

/// Extensions arrive as published, and an event published inside an invocation carries the
/// invocation's trace (`traceparent`, same trace id), so each subscriber continues it; an event
/// that already names a trace keeps it.
pub async fn topic_carries_extensions_and_trace(f: &dyn Fixture) {
    let Some(t) = topic_or_skip(f, 1, "topic_carries_extensions_and_trace").await else {
        return;
    };
    let trace = crate::trace::TraceContext::new_root();
    let ctx = crate::context::InvocationContext::new("inv-1", None).with_trace(Some(trace));
    let mut traced = event("t-1");
    traced.set_extension("tenant", "acme");
    traced.set_extension("priority", "5");
    crate::context::scope(ctx, t.topic.publish(&traced))
        .await
        .expect("publish inside an invocation");
    let own = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    let mut explicit = event("t-2");
    explicit.set_extension(crate::trace::TRACEPARENT, own);
    t.topic
        .publish(&explicit)
        .await
        .expect("publish with a trace");

    let got = receive_n(f, &t.subscriptions[0], 2).await;
    assert_eq!(got.len(), 2, "both events delivered");
    for msg in &got {
        let e = (t.decode)(msg).expect("decode");
        let parent = e
            .extension(crate::trace::TRACEPARENT)
            .map(ToString::to_string)
            .expect("the event carries a traceparent");
        match e.id() {
            "t-1" => {
                let ext = |n: &str| e.extension(n).map(ToString::to_string);
                assert_eq!(ext("tenant").as_deref(), Some("acme"), "extension tenant");
                assert_eq!(ext("priority").as_deref(), Some("5"), "extension priority");
                let carried = crate::trace::TraceContext::parse_traceparent(&parent)
                    .expect("a valid traceparent");
                assert_eq!(
                    carried.trace_id(),
                    trace.trace_id(),
                    "the invocation's trace"
                );
            }
            "t-2" => assert_eq!(parent, own, "an event's own trace is kept"),
            other => panic!("unexpected event {other:?}"),
        }
    }
}

/// An event over the topic's size limit is `TooLarge`, one with an empty id or a malformed
/// extension name `InvalidArgument` — each before any call (nothing is delivered); in a batch
/// only the bad event fails.
pub async fn topic_rejects_bad_input(f: &dyn Fixture) {
    let Some(t) = topic_or_skip(f, 1, "topic_rejects_bad_input").await else {
        return;
    };
    let caps = t.topic.capabilities().clone();
    let mut big = event("big");
    big.set_data(
        "text/plain",
        cloudevents::Data::String("x".repeat(caps.max_event_bytes + 1)),
    );
    assert_kind(
        t.topic.publish(&big).await,
        ErrorKind::TooLarge,
        "oversize event",
    );
    let mut no_id = event("x");
    no_id.set_id("");
    assert_kind(
        t.topic.publish(&no_id).await,
        ErrorKind::InvalidArgument,
        "empty id",
    );
    let mut bad_name = event("y");
    bad_name.set_extension("Tenant_ID", "acme");
    assert_kind(
        t.topic.publish(&bad_name).await,
        ErrorKind::InvalidArgument,
        "extension name outside [a-z0-9]{1,20}",
    );
    let ok = event("ok");
    let results = t.topic.publish_batch([&big, &ok]).await;
    assert!(
        matches!(&results[0], Err(e) if e.kind() == ErrorKind::TooLarge),
        "the oversize event of a batch: {:?}",
        results[0]
    );
    results[1]
        .as_ref()
        .expect("the good event of the batch is published");
    let got = receive_n(f, &t.subscriptions[0], 1).await;
    f.advance(Duration::from_millis(200)).await;
    let more = t.subscriptions[0]
        .receive(ReceiveOptions::default())
        .await
        .expect("receive");
    let ids: Vec<String> = got
        .iter()
        .chain(&more)
        .map(|m| (t.decode)(m).expect("decode").id().to_owned())
        .collect();
    assert_eq!(ids, ["ok"], "only the valid event was delivered");
}

/// Expands to one `#[tokio::test]` per topic check, each on a fresh fixture; attributes before
/// `fixture =` go on every test.
#[macro_export]
macro_rules! conformance_topic_tests {
    ($(#[$attr:meta])* fixture = $fixture:expr $(,)?) => {
        $crate::conformance_topic_tests!(@all [$(#[$attr])*] $fixture;
            topic_every_subscriber_gets_each_event,
            topic_carries_extensions_and_trace,
            topic_rejects_bad_input
        );
    };
    (@all $attrs:tt $fixture:expr; $($check:ident),* $(,)?) => {
        $( $crate::conformance_topic_tests!(@one $attrs $fixture; $check); )*
    };
    (@one $attrs:tt $fixture:expr; $check:ident) => {
        $crate::__conformance_check!($attrs $fixture; topic; $check);
    };
}
