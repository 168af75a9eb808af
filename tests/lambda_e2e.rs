//! The `inspect` example as a real process on a local Lambda Runtime API: SQS batches with
//! partial failure, S3 notifications with encoded keys, EventBridge schedules, API Gateway v2 and
//! Function URL requests, and malformed payloads reported as invocation errors; undecodable SQS
//! records dead-lettered, S3 records of other kinds to `on_any_event`, unparsable HTTP requests
//! answered 400 (`adapters/tests/lambda_reliability.rs` has the details).
#![cfg(feature = "aws")]

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::inspect::Inspect;
use support::runtime_api::{Outcome, RuntimeApi};

struct Function(Inspect);

impl Function {
    async fn start(api: &RuntimeApi) -> Self {
        Self(Inspect::spawn([
            ("AWS_LAMBDA_RUNTIME_API", api.address()),
            ("AWS_LAMBDA_FUNCTION_NAME", "inspect".to_owned()),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".to_owned()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
            ("AWS_REGION", "us-east-1".to_owned()),
            (
                "CLOUDPORT_QUEUE_INSPECT",
                "sqs://inspect-queue?dead_letter=mem://inspect-dlq&max_deliveries=3".to_owned(),
            ),
            ("CLOUDPORT_BUCKET_INSPECT", "s3://inspect-bucket".to_owned()),
        ]))
    }

    /// Waits (up to 2 s) for `n` events, then takes all received so far.
    async fn events(&self, n: usize) -> Vec<Value> {
        for _ in 0..200 {
            if self.0.events.lock().expect("lock").len() >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.0.take_events()
    }

    /// The CloudWatch EMF lines printed so far, taken.
    fn metrics(&self) -> Vec<Value> {
        let mut lines = self.0.json_lines.lock().expect("lock");
        let (emf, rest): (Vec<Value>, Vec<Value>) = std::mem::take(&mut *lines)
            .into_iter()
            .partition(|v| v.get("_aws").is_some());
        *lines = rest;
        emf
    }
}

fn sqs_record(id: &str, body: &str, receive_count: u32) -> Value {
    json!({
        "messageId": id,
        "receiptHandle": format!("rh-{id}"),
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": receive_count.to_string(),
            "SentTimestamp": "1795700000000",
            "SenderId": "AIDAEXAMPLE",
            "ApproximateFirstReceiveTimestamp": "1795700000001"
        },
        "messageAttributes": {
            "datacontenttype": {"stringValue": "application/json", "stringListValues": [], "binaryListValues": [], "dataType": "String"},
            "tenant": {"stringValue": "acme", "stringListValues": [], "binaryListValues": [], "dataType": "String"}
        },
        "md5OfBody": "x",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:inspect-queue",
        "awsRegion": "us-east-1"
    })
}

fn http_request(
    method: &str,
    path: &str,
    query: &str,
    headers: Value,
    body: Option<&str>,
) -> Value {
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012", "apiId": "abc", "domainName": "abc.lambda-url.us-east-1.on.aws",
            "domainPrefix": "abc",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "test"},
            "requestId": "r-1", "routeKey": "$default", "stage": "$default",
            "time": "26/Nov/2026:03:00:00 +0000", "timeEpoch": 1795700000000u64
        },
        "body": body,
        "isBase64Encoded": false
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built examples: ./scripts/test.sh"]
async fn inspect_on_the_lambda_runtime_api() {
    let api = RuntimeApi::start().await;
    let mut function = Function::start(&api).await;

    // SQS: the second record fails: only it is reported. The fourth is past its queue's delivery
    // limit: it goes to the dead-letter queue, unhandled, and counts as done.
    let batch = json!({"Records": [
        sqs_record("m-1", r#"{"id":"42"}"#, 1),
        sqs_record("m-2", "fail", 3),
        sqs_record("m-3", r#"{"id":"43"}"#, 1),
        sqs_record("m-4", "fail", 4),
    ]});
    let outcome = api.invoke(batch).await;
    assert_eq!(
        outcome,
        Outcome::Response(json!({"batchItemFailures": [{"itemIdentifier": "m-2"}]}))
    );
    let events = function.events(3).await;
    assert_eq!(
        events.len(),
        3,
        "the dead-lettered record never reaches the handler"
    );
    let first = &events[0];
    assert_eq!(first["type"], "io.cloudport.queue.message.v1");
    assert_eq!(
        first["subject"], "inspect",
        "the native queue maps to the logical name"
    );
    assert_eq!(first["id"], "m-1");
    assert_eq!(
        first["source"],
        "arn:aws:sqs:us-east-1:123456789012:inspect-queue"
    );
    assert_eq!(first["data"]["id"], "42");
    assert_eq!(first["tenant"], "acme");
    assert_eq!(first["deliverycount"], 1);
    assert_eq!(events[1]["deliverycount"], 3);

    // S3: created and removed, URL-encoded keys decoded.
    let s3 = json!({"Records": [
        {"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1", "eventTime": "2026-11-26T03:00:00.000Z",
         "eventName": "ObjectCreated:Put", "userIdentity": {"principalId": "x"}, "requestParameters": {"sourceIPAddress": "1.2.3.4"},
         "responseElements": {}, "s3": {"s3SchemaVersion": "1.0", "configurationId": "c", "bucket": {"name": "inspect-bucket", "ownerIdentity": {"principalId": "x"}, "arn": "arn:aws:s3:::inspect-bucket"},
         "object": {"key": "photos/my+summer%2Bfun.jpg", "size": 1024, "eTag": "abc", "sequencer": "0A1"}}},
        {"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1", "eventTime": "2026-11-26T03:00:01.000Z",
         "eventName": "ObjectRemoved:Delete", "userIdentity": {"principalId": "x"}, "requestParameters": {"sourceIPAddress": "1.2.3.4"},
         "responseElements": {}, "s3": {"s3SchemaVersion": "1.0", "configurationId": "c", "bucket": {"name": "inspect-bucket", "ownerIdentity": {"principalId": "x"}, "arn": "arn:aws:s3:::inspect-bucket"},
         "object": {"key": "old.txt", "sequencer": "0A2"}}}
    ]});
    assert_eq!(api.invoke(s3).await, Outcome::Response(Value::Null));
    let events = function.events(2).await;
    assert_eq!(events[0]["type"], "io.cloudport.blob.created.v1");
    assert_eq!(events[0]["subject"], "photos/my summer+fun.jpg");
    assert_eq!(events[0]["data"]["bucket"], "inspect");
    assert_eq!(events[0]["data"]["size"], 1024);
    assert_eq!(events[1]["type"], "io.cloudport.blob.deleted.v1");
    assert_eq!(events[1]["data"]["key"], "old.txt");

    // EventBridge scheduled event.
    let tick = json!({"version": "0", "id": "e-1", "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "123456789012", "time": "2026-11-26T03:00:00Z", "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/inspect"], "detail": {}});
    assert_eq!(api.invoke(tick).await, Outcome::Response(Value::Null));
    let events = function.events(1).await;
    assert_eq!(events[0]["type"], "io.cloudport.schedule.tick.v1");
    assert_eq!(events[0]["subject"], "inspect");
    assert_eq!(events[0]["data"]["scheduledTime"], "2026-11-26T03:00:00Z");

    // API Gateway v2 / Function URL: the router answers unchanged.
    let get = http_request(
        "GET",
        "/hello",
        "x=1",
        json!({"x-demo": "yes", "host": "abc.lambda-url.us-east-1.on.aws"}),
        None,
    );
    let Outcome::Response(resp) = api.invoke(get).await else {
        panic!("HTTP request failed")
    };
    assert_eq!(resp["statusCode"], 200);
    let body: Value =
        serde_json::from_str(resp["body"].as_str().expect("text body")).expect("JSON body");
    assert_eq!(body["method"], "GET");
    assert_eq!(body["path"], "/hello");
    assert_eq!(body["query"], "x=1");
    assert_eq!(body["headers"]["x-demo"], "yes");

    let ce = http_request(
        "POST",
        "/",
        "",
        json!({
        "ce-specversion": "1.0", "ce-id": "ce-1", "ce-type": "com.example.demo", "ce-source": "/tests",
        "content-type": "application/json"}),
        Some(r#"{"hello":"world"}"#),
    );
    let Outcome::Response(resp) = api.invoke(ce).await else {
        panic!("CloudEvent request failed")
    };
    let event: Value =
        serde_json::from_str(resp["body"].as_str().expect("text body")).expect("JSON body");
    assert_eq!(event["id"], "ce-1");
    assert_eq!(event["data"]["hello"], "world");

    // A payload nobody can decode is an invocation error, not a crash.
    let Outcome::Error(err) = api.invoke(json!({"nonsense": true})).await else {
        panic!("expected an error")
    };
    assert_eq!(err["errorType"], "cloudport.malformed");
    let Outcome::Error(_) = api
        .invoke(json!({"Records": [{"eventSource": "aws:sqs", "body": 5}]}))
        .await
    else {
        panic!("expected an error")
    };

    // Nothing lost, no panic. An undecodable record (marked base64, but not base64) within its
    // queue's delivery limit is reported failed; past it, it goes to the dead-letter queue as
    // delivered, like any message past the limit, and is not reported.
    let undecodable = |id: &str, receive_count: u32| {
        let mut record = sqs_record(id, "%%% not base64 %%%", receive_count);
        record["messageAttributes"]["cloudportencoding"] = json!({"stringValue": "base64",
            "stringListValues": [], "binaryListValues": [], "dataType": "String"});
        record
    };
    let batch = json!({"Records": [sqs_record("m-6", "{}", 1), undecodable("m-7", 2)]});
    assert_eq!(
        api.invoke(batch).await,
        Outcome::Response(json!({"batchItemFailures": [{"itemIdentifier": "m-7"}]}))
    );
    let batch = json!({"Records": [sqs_record("m-8", "{}", 1), undecodable("m-7", 4)]});
    assert_eq!(
        api.invoke(batch).await,
        Outcome::Response(json!({"batchItemFailures": []}))
    );
    let events = function.events(2).await;
    assert_eq!(
        events.iter().map(|e| e["id"].clone()).collect::<Vec<_>>(),
        [json!("m-6"), json!("m-8")],
        "the undecodable record reaches no handler"
    );
    // An S3 record of another kind reaches `on_any_event`, the record unchanged as its data.
    let restore = json!({"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2026-11-26T03:00:02.000Z", "eventName": "ObjectRestore:Completed",
        "userIdentity": {"principalId": "x"}, "requestParameters": {"sourceIPAddress": "1.2.3.4"},
        "responseElements": {}, "s3": {"s3SchemaVersion": "1.0", "configurationId": "c",
        "bucket": {"name": "inspect-bucket", "ownerIdentity": {"principalId": "x"}, "arn": "arn:aws:s3:::inspect-bucket"},
        "object": {"key": "archive/old.txt", "size": 3, "sequencer": "0A3"}},
        "glacierEventData": {"restoreEventData": {"lifecycleRestoreStorageClass": "GLACIER"}}});
    let s3 = json!({"Records": [restore.clone()]});
    assert_eq!(api.invoke(s3).await, Outcome::Response(Value::Null));
    let events = function.events(1).await;
    assert_eq!(
        events[0]["type"],
        "com.amazonaws.s3.ObjectRestore:Completed"
    );
    assert_eq!(events[0]["subject"], "archive/old.txt");
    assert_eq!(events[0]["data"], restore);
    // A request whose Host header is not a host is answered 400, with the JSON error body.
    let bad_host = http_request("GET", "/hello", "", json!({"host": "exa mple.com"}), None);
    let Outcome::Response(resp) = api.invoke(bad_host).await else {
        panic!("a bad Host header must be answered, not fail the invocation")
    };
    assert_eq!(resp["statusCode"], 400);
    let body: Value =
        serde_json::from_str(resp["body"].as_str().expect("text body")).expect("JSON body");
    assert_eq!(body["error"]["kind"], "malformed");

    // A batch in which every message fails fails the invocation, so Lambda deletes nothing.
    let all_failed = api
        .invoke(json!({"Records": [sqs_record("m-5", "fail", 1)]}))
        .await;
    let Outcome::Error(err) = all_failed else {
        panic!("expected an invocation error, got {all_failed:?}")
    };
    assert_eq!(err["errorType"], "cloudport.handler");
    function.events(1).await;

    // Every invocation reported CloudWatch metrics in EMF.
    let emf = function.metrics();
    assert!(emf.len() >= 3, "one EMF line per handled message: {emf:?}");
    assert_eq!(
        emf[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "cloudport"
    );
    assert_eq!(emf[0]["Function"], "inspect");
    assert_eq!(emf[0]["Trigger"], "queue/inspect");
    assert_eq!(emf[0]["Invocations"], 1);
    assert_eq!(
        emf[0]["ColdStarts"], 1,
        "the process's first invocation is cold"
    );
    assert!(emf.iter().skip(1).all(|m| m["ColdStarts"] == 0));
    assert!(
        emf.iter().any(|m| m["Errors"] == 1),
        "the failed message counts as an error"
    );

    // A warm-up ping is answered without running any handler.
    let warm = api.invoke(json!({"cloudport-warmup": true})).await;
    assert_eq!(warm, Outcome::Response(json!({"warm": true})));
    assert!(
        function.events(0).await.is_empty(),
        "no handler ran for the warm-up"
    );

    // Still serving.
    let again = api
        .invoke(json!({"Records": [sqs_record("m-9", "{}", 1)]}))
        .await;
    assert_eq!(again, Outcome::Response(json!({"batchItemFailures": []})));
    assert!(
        function.0.child.try_wait().expect("status").is_none(),
        "the function must still run"
    );
}
