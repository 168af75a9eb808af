//! Blob created / deleted events.

use chrono::{DateTime, Utc};
use cloudevents::{AttributesReader, EventBuilder, EventBuilderV10};
use serde::{Deserialize, Serialize};

use super::{BLOB_CREATED, BLOB_DELETED, EventData, data_json, expect_type};
use crate::Result;

/// Whether an object was written or deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BlobEventKind {
    /// Written (created or replaced).
    Created,
    /// Deleted.
    Deleted,
}

/// A change to an object, as a function receives it.
///
/// As a CloudEvent: `type` [`BLOB_CREATED`] or [`BLOB_DELETED`], `subject` the key, data this struct
/// as JSON (`{"bucket", "key", "size", "etag", "contentType"}`).
///
/// ```
/// use cloudport_core::event::{BlobEvent, BlobEventKind, Event};
/// let ev = BlobEvent::created("uploads", "a.png").with_size(Some(42));
/// let event: Event<BlobEvent> = Event::try_from(ev.to_cloudevent("mem://uploads", "1")).unwrap();
/// assert_eq!(event.data().key, "a.png");
/// assert_eq!(event.data().kind, BlobEventKind::Created);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct BlobEvent {
    /// Created or deleted (from the event type; not in the data).
    #[serde(skip, default = "created")]
    pub kind: BlobEventKind,
    /// The logical bucket name.
    pub bucket: String,
    /// The object key, decoded.
    pub key: String,
    /// The object's size, when the platform says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// The object's ETag or generation, when the platform says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// The object's content type, when the platform says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// When the change happened, if known (the event's `time`).
    #[serde(skip)]
    pub time: Option<DateTime<Utc>>,
}

fn created() -> BlobEventKind {
    BlobEventKind::Created
}

/// An ETag as the blob APIs (and so [`Bucket::head`](crate::Bucket::head)) write it, quoted;
/// platform notifications (S3, EventBridge, Event Grid) often carry it bare.
///
/// ```
/// use cloudport_core::event::quoted_etag;
/// assert_eq!(quoted_etag("abc"), "\"abc\"");
/// assert_eq!(quoted_etag("\"abc\""), "\"abc\"");
/// ```
pub fn quoted_etag(etag: &str) -> String {
    if etag.starts_with('"') {
        etag.to_owned()
    } else {
        format!("\"{etag}\"")
    }
}

impl BlobEvent {
    fn new(kind: BlobEventKind, bucket: impl Into<String>, key: impl Into<String>) -> Self {
        Self {
            kind,
            bucket: bucket.into(),
            key: key.into(),
            size: None,
            etag: None,
            content_type: None,
            time: None,
        }
    }

    /// An object was written.
    pub fn created(bucket: impl Into<String>, key: impl Into<String>) -> Self {
        Self::new(BlobEventKind::Created, bucket, key)
    }

    /// An object was deleted.
    pub fn deleted(bucket: impl Into<String>, key: impl Into<String>) -> Self {
        Self::new(BlobEventKind::Deleted, bucket, key)
    }

    /// Sets the size.
    pub fn with_size(mut self, size: Option<u64>) -> Self {
        self.size = size;
        self
    }

    /// Sets the ETag.
    pub fn with_etag(mut self, etag: Option<String>) -> Self {
        self.etag = etag;
        self
    }

    /// Sets the content type.
    pub fn with_content_type(mut self, content_type: Option<String>) -> Self {
        self.content_type = content_type;
        self
    }

    /// Sets the time.
    pub fn with_time(mut self, time: Option<DateTime<Utc>>) -> Self {
        self.time = time;
        self
    }

    /// The portable CloudEvent of this change.
    pub fn to_cloudevent(&self, source: &str, id: &str) -> cloudevents::Event {
        let ty = match self.kind {
            BlobEventKind::Created => BLOB_CREATED,
            BlobEventKind::Deleted => BLOB_DELETED,
        };
        let mut builder = EventBuilderV10::new()
            .id(super::or_unknown(id.to_owned()))
            .ty(ty)
            .source(super::or_unknown(source.to_owned()))
            .subject(self.key.clone())
            .data(
                "application/json",
                serde_json::to_value(self).unwrap_or_default(),
            );
        if let Some(t) = self.time {
            builder = builder.time(t);
        }
        builder.build().unwrap_or_default()
    }
}

impl EventData for BlobEvent {
    fn from_cloudevent(event: &cloudevents::Event) -> Result<Self> {
        expect_type(event, &[BLOB_CREATED, BLOB_DELETED])?;
        let mut data: BlobEvent = data_json(event)?;
        data.kind = if event.ty() == BLOB_DELETED {
            BlobEventKind::Deleted
        } else {
            BlobEventKind::Created
        };
        data.time = event.time().copied();
        Ok(data)
    }
}
