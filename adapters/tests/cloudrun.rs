//! The Cloud Run host over real HTTP on 127.0.0.1: Eventarc CloudEvents (binary and structured
//! mode), Pub/Sub push envelopes, Cloud Storage events, Cloud Scheduler calls and plain HTTP,
//! with a memory-backed app; handler failures, dead-lettering and malformed requests.
#![cfg(feature = "cloudrun")]
// Test helpers outside `#[test]` functions unwrap too.
#![allow(clippy::unwrap_used)]

mod support;

use std::net::SocketAddr;

use axum::routing::{get, post};
use base64::Engine;
use cloudport_adapters::cloudrun;
use cloudport_core::event::QueueMessage;
use cloudport_core::{App, Env, Error, Provider, ResourceUrl, Schedule};
use cloudport_memory::Memory;
use serde_json::{Value, json};
use tower::ServiceExt;

use support::Seen;

fn b64(s: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn test_app(seen: &Seen) -> App {
    let q = seen.clone();
    let http = axum::Router::new()
        .route("/hello", get(|| async { "hello" }))
        .route(
            "/echo",
            post(|body: String| async move { format!("echo: {body}") }),
        )
        // The app's own route for a scheduler job of its own: the host leaves it alone.
        .route("/tasks/cleanup", post(|| async { "cleaned" }))
        .route(
            "/enqueue",
            post(|env: Env, body: String| async move {
                env.queue("outbox")
                    .map_err(|e| e.to_string())?
                    .send(body)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok::<_, String>("queued")
            }),
        );
    let on_message = move |event: cloudport_core::event::Event<QueueMessage>, _env: Env| {
        let seen = q.clone();
        async move {
            let m = event.data();
            if m.text()? == "fail" {
                return Err(Error::handler("the order failed"));
            }
            if m.text()? == "panic" {
                panic!("the handler panicked");
            }
            let view = json!({"id": m.id, "queue": m.queue, "body": m.text()?,
                "deliveries": m.delivery_count, "contentType": m.content_type,
                "attributes": m.attributes, "enqueued": m.enqueued_at.map(|t| t.to_rfc3339())});
            seen.lock().unwrap().push((event.ty().to_owned(), view));
            Ok(())
        }
    };
    let app = App::new()
        .http(http)
        .on_queue("orders", on_message.clone())
        .on_queue("audit", on_message)
        .on_schedule(
            "hourly",
            Schedule::cron("0 0 * * * *"),
            |_event, _env| async { Ok(()) },
        );
    support::with_blob_and_schedule_recorders(app, seen)
}

/// The environment: the memory provider, callers checked by the platform; `orders` bound to a Pub/Sub topic and push subscription
/// (its queue pre-opened on memory, with a portable dead-letter policy of 3 deliveries), `audit`
/// bound to a topic only, `uploads` to a Cloud Storage bucket.
fn test_env(memory: &Memory) -> Env {
    let orders = memory
        .open_queue(&ResourceUrl::parse("mem://orders").unwrap())
        .unwrap()
        .with_dead_letter(
            memory
                .open_queue(&ResourceUrl::parse("mem://orders-dlq").unwrap())
                .unwrap(),
            3,
        );
    Env::builder()
        .provider(memory.clone())
        .vars([
            (
                "CLOUDPORT_QUEUE_ORDERS",
                "gcppubsub://projects/shop/topics/orders?subscription=orders-push",
            ),
            (
                "CLOUDPORT_QUEUE_AUDIT",
                "gcppubsub://projects/shop/topics/audit",
            ),
            ("CLOUDPORT_BUCKET_UPLOADS", "gs://shop-uploads"),
            ("CLOUDPORT_QUEUE_OUTBOX", "mem://outbox"),
            // These tests are about routing and decoding, with unsigned requests: the caller check
            // (Google-signed ID tokens) is left to the platform here; tests/cloudrun_auth.rs tests it.
            ("CLOUDPORT_EVENT_AUTH", "platform"),
        ])
        .queue("orders", orders)
        .build()
}

struct Server {
    addr: SocketAddr,
    memory: Memory,
    seen: Seen,
    running: support::Running,
}

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A JSON error body with a message, as every host rejection has.
    #[track_caller]
    fn assert_json_error(&self) {
        assert!(
            self.headers
                .iter()
                .any(|(n, v)| n == "content-type" && v == "application/json"),
            "{:?}",
            self.headers
        );
        assert!(
            self.json()["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{}",
            self.text()
        );
    }
}

impl Server {
    async fn start(app: App, memory: Memory, seen: Seen) -> Self {
        let env = test_env(&memory);
        let running = support::Running::start(move |listener, shutdown| {
            cloudrun::serve_with_shutdown(listener, app, env, shutdown)
        })
        .await;
        Self {
            addr: running.addr,
            memory,
            seen,
            running,
        }
    }

    async fn start_default() -> Self {
        let seen = Seen::default();
        Self::start(test_app(&seen), Memory::new(), seen).await
    }

    fn seen(&self) -> Vec<(String, Value)> {
        support::take(&self.seen)
    }

    async fn push(&self, path: &str, envelope: &Value) -> Reply {
        self.send(
            "POST",
            path,
            &[("content-type", "application/json")],
            envelope.to_string().as_bytes(),
        )
        .await
    }

    /// One HTTP exchange.
    async fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
        let (status, headers, body) = support::send(self.addr, method, path, headers, body).await;
        Reply {
            status,
            headers,
            body,
        }
    }

    async fn stop(self) {
        self.running.stop().await;
    }
}

/// A push envelope as Pub/Sub sends it (both id spellings; `deliveryAttempt` only when given).
fn envelope(id: &str, body: &str, subscription: &str, attempt: Option<u32>) -> Value {
    let mut v = json!({
        "message": {
            "attributes": { "tenant": "acme", "datacontenttype": "text/plain" },
            "data": b64(body.as_bytes()),
            "messageId": id, "message_id": id,
            "publishTime": "2026-11-26T03:00:00.000Z", "publish_time": "2026-11-26T03:00:00.000Z"
        },
        "subscription": subscription
    });
    if let Some(n) = attempt {
        v["deliveryAttempt"] = json!(n);
    }
    v
}

const ORDERS_SUB: &str = "projects/shop/subscriptions/orders-push";

#[tokio::test]
async fn push_envelopes_succeed_fail_and_dead_letter() {
    let server = Server::start_default().await;

    // Without deliveryAttempt (no dead-letter policy on the subscription): one delivery.
    let r = server
        .push(
            "/_cloudport/events",
            &envelope("m-1", "two pizzas", ORDERS_SUB, None),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text());
    let seen = server.seen();
    assert_eq!(
        seen,
        vec![(
            "io.cloudport.queue.message.v1".to_owned(),
            json!({"id": "m-1", "queue": "orders", "body": "two pizzas", "deliveries": 1,
                "contentType": "text/plain", "attributes": {"tenant": "acme"},
                "enqueued": "2026-11-26T03:00:00+00:00"})
        )]
    );

    // With deliveryAttempt.
    let r = server
        .push(
            "/_cloudport/events",
            &envelope("m-2", "more", ORDERS_SUB, Some(2)),
        )
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(server.seen()[0].1["deliveries"], 2);

    // A failing handler: 500, so Pub/Sub redelivers.
    let r = server
        .push(
            "/_cloudport/events",
            &envelope("m-3", "fail", ORDERS_SUB, Some(1)),
        )
        .await;
    assert_eq!(r.status, 500);
    assert_eq!(r.json()["error"]["kind"], "handler");
    assert!(r.text().contains("the order failed"));
    // A panicking one fails the request, not the process.
    let r = server
        .push(
            "/_cloudport/events",
            &envelope("m-4", "panic", ORDERS_SUB, None),
        )
        .await;
    assert_eq!(r.status, 500);

    // Past the portable limit (3): moved to the dead-letter queue unhandled, and acked.
    let r = server
        .push(
            "/_cloudport/events",
            &envelope("m-5", "fail", ORDERS_SUB, Some(4)),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["deadLettered"]["messageId"], "m-5");
    assert_eq!(server.memory.queue_driver("orders-dlq").len(), 1);
    assert!(server.seen().is_empty());

    // The queue's own path takes any subscription.
    let r = server
        .push(
            "/_cloudport/queue/audit",
            &envelope("m-6", "logged", "projects/other/subscriptions/x", None),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(server.seen()[0].1["queue"], "audit");
    server.stop().await;
}

/// Eventarc's Pub/Sub event in binary mode: `ce-` headers and `MessagePublishedData` as the body.
fn eventarc_pubsub_binary(topic: &str, id: &str, body: &str) -> (Vec<(String, String)>, Vec<u8>) {
    let data = json!({
        "subscription": "projects/shop/subscriptions/eventarc-us-central1-trigger-123-sub-456",
        "message": {
            "@type": "type.googleapis.com/google.pubsub.v1.PubsubMessage",
            "messageId": id, "publishTime": "2026-11-26T03:00:00.000Z",
            "attributes": { "source-app": "billing" }, "data": b64(body.as_bytes())
        }
    });
    let headers = vec![
        ("ce-specversion".to_owned(), "1.0".to_owned()),
        (
            "ce-type".to_owned(),
            "google.cloud.pubsub.topic.v1.messagePublished".to_owned(),
        ),
        (
            "ce-source".to_owned(),
            format!("//pubsub.googleapis.com/projects/shop/topics/{topic}"),
        ),
        ("ce-id".to_owned(), id.to_owned()),
        ("ce-time".to_owned(), "2026-11-26T03:00:00.000Z".to_owned()),
        ("content-type".to_owned(), "application/json".to_owned()),
    ];
    (headers, data.to_string().into_bytes())
}

fn pairs(headers: &[(String, String)]) -> Vec<(&str, &str)> {
    headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect()
}

#[tokio::test]
async fn eventarc_cloudevents_become_portable_events() {
    let server = Server::start_default().await;

    // Pub/Sub, binary mode, at `/` (Cloud Functions gen2): the subscription is Eventarc's own,
    // so the topic names the queue.
    let (headers, body) = eventarc_pubsub_binary("audit", "e-1", "entry 1");
    let r = server.send("POST", "/", &pairs(&headers), &body).await;
    assert_eq!(r.status, 204, "{}", r.text());
    // Pub/Sub, structured mode, at a path of Eventarc's choice.
    let structured = json!({
        "specversion": "1.0", "type": "google.cloud.pubsub.topic.v1.messagePublished",
        "source": "//pubsub.googleapis.com/projects/shop/topics/orders", "id": "e-2",
        "time": "2026-11-26T03:00:00.000Z", "datacontenttype": "application/json",
        "data": { "subscription": ORDERS_SUB,
                  "message": { "messageId": "e-2", "data": b64(b"order 2"),
                               "publishTime": "2026-11-26T03:00:00.000Z" } }
    });
    let r = server
        .send(
            "POST",
            "/events/pubsub",
            &[(
                "content-type",
                "application/cloudevents+json; charset=utf-8",
            )],
            structured.to_string().as_bytes(),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text());
    let seen = server.seen();
    assert_eq!(seen[0].1["queue"], "audit");
    assert_eq!(seen[0].1["body"], "entry 1");
    assert_eq!(seen[0].1["attributes"], json!({"sourceapp": "billing"}));
    assert_eq!(seen[0].1["deliveries"], 1);
    assert_eq!(seen[1].1["queue"], "orders");
    assert_eq!(seen[1].1["id"], "e-2");

    // Cloud Storage, finalized (binary mode) and deleted (structured mode).
    let object = json!({
        "bucket": "shop-uploads", "name": "in/a b.txt", "size": "5", "contentType": "text/plain",
        "etag": "CNHZkbuF/ugCEAE=", "generation": "1587627537231057", "metageneration": "1",
        "md5Hash": "XUFAKrxLKna5cZ2REBfFkg==", "timeCreated": "2026-11-26T03:00:00.000Z",
        "updated": "2026-11-26T03:00:00.000Z", "kind": "storage#object"
    });
    let r = server
        .send(
            "POST",
            "/",
            &[
                ("ce-specversion", "1.0"),
                ("ce-type", "google.cloud.storage.object.v1.finalized"),
                (
                    "ce-source",
                    "//storage.googleapis.com/projects/_/buckets/shop-uploads",
                ),
                ("ce-subject", "objects/in/a b.txt"),
                ("ce-id", "8491413245117366"),
                ("ce-time", "2026-11-26T03:00:00.100Z"),
                ("content-type", "application/json"),
            ],
            object.to_string().as_bytes(),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text());
    let deleted = json!({
        "specversion": "1.0", "type": "google.cloud.storage.object.v1.deleted",
        "source": "//storage.googleapis.com/projects/_/buckets/shop-uploads",
        "subject": "objects/in/a b.txt", "id": "8491413245117367",
        "datacontenttype": "application/json", "data": object
    });
    let r = server
        .send(
            "POST",
            "/_cloudport/events",
            &[("content-type", "application/cloudevents+json")],
            deleted.to_string().as_bytes(),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text());
    let blob = json!({"bucket": "uploads", "key": "in/a b.txt", "size": 5,
        "etag": "1587627537231057", "contentType": "text/plain"});
    assert_eq!(
        server.seen(),
        vec![
            ("io.cloudport.blob.created.v1".to_owned(), blob.clone()),
            ("io.cloudport.blob.deleted.v1".to_owned(), blob),
        ]
    );
    server.stop().await;
}

#[tokio::test]
async fn cloud_scheduler_calls_become_ticks() {
    let server = Server::start_default().await;
    let scheduler = [
        ("x-cloudscheduler", "true"),
        ("x-cloudscheduler-scheduletime", "2026-11-26T03:00:00Z"),
        ("user-agent", "Google-Cloud-Scheduler"),
        ("content-type", "application/octet-stream"),
    ];
    // By path.
    let r = server
        .send(
            "POST",
            "/_cloudport/schedule/nightly",
            &scheduler,
            b"job body",
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text());
    // By the job name (the app has two schedules, so the name decides).
    let mut named = scheduler.to_vec();
    named.push((
        "x-cloudscheduler-jobname",
        "projects/shop/locations/us-central1/jobs/nightly",
    ));
    let r = server
        .send("POST", "/_cloudport/schedule", &named, b"")
        .await;
    assert_eq!(r.status, 204, "{}", r.text());
    let r = server.send("POST", "/_cloudport/events", &named, b"").await;
    assert_eq!(r.status, 204, "{}", r.text());
    let tick = (
        "io.cloudport.schedule.tick.v1".to_owned(),
        json!({"schedule": "nightly", "at": "2026-11-26T03:00:00+00:00"}),
    );
    assert_eq!(server.seen(), vec![tick.clone(), tick.clone(), tick]);

    // A job of the app's own route reaches the route.
    let r = server.send("POST", "/tasks/cleanup", &named, b"").await;
    assert_eq!((r.status, r.text().as_str()), (200, "cleaned"));
    // A job named like no schedule, the app having two: 404.
    let mut unknown = scheduler.to_vec();
    unknown.push(("x-cloudscheduler-jobname", "weekly"));
    let r = server
        .send("POST", "/_cloudport/schedule", &unknown, b"")
        .await;
    assert_eq!(r.status, 404);
    r.assert_json_error();
    assert!(server.seen().is_empty());
    server.stop().await;
}

#[tokio::test]
async fn plain_http_reaches_the_router_unchanged() {
    let server = Server::start_default().await;
    let r = server.send("GET", "/hello", &[], b"").await;
    assert_eq!((r.status, r.text().as_str()), (200, "hello"));
    let r = server
        .send(
            "POST",
            "/echo?x=1",
            &[("content-type", "text/plain")],
            b"hi",
        )
        .await;
    assert_eq!((r.status, r.text().as_str()), (200, "echo: hi"));
    // A JSON body shaped like a push envelope, on the app's route, is the app's.
    let r = server
        .push("/echo", &envelope("m", "x", ORDERS_SUB, None))
        .await;
    assert_eq!(r.status, 200);
    assert!(r.text().starts_with("echo: {"));
    // Handlers get the Env.
    let r = server.send("POST", "/enqueue", &[], b"later").await;
    assert_eq!((r.status, r.text().as_str()), (200, "queued"));
    assert_eq!(server.memory.queue_driver("outbox").len(), 1);
    // The app's own 404.
    let r = server.send("GET", "/missing", &[], b"").await;
    assert_eq!(r.status, 404);
    // A warm-up ping runs no handler.
    let r = server.send("POST", "/_cloudport/warmup", &[], b"").await;
    assert_eq!((r.status, r.json()), (200, json!({"warm": true})));
    assert!(server.seen().is_empty());
    server.stop().await;
}

/// (method, path, headers, body, expected status).
type Case<'a> = (&'a str, &'a str, Vec<(&'a str, &'a str)>, Vec<u8>, u16);

#[tokio::test]
async fn malformed_requests_are_client_errors() {
    let server = Server::start_default().await;
    let json_ct = [("content-type", "application/json")];
    let (mut no_id, body) = eventarc_pubsub_binary("orders", "e-1", "x");
    no_id.retain(|(n, _)| n != "ce-id");
    let mut text_ct = eventarc_pubsub_binary("orders", "e-1", "x").0;
    for (n, v) in &mut text_ct {
        if n == "content-type" {
            *v = "text/plain".to_owned();
        }
    }
    let bad_base64 = json!({"message": {"data": "%%% not base64", "messageId": "1"},
        "subscription": ORDERS_SUB})
    .to_string();
    let unknown_sub = envelope("m", "x", "projects/shop/subscriptions/nobody", None).to_string();
    let unbound_bucket =
        json!({"specversion": "1.0", "type": "google.cloud.storage.object.v1.finalized",
        "source": "//storage.googleapis.com/projects/_/buckets/elsewhere", "id": "1",
        "subject": "objects/k", "data": {"bucket": "elsewhere", "name": "k"}})
        .to_string();
    let other_type =
        json!({"specversion": "1.0", "type": "com.example.thing", "source": "/x", "id": "1"})
            .to_string();
    let structured = [("content-type", "application/cloudevents+json")];
    let cases: Vec<Case<'_>> = vec![
        // A CloudEvent without its required `ce-id`.
        ("POST", "/", pairs(&no_id), body.clone(), 400),
        // Pub/Sub event data that is not JSON by its content type.
        ("POST", "/", pairs(&text_ct), b"plain".to_vec(), 415),
        // Structured mode that is not JSON.
        (
            "POST",
            "/_cloudport/events",
            structured.to_vec(),
            b"{oops".to_vec(),
            400,
        ),
        // A push envelope with bad base64 data.
        (
            "POST",
            "/_cloudport/events",
            json_ct.to_vec(),
            bad_base64.into_bytes(),
            400,
        ),
        // Not an envelope, or not JSON at all.
        (
            "POST",
            "/_cloudport/events",
            json_ct.to_vec(),
            b"{\"hello\":1}".to_vec(),
            400,
        ),
        (
            "POST",
            "/_cloudport/events",
            json_ct.to_vec(),
            b"not json".to_vec(),
            400,
        ),
        // A push envelope with the wrong content type.
        (
            "POST",
            "/_cloudport/events",
            vec![("content-type", "text/plain")],
            b"{}".to_vec(),
            415,
        ),
        // A subscription bound to no queue, a bucket bound to no bucket, an event type nobody
        // takes (the app has no on_any_event).
        (
            "POST",
            "/_cloudport/events",
            json_ct.to_vec(),
            unknown_sub.into_bytes(),
            404,
        ),
        (
            "POST",
            "/",
            structured.to_vec(),
            unbound_bucket.into_bytes(),
            404,
        ),
        (
            "POST",
            "/",
            structured.to_vec(),
            other_type.clone().into_bytes(),
            404,
        ),
        // Only Pub/Sub messages on a queue's path; an unknown queue; an unknown schedule.
        (
            "POST",
            "/_cloudport/queue/orders",
            structured.to_vec(),
            other_type.into_bytes(),
            400,
        ),
        (
            "POST",
            "/_cloudport/queue/nope",
            json_ct.to_vec(),
            b"{}".to_vec(),
            404,
        ),
        ("POST", "/_cloudport/schedule/weekly", vec![], vec![], 404),
        // A bad schedule time.
        (
            "POST",
            "/_cloudport/schedule/nightly",
            vec![("x-cloudscheduler-scheduletime", "soon")],
            vec![],
            400,
        ),
        // Reserved paths.
        ("POST", "/_cloudport/other", vec![], vec![], 404),
        ("GET", "/_cloudport/events", vec![], vec![], 405),
    ];
    for (method, path, headers, body, expected) in cases {
        let r = server.send(method, path, &headers, &body).await;
        assert_eq!(
            r.status,
            expected,
            "{method} {path} {headers:?}: {}",
            r.text()
        );
        r.assert_json_error();
    }
    assert!(server.seen().is_empty());
    assert_eq!(server.memory.queue_driver("orders-dlq").len(), 0);
    server.stop().await;
}

#[tokio::test]
async fn oversize_requests_are_413() {
    let seen = Seen::default();
    let memory = Memory::new();
    let router = cloudrun::router(test_app(&seen), test_env(&memory)).unwrap();
    // A body over the read limit.
    let huge = vec![b'x'; cloudrun::decode::MAX_BODY_BYTES + 1];
    let request = axum::http::Request::post("/_cloudport/events")
        .header("content-type", "application/json")
        .body(axum::body::Body::from(huge))
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), 413);
    // A message over Pub/Sub's 10 MB, in a body under the read limit.
    let data = b64(&vec![0u8; cloudrun::decode::MAX_MESSAGE_BYTES + 1024]);
    let body = json!({"message": {"data": data, "messageId": "big"}, "subscription": ORDERS_SUB});
    let request = axum::http::Request::post("/_cloudport/events")
        .header("content-type", "application/json")
        .body(axum::body::Body::from(body.to_string()))
        .unwrap();
    let response = router.oneshot(request).await.unwrap();
    assert_eq!(response.status(), 413);
    assert!(seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn without_http_every_path_is_the_hosts_and_other_events_reach_on_any_event() {
    let seen = Seen::default();
    let (q, any) = (seen.clone(), seen.clone());
    let app = App::new()
        .on_queue("orders", move |event, _env| {
            let seen = q.clone();
            async move {
                seen.lock()
                    .unwrap()
                    .push((event.ty().to_owned(), json!(event.data().text()?)));
                Ok(())
            }
        })
        .on_any_event(move |event, _env| {
            let seen = any.clone();
            async move {
                use cloudport_core::export::cloudevents::AttributesReader;
                let ce = event.cloudevent();
                seen.lock()
                    .unwrap()
                    .push((ce.ty().to_owned(), json!(ce.source())));
                Ok(())
            }
        });
    let server = Server::start(app, Memory::new(), seen).await;
    // A push subscription pointed at the service root.
    let r = server
        .push("/", &envelope("m-1", "at the root", ORDERS_SUB, None))
        .await;
    assert_eq!(r.status, 204, "{}", r.text());
    // Any other CloudEvent, and a Pub/Sub event of an unbound topic, as delivered.
    let r = server
        .send(
            "POST",
            "/",
            &[
                ("ce-specversion", "1.0"),
                ("ce-type", "google.cloud.audit.log.v1.written"),
                (
                    "ce-source",
                    "//cloudaudit.googleapis.com/projects/shop/logs/activity",
                ),
                ("ce-id", "a-1"),
                ("content-type", "application/json"),
            ],
            b"{}",
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text());
    let (headers, body) = eventarc_pubsub_binary("unbound", "e-9", "x");
    let r = server.send("POST", "/", &pairs(&headers), &body).await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(
        server.seen(),
        vec![
            (
                "io.cloudport.queue.message.v1".to_owned(),
                json!("at the root")
            ),
            (
                "google.cloud.audit.log.v1.written".to_owned(),
                json!("//cloudaudit.googleapis.com/projects/shop/logs/activity")
            ),
            (
                "google.cloud.pubsub.topic.v1.messagePublished".to_owned(),
                json!("//pubsub.googleapis.com/projects/shop/topics/unbound")
            ),
        ]
    );
    // Nothing to do with a GET that carries nothing.
    let r = server.send("GET", "/", &[], b"").await;
    assert_eq!(r.status, 404);
    r.assert_json_error();
    server.stop().await;
}
