//! The Cloud Run / Cloud Functions gen2 host: `CloudRunHost::handle` with what Eventarc, Pub/Sub
//! push and Cloud Scheduler send — binary-mode CloudEvents (`ce-*` headers), structured ones
//! (`application/cloudevents+json`), push envelopes, Storage events, Scheduler calls — with the
//! caller check left to the platform (`CLOUDPORT_EVENT_AUTH=platform`; `cloudrun-auth` fuzzes
//! the check itself).

use base64::Engine;
use cloudport_adapters::cloudrun::CloudRunHost;
use cloudport_core::{Env, Provider, ResourceUrl};
use cloudport_memory::Memory;
use serde_json::{Value, json};

use crate::{Case, Shape};

/// The Cloud Run host's test environment: `orders` bound to a topic and push subscription (its
/// memory queue with a dead-letter policy of 3 deliveries), `audit` to a topic, `uploads` to a
/// bucket.
pub(super) fn env(extra: &[(&str, String)]) -> Env {
    let memory = Memory::new();
    let open = |name: &str| {
        memory
            .open_queue(&ResourceUrl::parse(&format!("mem://{name}")).ok()?)
            .ok()
    };
    let mut builder = Env::builder().provider(memory.clone());
    if let (Some(orders), Some(dlq)) = (open("orders"), open("orders-dlq")) {
        builder = builder.queue("orders", orders.with_dead_letter(dlq, 3));
    }
    let mut vars: Vec<(String, String)> = [
        (
            "CLOUDPORT_QUEUE_ORDERS",
            "gcppubsub://projects/shop/topics/orders?subscription=orders-push",
        ),
        (
            "CLOUDPORT_QUEUE_AUDIT",
            "gcppubsub://projects/shop/topics/audit",
        ),
        (
            "CLOUDPORT_QUEUE_FIFO",
            "gcppubsub://projects/_/topics/fifo?subscription=projects/other/subscriptions/fifo-sub",
        ),
        ("CLOUDPORT_BUCKET_UPLOADS", "gs://shop-uploads"),
        ("GOOGLE_CLOUD_PROJECT", "shop"),
        ("CLOUDPORT_METRICS", "off"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    vars.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
    builder.vars(vars).fallback_scheme("mem").build()
}

fn hosts() -> Vec<CloudRunHost> {
    let platform = [("CLOUDPORT_EVENT_AUTH", "platform".to_owned())];
    let hosts: Vec<CloudRunHost> = [(true, true), (true, false)]
        .into_iter()
        .filter_map(|(full, http)| {
            CloudRunHost::new(super::quiet_app(full, http), env(&platform)).ok()
        })
        .collect();
    assert_eq!(hosts.len(), 2, "the Cloud Run hosts could not be built");
    hosts
}

/// The `cloudrun` target: every case as an HTTP request on one of [`hosts`].
pub(super) fn target() -> super::HostTarget<CloudRunHost> {
    super::HostTarget {
        spec: super::Spec {
            name: "cloudrun",
            shape: Shape {
                header_weight: 3,
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

pub(super) const PATHS: &[&str] = &[
    "/_cloudport/events",
    "/_cloudport/events/",
    "/_cloudport/queue/orders",
    "/_cloudport/queue/audit",
    "/_cloudport/queue/nope",
    "/_cloudport/queue/",
    "/_cloudport/schedule",
    "/_cloudport/schedule/nightly",
    "/_cloudport/schedule/hourly",
    "/_cloudport/schedule/nope",
    "/_cloudport/warmup",
    "/_cloudport",
    "/_cloudport/other",
    "/",
    "/events/pubsub",
    "/hello",
    "/echo?x=1",
    "/json",
    "/items/42",
    "http://orders-abc-uc.a.run.app/_cloudport/events",
];

pub(super) const HEADERS: &[(&str, &str)] = &[
    ("ce-specversion", "1.0"),
    ("ce-specversion", "0.3"),
    ("ce-specversion", "2.0"),
    ("ce-type", "google.cloud.pubsub.topic.v1.messagePublished"),
    ("ce-type", "google.cloud.storage.object.v1.finalized"),
    ("ce-type", "google.cloud.storage.object.v1.deleted"),
    ("ce-type", "google.cloud.storage.object.v1.archived"),
    ("ce-type", "google.cloud.audit.log.v1.written"),
    (
        "ce-source",
        "//pubsub.googleapis.com/projects/shop/topics/orders",
    ),
    (
        "ce-source",
        "//pubsub.googleapis.com/projects/shop/topics/audit",
    ),
    (
        "ce-source",
        "//pubsub.googleapis.com/projects/other/topics/fifo",
    ),
    (
        "ce-source",
        "//storage.googleapis.com/projects/_/buckets/shop-uploads",
    ),
    ("ce-source", "//pubsub.googleapis.com/"),
    ("ce-id", "e-1"),
    ("ce-id", ""),
    ("ce-time", "2026-11-26T03:00:00.000Z"),
    ("ce-time", "not a time"),
    ("ce-subject", "objects/in/a b.txt"),
    ("ce-dataschema", "https://example.com/schema"),
    (
        "ce-traceparent",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    ),
    ("ce-tenant", "acme"),
    ("content-type", "application/json"),
    ("content-type", "application/cloudevents+json"),
    (
        "content-type",
        "application/cloudevents+json; charset=utf-8",
    ),
    ("content-type", "application/cloudevents-batch+json"),
    ("content-type", "text/plain"),
    ("content-type", "application/octet-stream"),
    ("content-type", "application/vnd.api+json"),
    ("content-type", "application/json;charset=\"utf-8\""),
    ("x-cloudscheduler", "true"),
    ("x-cloudscheduler", "false"),
    ("x-cloudscheduler-scheduletime", "2026-11-26T03:00:00Z"),
    (
        "x-cloudscheduler-scheduletime",
        "2026-11-26T03:00:00.123456789+01:00",
    ),
    (
        "x-cloudscheduler-jobname",
        "projects/shop/locations/us-central1/jobs/nightly",
    ),
    ("x-cloudscheduler-jobname", "weekly"),
    ("x-cloudscheduler-jobname", "/"),
    ("user-agent", "Google-Cloud-Scheduler"),
    (
        "traceparent",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    ),
    (
        "x-cloud-trace-context",
        "105445aa7843bc8bf206b12000100000/1;o=1",
    ),
    ("x-cloud-trace-context", "105445aa7843bc8bf206b12000100000"),
    (
        "x-amzn-trace-id",
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
    ),
    ("host", "orders-abc-uc.a.run.app"),
];

const DICTIONARY: &[&str] = &[
    "message",
    "subscription",
    "data",
    "attributes",
    "messageId",
    "message_id",
    "publishTime",
    "publish_time",
    "orderingKey",
    "deliveryAttempt",
    "datacontenttype",
    "orderingkey",
    "projects/shop/subscriptions/orders-push",
    "projects/shop/subscriptions/nobody",
    "projects/shop/topics/orders",
    "@type",
    "type.googleapis.com/google.pubsub.v1.PubsubMessage",
    "specversion",
    "type",
    "source",
    "id",
    "time",
    "subject",
    "data_base64",
    "google.cloud.pubsub.topic.v1.messagePublished",
    "google.cloud.storage.object.v1.finalized",
    "google.cloud.storage.object.v1.deleted",
    "//pubsub.googleapis.com/projects/shop/topics/orders",
    "//storage.googleapis.com/projects/_/buckets/shop-uploads",
    "bucket",
    "shop-uploads",
    "name",
    "size",
    "contentType",
    "etag",
    "generation",
    "metageneration",
    "md5Hash",
    "timeCreated",
    "updated",
    "kind",
    "storage#object",
    "objects/",
    "2026-11-26T03:00:00.000Z",
    "1587627537231057",
    "application/json",
    "text/plain",
    "io.cloudport.queue.envelope.v1",
];

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

const ORDERS_SUB: &str = "projects/shop/subscriptions/orders-push";

fn envelope(id: &str, body: &[u8], subscription: &str, attempt: Option<u32>) -> Value {
    let mut v = json!({
        "message": {
            "attributes": { "tenant": "acme", "datacontenttype": "text/plain", "Bad Name!": "x" },
            "data": b64(body),
            "messageId": id, "message_id": id,
            "publishTime": "2026-11-26T03:00:00.000Z", "publish_time": "2026-11-26T03:00:00.000Z",
            "orderingKey": "customer-7"
        },
        "subscription": subscription
    });
    if let Some(n) = attempt {
        v["deliveryAttempt"] = json!(n);
    }
    v
}

/// Binary-mode CloudEvent headers plus `extra`.
fn binary(ty: &str, source: &str, id: &str, extra: &[(&str, &str)]) -> Vec<(String, Vec<u8>)> {
    [
        ("ce-specversion", "1.0"),
        ("ce-type", ty),
        ("ce-source", source),
        ("ce-id", id),
        ("ce-time", "2026-11-26T03:00:00.000Z"),
        ("content-type", "application/json"),
    ]
    .iter()
    .chain(extra)
    .map(|(n, v)| ((*n).to_owned(), v.as_bytes().to_vec()))
    .collect()
}

/// The requests of the Cloud Run host's tests and bench.
pub(super) fn seeds() -> Vec<Case> {
    let json_ct = [("content-type", "application/json")];
    let structured_ct = [("content-type", "application/cloudevents+json")];
    let post = |path: &str, headers: &[(&str, &str)], body: &Value| {
        Case::request(
            "POST",
            path,
            headers,
            serde_json::to_vec(body).unwrap_or_default(),
        )
    };
    let object = json!({
        "bucket": "shop-uploads", "name": "in/a b.txt", "size": "5", "contentType": "text/plain",
        "etag": "CNHZkbuF/ugCEAE=", "generation": "1587627537231057", "metageneration": "1",
        "md5Hash": "XUFAKrxLKna5cZ2REBfFkg==", "timeCreated": "2026-11-26T03:00:00.000Z",
        "updated": "2026-11-26T03:00:00.000Z", "kind": "storage#object"
    });
    let published = json!({
        "subscription": "projects/shop/subscriptions/eventarc-us-central1-trigger-123-sub-456",
        "message": {
            "@type": "type.googleapis.com/google.pubsub.v1.PubsubMessage",
            "messageId": "e-1", "publishTime": "2026-11-26T03:00:00.000Z",
            "attributes": { "source-app": "billing" }, "data": b64(b"entry 1")
        }
    });
    let envelope_body = super::wire_form(
        &cloudport_core::Message::new("{\"id\":7}")
            .with_content_type("application/json")
            .with_attribute("tenant", "acme"),
        false,
    );
    let mut seeds = vec![
        post(
            "/_cloudport/events",
            &json_ct,
            &envelope("m-1", b"two pizzas", ORDERS_SUB, None),
        ),
        post(
            "/_cloudport/events",
            &json_ct,
            &envelope("m-2", b"again", ORDERS_SUB, Some(5)),
        ),
        post(
            "/_cloudport/events",
            &json_ct,
            &envelope("m-3", &envelope_body, ORDERS_SUB, Some(1)),
        ),
        post(
            "/_cloudport/events",
            &json_ct,
            &envelope(
                "m-4",
                &[0xff, 0, 0xc3],
                "projects/x/subscriptions/fifo-sub",
                None,
            ),
        ),
        post(
            "/_cloudport/queue/audit",
            &json_ct,
            &envelope("m-5", b"entry", "projects/shop/subscriptions/other", None),
        ),
        post(
            "/",
            &json_ct,
            &envelope("m-6", b"at the root", ORDERS_SUB, None),
        ),
        post(
            "/_cloudport/events",
            &json_ct,
            &json!({"message": {"data": "%%% not base64", "messageId": "1"}, "subscription": ORDERS_SUB}),
        ),
        post(
            "/events/pubsub",
            &[(
                "content-type",
                "application/cloudevents+json; charset=utf-8",
            )],
            &json!({
                "specversion": "1.0", "type": "google.cloud.pubsub.topic.v1.messagePublished",
                "source": "//pubsub.googleapis.com/projects/shop/topics/orders", "id": "e-2",
                "time": "2026-11-26T03:00:00.000Z", "datacontenttype": "application/json",
                "data": { "subscription": ORDERS_SUB,
                          "message": { "messageId": "e-2", "data": b64(b"order 2"),
                                       "publishTime": "2026-11-26T03:00:00.000Z" } }
            }),
        ),
        post(
            "/_cloudport/events",
            &structured_ct,
            &json!({
                "specversion": "1.0", "type": "google.cloud.storage.object.v1.deleted",
                "source": "//storage.googleapis.com/projects/_/buckets/shop-uploads",
                "subject": "objects/in/a b.txt", "id": "8491413245117367",
                "datacontenttype": "application/json", "data": object
            }),
        ),
        post(
            "/",
            &structured_ct,
            &json!({"specversion": "1.0", "type": "com.example.thing", "source": "/x", "id": "1",
                    "data_base64": "aGVsbG8=", "tenant": "acme"}),
        ),
        post(
            "/_cloudport/events",
            &structured_ct,
            &json!({"specversion": "1.0", "type": "google.cloud.storage.object.v1.finalized",
                    "source": "//storage.googleapis.com/projects/_/buckets/elsewhere", "id": "1",
                    "subject": "objects/k", "data": {"bucket": "elsewhere", "name": "k"}}),
        ),
        Case::request(
            "POST",
            "/_cloudport/events",
            &structured_ct,
            b"{oops".to_vec(),
        ),
        Case::request(
            "POST",
            "/_cloudport/schedule/nightly",
            &[
                ("x-cloudscheduler", "true"),
                ("x-cloudscheduler-scheduletime", "2026-11-26T03:00:00Z"),
                ("user-agent", "Google-Cloud-Scheduler"),
                ("content-type", "application/octet-stream"),
            ],
            b"job body".to_vec(),
        ),
        Case::request(
            "POST",
            "/_cloudport/events",
            &[
                ("x-cloudscheduler", "true"),
                ("x-cloudscheduler-scheduletime", "2026-11-26T03:00:00Z"),
                (
                    "x-cloudscheduler-jobname",
                    "projects/shop/locations/us-central1/jobs/nightly",
                ),
            ],
            Vec::new(),
        ),
        Case::request(
            "GET",
            "/_cloudport/schedule",
            &[("x-cloudscheduler-jobname", "weekly")],
            Vec::new(),
        ),
        Case::request("POST", "/_cloudport/warmup", &[], Vec::new()),
        Case::request(
            "GET",
            "/hello",
            &[(
                "traceparent",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            )],
            Vec::new(),
        ),
        Case::request(
            "POST",
            "/echo?x=1",
            &[("content-type", "text/plain")],
            b"hi".to_vec(),
        ),
        post("/json", &json_ct, &json!({"a": [1, 2, {"b": null}]})),
    ];
    let mut binary_case = |path: &str, headers: Vec<(String, Vec<u8>)>, body: &Value| {
        seeds.push(Case {
            variant: 0,
            method: "POST".to_owned(),
            path: path.to_owned(),
            headers,
            body: serde_json::to_vec(body).unwrap_or_default(),
        });
    };
    binary_case(
        "/",
        binary(
            "google.cloud.pubsub.topic.v1.messagePublished",
            "//pubsub.googleapis.com/projects/shop/topics/audit",
            "e-1",
            &[(
                "x-cloud-trace-context",
                "105445aa7843bc8bf206b12000100000/1;o=1",
            )],
        ),
        &published,
    );
    binary_case(
        "/_cloudport/queue/orders",
        binary(
            "google.cloud.pubsub.topic.v1.messagePublished",
            "//pubsub.googleapis.com/projects/shop/topics/orders",
            "e-3",
            &[("ce-tenant", "acme")],
        ),
        &published,
    );
    binary_case(
        "/",
        binary(
            "google.cloud.storage.object.v1.finalized",
            "//storage.googleapis.com/projects/_/buckets/shop-uploads",
            "8491413245117366",
            &[("ce-subject", "objects/in/a b.txt")],
        ),
        &object,
    );
    binary_case(
        "/",
        binary(
            "google.cloud.audit.log.v1.written",
            "//cloudaudit.googleapis.com/projects/shop/logs/activity",
            "a-1",
            &[],
        ),
        &json!({}),
    );
    let mut text_ct = binary(
        "google.cloud.pubsub.topic.v1.messagePublished",
        "//pubsub.googleapis.com/projects/shop/topics/orders",
        "e-1",
        &[],
    );
    for (n, v) in &mut text_ct {
        if n == "content-type" {
            *v = b"text/plain".to_vec();
        }
    }
    binary_case("/", text_ct, &json!("plain"));
    let no_http: Vec<Case> = seeds
        .iter()
        .step_by(3)
        .map(|c| c.clone().with_variant(1))
        .collect();
    seeds.extend(no_http);
    seeds
}
