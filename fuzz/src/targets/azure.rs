//! The Azure Functions custom handler: `AzureHost::handle` with the request the Functions host
//! sends — invocations of queue, blob, timer and HTTP functions (`{"Data", "Metadata"}` with
//! JSON-encoded metadata scalars), Event Grid invocations of `cloudport-events` (Event Grid and
//! CloudEvents schemas, batches, validation events, the `OPTIONS` abuse-protection handshake),
//! forwarded HTTP under the route prefix, the warm-up call.

use base64::Engine;
use cloudport_adapters::azure::AzureHost;
use cloudport_core::Env;
use cloudport_memory::Memory;
use serde_json::{Value, json};

use crate::{Case, Shape};

fn hosts() -> Vec<AzureHost> {
    let env = |vars: Vec<(&str, &str)>| {
        Env::builder()
            .provider(Memory::new())
            .vars(vars)
            .fallback_scheme("mem")
            .bind_queue(
                "orders",
                "mem://orders?dead_letter=mem://orders-dlq&max_deliveries=3",
            )
            .bind_bucket("uploads", "azblob://acct/uploads")
            .build()
    };
    let mut hosts = Vec::new();
    // Everything, HTTP under the default prefix `api`.
    if let Ok(h) = AzureHost::new(
        super::quiet_app(true, true),
        env(vec![("CLOUDPORT_METRICS", "off")]),
    ) {
        hosts.push(h);
    }
    // No HTTP, so the empty prefix is allowed; a short function timeout.
    if let Ok(h) = AzureHost::new(
        super::quiet_app(false, false),
        env(vec![
            ("CLOUDPORT_AZURE_ROUTE_PREFIX", ""),
            ("CLOUDPORT_FUNCTION_TIMEOUT", "00:00:30"),
        ]),
    ) {
        hosts.push(h);
    }
    assert_eq!(hosts.len(), 2, "the Azure hosts could not be built");
    hosts
}

/// The `azure` target: every case as an HTTP request on one of [`hosts`].
pub(super) fn target() -> super::HostTarget<AzureHost> {
    super::HostTarget {
        spec: super::Spec {
            name: "azure",
            shape: Shape {
                header_weight: 1,
                request_line_weight: 1,
                variants: 2,
            },
            seeds,
            dictionary: DICTIONARY,
            headers: HEADERS,
            paths: PATHS,
        },
        hosts: super::Hosts::new(hosts),
        exec: super::exec_http_on,
    }
}

const PATHS: &[&str] = &[
    "/queue-orders",
    "/queue-audit",
    "/queue-fifo",
    "/blob-uploads",
    "/schedule-nightly",
    "/schedule-hourly",
    "/http",
    "/warmup",
    "/WARMUP",
    "/cloudport-events",
    "/Cloudport-Events",
    "/api/hello",
    "/api/echo?x=1",
    "/api/json",
    "/api/items/42",
    "/api",
    "/api/",
    "/api/queue-orders",
    "/queue-nope",
    "/",
    "//queue-orders",
    "/queue-orders/",
    "/Queue-Orders",
];

const HEADERS: &[(&str, &str)] = &[
    ("x-azure-functions-invocationid", "inv-1"),
    ("x-azure-functions-invocationid", ""),
    ("x-azure-functions-invocationid", "\u{e9}"),
    ("content-type", "application/json"),
    ("content-type", "text/plain"),
    ("content-type", "application/json; charset=utf-8"),
    (
        "traceparent",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    ),
    (
        "traceparent",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
    ),
    (
        "traceparent",
        "ff-00000000000000000000000000000000-0000000000000000-00",
    ),
    (
        "x-amzn-trace-id",
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
    ),
    (
        "x-cloud-trace-context",
        "105445aa7843bc8bf206b12000100000/1;o=1",
    ),
    ("host", "app.azurewebsites.net"),
    ("webhook-request-origin", "eventgrid.azure.net"),
    ("webhook-request-origin", "evil.example"),
    ("webhook-request-rate", "120"),
    ("aeg-event-type", "Notification"),
    ("content-length", "0"),
];

const DICTIONARY: &[&str] = &[
    "Data",
    "Metadata",
    "message",
    "blob",
    "timer",
    "req",
    "warmupContext",
    "Id",
    "DequeueCount",
    "ExpirationTime",
    "InsertionTime",
    "NextVisibleTime",
    "PopReceipt",
    "sys",
    "MethodName",
    "UtcNow",
    "RandGuid",
    "Uri",
    "name",
    "Properties",
    "ContentLength",
    "ContentType",
    "ETag",
    "LastModified",
    "Schedule",
    "ScheduleStatus",
    "Last",
    "Next",
    "LastUpdated",
    "IsPastDue",
    "AdjustForDST",
    "Url",
    "Method",
    "Query",
    "Headers",
    "Params",
    "route",
    "Body",
    "Identities",
    "\"m-1\"",
    "\"2026-11-26T03:00:00+00:00\"",
    "2026-11-26T03:00:01.5Z",
    "https://acct.blob.core.windows.net/uploads/in/a%20b.txt",
    "https://app.azurewebsites.net/api/echo?x=1",
    "specversion",
    "1.0",
    "type",
    "io.cloudport.queue.envelope.v1",
    "datacontenttype",
    "data",
    "data_base64",
    "deliverycount",
    "traceparent",
    "application/json",
    "text/plain",
    "/api",
    "event",
    "eventType",
    "eventTime",
    "topic",
    "subject",
    "dataVersion",
    "metadataVersion",
    "validationCode",
    "Microsoft.EventGrid.SubscriptionValidationEvent",
    "Microsoft.Storage.BlobCreated",
    "Microsoft.Storage.BlobDeleted",
    "/blobServices/default/containers/uploads/blobs/",
    "/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/acct",
    "Contoso.Items.ItemReceived",
    "dataschema",
    "#1.0",
    "eTag",
    "contentLength",
    "sequencer",
];

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

/// An Event Grid-schema event (<https://learn.microsoft.com/azure/event-grid/event-schema>).
fn event_grid_event(ty: &str, subject: &str, data: Value) -> Value {
    json!({
        "id": "831e1650-001e-001b-66ab-eeb76e069631",
        "topic": "/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/acct",
        "subject": subject, "eventType": ty, "eventTime": "2026-11-26T03:00:00.9584103Z",
        "data": data, "dataVersion": "", "metadataVersion": "1"
    })
}

/// An `eventGridTrigger` invocation of `cloudport-events`.
fn event_grid_payload(event: Value) -> Value {
    json!({
        "Data": { "event": event },
        "Metadata": { "sys": { "MethodName": "cloudport-events", "UtcNow": "2026-11-26T03:00:01Z", "RandGuid": "g" } }
    })
}

/// The Event Grid invocations: every schema and encoding the host reads, and the handshakes.
fn event_grid_seeds(post: &dyn Fn(&str, &Value) -> Case) -> Vec<Case> {
    let blob = event_grid_event(
        "Microsoft.Storage.BlobCreated",
        "/blobServices/default/containers/uploads/blobs/in/a b.txt",
        json!({"api": "PutBlockList", "eTag": "0x8D4BCC2E4835CD0", "contentType": "text/plain",
               "contentLength": 5, "sequencer": "00000000000004420000000000028963"}),
    );
    let custom = event_grid_event(
        "Contoso.Items.ItemReceived",
        "Door1",
        json!({"itemSku": "Contoso Item SKU #1"}),
    );
    let validation = event_grid_event(
        "Microsoft.EventGrid.SubscriptionValidationEvent",
        "",
        json!({"validationCode": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"}),
    );
    let cloudevent = json!({
        "specversion": "1.0", "type": "Microsoft.Storage.BlobDeleted", "id": "9aeb0fdf",
        "source": "/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/acct",
        "subject": "blobServices/default/containers/uploads/blobs/gone.txt",
        "time": "2026-11-26T03:00:00Z", "dataschema": "#1.0", "data": {"api": "DeleteBlob"}
    });
    let mut cases: Vec<Case> = [
        blob.clone(),
        Value::String(custom.to_string()),
        json!([custom, blob]),
        Value::String(json!([validation.clone(), cloudevent.clone()]).to_string()),
        validation,
        cloudevent,
        json!({"specversion": "1.0", "type": "Microsoft.EventGrid.SubscriptionValidationEvent",
               "id": "v", "source": "s", "data": "{\"validationCode\":\"c0de\"}"}),
        json!([]),
        json!({"eventType": "T"}),
    ]
    .into_iter()
    .map(|event| post("/cloudport-events", &event_grid_payload(event)))
    .collect();
    for headers in [
        &[
            ("webhook-request-origin", "eventgrid.azure.net"),
            ("webhook-request-rate", "120"),
        ][..],
        &[("webhook-request-origin", "evil.example")][..],
        &[][..],
    ] {
        cases.push(Case::request(
            "OPTIONS",
            "/cloudport-events",
            headers,
            Vec::new(),
        ));
    }
    cases
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The invocations of the Azure host's tests and bench: queue messages as text (JSON in a
/// string), as bytes (base64, `dataType: binary`) — envelopes and non-UTF-8 bodies included —,
/// blob and timer invocations, HTTP in the payload and forwarded, the warm-up call, and the
/// malformed payloads the tests answer 400.
fn seeds() -> Vec<Case> {
    let invocation = [
        ("x-azure-functions-invocationid", "inv-1"),
        ("content-type", "application/json"),
    ];
    let post = |path: &str, payload: &Value| {
        Case::request(
            "POST",
            path,
            &invocation,
            serde_json::to_vec(payload).unwrap_or_default(),
        )
    };
    let not_utf8: &[u8] = &[0xff, 0x00, 0xc3, 0x28, b'{', 0x80];
    let enveloped = cloudport_core::Message::new(not_utf8.to_vec())
        .with_content_type("application/x-thing")
        .with_attribute("tenant", "acme");
    let envelope = super::wire_form(&enveloped, false);
    let sender_envelope = json!({
        "specversion": "1.0", "id": "e-1", "source": "elsewhere",
        "type": "io.cloudport.queue.envelope.v1",
        "datacontenttype": "text/plain", "data": "poison",
        "deliverycount": "1", "tenant": "acme"
    })
    .to_string();
    let mut seeds = vec![
        post(
            "/queue-orders",
            &queue_payload("m-1", json!("\"two pizzas\""), 1),
        ),
        post(
            "/queue-orders",
            &queue_payload("m-2", json!({"id": "42"}), 2),
        ),
        post(
            "/queue-orders",
            &queue_payload("m-3", json!(b64(not_utf8)), 1),
        ),
        post(
            "/queue-orders",
            &queue_payload("m-4", json!(b64(&envelope)), 1),
        ),
        post(
            "/queue-orders",
            &queue_payload("m-5", json!(sender_envelope), 4),
        ),
        post(
            "/queue-orders",
            &queue_payload("m-6", json!(b64(sender_envelope.as_bytes())), 2),
        ),
        post("/queue-audit", &queue_payload("m-7", json!("ok"), 1)),
        post(
            "/blob-uploads",
            &json!({
                "Data": { "blob": "aGVsbG8=" },
                "Metadata": {
                    "Uri": "\"https://acct.blob.core.windows.net/uploads/in/a%20b.txt\"",
                    "name": "\"in/a b.txt\"",
                    "Properties": { "ContentLength": 5, "ContentType": "text/plain", "ETag": "\"0x8DC\"",
                                    "LastModified": "2026-11-26T03:00:00+00:00" },
                    "Metadata": {},
                    "sys": { "MethodName": "blob-uploads", "UtcNow": "2026-11-26T03:00:01Z", "RandGuid": "g" }
                }
            }),
        ),
        post(
            "/schedule-nightly",
            &json!({
                "Data": { "timer": { "Schedule": { "AdjustForDST": true },
                    "ScheduleStatus": { "Last": "2026-11-25T03:00:00+00:00", "Next": "2026-11-27T03:00:00+00:00",
                                        "LastUpdated": "2026-11-25T03:00:00+00:00" },
                    "IsPastDue": false } },
                "Metadata": { "sys": { "MethodName": "schedule-nightly", "UtcNow": "2026-11-26T03:00:00Z", "RandGuid": "g" } }
            }),
        ),
        post(
            "/http",
            &json!({
                "Data": { "req": {
                    "Url": "https://app.azurewebsites.net/api/echo?x=1", "Method": "POST", "Query": "{\"x\":\"1\"}",
                    "Headers": { "Content-Type": ["text/plain"], "User-Agent": ["curl/8"] },
                    "Params": { "route": "echo" }, "Body": "hello"
                } },
                "Metadata": { "sys": { "MethodName": "http", "UtcNow": "2026-11-26T03:00:00Z", "RandGuid": "g" } }
            }),
        ),
        post(
            "/warmup",
            &json!({
                "Data": { "warmupContext": {} },
                "Metadata": { "sys": { "MethodName": "warmup", "UtcNow": "2026-11-26T03:00:00Z", "RandGuid": "g" } }
            }),
        ),
        Case::request("GET", "/api/hello", &[], Vec::new()),
        Case::request(
            "POST",
            "/api/echo?x=1",
            &[("content-type", "text/plain")],
            b"hi".to_vec(),
        ),
        Case::request(
            "POST",
            "/api/json",
            &[
                ("content-type", "application/json"),
                (
                    "traceparent",
                    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                ),
            ],
            br#"{"a":1}"#.to_vec(),
        ),
        Case::request(
            "POST",
            "/api/queue-orders",
            &[("content-type", "application/json")],
            br#"{"Data": {"message": "attacker"}, "Metadata": {"Id": "x", "DequeueCount": 1}}"#
                .to_vec(),
        ),
    ];
    for (path, body) in [
        ("/queue-orders", &b"{not json"[..]),
        ("/queue-orders", br#"{"Metadata":{"Id":"m"}}"#),
        (
            "/queue-orders",
            br#"{"Data":{"message":"x"},"Metadata":{}}"#,
        ),
        (
            "/blob-uploads",
            br#"{"Data":{"blob":"%%%"},"Metadata":{"name":"k"}}"#,
        ),
        (
            "/schedule-nightly",
            br#"{"Data":{"timer":7},"Metadata":{}}"#,
        ),
        (
            "/http",
            br#"{"Data":{"req":{"Method":"GET"}},"Metadata":{}}"#,
        ),
        ("/queue-nope", br#"{"Data":{},"Metadata":{}}"#),
    ] {
        seeds.push(Case::request("POST", path, &invocation, body.to_vec()));
    }
    seeds.extend(event_grid_seeds(&post));
    let lean: Vec<Case> = seeds
        .iter()
        .step_by(3)
        .map(|c| c.clone().with_variant(1))
        .collect();
    seeds.extend(lean);
    seeds
}
