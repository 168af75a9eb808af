//! Cloud Run / Cloud Functions (gen2) request payloads → cloudport's portable CloudEvents.
//!
//! Pure functions over bytes, headers and CloudEvents: no I/O, never a panic on input. Every
//! failure is an [`Error`] whose kind tells the host's status (see [`status_for`]). Formats and
//! the sources this decoder follows:
//!
//! - **Pub/Sub push envelope** ("wrapped" push, the default): a `POST` with `Content-Type:
//!   application/json` and the body `{"message": {"data": "<base64>", "attributes": {...},
//!   "messageId": "...", "message_id": "...", "publishTime": "...", "publish_time": "...",
//!   "orderingKey": "..."}, "subscription": "projects/P/subscriptions/S", "deliveryAttempt": N}`.
//!   `data` is base64 and may be absent (a message of attributes only); the id and publish time
//!   come in both spellings; `deliveryAttempt` is present only when the subscription has a
//!   dead-letter policy. Any 2xx (102, 200, 201, 202, 204) acknowledges; any other status is a
//!   nack and the message is redelivered. Sources: "Push subscriptions"
//!   (<https://cloud.google.com/pubsub/docs/push>, "How push endpoints receive messages" and
//!   "Receive messages"), `DeadLetterPolicy` in the Pub/Sub v1 API reference
//!   (`max_delivery_attempts`: 1 + NACKs + expired deadlines, 5–100).
//! - **Eventarc Pub/Sub CloudEvent** `google.cloud.pubsub.topic.v1.messagePublished`: source
//!   `//pubsub.googleapis.com/projects/P/topics/T`, data `MessagePublishedData` — the same
//!   `{"message": {...}, "subscription": "..."}` shape as the push envelope, without
//!   `deliveryAttempt`. Sources: `googleapis/google-cloudevents`
//!   (`proto/google/events/cloud/pubsub/v1/data.proto`, `testdata/.../MessagePublishedData-*.json`)
//!   and the Functions Framework conformance inputs
//!   (`GoogleCloudPlatform/functions-framework-conformance`,
//!   `events/generate/data/pubsub_{text,binary}-cloudevent-input.json`).
//! - **Eventarc Cloud Storage CloudEvents** `google.cloud.storage.object.v1.finalized` /
//!   `.deleted`: source `//storage.googleapis.com/projects/_/buckets/BUCKET`, subject
//!   `objects/NAME`, data the object resource (`StorageObjectData`: `bucket`, `name`, `size`,
//!   `generation` and `metageneration` as decimal strings — numbers accepted too — `contentType`,
//!   `etag`, `md5Hash`, `timeCreated`, `updated`, `timeDeleted`). Sources:
//!   `googleapis/google-cloudevents` (`testdata/google/events/cloud/storage/v1/StorageObjectData-complex.json`)
//!   and `functions-framework-conformance` (`events/generate/data/storage-cloudevent-input.json`).
//! - **Cloud Scheduler** HTTP targets: the job's method, body and headers, plus `X-CloudScheduler:
//!   true`, `X-CloudScheduler-JobName` and, for unix-cron jobs, `X-CloudScheduler-ScheduleTime`
//!   (RFC 3339, UTC). Source: the `headers` field of `HttpTarget` / `AppEngineHttpTarget` in the
//!   Cloud Scheduler v1 API reference; Firebase's `ScheduledEvent` (`jobName`, `scheduleTime`).
//! - CloudEvents in binary and structured mode are read by the `cloudevents-sdk` HTTP binding
//!   ([`cloudevent`]), never by hand.

use std::collections::BTreeMap;

use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use chrono::{DateTime, Utc};
use cloudevents::AttributesReader;
use cloudport_core::event::{BlobEvent, QueueMessage, ScheduleTick};
use cloudport_core::export::cloudevents;
use cloudport_core::queue::wire::from_native_attributes;
use cloudport_core::{Error, ErrorKind, Result};
use serde::Deserialize;
use serde_json::Value;

/// `type` of the Eventarc CloudEvent of a Pub/Sub message.
pub const PUBSUB_MESSAGE_PUBLISHED: &str = "google.cloud.pubsub.topic.v1.messagePublished";
/// `type` of the Eventarc CloudEvent of a written Cloud Storage object.
pub const STORAGE_OBJECT_FINALIZED: &str = "google.cloud.storage.object.v1.finalized";
/// `type` of the Eventarc CloudEvent of a deleted Cloud Storage object.
pub const STORAGE_OBJECT_DELETED: &str = "google.cloud.storage.object.v1.deleted";
/// Header Cloud Scheduler sets to `true` on every HTTP target request.
pub const SCHEDULER_HEADER: &str = "x-cloudscheduler";
/// Header carrying the Cloud Scheduler job name.
pub const SCHEDULER_JOB_HEADER: &str = "x-cloudscheduler-jobname";
/// Header carrying the schedule time of a unix-cron Cloud Scheduler job (RFC 3339, UTC).
pub const SCHEDULER_TIME_HEADER: &str = "x-cloudscheduler-scheduletime";
/// The attribute carrying a message's ordering key (defined once in `core::queue::wire`).
pub use cloudport_core::queue::wire::ORDERING_KEY_ATTRIBUTE;
/// The largest Pub/Sub message body (decoded `data`) taken: Pub/Sub's own limit is 10 MB.
pub const MAX_MESSAGE_BYTES: usize = 10 * 1024 * 1024;
/// The largest request body read for an event: a 10 MiB message grows by a third in base64,
/// plus the envelope and attributes.
pub const MAX_BODY_BYTES: usize = 15 * 1024 * 1024;

const PUBSUB_SOURCE_PREFIX: &str = "//pubsub.googleapis.com/";
const STORAGE_SOURCE_PREFIX: &str = "//storage.googleapis.com/projects/_/buckets/";

fn malformed(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Malformed, message.into())
}

/// The HTTP status of a request that failed before any handler ran, by error kind: `400` for
/// malformed input, `404` when nothing of the app takes it, `413` over a size limit, `415` for a
/// content type that is not JSON where JSON is required; `500` otherwise.
///
/// ```
/// use cloudport_adapters::cloudrun::decode::status_for;
/// use cloudport_core::{Error, ErrorKind};
/// assert_eq!(status_for(&Error::new(ErrorKind::Malformed, "x")), 400);
/// assert_eq!(status_for(&Error::new(ErrorKind::TooLarge, "x")), 413);
/// ```
pub fn status_for(err: &Error) -> StatusCode {
    match err.kind() {
        ErrorKind::Malformed | ErrorKind::InvalidArgument => StatusCode::BAD_REQUEST,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorKind::Unsupported => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The error of a body whose content type is not JSON where JSON is required (`415`).
fn not_json(what: &str, content_type: Option<&str>) -> Error {
    Error::new(
        ErrorKind::Unsupported,
        format!(
            "{what} must be JSON (application/json), not {}",
            content_type.map_or_else(
                || "a body without a content type".to_owned(),
                |c| format!("{c:?}")
            )
        ),
    )
}

/// Whether a media type is JSON: `application/json`, `text/json` or any `+json` type, with or
/// without parameters.
///
/// ```
/// use cloudport_adapters::cloudrun::decode::is_json_media_type;
/// assert!(is_json_media_type("application/json; charset=utf-8"));
/// assert!(!is_json_media_type("text/plain"));
/// ```
pub fn is_json_media_type(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json" || essence == "text/json" || essence.ends_with("+json")
}

/// Reads the CloudEvent a request carries, in binary mode (`ce-*` headers) or structured mode
/// (`Content-Type: application/cloudevents+json`), with the `cloudevents-sdk` HTTP binding. A
/// request that is not a valid CloudEvent (a required attribute missing, bad JSON) is `Malformed`.
///
/// ```
/// use axum::http::HeaderMap;
/// use cloudport_adapters::cloudrun::decode::cloudevent;
/// use cloudport_core::export::cloudevents::AttributesReader;
/// let mut headers = HeaderMap::new();
/// for (k, v) in [("ce-specversion", "1.0"), ("ce-id", "1"), ("ce-type", "demo"), ("ce-source", "/me")] {
///     headers.insert(k, v.parse().unwrap());
/// }
/// assert_eq!(cloudevent(&headers, b"hi".to_vec()).unwrap().ty(), "demo");
/// headers.remove("ce-id");
/// assert!(cloudevent(&headers, Vec::new()).is_err());
/// ```
pub fn cloudevent(headers: &HeaderMap, body: Vec<u8>) -> Result<cloudevents::Event> {
    cloudevents::binding::http::to_event(headers, body)
        .map_err(|e| malformed(format!("the request is not a valid CloudEvent: {e}")))
}

/// A Pub/Sub message as push and Eventarc deliver it (`PubsubMessage` in JSON).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PubsubMessage {
    /// The body, base64-encoded (absent for a message of attributes only).
    #[serde(default)]
    pub data: Option<String>,
    /// The publisher's attributes.
    #[serde(default)]
    pub attributes: Option<BTreeMap<String, String>>,
    #[serde(default, rename = "messageId")]
    message_id_camel: Option<String>,
    #[serde(default, rename = "message_id")]
    message_id_snake: Option<String>,
    #[serde(default, rename = "publishTime")]
    publish_time_camel: Option<String>,
    #[serde(default, rename = "publish_time")]
    publish_time_snake: Option<String>,
    /// The ordering key, when the publisher set one (the `orderingkey` attribute of the portable
    /// message).
    #[serde(default, rename = "orderingKey")]
    pub ordering_key: Option<String>,
}

impl PubsubMessage {
    /// The message id (`messageId`, else `message_id`), if not empty.
    pub fn id(&self) -> Option<&str> {
        self.message_id_camel
            .as_deref()
            .or(self.message_id_snake.as_deref())
            .filter(|s| !s.is_empty())
    }

    /// When the message was published (`publishTime`, else `publish_time`), if readable.
    pub fn publish_time(&self) -> Option<DateTime<Utc>> {
        let raw = self
            .publish_time_camel
            .as_deref()
            .or(self.publish_time_snake.as_deref())?;
        DateTime::parse_from_rfc3339(raw.trim())
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }
}

/// A Pub/Sub push envelope, or the data of an Eventarc `messagePublished` CloudEvent (the same
/// shape without `deliveryAttempt`).
///
/// ```
/// use cloudport_adapters::cloudrun::decode::PushEnvelope;
/// let env = PushEnvelope::parse(br#"{"message":{"data":"aGk=","messageId":"1"},
///     "subscription":"projects/p/subscriptions/s","deliveryAttempt":3}"#).unwrap();
/// assert_eq!(env.delivery_attempt(), 3);
/// assert_eq!(env.message.id(), Some("1"));
/// assert!(PushEnvelope::parse(br#"{"subscription":"s"}"#).is_err());
/// ```
#[derive(Debug, Clone, Deserialize)]
pub struct PushEnvelope {
    /// The message.
    pub message: PubsubMessage,
    /// The subscription that delivered it, `projects/P/subscriptions/S`.
    #[serde(default)]
    pub subscription: Option<String>,
    #[serde(default, rename = "deliveryAttempt")]
    delivery_attempt: Option<Value>,
}

impl PushEnvelope {
    /// Parses an envelope; bad JSON or a body without a `message` object is `Malformed`.
    pub fn parse(body: &[u8]) -> Result<Self> {
        serde_json::from_slice(body).map_err(|e| {
            malformed(format!(
                "the body is not a Pub/Sub push envelope {{\"message\": {{...}}, \"subscription\": \"...\"}}: {e}"
            ))
        })
    }

    /// Parses the data of a `messagePublished` CloudEvent; data that is not JSON is `Unsupported`
    /// (`415`), JSON of another shape `Malformed`.
    pub fn from_cloudevent(event: &cloudevents::Event) -> Result<Self> {
        let value = json_data(event, "the data of a Pub/Sub CloudEvent")?;
        serde_json::from_value(value).map_err(|e| {
            malformed(format!(
                "the data of {} event {} is not MessagePublishedData: {e}",
                event.ty(),
                event.id()
            ))
        })
    }

    /// `deliveryAttempt`, or 1 when absent (the subscription has no dead-letter policy) or
    /// unreadable.
    pub fn delivery_attempt(&self) -> u32 {
        let n = match &self.delivery_attempt {
            Some(Value::Number(n)) => n.as_u64(),
            Some(Value::String(s)) => s.trim().parse().ok(),
            _ => None,
        };
        n.and_then(|n| u32::try_from(n).ok()).unwrap_or(1).max(1)
    }
}

/// The JSON data of an event: a content type other than JSON is `Unsupported`; no data or data
/// that does not parse is `Malformed`.
fn json_data(event: &cloudevents::Event, what: &str) -> Result<Value> {
    if let Some(ct) = event.datacontenttype()
        && !is_json_media_type(ct)
    {
        return Err(not_json(what, Some(ct)));
    }
    let parsed = match event.data() {
        Some(cloudevents::Data::Json(v)) => Ok(v.clone()),
        Some(cloudevents::Data::String(s)) => serde_json::from_str(s),
        Some(cloudevents::Data::Binary(b)) => serde_json::from_slice(b),
        None => return Err(malformed(format!("{what} is missing"))),
    };
    parsed.map_err(|e| malformed(format!("{what} is not valid JSON: {e}")))
}

/// Checks that a request body is JSON by its `Content-Type` (`415` otherwise).
///
/// ```
/// use axum::http::HeaderMap;
/// use cloudport_adapters::cloudrun::decode::require_json;
/// let mut headers = HeaderMap::new();
/// assert!(require_json(&headers, "a push envelope").is_err());
/// headers.insert("content-type", "application/json".parse().unwrap());
/// assert!(require_json(&headers, "a push envelope").is_ok());
/// ```
pub fn require_json(headers: &HeaderMap, what: &str) -> Result<()> {
    let ct = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    match ct {
        Some(ct) if is_json_media_type(ct) => Ok(()),
        other => Err(not_json(what, other)),
    }
}

/// A Pub/Sub message as the portable queue-message event of logical queue `queue`
/// (`io.cloudport.queue.message.v1`): body the decoded `data`, id the `messageId`, delivery count
/// `delivery_attempt`, enqueue time the `publishTime`, content type the `datacontenttype`
/// attribute, the ordering key as the `orderingkey` attribute, and the other attributes as the
/// message's attributes — names normalized, those with nothing valid left dropped with a log line
/// (as the SQS decoder and the GCP queue driver do). `source` names where the message came from.
///
/// No id, or `data` that is not base64, is `Malformed`; a body over [`MAX_MESSAGE_BYTES`] is
/// `TooLarge`.
///
/// ```
/// use cloudport_adapters::cloudrun::decode::{PushEnvelope, pubsub_event};
/// use cloudport_core::event::{Event, QueueMessage};
/// let env = PushEnvelope::parse(br#"{"message":{"data":"aGk=","messageId":"m-1",
///     "attributes":{"datacontenttype":"text/plain","tenant":"acme"}}}"#).unwrap();
/// let ce = pubsub_event(&env.message, "orders", "//pubsub.googleapis.com/projects/p/subscriptions/s", 2).unwrap();
/// let ev = Event::<QueueMessage>::try_from(ce).unwrap();
/// assert_eq!(ev.data().text().unwrap(), "hi");
/// assert_eq!(ev.data().content_type.as_deref(), Some("text/plain"));
/// assert_eq!((ev.data().delivery_count, ev.data().attributes["tenant"].as_str()), (2, "acme"));
/// ```
pub fn pubsub_event(
    message: &PubsubMessage,
    queue: &str,
    source: &str,
    delivery_attempt: u32,
) -> Result<cloudevents::Event> {
    let id = message
        .id()
        .ok_or_else(|| malformed("the Pub/Sub message has no messageId"))?;
    let body = message_data(message, id)?;
    // As the GCP queue driver reads them back, so both give the same message.
    let (content_type, attributes) = from_native_attributes(
        message
            .attributes
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.clone())),
        message.ordering_key.as_deref().unwrap_or_default(),
        id,
    );
    let mut msg = QueueMessage::new(queue, id, body)
        .with_delivery_count(delivery_attempt.max(1))
        .with_enqueued_at(message.publish_time());
    msg.content_type = content_type;
    msg.attributes = attributes;
    Ok(msg.into_cloudevent(source))
}

/// The decoded `data` of message `id`: not base64 is `Malformed`, over [`MAX_MESSAGE_BYTES`]
/// `TooLarge`.
pub(crate) fn message_data(message: &PubsubMessage, id: &str) -> Result<Vec<u8>> {
    let data = message.data.as_deref().unwrap_or_default();
    // Base64 grows by 4/3: refuse an oversize body before decoding it.
    if data.len() / 4 * 3 > MAX_MESSAGE_BYTES + 3 {
        return Err(too_large_message(id, data.len() / 4 * 3));
    }
    let body = base64::engine::general_purpose::STANDARD
        .decode(data.trim().as_bytes())
        .map_err(|e| {
            malformed(format!(
                "the data of Pub/Sub message {id} is not base64: {e}"
            ))
        })?;
    if body.len() > MAX_MESSAGE_BYTES {
        return Err(too_large_message(id, body.len()));
    }
    Ok(body)
}

fn too_large_message(id: &str, size: usize) -> Error {
    Error::new(
        ErrorKind::TooLarge,
        format!("Pub/Sub message {id} is {size} bytes; the limit is {MAX_MESSAGE_BYTES}"),
    )
}

/// The topic a Pub/Sub CloudEvent names in its source (`projects/P/topics/T`).
///
/// ```
/// use cloudport_adapters::cloudrun::decode::topic_of_source;
/// assert_eq!(topic_of_source("//pubsub.googleapis.com/projects/p/topics/t"), Some("projects/p/topics/t"));
/// assert_eq!(topic_of_source("/elsewhere"), None);
/// ```
pub fn topic_of_source(source: &str) -> Option<&str> {
    source
        .strip_prefix(PUBSUB_SOURCE_PREFIX)
        .filter(|t| t.starts_with("projects/") && t.contains("/topics/"))
}

/// The parts of a Cloud Storage object resource cloudport reads.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StorageObject {
    /// The bucket.
    #[serde(default)]
    pub bucket: Option<String>,
    /// The object name (the key).
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    size: Option<Value>,
    /// The content type.
    #[serde(default)]
    pub content_type: Option<String>,
    /// The HTTP entity tag of the resource.
    #[serde(default)]
    pub etag: Option<String>,
    #[serde(default)]
    generation: Option<Value>,
    #[serde(default)]
    updated: Option<String>,
    #[serde(default)]
    time_deleted: Option<String>,
}

/// An int64 of the JSON API: a decimal string, or a number.
fn int64(value: Option<&Value>) -> Option<u64> {
    match value? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

impl StorageObject {
    /// Parses the data of a Cloud Storage CloudEvent; data that is not JSON is `Unsupported`,
    /// JSON that is not an object resource `Malformed`.
    pub fn from_cloudevent(event: &cloudevents::Event) -> Result<Self> {
        let value = json_data(event, "the data of a Cloud Storage CloudEvent")?;
        if !value.is_object() {
            return Err(malformed(format!(
                "the data of {} event {} is not a Cloud Storage object",
                event.ty(),
                event.id()
            )));
        }
        serde_json::from_value(value).map_err(|e| {
            malformed(format!(
                "the data of {} event {} is not a Cloud Storage object: {e}",
                event.ty(),
                event.id()
            ))
        })
    }

    /// The size in bytes.
    pub fn size(&self) -> Option<u64> {
        int64(self.size.as_ref())
    }

    /// The generation (the object version).
    pub fn generation(&self) -> Option<u64> {
        int64(self.generation.as_ref())
    }
}

/// The native bucket of a Cloud Storage CloudEvent: the object's `bucket`, else the one its
/// source names (`//storage.googleapis.com/projects/_/buckets/BUCKET[/objects/…]`).
pub fn storage_bucket(event: &cloudevents::Event, object: &StorageObject) -> Option<String> {
    object.bucket.clone().filter(|b| !b.is_empty()).or_else(|| {
        event
            .source()
            .strip_prefix(STORAGE_SOURCE_PREFIX)
            .and_then(|rest| rest.split('/').next())
            .filter(|b| !b.is_empty())
            .map(str::to_owned)
    })
}

/// A Cloud Storage `finalized` or `deleted` CloudEvent as the portable blob event of logical
/// bucket `bucket` (`io.cloudport.blob.created.v1` / `…deleted.v1`): key the object `name` (else
/// the subject without `objects/`), size, content type, and as the ETag the object's generation —
/// the version Cloud Storage preconditions (`ifGenerationMatch`) take — else its `etag`. The
/// event keeps the native id, source and time. Other types, or an event naming no object, are
/// `Malformed`.
///
/// ```
/// use cloudport_adapters::cloudrun::decode::{StorageObject, storage_event};
/// use cloudport_core::event::{BlobEvent, Event};
/// use cloudport_core::export::cloudevents::{EventBuilder, EventBuilderV10};
/// let native = EventBuilderV10::new().id("e-1").ty("google.cloud.storage.object.v1.finalized")
///     .source("//storage.googleapis.com/projects/_/buckets/raw-uploads").subject("objects/a.png")
///     .data("application/json", serde_json::json!({"bucket": "raw-uploads", "name": "a.png",
///         "size": "42", "generation": "1587627537231057", "contentType": "image/png"}))
///     .build().unwrap();
/// let object = StorageObject::from_cloudevent(&native).unwrap();
/// let ev = Event::<BlobEvent>::try_from(storage_event(&native, &object, "uploads").unwrap()).unwrap();
/// assert_eq!((ev.data().bucket.as_str(), ev.data().key.as_str(), ev.data().size), ("uploads", "a.png", Some(42)));
/// assert_eq!(ev.data().etag.as_deref(), Some("1587627537231057"));
/// ```
pub fn storage_event(
    event: &cloudevents::Event,
    object: &StorageObject,
    bucket: &str,
) -> Result<cloudevents::Event> {
    let key = object
        .name
        .clone()
        .filter(|k| !k.is_empty())
        .or_else(|| {
            event
                .subject()
                .and_then(|s| s.strip_prefix("objects/"))
                .filter(|k| !k.is_empty())
                .map(str::to_owned)
        })
        .ok_or_else(|| {
            malformed(format!(
                "{} event {} names no object (no data.name, no subject objects/NAME)",
                event.ty(),
                event.id()
            ))
        })?;
    let blob = match event.ty() {
        STORAGE_OBJECT_FINALIZED => BlobEvent::created(bucket, key),
        STORAGE_OBJECT_DELETED => BlobEvent::deleted(bucket, key),
        other => {
            return Err(malformed(format!(
                "{other} is not a Cloud Storage finalized or deleted event"
            )));
        }
    };
    let parse = |s: &str| {
        DateTime::parse_from_rfc3339(s.trim())
            .ok()
            .map(|t| t.with_timezone(&Utc))
    };
    let time = event.time().copied().or_else(|| {
        object
            .time_deleted
            .as_deref()
            .filter(|_| event.ty() == STORAGE_OBJECT_DELETED)
            .or(object.updated.as_deref())
            .and_then(parse)
    });
    let etag = object
        .generation()
        .map(|g| g.to_string())
        .or_else(|| object.etag.clone().filter(|e| !e.is_empty()));
    Ok(blob
        .with_size(object.size())
        .with_etag(etag)
        .with_content_type(object.content_type.clone().filter(|c| !c.is_empty()))
        .with_time(time)
        .to_cloudevent(event.source(), event.id()))
}

/// What a Cloud Scheduler request says about itself: whether the `X-CloudScheduler` header is
/// `true`, the job (short name: the part after the last `/` of `X-CloudScheduler-JobName`), and
/// the schedule time. An unreadable schedule time is `Malformed`.
///
/// ```
/// use axum::http::HeaderMap;
/// use cloudport_adapters::cloudrun::decode::SchedulerRequest;
/// let mut headers = HeaderMap::new();
/// headers.insert("x-cloudscheduler", "true".parse().unwrap());
/// headers.insert("x-cloudscheduler-jobname", "projects/p/locations/l/jobs/nightly".parse().unwrap());
/// headers.insert("x-cloudscheduler-scheduletime", "2026-11-26T03:00:00Z".parse().unwrap());
/// let s = SchedulerRequest::from_headers(&headers).unwrap();
/// assert!(s.is_scheduler);
/// assert_eq!(s.job.as_deref(), Some("nightly"));
/// assert_eq!(s.schedule_time.unwrap().to_rfc3339(), "2026-11-26T03:00:00+00:00");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SchedulerRequest {
    /// `X-CloudScheduler: true` was sent.
    pub is_scheduler: bool,
    /// The job's short name.
    pub job: Option<String>,
    /// The job name as sent (may be the full `projects/P/locations/L/jobs/J`).
    pub job_name: Option<String>,
    /// When the run was scheduled.
    pub schedule_time: Option<DateTime<Utc>>,
}

impl SchedulerRequest {
    /// Reads the Cloud Scheduler headers.
    pub fn from_headers(headers: &HeaderMap) -> Result<Self> {
        let text = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|v| !v.is_empty())
        };
        let is_scheduler = text(SCHEDULER_HEADER).is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let job_name = text(SCHEDULER_JOB_HEADER).map(str::to_owned);
        let job = job_name
            .as_deref()
            .map(|n| n.rsplit('/').next().unwrap_or(n).to_owned())
            .filter(|n| !n.is_empty());
        let schedule_time = text(SCHEDULER_TIME_HEADER)
            .map(|t| {
                DateTime::parse_from_rfc3339(t)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|e| {
                        malformed(format!(
                            "{SCHEDULER_TIME_HEADER} {t:?} is not an RFC 3339 time: {e}"
                        ))
                    })
            })
            .transpose()?;
        Ok(Self {
            is_scheduler,
            job,
            job_name,
            schedule_time,
        })
    }

    /// The portable tick of `schedule` (`io.cloudport.schedule.tick.v1`), due at the schedule
    /// time (`now` when the job sent none); source the job
    /// (`//cloudscheduler.googleapis.com/<job name>`), id `<schedule>-<due time in ms>` — the same
    /// for Cloud Scheduler's retries of one run.
    pub fn tick(&self, schedule: &str, now: DateTime<Utc>) -> cloudevents::Event {
        let due = self.schedule_time.unwrap_or(now);
        let source = self.job_name.as_deref().map_or_else(
            || format!("cloudport:schedule/{schedule}"),
            |j| format!("//cloudscheduler.googleapis.com/{j}"),
        );
        let id = format!("{schedule}-{}", due.timestamp_millis());
        ScheduleTick::new(schedule, due).to_cloudevent(&source, &id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use cloudport_core::event::{
        BLOB_CREATED, BLOB_DELETED, BlobEventKind, Event, QUEUE_MESSAGE, SCHEDULE_TICK,
    };

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    /// Eventarc's Pub/Sub event in binary mode: attributes as `ce-` headers, the
    /// `MessagePublishedData` as the JSON body (the conformance suite's `pubsub_text` input).
    const MESSAGE_PUBLISHED_DATA: &str = r#"{
      "subscription": "projects/sample-project/subscriptions/sample-subscription",
      "message": {
        "@type": "type.googleapis.com/google.pubsub.v1.PubsubMessage",
        "messageId": "aaaaaa-1111-bbbb-2222-cccccccccccc",
        "publishTime": "2020-09-29T11:32:00.000Z",
        "attributes": { "attr1": "attr1-value", "Content-Language": "en", "--": "dropped" },
        "data": "dGVzdCBtZXNzYWdlIDM="
      }
    }"#;

    fn binary_pubsub_headers() -> HeaderMap {
        headers(&[
            ("ce-specversion", "1.0"),
            ("ce-type", PUBSUB_MESSAGE_PUBLISHED),
            (
                "ce-source",
                "//pubsub.googleapis.com/projects/sample-project/topics/gcf-test",
            ),
            ("ce-id", "aaaaaa-1111-bbbb-2222-cccccccccccc"),
            ("ce-time", "2020-09-29T11:32:00.000Z"),
            ("content-type", "application/json"),
        ])
    }

    fn queue_view(ce: cloudevents::Event) -> QueueMessage {
        assert_eq!(ce.ty(), QUEUE_MESSAGE);
        Event::<QueueMessage>::try_from(ce).unwrap().data().clone()
    }

    #[test]
    fn eventarc_pubsub_in_binary_mode() {
        let ce = cloudevent(
            &binary_pubsub_headers(),
            MESSAGE_PUBLISHED_DATA.as_bytes().to_vec(),
        )
        .unwrap();
        assert_eq!(ce.ty(), PUBSUB_MESSAGE_PUBLISHED);
        assert_eq!(
            topic_of_source(ce.source()),
            Some("projects/sample-project/topics/gcf-test")
        );
        let published = PushEnvelope::from_cloudevent(&ce).unwrap();
        assert_eq!(
            published.subscription.as_deref(),
            Some("projects/sample-project/subscriptions/sample-subscription")
        );
        assert_eq!(published.delivery_attempt(), 1);
        let m = queue_view(pubsub_event(&published.message, "orders", ce.source(), 1).unwrap());
        assert_eq!(m.queue, "orders");
        assert_eq!(m.id, "aaaaaa-1111-bbbb-2222-cccccccccccc");
        assert_eq!(m.text().unwrap(), "test message 3");
        assert_eq!(m.delivery_count, 1);
        assert_eq!(
            m.enqueued_at.unwrap().to_rfc3339(),
            "2020-09-29T11:32:00+00:00"
        );
        // Names normalized as the SQS decoder does; a name with nothing valid left is dropped.
        assert_eq!(
            m.attributes,
            BTreeMap::from([
                ("attr1".to_owned(), "attr1-value".to_owned()),
                ("contentlanguage".to_owned(), "en".to_owned()),
            ])
        );
        assert_eq!(m.content_type, None);
    }

    #[test]
    fn eventarc_pubsub_in_structured_mode() {
        // The conformance suite's `pubsub_binary` input: binary data, structured mode.
        let body = r#"{
          "specversion": "1.0",
          "type": "google.cloud.pubsub.topic.v1.messagePublished",
          "source": "//pubsub.googleapis.com/projects/sample-project/topics/gcf-test",
          "id": "aaaaaa-1111-bbbb-2222-cccccccccccc",
          "time": "2020-09-29T11:32:00.000Z",
          "datacontenttype": "application/json",
          "data": {
            "subscription": "projects/sample-project/subscriptions/sample-subscription",
            "message": {
              "@type": "type.googleapis.com/google.pubsub.v1.PubsubMessage",
              "messageId": "aaaaaa-1111-bbbb-2222-cccccccccccc",
              "publishTime": "2020-09-29T11:32:00.000Z",
              "attributes": { "datacontenttype": "application/octet-stream" },
              "data": "AQIDBA=="
            }
          }
        }"#;
        let ce = cloudevent(
            &headers(&[(
                "content-type",
                "application/cloudevents+json; charset=utf-8",
            )]),
            body.as_bytes().to_vec(),
        )
        .unwrap();
        let published = PushEnvelope::from_cloudevent(&ce).unwrap();
        let m = queue_view(pubsub_event(&published.message, "raw", ce.source(), 1).unwrap());
        assert_eq!(&m.body[..], &[1, 2, 3, 4]);
        assert!(m.attributes.is_empty());
    }

    #[test]
    fn push_envelopes_with_and_without_delivery_attempt() {
        // The documented push body ("Receive messages"), both id spellings, an ordering key.
        let with = br#"{
          "message": {
            "attributes": { "key": "value", "datacontenttype": "application/json" },
            "data": "eyJpZCI6IjQyIn0=",
            "messageId": "2070443601311540",
            "message_id": "2070443601311540",
            "publishTime": "2021-02-26T19:13:55.749Z",
            "publish_time": "2021-02-26T19:13:55.749Z",
            "orderingKey": "customer-7"
          },
          "subscription": "projects/myproject/subscriptions/mysubscription",
          "deliveryAttempt": 5
        }"#;
        let env = PushEnvelope::parse(with).unwrap();
        assert_eq!(env.delivery_attempt(), 5);
        assert_eq!(env.message.ordering_key.as_deref(), Some("customer-7"));
        let m =
            queue_view(pubsub_event(&env.message, "orders", "s", env.delivery_attempt()).unwrap());
        assert_eq!(m.id, "2070443601311540");
        assert_eq!(m.delivery_count, 5);
        assert_eq!(m.content_type.as_deref(), Some("application/json"));
        assert_eq!(m.text().unwrap(), r#"{"id":"42"}"#);
        assert_eq!(
            m.attributes,
            BTreeMap::from([
                ("key".to_owned(), "value".to_owned()),
                ("orderingkey".to_owned(), "customer-7".to_owned()),
            ])
        );

        // Without a dead-letter policy: no deliveryAttempt; only the snake-case id; no data.
        let without = br#"{"message":{"message_id":"7","publish_time":"2021-02-26T19:13:55Z",
            "attributes":{"only":"attributes"}},"subscription":"projects/p/subscriptions/s"}"#;
        let env = PushEnvelope::parse(without).unwrap();
        assert_eq!(env.delivery_attempt(), 1);
        let m = queue_view(pubsub_event(&env.message, "orders", "s", 1).unwrap());
        assert_eq!((m.id.as_str(), m.body.len(), m.delivery_count), ("7", 0, 1));
        assert!(m.enqueued_at.is_some());
    }

    #[test]
    fn malformed_pubsub_input() {
        // Not an envelope.
        for bad in [
            &b"not json"[..],
            br#"{"subscription":"s"}"#,
            br#"[]"#,
            br#"{"message":5}"#,
        ] {
            assert_eq!(
                PushEnvelope::parse(bad).unwrap_err().kind(),
                ErrorKind::Malformed
            );
        }
        // Bad base64 data.
        let env = PushEnvelope::parse(br#"{"message":{"data":"%%%not base64","messageId":"1"}}"#)
            .unwrap();
        let err = pubsub_event(&env.message, "q", "s", 1).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Malformed);
        assert!(err.message().contains("base64"), "{err}");
        assert_eq!(status_for(&err), StatusCode::BAD_REQUEST);
        // No message id.
        let env = PushEnvelope::parse(br#"{"message":{"data":"aGk="}}"#).unwrap();
        assert_eq!(
            pubsub_event(&env.message, "q", "s", 1).unwrap_err().kind(),
            ErrorKind::Malformed
        );
        // Over the size limit.
        let big = "A".repeat((MAX_MESSAGE_BYTES + 16) / 3 * 4);
        let env = PushEnvelope::parse(
            format!(r#"{{"message":{{"data":"{big}","messageId":"1"}}}}"#).as_bytes(),
        )
        .unwrap();
        let err = pubsub_event(&env.message, "q", "s", 1).unwrap_err();
        assert_eq!(status_for(&err), StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[test]
    fn malformed_cloudevents() {
        // Binary mode without `ce-id`.
        let mut h = binary_pubsub_headers();
        h.remove("ce-id");
        let err = cloudevent(&h, MESSAGE_PUBLISHED_DATA.as_bytes().to_vec()).unwrap_err();
        assert_eq!(status_for(&err), StatusCode::BAD_REQUEST);
        // Structured mode that is not JSON.
        let err = cloudevent(
            &headers(&[("content-type", "application/cloudevents+json")]),
            b"{".to_vec(),
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Malformed);
        // A Pub/Sub event whose data is not JSON: the wrong content type.
        let mut h = binary_pubsub_headers();
        h.insert("content-type", HeaderValue::from_static("text/plain"));
        let ce = cloudevent(&h, b"hello".to_vec()).unwrap();
        let err = PushEnvelope::from_cloudevent(&ce).unwrap_err();
        assert_eq!(status_for(&err), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        // JSON of another shape.
        let ce = cloudevent(&binary_pubsub_headers(), br#"{"hello":1}"#.to_vec()).unwrap();
        assert_eq!(
            PushEnvelope::from_cloudevent(&ce).unwrap_err().kind(),
            ErrorKind::Malformed
        );
        // Push bodies must say JSON.
        let err = require_json(&headers(&[("content-type", "text/plain")]), "x").unwrap_err();
        assert_eq!(status_for(&err), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    }

    /// The object resource of an Eventarc storage event (the conformance suite's storage input,
    /// with the current source and subject form).
    const STORAGE_OBJECT: &str = r#"{
      "bucket": "some-bucket",
      "contentType": "text/plain",
      "crc32c": "rTVTeQ==",
      "etag": "CNHZkbuF/ugCEAE=",
      "generation": "1587627537231057",
      "id": "some-bucket/folder/Test.cs/1587627537231057",
      "kind": "storage#object",
      "md5Hash": "kF8MuJ5+CTJxvyhHS1xzRg==",
      "mediaLink": "https://www.googleapis.com/download/storage/v1/b/some-bucket/o/folder%2FTest.cs?generation=1587627537231057&alt=media",
      "metageneration": "1",
      "name": "folder/Test.cs",
      "selfLink": "https://www.googleapis.com/storage/v1/b/some-bucket/o/folder/Test.cs",
      "size": "352",
      "storageClass": "MULTI_REGIONAL",
      "timeCreated": "2020-04-23T07:38:57.230Z",
      "timeStorageClassUpdated": "2020-04-23T07:38:57.230Z",
      "updated": "2020-04-23T07:38:57.230Z"
    }"#;

    fn storage_headers(ty: &str) -> HeaderMap {
        headers(&[
            ("ce-specversion", "1.0"),
            ("ce-type", ty),
            (
                "ce-source",
                "//storage.googleapis.com/projects/_/buckets/some-bucket",
            ),
            ("ce-subject", "objects/folder/Test.cs"),
            ("ce-id", "8491413245117366"),
            ("ce-time", "2020-09-29T11:32:00.000Z"),
            ("ce-bucket", "some-bucket"),
            ("content-type", "application/json"),
        ])
    }

    #[test]
    fn storage_finalized_and_deleted() {
        let ce = cloudevent(
            &storage_headers(STORAGE_OBJECT_FINALIZED),
            STORAGE_OBJECT.as_bytes().to_vec(),
        )
        .unwrap();
        let object = StorageObject::from_cloudevent(&ce).unwrap();
        assert_eq!(storage_bucket(&ce, &object).as_deref(), Some("some-bucket"));
        let out = storage_event(&ce, &object, "uploads").unwrap();
        assert_eq!(out.ty(), BLOB_CREATED);
        assert_eq!(out.subject(), Some("folder/Test.cs"));
        assert_eq!(out.datacontenttype(), Some("application/json"));
        let b = Event::<BlobEvent>::try_from(out).unwrap().data().clone();
        assert_eq!(b.kind, BlobEventKind::Created);
        assert_eq!(b.bucket, "uploads");
        assert_eq!(b.key, "folder/Test.cs");
        assert_eq!(b.size, Some(352));
        assert_eq!(b.etag.as_deref(), Some("1587627537231057"));
        assert_eq!(b.content_type.as_deref(), Some("text/plain"));
        assert_eq!(b.time.unwrap().to_rfc3339(), "2020-09-29T11:32:00+00:00");

        // Deleted, structured mode, numbers for int64s, the bucket from the source only.
        let body = serde_json::json!({
            "specversion": "1.0", "type": STORAGE_OBJECT_DELETED,
            "source": "//storage.googleapis.com/projects/_/buckets/some-bucket",
            "subject": "objects/a b.txt", "id": "e-2", "datacontenttype": "application/json",
            "data": { "name": "a b.txt", "size": 5, "generation": 7, "timeDeleted": "2020-05-18T09:07:51.799Z" }
        });
        let ce = cloudevent(
            &headers(&[("content-type", "application/cloudevents+json")]),
            body.to_string().into_bytes(),
        )
        .unwrap();
        let object = StorageObject::from_cloudevent(&ce).unwrap();
        assert_eq!(storage_bucket(&ce, &object).as_deref(), Some("some-bucket"));
        let out = storage_event(&ce, &object, "uploads").unwrap();
        assert_eq!(out.ty(), BLOB_DELETED);
        let b = Event::<BlobEvent>::try_from(out).unwrap().data().clone();
        assert_eq!(
            (b.key.as_str(), b.size, b.etag.as_deref()),
            ("a b.txt", Some(5), Some("7"))
        );
        assert_eq!(
            b.time.unwrap().to_rfc3339(),
            "2020-05-18T09:07:51.799+00:00"
        );
    }

    #[test]
    fn malformed_storage_events() {
        // Not JSON by content type.
        let mut h = storage_headers(STORAGE_OBJECT_FINALIZED);
        h.insert("content-type", HeaderValue::from_static("text/plain"));
        let ce = cloudevent(&h, b"x".to_vec()).unwrap();
        assert_eq!(
            StorageObject::from_cloudevent(&ce).unwrap_err().kind(),
            ErrorKind::Unsupported
        );
        // No data at all.
        let ce = cloudevent(&storage_headers(STORAGE_OBJECT_FINALIZED), Vec::new()).unwrap();
        assert_eq!(
            StorageObject::from_cloudevent(&ce).unwrap_err().kind(),
            ErrorKind::Malformed
        );
        // No object name anywhere.
        let mut h = storage_headers(STORAGE_OBJECT_FINALIZED);
        h.remove("ce-subject");
        let ce = cloudevent(&h, br#"{"bucket":"b"}"#.to_vec()).unwrap();
        let object = StorageObject::from_cloudevent(&ce).unwrap();
        assert_eq!(
            storage_event(&ce, &object, "b").unwrap_err().kind(),
            ErrorKind::Malformed
        );
    }

    #[test]
    fn scheduler_requests_become_ticks() {
        let h = headers(&[
            ("x-cloudscheduler", "true"),
            ("x-cloudscheduler-jobname", "nightly"),
            ("x-cloudscheduler-scheduletime", "2026-11-26T03:00:00.123Z"),
            ("user-agent", "Google-Cloud-Scheduler"),
        ]);
        let s = SchedulerRequest::from_headers(&h).unwrap();
        let tick = s.tick("nightly", Utc::now());
        assert_eq!(tick.ty(), SCHEDULE_TICK);
        assert_eq!(tick.subject(), Some("nightly"));
        assert_eq!(tick.source(), "//cloudscheduler.googleapis.com/nightly");
        // Retries of one run keep the id.
        assert_eq!(tick.id(), s.tick("nightly", Utc::now()).id());
        let t = Event::<ScheduleTick>::try_from(tick).unwrap();
        assert_eq!(
            t.data().scheduled_time.to_rfc3339(),
            "2026-11-26T03:00:00.123+00:00"
        );
        // A manual call: no headers, due now.
        let manual = SchedulerRequest::from_headers(&HeaderMap::new()).unwrap();
        assert!(!manual.is_scheduler);
        let now = Utc::now();
        let t = Event::<ScheduleTick>::try_from(manual.tick("nightly", now)).unwrap();
        assert_eq!(t.data().scheduled_time, now);
        // An unreadable schedule time.
        let bad = headers(&[("x-cloudscheduler-scheduletime", "yesterday")]);
        assert_eq!(
            SchedulerRequest::from_headers(&bad).unwrap_err().kind(),
            ErrorKind::Malformed
        );
    }
}
