//! The Lambda host on input from outside: nothing lost, nothing run twice that was promised once,
//! no panic. Payloads are played as Lambda sends them — to [`LambdaHost::handle`] in process, and
//! over a local Runtime API to a function process: undecodable SQS records and the portable
//! dead-letter policy (also in FIFO batches), S3 notifications of kinds cloudport has no portable
//! event for, and API Gateway v2 / Function URL requests the HTTP conversion cannot parse.
#![cfg(feature = "lambda")]
// Test helpers outside `#[test]` functions unwrap too.
#![allow(clippy::unwrap_used)]

#[path = "../../tests/support/runtime_api.rs"]
mod runtime_api;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cloudport_adapters::lambda::LambdaHost;
use cloudport_core::{
    App, Env, Error, ErrorKind, Provider, Queue, ReceiveOptions, ReceivedMessage, ResourceUrl,
    Result,
};
use cloudport_memory::{Fault, Memory};
use serde_json::{Value, json};

/// `sqs://NAME` opened as the memory queue `NAME`: the binding URL, with its dead-letter policy,
/// is the one a Lambda deployment has, without AWS.
struct FakeSqs(Memory);

impl Provider for FakeSqs {
    fn name(&self) -> &'static str {
        "fake-sqs"
    }

    fn schemes(&self) -> &'static [&'static str] {
        &["sqs"]
    }

    fn open_queue(&self, url: &ResourceUrl) -> Result<Queue> {
        Ok(self.0.queue(&url.host()))
    }
}

/// Events the handlers saw: (trigger, CloudEvent type, id, data as JSON).
type Seen = Arc<Mutex<Vec<(String, String, String, Value)>>>;

fn record(seen: &Seen, trigger: &str, event: &cloudevents::Event) {
    use cloudevents::AttributesReader;
    let data = match event.data() {
        Some(cloudevents::Data::Json(v)) => v.clone(),
        Some(cloudevents::Data::String(s)) => Value::String(s.clone()),
        Some(cloudevents::Data::Binary(b)) => Value::String(String::from_utf8_lossy(b).into()),
        None => Value::Null,
    };
    seen.lock().unwrap().push((
        trigger.to_owned(),
        event.ty().to_owned(),
        event.id().to_owned(),
        data,
    ));
}

fn take(seen: &Seen) -> Vec<(String, String, String, Value)> {
    std::mem::take(&mut *seen.lock().unwrap())
}

/// Handlers for queue `orders` (fails bodies `fail`), bucket `uploads`, and — with `any` — every
/// other event.
fn app(seen: &Seen, any: bool) -> App {
    let (q, b, a) = (seen.clone(), seen.clone(), seen.clone());
    let app = App::new()
        .on_queue("orders", move |event, _env| {
            let seen = q.clone();
            async move {
                record(&seen, "queue", event.cloudevent());
                if event.data().body.as_ref() == b"fail" {
                    return Err(Error::new(ErrorKind::Handler, "the handler refused it"));
                }
                Ok(())
            }
        })
        .on_blob("uploads", move |event, _env| {
            let seen = b.clone();
            async move {
                record(&seen, "blob", event.cloudevent());
                Ok(())
            }
        });
    if !any {
        return app;
    }
    app.on_any_event(move |event, _env| {
        let seen = a.clone();
        async move {
            record(&seen, "any", event.cloudevent());
            Ok(())
        }
    })
}

/// `orders` is the SQS queue `orders-native` with the portable dead-letter policy (3 deliveries,
/// then `mem://orders-dlq`); `uploads` the S3 bucket `uploads-native`.
fn env(memory: &Memory) -> Env {
    env_with_orders(memory, "orders-native")
}

/// [`env`] with `orders` bound to the SQS queue `queue`, with the same dead-letter policy.
fn env_with_orders(memory: &Memory, queue: &str) -> Env {
    let orders = format!("sqs://{queue}?dead_letter=mem://orders-dlq&max_deliveries=3");
    Env::builder()
        .provider(memory.clone())
        .provider(FakeSqs(memory.clone()))
        .vars([
            ("CLOUDPORT_QUEUE_ORDERS", orders.as_str()),
            ("CLOUDPORT_BUCKET_UPLOADS", "s3://uploads-native"),
            ("CLOUDPORT_METRICS", "off"),
        ])
        .build()
}

fn host(seen: &Seen, memory: &Memory, any: bool) -> Arc<LambdaHost> {
    Arc::new(LambdaHost::new(app(seen, any), env(memory)))
}

/// Runs one invocation as the Lambda runtime would; a panic is returned as `Err(message)`.
async fn invoke(
    host: &Arc<LambdaHost>,
    payload: &Value,
) -> std::result::Result<Result<Value>, String> {
    let raw = serde_json::value::RawValue::from_string(payload.to_string()).unwrap();
    let mut context = lambda_runtime::Context::default();
    context.request_id = "req-1".to_owned();
    let deadline = SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + Duration::from_secs(30);
    context.deadline = u64::try_from(deadline.as_millis()).unwrap();
    // As lambda_runtime runs a handler: a panic is caught and reported.
    let invocation = host.handle(lambda_runtime::LambdaEvent::new(raw, context));
    futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(invocation))
        .await
        .map_err(|panic| {
            panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "a panic".to_owned())
        })
}

/// Invokes with an SQS batch: the invocation must succeed, reporting exactly the records `failed`
/// (`batchItemFailures`, in order) — `why` says what it shows.
async fn assert_failures(host: &Arc<LambdaHost>, batch: &Value, failed: &[&str], why: &str) {
    let response = invoke(host, batch).await.unwrap().unwrap();
    let items: Vec<Value> = failed
        .iter()
        .map(|id| json!({"itemIdentifier": id}))
        .collect();
    assert_eq!(response, json!({"batchItemFailures": items}), "{why}");
}

fn string_attribute(value: &str) -> Value {
    json!({"stringValue": value, "stringListValues": [], "binaryListValues": [], "dataType": "String"})
}

/// An SQS record as the event source mapping delivers it, from queue `queue`.
fn sqs_record(queue: &str, id: &str, body: &str, receive_count: u32, base64: bool) -> Value {
    let mut attributes = json!({
        "datacontenttype": string_attribute("application/octet-stream"),
        "tenant": string_attribute("acme"),
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
        "md5OfBody": "x",
        "eventSource": "aws:sqs",
        "eventSourceARN": format!("arn:aws:sqs:us-east-1:123456789012:{queue}"),
        "awsRegion": "us-east-1"
    })
}

/// Not base64, though its `cloudportencoding` attribute says so.
const NOT_BASE64: &str = "%%% this is not base64 %%%";

async fn drain(queue: &Queue) -> Vec<ReceivedMessage> {
    let received = queue.receive(ReceiveOptions::default()).await.unwrap();
    for m in &received {
        queue.ack(m).await.unwrap();
    }
    received
}

fn ids(seen: &[(String, String, String, Value)]) -> Vec<&str> {
    seen.iter().map(|(_, _, id, _)| id.as_str()).collect()
}

// --- Defect 1: undecodable SQS records and the dead-letter policy --------------------------------

#[tokio::test]
async fn an_undecodable_sqs_record_goes_through_the_dead_letter_policy() {
    let (seen, memory) = (Seen::default(), Memory::new());
    let host = host(&seen, &memory, false);
    let dlq = memory.queue("orders-dlq");

    // Within the limit (delivery 2 of 3): reported failed, so SQS delivers it again.
    let batch = json!({"Records": [
        sqs_record("orders-native", "m-1", r#"{"id":1}"#, 1, false),
        sqs_record("orders-native", "m-2", NOT_BASE64, 2, true),
    ]});
    assert_failures(&host, &batch, &["m-2"], "").await;
    assert_eq!(ids(&take(&seen)), ["m-1"]);
    assert!(drain(&dlq).await.is_empty(), "not moved within the limit");

    // Past the limit (delivery 4 of 3): moved to the dead-letter queue — body and attributes as
    // SQS delivered them — and counted done, like any message past the limit.
    let batch = json!({"Records": [
        sqs_record("orders-native", "m-3", r#"{"id":3}"#, 1, false),
        sqs_record("orders-native", "m-2", NOT_BASE64, 4, true),
    ]});
    let why =
        "the undecodable record past its queue's delivery limit must be dead-lettered and acked";
    assert_failures(&host, &batch, &[], why).await;
    assert_eq!(ids(&take(&seen)), ["m-3"], "no handler sees it");
    let moved = drain(&dlq).await;
    assert_eq!(moved.len(), 1, "the record is in the dead-letter queue");
    assert_eq!(moved[0].body.as_ref(), NOT_BASE64.as_bytes(), "raw body");
    assert_eq!(
        moved[0].content_type.as_deref(),
        Some("application/octet-stream")
    );
    assert_eq!(moved[0].attributes["tenant"], "acme");
    assert_eq!(
        moved[0].attributes["cloudportencoding"], "base64",
        "the encoding it claimed is kept, so nothing is lost"
    );

    // Past the limit, but the move fails: reported failed, so SQS delivers it again.
    memory.faults().inject(
        Fault::error(ErrorKind::InvalidArgument)
            .on_operation("queue.send")
            .on_resource("orders-dlq"),
    );
    let batch = json!({"Records": [
        sqs_record("orders-native", "m-5", r#"{"id":5}"#, 1, false),
        sqs_record("orders-native", "m-2", NOT_BASE64, 5, true),
    ]});
    assert_failures(&host, &batch, &["m-2"], "").await;
    assert_eq!(ids(&take(&seen)), ["m-5"]);
    assert!(drain(&dlq).await.is_empty());

    // Alone in its batch and within the limit: the whole batch fails (nothing is deleted even
    // without ReportBatchItemFailures).
    let alone = json!({"Records": [sqs_record("orders-native", "m-4", NOT_BASE64, 1, true)]});
    let err = invoke(&host, &alone).await.unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Handler, "{err}");
    // Alone and past the limit: moved, the batch succeeds.
    let alone = json!({"Records": [sqs_record("orders-native", "m-4", NOT_BASE64, 9, true)]});
    assert_failures(&host, &alone, &[], "").await;
    assert_eq!(drain(&dlq).await.len(), 1);
}

#[tokio::test]
async fn an_undecodable_record_holds_back_the_rest_of_a_fifo_batch() {
    let (seen, memory) = (Seen::default(), Memory::new());
    let dlq = memory.queue("orders-dlq");
    let arn_queue = "orders-native.fifo";
    // `orders` bound to the FIFO queue, with the same dead-letter policy.
    let env = env_with_orders(&memory, arn_queue);
    let host_fifo = Arc::new(LambdaHost::new(app(&seen, false), env));

    // Within the limit: it fails, and so does everything after it (Lambda's FIFO rule), so
    // nothing overtakes it.
    let batch = json!({"Records": [
        sqs_record(arn_queue, "f-1", r#"{"id":1}"#, 1, false),
        sqs_record(arn_queue, "f-2", NOT_BASE64, 1, true),
        sqs_record(arn_queue, "f-3", r#"{"id":3}"#, 1, false),
    ]});
    assert_failures(&host_fifo, &batch, &["f-2", "f-3"], "").await;
    assert_eq!(
        ids(&take(&seen)),
        ["f-1"],
        "a record after the undecodable one must not be handled before it"
    );

    // Past the limit, but the move fails: it stays failed, and still nothing overtakes it.
    memory.faults().inject(
        Fault::error(ErrorKind::InvalidArgument)
            .on_operation("queue.send")
            .on_resource("orders-dlq"),
    );
    let batch = json!({"Records": [
        sqs_record(arn_queue, "f-2", NOT_BASE64, 4, true),
        sqs_record(arn_queue, "f-3", r#"{"id":3}"#, 2, false),
    ]});
    let response = invoke(&host_fifo, &batch).await.unwrap().unwrap_err();
    assert_eq!(response.kind(), ErrorKind::Handler, "{response}");
    assert_eq!(ids(&take(&seen)), [""; 0], "nothing overtakes it");
    assert!(drain(&dlq).await.is_empty());

    // Past the limit: moved, and the rest runs in order.
    assert_failures(&host_fifo, &batch, &[], "").await;
    assert_eq!(ids(&take(&seen)), ["f-3"]);
    assert_eq!(drain(&dlq).await.len(), 1);
}

// --- Defect 2: S3 notifications of other kinds -------------------------------------------------

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

const OTHER_KINDS: [&str; 7] = [
    "ObjectRestore:Completed",
    "ObjectRestore:Post",
    "ObjectTagging:Put",
    "Replication:OperationFailedReplication",
    "ObjectAcl:Put",
    "LifecycleTransition",
    "IntelligentTiering",
];

#[tokio::test]
async fn s3_events_of_other_kinds_reach_on_any_event() {
    let (seen, memory) = (Seen::default(), Memory::new());
    let host = host(&seen, &memory, true);
    for kind in OTHER_KINDS {
        let record = s3_record(kind, "photos/my+summer.jpg");
        let notification = json!({"Records": [record.clone()]});
        let response = invoke(&host, &notification).await.unwrap();
        assert_eq!(response.unwrap(), Value::Null, "{kind}");
        let seen = take(&seen);
        assert_eq!(
            seen.len(),
            1,
            "an S3 {kind} record must reach on_any_event, not be acked unhandled"
        );
        let (trigger, ty, _, data) = &seen[0];
        assert_eq!(trigger, "any");
        assert_eq!(ty, &format!("com.amazonaws.s3.{kind}"));
        assert_eq!(data, &record, "the record, unchanged, is the data");
    }
    // Writes and removals still take the portable blob trigger.
    let created = json!({"Records": [s3_record("ObjectCreated:Put", "a.txt")]});
    invoke(&host, &created).await.unwrap().unwrap();
    let seen = take(&seen);
    assert_eq!(
        (seen[0].0.as_str(), seen[0].1.as_str()),
        ("blob", "io.cloudport.blob.created.v1")
    );
}

#[tokio::test]
async fn s3_events_no_handler_takes_fail_the_invocation() {
    let (seen, memory) = (Seen::default(), Memory::new());
    let host = host(&seen, &memory, false);
    for kind in OTHER_KINDS {
        let notification = json!({"Records": [s3_record(kind, "a.txt")]});
        let outcome = invoke(&host, &notification).await.unwrap();
        let Err(err) = outcome else {
            panic!("an S3 {kind} record no handler takes must fail the invocation, got {outcome:?}")
        };
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    }
    assert!(take(&seen).is_empty());
}

// --- Defect 3: HTTP requests the conversion cannot parse -----------------------------------------

fn http_app() -> App {
    use axum::routing::any;
    let router = axum::Router::new().route(
        "/{*rest}",
        any(|request: axum::extract::Request| async move {
            let (parts, body) = request.into_parts();
            let body = axum::body::to_bytes(body, 1 << 20).await.unwrap();
            axum::Json(json!({
                "method": parts.method.as_str(),
                "uri": parts.uri.to_string(),
                "path": parts.uri.path(),
                "query": parts.uri.query(),
                "host": parts.headers.get("host").and_then(|v| v.to_str().ok()),
                "cookie": parts.headers.get("cookie").and_then(|v| v.to_str().ok()),
                "x-demo": parts.headers.get("x-demo").and_then(|v| v.to_str().ok()),
                "body": String::from_utf8_lossy(&body),
            }))
        }),
    );
    App::new().http(router)
}

/// A Function URL request as Lambda delivers it.
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
            "time": "26/Nov/2026:03:00:00 +0000", "timeEpoch": 1795700000000u64
        },
        "body": "hello",
        "isBase64Encoded": false
    })
}

fn good_headers() -> Value {
    json!({"host": "abc.lambda-url.us-east-1.on.aws", "x-forwarded-proto": "https", "x-demo": "yes"})
}

/// Requests whose one field the HTTP layer cannot parse: (what, payload).
fn unparsable_requests() -> Vec<(&'static str, Value)> {
    let with_headers = |h: Value| http_request("GET", "/hello", "x=1", h);
    let mut bad_body = http_request("POST", "/hello", "", good_headers());
    bad_body["body"] = json!("%%% not base64 %%%");
    bad_body["isBase64Encoded"] = json!(true);
    vec![
        (
            "a Host header with a space",
            with_headers(json!({"host": "exa mple.com"})),
        ),
        (
            "a Host header with a bad port",
            with_headers(json!({"host": "example.com:http"})),
        ),
        (
            "a Host header with a path",
            with_headers(json!({"host": "example.com/evil"})),
        ),
        (
            "a Host header with an open IPv6 literal",
            with_headers(json!({"host": "[::1"})),
        ),
        (
            "a bad X-Forwarded-Proto",
            with_headers(json!({"host": "example.com", "x-forwarded-proto": "ht tp"})),
        ),
        (
            "a raw path with a bad port",
            http_request("GET", ":80x/hello", "", json!({})),
        ),
        (
            "a raw query with a space",
            http_request("GET", "/hello", "a=1 2", good_headers()),
        ),
        (
            "a raw query with a control character",
            http_request("GET", "/hello", "a=\u{1}", good_headers()),
        ),
        (
            "an invalid method",
            http_request("GE T", "/hello", "", good_headers()),
        ),
        (
            "an invalid header name",
            with_headers(json!({"host": "example.com", "bad header": "x"})),
        ),
        (
            "an invalid header value",
            with_headers(json!({"host": "example.com", "x-demo": "a\u{1}b"})),
        ),
        ("an invalid base64 body", bad_body),
    ]
}

#[tokio::test]
async fn http_requests_the_conversion_cannot_parse_are_answered_400() {
    let host = Arc::new(LambdaHost::new(http_app(), env(&Memory::new())));
    let mut wrong = Vec::new();
    for (what, payload) in unparsable_requests() {
        match invoke(&host, &payload).await {
            Err(panic) => wrong.push(format!("{what}: the host panicked: {panic}")),
            Ok(Err(e)) => wrong.push(format!("{what}: an invocation error, not a 400: {e}")),
            Ok(Ok(response)) if response["statusCode"] != 400 => {
                wrong.push(format!("{what}: answered {response}"));
            }
            Ok(Ok(response)) => {
                assert_eq!(
                    response["headers"]["content-type"], "application/json",
                    "{what}"
                );
                let body: Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
                assert_eq!(body["error"]["kind"], "malformed", "{what}: {body}");
                assert!(
                    body["error"]["message"]
                        .as_str()
                        .is_some_and(|m| !m.is_empty()),
                    "{what}: {body}"
                );
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[tokio::test]
async fn http_requests_that_parse_are_served_as_before() {
    let host = Arc::new(LambdaHost::new(http_app(), env(&Memory::new())));
    let answer = |payload: Value| {
        let host = host.clone();
        async move {
            let response = invoke(&host, &payload).await.unwrap().unwrap();
            assert_eq!(response["statusCode"], 200, "{response}");
            serde_json::from_str::<Value>(response["body"].as_str().unwrap()).unwrap()
        }
    };
    let seen = answer(http_request(
        "GET",
        "/hello/world",
        "x=1&y=%20",
        good_headers(),
    ))
    .await;
    assert_eq!(seen["method"], "GET");
    assert_eq!(
        seen["uri"],
        "https://abc.lambda-url.us-east-1.on.aws/hello/world?x=1&y=%20"
    );
    assert_eq!(seen["path"], "/hello/world");
    assert_eq!(seen["query"], "x=1&y=%20");
    assert_eq!(seen["x-demo"], "yes");
    assert_eq!(seen["cookie"], "a=1; b=2");
    assert_eq!(seen["body"], "hello");

    // Characters a URL path cannot carry as they are are percent-encoded, as before.
    let seen = answer(http_request("GET", "/a b/\"q\"", "", good_headers())).await;
    assert_eq!(seen["path"], "/a%20b/%22q%22");
    // No Host header: the request context's domain name is the authority.
    let seen = answer(http_request("GET", "/hello", "", json!({}))).await;
    assert_eq!(seen["uri"], "https://abc.lambda-url.us-east-1.on.aws/hello");
    // A base64 body.
    let mut binary = http_request("POST", "/upload", "", good_headers());
    binary["body"] = json!("aGVsbG8gd29ybGQ=");
    binary["isBase64Encoded"] = json!(true);
    assert_eq!(answer(binary).await["body"], "hello world");
}

/// Valid requests, in many shapes: each converts as `lambda_http` converted it before.
fn valid_requests() -> Vec<Value> {
    let get = |path: &str, query: &str, headers: Value| http_request("GET", path, query, headers);
    let mut corpus = vec![
        get("/hello/world", "x=1&y=%20", good_headers()),
        get("/a b/\"q\"", "", good_headers()),
        get("/a/./b/../c/%2e%2E/d", "", good_headers()),
        get("/a/b/..", "", good_headers()),
        get("/caf\u{e9}/\u{1F600}", "", good_headers()),
        get("\\a\\b", "", good_headers()),
        get("/a//b/", "", good_headers()),
        get("/a|b^c'd~e!f$g&h(i)*+,;=:@", "", good_headers()),
        get("/%zz/%41", "", good_headers()),
        get("/", "", good_headers()),
        get("", "", good_headers()),
        get("/q", "a=1&a=2&b=%2F&c", good_headers()),
        get("/h", "", json!({"host": "Example.COM:443"})),
        get(
            "/h",
            "",
            json!({"host": "example.com:8443", "x-forwarded-proto": "http"}),
        ),
        get(
            "/h",
            "",
            json!({"host": "example.com:80", "x-forwarded-proto": "HTTP"}),
        ),
        get("/h", "", json!({"host": "127.0.0.1:8080"})),
        get("/h", "", json!({"host": "[::1]:3000"})),
        get("/h", "x=1", json!({})),
        get(
            "/h",
            "",
            json!({"host": "example.com", "x-multi": ["a", "b"], "X-Upper": "v", "x-utf8": "caf\u{e9}"}),
        ),
        http_request("PATCH", "/m", "", good_headers()),
        http_request("PROPFIND", "/m", "", good_headers()),
    ];
    let mut staged = get("/items", "", good_headers());
    staged["requestContext"]["stage"] = json!("prod");
    corpus.push(staged.clone());
    staged["rawPath"] = json!("/prod/items");
    corpus.push(staged);
    let mut binary = http_request("POST", "/upload", "", good_headers());
    binary["body"] = json!("AAEC/w==");
    binary["isBase64Encoded"] = json!(true);
    corpus.push(binary);
    let mut no_body = get("/nobody", "", good_headers());
    no_body.as_object_mut().unwrap().remove("body");
    corpus.push(no_body);
    let mut no_domain = get("/nodomain", "a=b", json!({}));
    no_domain["requestContext"]
        .as_object_mut()
        .unwrap()
        .remove("domainName");
    corpus.push(no_domain);
    let mut with_params = get("/p/42", "", good_headers());
    with_params["pathParameters"] = json!({"id": "42"});
    with_params["stageVariables"] = json!({"env": "test"});
    corpus.push(with_params);
    corpus
}

#[tokio::test]
async fn valid_requests_convert_as_lambda_http_converted_them() {
    use cloudport_adapters::lambda::request::HttpEvent;
    use lambda_http::RequestExt;
    for payload in valid_requests() {
        let text = payload.to_string();
        let theirs = lambda_http::request::from_str(&text).unwrap();
        let event: HttpEvent = serde_json::from_str(&text).unwrap();
        let ours = event
            .into_request(lambda_runtime::Context::default(), false)
            .unwrap();
        assert_eq!(ours.method(), theirs.method(), "{text}");
        assert_eq!(ours.uri(), theirs.uri(), "{text}");
        assert_eq!(ours.headers(), theirs.headers(), "{text}");
        assert_eq!(ours.raw_http_path(), theirs.raw_http_path(), "{text}");
        assert_eq!(
            ours.query_string_parameters(),
            theirs.query_string_parameters(),
            "{text}"
        );
        assert_eq!(ours.path_parameters(), theirs.path_parameters(), "{text}");
        assert_eq!(ours.stage_variables(), theirs.stage_variables(), "{text}");
        assert_eq!(
            serde_json::to_value(ours.request_context()).unwrap(),
            serde_json::to_value(theirs.request_context()).unwrap(),
            "{text}"
        );
        let body = axum::body::to_bytes(ours.into_body(), usize::MAX)
            .await
            .unwrap();
        assert_eq!(body.as_ref(), theirs.body().as_ref(), "{text}");
    }
}

// --- Over the Runtime API: what Lambda records ---------------------------------------------------

/// Set for the function process the Runtime API test starts.
const CHILD: &str = "CLOUDPORT_LAMBDA_RELIABILITY_FUNCTION";

/// The function process of [`a_bad_host_over_the_runtime_api_is_answered_400`]: the HTTP app on
/// the Lambda host, on the Runtime API the parent test serves. Does nothing when run otherwise.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the function process of a_bad_host_over_the_runtime_api_is_answered_400"]
async fn function_process() {
    if std::env::var(CHILD).is_err() {
        return;
    }
    let env = Env::builder()
        .provider(Memory::new())
        .vars([("CLOUDPORT_METRICS", "off")])
        .build();
    cloudport_adapters::lambda::run(http_app(), env)
        .await
        .unwrap();
}

/// Kills the function process when the test ends, passed or not.
struct Function(std::process::Child);

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_host_over_the_runtime_api_is_answered_400() {
    use runtime_api::{Outcome, RuntimeApi};
    let api = RuntimeApi::start().await;
    let _function = Function(
        std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "function_process", "--ignored", "--nocapture"])
            .env(CHILD, "1")
            .env("AWS_LAMBDA_RUNTIME_API", api.address())
            .env("AWS_LAMBDA_FUNCTION_NAME", "reliability")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let bad = http_request("GET", "/hello", "", json!({"host": "exa mple.com"}));
    let outcome = api.invoke(bad).await;
    let Outcome::Response(response) = &outcome else {
        panic!("a request with a bad Host header must be answered 400, not {outcome:?}")
    };
    assert_eq!(response["statusCode"], 400, "{response}");
    // The function still serves.
    let good = api
        .invoke(http_request("GET", "/hello", "", good_headers()))
        .await;
    let Outcome::Response(response) = &good else {
        panic!("{good:?}")
    };
    assert_eq!(response["statusCode"], 200, "{response}");
}
