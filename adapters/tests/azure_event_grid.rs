//! Event Grid on the Azure Functions custom handler, over real HTTP on 127.0.0.1: invocations of
//! the `cloudport-events` function (`eventGridTrigger`) in the Event Grid and CloudEvents schemas,
//! as an object, a JSON-encoded string and a batch; routing by type (`on_event` patterns, then
//! `on_any_event`) and bound containers' blob events to `on_blob`; both validation handshakes;
//! failures and malformed payloads. Fixtures: `tests/fixtures/azure/` (sources in its README).
#![cfg(feature = "azure-functions")]
// Test helpers outside `#[test]` functions unwrap too.
#![allow(clippy::unwrap_used)]

mod support;

use cloudport_adapters::azure;
use cloudport_core::{App, Env, Error};
use cloudport_memory::Memory;
use serde_json::{Value, json};

use support::Seen;

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/azure/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The first event of an Event Grid-schema fixture (Event Grid posts arrays; the extension
/// invokes the function once per event).
fn first(name: &str) -> Value {
    fixture(name)[0].clone()
}

/// An `eventGridTrigger` invocation as the Functions host sends it: the event under the binding
/// name, the event's `data` and `sys` in `Metadata`.
fn invocation(event: Value) -> Value {
    let data = event.get("data").cloned().unwrap_or(Value::Null);
    json!({
        "Data": { (azure::EVENT_GRID_BINDING): event },
        "Metadata": {
            "data": data,
            "sys": { "MethodName": azure::EVENTS_FUNCTION, "UtcNow": "2026-11-26T03:00:01Z", "RandGuid": "g" }
        }
    })
}

/// Records `(label, type, source, data)` of every event a handler gets.
fn recorder(
    seen: &Seen,
    label: &'static str,
) -> impl Fn(
    cloudport_core::event::Event<cloudport_core::export::cloudevents::Event>,
    Env,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = cloudport_core::Result<()>> + Send>>
+ Send
+ Sync
+ 'static {
    let seen = seen.clone();
    move |event, _env| {
        use cloudport_core::export::cloudevents::AttributesReader;
        let ce = event.data();
        let data: Value = match ce.data() {
            Some(cloudport_core::export::cloudevents::Data::Json(v)) => v.clone(),
            _ => Value::Null,
        };
        let view = json!({
            "handler": label, "source": ce.source().as_str(), "subject": ce.subject(),
            "id": ce.id(), "data": data,
            "dataversion": ce.extension("dataversion").map(ToString::to_string),
        });
        let fail = ce.ty() == "Contoso.Items.Failed";
        seen.lock().unwrap().push((ce.ty().to_owned(), view));
        Box::pin(async move {
            if fail {
                return Err(Error::handler("the item could not be received"));
            }
            Ok(())
        })
    }
}

fn event_app(seen: &Seen) -> App {
    let app = App::new()
        .on_event("Contoso.Items.ItemReceived", recorder(seen, "exact"))
        .on_event("Contoso.Items.*", recorder(seen, "items"))
        .on_event("Microsoft.Resources.*", recorder(seen, "resources"))
        .on_any_event(recorder(seen, "any"));
    support::with_blob_and_schedule_recorders(app, seen)
}

struct Server {
    seen: Seen,
    running: support::Running,
}

impl Server {
    async fn start(app: impl FnOnce(&Seen) -> App) -> Self {
        let env = Env::builder()
            .provider(Memory::new())
            .vars(std::iter::empty::<(String, String)>())
            .fallback_scheme("mem")
            // The container of the Blob Storage sample, in its account.
            .bind_bucket("uploads", "azblob://my-storage-account/test-container")
            .build();
        let seen = Seen::default();
        let app = app(&seen);
        let running = support::Running::start(move |listener, shutdown| {
            azure::serve_with_shutdown(listener, app, env, shutdown)
        })
        .await;
        Self { seen, running }
    }

    fn seen(&self) -> Vec<(String, Value)> {
        support::take(&self.seen)
    }

    async fn send(
        &self,
        method: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, Vec<(String, String)>, Value) {
        let mut all = vec![
            ("x-azure-functions-invocationid", "inv-1"),
            ("content-type", "application/json"),
        ];
        all.extend_from_slice(headers);
        let path = format!("/{}", azure::EVENTS_FUNCTION);
        let (status, headers, body) =
            support::send(self.running.addr, method, &path, &all, body).await;
        (
            status,
            headers,
            serde_json::from_slice(&body).unwrap_or(Value::Null),
        )
    }

    async fn invoke(&self, event: Value) -> (u16, Value) {
        let (status, _, body) = self
            .send("POST", &[], invocation(event).to_string().as_bytes())
            .await;
        (status, body)
    }

    async fn stop(self) {
        self.running.stop().await;
    }
}

#[tokio::test]
async fn event_grid_schema_events_keep_their_type_source_and_data() {
    let server = Server::start(event_app).await;
    let custom = first("eventgrid_custom.json");
    // The host may send the event as an object or JSON-encoded into a string: the same event.
    for form in [custom.clone(), Value::String(custom.to_string())] {
        let (status, body) = server.invoke(form).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["ReturnValue"], Value::Null);
        let seen = server.seen();
        assert_eq!(seen.len(), 1, "{seen:?}");
        let (ty, view) = &seen[0];
        assert_eq!(ty, "Contoso.Items.ItemReceived");
        assert_eq!(view["handler"], "exact");
        assert_eq!(view["source"], custom["topic"]);
        assert_eq!(view["subject"], custom["subject"]);
        assert_eq!(view["id"], custom["id"]);
        assert_eq!(view["data"], custom["data"]);
    }

    let resources = first("eventgrid_resource_write.json");
    let (status, _) = server.invoke(resources.clone()).await;
    assert_eq!(status, 200);
    let seen = server.seen();
    assert_eq!(seen[0].0, "Microsoft.Resources.ResourceWriteSuccess");
    assert_eq!(seen[0].1["handler"], "resources");
    assert_eq!(seen[0].1["source"], resources["topic"]);
    assert_eq!(seen[0].1["data"], resources["data"]);
    assert_eq!(seen[0].1["dataversion"], "2");
    server.stop().await;
}

#[tokio::test]
async fn events_route_by_type_to_the_most_specific_pattern_then_on_any_event() {
    let server = Server::start(event_app).await;
    for (ty, handler) in [
        ("Contoso.Items.ItemReceived", "exact"),
        ("Contoso.Items.ItemShipped", "items"),
        ("Contoso.Orders.OrderPlaced", "any"),
    ] {
        let mut event = first("eventgrid_custom.json");
        event["eventType"] = ty.into();
        let (status, body) = server.invoke(event).await;
        assert_eq!(status, 200, "{body}");
        let seen = server.seen();
        assert_eq!(
            (seen[0].0.as_str(), &seen[0].1["handler"]),
            (ty, &json!(handler))
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn blob_events_of_a_bound_container_go_to_on_blob_and_others_to_on_event() {
    let server = Server::start(event_app).await;
    let created = first("eventgrid_blob_created.json");
    let (status, body) = server.invoke(created.clone()).await;
    assert_eq!(status, 200, "{body}");
    let seen = server.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].0, "io.cloudport.blob.created.v1");
    assert_eq!(
        seen[0].1,
        json!({"bucket": "uploads", "key": "new-file.txt", "size": 524288,
               "etag": "\"0x8D4BCC2E4835CD0\"", "contentType": "text/plain"})
    );

    // Another container, or the same container name in another account: not the bound bucket,
    // so the platform's own event, data unchanged.
    let mut other_container = created.clone();
    other_container["subject"] = "/blobServices/default/containers/other/blobs/new-file.txt".into();
    let mut other_account = created.clone();
    other_account["topic"] = "/subscriptions/s/resourceGroups/Storage/providers/Microsoft.Storage/storageAccounts/elsewhere".into();
    for event in [other_container, other_account] {
        let (status, _) = server.invoke(event.clone()).await;
        assert_eq!(status, 200);
        let seen = server.seen();
        assert_eq!(seen[0].0, "Microsoft.Storage.BlobCreated");
        assert_eq!(seen[0].1["handler"], "any");
        assert_eq!(seen[0].1["data"], created["data"]);
        assert_eq!(seen[0].1["source"], event["topic"]);
    }
    server.stop().await;
}

#[tokio::test]
async fn cloudevents_schema_events_arrive_as_they_are() {
    let server = Server::start(event_app).await;
    let custom = fixture("cloudevents_custom.json");
    let (status, body) = server.invoke(custom.clone()).await;
    assert_eq!(status, 200, "{body}");
    let seen = server.seen();
    assert_eq!(seen[0].0, "Contoso.Items.ItemReceived");
    assert_eq!(seen[0].1["handler"], "exact");
    assert_eq!(seen[0].1["source"], "/contoso/items");
    assert_eq!(seen[0].1["subject"], "Door1");
    assert_eq!(seen[0].1["data"], custom["data"]);

    // Event Grid's blob event in the CloudEvents schema (`dataschema: "#"`), of a container no
    // trigger binds.
    let blob = fixture("cloudevents_blob_created.json");
    let (status, body) = server.invoke(Value::String(blob.to_string())).await;
    assert_eq!(status, 200, "{body}");
    let seen = server.seen();
    assert_eq!(seen[0].0, "Microsoft.Storage.BlobCreated");
    assert_eq!(seen[0].1["source"], blob["source"]);
    assert_eq!(seen[0].1["data"], blob["data"]);
    server.stop().await;
}

#[tokio::test]
async fn validation_handshakes_are_answered_and_never_dispatched() {
    let server = Server::start(event_app).await;
    // Event Grid schema, inside an invocation.
    let (status, body) = server.invoke(first("eventgrid_validation.json")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["ReturnValue"],
        json!({"validationResponse": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"})
    );
    // CloudEvents schema, its data JSON-encoded into a string.
    let ce = json!({
        "specversion": "1.0", "id": "v-1", "source": "/subscriptions/s",
        "type": "Microsoft.EventGrid.SubscriptionValidationEvent",
        "data": "{\"validationCode\":\"c0de\"}"
    });
    let (status, body) = server.invoke(ce).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ReturnValue"]["validationResponse"], "c0de");
    assert!(server.seen().is_empty());

    // CloudEvents abuse protection: OPTIONS with WebHook-Request-Origin.
    let header = |headers: &[(String, String)], name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let (status, headers, _) = server
        .send(
            "OPTIONS",
            &[
                ("webhook-request-origin", "eventgrid.azure.net"),
                ("webhook-request-rate", "120"),
            ],
            b"",
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        header(&headers, "webhook-allowed-origin").as_deref(),
        Some("eventgrid.azure.net")
    );
    assert_eq!(
        header(&headers, "webhook-allowed-rate").as_deref(),
        Some("*")
    );
    // Another origin is not echoed; no origin is no handshake.
    let (status, headers, _) = server
        .send(
            "OPTIONS",
            &[("webhook-request-origin", "evil.example")],
            b"",
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        header(&headers, "webhook-allowed-origin").as_deref(),
        Some("eventgrid.azure.net")
    );
    assert_eq!(header(&headers, "webhook-allowed-rate"), None);
    let (status, _, body) = server.send("OPTIONS", &[], b"").await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["kind"], "malformed");
    assert!(server.seen().is_empty());
    server.stop().await;
}

#[tokio::test]
async fn a_batch_attempts_every_event_and_fails_when_one_fails() {
    let server = Server::start(event_app).await;
    let ok = first("eventgrid_custom.json");
    let mut failing = ok.clone();
    failing["eventType"] = "Contoso.Items.Failed".into();
    failing["id"] = "f-1".into();
    let mut later = ok.clone();
    later["id"] = "later".into();
    // `cardinality: many`: the array, JSON-encoded into a string by the host.
    let batch = Value::String(json!([ok, failing, later]).to_string());
    let (status, body) = server.invoke(batch).await;
    assert_eq!(status, 500, "{body}");
    assert_eq!(body["error"]["kind"], "handler");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("1 of 3") && message.contains("f-1"),
        "{message}"
    );
    let mut ids: Vec<_> = server
        .seen()
        .into_iter()
        .map(|(_, v)| v["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    assert_eq!(
        ids,
        ["602a88ef-0001-00e6-1233-1646070610ea", "f-1", "later"]
    );

    // All succeeding: 200.
    let batch = json!([
        first("eventgrid_custom.json"),
        first("eventgrid_resource_write.json")
    ]);
    let (status, _) = server.invoke(batch).await;
    assert_eq!(status, 200);
    assert_eq!(server.seen().len(), 2);
    server.stop().await;
}

#[tokio::test]
async fn malformed_event_grid_payloads_are_400_and_dispatch_nothing() {
    let server = Server::start(event_app).await;
    let valid = first("eventgrid_custom.json");
    let bad_invocations: Vec<Vec<u8>> = vec![
        b"{not json".to_vec(),
        br#"{"Metadata":{}}"#.to_vec(),
        invocation(json!(42)).to_string().into_bytes(),
        invocation(json!("not an event")).to_string().into_bytes(),
        invocation(json!([])).to_string().into_bytes(),
        invocation(json!({"id": "1", "subject": "s"}))
            .to_string()
            .into_bytes(),
        invocation(json!({"eventType": "T", "data": {"secret": "hunter2"}}))
            .to_string()
            .into_bytes(),
        invocation(json!({"specversion": "1.0", "id": "1", "type": "T"}))
            .to_string()
            .into_bytes(),
        // One bad event refuses the whole batch before any handler runs.
        invocation(json!([valid, {"eventType": "T"}]))
            .to_string()
            .into_bytes(),
    ];
    for body in bad_invocations {
        let (status, _, answer) = server.send("POST", &[], &body).await;
        assert_eq!(status, 400, "{}: {answer}", String::from_utf8_lossy(&body));
        assert_eq!(answer["error"]["kind"], "malformed");
        assert!(!answer.to_string().contains("hunter2"), "{answer}");
    }
    assert!(server.seen().is_empty());
    server.stop().await;
}

#[tokio::test]
async fn the_events_function_is_served_only_to_apps_that_take_events() {
    let server =
        Server::start(|seen| support::with_blob_and_schedule_recorders(App::new(), seen)).await;
    let (status, body) = server.invoke(first("eventgrid_custom.json")).await;
    assert_eq!(status, 404, "{body}");
    server.stop().await;
}

#[test]
fn a_route_prefix_that_would_expose_the_events_function_is_refused() {
    let env = |prefix: &str| {
        Env::builder()
            .provider(Memory::new())
            .vars([(azure::ROUTE_PREFIX_VAR, prefix)])
            .fallback_scheme("mem")
            .build()
    };
    let app = || {
        App::new()
            .http(axum::Router::new())
            .on_any_event(|_event, _env| async { Ok(()) })
    };
    // Public requests would reach `/cloudport-events` with the caller's data.
    for prefix in ["", "cloudport-events", "Cloudport-Events/v1"] {
        let err = azure::AzureHost::new(app(), env(prefix)).unwrap_err();
        assert!(
            err.message().contains("cloudport-events"),
            "{prefix:?}: {err}"
        );
    }
    assert!(azure::AzureHost::new(app(), env("api")).is_ok());
    // Without event handlers the function is not served, so it constrains nothing.
    assert!(azure::AzureHost::new(App::new().http(axum::Router::new()), env("")).is_ok());
}
