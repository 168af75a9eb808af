//! The queue-message event.

use std::collections::BTreeMap;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use cloudevents::event::ExtensionValue;
use cloudevents::{AttributesReader, EventBuilder, EventBuilderV10};
use serde::de::DeserializeOwned;

use super::{DELIVERY_COUNT_EXTENSION, EventData, QUEUE_MESSAGE, data_bytes, expect_type};
use crate::{Error, ErrorKind, ReceivedMessage, Result};

/// A queue message as a function receives it.
///
/// As a CloudEvent: `type` [`QUEUE_MESSAGE`], `id` the message id, `subject` the logical queue name,
/// `time` the enqueue time, data the body with its content type, every attribute an extension
/// attribute, and the delivery count in the `deliverycount` extension.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct QueueMessage {
    /// The logical queue name.
    pub queue: String,
    /// The message id.
    pub id: String,
    /// The body.
    pub body: Bytes,
    /// The body's media type, if the sender gave one.
    pub content_type: Option<String>,
    /// The sender's attributes.
    pub attributes: BTreeMap<String, String>,
    /// Deliveries so far, this one included.
    pub delivery_count: u32,
    /// When it was enqueued, if known.
    pub enqueued_at: Option<DateTime<Utc>>,
}

impl QueueMessage {
    /// A message on `queue`; hosts build these from native payloads.
    pub fn new(queue: impl Into<String>, id: impl Into<String>, body: impl Into<Bytes>) -> Self {
        Self {
            queue: queue.into(),
            id: id.into(),
            body: body.into(),
            content_type: None,
            attributes: BTreeMap::new(),
            delivery_count: 1,
            enqueued_at: None,
        }
    }

    /// The view of a message received from a [`Queue`](crate::Queue).
    pub fn from_received(queue: impl Into<String>, msg: &ReceivedMessage) -> Self {
        Self {
            queue: queue.into(),
            id: msg.id.clone(),
            body: msg.body.clone(),
            content_type: msg.content_type.clone(),
            attributes: msg.attributes.clone(),
            delivery_count: msg.delivery_count,
            enqueued_at: msg.enqueued_at.map(DateTime::<Utc>::from),
        }
    }

    /// Sets the content type.
    pub fn with_content_type(mut self, content_type: impl Into<String>) -> Self {
        self.content_type = Some(content_type.into());
        self
    }

    /// Sets the delivery count.
    pub fn with_delivery_count(mut self, n: u32) -> Self {
        self.delivery_count = n;
        self
    }

    /// Adds an attribute.
    pub fn with_attribute(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.attributes.insert(name.into(), value.into());
        self
    }

    /// Sets the enqueue time.
    pub fn with_enqueued_at(mut self, t: Option<DateTime<Utc>>) -> Self {
        self.enqueued_at = t;
        self
    }

    /// The body.
    pub fn bytes(&self) -> &Bytes {
        &self.body
    }

    /// The body as UTF-8 text.
    pub fn text(&self) -> Result<&str> {
        std::str::from_utf8(&self.body).map_err(|e| {
            Error::new(
                ErrorKind::Malformed,
                format!("message body is not UTF-8: {e}"),
            )
            .with_resource(self.id.clone())
        })
    }

    /// The body parsed as JSON; a mismatch is a `Malformed` error naming the message.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|e| {
            Error::new(
                ErrorKind::Malformed,
                format!("message body is not the expected JSON: {e}"),
            )
            .with_resource(self.id.clone())
        })
    }

    /// The message as it would be sent again (to a dead-letter queue, say): body, content type and
    /// attributes.
    pub fn to_message(&self) -> crate::Message {
        let mut message = crate::Message::new(self.body.clone());
        message.content_type = self.content_type.clone();
        message.attributes = self.attributes.clone();
        message
    }

    /// The portable CloudEvent of this message; `source` names where it came from (a URL or ARN).
    pub fn to_cloudevent(&self, source: &str) -> cloudevents::Event {
        self.clone().into_cloudevent(source)
    }

    /// The portable CloudEvent of this message, moving its parts (no copy of the body when it is
    /// uniquely owned): what hosts use to decode native batches.
    pub fn into_cloudevent(self, source: impl Into<String>) -> cloudevents::Event {
        let mut builder = EventBuilderV10::new()
            .id(super::or_unknown(self.id))
            .ty(QUEUE_MESSAGE)
            .source(super::or_unknown(source.into()))
            .subject(self.queue)
            .extension(DELIVERY_COUNT_EXTENSION, i64::from(self.delivery_count));
        if let Some(t) = self.enqueued_at {
            builder = builder.time(t);
        }
        for (name, value) in self.attributes {
            builder = builder.extension(&name, value);
        }
        let content_type = self
            .content_type
            .unwrap_or_else(|| "application/octet-stream".to_owned());
        let data: cloudevents::Data = match String::from_utf8(Vec::from(self.body)) {
            Ok(s) => cloudevents::Data::String(s),
            Err(e) => cloudevents::Data::Binary(e.into_bytes()),
        };
        builder = builder.data(content_type, data);
        // Every field set above is valid (an empty id or source, which CloudEvents refuses, is
        // replaced), so building cannot fail; fall back to a minimal event rather than panic.
        builder.build().unwrap_or_default()
    }
}

impl EventData for QueueMessage {
    fn from_cloudevent(event: &cloudevents::Event) -> Result<Self> {
        expect_type(event, &[QUEUE_MESSAGE])?;
        let mut attributes = BTreeMap::new();
        let mut delivery_count = 1;
        for (name, value) in event.iter_extensions() {
            if name == DELIVERY_COUNT_EXTENSION {
                delivery_count = match value {
                    ExtensionValue::Integer(n) => u32::try_from(*n).unwrap_or(u32::MAX),
                    ExtensionValue::String(s) => s.parse().unwrap_or(1),
                    ExtensionValue::Boolean(_) => 1,
                };
            } else {
                attributes.insert(name.to_owned(), value.to_string());
            }
        }
        Ok(Self {
            queue: event.subject().unwrap_or_default().to_owned(),
            id: event.id().to_owned(),
            body: data_bytes(event)?,
            content_type: event
                .datacontenttype()
                .filter(|c| *c != "application/octet-stream")
                .map(str::to_owned),
            attributes,
            delivery_count,
            enqueued_at: event.time().copied(),
        })
    }
}
