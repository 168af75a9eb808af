//! Azure Functions custom-handler invocation payloads → cloudport's portable CloudEvents.
//!
//! The Functions host POSTs every non-forwarded invocation to `/<FunctionName>` as
//! `{"Data": {...}, "Metadata": {...}}`: `Data` holds the trigger (and input bindings) under their
//! binding names, `Metadata` the trigger metadata. Sources this decoder follows:
//!
//! - the custom handlers article, "Request payload" / "Response payload"
//!   (<https://learn.microsoft.com/azure/azure-functions/functions-custom-handlers>);
//! - the host's `ScriptInvocationContextExtensions.ToHttpScriptInvocationContext`
//!   (`Azure/azure-functions-host`, `src/WebJobs.Script/Workers/MessageExtensions/`): a value that
//!   is not a JSON object is sent as `JsonConvert.SerializeObject(value)`, so scalars arrive
//!   **JSON-encoded inside a string** (`"DequeueCount": "1"`, `"Id": "\"800ae4b3-…\""`, a text queue
//!   message as `"\"hello\""`); bytes arrive base64-encoded — a `byte[]` as Newtonsoft.Json
//!   writes it, which is what a queue trigger declared `"dataType": "binary"` (as the generated
//!   `function.json` does) hands over; metadata keys ending in `Trigger`
//!   (`QueueTrigger`, `BlobTrigger`) are left out because `Data` carries the trigger value;
//! - the queue trigger's metadata (`Id`, `DequeueCount`, `InsertionTime`, `ExpirationTime`,
//!   `NextVisibleTime`, `PopReceipt`) and the blob trigger's (`BlobTrigger`, `Uri`, `Properties`,
//!   `Metadata`) from the storage binding articles
//!   (<https://learn.microsoft.com/azure/azure-functions/functions-bindings-storage-queue-trigger>,
//!   <https://learn.microsoft.com/azure/azure-functions/functions-bindings-storage-blob-trigger>).
//!   A blob trigger with `"source": "EventGrid"` (the only source on Flex Consumption) is decoded
//!   the same way: the source only changes how the blobs extension learns of a blob (an Event
//!   Grid webhook instead of scanning); the invocation binds the blob through the same trigger
//!   binding, so `Data` and `Metadata` have the same shape;
//! - `HttpRequestExtensions.GetRequestAsJObject` for the HTTP trigger's `Data.req`
//!   (`Url`, `Method`, `Query`, `Headers` with array values, `Params`, `Body`; octet-stream and
//!   multipart bodies as base64) and `HttpOutputBindingResponse` for the `res` output
//!   (`StatusCode`, `Status`, `Body`, `Headers`, all required);
//! - the Event Grid trigger's event (`Data.<binding>`), in the Event Grid or the CloudEvents
//!   schema: see [`event_grid_events`].
//!
//! One file per trigger kind: `queue.rs`, `blob.rs`, `timer.rs`, `http.rs`, `event_grid.rs` (with
//! `storage_blob.rs` for its Blob Storage events);
//! this one holds the invocation envelope they share.

mod blob;
mod event_grid;
mod http;
mod queue;
mod storage_blob;
mod timer;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use cloudport_core::{Error, ErrorKind, Result};
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

pub use blob::blob_event;
pub use event_grid::{
    DATA_VERSION_EXTENSION, EVENT_GRID_BLOB_CREATED, EVENT_GRID_BLOB_DELETED, EventGridEvent,
    SUBSCRIPTION_VALIDATION_EVENT, event_grid_events,
};
pub use http::{http_output, http_request, strip_route_prefix};
pub use queue::{queue_body, queue_bytes, queue_event};
pub use storage_blob::StorageBlobEvent;
pub use timer::timer_event;

/// One invocation request of the Functions host: trigger and input data by binding name, and the
/// trigger metadata.
///
/// ```
/// use cloudport_adapters::azure::decode::Invocation;
/// let inv = Invocation::parse(br#"{"Data":{"message":"\"hello\""},"Metadata":{"DequeueCount":"2"}}"#).unwrap();
/// assert_eq!(inv.metadata_u64("DequeueCount"), Some(2));
/// assert!(Invocation::parse(br#"{"Metadata":{}}"#).is_err());
/// ```
#[derive(Debug, Deserialize)]
pub struct Invocation {
    #[serde(rename = "Data")]
    data: Option<BTreeMap<String, Box<RawValue>>>,
    /// Kept raw: a queue invocation reads three of its ten entries, so each is parsed on use.
    #[serde(rename = "Metadata", default)]
    metadata: Option<BTreeMap<String, Box<RawValue>>>,
}

pub(super) fn malformed(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Malformed, message.into())
}

/// A value the host may have JSON-encoded into a string: the decoded value when the string holds
/// JSON, else the string itself.
pub(super) fn unwrap_encoded(value: &Value) -> Value {
    match value {
        Value::String(s) => serde_json::from_str(s).unwrap_or_else(|_| value.clone()),
        other => other.clone(),
    }
}

impl Invocation {
    /// Parses a request body; bad JSON, or a body without a `Data` object, is `Malformed`.
    pub fn parse(body: &[u8]) -> Result<Self> {
        let inv: Self = serde_json::from_slice(body).map_err(|e| {
            malformed(format!(
                "the invocation payload is not valid JSON of the shape {{\"Data\": {{...}}, \"Metadata\": {{...}}}}: {e}"
            ))
        })?;
        if inv.data.is_none() {
            return Err(malformed(
                "the invocation payload has no \"Data\" object (expected {\"Data\": {...}, \"Metadata\": {...}})",
            ));
        }
        Ok(inv)
    }

    /// The raw JSON of the data bound to `binding`; when absent and `Data` holds exactly one
    /// entry (the trigger under another binding name), that one.
    pub fn data(&self, binding: &str) -> Result<&RawValue> {
        let data = self.data.as_ref().ok_or_else(|| malformed("no Data"))?;
        if let Some(v) = data.get(binding) {
            return Ok(v);
        }
        match data.values().collect::<Vec<_>>().as_slice() {
            [only] => Ok(only),
            _ => Err(malformed(format!(
                "the invocation's Data has no {binding:?} entry (it has {:?})",
                data.keys().collect::<Vec<_>>()
            ))),
        }
    }

    /// A metadata value, decoded when the host JSON-encoded it into a string; keys match
    /// exactly, else ignoring ASCII case.
    pub fn metadata(&self, key: &str) -> Option<Value> {
        let metadata = self.metadata.as_ref()?;
        let raw = metadata.get(key).or_else(|| {
            metadata
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v)
        })?;
        let value: Value = serde_json::from_str(raw.get()).ok()?;
        match unwrap_encoded(&value) {
            Value::Null => None,
            v => Some(v),
        }
    }

    /// A metadata value as text (numbers are rendered).
    pub fn metadata_str(&self, key: &str) -> Option<String> {
        match self.metadata(key)? {
            Value::String(s) => Some(s),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// A metadata value as an unsigned number (from a number or a string holding one).
    pub fn metadata_u64(&self, key: &str) -> Option<u64> {
        match self.metadata(key)? {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// A metadata value as a time (RFC 3339, as .NET writes `DateTimeOffset`).
    pub fn metadata_time(&self, key: &str) -> Option<DateTime<Utc>> {
        parse_time(&self.metadata_str(key)?)
    }

    /// `sys.UtcNow`: when the host started the invocation.
    pub fn host_now(&self) -> Option<DateTime<Utc>> {
        match self.metadata("sys")? {
            Value::Object(sys) => sys
                .get("UtcNow")
                .map(unwrap_encoded)
                .and_then(|v| v.as_str().and_then(parse_time)),
            _ => None,
        }
    }
}

pub(super) fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}
