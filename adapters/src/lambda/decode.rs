//! Lambda payloads → cloudport's portable CloudEvents: SQS batches, S3 notifications,
//! EventBridge scheduled events; API Gateway HTTP API v2 / Function URL requests pass through as
//! HTTP.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, UNIX_EPOCH};

use aws_lambda_events::eventbridge::EventBridgeEvent;
use aws_lambda_events::s3::{S3Event, S3EventRecord};
use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use base64::Engine;
use chrono::{DateTime, Utc};
use cloudport_core::event::{BlobEvent, QueueMessage, ScheduleTick};
use cloudport_core::queue::wire::{BASE64, BODY_ENCODING_ATTRIBUTE, CONTENT_TYPE_ATTRIBUTE};
use cloudport_core::validate::normalize_attribute_name;
use cloudport_core::{Error, ErrorKind, Result};
use lambda_http::request::LambdaRequest;

/// A decoded Lambda invocation payload.
#[derive(Debug)]
pub enum Payload {
    /// An SQS batch (event source mapping).
    Sqs(SqsEvent),
    /// S3 event notifications.
    S3(S3Event),
    /// An EventBridge scheduled event.
    Schedule(EventBridgeEvent<serde_json::Value>),
    /// An API Gateway HTTP API (v2) or Function URL request.
    Http(Box<LambdaRequest>),
}

/// Reads a string value following `"key"` in compact or pretty JSON, at the first structural
/// occurrence of the key. Quotes inside JSON strings are escaped, so a match outside the escaped
/// form is a real key; a wrong guess only costs the fallback parse.
fn sniff<'a>(bytes: &'a [u8], key: &str) -> Option<&'a str> {
    let pattern = format!("\"{key}\"");
    let at = bytes.windows(pattern.len()).position(|w| w == pattern.as_bytes())?;
    let rest = &bytes[at + pattern.len()..];
    let rest = rest.trim_ascii_start().strip_prefix(b":")?.trim_ascii_start().strip_prefix(b"\"")?;
    let end = rest.iter().position(|b| *b == b'"')?;
    std::str::from_utf8(&rest[..end]).ok()
}

fn malformed(what: &str, e: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::Malformed, format!("the Lambda payload is not a valid {what}: {e}"))
}

/// Decodes a Lambda payload by its shape.
pub fn decode(bytes: &[u8]) -> Result<Payload> {
    match sniff(bytes, "eventSource") {
        Some("aws:sqs") => {
            return serde_json::from_slice(bytes).map(Payload::Sqs).map_err(|e| malformed("SQS event", e));
        }
        Some("aws:s3") => {
            return serde_json::from_slice(bytes).map(Payload::S3).map_err(|e| malformed("S3 event", e));
        }
        _ => {}
    }
    if matches!(sniff(bytes, "source"), Some("aws.events" | "aws.scheduler"))
        && sniff(bytes, "detail-type") == Some("Scheduled Event")
    {
        return serde_json::from_slice(bytes)
            .map(Payload::Schedule)
            .map_err(|e| malformed("EventBridge scheduled event", e));
    }
    if sniff(bytes, "routeKey").is_some() || sniff(bytes, "rawPath").is_some() {
        return serde_json::from_slice::<LambdaRequest>(bytes)
            .map(|r| Payload::Http(Box::new(r)))
            .map_err(|e| malformed("API Gateway v2 / Function URL request", e));
    }
    Err(Error::new(
        ErrorKind::Malformed,
        "unrecognized Lambda payload: expected an SQS batch, S3 notification, EventBridge scheduled event, or API Gateway v2 / Function URL request",
    ))
}

/// The last `:`-separated part of an ARN (the queue name of an SQS ARN).
fn arn_resource(arn: &str) -> &str {
    arn.rsplit(':').next().unwrap_or(arn)
}

/// One SQS record as a portable queue-message event, on logical queue `queue`.
pub fn sqs_record_event(queue: &str, record: &SqsMessage) -> Result<cloudevents::Event> {
    let id = record
        .message_id
        .clone()
        .ok_or_else(|| Error::new(ErrorKind::Malformed, "SQS record without a messageId"))?;
    let body = record.body.as_deref().unwrap_or_default();
    let mut attributes = BTreeMap::new();
    let mut content_type = None;
    let mut base64_body = false;
    for (name, value) in &record.message_attributes {
        let Some(text) = value.string_value.as_ref() else {
            tracing::warn!(message_id = %id, attribute = %name, "dropping a non-string SQS message attribute");
            continue;
        };
        match name.as_str() {
            CONTENT_TYPE_ATTRIBUTE => content_type = Some(text.clone()),
            BODY_ENCODING_ATTRIBUTE => base64_body = text == BASE64,
            _ => match normalize_attribute_name(name) {
                Some(n) => {
                    attributes.insert(n, text.clone());
                }
                None => tracing::warn!(message_id = %id, attribute = %name, "dropping an SQS message attribute with no valid name"),
            },
        }
    }
    let body = if base64_body {
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .map_err(|e| Error::new(ErrorKind::Malformed, format!("base64 body of {id}: {e}")))?
            .into()
    } else {
        bytes::Bytes::copy_from_slice(body.as_bytes())
    };
    let delivery_count = record
        .attributes
        .get("ApproximateReceiveCount")
        .and_then(|c| c.parse().ok())
        .unwrap_or(1);
    let enqueued_at = record
        .attributes
        .get("SentTimestamp")
        .and_then(|t| t.parse::<u64>().ok())
        .map(|ms| DateTime::<Utc>::from(UNIX_EPOCH + Duration::from_millis(ms)));
    let mut msg = QueueMessage::new(queue, id, body)
        .with_delivery_count(delivery_count)
        .with_enqueued_at(enqueued_at);
    msg.content_type = content_type;
    msg.attributes = attributes;
    let source = record.event_source_arn.as_deref().unwrap_or("aws:sqs");
    Ok(msg.to_cloudevent(source))
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
        self.queues.get(native).cloned().unwrap_or_else(|| native.to_owned())
    }

    fn bucket_for(&self, native: &str) -> String {
        self.buckets.get(native).cloned().unwrap_or_else(|| native.to_owned())
    }
}

/// An SQS batch as (logical queue, event) pairs, one per record, in order. A record that cannot be
/// decoded is an error at its position, so only it fails.
pub fn sqs_events(event: &SqsEvent, names: &Names) -> Vec<(String, Result<cloudevents::Event>)> {
    event
        .records
        .iter()
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
pub fn s3_record_event(record: &S3EventRecord, names: &Names) -> Option<(String, cloudevents::Event)> {
    let event_name = record.event_name.as_deref().unwrap_or_default();
    let native_bucket = record.s3.bucket.name.as_deref().unwrap_or_default();
    let bucket = names.bucket_for(native_bucket);
    let key = decode_key(record.s3.object.key.as_deref().unwrap_or_default());
    let ev = if event_name.starts_with("ObjectCreated") {
        BlobEvent::created(&bucket, &key)
            .with_size(record.s3.object.size.and_then(|s| u64::try_from(s).ok()))
    } else if event_name.starts_with("ObjectRemoved") || event_name.starts_with("LifecycleExpiration") {
        BlobEvent::deleted(&bucket, &key)
    } else {
        return None;
    };
    let ev = ev
        .with_etag(record.s3.object.e_tag.clone())
        .with_time(Some(record.event_time));
    let source = format!("arn:aws:s3:::{native_bucket}");
    let id = format!(
        "{native_bucket}/{key}/{}",
        record.s3.object.sequencer.as_deref().unwrap_or(event_name)
    );
    Some((bucket, ev.to_cloudevent(&source, &id)))
}

/// The rule name of a scheduled event (the part after `rule/` of its resource ARN).
pub fn schedule_rule(event: &EventBridgeEvent<serde_json::Value>) -> Option<String> {
    event
        .resources
        .as_ref()?
        .iter()
        .find_map(|r| r.split_once(":rule/").map(|(_, name)| name.rsplit('/').next().unwrap_or(name).to_owned()))
}

/// A scheduled event as a portable tick of `schedule`.
pub fn schedule_event(event: &EventBridgeEvent<serde_json::Value>, schedule: &str) -> cloudevents::Event {
    let time = event.time.unwrap_or_else(Utc::now);
    let source = event
        .resources
        .as_ref()
        .and_then(|r| r.first().cloned())
        .unwrap_or_else(|| event.source.clone());
    let id = event.id.clone().unwrap_or_else(|| format!("{schedule}-{}", time.timestamp()));
    ScheduleTick::new(schedule, time).to_cloudevent(&source, &id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffing_reads_compact_and_pretty_json() {
        assert_eq!(sniff(br#"{"Records":[{"eventSource":"aws:sqs"}]}"#, "eventSource"), Some("aws:sqs"));
        assert_eq!(sniff(b"{ \"eventSource\" :\n \"aws:s3\" }", "eventSource"), Some("aws:s3"));
        assert_eq!(sniff(br#"{"body":"{\"eventSource\":\"aws:s3\"}"}"#, "eventSource"), None);
    }

    #[test]
    fn keys_are_url_decoded() {
        assert_eq!(decode_key("a+b%2Fc%C3%A9.txt"), "a b/cé.txt");
    }

    #[test]
    fn unknown_payloads_are_malformed() {
        assert_eq!(decode(br#"{"hello":1}"#).unwrap_err().kind(), ErrorKind::Malformed);
        assert_eq!(decode(br#"{"Records":[{"eventSource":"aws:sqs","body":5}]}"#).unwrap_err().kind(), ErrorKind::Malformed);
    }
}
