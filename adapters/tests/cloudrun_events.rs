//! Any Eventarc CloudEvent reaches the app on the Cloud Run host, routed by type with
//! `App::on_event` — the platform's own `type` and `source` kept and its data unchanged (JSON,
//! or protobuf bytes as Firestore sends them) — and only events of bound resources become
//! portable events. Shapes from Google's Eventarc event reference
//! (<https://cloud.google.com/eventarc/docs/reference/supported-events>,
//! <https://github.com/googleapis/google-cloudevents>).
#![cfg(feature = "cloudrun")]
#![allow(clippy::unwrap_used)]

mod support;

use cloudport_adapters::cloudrun;
use cloudport_core::event::Event;
use cloudport_core::export::cloudevents::{AttributesReader, Data};
use cloudport_core::{App, Env};
use cloudport_memory::Memory;
use serde_json::{Value, json};

use support::Seen;

/// Records (handler tag, type, source, data as JSON or the bytes' length, extensions).
fn recorder(
    seen: &Seen,
    tag: &'static str,
) -> impl Fn(
    Event<cloudport_core::export::cloudevents::Event>,
    Env,
) -> futures::future::Ready<cloudport_core::Result<()>>
+ Clone
+ Send
+ Sync
+ 'static {
    let seen = seen.clone();
    move |event, _env| {
        let ce = event.cloudevent();
        let data = match ce.data() {
            Some(Data::Json(v)) => v.clone(),
            Some(Data::String(s)) => serde_json::from_str(s).unwrap_or(json!(s)),
            // Binary mode carries the body as sent: JSON bytes, or protobuf.
            Some(Data::Binary(b)) => {
                serde_json::from_slice(b).unwrap_or_else(|_| json!({ "bytes": b }))
            }
            None => Value::Null,
        };
        let extensions: serde_json::Map<String, Value> = ce
            .iter_extensions()
            .map(|(n, v)| (n.to_owned(), json!(v.to_string())))
            .collect();
        seen.lock().unwrap().push((
            tag.to_owned(),
            json!({ "type": ce.ty(), "source": ce.source().to_string(),
                    "subject": ce.subject(), "data": data, "extensions": extensions }),
        ));
        futures::future::ready(Ok(()))
    }
}

fn env(memory: &Memory) -> Env {
    Env::builder()
        .provider(memory.clone())
        .vars([
            ("CLOUDPORT_BUCKET_UPLOADS", "gs://shop-uploads"),
            ("CLOUDPORT_EVENT_AUTH", "platform"),
        ])
        .build()
}

async fn start(app: App) -> support::Running {
    let env = env(&Memory::new());
    support::Running::start(move |listener, shutdown| {
        cloudrun::serve_with_shutdown(listener, app, env, shutdown)
    })
    .await
}

/// An Audit Logs event in structured mode: `google.cloud.audit.log.v1.written`
/// (<https://cloud.google.com/eventarc/docs/cloudevents#audit-logs>).
fn audit_log() -> Value {
    json!({
        "specversion": "1.0",
        "id": "projects/shop/logs/cloudaudit.googleapis.com%2Factivity1700000000000",
        "source": "//cloudaudit.googleapis.com/projects/shop/logs/activity",
        "type": "google.cloud.audit.log.v1.written",
        "time": "2026-11-27T10:00:00.000Z",
        "subject": "storage.googleapis.com/projects/_/buckets/shop-uploads",
        "servicename": "storage.googleapis.com",
        "methodname": "storage.buckets.update",
        "resourcename": "projects/_/buckets/shop-uploads",
        "datacontenttype": "application/json; charset=utf-8",
        "data": {
            "protoPayload": {
                "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
                "status": {},
                "authenticationInfo": {"principalEmail": "ops@example.com"},
                "serviceName": "storage.googleapis.com",
                "methodName": "storage.buckets.update",
                "resourceName": "projects/_/buckets/shop-uploads"
            },
            "insertId": "abc123", "logName": "projects/shop/logs/cloudaudit.googleapis.com%2Factivity",
            "resource": {"type": "gcs_bucket", "labels": {"bucket_name": "shop-uploads"}},
            "severity": "NOTICE", "timestamp": "2026-11-27T10:00:00.000Z"
        }
    })
}

#[tokio::test]
async fn eventarc_events_route_by_type_with_their_data_unchanged() {
    let seen = Seen::default();
    let app = App::new()
        .on_event(
            "google.cloud.audit.log.v1.written",
            recorder(&seen, "audit"),
        )
        .on_event("google.cloud.firestore.*", recorder(&seen, "firestore"))
        .on_event("google.cloud.storage.*", recorder(&seen, "storage"))
        .on_any_event(recorder(&seen, "any"));
    let app = support::with_blob_and_schedule_recorders(app, &seen);
    let running = start(app).await;
    let send = |headers: Vec<(&'static str, &'static str)>, body: Vec<u8>| async move {
        support::send(running.addr, "POST", "/", &headers, &body).await
    };

    // Structured mode: the audit log event, its data as sent.
    let (status, _, body) = send(
        vec![(
            "content-type",
            "application/cloudevents+json; charset=utf-8",
        )],
        audit_log().to_string().into_bytes(),
    )
    .await;
    assert_eq!(status, 204, "{}", String::from_utf8_lossy(&body));

    // Binary mode with a protobuf body: Firestore's document event
    // (<https://cloud.google.com/firestore/docs/extend-with-functions-2nd-gen#event_types>), its
    // extension attributes kept and its bytes untouched.
    let protobuf = vec![0x0a, 0x05, b'h', b'e', b'l', b'l', b'o', 0xff, 0x00, 0x12];
    let (status, _, body) = send(
        vec![
            ("ce-specversion", "1.0"),
            ("ce-type", "google.cloud.firestore.document.v1.written"),
            (
                "ce-source",
                "//firestore.googleapis.com/projects/shop/databases/(default)",
            ),
            ("ce-id", "f-1"),
            ("ce-subject", "documents/orders/o-1"),
            ("ce-database", "(default)"),
            ("ce-namespace", "(default)"),
            ("ce-document", "orders/o-1"),
            ("content-type", "application/protobuf"),
        ],
        protobuf.clone(),
    )
    .await;
    assert_eq!(status, 204, "{}", String::from_utf8_lossy(&body));

    // A storage event that is not a write or removal (metadata updated) of the bound bucket:
    // not portable, so by type.
    let object = json!({"bucket": "shop-uploads", "name": "a.txt", "size": "3",
        "metageneration": "2", "contentType": "text/plain"});
    let (status, _, body) = send(
        vec![
            ("ce-specversion", "1.0"),
            ("ce-type", "google.cloud.storage.object.v1.metadataUpdated"),
            (
                "ce-source",
                "//storage.googleapis.com/projects/_/buckets/shop-uploads",
            ),
            ("ce-id", "s-1"),
            ("ce-subject", "objects/a.txt"),
            ("content-type", "application/json"),
        ],
        object.to_string().into_bytes(),
    )
    .await;
    assert_eq!(status, 204, "{}", String::from_utf8_lossy(&body));

    // A write to the bound bucket stays the portable blob event of its trigger.
    let (status, _, body) = send(
        vec![
            ("ce-specversion", "1.0"),
            ("ce-type", "google.cloud.storage.object.v1.finalized"),
            (
                "ce-source",
                "//storage.googleapis.com/projects/_/buckets/shop-uploads",
            ),
            ("ce-id", "s-2"),
            ("ce-subject", "objects/a.txt"),
            ("content-type", "application/json"),
        ],
        object.to_string().into_bytes(),
    )
    .await;
    assert_eq!(status, 204, "{}", String::from_utf8_lossy(&body));

    // Any other type: on_any_event.
    let (status, _, body) = send(
        vec![
            ("ce-specversion", "1.0"),
            (
                "ce-type",
                "google.firebase.remoteconfig.remoteConfig.v1.updated",
            ),
            (
                "ce-source",
                "//firebaseremoteconfig.googleapis.com/projects/shop",
            ),
            ("ce-id", "r-1"),
            ("content-type", "application/json"),
        ],
        br#"{"versionNumber":"7","updateOrigin":"CONSOLE"}"#.to_vec(),
    )
    .await;
    assert_eq!(status, 204, "{}", String::from_utf8_lossy(&body));

    let seen = support::take(&seen);
    let tags: Vec<&str> = seen.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        tags,
        [
            "audit",
            "firestore",
            "storage",
            "io.cloudport.blob.created.v1",
            "any"
        ]
    );
    let audit = &seen[0].1;
    assert_eq!(audit["type"], "google.cloud.audit.log.v1.written");
    assert_eq!(
        audit["source"],
        "//cloudaudit.googleapis.com/projects/shop/logs/activity"
    );
    assert_eq!(audit["data"], audit_log()["data"]);
    assert_eq!(audit["extensions"]["methodname"], "storage.buckets.update");
    let firestore = &seen[1].1;
    assert_eq!(firestore["data"]["bytes"], json!(protobuf));
    assert_eq!(firestore["extensions"]["document"], "orders/o-1");
    assert_eq!(firestore["subject"], "documents/orders/o-1");
    assert_eq!(seen[2].1["data"], object);
    assert_eq!(seen[3].1["key"], "a.txt");
    assert_eq!(
        seen[4].1["data"],
        json!({"versionNumber": "7", "updateOrigin": "CONSOLE"})
    );
    running.stop().await;
}

#[tokio::test]
async fn an_event_no_pattern_takes_is_404_without_on_any_event() {
    let seen = Seen::default();
    let app = App::new().on_event("google.cloud.audit.log.v1.*", recorder(&seen, "audit"));
    let running = start(app).await;
    let (status, _, body) = support::send(
        running.addr,
        "POST",
        "/",
        &[
            ("ce-specversion", "1.0"),
            ("ce-type", "google.cloud.pubsub.topic.v1.messagePublished"),
            ("ce-source", "//pubsub.googleapis.com/projects/shop/topics/unbound"),
            ("ce-id", "p-1"),
            ("content-type", "application/json"),
        ],
        br#"{"message":{"data":"eA==","messageId":"p-1"},"subscription":"projects/shop/subscriptions/s"}"#,
    )
    .await;
    assert_eq!(status, 404, "{}", String::from_utf8_lossy(&body));
    let message = String::from_utf8_lossy(&body);
    assert!(message.contains("on_event"), "{message}");
    assert!(support::take(&seen).is_empty());
    running.stop().await;
}
