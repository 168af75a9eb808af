//! Checks of the portable event shapes, for the tests of each provider's payload decoders: the same
//! logical trigger must give the same CloudEvent `type` and data shape on every provider.

use cloudevents::AttributesReader;

use crate::event::{
    BLOB_CREATED, BLOB_DELETED, BlobEvent, BlobEventKind, Event, QUEUE_MESSAGE, QueueMessage,
    SCHEDULE_TICK, ScheduleTick,
};

/// Asserts a decoded queue-message event: type, subject (logical queue), body, delivery count ≥ 1,
/// a non-empty id and source. Returns the typed view for further checks.
#[track_caller]
pub fn check_queue_message_event(
    event: &cloudevents::Event,
    queue: &str,
    body: &[u8],
) -> QueueMessage {
    assert_eq!(event.ty(), QUEUE_MESSAGE, "queue message event type");
    assert_eq!(
        event.subject(),
        Some(queue),
        "queue message subject is the logical queue"
    );
    assert!(!event.id().is_empty(), "queue message event needs an id");
    assert!(
        !event.source().is_empty(),
        "queue message event needs a source"
    );
    let typed = Event::<QueueMessage>::try_from(event.clone()).expect("typed queue message view");
    let msg = typed.data().clone();
    assert_eq!(&msg.body[..], body, "queue message body");
    assert!(msg.delivery_count >= 1, "delivery count starts at 1");
    msg
}

/// Asserts a decoded blob event: type for the kind, subject = key, data `{bucket, key, …}`.
#[track_caller]
pub fn check_blob_event(
    event: &cloudevents::Event,
    kind: BlobEventKind,
    bucket: &str,
    key: &str,
) -> BlobEvent {
    let ty = match kind {
        BlobEventKind::Created => BLOB_CREATED,
        BlobEventKind::Deleted => BLOB_DELETED,
    };
    assert_eq!(event.ty(), ty, "blob event type");
    assert_eq!(event.subject(), Some(key), "blob event subject is the key");
    assert_eq!(event.datacontenttype(), Some("application/json"));
    let typed = Event::<BlobEvent>::try_from(event.clone()).expect("typed blob view");
    let data = typed.data().clone();
    assert_eq!(data.kind, kind);
    assert_eq!(
        data.bucket, bucket,
        "blob event bucket is the logical bucket"
    );
    assert_eq!(data.key, key, "blob event key (decoded)");
    data
}

/// Asserts a decoded schedule tick: type, subject = schedule name, data `{schedule, scheduledTime}`.
#[track_caller]
pub fn check_schedule_event(event: &cloudevents::Event, schedule: &str) -> ScheduleTick {
    assert_eq!(event.ty(), SCHEDULE_TICK, "schedule event type");
    assert_eq!(event.subject(), Some(schedule), "schedule event subject");
    let typed = Event::<ScheduleTick>::try_from(event.clone()).expect("typed schedule view");
    assert_eq!(typed.data().schedule, schedule);
    typed.data().clone()
}
