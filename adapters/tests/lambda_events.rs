//! "Any event, on every host", on AWS Lambda: EventBridge events of any source and detail type,
//! S3 object events through EventBridge, SNS notifications (a CloudEvent in the message
//! included), events published to a bound topic (`App::on_topic`) and SNS-wrapped SQS messages
//! reach the app through [`LambdaHost::handle`], as the Runtime API hands them over, and function
//! code routes them by type (`App::on_event`).
//!
//! The payloads are the platforms' own examples (fixtures under `tests/fixtures/lambda/`, each
//! test citing where its shape comes from).
#![cfg(feature = "lambda")]
// Test helpers outside `#[test]` functions unwrap too.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cloudevents::{AttributesReader, EventBuilder};
use cloudport_adapters::lambda::LambdaHost;
use cloudport_core::event::{BLOB_CREATED, BLOB_DELETED, Event, QueueMessage};
use cloudport_core::{App, Env, Error, ErrorKind, Provider, Queue, ResourceUrl, Result};
use cloudport_memory::Memory;
use serde_json::{Value, json};
use support::{Seen, take};

/// `sqs://NAME` opened as the memory queue `NAME` (as the Lambda host's other tests do).
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

/// What an event handler saw, as JSON: `handler`, the CloudEvent's attributes and data.
fn view(handler: &str, ce: &cloudevents::Event) -> Value {
    let data = match ce.data() {
        Some(cloudevents::Data::Json(v)) => v.clone(),
        Some(cloudevents::Data::String(s)) => Value::String(s.clone()),
        Some(cloudevents::Data::Binary(b)) => Value::String(String::from_utf8_lossy(b).into()),
        None => Value::Null,
    };
    let extensions: serde_json::Map<String, Value> = ce
        .iter_extensions()
        .map(|(k, v)| (k.to_owned(), Value::String(v.to_string())))
        .collect();
    json!({"handler": handler, "id": ce.id(), "source": ce.source().as_str(),
        "subject": ce.subject(), "time": ce.time().map(|t| t.to_rfc3339()),
        "datacontenttype": ce.datacontenttype(), "data": data, "extensions": extensions})
}

fn recorder(
    seen: &Seen,
    handler: &'static str,
) -> impl Fn(
    Event<cloudevents::Event>,
    Env,
) -> std::pin::Pin<Box<dyn Future<Output = Result<()>> + Send>>
+ Send
+ Sync
+ 'static {
    let seen = seen.clone();
    move |event, _env| {
        let seen = seen.clone();
        Box::pin(async move {
            let ce = event.cloudevent();
            seen.lock()
                .unwrap()
                .push((ce.ty().to_owned(), view(handler, ce)));
            if ce.data() == Some(&cloudevents::Data::String("fail".to_owned())) {
                return Err(Error::new(ErrorKind::Handler, "the handler refused it"));
            }
            Ok(())
        })
    }
}

/// Blob trigger `uploads` and schedule `nightly` (the shared recorders), queue `orders`, two
/// `on_event` handlers — `OrderPlaced` (EventBridge detail type) and `com.amazonaws.sns.*` — and,
/// with `any`, `on_any_event`.
fn app(seen: &Seen, any: bool) -> App {
    let q = seen.clone();
    let app = support::with_blob_and_schedule_recorders(App::new(), seen)
        .on_queue("orders", move |event, _env| {
            let seen = q.clone();
            async move {
                let m: &QueueMessage = event.data();
                let view = json!({"id": m.id, "body": String::from_utf8_lossy(&m.body),
                    "contentType": m.content_type, "attributes": m.attributes});
                seen.lock().unwrap().push((event.ty().to_owned(), view));
                Ok(())
            }
        })
        .on_event("OrderPlaced", recorder(seen, "orders"))
        .on_event("com.amazonaws.sns.*", recorder(seen, "sns"));
    if any {
        app.on_any_event(recorder(seen, "any"))
    } else {
        app
    }
}

/// `orders` is the SQS queue `orders-native`; `uploads` the S3 bucket of the AWS examples.
fn host(seen: &Seen, any: bool) -> Arc<LambdaHost> {
    Arc::new(LambdaHost::new(app(seen, any), test_env()))
}

fn test_env() -> Env {
    let memory = Memory::new();
    Env::builder()
        .provider(memory.clone())
        .provider(FakeSqs(memory))
        .vars([
            ("CLOUDPORT_QUEUE_ORDERS", "sqs://orders-native"),
            ("CLOUDPORT_BUCKET_UPLOADS", "s3://amzn-s3-demo-bucket1"),
            ("CLOUDPORT_METRICS", "off"),
        ])
        .build()
}

fn seen() -> Seen {
    Seen::default()
}

/// Runs one invocation as the Lambda runtime would.
async fn invoke(host: &LambdaHost, payload: &str) -> Result<Value> {
    let raw = serde_json::value::RawValue::from_string(payload.to_owned()).unwrap();
    let mut context = lambda_runtime::Context::default();
    context.request_id = "req-1".to_owned();
    let deadline = SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + Duration::from_secs(30);
    context.deadline = u64::try_from(deadline.as_millis()).unwrap();
    host.handle(lambda_runtime::LambdaEvent::new(raw, context))
        .await
}

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/lambda/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(path).unwrap()
}

fn json_fixture(name: &str) -> Value {
    serde_json::from_str(&fixture(name)).unwrap()
}

/// A custom event, shaped as in
/// <https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-events-structure.html> (an app's
/// `PutEvents` entry, <https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevents.html>),
/// reaches its `on_event` handler with AWS's EventBridge → CloudEvents mapping.
#[tokio::test]
async fn a_custom_eventbridge_event_reaches_its_on_event_handler() {
    let seen = seen();
    let host = host(&seen, true);
    let payload = fixture("eventbridge_custom_order_placed.json");
    assert_eq!(invoke(&host, &payload).await.unwrap(), Value::Null);
    let original = json_fixture("eventbridge_custom_order_placed.json");
    assert_eq!(
        take(&seen),
        vec![(
            "OrderPlaced".to_owned(),
            json!({"handler": "orders", "id": "4a1f8b9e-7c3d-4e2f-9a6b-0c5d8e7f1a2b",
                "source": "com.mycompany.orders",
                "subject": "arn:aws:dynamodb:us-east-1:123456789012:table/orders",
                "time": "2026-11-26T03:00:00+00:00", "datacontenttype": "application/json",
                "data": original["detail"],
                "extensions": {"awsaccount": "123456789012", "awsregion": "us-east-1"}})
        )]
    );
}

/// The EC2 state-change event of
/// <https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/monitoring-instance-state-changes.html>:
/// no `on_event` pattern takes its type, so `on_any_event` does; without `on_any_event` the
/// invocation fails (Lambda retries it), never acknowledged unhandled.
#[tokio::test]
async fn an_aws_service_event_no_pattern_takes_reaches_on_any_event() {
    let seen = seen();
    let payload = fixture("eventbridge_ec2_state_change.json");
    invoke(&host(&seen, true), &payload).await.unwrap();
    let got = take(&seen);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, "EC2 Instance State-change Notification");
    assert_eq!(got[0].1["handler"], "any");
    assert_eq!(got[0].1["source"], "aws.ec2");
    assert_eq!(
        got[0].1["data"],
        json!({"instance-id": "i-abcd1111", "state": "pending"})
    );

    let err = invoke(&host(&seen, false), &payload).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(take(&seen).is_empty());
}

/// S3's `Object Created` / `Object Deleted` EventBridge events of
/// <https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html>: for a bound bucket,
/// the portable blob events of `on_blob`; for an unbound one, an event for the event handlers.
#[tokio::test]
async fn s3_object_events_through_eventbridge() {
    let seen = seen();
    let host = host(&seen, true);
    invoke(&host, &fixture("s3_eventbridge_object_created.json"))
        .await
        .unwrap();
    invoke(&host, &fixture("s3_eventbridge_object_deleted.json"))
        .await
        .unwrap();
    assert_eq!(
        take(&seen),
        vec![
            (
                BLOB_CREATED.to_owned(),
                json!({"bucket": "uploads", "key": "example-key", "size": 5,
                    "etag": "\"b1946ac92492d2347c6235b4d2611184\"", "contentType": null})
            ),
            (
                BLOB_DELETED.to_owned(),
                json!({"bucket": "uploads", "key": "example-key", "size": null,
                    "etag": "\"d41d8cd98f00b204e9800998ecf8427e\"", "contentType": null})
            ),
        ]
    );

    let mut unbound = json_fixture("s3_eventbridge_object_created.json");
    unbound["detail"]["bucket"]["name"] = json!("someone-elses-bucket");
    invoke(&host, &unbound.to_string()).await.unwrap();
    let got = take(&seen);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, "Object Created");
    assert_eq!(got[0].1["handler"], "any");
    assert_eq!(got[0].1["source"], "aws.s3");
    assert_eq!(got[0].1["data"], unbound["detail"]);
}

/// The SNS record of <https://docs.aws.amazon.com/lambda/latest/dg/with-sns.html>: a CloudEvent
/// after the CloudEvents AWS SNS adapter, message attributes as extensions.
#[tokio::test]
async fn an_sns_notification_reaches_its_on_event_handler() {
    let seen = seen();
    let host = host(&seen, true);
    assert_eq!(
        invoke(&host, &fixture("sns_notification.json"))
            .await
            .unwrap(),
        Value::Null
    );
    assert_eq!(
        take(&seen),
        vec![(
            "com.amazonaws.sns.Notification".to_owned(),
            json!({"handler": "sns", "id": "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
                "source": "arn:aws:sns:us-east-1:123456789012:sns-lambda", "subject": "TestInvoke",
                "time": "2019-01-02T12:45:07+00:00", "datacontenttype": "text/plain; charset=utf-8",
                "data": "Hello from SNS!",
                "extensions": {"test": "TestString", "testbinary": "TestBinary",
                    "awssubscriptionarn": "arn:aws:sns:us-east-1:123456789012:sns-lambda:21be56ed-a058-49f5-8c98-aedd2564c486"}})
        )]
    );
}

/// An SNS message that is a structured-mode CloudEvent (the JSON event format,
/// <https://github.com/cloudevents/spec/blob/main/cloudevents/formats/json-format.md>) in the SNS
/// record of <https://docs.aws.amazon.com/lambda/latest/dg/with-sns.html> is delivered as that
/// event, under its own type.
#[tokio::test]
async fn an_sns_message_that_is_a_cloudevent_is_that_event() {
    let seen = seen();
    let host = host(&seen, true);
    invoke(&host, &fixture("sns_cloudevent.json"))
        .await
        .unwrap();
    assert_eq!(
        take(&seen),
        vec![(
            "com.mycompany.orders.Placed".to_owned(),
            json!({"handler": "any", "id": "order-1001-placed", "source": "/shop/orders",
                "subject": null, "time": "2026-11-26T02:59:59+00:00",
                "datacontenttype": "application/json", "data": {"orderId": "o-1001"},
                "extensions": {}})
        )]
    );
}

/// A handler failing one SNS record fails the invocation (Lambda retries it, then hands it to the
/// on-failure destination), after every record was attempted.
#[tokio::test]
async fn a_failed_sns_record_fails_the_invocation_after_every_record_is_attempted() {
    let seen = seen();
    let host = host(&seen, true);
    let mut payload = json_fixture("sns_notification.json");
    let mut second = payload["Records"][0].clone();
    payload["Records"][0]["Sns"]["Message"] = json!("fail");
    second["Sns"]["MessageId"] = json!("second");
    payload["Records"].as_array_mut().unwrap().push(second);
    let err = invoke(&host, &payload.to_string()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Handler);
    let ids: Vec<Value> = take(&seen)
        .into_iter()
        .map(|(_, v)| v["id"].clone())
        .collect();
    assert_eq!(
        ids,
        vec![
            json!("95df01b4-ee98-5cb9-9903-4c221d41eb5e"),
            json!("second")
        ]
    );
}

/// An SQS batch (<https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html>) holding an SNS
/// notification delivered without raw message delivery
/// (<https://docs.aws.amazon.com/sns/latest/dg/sns-sqs-as-subscriber.html>) and a raw message:
/// the first is unwrapped, the second untouched; both stay messages of their queue — also when
/// the app has a topic trigger bound to the SNS topic the queue is subscribed to.
#[tokio::test]
async fn an_sns_wrapped_sqs_message_is_unwrapped_and_a_raw_one_untouched() {
    for bind_topic in [false, true] {
        sns_wrapped_sqs_messages_stay_queue_messages(bind_topic).await;
    }
}

async fn sns_wrapped_sqs_messages_stay_queue_messages(bind_topic: bool) {
    let seen = seen();
    let host = if bind_topic {
        let memory = Memory::new();
        let env = Env::builder()
            .provider(memory.clone())
            .provider(FakeSqs(memory))
            .vars([
                ("CLOUDPORT_QUEUE_ORDERS", "sqs://orders-native"),
                ("CLOUDPORT_TOPIC_ORDERTOPIC", "sns://orders-topic"),
                ("CLOUDPORT_METRICS", "off"),
            ])
            .build();
        let app = app(&seen, true).on_topic("ordertopic", recorder(&seen, "topic"));
        Arc::new(LambdaHost::new(app, env))
    } else {
        host(&seen, true)
    };
    let response = invoke(&host, &fixture("sqs_sns_wrapped_and_raw.json"))
        .await
        .unwrap();
    assert_eq!(response, json!({"batchItemFailures": []}));
    let mut got = take(&seen);
    got.sort_by(|a, b| a.1["id"].as_str().cmp(&b.1["id"].as_str()));
    let ty = cloudport_core::event::QUEUE_MESSAGE;
    assert_eq!(
        got,
        vec![
            (
                ty.to_owned(),
                json!({"id": "059f36b4-87a3-44ab-83d2-661975830a7d", "body": "{\"orderId\":\"o-1001\"}",
                    "contentType": "application/json", "attributes": {"tenant": "acme"}})
            ),
            (
                ty.to_owned(),
                json!({"id": "2e1424d4-f796-459a-8184-9c92662be6da", "body": "{\"orderId\":\"o-1002\"}",
                    "contentType": null, "attributes": {"tenant": "globex"}})
            ),
        ]
    );
}

/// An S3 notification of a bucket no blob trigger takes keeps S3's own type (the CloudEvents S3
/// adapter's `com.amazonaws.s3.<eventName>`), as through EventBridge, so `on_event` takes it; the
/// bound bucket's stays the portable blob event.
/// Record shape: <https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html>.
#[tokio::test]
async fn an_s3_notification_of_an_unbound_bucket_keeps_its_s3_type() {
    let seen = seen();
    let host = LambdaHost::new(
        app(&seen, false).on_event("com.amazonaws.s3.*", recorder(&seen, "s3")),
        test_env(),
    );
    let record = |bucket: &str| {
        json!({"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
            "eventTime": "2026-11-28T03:00:00.000Z", "eventName": "ObjectCreated:Put",
            "userIdentity": {"principalId": "AWS:EXAMPLE"},
            "requestParameters": {"sourceIPAddress": "192.0.2.1"},
            "responseElements": {"x-amz-request-id": "R", "x-amz-id-2": "I"},
            "s3": {"s3SchemaVersion": "1.0", "configurationId": "c",
                "bucket": {"name": bucket, "ownerIdentity": {"principalId": "x"},
                    "arn": format!("arn:aws:s3:::{bucket}")},
                "object": {"key": "a+b.txt", "size": 3, "eTag": "e1", "sequencer": "0A"}}})
    };
    let payload =
        json!({"Records": [record("someone-elses-bucket"), record("amzn-s3-demo-bucket1")]});
    invoke(&host, &payload.to_string()).await.unwrap();
    let seen = take(&seen);
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[0].0, "com.amazonaws.s3.ObjectCreated:Put");
    assert_eq!(seen[0].1["handler"], "s3");
    assert_eq!(seen[0].1["source"], "arn:aws:s3:::someone-elses-bucket");
    assert_eq!(seen[1].0, BLOB_CREATED);
    assert_eq!(seen[1].1["bucket"], "uploads");
}

/// The publishing invocation's trace (a W3C `traceparent`), carried by the published event.
const PUBLISHER_TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// An event published to a bound topic by the SNS topic driver — the whole CloudEvent in
/// structured mode as the `Message` (`cloudport_core::topic::wire::to_structured`) — inside the
/// SNS record of <https://docs.aws.amazon.com/lambda/latest/dg/with-sns.html> reaches
/// `on_topic` as published: type, source, extensions and data unchanged, the publisher's trace
/// continued. The same message on a topic no topic trigger is bound to stays an `on_event` event.
#[tokio::test]
async fn an_event_published_to_a_bound_topic_reaches_on_topic() {
    let seen = seen();
    let topic_seen = seen.clone();
    let app = app(&seen, false).on_topic("alerts", move |event, _env| {
        let seen = topic_seen.clone();
        async move {
            let ce = event.cloudevent();
            let trace = cloudport_core::context::current()
                .and_then(|c| c.trace)
                .map(|t| t.trace_id());
            let mut view = view("topic", ce);
            view["type"] = json!(ce.ty());
            view["trace"] = json!(trace);
            seen.lock().unwrap().push(("topic".to_owned(), view));
            Ok(())
        }
    });
    let env = Env::builder()
        .provider(Memory::new())
        .vars([
            (
                "CLOUDPORT_TOPIC_ALERTS",
                "sns://alerts-native?account=123456789012",
            ),
            ("CLOUDPORT_METRICS", "off"),
        ])
        .build();
    let host = LambdaHost::new(
        app.on_event("order.*", recorder(&seen, "orders-event")),
        env,
    );

    let published = cloudevents::EventBuilderV10::new()
        .id("ev-1")
        .source("/shop/orders")
        .ty("order.placed")
        .extension("tenant", "acme")
        .extension("traceparent", PUBLISHER_TRACEPARENT)
        .data("application/json", json!({"orderId": "o-1001"}))
        .build()
        .unwrap();
    let message =
        String::from_utf8(cloudport_core::topic::wire::to_structured(&published).unwrap()).unwrap();
    let payload = |topic: &str| {
        let mut payload = json_fixture("sns_notification.json");
        payload["Records"][0]["Sns"]["TopicArn"] =
            json!(format!("arn:aws:sns:us-east-1:123456789012:{topic}"));
        payload["Records"][0]["Sns"]["Message"] = json!(message);
        payload.to_string()
    };

    assert_eq!(
        invoke(&host, &payload("alerts-native")).await.unwrap(),
        Value::Null
    );
    assert_eq!(
        take(&seen),
        vec![(
            "topic".to_owned(),
            json!({"handler": "topic", "type": "order.placed", "id": "ev-1",
                "source": "/shop/orders", "subject": null, "time": null,
                "datacontenttype": "application/json", "data": {"orderId": "o-1001"},
                "extensions": {"tenant": "acme", "traceparent": PUBLISHER_TRACEPARENT},
                "trace": "4bf92f3577b34da6a3ce929d0e0e4736"})
        )]
    );

    // Unbound topic: today's mapping, the CloudEvent the message holds for `on_event`.
    invoke(&host, &payload("someone-elses-topic"))
        .await
        .unwrap();
    let got = take(&seen);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, "order.placed");
    assert_eq!(got[0].1["handler"], "orders-event");
    assert_eq!(got[0].1["extensions"]["tenant"], "acme");
}

/// A message on a bound topic that is not a CloudEvent (published by something other than
/// cloudport) is not dropped: the topic's handler gets the SNS notification CloudEvent.
#[tokio::test]
async fn a_plain_message_on_a_bound_topic_reaches_on_topic_as_the_notification() {
    let seen = seen();
    let app = app(&seen, false).on_topic("alerts", recorder(&seen, "topic"));
    let env = Env::builder()
        .provider(Memory::new())
        .vars([
            ("CLOUDPORT_TOPIC_ALERTS", "sns://sns-lambda"),
            ("CLOUDPORT_METRICS", "off"),
        ])
        .build();
    let host = LambdaHost::new(app, env);
    invoke(&host, &fixture("sns_notification.json"))
        .await
        .unwrap();
    let got = take(&seen);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, "com.amazonaws.sns.Notification");
    assert_eq!(got[0].1["handler"], "topic");
    assert_eq!(got[0].1["data"], "Hello from SNS!");
}
