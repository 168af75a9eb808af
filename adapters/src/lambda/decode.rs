//! Lambda payloads → cloudport's portable CloudEvents: SQS batches, S3 notifications,
//! EventBridge scheduled events; API Gateway HTTP API v2 / Function URL requests pass through as
//! HTTP ([`super::request`]).
//!
//! - An SQS record that cannot be decoded (a body marked base64 that is not, a record without a
//!   message id) is an [`Undecodable`] at its position, carrying the record as SQS delivered it, so
//!   the host can apply its queue's dead-letter policy to it like to any failing message.
//! - An S3 record is the portable blob event of its bucket when it is a write (`ObjectCreated:*`)
//!   or a removal (`ObjectRemoved:*`, `LifecycleExpiration:*`); any other kind (`ObjectRestore:*`,
//!   `ObjectTagging:*`, `ObjectAcl:Put`, `Replication:*`, `LifecycleTransition`,
//!   `IntelligentTiering`, …) is a CloudEvent of type `com.amazonaws.s3.<eventName>` (the
//!   CloudEvents AWS S3 adapter's type, e.g. `com.amazonaws.s3.ObjectRestore:Completed`) for
//!   [`Trigger::Event`] — see [`s3_event`].

use std::collections::{BTreeMap, HashMap};

use aws_lambda_events::eventbridge::EventBridgeEvent;
use aws_lambda_events::s3::S3EventRecord;
use base64::Engine;
use chrono::{DateTime, Utc};
use cloudport_core::event::{BlobEvent, QueueMessage, ScheduleTick};
use cloudport_core::queue::wire::{BASE64, BODY_ENCODING_ATTRIBUTE, CONTENT_TYPE_ATTRIBUTE};
use cloudport_core::validate::normalize_attribute_name;
use cloudport_core::{Error, ErrorKind, Result, Trigger};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::request::HttpEvent;

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

/// S3 event notifications, each record kept as S3 wrote it (decoded one by one by [`s3_event`]),
/// so a record of a kind cloudport has no portable event for reaches the app unchanged.
#[derive(Debug, Deserialize)]
pub struct S3Notification {
    #[serde(rename = "Records")]
    records: Vec<Box<RawValue>>,
}

impl S3Notification {
    /// The records, in order, as raw JSON.
    pub fn records(&self) -> impl Iterator<Item = &RawValue> {
        self.records.iter().map(AsRef::as_ref)
    }

    /// How many records the notification holds.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether the notification is empty.
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
    S3(S3Notification),
    /// An EventBridge scheduled event.
    Schedule(EventBridgeEvent<serde_json::Value>),
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
        match serde_json::from_slice::<HttpEvent>(bytes)
            .map_err(|e| e.to_string())
            .and_then(|r| r.check_shape().map(|()| r))
        {
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

/// An SQS record that cannot be decoded into a portable message: why, and the record as SQS
/// delivered it, for the dead-letter policy
/// ([`Queue::dead_letter_if_over_limit`](cloudport_core::Queue::dead_letter_if_over_limit)).
#[derive(Debug)]
#[non_exhaustive]
pub struct Undecodable {
    /// Why it cannot be decoded (`ErrorKind::Malformed`).
    pub error: Error,
    /// The record as a message on its logical queue: its body as delivered (not decoded), its
    /// content type, its attributes — the body-encoding attribute included, as delivered —, its
    /// delivery count and enqueue time. Moved to a dead-letter queue, nothing of it is lost.
    pub raw: QueueMessage,
}

impl std::fmt::Display for Undecodable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

/// One SQS record as a portable queue-message event, on logical queue `queue`.
fn sqs_record_event(
    queue: &str,
    record: SqsRecord,
) -> std::result::Result<cloudevents::Event, Box<Undecodable>> {
    let has_id = record.message_id.is_some();
    let id = record.message_id.unwrap_or_default();
    let mut attributes = BTreeMap::new();
    let mut content_type = None;
    let mut encoding = None;
    for (name, value) in record.message_attributes {
        let Some(text) = value.string_value else {
            tracing::warn!(message_id = %id, attribute = %name, "dropping a non-string SQS message attribute");
            continue;
        };
        match name.as_str() {
            CONTENT_TYPE_ATTRIBUTE => content_type = Some(text),
            BODY_ENCODING_ATTRIBUTE => encoding = Some(text),
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
    let text = record.body.unwrap_or_default();
    // The body, or why it cannot be decoded and the text as delivered.
    let decoded = if !has_id {
        Err((
            Error::new(ErrorKind::Malformed, "SQS record without a messageId"),
            text,
        ))
    } else if encoding.as_deref() == Some(BASE64) {
        match base64::engine::general_purpose::STANDARD.decode(&text) {
            Ok(bytes) => Ok(bytes::Bytes::from(bytes)),
            Err(e) => Err((
                Error::new(
                    ErrorKind::Malformed,
                    format!("the body of SQS message {id:?} is marked base64 but is not: {e}"),
                ),
                text,
            )),
        }
    } else {
        Ok(bytes::Bytes::from(text))
    };
    let source = record
        .event_source_arn
        .unwrap_or_else(|| "aws:sqs".to_owned());
    let message = move |body: bytes::Bytes, attributes| {
        let mut msg = QueueMessage::new(queue, id, body)
            .with_delivery_count(delivery_count)
            .with_enqueued_at(enqueued_at);
        msg.content_type = content_type;
        msg.attributes = attributes;
        msg
    };
    match decoded {
        Ok(body) => Ok(message(body, attributes).into_cloudevent(source)),
        Err((error, text)) => {
            // As delivered: the body undecoded, the encoding it claims kept.
            if let Some(encoding) = encoding {
                attributes.insert(BODY_ENCODING_ATTRIBUTE.to_owned(), encoding);
            }
            Err(Box::new(Undecodable {
                error: error.with_resource(source),
                raw: message(bytes::Bytes::from(text), attributes),
            }))
        }
    }
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
/// decoded is an [`Undecodable`] at its position, so only it fails — or, past its queue's delivery
/// limit, is dead-lettered.
pub fn sqs_events(
    event: SqsBatch,
    names: &Names,
) -> Vec<(
    String,
    std::result::Result<cloudevents::Event, Box<Undecodable>>,
)> {
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

/// The CloudEvents type prefix of S3 records that are neither a write nor a removal: the type is
/// this and the record's `eventName` (`com.amazonaws.s3.ObjectRestore:Completed`), as the
/// CloudEvents AWS S3 adapter names them.
pub const S3_EVENT_TYPE_PREFIX: &str = "com.amazonaws.s3.";

/// One S3 record as the event of its trigger:
///
/// - a write (`ObjectCreated:*`) or a removal (`ObjectRemoved:*`, `LifecycleExpiration:*`): the
///   portable blob event ([`BlobEvent`]) for [`Trigger::Blob`] of the bucket's logical name;
/// - any other kind (`ObjectRestore:*`, `ObjectTagging:*`, `ObjectAcl:Put`, `Replication:*`,
///   `LifecycleTransition`, `IntelligentTiering`, …): for [`Trigger::Event`] (the app's
///   `on_any_event`), a CloudEvent of type [`S3_EVENT_TYPE_PREFIX`] + `eventName`, data the record
///   unchanged (`application/json`), source the bucket's ARN, subject the object key (decoded),
///   time the record's `eventTime`, extension `bucket` the bucket's logical name, and id
///   `<bucket>/<key>/<eventName>/<sequencer, or eventTime>` (the same on a redelivery).
///
/// A record that is not an S3 event record is `Malformed`.
pub fn s3_event(record: &RawValue, names: &Names) -> Result<(Trigger, cloudevents::Event)> {
    let parsed: S3EventRecord =
        serde_json::from_str(record.get()).map_err(|e| malformed("S3 event record", e))?;
    let event_name = parsed.event_name.as_deref().unwrap_or_default();
    let native_bucket = parsed.s3.bucket.name.as_deref().unwrap_or_default();
    let bucket = names.bucket_for(native_bucket);
    let key = decode_key(parsed.s3.object.key.as_deref().unwrap_or_default());
    let source = format!("arn:aws:s3:::{native_bucket}");
    let ev = if event_name.starts_with("ObjectCreated") {
        BlobEvent::created(&bucket, &key)
            .with_size(parsed.s3.object.size.and_then(|s| u64::try_from(s).ok()))
    } else if event_name.starts_with("ObjectRemoved")
        || event_name.starts_with("LifecycleExpiration")
    {
        BlobEvent::deleted(&bucket, &key)
    } else {
        return other_s3_event(record, &parsed, bucket, &key, source);
    };
    // Notifications carry the ETag bare; the S3 API (and so `Bucket::head`) quotes it.
    let etag = parsed.s3.object.e_tag.as_ref().map(|e| {
        if e.starts_with('"') {
            e.clone()
        } else {
            format!("\"{e}\"")
        }
    });
    let ev = ev.with_etag(etag).with_time(Some(parsed.event_time));
    let id = format!(
        "{native_bucket}/{key}/{}",
        parsed.s3.object.sequencer.as_deref().unwrap_or(event_name)
    );
    Ok((Trigger::Blob(bucket), ev.to_cloudevent(&source, &id)))
}

/// An S3 record cloudport has no portable event for, as described at [`s3_event`].
fn other_s3_event(
    record: &RawValue,
    parsed: &S3EventRecord,
    bucket: String,
    key: &str,
    source: String,
) -> Result<(Trigger, cloudevents::Event)> {
    use cloudevents::{EventBuilder, EventBuilderV10};
    let Some(event_name) = parsed.event_name.as_deref().filter(|n| !n.is_empty()) else {
        return Err(Error::new(
            ErrorKind::Malformed,
            "an S3 event record without an eventName",
        ));
    };
    let data: serde_json::Value =
        serde_json::from_str(record.get()).map_err(|e| malformed("S3 event record", e))?;
    let native_bucket = parsed.s3.bucket.name.as_deref().unwrap_or_default();
    let ty = format!("{S3_EVENT_TYPE_PREFIX}{event_name}");
    let id = match parsed.s3.object.sequencer.as_deref() {
        Some(sequencer) => format!("{native_bucket}/{key}/{event_name}/{sequencer}"),
        None => format!(
            "{native_bucket}/{key}/{event_name}/{}",
            parsed
                .event_time
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        ),
    };
    let event = EventBuilderV10::new()
        .id(id)
        .ty(ty.clone())
        .source(source)
        .subject(key)
        .time(parsed.event_time)
        .extension("bucket", bucket)
        .data("application/json", data)
        .build()
        .map_err(|e| {
            Error::new(
                ErrorKind::Malformed,
                format!("the S3 {event_name} record does not make a CloudEvent: {e}"),
            )
        })?;
    Ok((Trigger::Event(ty), event))
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
    fn other_s3_records_are_cloudevents_named_after_their_event() {
        use cloudevents::AttributesReader;
        let record = serde_json::json!({
            "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
            "eventTime": "2026-11-26T03:00:00.000Z", "eventName": "ObjectRestore:Completed",
            "userIdentity": {"principalId": "x"}, "requestParameters": {"sourceIPAddress": "1.2.3.4"},
            "responseElements": {}, "future": {"field": [1, 2]},
            "s3": {"s3SchemaVersion": "1.0", "configurationId": "c",
                "bucket": {"name": "photos-native", "ownerIdentity": {"principalId": "x"}, "arn": "arn:aws:s3:::photos-native"},
                "object": {"key": "a+b%2F.jpg", "size": 5}},
            "glacierEventData": {"restoreEventData": {"lifecycleRestoreStorageClass": "GLACIER"}}
        });
        let raw = RawValue::from_string(record.to_string()).unwrap();
        let names = Names::default().bucket("photos-native", "photos");
        let (trigger, event) = s3_event(&raw, &names).unwrap();
        let ty = "com.amazonaws.s3.ObjectRestore:Completed";
        assert_eq!(trigger, Trigger::Event(ty.to_owned()));
        assert_eq!(event.ty(), ty);
        assert_eq!(event.source().as_str(), "arn:aws:s3:::photos-native");
        assert_eq!(event.subject(), Some("a b/.jpg"));
        assert_eq!(
            event.id(),
            "photos-native/a b/.jpg/ObjectRestore:Completed/2026-11-26T03:00:00.000Z"
        );
        assert_eq!(
            event
                .extension("bucket")
                .map(ToString::to_string)
                .as_deref(),
            Some("photos")
        );
        assert_eq!(event.datacontenttype(), Some("application/json"));
        assert_eq!(event.data(), Some(&cloudevents::Data::Json(record.clone())));

        let mut created = record.clone();
        created["eventName"] = serde_json::json!("ObjectCreated:Put");
        let raw = RawValue::from_string(created.to_string()).unwrap();
        let (trigger, event) = s3_event(&raw, &names).unwrap();
        assert_eq!(trigger, Trigger::Blob("photos".to_owned()));
        assert_eq!(event.ty(), cloudport_core::event::BLOB_CREATED);

        let mut nameless = record;
        nameless.as_object_mut().unwrap().remove("eventName");
        let raw = RawValue::from_string(nameless.to_string()).unwrap();
        assert_eq!(
            s3_event(&raw, &names).unwrap_err().kind(),
            ErrorKind::Malformed
        );
    }

    #[test]
    fn an_undecodable_sqs_record_keeps_what_sqs_delivered() {
        let payload = br#"{"Records":[{"body":"not base64!","eventSource":"aws:sqs",
            "attributes":{"ApproximateReceiveCount":"7"},
            "messageAttributes":{"cloudportencoding":{"stringValue":"base64","dataType":"String"},
              "datacontenttype":{"stringValue":"image/png","dataType":"String"},
              "Tenant":{"stringValue":"acme","dataType":"String"}},
            "eventSourceARN":"arn:aws:sqs:us-east-1:1:orders"}]}"#;
        let Payload::Sqs(batch) = decode(payload).unwrap() else {
            panic!("not SQS")
        };
        let (queue, event) = sqs_events(batch, &Names::default()).pop().unwrap();
        assert_eq!(queue, "orders");
        let undecodable = event.unwrap_err();
        assert_eq!(undecodable.error.kind(), ErrorKind::Malformed);
        let raw = &undecodable.raw;
        assert_eq!(raw.body.as_ref(), b"not base64!");
        assert_eq!(raw.content_type.as_deref(), Some("image/png"));
        assert_eq!(raw.attributes[BODY_ENCODING_ATTRIBUTE], BASE64);
        assert_eq!(raw.attributes["tenant"], "acme");
        assert_eq!(raw.delivery_count, 7);
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
