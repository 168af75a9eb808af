//! SQS batches (the event source mapping's payload,
//! <https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html>): each record a portable queue
//! message of its logical queue.
//!
//! A record whose body is an SNS notification envelope — an SNS → SQS subscription without raw
//! message delivery (<https://docs.aws.amazon.com/sns/latest/dg/sns-large-payload-raw-message-delivery.html>)
//! — is unwrapped (strictly: [`super::sns`] says what makes an envelope): the message's body is the SNS `Message`, its
//! attributes the SNS message attributes (with the record's own SQS message attributes, which win);
//! it stays a message of its queue (same id, delivery count, acknowledgement). A raw-delivery
//! record, or any other body, is taken as it is.

use std::collections::BTreeMap;

use base64::Engine;
use chrono::{DateTime, Utc};
use cloudport_core::event::QueueMessage;
use cloudport_core::queue::wire::{
    BASE64, BODY_ENCODING_ATTRIBUTE, CONTENT_TYPE_ATTRIBUTE, ORDERING_KEY_ATTRIBUTE,
};
use cloudport_core::validate::normalize_attribute_name;
use cloudport_core::{Error, ErrorKind};
use serde::Deserialize;

use super::Names;

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
    /// A FIFO queue's message group: the message's ordering key.
    #[serde(rename = "MessageGroupId", default)]
    message_group_id: Option<String>,
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
    /// delivery count and enqueue time. Moved to a dead-letter queue, nothing of it is lost. (For
    /// an SNS-wrapped record, the body is the SNS `Message` as SNS delivered it, and the
    /// attributes the SNS message attributes: the envelope's signature fields are not kept.)
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
    // An SNS envelope is unwrapped; its attributes come first, so the record's own win.
    let (text, sns_attributes) = match record.body {
        Some(body) => match super::sns::unwrap_envelope(&body) {
            Some(envelope) => (envelope.message, envelope.attributes),
            None => (body, Vec::new()),
        },
        None => (String::new(), Vec::new()),
    };
    let own = record
        .message_attributes
        .into_iter()
        .map(|(name, value)| (name, value.string_value));
    let mut attributes = BTreeMap::new();
    let mut content_type = None;
    let mut encoding = None;
    for (name, value) in sns_attributes
        .into_iter()
        .map(|(name, value)| (name, Some(value)))
        .chain(own)
    {
        let Some(text) = value else {
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
    // A FIFO message's group is its ordering key, read back as on every other path
    // (`ReceivedMessage::ordering_key`), so a handler sees the key it was sent with.
    if let Some(group) = record.attributes.message_group_id.filter(|g| !g.is_empty())
        && record
            .event_source_arn
            .as_deref()
            .is_some_and(|a| a.ends_with(".fifo"))
    {
        attributes.insert(ORDERING_KEY_ATTRIBUTE.to_owned(), group);
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

#[cfg(test)]
mod tests {
    use super::super::{Payload, decode};
    use super::*;

    fn message(event: &cloudevents::Event) -> QueueMessage {
        cloudport_core::event::Event::<QueueMessage>::try_from(event.clone())
            .unwrap()
            .data()
            .clone()
    }

    #[test]
    fn a_fifo_message_group_is_the_ordering_key() {
        // The FIFO record shape: https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html
        let record = |arn: &str| {
            format!(
                r#"{{"Records":[{{"messageId":"m-1","body":"x","attributes":{{"ApproximateReceiveCount":"1",
                "SentTimestamp":"1573251510774","SequenceNumber":"18849496460467696128",
                "MessageGroupId":"customer-7","MessageDeduplicationId":"d-1","SenderId":"s"}},
                "messageAttributes":{{}},"eventSource":"aws:sqs","eventSourceARN":"{arn}"}}]}}"#
            )
        };
        let key = |arn: &str| {
            let Payload::Sqs(batch) = decode(record(arn).as_bytes()).unwrap() else {
                panic!("not SQS")
            };
            let (_, event) = sqs_events(batch, &Names::default()).remove(0);
            message(&event.unwrap())
                .attributes
                .get(ORDERING_KEY_ATTRIBUTE)
                .cloned()
        };
        assert_eq!(
            key("arn:aws:sqs:us-east-1:1:orders.fifo").as_deref(),
            Some("customer-7")
        );
        // A standard queue's (fair queue) group id is not an ordering key.
        assert_eq!(key("arn:aws:sqs:us-east-1:1:orders"), None);
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
        let msg = message(event.as_ref().unwrap());
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

    /// An SNS → SQS record without raw delivery, as in
    /// <https://docs.aws.amazon.com/sns/latest/dg/sns-sqs-as-subscriber.html> (the body is SNS's
    /// JSON envelope, pretty-printed as SNS writes it).
    fn sns_wrapped(envelope: &serde_json::Value, own: serde_json::Value) -> Vec<u8> {
        // SNS writes `Type` first.
        let mut rest = envelope.clone();
        let ty = rest.as_object_mut().unwrap().remove("Type").unwrap();
        let rest = serde_json::to_string_pretty(&rest)
            .unwrap()
            .replace("\": ", "\" : ");
        let body = format!("{{\n  \"Type\" : {ty},{}", &rest[1..]);
        serde_json::to_vec(&serde_json::json!({"Records": [{
            "messageId": "sqs-1", "receiptHandle": "r", "body": body,
            "attributes": {"ApproximateReceiveCount": "2", "SentTimestamp": "1545082649183"},
            "messageAttributes": own, "md5OfBody": "x", "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:1:orders", "awsRegion": "us-east-1"}]}))
        .unwrap()
    }

    fn envelope() -> serde_json::Value {
        serde_json::json!({
            "Type": "Notification",
            "MessageId": "sns-1",
            "TopicArn": "arn:aws:sns:us-east-1:1:orders-topic",
            "Subject": "s",
            "Message": "aGVsbG8=",
            "Timestamp": "2026-11-26T03:00:00.000Z",
            "SignatureVersion": "1",
            "Signature": "EXAMPLE",
            "SigningCertURL": "https://sns.us-east-1.amazonaws.com/cert.pem",
            "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
            "MessageAttributes": {
                "Tenant": {"Type": "String", "Value": "acme"},
                "cloudportencoding": {"Type": "String", "Value": "base64"},
                "datacontenttype": {"Type": "String", "Value": "text/plain"}
            }
        })
    }

    fn only_message(payload: &[u8]) -> QueueMessage {
        let Payload::Sqs(batch) = decode(payload).unwrap() else {
            panic!("not SQS")
        };
        let (_, event) = sqs_events(batch, &Names::default()).pop().unwrap();
        message(&event.unwrap())
    }

    #[test]
    fn an_sns_wrapped_record_is_unwrapped() {
        let own = serde_json::json!({"region": {"stringValue": "eu", "dataType": "String"}});
        let msg = only_message(&sns_wrapped(&envelope(), own));
        assert_eq!(msg.id, "sqs-1");
        assert_eq!(msg.body.as_ref(), b"hello");
        assert_eq!(msg.content_type.as_deref(), Some("text/plain"));
        assert_eq!(msg.attributes["tenant"], "acme");
        assert_eq!(msg.attributes["region"], "eu");
        assert_eq!(msg.delivery_count, 2);
    }

    #[test]
    fn a_body_that_only_looks_like_an_envelope_is_left_alone() {
        for strip in ["Signature", "TopicArn", "MessageId"] {
            let mut e = envelope();
            e.as_object_mut().unwrap().remove(strip);
            if strip == "Signature" {
                e.as_object_mut().unwrap().remove("UnsubscribeURL");
            }
            let payload = sns_wrapped(&e, serde_json::json!({}));
            let msg = only_message(&payload);
            assert!(
                msg.body.starts_with(b"{\n  \"Type\""),
                "without {strip}, the body stays as delivered"
            );
        }
        let mut e = envelope();
        e["Type"] = serde_json::json!("SubscriptionConfirmation");
        assert!(
            only_message(&sns_wrapped(&e, serde_json::json!({})))
                .body
                .starts_with(b"{")
        );
    }
}
