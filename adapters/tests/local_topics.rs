//! The local host delivers topic events: each `on_topic` trigger consumes its subscription (named
//! by `LocalHost::subscriber`), the handler gets the event as published (extensions, the
//! publisher's trace), a failure is delivered again and, past the limit, dead-lettered; a provider
//! without pull subscriptions is a warning, not a failed start.
// Test helpers outside `#[test]` functions unwrap too.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cloudport_adapters::local::{LocalHost, RunningApp};
use cloudport_core::export::cloudevents::{self, AttributesReader, EventBuilder, EventBuilderV10};
use cloudport_core::topic::{Topic, TopicCapabilities, TopicDriver};
use cloudport_core::{App, Env, Error, ErrorKind, ReceiveOptions, Trigger};
use cloudport_memory::Memory;

const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

fn env(memory: &Memory) -> Env {
    Env::builder()
        .provider(memory.clone())
        .fallback_scheme("mem")
        .build()
}

fn audit_event(id: &str) -> cloudevents::Event {
    EventBuilderV10::new()
        .id(id)
        .source("shop/orders")
        .ty("order.audited")
        .extension("tenant", "acme")
        .extension("traceparent", TRACEPARENT)
        .data("application/json", serde_json::json!({"order": 7}))
        .build()
        .unwrap()
}

type Seen = Arc<Mutex<Vec<(String, cloudevents::Event)>>>;

/// An app whose `audit` handler records what it gets (tagged `who`) and fails while `fail` says so.
fn recording_app(who: &'static str, seen: &Seen, fail: bool) -> App {
    let seen = seen.clone();
    App::new().on_topic("audit", move |event, _env: Env| {
        let seen = seen.clone();
        async move {
            seen.lock()
                .unwrap()
                .push((who.to_owned(), event.cloudevent().clone()));
            if fail {
                return Err(Error::new(ErrorKind::Handler, "audit store down"));
            }
            Ok(())
        }
    })
}

async fn start(host: LocalHost, app: App, memory: &Memory) -> RunningApp {
    host.http_addr("127.0.0.1:0".parse().unwrap())
        .receive_wait(Duration::from_millis(20))
        .max_retry_delay(Duration::from_millis(20))
        .start(app, env(memory))
        .await
        .expect("start")
}

async fn wait_for(seen: &Seen, count: usize) {
    for _ in 0..500 {
        if seen.lock().unwrap().len() >= count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_subscriber_gets_the_event_as_published() {
    let memory = Memory::new();
    let seen: Seen = Arc::default();
    let billing = start(
        LocalHost::new().subscriber("billing"),
        recording_app("billing", &seen, false),
        &memory,
    )
    .await;
    let shipping = start(
        LocalHost::new().subscriber("shipping"),
        recording_app("shipping", &seen, false),
        &memory,
    )
    .await;

    // Published after both hosts started, by function code.
    env(&memory)
        .topic("audit")
        .unwrap()
        .publish(&audit_event("a-1"))
        .await
        .unwrap();
    wait_for(&seen, 2).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    billing.shutdown().await.unwrap();
    let metrics = shipping.metrics();
    shipping.shutdown().await.unwrap();

    let seen = seen.lock().unwrap();
    let mut who: Vec<_> = seen.iter().map(|(w, _)| w.as_str()).collect();
    who.sort_unstable();
    assert_eq!(who, ["billing", "shipping"], "each subscriber once");
    for (_, event) in seen.iter() {
        assert_eq!(
            (event.id(), event.ty(), event.source().as_str()),
            ("a-1", "order.audited", "shop/orders")
        );
        assert_eq!(event.extension("tenant").unwrap().to_string(), "acme");
        assert_eq!(
            event.extension("traceparent").unwrap().to_string(),
            TRACEPARENT
        );
        assert_eq!(
            event.data(),
            Some(&cloudevents::Data::Json(serde_json::json!({"order": 7})))
        );
    }
    assert_eq!(
        metrics[&Trigger::Topic("audit".into())].invocations,
        1,
        "under Trigger::Topic"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_handler_gets_the_event_again_then_it_is_dead_lettered() {
    let memory = Memory::new();
    let seen: Seen = Arc::default();
    let running = start(
        LocalHost::new(),
        recording_app("local", &seen, true),
        &memory,
    )
    .await;
    env(&memory)
        .topic("audit")
        .unwrap()
        .publish(&audit_event("a-2"))
        .await
        .unwrap();
    let max = cloudport_core::env::DEFAULT_MAX_DELIVERIES as usize;
    wait_for(&seen, max).await;
    // Let the last failure settle (nack → dead-letter).
    let dlq = memory.queue("audit--local-dlq");
    let mut dead = Vec::new();
    for _ in 0..200 {
        dead = dlq.receive(ReceiveOptions::default()).await.unwrap();
        if !dead.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    running.shutdown().await.unwrap();

    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), max, "delivered again until the limit, no more");
    assert!(seen.iter().all(|(_, e)| e.id() == "a-2"));
    assert_eq!(
        dead.len(),
        1,
        "the event ends in the subscription's dead-letter queue"
    );
    let dead_event = cloudport_core::topic::wire::from_structured(&dead[0].body).unwrap();
    assert_eq!(dead_event.id(), "a-2");
}

/// A topic whose provider pushes its events (no pull subscription), as SNS and Pub/Sub do.
#[derive(Debug, Default)]
struct PushOnly {
    caps: TopicCapabilities,
}

#[cloudport_core::export::async_trait]
impl TopicDriver for PushOnly {
    fn provider(&self) -> &'static str {
        "push-only"
    }
    fn name(&self) -> &str {
        "audit"
    }
    fn capabilities(&self) -> &TopicCapabilities {
        &self.caps
    }
    async fn publish_batch(
        &self,
        events: &[cloudevents::Event],
    ) -> cloudport_core::Result<Vec<cloudport_core::Result<String>>> {
        Ok(events.iter().map(|e| Ok(e.id().to_owned())).collect())
    }
}

#[tokio::test]
async fn a_topic_without_pull_subscriptions_does_not_stop_the_host() {
    let memory = Memory::new();
    let env = Env::builder()
        .provider(memory.clone())
        .fallback_scheme("mem")
        .topic("audit", Topic::new(PushOnly::default()))
        .build();
    let app = App::new()
        .on_topic("audit", |_e, _env| async { Ok(()) })
        .on_queue("orders", |_m, _env| async { Ok(()) });
    let running = LocalHost::new()
        .http_addr("127.0.0.1:0".parse().unwrap())
        .start(app, env)
        .await
        .expect("starts, with a warning for the topic");
    running.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_subscriber_name_that_is_not_a_logical_name_fails_the_start() {
    let app = App::new().on_topic("audit", |_e, _env| async { Ok(()) });
    let err = LocalHost::new()
        .http_addr("127.0.0.1:0".parse().unwrap())
        .subscriber("no spaces")
        .start(app, env(&Memory::new()))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
}
