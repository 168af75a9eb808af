//! The Azure Functions custom handler over real HTTP on 127.0.0.1: invocation payloads of every
//! trigger kind, forwarded and non-forwarded HTTP, malformed payloads, and the generated manifest.
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
    let env = Env::builder()
        .vars([
            (
                "CLOUDPORT_QUEUE_ORDERS",
                "azqueue://acct/orders-prod?dead_letter=orders-dlq&max_deliveries=7",
            ),
            ("CLOUDPORT_BUCKET_UPLOADS", "azblob://acct/uploads-prod"),
            ("CLOUDPORT_AZURE_EXECUTABLE", "app/handler"),
        ])
        .build();
    let manifest = azure::manifest(&app, &env).unwrap();
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
            "queueName": "orders-prod", "connection": "AzureWebJobsStorage"}]})
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
    let wrong = Env::builder()
        .vars([("CLOUDPORT_QUEUE_ORDERS", "sqs://orders")])
        .build();
    let err = azure::manifest(&app, &wrong).unwrap_err();
    assert!(err.message().contains("azqueue://"), "{err}");
    // Names that differ only in case collide in Azure.
    let clash = App::new()
        .on_queue("Orders", |_m, _e| async { Ok(()) })
        .on_queue("orders", |_m, _e| async { Ok(()) });
    assert!(azure::manifest(&clash, &Env::builder().vars([("X", "Y")]).build()).is_err());
}

#[tokio::test]
async fn the_manifest_is_emitted_on_request_instead_of_serving() {
    let dir = std::env::temp_dir().join(format!("cloudport-azure-emit-{}", std::process::id()));
    let env = Env::builder()
        .vars([
            ("CLOUDPORT_EMIT_AZURE_MANIFEST", dir.to_str().unwrap()),
            ("CLOUDPORT_QUEUE_ORDERS", "azqueue://acct/orders"),
        ])
        .build();
    let app = App::new().on_queue("orders", |_m, _e| async { Ok(()) });
    // `run` writes the manifest and returns without binding a port.
    azure::run(app, env).await.unwrap();
    assert!(dir.join("host.json").is_file());
    assert!(dir.join("queue-orders/function.json").is_file());
    std::fs::remove_dir_all(&dir).unwrap();
}
