//! The `inspect` example as a real Cloud Run service, fed by a real **push subscription on the
//! Pub/Sub emulator**: the emulator POSTs push envelopes to the running process; a handled
//! message is answered 2xx and so acknowledged (never delivered again), a failing one non-2xx and
//! so redelivered.
#![cfg(feature = "gcp")]
#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};

use cloudport::gcp::sdk::googleapis::pubsub::v1::PushConfig;
use cloudport::gcp::sdk::pubsub::subscription::SubscriptionConfig;
use cloudport::gcp::{Gcp, Settings};
use cloudport::{Message, Queue};
use serde_json::Value;
use support::inspect::Inspect;

const PROJECT: &str = "cloudport-test";

fn var(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

async fn start_service(topic: &str, subscription: &str) -> (Inspect, u16) {
    let port = support::inspect::free_port();
    let service = Inspect::spawn([
        ("PORT", port.to_string()),
        ("K_SERVICE", "inspect".to_owned()),
        ("K_REVISION", "inspect-00001".to_owned()),
        ("GOOGLE_CLOUD_PROJECT", PROJECT.to_owned()),
        (
            "PUBSUB_EMULATOR_HOST",
            var("PUBSUB_EMULATOR_HOST", "127.0.0.1:8085"),
        ),
        (
            "CLOUDPORT_QUEUE_INSPECT",
            format!("gcppubsub://projects/{PROJECT}/topics/{topic}?subscription={subscription}"),
        ),
        // The Pub/Sub emulator's push subscription sends no OIDC token (it signs nothing), so the
        // caller check is left to the platform here; tests/cloudrun_auth_e2e.rs tests it.
        ("CLOUDPORT_EVENT_AUTH", "platform".to_owned()),
    ]);
    service.wait_port(port).await;
    (service, port)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs emulators and the built examples: ./scripts/test.sh"]
async fn inspect_behind_a_push_subscription_on_the_pubsub_emulator() {
    let gcp = Gcp::with_settings(Settings {
        project: Some(PROJECT.into()),
        pubsub_emulator: Some(var("PUBSUB_EMULATOR_HOST", "127.0.0.1:8085")),
        storage_emulator: None,
    });
    let run = format!("{:x}", std::process::id());
    let topic = format!("push-{run}");
    let subscription = format!("push-{run}-inspect");
    let (service, port) = start_service(&topic, &subscription).await;

    let sender = gcp.pubsub_queue(PROJECT, &topic, None).unwrap();
    let client = sender.client().await.unwrap().clone();
    client.create_topic(&topic, None, None).await.unwrap();
    client
        .create_subscription(
            &subscription,
            &topic,
            SubscriptionConfig {
                push_config: Some(PushConfig {
                    push_endpoint: format!("http://127.0.0.1:{port}/_cloudport/events"),
                    ..Default::default()
                }),
                ack_deadline_seconds: 10,
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();

    let queue = Queue::new(sender);
    queue
        .send(
            Message::new(r#"{"id":"42"}"#)
                .with_content_type("application/json")
                .with_attribute("tenant", "acme"),
        )
        .await
        .unwrap();
    queue.send("fail").await.unwrap();

    // Delivery, and redelivery of the failing message.
    let is_good = |e: &Value| e["data"]["id"] == "42";
    let is_fail = |e: &Value| e["data"] == "fail" || e["data_base64"] == "ZmFpbA==";
    let deadline = Instant::now() + Duration::from_secs(40);
    while Instant::now() < deadline && (service.count(is_good) < 1 || service.count(is_fail) < 2) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let events = service.events.lock().unwrap().clone();
    let good: Vec<&Value> = events.iter().filter(|e| is_good(e)).collect();
    assert_eq!(
        good.len(),
        1,
        "the handled message is delivered: {events:#?}"
    );
    assert_eq!(good[0]["type"], "io.cloudport.queue.message.v1");
    assert_eq!(
        good[0]["subject"], "inspect",
        "the subscription maps to the logical queue"
    );
    assert_eq!(good[0]["tenant"], "acme");
    assert_eq!(good[0]["datacontenttype"], "application/json");
    assert!(
        service.count(is_fail) >= 2,
        "a message answered non-2xx is redelivered: {events:#?}"
    );

    // Acknowledged: past the ack deadline, the handled message has not come again.
    tokio::time::sleep(Duration::from_secs(12)).await;
    assert_eq!(
        service.count(is_good),
        1,
        "the 2xx answer acknowledged the message"
    );
    client
        .subscription(&subscription)
        .delete(None)
        .await
        .unwrap();
}
