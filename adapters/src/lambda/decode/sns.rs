//! SNS notifications: delivered to Lambda by a topic subscription
//! (<https://docs.aws.amazon.com/lambda/latest/dg/with-sns.html>), and wrapped in SQS messages by
//! an SNS → SQS subscription without raw message delivery
//! (<https://docs.aws.amazon.com/sns/latest/dg/sns-sqs-as-subscriber.html>).
//!
//! A Lambda SNS record is a CloudEvent after the CloudEvents AWS SNS adapter
//! (<https://github.com/cloudevents/spec/blob/main/cloudevents/adapters/aws-sns.md>): type
//! `com.amazonaws.sns.` + the message's `Type` — [`SNS_NOTIFICATION_TYPE`], the only type Lambda
//! delivers, one stable name handlers route by —, `id` the `MessageId`, `time` the `Timestamp`,
//! `subject` the `Subject` when there is one. Two deliberate differences: `source` is the
//! `TopicArn` (the adapter takes the subscription ARN, which names the consumer, not where the
//! event happened; it is kept as extension `awssubscriptionarn`), and `data` is the `Message`
//! unchanged, as text (the adapter's data is the whole HTTP payload, envelope included), with
//! content type the `datacontenttype` message attribute when the publisher set one, else
//! `text/plain; charset=utf-8`.
//!
//! Message attributes (`{"Type": "String" | "Number" | "Binary" | "String.Array", "Value": …}`,
//! <https://docs.aws.amazon.com/sns/latest/dg/sns-message-attributes.html>) become extensions,
//! their value the attribute's `Value` as SNS delivers it (a Binary one base64, a number or string
//! array as its text), under the name cloudport's attribute rule makes of theirs (lowercase ASCII
//! letters and digits, at most 20: `normalize_attribute_name`); an attribute whose name makes no
//! valid name, a CloudEvents attribute name (`id`, `type`, …), or a name already taken (by an
//! earlier attribute, in name order, or `awssubscriptionarn`), is dropped and logged.
//!
//! A `Message` that is itself a structured-mode CloudEvent (the JSON event format,
//! <https://github.com/cloudevents/spec/blob/main/cloudevents/formats/json-format.md>: an object
//! with `specversion`, `id`, `source`, `type`) is delivered as that event.
//!
//! **Topics.** A record of a topic an app's topic trigger is bound to — the last part of its
//! `TopicArn` is the topic name of a `CLOUDPORT_TOPIC_<NAME>=sns://<topic>…` binding
//! ([`Names::topic`]) — is for [`Trigger::Topic`] of that logical name, and its `Message` is read
//! as the SNS topic driver publishes it: the event whole, in structured mode
//! ([`cloudport_core::topic::wire::from_structured`]), so its type, source, extensions, data and
//! `traceparent` (the publisher's trace) arrive unchanged. A message on a bound topic that is not
//! a CloudEvent (published by something other than cloudport, with `aws sns publish`, say) is not
//! dropped: it is delivered to the same topic trigger as the notification CloudEvent above
//! (type [`SNS_NOTIFICATION_TYPE`], data the message), and logged. Records of other topics are
//! for [`Trigger::Event`] as above. (An SQS queue subscribed to a bound topic is unaffected: its
//! records stay messages of their queue.)
//!
//! An SQS body is taken for an SNS notification envelope
//! (<https://docs.aws.amazon.com/sns/latest/dg/sns-message-and-json-formats.html#http-notification-json>)
//! only when it starts like one (`{` then `"Type"`, as SNS writes it) and is one: `Type`
//! `Notification`, a `MessageId`, an SNS `TopicArn`, a `Message`, an RFC 3339 `Timestamp`, and
//! the signature (`SignatureVersion` and `Signature`) or the `UnsubscribeURL`. Anything else —
//! an ordinary JSON body, a raw-delivery message — is left as it is.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use cloudevents::{EventBuilder, EventBuilderV10};
use cloudport_core::queue::wire::CONTENT_TYPE_ATTRIBUTE;
use cloudport_core::topic::wire::from_structured;
use cloudport_core::validate::normalize_attribute_name;
use cloudport_core::{Error, ErrorKind, Result, Trigger};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::{Names, malformed};

/// The CloudEvents type of an SNS notification: `com.amazonaws.sns.` + `Notification`, as the
/// CloudEvents AWS SNS adapter names it.
pub const SNS_NOTIFICATION_TYPE: &str = "com.amazonaws.sns.Notification";

/// The extension holding the subscription ARN of a Lambda SNS record.
const SUBSCRIPTION_EXTENSION: &str = "awssubscriptionarn";

/// SNS notifications delivered to Lambda, each record kept as SNS wrote it (decoded one by one by
/// [`sns_event`], so one malformed record does not hide the others).
pub type SnsNotification = super::Records;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SnsRecord {
    event_subscription_arn: Option<String>,
    sns: SnsMessage,
}

/// The fields of a Lambda SNS record's `Sns` object cloudport reads.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SnsMessage {
    #[serde(rename = "Type")]
    kind: Option<String>,
    message_id: String,
    topic_arn: String,
    #[serde(default)]
    subject: Option<String>,
    message: String,
    timestamp: Option<DateTime<Utc>>,
    #[serde(default)]
    message_attributes: Option<BTreeMap<String, SnsAttribute>>,
}

/// A message attribute as SNS delivers it (`{"Type": "String", "Value": "…"}`).
#[derive(Debug, Deserialize)]
struct SnsAttribute {
    #[serde(rename = "Value")]
    value: String,
}

/// One Lambda SNS record as the CloudEvent described in the module's documentation: for
/// [`Trigger::Topic`] when `names` binds its topic, else for [`Trigger::Event`] of its type. A
/// record that is not an SNS notification record is `Malformed`.
pub fn sns_event(record: &RawValue, names: &Names) -> Result<(Trigger, cloudevents::Event)> {
    let record: SnsRecord =
        serde_json::from_str(record.get()).map_err(|e| malformed("SNS event record", e))?;
    if let Some(topic) = names.bound_topic_for_arn(&record.sns.topic_arn) {
        let trigger = Trigger::Topic(topic.to_owned());
        return match from_structured(record.sns.message.as_bytes()) {
            Ok(event) => Ok((trigger, event)),
            Err(e) => {
                tracing::warn!(message_id = %record.sns.message_id, topic, error = %e,
                    "a message on a bound topic is not a CloudEvent; delivering the SNS notification to the topic's handler");
                notification(record).map(|(_, event)| (trigger, event))
            }
        };
    }
    if let Some(inner) = structured_cloudevent(&record.sns.message, &record.sns.message_id) {
        use cloudevents::AttributesReader;
        return Ok((Trigger::Event(inner.ty().to_owned()), inner));
    }
    notification(record)
}

/// A record as the CloudEvents AWS SNS adapter's notification event, for [`Trigger::Event`] of
/// its type.
fn notification(record: SnsRecord) -> Result<(Trigger, cloudevents::Event)> {
    let sns = record.sns;
    let kind = sns
        .kind
        .as_deref()
        .filter(|k| !k.is_empty())
        .unwrap_or("Notification");
    let ty = format!("com.amazonaws.sns.{kind}");
    let mut content_type = None;
    let mut extensions = BTreeMap::new();
    for (name, attribute) in sns.message_attributes.unwrap_or_default() {
        if name == CONTENT_TYPE_ATTRIBUTE {
            content_type = Some(attribute.value);
            continue;
        }
        match normalize_attribute_name(&name) {
            Some(n) if n == SUBSCRIPTION_EXTENSION || extensions.contains_key(&n) => {
                tracing::warn!(message_id = %sns.message_id, attribute = %name, extension = %n,
                    "dropping an SNS message attribute whose extension name is taken");
            }
            Some(n) => {
                extensions.insert(n, attribute.value);
            }
            None => tracing::warn!(message_id = %sns.message_id, attribute = %name,
                "dropping an SNS message attribute with no valid CloudEvents extension name"),
        }
    }
    let mut builder = EventBuilderV10::new()
        .id(sns.message_id.clone())
        .ty(ty.clone())
        .source(sns.topic_arn)
        .data(
            content_type.unwrap_or_else(|| "text/plain; charset=utf-8".to_owned()),
            sns.message,
        );
    if let Some(time) = sns.timestamp {
        builder = builder.time(time);
    }
    if let Some(subject) = sns.subject.filter(|s| !s.is_empty()) {
        builder = builder.subject(subject);
    }
    if let Some(arn) = record.event_subscription_arn.filter(|a| !a.is_empty()) {
        builder = builder.extension(SUBSCRIPTION_EXTENSION, arn);
    }
    for (name, value) in extensions {
        builder = builder.extension(&name, value);
    }
    let event = builder.build().map_err(|e| {
        Error::new(
            ErrorKind::Malformed,
            format!(
                "the SNS message {:?} does not make a CloudEvent: {e}",
                sns.message_id
            ),
        )
    })?;
    Ok((Trigger::Event(ty), event))
}

/// The structured-mode CloudEvent a message holds, if it holds one. A message that looks like one
/// (a JSON object naming `specversion`) but is not a valid CloudEvent is delivered as an ordinary
/// notification, and logged.
fn structured_cloudevent(message: &str, message_id: &str) -> Option<cloudevents::Event> {
    if !message.trim_start().starts_with('{') || !message.contains("\"specversion\"") {
        return None;
    }
    match from_structured(message.as_bytes()) {
        Ok(event) => Some(event),
        Err(e) => {
            tracing::warn!(%message_id, error = %e,
                "an SNS message names a specversion but is not a CloudEvent; delivering it as a notification");
            None
        }
    }
}

/// An SNS notification envelope as an SQS body carries it (without raw message delivery):
/// <https://docs.aws.amazon.com/sns/latest/dg/sns-message-and-json-formats.html#http-notification-json>.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Envelope {
    #[serde(rename = "Type")]
    kind: String,
    message_id: String,
    topic_arn: String,
    message: String,
    timestamp: String,
    signature_version: Option<String>,
    signature: Option<String>,
    #[serde(rename = "UnsubscribeURL")]
    unsubscribe_url: Option<String>,
    #[serde(default)]
    message_attributes: Option<BTreeMap<String, SnsAttribute>>,
}

/// An SNS notification taken out of its envelope: the `Message` and the message attributes
/// (name, `Value`), in name order.
#[derive(Debug)]
pub(crate) struct Unwrapped {
    pub(crate) message: String,
    pub(crate) attributes: Vec<(String, String)>,
}

/// The SNS notification an SQS body holds, if it is one. Strict, so that an ordinary JSON body is
/// never misread: the body must start like SNS's envelope (`{` then `"Type"`, a test costing a few
/// bytes, so other bodies are not parsed twice) and be one — `Type` `Notification`, a
/// `MessageId`, an SNS `TopicArn`, a `Message`, an RFC 3339 `Timestamp`, and the signature
/// (`SignatureVersion` and `Signature`) or the `UnsubscribeURL`.
pub(crate) fn unwrap_envelope(body: &str) -> Option<Unwrapped> {
    let starts_like_one = body
        .trim_ascii_start()
        .strip_prefix('{')
        .is_some_and(|rest| rest.trim_ascii_start().starts_with("\"Type\""));
    if !starts_like_one {
        return None;
    }
    let envelope: Envelope = serde_json::from_str(body).ok()?;
    let is_one = envelope.kind == "Notification"
        && !envelope.message_id.is_empty()
        && envelope.topic_arn.starts_with("arn:")
        && envelope.topic_arn.contains(":sns:")
        && DateTime::parse_from_rfc3339(&envelope.timestamp).is_ok()
        && ((envelope.signature_version.is_some() && envelope.signature.is_some())
            || envelope.unsubscribe_url.is_some());
    is_one.then(|| Unwrapped {
        message: envelope.message,
        attributes: envelope
            .message_attributes
            .unwrap_or_default()
            .into_iter()
            .map(|(name, a)| (name, a.value))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use cloudevents::AttributesReader;

    use super::*;

    /// The SNS record of <https://docs.aws.amazon.com/lambda/latest/dg/with-sns.html>.
    fn record(message: &str) -> serde_json::Value {
        serde_json::json!({
            "EventVersion": "1.0",
            "EventSubscriptionArn": "arn:aws:sns:us-east-1:123456789012:sns-lambda:21be56ed-a058-49f5-8c98-aedd2564c486",
            "EventSource": "aws:sns",
            "Sns": {
                "SignatureVersion": "1", "Timestamp": "2019-01-02T12:45:07.000Z",
                "Signature": "tcc6faL2yUC6dgZdmrwh1Y4cGa/ebXEkAi6RibDsvpi+tE/1+82j...65r==",
                "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-ac565b8b1a6c5d002d285f9598aa1d9b.pem",
                "MessageId": "95df01b4-ee98-5cb9-9903-4c221d41eb5e", "Message": message,
                "MessageAttributes": {
                    "Test": {"Type": "String", "Value": "TestString"},
                    "TestBinary": {"Type": "Binary", "Value": "TestBinary"},
                    "Retry-Count": {"Type": "Number", "Value": "3"},
                    "retrycount": {"Type": "Number", "Value": "9"},
                    "id": {"Type": "String", "Value": "not an extension"}
                },
                "Type": "Notification",
                "UnsubscribeUrl": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&amp;SubscriptionArn=arn:aws:sns:us-east-1:123456789012:test-lambda:21be56ed-a058-49f5-8c98-aedd2564c486",
                "TopicArn": "arn:aws:sns:us-east-1:123456789012:sns-lambda",
                "Subject": "TestInvoke"
            }
        })
    }

    fn event(value: &serde_json::Value) -> (Trigger, cloudevents::Event) {
        sns_event(
            &RawValue::from_string(value.to_string()).unwrap(),
            &Names::default(),
        )
        .unwrap()
    }

    #[test]
    fn a_notification_is_a_cloudevent_of_the_sns_adapter() {
        let (trigger, ce) = event(&record("Hello from SNS!"));
        assert_eq!(trigger, Trigger::Event(SNS_NOTIFICATION_TYPE.to_owned()));
        assert_eq!(ce.ty(), SNS_NOTIFICATION_TYPE);
        assert_eq!(ce.id(), "95df01b4-ee98-5cb9-9903-4c221d41eb5e");
        assert_eq!(
            ce.source().as_str(),
            "arn:aws:sns:us-east-1:123456789012:sns-lambda"
        );
        assert_eq!(ce.subject(), Some("TestInvoke"));
        assert_eq!(ce.time().unwrap().to_rfc3339(), "2019-01-02T12:45:07+00:00");
        assert_eq!(ce.datacontenttype(), Some("text/plain; charset=utf-8"));
        assert_eq!(
            ce.data(),
            Some(&cloudevents::Data::String("Hello from SNS!".to_owned()))
        );
        let ext = |n| ce.extension(n).map(ToString::to_string);
        assert_eq!(ext("test").as_deref(), Some("TestString"));
        assert_eq!(ext("testbinary").as_deref(), Some("TestBinary"));
        // `Retry-Count` and `retrycount` make the same name: the first, in name order, keeps it.
        assert_eq!(ext("retrycount").as_deref(), Some("3"));
        assert!(
            ext("awssubscriptionarn")
                .unwrap()
                .ends_with(":sns-lambda:21be56ed-a058-49f5-8c98-aedd2564c486")
        );
        // `id` is a CloudEvents attribute: the attribute is dropped (and logged), not the id.
        assert_eq!(ce.id(), "95df01b4-ee98-5cb9-9903-4c221d41eb5e");
    }

    #[test]
    fn a_message_that_is_a_cloudevent_is_delivered_as_that_event() {
        let inner = serde_json::json!({"specversion": "1.0", "id": "ce-1", "source": "/orders",
            "type": "com.example.order.placed", "datacontenttype": "application/json",
            "data": {"orderId": "o-1"}});
        let (trigger, ce) = event(&record(&inner.to_string()));
        assert_eq!(
            trigger,
            Trigger::Event("com.example.order.placed".to_owned())
        );
        assert_eq!(ce.id(), "ce-1");
        assert_eq!(ce.source().as_str(), "/orders");
        assert_eq!(
            ce.data(),
            Some(&cloudevents::Data::Json(
                serde_json::json!({"orderId": "o-1"})
            ))
        );
        // Not a valid CloudEvent (no type): an ordinary notification, the message unchanged.
        let broken = r#"{"specversion": "1.0", "id": "ce-1", "source": "/orders"}"#;
        let (trigger, ce) = event(&record(broken));
        assert_eq!(trigger, Trigger::Event(SNS_NOTIFICATION_TYPE.to_owned()));
        assert_eq!(
            ce.data(),
            Some(&cloudevents::Data::String(broken.to_owned()))
        );
    }

    #[test]
    fn a_record_of_a_bound_topic_is_for_its_topic_trigger() {
        let names = Names::default().topic("sns-lambda", "alerts");
        let published = EventBuilderV10::new()
            .id("ev-1")
            .source("/shop")
            .ty("order.placed")
            .extension("tenant", "acme")
            .data("application/json", serde_json::json!({"total": 3}))
            .build()
            .unwrap();
        let message =
            String::from_utf8(cloudport_core::topic::wire::to_structured(&published).unwrap())
                .unwrap();
        let raw = RawValue::from_string(record(&message).to_string()).unwrap();
        let (trigger, ce) = sns_event(&raw, &names).unwrap();
        assert_eq!(trigger, Trigger::Topic("alerts".to_owned()));
        assert_eq!(ce, published);
        // Not a CloudEvent: the notification, still for the topic's trigger.
        let raw = RawValue::from_string(record("plain text").to_string()).unwrap();
        let (trigger, ce) = sns_event(&raw, &names).unwrap();
        assert_eq!(trigger, Trigger::Topic("alerts".to_owned()));
        assert_eq!(ce.ty(), SNS_NOTIFICATION_TYPE);
        assert_eq!(
            ce.data(),
            Some(&cloudevents::Data::String("plain text".to_owned()))
        );
        // Another topic's record: today's mapping.
        let other = Names::default().topic("other-topic", "alerts");
        let raw = RawValue::from_string(record(&message).to_string()).unwrap();
        let (trigger, _) = sns_event(&raw, &other).unwrap();
        assert_eq!(trigger, Trigger::Event("order.placed".to_owned()));
    }

    #[test]
    fn a_record_without_the_sns_fields_is_malformed() {
        let mut r = record("x");
        r["Sns"].as_object_mut().unwrap().remove("MessageId");
        let raw = RawValue::from_string(r.to_string()).unwrap();
        assert_eq!(
            sns_event(&raw, &Names::default()).unwrap_err().kind(),
            ErrorKind::Malformed
        );
    }

    #[test]
    fn only_an_sns_envelope_is_unwrapped() {
        let envelope = r#"{
  "Type" : "Notification",
  "MessageId" : "m-1",
  "TopicArn" : "arn:aws:sns:us-east-1:1:t",
  "Message" : "hi",
  "Timestamp" : "2026-11-26T03:00:00.000Z",
  "SignatureVersion" : "1",
  "Signature" : "x",
  "UnsubscribeURL" : "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
  "MessageAttributes" : {"a" : {"Type" : "String", "Value" : "1"}}
}"#;
        let unwrapped = unwrap_envelope(envelope).unwrap();
        assert_eq!(unwrapped.message, "hi");
        assert_eq!(unwrapped.attributes, vec![("a".to_owned(), "1".to_owned())]);
        for not_one in [
            r#"{"Type":"Notification","Message":"hi"}"#,
            r#"{"Message":"hi","Type":"Notification"}"#,
            r#"{"Type":"Notification","MessageId":"m","TopicArn":"orders","Message":"hi","Timestamp":"2026-11-26T03:00:00Z","UnsubscribeURL":"u"}"#,
            r#"{"Type":"Notification","MessageId":"m","TopicArn":"arn:aws:sns:r:1:t","Message":"hi","Timestamp":"yesterday","UnsubscribeURL":"u"}"#,
            "plain text",
        ] {
            assert!(unwrap_envelope(not_one).is_none(), "{not_one}");
        }
    }
}
