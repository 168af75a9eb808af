//! The Azure Functions custom handler over real HTTP on 127.0.0.1: invocation payloads of every
//! trigger kind, forwarded and non-forwarded HTTP, malformed payloads, and the manifest the deploy
//! tool generates for the host (`cloudport_cli::azure`).
#![cfg(feature = "azure-functions")]
// Test helpers outside `#[test]` functions unwrap too.
#![allow(clippy::unwrap_used)]

mod support;

use std::net::SocketAddr;

use axum::routing::{get, post};
use cloudport_adapters::azure;
use cloudport_core::event::QueueMessage;
use cloudport_core::{App, Env, Error, Schedule};
use cloudport_memory::Memory;
use serde_json::{Value, json};

use support::Seen;

/// The manifest the deploy tool writes for `app` (from its description, as `CLOUDPORT_DESCRIBE=1`
/// prints it) with these deployment variables: the bindings and the `CLOUDPORT_AZURE_*` settings.
fn manifest_for(
    app: &App,
    vars: &[(&str, &str)],
) -> cloudport_cli::Result<cloudport_cli::azure::Manifest> {
    let lookup = |k: &str| {
        vars.iter()
            .find(|(name, _)| *name == k)
            .map(|(_, v)| (*v).to_owned())
    };
    app.validate().unwrap();
    let options = cloudport_cli::azure::ManifestOptions::from_vars("handler", lookup)?;
    cloudport_cli::azure::manifest(&app.describe(), &options, lookup)
}

fn test_app(seen: &Seen) -> App {
    let q = seen.clone();
    let http = axum::Router::new()
        .route("/hello", get(|| async { "hello" }))
        .route(
            "/echo",
            post(|body: String| async move { format!("echo: {body}") }),
        )
        .route(
            "/queue",
            post(|env: Env, body: String| async move {
                env.queue("outbox")
                    .map_err(|e| e.to_string())?
                    .send(body)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok::<_, String>("queued")
            }),
        );
    let app = App::new()
        .http(http)
        .on_queue("orders", move |event, _env| {
            let seen = q.clone();
            async move {
                let m: &QueueMessage = event.data();
                if m.text()? == "fail" {
                    return Err(Error::handler("the order failed"));
                }
                if m.text()? == "panic" {
                    panic!("the handler panicked");
                }
                let view = json!({"id": m.id, "queue": m.queue, "body": m.text()?,
                    "deliveries": m.delivery_count, "enqueued": m.enqueued_at.map(|t| t.to_rfc3339())});
                seen.lock().unwrap().push((event.ty().to_owned(), view));
                Ok(())
            }
        });
    support::with_blob_and_schedule_recorders(app, seen)
}

struct Server {
    addr: SocketAddr,
    memory: Memory,
    seen: Seen,
    running: support::Running,
}

impl Server {
    async fn start() -> Self {
        let memory = Memory::new();
        let env = Env::builder()
            .provider(memory.clone())
            .vars(std::iter::empty::<(String, String)>())
            .fallback_scheme("mem")
            .bind_queue(
                "orders",
                "mem://orders?dead_letter=mem://orders-dlq&max_deliveries=3",
            )
            .build();
        let seen = Seen::default();
        let app = test_app(&seen);
        let running = support::Running::start(move |listener, shutdown| {
            azure::serve_with_shutdown(listener, app, env, shutdown)
        })
        .await;
        Self {
            addr: running.addr,
            memory,
            seen,
            running,
        }
    }

    fn seen(&self) -> Vec<(String, Value)> {
        support::take(&self.seen)
    }

    async fn post_json(&self, path: &str, payload: &Value) -> (u16, Value) {
        let (status, _, body) = self
            .send(
                "POST",
                path,
                &[("content-type", "application/json")],
                payload.to_string().as_bytes(),
            )
            .await;
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    /// One HTTP exchange, with the invocation id header the Functions host sends.
    async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, Vec<(String, String)>, Vec<u8>) {
        let mut all = vec![("x-azure-functions-invocationid", "inv-1")];
        all.extend_from_slice(headers);
        support::send(self.addr, method, path, &all, body).await
    }

    async fn stop(self) {
        self.running.stop().await;
    }
}

/// A queue invocation as the Functions host sends it: scalars JSON-encoded into strings.
fn queue_payload(id: &str, message: Value, dequeue_count: u32) -> Value {
    json!({
        "Data": { "message": message },
        "Metadata": {
            "DequeueCount": dequeue_count.to_string(),
            "ExpirationTime": "\"2026-12-03T03:00:00+00:00\"",
            "Id": format!("\"{id}\""),
            "InsertionTime": "\"2026-11-26T03:00:00+00:00\"",
            "NextVisibleTime": "\"2026-11-26T03:10:00+00:00\"",
            "PopReceipt": "\"AgAAAAMAAAAAAAAAAgtnj8x+1QE=\"",
            "sys": { "MethodName": "queue-orders", "UtcNow": "2026-11-26T03:00:01.5Z", "RandGuid": "g" }
        }
    })
}

#[tokio::test]
async fn queue_invocations_succeed_fail_and_dead_letter() {
    let server = Server::start().await;

    // A text message, JSON-encoded into a string by the host.
    let (status, body) = server
        .post_json(
            "/queue-orders",
            &queue_payload("m-1", json!("\"two pizzas\""), 1),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"Outputs": {}, "Logs": [], "ReturnValue": null})
    );
    // A JSON message the host handed over as an object.
    let (status, _) = server
        .post_json(
            "/queue-orders",
            &queue_payload("m-2", json!({"id": "42"}), 2),
        )
        .await;
    assert_eq!(status, 200);
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].0, "io.cloudport.queue.message.v1");
    assert_eq!(
        seen[0].1,
        json!({"id": "m-1", "queue": "orders", "body": "two pizzas", "deliveries": 1,
            "enqueued": "2026-11-26T03:00:00+00:00"})
    );
    assert_eq!(seen[1].1["body"], r#"{"id":"42"}"#);
    assert_eq!(seen[1].1["deliveries"], 2);

    // A failing handler: 500, so the Functions host retries (and poisons after maxDequeueCount).
    let (status, body) = server
        .post_json("/queue-orders", &queue_payload("m-3", json!("\"fail\""), 1))
        .await;
    assert_eq!(status, 500);
    assert_eq!(body["error"]["kind"], "handler");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("the order failed")
    );
    // A panicking handler fails the invocation, not the process.
    let (status, _) = server
        .post_json(
            "/queue-orders",
            &queue_payload("m-4", json!("\"panic\""), 1),
        )
        .await;
    assert_eq!(status, 500);

    // Past the queue's portable limit (max_deliveries=3): moved to the dead-letter queue unhandled.
    let (status, body) = server
        .post_json("/queue-orders", &queue_payload("m-5", json!("\"fail\""), 4))
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["Logs"][0].as_str().unwrap().contains("dead-letter"));
    assert_eq!(server.memory.queue_driver("orders-dlq").len(), 1);
    assert!(server.seen().is_empty());

    // The server is still up after the panic.
    let (status, _) = server
        .post_json("/queue-orders", &queue_payload("m-6", json!("ok"), 1))
        .await;
    assert_eq!(status, 200);
    server.stop().await;
}

#[tokio::test]
async fn the_warmup_trigger_is_answered_without_running_a_handler() {
    let server = Server::start().await;
    // What the Functions host sends when it adds an instance.
    let warmup = json!({
        "Data": { "warmupContext": {} },
        "Metadata": { "sys": { "MethodName": "warmup", "UtcNow": "2026-11-26T03:00:00Z", "RandGuid": "g" } }
    });
    let (status, body) = server.post_json("/warmup", &warmup).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["Outputs"], json!({}));
    assert!(server.seen().is_empty(), "no handler ran");
    server.stop().await;
}

#[tokio::test]
async fn a_public_post_to_warmup_is_not_taken_for_the_warmup_trigger() {
    let server = Server::start().await;
    // No invocation id: not the Functions host. With the default route prefix `api`, the path is
    // no app route either.
    let (status, _, _) = support::send(
        server.addr,
        "POST",
        "/warmup",
        &[("content-type", "application/json")],
        b"{}",
    )
    .await;
    assert_eq!(status, 404);
    server.stop().await;
}

#[tokio::test]
async fn blob_and_timer_invocations_become_portable_events() {
    let server = Server::start().await;
    let blob = json!({
        "Data": { "blob": "aGVsbG8=" },
        "Metadata": {
            "Uri": "\"https://acct.blob.core.windows.net/uploads/in/a%20b.txt\"",
            "name": "\"in/a b.txt\"",
            "Properties": { "ContentLength": 5, "ContentType": "text/plain", "ETag": "\"0x8DC\"",
                            "LastModified": "2026-11-26T03:00:00+00:00" },
            "Metadata": {},
            "sys": { "MethodName": "blob-uploads", "UtcNow": "2026-11-26T03:00:01Z", "RandGuid": "g" }
        }
    });
    let (status, body) = server.post_json("/blob-uploads", &blob).await;
    assert_eq!(status, 200, "{body}");
    let timer = json!({
        "Data": { "timer": { "Schedule": { "AdjustForDST": true },
            "ScheduleStatus": { "Last": "2026-11-25T03:00:00+00:00", "Next": "2026-11-27T03:00:00+00:00",
                                "LastUpdated": "2026-11-25T03:00:00+00:00" },
            "IsPastDue": false } },
        "Metadata": { "sys": { "MethodName": "schedule-nightly", "UtcNow": "2026-11-26T03:00:00Z", "RandGuid": "g" } }
    });
    let (status, body) = server.post_json("/schedule-nightly", &timer).await;
    assert_eq!(status, 200, "{body}");
    let seen = server.seen();
    assert_eq!(
        seen[0],
        (
            "io.cloudport.blob.created.v1".to_owned(),
            json!({"bucket": "uploads", "key": "in/a b.txt", "size": 5, "etag": "\"0x8DC\"",
                "contentType": "text/plain"})
        )
    );
    assert_eq!(
        seen[1],
        (
            "io.cloudport.schedule.tick.v1".to_owned(),
            json!({"schedule": "nightly", "at": "2026-11-26T03:00:00+00:00"})
        )
    );
    server.stop().await;
}

#[tokio::test]
async fn http_is_answered_forwarded_and_through_the_output_binding() {
    let server = Server::start().await;

    // Forwarded (enableForwardingHttpRequest): the original path, under the route prefix.
    let (status, _, body) = server.send("GET", "/api/hello", &[], b"").await;
    assert_eq!((status, body.as_slice()), (200, &b"hello"[..]));
    let (status, _, body) = server
        .send(
            "POST",
            "/api/echo?x=1",
            &[("content-type", "text/plain")],
            b"hi",
        )
        .await;
    assert_eq!((status, body.as_slice()), (200, &b"echo: hi"[..]));
    // The app's handlers get the Env.
    let (status, _, _) = server.send("POST", "/api/queue", &[], b"later").await;
    assert_eq!(status, 200);
    assert_eq!(server.memory.queue_driver("outbox").len(), 1);
    // The app's own 404 under the prefix; outside it, the host's JSON 404.
    let (status, _, _) = server.send("GET", "/api/missing", &[], b"").await;
    assert_eq!(status, 404);
    let (status, _, body) = server.send("GET", "/hello", &[], b"").await;
    assert_eq!(status, 404);
    let error: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(error["error"]["kind"], "not_found");

    // Not forwarded: the request inside the payload, the response as the `res` output.
    let payload = json!({
        "Data": { "req": {
            "Url": "https://app.azurewebsites.net/api/echo?x=1", "Method": "POST", "Query": "{\"x\":\"1\"}",
            "Headers": { "Content-Type": ["text/plain"], "User-Agent": ["curl/8"] },
            "Params": { "route": "echo" }, "Body": "hello"
        } },
        "Metadata": { "sys": { "MethodName": "http", "UtcNow": "2026-11-26T03:00:00Z", "RandGuid": "g" } }
    });
    let (status, body) = server.post_json("/http", &payload).await;
    assert_eq!(status, 200, "{body}");
    let res = &body["Outputs"]["res"];
    assert_eq!(res["statusCode"], 200);
    assert_eq!(res["body"], "echo: hello");
    assert!(
        res["headers"]["content-type"]
            .as_str()
            .unwrap()
            .starts_with("text/plain")
    );
    server.stop().await;
}

#[tokio::test]
async fn malformed_payloads_are_client_errors() {
    let server = Server::start().await;
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        ("/queue-orders", b"{not json".to_vec(), 400),
        ("/queue-orders", br#"{"Metadata":{"Id":"m"}}"#.to_vec(), 400),
        (
            "/queue-orders",
            br#"{"Data":{"message":"x"},"Metadata":{}}"#.to_vec(),
            400,
        ),
        (
            "/blob-uploads",
            br#"{"Data":{"blob":"%%%"},"Metadata":{"name":"k"}}"#.to_vec(),
            400,
        ),
        (
            "/schedule-nightly",
            br#"{"Data":{"timer":7},"Metadata":{}}"#.to_vec(),
            400,
        ),
        (
            "/http",
            br#"{"Data":{"req":{"Method":"GET"}},"Metadata":{}}"#.to_vec(),
            400,
        ),
        ("/queue-nope", br#"{"Data":{},"Metadata":{}}"#.to_vec(), 404),
    ];
    for (path, payload, expected) in cases {
        let (status, headers, body) = server
            .send(
                "POST",
                path,
                &[("content-type", "application/json")],
                &payload,
            )
            .await;
        assert_eq!(
            status,
            expected,
            "{path}: {}",
            String::from_utf8_lossy(&body)
        );
        assert!(
            headers
                .iter()
                .any(|(n, v)| n == "content-type" && v == "application/json")
        );
        let error: Value = serde_json::from_slice(&body).unwrap();
        assert!(
            error["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
    assert!(server.seen().is_empty());
    server.stop().await;
}

#[test]
fn the_manifest_describes_every_function() {
    let seen = Seen::default();
    let app = test_app(&seen).on_schedule(
        "every-5-min",
        Schedule::every(std::time::Duration::from_secs(300)),
        |_t, _env| async { Ok(()) },
    );
    let vars = [
        (
            "CLOUDPORT_QUEUE_ORDERS",
            "azqueue://acct/orders-prod?dead_letter=orders-dlq&max_deliveries=7",
        ),
        ("CLOUDPORT_BUCKET_UPLOADS", "azblob://acct/uploads-prod"),
        ("CLOUDPORT_AZURE_EXECUTABLE", "app/handler"),
    ];
    let manifest = manifest_for(&app, &vars).unwrap();
    let dir = std::env::temp_dir().join(format!("cloudport-azure-manifest-{}", std::process::id()));
    manifest.write_to(&dir).unwrap();
    let read = |path: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join(path)).unwrap()).unwrap()
    };

    let host = read("host.json");
    assert_eq!(host["version"], "2.0");
    assert_eq!(
        host["customHandler"]["description"]["defaultExecutablePath"],
        "app/handler"
    );
    assert_eq!(host["customHandler"]["enableForwardingHttpRequest"], true);
    assert_eq!(
        host["extensionBundle"]["id"],
        "Microsoft.Azure.Functions.ExtensionBundle"
    );
    assert_eq!(host["extensions"]["http"]["routePrefix"], "api");
    // Above the portable max_deliveries=7, so the portable policy acts first.
    assert_eq!(host["extensions"]["queues"]["maxDequeueCount"], 8);

    assert_eq!(
        read("queue-orders/function.json"),
        json!({"bindings": [{"name": "message", "type": "queueTrigger", "direction": "in",
            "queueName": "orders-prod", "connection": "AzureWebJobsStorage", "dataType": "binary"}]})
    );
    assert_eq!(
        read("blob-uploads/function.json"),
        json!({"bindings": [{"name": "blob", "type": "blobTrigger", "direction": "in",
            "path": "uploads-prod/{name}", "connection": "AzureWebJobsStorage", "dataType": "binary"}]})
    );
    assert_eq!(
        read("schedule-nightly/function.json")["bindings"][0],
        json!({"name": "timer", "type": "timerTrigger", "direction": "in", "schedule": "0 0 3 * * *"})
    );
    assert_eq!(
        read("schedule-every-5-min/function.json")["bindings"][0]["schedule"],
        "0 */5 * * * *"
    );
    let http = read("http/function.json");
    assert_eq!(http["bindings"][0]["type"], "httpTrigger");
    assert_eq!(http["bindings"][0]["route"], "{*route}");
    assert!(
        http["bindings"][0]["methods"]
            .as_array()
            .unwrap()
            .contains(&json!("post"))
    );
    assert_eq!(
        http["bindings"][1],
        json!({"name": "res", "type": "http", "direction": "out"})
    );
    assert_eq!(
        manifest.function_names().collect::<Vec<_>>(),
        [
            "blob-uploads",
            "http",
            "queue-orders",
            "schedule-every-5-min",
            "schedule-nightly",
            "warmup"
        ]
    );
    assert_eq!(
        read("warmup/function.json"),
        json!({"bindings": [{"name": "warmupContext", "type": "warmupTrigger", "direction": "in"}]})
    );
    std::fs::remove_dir_all(&dir).unwrap();

    // A binding to another cloud cannot become an Azure trigger.
    let err = manifest_for(&app, &[("CLOUDPORT_QUEUE_ORDERS", "sqs://orders")]).unwrap_err();
    assert!(
        matches!(err, cloudport_cli::Error::Unsupported { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("azqueue://"), "{err}");
    // Names that differ only in case collide in Azure.
    let clash = App::new()
        .on_queue("Orders", |_m, _e| async { Ok(()) })
        .on_queue("orders", |_m, _e| async { Ok(()) });
    assert!(manifest_for(&clash, &[("X", "Y")]).is_err());
    // An interval no NCRONTAB expression fires at is refused, fractions of a second included
    // (the description carries them).
    for interval in [
        std::time::Duration::from_secs(7 * 60),
        std::time::Duration::from_millis(1500),
    ] {
        let odd = App::new().on_schedule("odd", Schedule::every(interval), |_t, _env| async {
            Ok(())
        });
        let err = manifest_for(&odd, &[]).unwrap_err();
        assert!(
            err.to_string().contains("Schedule::cron"),
            "{interval:?}: {err}"
        );
    }
}

#[tokio::test]
async fn the_binary_writes_no_manifest() {
    // The variable that made the host write the manifest (before ADR 0010) is ignored: `run`
    // wants the Functions host's port and writes nothing.
    let dir = std::env::temp_dir().join(format!("cloudport-azure-emit-{}", std::process::id()));
    let env = Env::builder()
        .vars([
            ("CLOUDPORT_EMIT_AZURE_MANIFEST", dir.to_str().unwrap()),
            ("CLOUDPORT_QUEUE_ORDERS", "azqueue://acct/orders"),
        ])
        .build();
    let app = App::new().on_queue("orders", |_m, _e| async { Ok(()) });
    let err = azure::run(app, env).await.unwrap_err();
    assert!(err.message().contains(azure::PORT_VAR), "{err}");
    assert!(!dir.exists());
}

#[test]
fn a_route_prefix_that_exposes_invocation_paths_is_refused_at_build_time_and_at_start() {
    let seen = Seen::default();
    let vars = |prefix: &'static str| {
        [
            (azure::ROUTE_PREFIX_VAR, prefix),
            ("CLOUDPORT_QUEUE_ORDERS", "azqueue://acct/orders"),
            ("CLOUDPORT_BUCKET_UPLOADS", "azblob://acct/uploads"),
        ]
    };
    let env = |prefix: &'static str| {
        Env::builder()
            .provider(Memory::new())
            .vars(vars(prefix))
            .build()
    };
    for prefix in ["", "/", "queue-orders", "Queue-Orders/v1", "warmup", "http"] {
        let manifest = manifest_for(&test_app(&seen), &vars(prefix));
        let err = manifest
            .err()
            .unwrap_or_else(|| panic!("prefix {prefix:?}: manifest made"));
        assert!(matches!(err, cloudport_cli::Error::Usage(_)), "{err:?}");
        assert!(
            err.to_string().contains(azure::ROUTE_PREFIX_VAR),
            "the message says what to set: {err}"
        );
        let host = azure::AzureHost::new(test_app(&seen), env(prefix));
        assert!(host.is_err(), "prefix {prefix:?}: the host started");
    }
    for prefix in ["api", "v1/orders"] {
        assert!(manifest_for(&test_app(&seen), &vars(prefix)).is_ok());
        assert!(azure::AzureHost::new(test_app(&seen), env(prefix)).is_ok());
    }
    // An app without HTTP has no public path: any prefix.
    let events_only = App::new().on_queue("orders", |_m, _env| async { Ok(()) });
    assert!(manifest_for(&events_only, &vars("")).is_ok());
    // Only HTTP: nothing to reach.
    let http_only = App::new().http(axum::Router::new().route("/", get(|| async { "hi" })));
    assert!(azure::AzureHost::new(http_only, env("")).is_ok());
}

#[tokio::test]
async fn a_public_request_never_reaches_an_invocation_path() {
    let server = Server::start().await;
    // Under the default prefix `api`, the public path `/api/queue-orders` is the app's (404 from
    // its router); the invocation path itself answers only what the Functions host posts there —
    // and a public request cannot get there, since the Functions host only forwards `/api/…`.
    let forged =
        json!({"Data": {"message": "attacker"}, "Metadata": {"Id": "x", "DequeueCount": 1}});
    let (status, _, _) = support::send(
        server.addr,
        "POST",
        "/api/queue-orders",
        &[("content-type", "application/json")],
        forged.to_string().as_bytes(),
    )
    .await;
    assert_eq!(status, 404);
    assert!(server.seen().is_empty(), "no handler ran");
    server.stop().await;
}

// ---- Queue messages byte for byte through the Functions host; its dequeue count always wins.

fn base64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A host whose queue `orders` (dead-lettered after 3 deliveries) records every message's body
/// (Base64), content type, attributes and delivery count.
async fn recording_server() -> (support::Running, Memory, Seen) {
    let memory = Memory::new();
    let env = Env::builder()
        .provider(memory.clone())
        .vars(std::iter::empty::<(String, String)>())
        .fallback_scheme("mem")
        .bind_queue(
            "orders",
            "mem://orders?dead_letter=mem://orders-dlq&max_deliveries=3",
        )
        .build();
    let seen = Seen::default();
    let record = seen.clone();
    let app = App::new().on_queue("orders", move |event, _env| {
        let seen = record.clone();
        async move {
            let m: &QueueMessage = event.data();
            let view = json!({"body": base64(&m.body), "contentType": m.content_type,
                "attributes": m.attributes, "deliveries": m.delivery_count});
            seen.lock().unwrap().push((event.ty().to_owned(), view));
            Ok(())
        }
    });
    let running = support::Running::start(move |listener, shutdown| {
        azure::serve_with_shutdown(listener, app, env, shutdown)
    })
    .await;
    (running, memory, seen)
}

async fn invoke(running: &support::Running, payload: &Value) -> (u16, Value) {
    let (status, _, body) = support::send(
        running.addr,
        "POST",
        "/queue-orders",
        &[("content-type", "application/json")],
        payload.to_string().as_bytes(),
    )
    .await;
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

#[test]
fn the_queue_trigger_binds_the_message_as_bytes() {
    let app = App::new().on_queue("orders", |_m, _e| async { Ok(()) });
    let manifest =
        manifest_for(&app, &[("CLOUDPORT_QUEUE_ORDERS", "azqueue://acct/orders")]).unwrap();
    let binding = &manifest.function_json("queue-orders").unwrap()["bindings"][0];
    assert_eq!(binding["type"], "queueTrigger");
    assert_eq!(
        binding["dataType"], "binary",
        "without it the host hands the handler lossy UTF-8 text: {binding}"
    );
    // The host Base64-decodes the stored text before binding it.
    assert_eq!(
        manifest.host_json()["extensions"]["queues"]["messageEncoding"],
        "base64"
    );
}

/// With `"dataType": "binary"` the host binds the decoded message as `byte[]`, which reaches the
/// custom handler Base64-encoded in `Data` (`ScriptInvocationContextExtensions`, serialized by
/// Newtonsoft.Json): every body arrives exactly as sent.
#[tokio::test]
async fn binary_queue_payloads_reach_the_handler_byte_for_byte() {
    let (running, _memory, seen) = recording_server().await;
    let not_utf8: &[u8] = &[0xff, 0x00, 0xc3, 0x28, b'{', 0x80];
    let enveloped = cloudport_core::Message::new(not_utf8.to_vec())
        .with_content_type("application/x-thing")
        .with_attribute("tenant", "acme");
    let envelope = cloudport_core::queue::wire::to_envelope(&enveloped).unwrap();
    let cases: [(&[u8], Option<&str>); 5] = [
        (not_utf8, None),
        (b"two pizzas", None),
        (br#"{"id":"42"}"#, None),
        (b"aGk=", None),
        (&envelope, Some("application/x-thing")),
    ];
    for (i, (wire, content_type)) in cases.iter().enumerate() {
        let payload = queue_payload(&format!("m-{i}"), json!(base64(wire)), 1);
        let (status, body) = invoke(&running, &payload).await;
        assert_eq!(status, 200, "{body}");
        let got = support::take(&seen);
        assert_eq!(got.len(), 1);
        let expected = if content_type.is_some() {
            not_utf8
        } else {
            wire
        };
        assert_eq!(
            got[0].1["body"],
            base64(expected),
            "case {i}: the body changed on the way"
        );
        assert_eq!(got[0].1["contentType"], json!(content_type));
    }
    // The string forms of a binding without a data type are still read (a manifest generated
    // before it declared one).
    let (status, _) = invoke(&running, &queue_payload("m-s", json!("\"two pizzas\""), 1)).await;
    assert_eq!(status, 200);
    assert_eq!(support::take(&seen)[0].1["body"], base64(b"two pizzas"));
    running.stop().await;
}

/// An envelope written outside cloudport may carry a `deliverycount` extension; the host's
/// `DequeueCount` is the delivery count all the same, so the portable dead-letter limit holds.
#[tokio::test]
async fn a_sender_deliverycount_cannot_escape_the_dead_letter_limit() {
    let (running, memory, seen) = recording_server().await;
    let envelope = json!({
        "specversion": "1.0", "id": "e-1", "source": "elsewhere",
        "type": cloudport_core::queue::wire::ENVELOPE_TYPE,
        "datacontenttype": "text/plain", "data": "poison",
        "deliverycount": "1", "tenant": "acme"
    })
    .to_string();
    // As a binding without a data type hands it over (text), and as `dataType: binary` does.
    for message in [json!(envelope), json!(base64(envelope.as_bytes()))] {
        // Within the limit: handled, with the host's count.
        let (status, _) = invoke(&running, &queue_payload("m-1", message.clone(), 2)).await;
        assert_eq!(status, 200);
        let got = support::take(&seen);
        assert_eq!(
            got[0].1["deliveries"], 2,
            "the sender's deliverycount replaced DequeueCount"
        );
        assert_eq!(got[0].1["attributes"], json!({"tenant": "acme"}));
        // Over it (max_deliveries=3): dead-lettered, not handled.
        let before = memory.queue_driver("orders-dlq").len();
        let (status, body) = invoke(&running, &queue_payload("m-1", message, 4)).await;
        assert_eq!(status, 200, "{body}");
        assert!(
            support::take(&seen).is_empty(),
            "the handler ran on a 4th delivery"
        );
        assert_eq!(memory.queue_driver("orders-dlq").len(), before + 1);
    }
    running.stop().await;
}
