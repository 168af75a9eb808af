//! S3 event notifications delivered to Lambda
//! (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html>):
//! writes and removals are portable blob events, every other kind a CloudEvent named after its
//! `eventName` ([`s3_event`]).

use aws_lambda_events::s3::S3EventRecord;
use cloudport_core::event::BlobEvent;
use cloudport_core::{Error, ErrorKind, Result, Trigger};
use serde_json::value::RawValue;

use super::{Names, malformed};

/// S3 event notifications, each record kept as S3 wrote it (decoded one by one by [`s3_event`]),
/// so a record of a kind cloudport has no portable event for reaches the app unchanged.
pub type S3Notification = super::Records;

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
///   portable blob event ([`BlobEvent`]) for [`Trigger::Blob`] of the bucket's logical name, when
///   a blob trigger takes the bucket ([`Names::bucket`]); of any other bucket, like the next case;
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
    let key = decode_key(parsed.s3.object.key.as_deref().unwrap_or_default());
    let source = format!("arn:aws:s3:::{native_bucket}");
    // A bucket no blob trigger takes keeps S3's own event type, as on every other path.
    let Some(bucket) = names.bound_bucket(native_bucket).map(str::to_owned) else {
        return other_s3_event(record, &parsed, native_bucket.to_owned(), &key, source);
    };
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
    let etag = parsed
        .s3
        .object
        .e_tag
        .as_deref()
        .map(cloudport_core::event::quoted_etag);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_url_decoded() {
        assert_eq!(decode_key("a+b%2Fc%C3%A9.txt"), "a b/cé.txt");
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
}
