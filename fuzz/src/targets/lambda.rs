//! The Lambda host: `LambdaHost::handle` with the payload as the Runtime API hands it over
//! (valid JSON, as `lambda_runtime` reads it), the invocation's X-Ray trace id, request id and
//! deadline from the case's `lambda-runtime-*` headers. Bytes that are not JSON never reach
//! `handle` (the runtime refuses them), so they go to `decode::decode` directly. The payloads
//! cover every shape the host decodes: SQS (SNS-wrapped bodies included), S3, EventBridge
//! (schedules, S3 object events, any other event), SNS, HTTP, the warm-up ping.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cloudport_adapters::lambda::LambdaHost;
use cloudport_adapters::lambda::decode;
use cloudport_core::{Env, Provider, Queue, ResourceUrl};
use cloudport_memory::Memory;
use serde_json::{Value, json};

use crate::{Case, Shape};

/// `sqs://NAME` opened as the memory queue `NAME` (as the Lambda host's tests do).
struct FakeSqs(Memory);

impl Provider for FakeSqs {
    fn name(&self) -> &'static str {
        "fake-sqs"
    }

    fn schemes(&self) -> &'static [&'static str] {
        &["sqs"]
    }

    fn open_queue(&self, url: &ResourceUrl) -> cloudport_core::Result<Queue> {
        Ok(self.0.queue(&url.host()))
    }
}

/// A fresh memory world, with `sqs://` opened on it, and `vars` (metrics off).
fn env(vars: &[(&str, &str)]) -> Env {
    let memory = Memory::new();
    Env::builder()
        .provider(memory.clone())
        .provider(FakeSqs(memory))
        .vars(vars.iter().copied().chain([("CLOUDPORT_METRICS", "off")]))
        .build()
}

fn hosts() -> Vec<LambdaHost> {
    let full = env(&[
        (
            "CLOUDPORT_QUEUE_ORDERS",
            "sqs://orders-native?dead_letter=mem://orders-dlq&max_deliveries=3",
        ),
        (
            "CLOUDPORT_QUEUE_FIFO",
            "sqs://orders-native.fifo?dead_letter=mem://fifo-dlq&max_deliveries=2",
        ),
        ("CLOUDPORT_BUCKET_UPLOADS", "s3://uploads-native"),
    ]);
    let lean = env(&[
        ("CLOUDPORT_QUEUE_ORDERS", "sqs://orders-native"),
        ("CLOUDPORT_SQS_PARTIAL_FAILURES", "off"),
        ("AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH", "1"),
    ]);
    vec![
        LambdaHost::new(super::quiet_app(true, true), full),
        LambdaHost::new(super::quiet_app(false, true), lean),
    ]
}

/// The `lambda` target: every case as an invocation of one of [`hosts`] ([`exec`]).
pub(super) fn target() -> super::HostTarget<LambdaHost> {
    super::HostTarget {
        spec: super::Spec {
            name: "lambda",
            shape: Shape {
                header_weight: 1,
                request_line_weight: 0,
                variants: 2,
            },
            seeds,
            dictionary: DICTIONARY,
            headers: HEADERS,
            paths: &[],
        },
        hosts: super::Hosts::new(hosts),
        exec,
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The response as an outcome: its shape, not its content.
fn outcome(result: cloudport_core::Result<Value>) -> String {
    match result {
        Err(e) => format!("err {}", e.kind()),
        Ok(Value::Null) => "ok null".to_owned(),
        Ok(v) => {
            if let Some(failures) = v.get("batchItemFailures").and_then(Value::as_array) {
                format!("sqs failures={}", failures.len().min(3))
            } else if let Some(status) = v.get("statusCode") {
                format!("http {status}")
            } else if v.get("warm").is_some() {
                "warm".to_owned()
            } else {
                "ok other".to_owned()
            }
        }
    }
}

/// Runs the case as the Runtime API hands it over (see the module's documentation).
fn exec(hosts: &super::Hosts<LambdaHost>, case: &Case) -> Result<String, String> {
    let host = hosts.pick(case);
    let Some(raw) = std::str::from_utf8(&case.body)
        .ok()
        .and_then(|s| serde_json::value::RawValue::from_string(s.to_owned()).ok())
    else {
        return Ok(match decode::decode(&case.body) {
            Ok(_) => "not-json decoded".to_owned(),
            Err(e) => format!("not-json err {}", e.kind()),
        });
    };
    let mut context = lambda_runtime::Context::default();
    context.request_id = case
        .header("lambda-runtime-aws-request-id")
        .map_or_else(|| "req-1".to_owned(), text);
    context.xray_trace_id = case.header("lambda-runtime-trace-id").map(text);
    context.invoked_function_arn = case
        .header("lambda-runtime-invoked-function-arn")
        .map_or_else(String::new, text);
    context.deadline = case
        .header("lambda-runtime-deadline-ms")
        .and_then(|d| std::str::from_utf8(d).ok()?.trim().parse().ok())
        .unwrap_or_else(|| {
            let at = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                + Duration::from_secs(30);
            u64::try_from(at.as_millis()).unwrap_or(u64::MAX)
        });
    let event = lambda_runtime::LambdaEvent::new(raw, context);
    Ok(outcome(hosts.rt.block_on(host.handle(event))))
}

const HEADERS: &[(&str, &str)] = &[
    (
        "lambda-runtime-trace-id",
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
    ),
    (
        "lambda-runtime-trace-id",
        "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0;Lineage=a87bd80c:0",
    ),
    (
        "lambda-runtime-trace-id",
        "Root=1-00000000-000000000000000000000000",
    ),
    ("lambda-runtime-trace-id", "Root=2-x-y;;Parent=;Sampled="),
    (
        "lambda-runtime-aws-request-id",
        "8476a536-e9f4-11e8-9739-2dfe598c3fcd",
    ),
    ("lambda-runtime-deadline-ms", "0"),
    ("lambda-runtime-deadline-ms", "18446744073709551615"),
    ("lambda-runtime-deadline-ms", "1795700030000"),
    (
        "lambda-runtime-invoked-function-arn",
        "arn:aws:lambda:us-east-1:123456789012:function:orders",
    ),
];

const DICTIONARY: &[&str] = &[
    "Records",
    "eventSource",
    "aws:sqs",
    "aws:s3",
    "eventSourceARN",
    "arn:aws:sqs:us-east-1:123456789012:orders-native",
    "arn:aws:sqs:us-east-1:123456789012:orders-native.fifo",
    ".fifo",
    "messageId",
    "receiptHandle",
    "body",
    "attributes",
    "ApproximateReceiveCount",
    "SentTimestamp",
    "messageAttributes",
    "stringValue",
    "binaryValue",
    "dataType",
    "datacontenttype",
    "cloudportencoding",
    "base64",
    "traceparent",
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    "eventName",
    "ObjectCreated:Put",
    "ObjectRemoved:Delete",
    "LifecycleExpiration:Delete",
    "ObjectRestore:Completed",
    "ObjectTagging:Put",
    "eventTime",
    "2026-11-26T03:00:00.000Z",
    "s3",
    "bucket",
    "uploads-native",
    "object",
    "key",
    "size",
    "eTag",
    "sequencer",
    "source",
    "aws.events",
    "aws.scheduler",
    "detail-type",
    "Scheduled Event",
    "resources",
    "arn:aws:events:us-east-1:123456789012:rule/nightly",
    ":rule/",
    "time",
    "version",
    "2.0",
    "routeKey",
    "$default",
    "rawPath",
    "rawQueryString",
    "cookies",
    "headers",
    "host",
    "x-forwarded-proto",
    "requestContext",
    "http",
    "method",
    "path",
    "stage",
    "domainName",
    "isBase64Encoded",
    "pathParameters",
    "stageVariables",
    "cloudport-warmup",
    "/hello",
    "/echo",
    "/json",
    "/items/42",
    "POST",
    "GET",
    "application/json",
    "ce-specversion",
    "detail",
    "account",
    "region",
    "aws.s3",
    "Object Created",
    "Object Deleted",
    "com.mycompany.orders",
    "OrderPlaced",
    "EventSource",
    "aws:sns",
    "EventSubscriptionArn",
    "Sns",
    "Type",
    "Notification",
    "MessageId",
    "TopicArn",
    "arn:aws:sns:us-east-1:123456789012:orders-topic",
    "Subject",
    "Message",
    "Timestamp",
    "SignatureVersion",
    "Signature",
    "UnsubscribeURL",
    "MessageAttributes",
    "Value",
    "Binary",
    "specversion",
];

fn string_attribute(value: &str) -> Value {
    json!({"stringValue": value, "stringListValues": [], "binaryListValues": [], "dataType": "String"})
}

fn sqs_record(queue: &str, id: &str, body: &str, receive_count: u32, base64: bool) -> Value {
    let mut attributes = json!({
        "datacontenttype": string_attribute("application/octet-stream"),
        "tenant": string_attribute("acme"),
        "traceparent": string_attribute("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
    });
    if base64 {
        attributes["cloudportencoding"] = string_attribute("base64");
    }
    let mut system = json!({
        "ApproximateReceiveCount": receive_count.to_string(),
        "SentTimestamp": "1795700000000",
        "SenderId": "AIDAEXAMPLE",
        "ApproximateFirstReceiveTimestamp": "1795700000001"
    });
    if queue.ends_with(".fifo") {
        system["MessageGroupId"] = json!("g-1");
        system["SequenceNumber"] = json!(format!("1000{id}"));
    }
    json!({
        "messageId": id,
        "receiptHandle": format!("rh-{id}"),
        "body": body,
        "attributes": system,
        "messageAttributes": attributes,
        "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
        "eventSource": "aws:sqs",
        "eventSourceARN": format!("arn:aws:sqs:us-east-1:123456789012:{queue}"),
        "awsRegion": "us-east-1"
    })
}

fn s3_record(event_name: &str, key: &str) -> Value {
    json!({
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2026-11-26T03:00:00.000Z", "eventName": event_name,
        "userIdentity": {"principalId": "AWS:AIDAEXAMPLE"},
        "requestParameters": {"sourceIPAddress": "1.2.3.4"},
        "responseElements": {"x-amz-request-id": "C3D13FE58DE4C810", "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD"},
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "c",
            "bucket": {"name": "uploads-native", "ownerIdentity": {"principalId": "x"}, "arn": "arn:aws:s3:::uploads-native"},
            "object": {"key": key, "size": 1024, "eTag": "abc", "sequencer": "0A1", "versionId": "v1"}},
        "glacierEventData": {"restoreEventData": {"lifecycleRestorationExpiryTime": "2026-12-26T00:00:00.000Z", "lifecycleRestoreStorageClass": "GLACIER"}}
    })
}

/// An EventBridge event of any source: `detail` is the data.
fn eventbridge(source: &str, detail_type: &str, detail: Value) -> Value {
    json!({"version": "0", "id": "e-9", "detail-type": detail_type, "source": source,
        "account": "123456789012", "time": "2026-11-26T03:00:00Z", "region": "us-east-1",
        "resources": ["arn:aws:s3:::uploads-native"], "detail": detail})
}

/// S3's EventBridge object event detail, for bucket `uploads-native`.
fn s3_detail(key: &str) -> Value {
    json!({"version": "0", "bucket": {"name": "uploads-native"},
        "object": {"key": key, "size": 5, "etag": "b1946ac92492d2347c6235b4d2611184",
            "sequencer": "617f08299329d189"},
        "request-id": "N4N7GDK58NMKJ12R", "requester": "123456789012", "reason": "PutObject"})
}

/// An SNS notification's fields, as Lambda (`SigningCertUrl`) or an SQS body (`SigningCertURL`)
/// carries them.
fn sns_message(message: &str, url_key: &str) -> Value {
    let mut m = json!({"Type": "Notification", "MessageId": "sns-1",
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:orders-topic", "Subject": "s",
        "Message": message, "Timestamp": "2026-11-26T03:00:00.000Z", "SignatureVersion": "1",
        "Signature": "EXAMPLE", "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
        "MessageAttributes": {"Tenant": {"Type": "String", "Value": "acme"},
            "Blob": {"Type": "Binary", "Value": "aGk="}, "id": {"Type": "String", "Value": "x"},
            "datacontenttype": {"Type": "String", "Value": "application/json"}}});
    m[url_key] = json!("https://sns.us-east-1.amazonaws.com/cert.pem");
    m
}

fn sns_record(message: &str) -> Value {
    json!({"EventVersion": "1.0", "EventSource": "aws:sns",
        "EventSubscriptionArn": "arn:aws:sns:us-east-1:123456789012:orders-topic:sub-1",
        "Sns": sns_message(message, "SigningCertUrl")})
}

fn http_request(method: &str, path: &str, query: &str, headers: Value) -> Value {
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "cookies": ["a=1", "b=2"],
        "headers": headers,
        "requestContext": {
            "accountId": "anonymous", "apiId": "abc", "domainName": "abc.lambda-url.us-east-1.on.aws",
            "domainPrefix": "abc",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "test"},
            "requestId": "r-1", "routeKey": "$default", "stage": "$default",
            "time": "26/Nov/2026:03:00:00 +0000", "timeEpoch": 1_795_700_000_000u64
        },
        "body": "hello",
        "isBase64Encoded": false
    })
}

/// The payloads of the Lambda host's tests and benches: SQS batches (standard and FIFO, base64
/// bodies, an undecodable one, envelopes, SNS-wrapped messages and a body that only looks like
/// one), S3 notifications of every kind, EventBridge and EventBridge Scheduler ticks, EventBridge
/// events of other sources (custom, EC2, S3 object events of the bound bucket), SNS notifications
/// (plain, JSON, a CloudEvent), Function URL / API Gateway v2 requests, the warm-up ping.
fn seeds() -> Vec<Case> {
    let good_headers = || json!({"host": "abc.lambda-url.us-east-1.on.aws", "x-forwarded-proto": "https", "x-demo": "yes"});
    let envelope = String::from_utf8(super::wire_form(
        &cloudport_core::Message::new("{\"id\":7}")
            .with_content_type("application/json")
            .with_attribute("tenant", "acme"),
        false,
    ))
    .unwrap_or_default();
    let ce_json = json!({"specversion": "1.0", "id": "ce-1", "source": "/orders",
        "type": "com.example.order.placed", "datacontenttype": "application/json", "data": {"id": 7}})
    .to_string();
    // SNS writes `Type` first, pretty-printed with ` : `.
    let mut sns_fields = sns_message("aGVsbG8=", "SigningCertURL");
    if let Some(fields) = sns_fields.as_object_mut() {
        fields.remove("Type");
    }
    let rest = serde_json::to_string_pretty(&sns_fields)
        .unwrap_or_default()
        .replace("\": ", "\" : ");
    let sns_body = format!(
        "{{\n  \"Type\" : \"Notification\",{}",
        rest.get(1..).unwrap_or_default()
    );
    let mut payloads = vec![
        json!({"Records": [
            sqs_record("orders-native", "m-1", r#"{"id":1}"#, 1, false),
            sqs_record("orders-native", "m-2", "%%% this is not base64 %%%", 1, true),
            sqs_record("orders-native", "m-3", "aGVsbG8=", 4, true),
        ]}),
        json!({"Records": [
            sqs_record("orders-native.fifo", "f-1", r#"{"id":1}"#, 1, false),
            sqs_record("orders-native.fifo", "f-2", "%%%", 3, true),
            sqs_record("orders-native.fifo", "f-3", r#"{"id":3}"#, 1, false),
        ]}),
        json!({"Records": [sqs_record("orders-native", "m-9", &envelope, 1, false)]}),
        json!({"Records": [sqs_record("unbound-queue", "m-5", "plain text", 2, false)]}),
        json!({"Records": [{"eventSource": "aws:sqs", "body": 5}]}),
        json!({"Records": [s3_record("ObjectCreated:Put", "photos/my+summer%2Bfun.jpg"),
                           s3_record("ObjectRemoved:Delete", "old.txt")]}),
        json!({"Records": [s3_record("LifecycleExpiration:Delete", "a.txt")]}),
        json!({"Records": [s3_record("ObjectRestore:Completed", "photos/my+summer.jpg")]}),
        json!({"Records": [s3_record("ObjectTagging:Put", "a%20b.txt")]}),
        json!({"version": "0", "id": "e-1", "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "123456789012", "time": "2026-11-26T03:00:00Z", "region": "us-east-1",
            "resources": ["arn:aws:events:us-east-1:123456789012:rule/nightly"], "detail": {}}),
        json!({"version": "0", "id": "e-2", "detail-type": "Scheduled Event", "source": "aws.scheduler",
            "account": "123456789012", "time": "2026-11-26T03:00:00Z", "region": "us-east-1",
            "resources": ["arn:aws:scheduler:us-east-1:123456789012:schedule/default/hourly"], "detail": "{}"}),
        http_request("GET", "/hello", "x=1&y=%20", good_headers()),
        http_request("POST", "/echo", "", good_headers()),
        http_request("GET", "/a b/\"q\"", "", good_headers()),
        http_request(
            "GET",
            "/items/42",
            "a=1&a=2&b=%2F&c",
            json!({"host": "example.com:8443", "x-forwarded-proto": "http"}),
        ),
        http_request(
            "GET",
            "/h",
            "",
            json!({"host": "example.com", "x-multi": ["a", "b"], "X-Upper": "v", "x-utf8": "caf\u{e9}"}),
        ),
        http_request("GET", "/hello", "x=1", json!({"host": "exa mple.com"})),
        http_request("GET", "/hello", "a=\u{1}", good_headers()),
        http_request("GE T", "/hello", "", good_headers()),
        http_request(
            "POST",
            "/",
            "",
            json!({"ce-specversion": "1.0", "ce-id": "ce-1", "ce-type": "com.example.demo",
            "ce-source": "/tests", "content-type": "application/json"}),
        ),
        json!({"cloudport-warmup": true}),
        eventbridge(
            "com.mycompany.orders",
            "OrderPlaced",
            json!({"orderId": "o-1", "items": [1, 2]}),
        ),
        eventbridge(
            "aws.ec2",
            "EC2 Instance State-change Notification",
            json!({"instance-id": "i-1", "state": "pending"}),
        ),
        eventbridge(
            "aws.s3",
            "Object Created",
            s3_detail("photos/my summer+fun.jpg"),
        ),
        eventbridge("aws.s3", "Object Deleted", s3_detail("old.txt")),
        eventbridge("aws.s3", "Object Restore Completed", s3_detail("a.txt")),
        json!({"Records": [sns_record("plain text"), sns_record("{\"a\":1}")]}),
        json!({"Records": [sns_record(&ce_json)]}),
        json!({"Records": [
            sqs_record("orders-native", "w-1", &sns_body, 1, false),
            sqs_record("orders-native", "w-2", r#"{"Type":"Notification","Message":"not an envelope"}"#, 1, false),
        ]}),
    ];
    let mut binary = http_request("POST", "/json", "", good_headers());
    binary["body"] = json!("eyJhIjoxfQ==");
    binary["isBase64Encoded"] = json!(true);
    payloads.push(binary);
    let mut staged = http_request("GET", "/prod/items/7", "", good_headers());
    staged["requestContext"]["stage"] = json!("prod");
    payloads.push(staged);
    let mut no_domain = http_request("GET", "/hello", "a=b", json!({}));
    if let Some(ctx) = no_domain["requestContext"].as_object_mut() {
        ctx.remove("domainName");
    }
    payloads.push(no_domain);
    let mut seeds: Vec<Case> = payloads
        .iter()
        .map(|p| Case::text(serde_json::to_vec(p).unwrap_or_default()))
        .collect();
    // The trace id the Runtime API passes on, on a few of them.
    for (i, seed) in seeds.iter_mut().enumerate() {
        if i % 3 == 0 {
            seed.headers.push((
                "lambda-runtime-trace-id".to_owned(),
                HEADERS[i % 4].1.as_bytes().to_vec(),
            ));
        }
    }
    let lean: Vec<Case> = seeds
        .iter()
        .step_by(4)
        .map(|c| c.clone().with_variant(1))
        .collect();
    seeds.extend(lean);
    seeds
}
