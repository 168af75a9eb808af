//! Declared access (`App::uses`): what the quickstart declares, and enforcement before any driver
//! call — on memory (its fault injection shows no driver was called) and on every cloud provider
//! (resources bound to a closed port: a refused operation is `PermissionDenied` at once, never
//! the `Unavailable` a network attempt would give). The conformance suite's
//! `declared_access_is_enforced_before_the_driver` shows the same on each emulator: nothing
//! consumed, written or deleted.

#[path = "../examples/quickstart/app.rs"]
mod quickstart;

use std::time::{Duration, Instant};

use cloudport::access::{bucket, kv, queue};
use cloudport::app::Description;
use cloudport::event::QueueMessage;
use cloudport::memory::{Fault, Memory};
use cloudport::prelude::*;

#[test]
fn the_quickstart_declares_what_its_handlers_touch() {
    let description: Description = quickstart::app().describe();
    assert!(description.declared);
    let resources: Vec<(String, String, Vec<String>)> = description
        .resources
        .iter()
        .map(|r| (r.kind.clone(), r.name.clone(), r.access.clone()))
        .collect();
    let owned = |k: &str, n: &str, a: &[&str]| {
        (
            k.to_owned(),
            n.to_owned(),
            a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>(),
        )
    };
    assert_eq!(
        resources,
        [
            owned("queue", "orders", &["send", "consume"]),
            owned("bucket", "receipts", &["write"]),
            owned("kv", "orders", &["read", "write"]),
        ]
    );
    let orders = &description.resources[0];
    let dead_letter = orders.dead_letter.as_ref().expect("a dead-letter policy");
    assert_eq!(
        (dead_letter.queue.as_str(), dead_letter.max_deliveries),
        ("orders-dlq", 5)
    );
    assert_eq!(description.limits.max_concurrency, Some(10));
    assert_eq!(description.budget.as_ref().map(|b| b.monthly_usd), Some(10));
    // The description is versioned JSON that reads back.
    let json = serde_json::to_string(&description).expect("json");
    let back: Description = serde_json::from_str(&json).expect("reads back");
    assert_eq!(back, description);
}

/// The CLI's tests generate every cloud's files from a copy of the quickstart's description:
/// it must stay the quickstart's.
#[test]
fn the_cli_fixture_is_the_quickstarts_description() {
    let fixture: serde_json::Value = serde_json::from_str(include_str!(
        "../cli/tests/fixtures/quickstart.description.json"
    ))
    .expect("fixture");
    let described = serde_json::to_value(quickstart::app().describe()).expect("json");
    assert_eq!(
        described, fixture,
        "update cli/tests/fixtures/quickstart.description.json: CLOUDPORT_DESCRIBE=1 cargo run --example quickstart"
    );
}

#[test]
fn an_app_that_declares_nothing_is_described_with_suggestions() {
    let app = App::new()
        .on_queue("orders", |_e, _env| async { Ok(()) })
        .on_blob("uploads", |_e, _env| async { Ok(()) })
        .with_env(Env::builder().bind_kv("sessions", "mem://sessions").build());
    let d = app.describe();
    assert!(!d.declared);
    let suggested: Vec<&str> = d.resources.iter().map(|r| r.declaration.as_str()).collect();
    assert_eq!(
        suggested,
        [
            r#"queue("orders").consume()"#,
            r#"bucket("uploads").read()"#,
            r#"kv("sessions").read().write()"#,
        ]
    );
}

fn order_event() -> cloudport::cloudevents::Event {
    QueueMessage::new("orders", "m-1", "{}").to_cloudevent("mem://orders")
}

#[tokio::test]
async fn an_undeclared_operation_never_reaches_the_memory_driver() {
    let memory = Memory::new();
    let env = Env::on_memory(&memory);
    let app = App::new()
        .on_queue("orders", |_e, env: Env| async move {
            env.bucket("receipts")?.delete("r-1").await?;
            Ok(())
        })
        .uses(bucket("receipts").write());
    memory
        .faults()
        .inject(Fault::error(ErrorKind::Unavailable).times(10));
    let err = app
        .dispatch(&env, &Trigger::Queue("orders".into()), order_event())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
    assert!(
        err.message()
            .contains(r#"blob.delete needs delete access, and the app declares only write: add .uses(bucket("receipts").write().delete()) to the App"#),
        "{err}"
    );
    assert_eq!(memory.faults().pending(), 10, "no driver call was made");
}

#[tokio::test]
async fn an_undeclared_resource_is_refused_whole_and_an_app_without_declarations_is_not_checked() {
    let memory = Memory::new();
    let env = Env::on_memory(&memory);
    let touch_audit = |_e, env: Env| async move {
        env.queue("audit")?.send("seen").await?;
        Ok(())
    };
    let declared = App::new()
        .on_queue("orders", touch_audit)
        .uses(kv("orders").read());
    let err = declared
        .dispatch(&env, &Trigger::Queue("orders".into()), order_event())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    assert!(
        err.message().contains("the app does not declare it"),
        "{err}"
    );
    assert_eq!(memory.queue_driver("audit").len(), 0);

    let undeclared = App::new().on_queue("orders", touch_audit);
    undeclared
        .dispatch(&env, &Trigger::Queue("orders".into()), order_event())
        .await
        .expect("no declarations: nothing is checked");
    assert_eq!(memory.queue_driver("audit").len(), 1);
}

#[tokio::test]
async fn http_handlers_see_the_declarations_too() {
    use cloudport::axum::{Router, routing::get};
    use tower::ServiceExt;
    let app = App::new()
        .http(Router::new().route(
            "/peek",
            get(|env: Env| async move {
                env.queue("orders")?
                    .receive(Default::default())
                    .await
                    .map(|m| m.len().to_string())
            }),
        ))
        .uses(queue("orders").send());
    let router = app.http_router(&Env::memory()).expect("router");
    let response = router
        .oneshot(
            cloudport::axum::http::Request::get("/peek")
                .body(cloudport::axum::body::Body::empty())
                .expect("request"),
        )
        .await
        .expect("response");
    // The app's own mistake, not the caller's: a 500 naming only the kind.
    assert_eq!(response.status(), 500);
    let body = cloudport::axum::body::to_bytes(response.into_body(), 4096)
        .await
        .expect("body");
    let body: serde_json::Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(body["error"]["kind"], "permission_denied");
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// The app's handler touches queue `jobs`, bucket `files` and store `state` outside its
/// declarations (`jobs` send only, `files` read, `state` read): each operation is refused at
/// once, before any network call to the closed port the resources are bound to.
async fn refused_before_the_network(env: Env) {
    let app = App::new()
        .on_queue("trigger", |_e, env: Env| async move {
            let denied = |r: Result<()>, what: &str| match r {
                Err(e) if e.kind() == ErrorKind::PermissionDenied => Ok(()),
                other => Err(Error::handler(format!("{what}: {other:?}"))),
            };
            let jobs = env.queue("jobs")?;
            denied(jobs.receive(Default::default()).await.map(drop), "receive")?;
            let files = env.bucket("files")?;
            denied(files.put("k", "v").await.map(drop), "put")?;
            denied(files.delete("k").await, "delete")?;
            denied(files.list(Default::default()).await.map(drop), "list")?;
            let state = env.kv("state")?;
            denied(
                state.put("k", "v", Precondition::None).await.map(drop),
                "kv put",
            )?;
            denied(state.delete("k").await.map(drop), "kv delete")?;
            Ok(())
        })
        .uses(queue("jobs").send())
        .uses(bucket("files").read())
        .uses(kv("state").read());
    let started = Instant::now();
    let event = QueueMessage::new("trigger", "m-1", "go").to_cloudevent("test");
    app.dispatch(&env, &Trigger::Queue("trigger".into()), event)
        .await
        .expect("every undeclared operation was refused");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "refusals are immediate: {:?}",
        started.elapsed()
    );
}

#[cfg(feature = "aws")]
#[tokio::test]
async fn aws_refuses_undeclared_operations_before_the_network() {
    let endpoint = format!("http://127.0.0.1:{}", closed_port());
    let q = format!("region=us-east-1&endpoint={endpoint}");
    let env = Env::builder()
        .provider(cloudport::aws::Aws::from_env())
        .bind_queue("jobs", format!("sqs://jobs?{q}"))
        .bind_bucket("files", format!("s3://files?{q}"))
        .bind_kv("state", format!("dynamodb://state?{q}"))
        .build();
    refused_before_the_network(env).await;
}

#[cfg(feature = "azure")]
#[tokio::test]
async fn azure_refuses_undeclared_operations_before_the_network() {
    let port = closed_port();
    // Azurite's published development account key, not a secret.
    let connection = format!(
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1;QueueEndpoint=http://127.0.0.1:{port}/devstoreaccount1;TableEndpoint=http://127.0.0.1:{port}/devstoreaccount1"
    );
    let env = Env::builder()
        .provider(cloudport::azure::Azure::from_connection_string(connection))
        .bind_queue("jobs", "azqueue://devstoreaccount1/jobs")
        .bind_bucket("files", "azblob://devstoreaccount1/files")
        .bind_kv("state", "aztable://devstoreaccount1/state")
        .build();
    refused_before_the_network(env).await;
}

#[cfg(feature = "gcp")]
#[tokio::test]
async fn gcp_refuses_undeclared_operations_before_the_network() {
    let port = closed_port();
    #[allow(clippy::needless_update, reason = "Settings may gain fields")]
    let settings = cloudport::gcp::Settings {
        project: Some("demo".into()),
        pubsub_emulator: Some(format!("127.0.0.1:{port}")),
        storage_emulator: Some(format!("http://127.0.0.1:{port}")),
        ..Default::default()
    };
    let env = Env::builder()
        .provider(cloudport::gcp::Gcp::with_settings(settings))
        .bind_queue(
            "jobs",
            "gcppubsub://projects/demo/topics/jobs?subscription=jobs",
        )
        .bind_bucket("files", "gs://files")
        .bind_kv("state", "firestore://demo/state")
        .build();
    refused_before_the_network(env).await;
}
