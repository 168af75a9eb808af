//! Lambda payloads → cloudport's portable CloudEvents. A payload is recognized by its shape
//! ([`decode`]) as one of:
//!
//! - **An SQS batch** ([`sqs`]): each record a portable queue message of its queue. A record that
//!   cannot be decoded (a body marked base64 that is not, a record without a message id) is an
//!   [`Undecodable`] at its position, carrying the record as SQS delivered it, so the host can
//!   apply its queue's dead-letter policy to it like to any failing message. A record whose body
//!   is an SNS notification envelope (an SNS → SQS subscription without raw message delivery) is
//!   unwrapped: the message's body is the SNS `Message`, its attributes the SNS message
//!   attributes.
//! - **S3 notifications** ([`s3`]): a write (`ObjectCreated:*`) or a removal (`ObjectRemoved:*`,
//!   `LifecycleExpiration:*`) is the portable blob event of its bucket; any other kind
//!   (`ObjectRestore:*`, `ObjectTagging:*`, `ObjectAcl:Put`, `Replication:*`,
//!   `LifecycleTransition`, `IntelligentTiering`, …) is a CloudEvent of type
//!   `com.amazonaws.s3.<eventName>` (the CloudEvents AWS S3 adapter's type, e.g.
//!   `com.amazonaws.s3.ObjectRestore:Completed`) for [`Trigger::Event`] — see [`s3_event`].
//! - **An EventBridge event** ([`eventbridge`]): a scheduled event (`Scheduled Event` from
//!   `aws.events` or `aws.scheduler`) is a portable schedule tick ([`schedule_event`]); an S3
//!   `Object Created` / `Object Deleted` event of a bucket the app binds is the portable blob event
//!   of that bucket; any other event, of any source and detail type, is a CloudEvent whose type is
//!   its `detail-type`, source its `source` and data its `detail` unchanged, for
//!   [`Trigger::Event`] ([`eventbridge_event`]).
//! - **SNS notifications** ([`sns`]): a record of a topic an app's topic trigger is bound to
//!   ([`Names::topic`]) is the event published to it, for [`Trigger::Topic`]; any other record is
//!   a CloudEvent of type `com.amazonaws.sns.Notification` whose data is the SNS `Message`
//!   unchanged — or, when the message is itself a structured-mode CloudEvent, that event — for
//!   [`Trigger::Event`] ([`sns_event`]).
//! - **An API Gateway HTTP API v2 / Function URL request**, passed through as HTTP
//!   ([`super::request`]).
//! - **A warm-up ping** (`{"cloudport-warmup": true}`).
//!
//! Anything else is `Malformed` ("unrecognized Lambda payload").

pub mod eventbridge;
pub mod s3;
pub mod sns;
pub mod sqs;

use std::collections::HashMap;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use cloudport_core::{Error, ErrorKind, Result};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::request::HttpEvent;

pub use eventbridge::{
    S3_DETAIL_TYPE_CREATED, S3_DETAIL_TYPE_DELETED, eventbridge_event, schedule_event,
    schedule_rule,
};
pub use s3::{S3_EVENT_TYPE_PREFIX, S3Notification, s3_event};
pub use sns::{SNS_NOTIFICATION_TYPE, SnsNotification, sns_event};
pub use sqs::{SqsBatch, Undecodable, sqs_events};

#[cfg(doc)]
use cloudport_core::Trigger;

/// The `Records` of an S3 or SNS invocation, each kept as the platform wrote it and decoded one
/// by one ([`s3_event`], [`sns_event`]), so one malformed record does not hide the others.
#[derive(Debug, Deserialize)]
pub struct Records {
    #[serde(rename = "Records")]
    records: Vec<Box<RawValue>>,
}

impl Records {
    /// The records, in order, as raw JSON.
    pub fn records(&self) -> impl Iterator<Item = &RawValue> {
        self.records.iter().map(AsRef::as_ref)
    }

    /// How many records the invocation holds.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}

/// A decoded Lambda invocation payload.
#[derive(Debug)]
#[non_exhaustive]
pub enum Payload {
    /// An SQS batch (event source mapping).
    Sqs(SqsBatch),
    /// S3 event notifications.
    S3(S3Notification),
    /// An EventBridge scheduled event (`Scheduled Event` from `aws.events` or `aws.scheduler`).
    Schedule(EventBridgeEvent<serde_json::Value>),
    /// Any other EventBridge event ([`eventbridge_event`] makes it a CloudEvent).
    EventBridge(Box<EventBridgeEvent<serde_json::Value>>),
    /// SNS notifications (a Lambda subscription to a topic).
    Sns(SnsNotification),
    /// An API Gateway HTTP API (v2) or Function URL request, not yet checked: the host answers a
    /// request that is not valid HTTP `400` ([`HttpEvent::into_request`]).
    Http(Box<HttpEvent>),
    /// A warm-up ping (`{"cloudport-warmup": true}`, from a scheduled rule or a warmer): answered
    /// `{"warm": true}` without running any handler.
    Warmup,
}

/// The payload of a warm-up ping.
pub const WARMUP_KEY: &str = "cloudport-warmup";

/// Reads the string value of the first structural occurrence of `"key"` (quoted) whose value is a
/// string, in compact or pretty JSON. Quotes inside JSON strings are escaped, so a match outside
/// the escaped form is a real key; an object-valued match (a message attribute named like the key,
/// say) is passed over; a wrong guess costs only the fallback parse.
fn sniff<'a>(bytes: &'a [u8], quoted_key: &str) -> Option<&'a str> {
    memchr::memmem::find_iter(bytes, quoted_key.as_bytes()).find_map(|at| {
        let rest = &bytes[at + quoted_key.len()..];
        let rest = rest
            .trim_ascii_start()
            .strip_prefix(b":")?
            .trim_ascii_start()
            .strip_prefix(b"\"")?;
        let end = rest.iter().position(|b| *b == b'"')?;
        std::str::from_utf8(&rest[..end]).ok()
    })
}

pub(crate) fn malformed(what: &str, e: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorKind::Malformed,
        format!("the Lambda payload is not a valid {what}: {e}"),
    )
}

/// Whether an EventBridge event is a scheduled event (EventBridge rules and EventBridge
/// Scheduler's default EventBridge-shaped payload:
/// <https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-run-lambda-schedule.html>).
fn is_schedule(event: &EventBridgeEvent<serde_json::Value>) -> bool {
    matches!(event.source.as_str(), "aws.events" | "aws.scheduler")
        && event.detail_type == "Scheduled Event"
}

/// Decodes a Lambda payload by its shape. The markers are sniffed one at a time, most frequent
/// shape first (SQS and S3 by `"eventSource"`, HTTP by `"routeKey"` / `"rawPath"`, SNS by
/// `"EventSource": "aws:sns"`, EventBridge by `"detail-type"`), and the first sniffed shape is
/// parsed — one parse for every well-formed payload; if that parse fails, the other shapes are
/// tried before giving up.
pub fn decode(bytes: &[u8]) -> Result<Payload> {
    if bytes.len() < 256
        && serde_json::from_slice::<serde_json::Value>(bytes)
            .is_ok_and(|v| v.get(WARMUP_KEY) == Some(&serde_json::Value::Bool(true)))
    {
        return Ok(Payload::Warmup);
    }
    let mut first_error = None;
    let mut note = |e: Error| {
        first_error.get_or_insert(e);
    };
    let event_source = sniff(bytes, r#""eventSource""#);
    if event_source == Some("aws:sqs") {
        match serde_json::from_slice(bytes) {
            Ok(batch) => return Ok(Payload::Sqs(batch)),
            Err(e) => note(malformed("SQS event", e)),
        }
    }
    if event_source == Some("aws:s3") {
        match serde_json::from_slice(bytes) {
            Ok(event) => return Ok(Payload::S3(event)),
            Err(e) => note(malformed("S3 event", e)),
        }
    }
    if sniff(bytes, r#""routeKey""#).is_some() || sniff(bytes, r#""rawPath""#).is_some() {
        match serde_json::from_slice::<HttpEvent>(bytes)
            .map_err(|e| e.to_string())
            .and_then(|r| r.check_shape().map(|()| r))
        {
            Ok(r) => return Ok(Payload::Http(Box::new(r))),
            Err(e) => note(malformed("API Gateway v2 / Function URL request", e)),
        }
    }
    // SNS records spell it with a capital E (`"EventSource": "aws:sns"`).
    if sniff(bytes, r#""EventSource""#) == Some("aws:sns") {
        match serde_json::from_slice(bytes) {
            Ok(event) => return Ok(Payload::Sns(event)),
            Err(e) => note(malformed("SNS event", e)),
        }
    }
    if sniff(bytes, r#""detail-type""#).is_some() {
        match serde_json::from_slice::<EventBridgeEvent<serde_json::Value>>(bytes) {
            Ok(event) if is_schedule(&event) => return Ok(Payload::Schedule(event)),
            Ok(event) => return Ok(Payload::EventBridge(Box::new(event))),
            Err(e) => note(malformed("EventBridge event", e)),
        }
    }
    Err(first_error.unwrap_or_else(|| Error::new(
        ErrorKind::Malformed,
        "unrecognized Lambda payload: expected an SQS batch, S3 notification, EventBridge event, SNS notification, or API Gateway v2 / Function URL request",
    )))
}

/// The last `:`-separated part of an ARN (the queue name of an SQS ARN, the topic name of an SNS
/// one).
fn arn_resource(arn: &str) -> &str {
    arn.rsplit(':').next().unwrap_or(arn)
}

/// Logical names of native resources (queue, bucket or topic names), from the app's bindings.
#[derive(Debug, Default, Clone)]
pub struct Names {
    queues: HashMap<String, String>,
    buckets: HashMap<String, String>,
    topics: HashMap<String, String>,
}

impl Names {
    /// Maps native queue name → logical name.
    pub fn queue(mut self, native: impl Into<String>, logical: impl Into<String>) -> Self {
        self.queues.insert(native.into(), logical.into());
        self
    }

    /// Maps native bucket name → logical name.
    pub fn bucket(mut self, native: impl Into<String>, logical: impl Into<String>) -> Self {
        self.buckets.insert(native.into(), logical.into());
        self
    }

    /// Maps native topic name (the last part of its ARN) → logical name.
    pub fn topic(mut self, native: impl Into<String>, logical: impl Into<String>) -> Self {
        self.topics.insert(native.into(), logical.into());
        self
    }

    /// The logical queue for an SQS event source ARN (its native name when unbound).
    pub fn queue_for_arn(&self, arn: &str) -> String {
        let native = arn_resource(arn);
        self.queues
            .get(native)
            .cloned()
            .unwrap_or_else(|| native.to_owned())
    }

    /// The logical name a binding gives native bucket `native`, if one does.
    pub fn bound_bucket(&self, native: &str) -> Option<&str> {
        self.buckets.get(native).map(String::as_str)
    }

    /// The logical name a binding gives the topic of SNS `TopicArn` `arn`, if one does.
    pub fn bound_topic_for_arn(&self, arn: &str) -> Option<&str> {
        self.topics.get(arn_resource(arn)).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffing_reads_compact_and_pretty_json() {
        assert_eq!(
            sniff(
                br#"{"Records":[{"eventSource":"aws:sqs"}]}"#,
                r#""eventSource""#
            ),
            Some("aws:sqs")
        );
        assert_eq!(
            sniff(b"{ \"eventSource\" :\n \"aws:s3\" }", r#""eventSource""#),
            Some("aws:s3")
        );
        assert_eq!(
            sniff(
                br#"{"body":"{\"eventSource\":\"aws:s3\"}"}"#,
                r#""eventSource""#
            ),
            None
        );
        // Case matters: SNS's `EventSource` is not SQS's `eventSource`.
        assert_eq!(
            sniff(br#"{"EventSource":"aws:sns"}"#, r#""eventSource""#),
            None
        );
    }

    #[test]
    fn a_query_parameter_named_like_a_marker_does_not_misroute_http() {
        let payload = br#"{"version":"2.0","routeKey":"$default","rawPath":"/","rawQueryString":"eventSource=aws:sqs",
            "queryStringParameters":{"eventSource":"aws:sqs","EventSource":"aws:sns","detail-type":"x","source":"y"},"headers":{},
            "requestContext":{"accountId":"1","apiId":"a","domainName":"d","domainPrefix":"d",
              "http":{"method":"GET","path":"/","protocol":"HTTP/1.1","sourceIp":"1.2.3.4","userAgent":"t"},
              "requestId":"r","routeKey":"$default","stage":"$default","time":"t","timeEpoch":1},
            "isBase64Encoded":false}"#;
        assert!(matches!(decode(payload).unwrap(), Payload::Http(_)));
    }

    #[test]
    fn eventbridge_events_of_any_kind_are_recognized() {
        let custom = br#"{"version":"0","id":"e-1","detail-type":"OrderPlaced","source":"com.mycompany.orders",
            "account":"123456789012","time":"2026-11-26T03:00:00Z","region":"us-east-1","resources":[],
            "detail":{"orderId":"o-1"}}"#;
        assert!(matches!(decode(custom).unwrap(), Payload::EventBridge(_)));
        let scheduled =
            br#"{"version":"0","id":"e-2","detail-type":"Scheduled Event","source":"aws.events",
            "account":"123456789012","time":"2026-11-26T03:00:00Z","region":"us-east-1",
            "resources":["arn:aws:events:us-east-1:123456789012:rule/nightly"],"detail":{}}"#;
        assert!(matches!(decode(scheduled).unwrap(), Payload::Schedule(_)));
        // Someone else's "Scheduled Event" is not a schedule tick.
        let lookalike =
            br#"{"id":"e-3","detail-type":"Scheduled Event","source":"com.example","detail":{}}"#;
        assert!(matches!(
            decode(lookalike).unwrap(),
            Payload::EventBridge(_)
        ));
    }

    #[test]
    fn sns_notifications_are_recognized() {
        let payload = br#"{"Records":[{"EventSource":"aws:sns","EventVersion":"1.0","EventSubscriptionArn":"arn:aws:sns:us-east-1:1:t:s",
            "Sns":{"Type":"Notification","MessageId":"m-1","TopicArn":"arn:aws:sns:us-east-1:1:t","Message":"hi",
            "Timestamp":"2026-11-26T03:00:00.000Z","MessageAttributes":{}}}]}"#;
        let Payload::Sns(n) = decode(payload).unwrap() else {
            panic!("not SNS")
        };
        assert_eq!(n.len(), 1);
    }

    #[test]
    fn unknown_payloads_are_malformed() {
        assert_eq!(
            decode(br#"{"hello":1}"#).unwrap_err().kind(),
            ErrorKind::Malformed
        );
        assert_eq!(
            decode(br#"{"Records":[{"eventSource":"aws:sqs","body":5}]}"#)
                .unwrap_err()
                .kind(),
            ErrorKind::Malformed
        );
        // An EventBridge-looking payload without the envelope's required fields.
        assert_eq!(
            decode(br#"{"detail-type":"x"}"#).unwrap_err().kind(),
            ErrorKind::Malformed
        );
    }
}
