//! Lambda payloads → cloudport's portable CloudEvents: SQS batches, S3 notifications,
//! EventBridge scheduled events; API Gateway HTTP API v2 / Function URL requests pass through as
//! HTTP.

use std::collections::{BTreeMap, HashMap};

use aws_lambda_events::eventbridge::EventBridgeEvent;
use aws_lambda_events::s3::{S3Event, S3EventRecord};
use base64::Engine;
use chrono::{DateTime, Utc};
use cloudport_core::event::{BlobEvent, QueueMessage, ScheduleTick};
use cloudport_core::queue::wire::{BASE64, BODY_ENCODING_ATTRIBUTE, CONTENT_TYPE_ATTRIBUTE};
use cloudport_core::validate::normalize_attribute_name;
use cloudport_core::{Error, ErrorKind, Result};
use lambda_http::request::LambdaRequest;
use serde::Deserialize;

/// An SQS batch as the event source mapping delivers it: only the fields cloudport reads, parsed
/// without intermediate maps (the shape is `aws_lambda_events::sqs::SqsEvent`'s; a test checks
/// they agree). This keeps decoding a batch close to the cost of a plain parse.
#[derive(Debug, Deserialize)]
pub struct SqsBatch {
    #[serde(rename = "Records")]
    records: Vec<SqsRecord>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SqsRecord {
    message_id: Option<String>,
    body: Option<String>,
    #[serde(default)]
    attributes: SqsSystemAttributes,
    #[serde(default)]
    message_attributes: BTreeMap<String, SqsAttribute>,
    #[serde(rename = "eventSourceARN")]
    event_source_arn: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct SqsSystemAttributes {
    #[serde(
        rename = "ApproximateReceiveCount",
        default,
        deserialize_with = "number_in_string"
    )]
    receive_count: Option<u64>,
    #[serde(
        rename = "SentTimestamp",
        default,
        deserialize_with = "number_in_string"
    )]
    sent_timestamp: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SqsAttribute {
    string_value: Option<String>,
}

/// SQS writes numbers as strings (`"ApproximateReceiveCount": "3"`); read them without allocating.
fn number_in_string<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<u64>, D::Error> {
    struct Visitor;
    impl serde::de::Visitor<'_> for Visitor {
        type Value = Option<u64>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a number in a string")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> std::result::Result<Self::Value, E> {
            Ok(v.parse().ok())
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> std::result::Result<Self::Value, E> {
            Ok(Some(v))
        }
    }
    d.deserialize_any(Visitor)
}

impl SqsBatch {
    /// The message ids, in order.
    pub fn message_ids(&self) -> Vec<String> {
        self.records
            .iter()
            .map(|r| r.message_id.clone().unwrap_or_default())
            .collect()
    }

    /// Whether each record comes from a FIFO queue (its source ARN ends in `.fifo`).
    pub fn fifo_flags(&self) -> Vec<bool> {
        self.records
            .iter()
            .map(|r| {
                r.event_source_arn
                    .as_deref()
                    .is_some_and(|a| a.ends_with(".fifo"))
            })
            .collect()
    }

    /// How many records the batch holds.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether the batch is empty.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}

/// A decoded Lambda invocation payload.
#[derive(Debug)]
pub enum Payload {
    /// An SQS batch (event source mapping).
    Sqs(SqsBatch),
    /// S3 event notifications.
    S3(S3Event),
    /// An EventBridge scheduled event.
    Schedule(EventBridgeEvent<serde_json::Value>),
    /// An API Gateway HTTP API (v2) or Function URL request.
    Http(Box<LambdaRequest>),
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

fn malformed(what: &str, e: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorKind::Malformed,
        format!("the Lambda payload is not a valid {what}: {e}"),
    )
}

/// Decodes a Lambda payload by its shape: the sniffed kind is parsed first (one parse for every
/// well-formed payload); if that parse fails, the other shapes are tried before giving up.
pub fn decode(bytes: &[u8]) -> Result<Payload> {
    if bytes.len() < 256
        && serde_json::from_slice::<serde_json::Value>(bytes)
            .is_ok_and(|v| v.get(WARMUP_KEY) == Some(&serde_json::Value::Bool(true)))
    {
        return Ok(Payload::Warmup);
    }
    let event_source = sniff(bytes, r#""eventSource""#);
    let scheduled = matches!(
        sniff(bytes, r#""source""#),
        Some("aws.events" | "aws.scheduler")
    ) && sniff(bytes, r#""detail-type""#) == Some("Scheduled Event");
    let http = sniff(bytes, r#""routeKey""#).is_some() || sniff(bytes, r#""rawPath""#).is_some();
    let mut first_error = None;
    let mut note = |e: Error| {
        first_error.get_or_insert(e);
    };
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
    if scheduled {
        match serde_json::from_slice(bytes) {
            Ok(event) => return Ok(Payload::Schedule(event)),
            Err(e) => note(malformed("EventBridge scheduled event", e)),
        }
    }
    if http {
        match serde_json::from_slice::<LambdaRequest>(bytes) {
            Ok(r) => return Ok(Payload::Http(Box::new(r))),
            Err(e) => note(malformed("API Gateway v2 / Function URL request", e)),
        }
    }
    Err(first_error.unwrap_or_else(|| Error::new(
        ErrorKind::Malformed,
        "unrecognized Lambda payload: expected an SQS batch, S3 notification, EventBridge scheduled event, or API Gateway v2 / Function URL request",
    )))
}

/// The last `:`-separated part of an ARN (the queue name of an SQS ARN).
fn arn_resource(arn: &str) -> &str {
    arn.rsplit(':').next().unwrap_or(arn)
}

/// One SQS record as a portable queue-message event, on logical queue `queue`.
fn sqs_record_event(queue: &str, record: SqsRecord) -> Result<cloudevents::Event> {
    let id = record
        .message_id
        .ok_or_else(|| Error::new(ErrorKind::Malformed, "SQS record without a messageId"))?;
    let body = record.body.unwrap_or_default();
    let mut attributes = BTreeMap::new();
    let mut content_type = None;
    let mut base64_body = false;
    for (name, value) in record.message_attributes {
        let Some(text) = value.string_value else {
            tracing::warn!(message_id = %id, attribute = %name, "dropping a non-string SQS message attribute");
            continue;
        };
        match name.as_str() {
            CONTENT_TYPE_ATTRIBUTE => content_type = Some(text),
            BODY_ENCODING_ATTRIBUTE => base64_body = text == BASE64,
            _ => match normalize_attribute_name(&name) {
                Some(n) => {
                    attributes.insert(n, text);
                }
                None => {
                    tracing::warn!(message_id = %id, attribute = %name, "dropping an SQS message attribute with no valid name")
                }
            },
        }
    }
    let body = if base64_body {
        base64::engine::general_purpose::STANDARD
            .decode(&body)
            .map_err(|e| Error::new(ErrorKind::Malformed, format!("base64 body of {id}: {e}")))?
            .into()
    } else {
        bytes::Bytes::from(body)
    };
    let delivery_count = record
        .attributes
        .receive_count
        .and_then(|c| u32::try_from(c).ok())
        .unwrap_or(1);
    let enqueued_at = record
        .attributes
        .sent_timestamp
        .and_then(|ms| i64::try_from(ms).ok())
        .and_then(DateTime::<Utc>::from_timestamp_millis);
    let mut msg = QueueMessage::new(queue, id, body)
        .with_delivery_count(delivery_count)
        .with_enqueued_at(enqueued_at);
    msg.content_type = content_type;
    msg.attributes = attributes;
    let source = record
        .event_source_arn
        .unwrap_or_else(|| "aws:sqs".to_owned());
    Ok(msg.into_cloudevent(source))
}

/// Logical names of native resources (queue or bucket names), from the app's bindings.
#[derive(Debug, Default, Clone)]
pub struct Names {
    queues: HashMap<String, String>,
    buckets: HashMap<String, String>,
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

    /// The logical queue for an SQS event source ARN (its native name when unbound).
    pub fn queue_for_arn(&self, arn: &str) -> String {
        let native = arn_resource(arn);
        self.queues
            .get(native)
            .cloned()
            .unwrap_or_else(|| native.to_owned())
    }

    fn bucket_for(&self, native: &str) -> String {
        self.buckets
            .get(native)
            .cloned()
            .unwrap_or_else(|| native.to_owned())
    }
}

/// An SQS batch as (logical queue, event) pairs, one per record, in order. A record that cannot be
/// decoded is an error at its position, so only it fails.
pub fn sqs_events(event: SqsBatch, names: &Names) -> Vec<(String, Result<cloudevents::Event>)> {
    event
        .records
        .into_iter()
        .map(|r| {
            let queue = names.queue_for_arn(r.event_source_arn.as_deref().unwrap_or_default());
            let ev = sqs_record_event(&queue, r);
            (queue, ev)
        })
        .collect()
}

/// S3 keys in notifications are URL-encoded, with `+` for spaces.
fn decode_key(key: &str) -> String {
    let spaced = key.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8_lossy()
        .into_owned()
}

/// One S3 record as a portable blob event (bucket logical name, event); `None` for event kinds
/// that are neither a write nor a removal (restores, replication, …).
pub fn s3_record_event(
    record: &S3EventRecord,
    names: &Names,
) -> Option<(String, cloudevents::Event)> {
    let event_name = record.event_name.as_deref().unwrap_or_default();
    let native_bucket = record.s3.bucket.name.as_deref().unwrap_or_default();
    let bucket = names.bucket_for(native_bucket);
    let key = decode_key(record.s3.object.key.as_deref().unwrap_or_default());
    let ev = if event_name.starts_with("ObjectCreated") {
        BlobEvent::created(&bucket, &key)
            .with_size(record.s3.object.size.and_then(|s| u64::try_from(s).ok()))
    } else if event_name.starts_with("ObjectRemoved")
        || event_name.starts_with("LifecycleExpiration")
    {
        BlobEvent::deleted(&bucket, &key)
    } else {
        return None;
    };
    // Notifications carry the ETag bare; the S3 API (and so `Bucket::head`) quotes it.
    let etag = record.s3.object.e_tag.as_ref().map(|e| {
        if e.starts_with('"') {
            e.clone()
        } else {
            format!("\"{e}\"")
        }
    });
    let ev = ev.with_etag(etag).with_time(Some(record.event_time));
    let source = format!("arn:aws:s3:::{native_bucket}");
    let id = format!(
        "{native_bucket}/{key}/{}",
        record.s3.object.sequencer.as_deref().unwrap_or(event_name)
    );
    Some((bucket, ev.to_cloudevent(&source, &id)))
}

/// The rule name of a scheduled event (the part after `rule/` of its resource ARN).
pub fn schedule_rule(event: &EventBridgeEvent<serde_json::Value>) -> Option<String> {
    event.resources.as_ref()?.iter().find_map(|r| {
        r.split_once(":rule/")
            .map(|(_, name)| name.rsplit('/').next().unwrap_or(name).to_owned())
    })
}

/// A scheduled event as a portable tick of `schedule`.
pub fn schedule_event(
    event: &EventBridgeEvent<serde_json::Value>,
    schedule: &str,
) -> cloudevents::Event {
    let time = event.time.unwrap_or_else(Utc::now);
    let source = event
        .resources
        .as_ref()
        .and_then(|r| r.first().cloned())
        .unwrap_or_else(|| event.source.clone());
    let id = event
        .id
        .clone()
        .unwrap_or_else(|| format!("{schedule}-{}", time.timestamp()));
    ScheduleTick::new(schedule, time).to_cloudevent(&source, &id)
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
    }

    #[test]
    fn keys_are_url_decoded() {
        assert_eq!(decode_key("a+b%2Fc%C3%A9.txt"), "a b/cé.txt");
    }

    #[test]
    fn the_lean_sqs_view_agrees_with_aws_lambda_events() {
        let payload = br#"{"Records":[{"messageId":"m-1","receiptHandle":"r","body":"{\"a\":1}",
            "attributes":{"ApproximateReceiveCount":"3","SentTimestamp":"1545082649183","SenderId":"s"},
            "messageAttributes":{"tenant":{"stringValue":"acme","stringListValues":[],"binaryListValues":[],"dataType":"String"},
              "datacontenttype":{"stringValue":"application/json","dataType":"String"}},
            "md5OfBody":"x","eventSource":"aws:sqs","eventSourceARN":"arn:aws:sqs:us-east-1:1:orders","awsRegion":"us-east-1"}]}"#;
        let reference: aws_lambda_events::sqs::SqsEvent = serde_json::from_slice(payload).unwrap();
        let Payload::Sqs(batch) = decode(payload).unwrap() else {
            panic!("not SQS")
        };
        let r = &reference.records[0];
        assert_eq!(batch.message_ids(), vec![r.message_id.clone().unwrap()]);
        let events = sqs_events(batch, &Names::default().queue("orders", "orders-logical"));
        let (queue, event) = &events[0];
        assert_eq!(queue, "orders-logical");
        let msg =
            cloudport_core::event::Event::<QueueMessage>::try_from(event.as_ref().unwrap().clone())
                .unwrap();
        let msg = msg.data();
        assert_eq!(msg.body, r.body.clone().unwrap().into_bytes());
        assert_eq!(
            msg.delivery_count.to_string(),
            r.attributes["ApproximateReceiveCount"]
        );
        assert_eq!(
            msg.attributes["tenant"],
            r.message_attributes["tenant"].string_value.clone().unwrap()
        );
        assert_eq!(msg.content_type.as_deref(), Some("application/json"));
        assert_eq!(
            msg.enqueued_at.unwrap().timestamp_millis().to_string(),
            r.attributes["SentTimestamp"]
        );
    }

    #[test]
    fn a_query_parameter_named_like_a_marker_does_not_misroute_http() {
        let payload = br#"{"version":"2.0","routeKey":"$default","rawPath":"/","rawQueryString":"eventSource=aws:sqs",
            "queryStringParameters":{"eventSource":"aws:sqs"},"headers":{},
            "requestContext":{"accountId":"1","apiId":"a","domainName":"d","domainPrefix":"d",
              "http":{"method":"GET","path":"/","protocol":"HTTP/1.1","sourceIp":"1.2.3.4","userAgent":"t"},
              "requestId":"r","routeKey":"$default","stage":"$default","time":"t","timeEpoch":1},
            "isBase64Encoded":false}"#;
        assert!(matches!(decode(payload).unwrap(), Payload::Http(_)));
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
    }
}
