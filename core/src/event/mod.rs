//! Triggers as CloudEvents: the portable event types, defined once for every provider.
//!
//! Every host turns its platform's native payload into a [`cloudevents::Event`] of one of the types
//! below, with the same data shape on every provider; native details ride as extension
//! attributes. Function code receives an [`Event<T>`]: the CloudEvent plus a typed view of it.
//!
//! | trigger | `type` | `subject` | data |
//! |---|---|---|---|
//! | queue message | [`QUEUE_MESSAGE`] | logical queue name | the message body, with its content type; attributes as extensions; `deliverycount` extension |
//! | blob created | [`BLOB_CREATED`] | object key | JSON [`BlobEvent`] |
//! | blob deleted | [`BLOB_DELETED`] | object key | JSON [`BlobEvent`] |
//! | schedule tick | [`SCHEDULE_TICK`] | schedule name | JSON [`ScheduleTick`] |
//!
//! HTTP requests go to the app's tower service unchanged; one that carries a CloudEvent can be
//! taken as one with [`CloudEventRequest`].

mod blob;
mod http;
mod queue;
mod render;
mod schedule;

pub use blob::{BlobEvent, BlobEventKind, quoted_etag};
pub use http::{CloudEventRequest, MAX_EVENT_BYTES, carries_cloudevent};
pub use queue::QueueMessage;
pub use render::to_structured_json;
pub use schedule::ScheduleTick;

use cloudevents::AttributesReader;

use crate::{Error, ErrorKind, Result};

/// `type` of a queue message event.
pub const QUEUE_MESSAGE: &str = "io.cloudport.queue.message.v1";
/// `type` of a blob-created event.
pub const BLOB_CREATED: &str = "io.cloudport.blob.created.v1";
/// `type` of a blob-deleted event.
pub const BLOB_DELETED: &str = "io.cloudport.blob.deleted.v1";
/// `type` of a schedule tick.
pub const SCHEDULE_TICK: &str = "io.cloudport.schedule.tick.v1";
/// Extension attribute carrying a message's delivery count.
pub const DELIVERY_COUNT_EXTENSION: &str = "deliverycount";

/// A typed view of a CloudEvent's data.
pub trait EventData: Sized + Send + 'static {
    /// Reads the view from an event; a malformed event is a `Malformed` error.
    fn from_cloudevent(event: &cloudevents::Event) -> Result<Self>;
}

/// An invocation's event: the CloudEvent and a typed view of its data.
///
/// ```
/// use cloudport_core::event::{Event, QueueMessage};
///
/// let msg = QueueMessage::new("orders", "m-1", r#"{"id":"42"}"#)
///     .with_content_type("application/json");
/// let event: Event<QueueMessage> = Event::try_from(msg.to_cloudevent("mem://orders")).unwrap();
/// let order: serde_json::Value = event.data().json().unwrap();
/// assert_eq!(order["id"], "42");
/// assert_eq!(event.id(), "m-1");
/// ```
#[derive(Debug, Clone)]
pub struct Event<T> {
    cloudevent: cloudevents::Event,
    data: T,
}

impl<T> Event<T> {
    /// The typed view.
    pub fn data(&self) -> &T {
        &self.data
    }

    /// The CloudEvent as delivered.
    pub fn cloudevent(&self) -> &cloudevents::Event {
        &self.cloudevent
    }

    /// The event id (the message id for queue messages).
    pub fn id(&self) -> &str {
        self.cloudevent.id()
    }

    /// The event type.
    pub fn ty(&self) -> &str {
        self.cloudevent.ty()
    }

    /// The CloudEvent and the view.
    pub fn into_parts(self) -> (cloudevents::Event, T) {
        (self.cloudevent, self.data)
    }
}

impl<T: EventData> TryFrom<cloudevents::Event> for Event<T> {
    type Error = Error;

    fn try_from(cloudevent: cloudevents::Event) -> Result<Self> {
        let data = T::from_cloudevent(&cloudevent)?;
        Ok(Self { cloudevent, data })
    }
}

impl EventData for cloudevents::Event {
    fn from_cloudevent(event: &cloudevents::Event) -> Result<Self> {
        Ok(event.clone())
    }
}

/// What stands for an empty id or source, which CloudEvents refuses (a platform may deliver one):
/// the event is still built from everything else, never replaced by a default event.
pub const UNKNOWN: &str = "unknown";

pub(crate) fn or_unknown(value: String) -> String {
    if value.is_empty() {
        UNKNOWN.to_owned()
    } else {
        value
    }
}

pub(crate) fn expect_type(event: &cloudevents::Event, types: &[&str]) -> Result<()> {
    if types.contains(&event.ty()) {
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::Malformed,
            format!("event type {:?} is not one of {types:?}", event.ty()),
        )
        .with_resource(event.id().to_owned()))
    }
}

/// The data of an event as bytes, whatever its representation.
pub(crate) fn data_bytes(event: &cloudevents::Event) -> Result<bytes::Bytes> {
    use cloudevents::Data;
    Ok(match event.data() {
        None => bytes::Bytes::new(),
        Some(Data::Binary(b)) => bytes::Bytes::copy_from_slice(b),
        Some(Data::String(s)) => bytes::Bytes::copy_from_slice(s.as_bytes()),
        Some(Data::Json(v)) => serde_json::to_vec(v)?.into(),
    })
}

/// Parses JSON data of an event into `T`.
pub(crate) fn data_json<T: serde::de::DeserializeOwned>(event: &cloudevents::Event) -> Result<T> {
    use cloudevents::Data;
    let parsed = match event.data() {
        Some(Data::Json(v)) => T::deserialize(v),
        Some(Data::String(s)) => serde_json::from_str(s),
        Some(Data::Binary(b)) => serde_json::from_slice(b),
        None => serde_json::from_str("null"),
    };
    parsed.map_err(|e| {
        Error::new(
            ErrorKind::Malformed,
            format!("data of {} event is not as expected: {e}", event.ty()),
        )
        .with_resource(event.id().to_owned())
    })
}

#[cfg(test)]
mod empty_fields {
    use super::*;
    use cloudevents::AttributesReader;

    #[test]
    fn an_empty_id_or_source_never_turns_an_event_into_a_default_one() {
        let q = QueueMessage::new("orders", "", "body").to_cloudevent("");
        assert_eq!(q.ty(), QUEUE_MESSAGE);
        assert_eq!((q.id(), q.source().as_str()), (UNKNOWN, UNKNOWN));
        let b = BlobEvent::created("uploads", "a.txt").to_cloudevent("", "");
        assert_eq!(b.ty(), BLOB_CREATED);
        let t = ScheduleTick::new("nightly", chrono::Utc::now()).to_cloudevent("", "");
        assert_eq!(t.ty(), SCHEDULE_TICK);
    }
}
