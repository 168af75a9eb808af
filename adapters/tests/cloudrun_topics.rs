//! The Cloud Run host delivers Pub/Sub messages of topics bound to `on_topic` triggers
//! (`CLOUDPORT_TOPIC_<NAME>=gcptopic://projects/P/topics/T[?subscription=S]`), over real HTTP on
//! 127.0.0.1: push envelopes and Eventarc `messagePublished` events carrying a binary-mode
//! CloudEvent reach the handler as published; a message without one reaches it as the
//! `messagePublished` event; a failure answers non-2xx so Pub/Sub retries.
#![cfg(feature = "cloudrun")]
// Test helpers outside `#[test]` functions unwrap too.
#![allow(clippy::unwrap_used)]

mod support;

use base64::Engine;
use cloudport_adapters::cloudrun;
use cloudport_core::export::cloudevents::{self, AttributesReader, EventBuilder, EventBuilderV10};
use cloudport_core::topic::wire;
use cloudport_core::{App, Env};
use cloudport_memory::Memory;
use serde_json::{Value, json};

use support::Seen;

const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const AUDIT_SUB: &str = "projects/shop/subscriptions/audit-push";

fn b64(s: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// `audit` and `events` topic triggers and an `orders` queue trigger, each recording what it gets
/// as `(trigger, view)`; a topic event whose data is `"fail"` fails.
fn test_app(seen: &Seen) -> App {
    let on_topic = |name: &'static str| {
        let seen = seen.clone();
        move |event: cloudport_core::event::Event<cloudevents::Event>, _env: Env| {
            let seen = seen.clone();
            async move {
                let ce = event.cloudevent();
                let data = match ce.data() {
                    Some(cloudevents::Data::Json(v)) => v.clone(),
                    Some(cloudevents::Data::String(s)) => json!(s),
                    Some(cloudevents::Data::Binary(b)) => json!(b64(b)),
                    None => Value::Null,
                };
                if data == json!("fail") {
                    return Err(cloudport_core::Error::handler("the audit store is down"));
                }
                let ext = |n: &str| ce.extension(n).map(|v| v.to_string());
                let view = json!({"id": ce.id(), "type": ce.ty(), "source": ce.source().as_str(),
                    "tenant": ext("tenant"), "traceparent": ext("traceparent"), "data": data});
                seen.lock().unwrap().push((format!("topic/{name}"), view));
                Ok(())
            }
        }
    };
    let queue_seen = seen.clone();
    App::new()
        .on_topic("audit", on_topic("audit"))
        .on_topic("events", on_topic("events"))
        .on_queue("orders", move |event, _env| {
            let seen = queue_seen.clone();
            async move {
                seen.lock()
                    .unwrap()
                    .push(("queue/orders".to_owned(), json!({"id": event.id()})));
                Ok(())
            }
        })
}

fn test_env(memory: &Memory) -> Env {
    Env::builder()
        .provider(memory.clone())
        .vars([
            (
                "CLOUDPORT_TOPIC_AUDIT",
                "gcptopic://projects/shop/topics/audit?subscription=audit-push",
            ),
            (
                "CLOUDPORT_TOPIC_EVENTS",
                "gcptopic://projects/shop/topics/events",
            ),
            (
                "CLOUDPORT_QUEUE_ORDERS",
                "gcppubsub://projects/shop/topics/orders?subscription=orders-push",
            ),
            // Unsigned requests: the caller check is the platform's here (tests/cloudrun_auth.rs).
            ("CLOUDPORT_EVENT_AUTH", "platform"),
        ])
        .build()
}

/// The event the publisher sent.
fn published(id: &str, data: Value) -> cloudevents::Event {
    EventBuilderV10::new()
        .id(id)
        .source("shop/orders")
        .ty("order.audited")
        .extension("tenant", "acme")
        .extension("traceparent", TRACEPARENT)
        .data("application/json", data)
        .build()
        .unwrap()
}

/// A Pub/Sub message carrying `event` in binary mode, as the GCP topic driver publishes it.
fn message(message_id: &str, event: &cloudevents::Event) -> Value {
    let (attributes, payload) = wire::to_binary(event);
    json!({"attributes": attributes, "data": b64(&payload), "messageId": message_id,
        "publishTime": "2026-11-28T03:00:00.000Z"})
}

struct Server {
    seen: Seen,
    running: support::Running,
}

impl Server {
    async fn start() -> Self {
        let seen = Seen::default();
        let (app, env) = (test_app(&seen), test_env(&Memory::new()));
        let running = support::Running::start(move |listener, shutdown| {
            cloudrun::serve_with_shutdown(listener, app, env, shutdown)
        })
        .await;
        Self { seen, running }
    }

    async fn post(&self, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, String) {
        let (status, _, body) = support::send(self.running.addr, "POST", path, headers, body).await;
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    async fn push(&self, envelope: &Value) -> (u16, String) {
        self.post(
            "/_cloudport/events",
            &[("content-type", "application/json")],
            envelope.to_string().as_bytes(),
        )
        .await
    }

    fn seen(&self) -> Vec<(String, Value)> {
        support::take(&self.seen)
    }
}

#[tokio::test]
async fn a_push_of_a_bound_subscription_delivers_the_event_as_published() {
    let server = Server::start().await;
    let event = published("a-1", json!({"order": 7}));
    let (status, body) = server
        .push(&json!({"message": message("m-1", &event), "subscription": AUDIT_SUB}))
        .await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(
        server.seen(),
        [(
            "topic/audit".to_owned(),
            json!({"id": "a-1", "type": "order.audited", "source": "shop/orders",
                "tenant": "acme", "traceparent": TRACEPARENT, "data": {"order": 7}})
        )]
    );
    // A queue's subscription still reaches the queue.
    let orders = json!({"message": {"data": b64(b"x"), "messageId": "q-1"},
        "subscription": "projects/shop/subscriptions/orders-push"});
    assert_eq!(server.push(&orders).await.0, 204);
    assert_eq!(server.seen()[0].0, "queue/orders");
    server.running.stop().await;
}

#[tokio::test]
async fn an_eventarc_event_of_a_bound_topic_delivers_the_event_as_published() {
    let server = Server::start().await;
    let event = published("e-1", json!({"order": 8}));
    // Eventarc's subscription is its own: the topic (the event's source) names the trigger.
    let data = json!({"message": message("m-2", &event),
        "subscription": "projects/shop/subscriptions/eventarc-us-central1-trigger-1-sub-2"});
    let headers = [
        ("ce-specversion", "1.0"),
        ("ce-type", "google.cloud.pubsub.topic.v1.messagePublished"),
        (
            "ce-source",
            "//pubsub.googleapis.com/projects/shop/topics/events",
        ),
        ("ce-id", "m-2"),
        ("content-type", "application/json"),
    ];
    let (status, body) = server
        .post("/", &headers, data.to_string().as_bytes())
        .await;
    assert_eq!(status, 204, "{body}");
    let seen = server.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].0, "topic/events");
    assert_eq!(seen[0].1["id"], "e-1");
    assert_eq!(seen[0].1["traceparent"], TRACEPARENT);
    server.running.stop().await;
}

#[tokio::test]
async fn a_message_without_a_cloudevent_reaches_the_handler_as_message_published() {
    let server = Server::start().await;
    let envelope = json!({"message": {"data": b64(b"plain"), "messageId": "m-3",
        "attributes": {"origin": "gcloud"}}, "subscription": AUDIT_SUB});
    let (status, body) = server.push(&envelope).await;
    assert_eq!(status, 204, "{body}");
    let seen = server.seen();
    assert_eq!(seen.len(), 1, "never lost");
    assert_eq!(seen[0].0, "topic/audit");
    assert_eq!(
        (&seen[0].1["id"], &seen[0].1["type"], &seen[0].1["source"]),
        (
            &json!("m-3"),
            &json!("google.cloud.pubsub.topic.v1.messagePublished"),
            &json!(format!("//pubsub.googleapis.com/{AUDIT_SUB}"))
        )
    );
    assert_eq!(seen[0].1["data"], envelope, "the push envelope as its data");
    server.running.stop().await;
}

#[tokio::test]
async fn failures_answer_non_2xx_so_pubsub_retries() {
    let server = Server::start().await;
    let failing = published("a-2", json!("fail"));
    let (status, body) = server
        .push(&json!({"message": message("m-4", &failing), "subscription": AUDIT_SUB}))
        .await;
    assert_eq!(status, 500, "{body}");
    // Malformed envelopes are client errors (still non-2xx: Pub/Sub redelivers, then
    // dead-letters).
    let not_base64 =
        json!({"message": {"data": "%%%", "messageId": "m-5"}, "subscription": AUDIT_SUB});
    assert_eq!(server.push(&not_base64).await.0, 400);
    let no_id = json!({"message": {"data": b64(b"x")}, "subscription": AUDIT_SUB});
    assert_eq!(server.push(&no_id).await.0, 400);
    assert!(server.seen().is_empty());
    server.running.stop().await;
}
