//! EventBridge events delivered to Lambda (the event envelope:
//! <https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-events-structure.html>).
//!
//! - A scheduled event is a portable schedule tick ([`schedule_event`]).
//! - An S3 `Object Created` / `Object Deleted` event
//!   (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html>) of a bucket the app
//!   binds is the portable blob event of that bucket. Its key is taken as EventBridge gives it, not
//!   URL-decoded: S3's EventBridge event documentation gives `detail.object.key` as the object's
//!   key, without the URL-encoding note of the notification format
//!   (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html>);
//!   observed on AWS, keys such as `video+data.mp4` arrive unencoded
//!   (<https://github.com/aws-solutions-library-samples/guidance-for-medialake-on-aws/pull/21>),
//!   and moto URL-encodes keys for notifications only, not for EventBridge
//!   (<https://github.com/getmoto/moto/pull/9060>).
//! - Any other event, of any source and detail type, is a CloudEvent following AWS's own
//!   EventBridge → CloudEvents mapping (the input transformer of
//!   <https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-api-destinations-cloudevents.html>
//!   and <https://aws.amazon.com/blogs/compute/sending-and-receiving-cloudevents-with-amazon-eventbridge/>):
//!   `id` ← `id`, `source` ← `source`, `type` ← `detail-type`, `time` ← `time`, `data` ←
//!   `detail` (`application/json`), plus `subject` ← the first of `resources` and the extensions
//!   `awsaccount` ← `account`, `awsregion` ← `region` ([`eventbridge_event`]).

use aws_lambda_events::eventbridge::EventBridgeEvent;
use chrono::Utc;
use cloudevents::{EventBuilder, EventBuilderV10};
use cloudport_core::event::{BlobEvent, ScheduleTick};
use cloudport_core::{Error, ErrorKind, Result, Trigger};

use super::Names;

/// The `detail-type` of S3's EventBridge event for a new object (any `PutObject`, `POST`,
/// `CopyObject` or `CompleteMultipartUpload`):
/// <https://docs.aws.amazon.com/AmazonS3/latest/userguide/EventBridge.html>.
pub const S3_DETAIL_TYPE_CREATED: &str = "Object Created";

/// The `detail-type` of S3's EventBridge event for a removed object (`DeleteObject`, a delete
/// marker, a lifecycle expiration): <https://docs.aws.amazon.com/AmazonS3/latest/userguide/EventBridge.html>.
pub const S3_DETAIL_TYPE_DELETED: &str = "Object Deleted";

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

/// An EventBridge event (not a scheduled one) as the event of its trigger:
///
/// - an S3 `Object Created` / `Object Deleted` event (`source: aws.s3`) whose bucket
///   (`detail.bucket.name`) `names` binds: the portable blob event ([`BlobEvent`], as for an S3
///   notification) for [`Trigger::Blob`] of the bucket's logical name — key
///   `detail.object.key` as given (EventBridge, unlike S3 notifications, does not URL-encode it:
///   see the module's documentation), size and ETag (quoted, as the S3 API has it) when given, time the
///   event's, id the EventBridge event id, source the bucket's ARN;
/// - any other event: for [`Trigger::Event`] of its `detail-type`, a CloudEvent as the module's
///   documentation describes, `data` the `detail` unchanged.
///
/// An event without an `id`, or with an empty `source` or `detail-type`, is `Malformed`.
pub fn eventbridge_event(
    event: EventBridgeEvent<serde_json::Value>,
    names: &Names,
) -> Result<(Trigger, cloudevents::Event)> {
    let Some(id) = event.id.clone().filter(|id| !id.is_empty()) else {
        return Err(Error::new(
            ErrorKind::Malformed,
            "an EventBridge event without an id",
        ));
    };
    if event.source.is_empty() || event.detail_type.is_empty() {
        return Err(Error::new(
            ErrorKind::Malformed,
            format!("the EventBridge event {id:?} has an empty source or detail-type"),
        ));
    }
    if event.source == "aws.s3"
        && let Some(target) = s3_object_event(&event, &id, names)
    {
        return Ok(target);
    }
    let ty = event.detail_type;
    let mut builder = EventBuilderV10::new()
        .id(id.clone())
        .ty(ty.clone())
        .source(event.source)
        .data("application/json", event.detail);
    if let Some(time) = event.time {
        builder = builder.time(time);
    }
    if let Some(subject) = event.resources.and_then(|r| r.into_iter().next()) {
        builder = builder.subject(subject);
    }
    if let Some(account) = event.account.filter(|a| !a.is_empty()) {
        builder = builder.extension("awsaccount", account);
    }
    if let Some(region) = event.region.filter(|r| !r.is_empty()) {
        builder = builder.extension("awsregion", region);
    }
    let ce = builder.build().map_err(|e| {
        Error::new(
            ErrorKind::Malformed,
            format!("the EventBridge event {id:?} does not make a CloudEvent: {e}"),
        )
    })?;
    Ok((Trigger::Event(ty), ce))
}

/// An S3 `Object Created` / `Object Deleted` EventBridge event of a bound bucket as the bucket's
/// portable blob event; `None` for other detail types, unbound buckets, or an event without a
/// bucket name or object key (those go to the app's event handlers as they are).
///
/// The key is taken as EventBridge gives it (see the module's documentation).
fn s3_object_event(
    event: &EventBridgeEvent<serde_json::Value>,
    id: &str,
    names: &Names,
) -> Option<(Trigger, cloudevents::Event)> {
    let created = match event.detail_type.as_str() {
        S3_DETAIL_TYPE_CREATED => true,
        S3_DETAIL_TYPE_DELETED => false,
        _ => return None,
    };
    let detail = &event.detail;
    let native = detail.pointer("/bucket/name")?.as_str()?;
    let bucket = names.bound_bucket(native)?;
    let object = detail.get("object")?;
    let key = object.get("key")?.as_str()?;
    let blob = if created {
        BlobEvent::created(bucket, key).with_size(object.get("size").and_then(|s| s.as_u64()))
    } else {
        BlobEvent::deleted(bucket, key)
    };
    // EventBridge carries the ETag bare; the S3 API (and so `Bucket::head`) quotes it.
    let etag = object
        .get("etag")
        .and_then(|e| e.as_str())
        .filter(|e| !e.is_empty())
        .map(cloudport_core::event::quoted_etag);
    let blob = blob.with_etag(etag).with_time(event.time);
    let source = format!("arn:aws:s3:::{native}");
    Some((
        Trigger::Blob(bucket.to_owned()),
        blob.to_cloudevent(&source, id),
    ))
}

#[cfg(test)]
mod tests {
    use cloudevents::AttributesReader;
    use cloudport_core::event::{BLOB_CREATED, BLOB_DELETED, Event};

    use super::*;

    fn parse(value: serde_json::Value) -> EventBridgeEvent<serde_json::Value> {
        serde_json::from_value(value).unwrap()
    }

    /// The EC2 state-change event of
    /// <https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-events-structure.html>.
    fn ec2() -> serde_json::Value {
        serde_json::json!({
            "version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
            "detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2",
            "account": "111122223333", "time": "2017-12-22T18:43:48Z", "region": "us-west-1",
            "resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
            "detail": {"instance-id": "i-1234567890abcdef0", "state": "terminated"}
        })
    }

    #[test]
    fn any_event_is_a_cloudevent_of_its_detail_type() {
        let (trigger, ce) = eventbridge_event(parse(ec2()), &Names::default()).unwrap();
        let ty = "EC2 Instance State-change Notification";
        assert_eq!(trigger, Trigger::Event(ty.to_owned()));
        assert_eq!(ce.ty(), ty);
        assert_eq!(ce.id(), "6a7e8feb-b491-4cf7-a9f1-bf3703467718");
        assert_eq!(ce.source().as_str(), "aws.ec2");
        assert_eq!(
            ce.subject(),
            Some("arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0")
        );
        assert_eq!(ce.time().unwrap().to_rfc3339(), "2017-12-22T18:43:48+00:00");
        assert_eq!(ce.datacontenttype(), Some("application/json"));
        assert_eq!(
            ce.data(),
            Some(&cloudevents::Data::Json(ec2()["detail"].clone()))
        );
        let ext = |n| ce.extension(n).map(ToString::to_string);
        assert_eq!(ext("awsaccount").as_deref(), Some("111122223333"));
        assert_eq!(ext("awsregion").as_deref(), Some("us-west-1"));
    }

    #[test]
    fn an_event_without_an_id_or_type_is_malformed() {
        let mut no_id = ec2();
        no_id.as_object_mut().unwrap().remove("id");
        let mut no_type = ec2();
        no_type["detail-type"] = serde_json::json!("");
        for v in [no_id, no_type] {
            let err = eventbridge_event(parse(v), &Names::default()).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Malformed);
        }
    }

    /// S3's `Object Created` event of
    /// <https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html>.
    fn s3(detail_type: &str, key: &str) -> serde_json::Value {
        serde_json::json!({
            "version": "0", "id": "17793124-05d4-b198-2fde-7ededc63b103",
            "detail-type": detail_type, "source": "aws.s3", "account": "111122223333",
            "time": "2021-11-12T00:00:00Z", "region": "ca-central-1",
            "resources": ["arn:aws:s3:::amzn-s3-demo-bucket1"],
            "detail": {"version": "0", "bucket": {"name": "amzn-s3-demo-bucket1"},
                "object": {"key": key, "size": 5, "etag": "b1946ac92492d2347c6235b4d2611184",
                    "version-id": "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e", "sequencer": "617f08299329d189"},
                "request-id": "N4N7GDK58NMKJ12R", "requester": "123456789012",
                "source-ip-address": "1.2.3.4", "reason": "PutObject"}
        })
    }

    #[test]
    fn s3_object_events_of_a_bound_bucket_are_blob_events() {
        let names = Names::default().bucket("amzn-s3-demo-bucket1", "uploads");
        let (trigger, ce) =
            eventbridge_event(parse(s3("Object Created", "a+b %2F.txt")), &names).unwrap();
        assert_eq!(trigger, Trigger::Blob("uploads".to_owned()));
        assert_eq!(ce.ty(), BLOB_CREATED);
        assert_eq!(ce.id(), "17793124-05d4-b198-2fde-7ededc63b103");
        assert_eq!(ce.source().as_str(), "arn:aws:s3:::amzn-s3-demo-bucket1");
        let blob = Event::<BlobEvent>::try_from(ce).unwrap();
        let blob = blob.data();
        assert_eq!(blob.bucket, "uploads");
        assert_eq!(
            blob.key, "a+b %2F.txt",
            "EventBridge keys are not URL-encoded"
        );
        assert_eq!(blob.size, Some(5));
        assert_eq!(
            blob.etag.as_deref(),
            Some("\"b1946ac92492d2347c6235b4d2611184\"")
        );

        let (trigger, ce) = eventbridge_event(parse(s3("Object Deleted", "k")), &names).unwrap();
        assert_eq!(trigger, Trigger::Blob("uploads".to_owned()));
        assert_eq!(ce.ty(), BLOB_DELETED);

        // Other S3 detail types, and unbound buckets, go to the event handlers.
        let (trigger, ce) =
            eventbridge_event(parse(s3("Object Restore Completed", "k")), &names).unwrap();
        assert_eq!(
            trigger,
            Trigger::Event("Object Restore Completed".to_owned())
        );
        assert_eq!(ce.source().as_str(), "aws.s3");
        let (trigger, _) =
            eventbridge_event(parse(s3("Object Created", "k")), &Names::default()).unwrap();
        assert_eq!(trigger, Trigger::Event("Object Created".to_owned()));
    }
}
