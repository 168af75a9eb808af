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
//!   (`StatusCode`, `Status`, `Body`, `Headers`, all required).

use std::collections::BTreeMap;

use base64::Engine;
use chrono::{DateTime, Utc};
use cloudport_core::event::{BlobEvent, QueueMessage, ScheduleTick};
use cloudport_core::export::cloudevents;
use cloudport_core::{Error, ErrorKind, Result};
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

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

fn malformed(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Malformed, message.into())
}

/// A value the host may have JSON-encoded into a string: the decoded value when the string holds
/// JSON, else the string itself.
fn unwrap_encoded(value: &Value) -> Value {
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

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The text of a queue message as the host delivered it in `Data`.
///
/// The host has already base64-decoded the stored message. A text message arrives JSON-encoded in
/// a string (`"\"hello\""`) or, per the documented sample, as the bare string; a JSON message as a
/// JSON-encoded string or as the object itself (kept byte for byte). Both forms give the same body.
///
/// ```
/// use cloudport_adapters::azure::decode::queue_body;
/// use serde_json::value::RawValue;
/// let raw = |s: &str| RawValue::from_string(s.to_owned()).unwrap();
/// assert_eq!(queue_body(&raw(r#""\"hello\"""#)).unwrap(), "hello");
/// assert_eq!(queue_body(&raw(r#""hello""#)).unwrap(), "hello");
/// assert_eq!(queue_body(&raw(r#"{"id":"42"}"#)).unwrap(), r#"{"id":"42"}"#);
/// assert_eq!(queue_body(&raw(r#""{\"id\":\"42\"}""#)).unwrap(), r#"{"id":"42"}"#);
/// ```
pub fn queue_body(raw: &RawValue) -> Result<String> {
    let text = raw.get().trim();
    if text.starts_with('"') {
        let outer: String = serde_json::from_str(text)
            .map_err(|e| malformed(format!("the queue message is not a JSON string: {e}")))?;
        // `SerializeObject(string)` wraps the text in one more layer of JSON string; only a
        // string can be such a layer, so nothing else is parsed again.
        if outer.starts_with('"')
            && let Ok(inner) = serde_json::from_str::<String>(&outer)
        {
            return Ok(inner);
        }
        return Ok(outer);
    }
    if text == "null" {
        return Err(malformed("the queue message is null"));
    }
    Ok(text.to_owned())
}

/// The bytes of a queue message as the host delivered it in `Data`.
///
/// With `"dataType": "binary"` (the generated `function.json`) the host binds the message as
/// `byte[]` and sends it Base64-encoded in a JSON string: those are the bytes, exactly as stored
/// (UTF-8 or not). A binding without a data type (a `function.json` generated before it declared
/// one) sends text, read as [`queue_body`] reads it: a string that is itself JSON-encoded (it
/// starts with `"`) or is not canonical Base64, or a JSON object. Only a bare string that is
/// canonical Base64 is ambiguous between the two; it is read as Base64, the generated binding's
/// form.
///
/// ```
/// use cloudport_adapters::azure::decode::queue_bytes;
/// use serde_json::value::RawValue;
/// let raw = |s: &str| RawValue::from_string(s.to_owned()).unwrap();
/// assert_eq!(queue_bytes(&raw(r#""/wDDKA==""#)).unwrap(), &[0xff, 0x00, 0xc3, 0x28][..]);
/// assert_eq!(queue_bytes(&raw(r#""aGVsbG8=""#)).unwrap(), "hello");
/// assert_eq!(queue_bytes(&raw(r#""\"hello\"""#)).unwrap(), "hello");
/// assert_eq!(queue_bytes(&raw(r#"{"id":"42"}"#)).unwrap(), r#"{"id":"42"}"#);
/// ```
pub fn queue_bytes(raw: &RawValue) -> Result<bytes::Bytes> {
    let text = raw.get().trim();
    if text.starts_with('"')
        && let Ok(outer) = serde_json::from_str::<String>(text)
        && !outer.starts_with('"')
        && let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(outer.as_bytes())
    {
        return Ok(bytes.into());
    }
    queue_body(raw).map(bytes::Bytes::from)
}

/// A queue-trigger invocation as the portable queue-message event of logical queue `queue`
/// (`io.cloudport.queue.message.v1`; id from `Id`, delivery count from `DequeueCount`, enqueue
/// time from `InsertionTime`; body, content type and attributes from the message's bytes
/// ([`queue_bytes`]), unwrapping the envelope of [`cloudport_core::queue::wire::from_envelope`]).
/// `source` names the queue (its binding URL). The delivery count is always the host's
/// `DequeueCount`: a `deliverycount` attribute in an envelope (written outside cloudport, which
/// refuses that name) is dropped with a warning, so no sender can reset the count the
/// dead-letter policy reads.
///
/// ```
/// use cloudport_adapters::azure::decode::{Invocation, queue_event};
/// use cloudport_core::event::{Event, QueueMessage};
/// let inv = Invocation::parse(br#"{"Data":{"message":"\"hi\""},
///     "Metadata":{"Id":"\"m-1\"","DequeueCount":"3","InsertionTime":"\"2019-10-09T17:58:31+00:00\""}}"#).unwrap();
/// let ev = Event::<QueueMessage>::try_from(queue_event(&inv, "message", "orders", "azqueue://acct/orders").unwrap()).unwrap();
/// assert_eq!((ev.data().id.as_str(), ev.data().delivery_count), ("m-1", 3));
/// assert_eq!(ev.data().text().unwrap(), "hi");
/// ```
pub fn queue_event(
    inv: &Invocation,
    binding: &str,
    queue: &str,
    source: &str,
) -> Result<cloudevents::Event> {
    let body = queue_bytes(inv.data(binding)?)?;
    let id = inv
        .metadata_str("Id")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| malformed("the queue invocation's Metadata has no message \"Id\""))?;
    let delivery_count = inv
        .metadata_u64("DequeueCount")
        .and_then(|n| u32::try_from(n).ok())
        .unwrap_or(1)
        .max(1);
    // Storage queues carry no attributes: a message with a content type or attributes travels
    // as cloudport's envelope (`core::queue::wire`), unwrapped here; other text is the body.
    let mut wire = cloudport_core::queue::wire::from_envelope(&body);
    if let Some(claimed) = wire
        .attributes
        .remove(cloudport_core::event::DELIVERY_COUNT_EXTENSION)
    {
        tracing::warn!(message_id = %id, claimed = %claimed,
            "dropping the envelope's deliverycount attribute; the delivery count is the host's DequeueCount");
    }
    let mut msg = QueueMessage::new(queue, id, wire.body)
        .with_delivery_count(delivery_count)
        .with_enqueued_at(inv.metadata_time("InsertionTime"));
    msg.content_type = wire.content_type;
    msg.attributes = wire.attributes;
    Ok(msg.into_cloudevent(source))
}

/// The parts of a blob trigger's `Properties` cloudport reads (the v5 storage extension writes
/// `ContentLength`, the v4 one `Length`).
#[derive(Debug, Default, Deserialize)]
struct BlobProperties {
    #[serde(rename = "ContentLength", alias = "Length")]
    length: Option<Value>,
    #[serde(rename = "ContentType")]
    content_type: Option<String>,
    #[serde(rename = "ETag")]
    etag: Option<Value>,
    #[serde(rename = "LastModified")]
    last_modified: Option<String>,
}

/// A blob-trigger invocation as the portable blob-created event of logical bucket `bucket`
/// (`io.cloudport.blob.created.v1`; the blob trigger fires on writes only). Container and key
/// come from `BlobTrigger` (`container/key`), else `Uri`, else the `name` of the path pattern (in
/// `container`); size, content type, ETag and time from `Properties` — the size from the content
/// itself (base64, as the host sends bytes) when `Properties` lacks it.
///
/// ```
/// use cloudport_adapters::azure::decode::{Invocation, blob_event};
/// use cloudport_core::event::{BlobEvent, Event};
/// let inv = Invocation::parse(br#"{"Data":{"blob":"aGk="},"Metadata":{"BlobTrigger":"\"photos/a b.png\"",
///     "Properties":{"ContentLength":2,"ContentType":"image/png","ETag":"\"0x8D\""}}}"#).unwrap();
/// let ev = Event::<BlobEvent>::try_from(blob_event(&inv, "blob", "uploads", "photos", "azblob://acct/photos").unwrap()).unwrap();
/// assert_eq!((ev.data().key.as_str(), ev.data().size), ("a b.png", Some(2)));
/// ```
pub fn blob_event(
    inv: &Invocation,
    binding: &str,
    bucket: &str,
    container: &str,
    source: &str,
) -> Result<cloudevents::Event> {
    let (container, key) = blob_path(inv, container)
        .filter(|(_, k)| !k.is_empty())
        .ok_or_else(|| {
            malformed("the blob invocation's Metadata names no blob (no BlobTrigger, Uri or name)")
        })?;
    let properties: BlobProperties = match inv.metadata("Properties") {
        Some(v @ Value::Object(_)) => serde_json::from_value(v).unwrap_or_else(|e| {
            tracing::warn!(error = %e, blob = %key, "the blob trigger's Properties are unreadable; size, content type and ETag are left out");
            BlobProperties::default()
        }),
        _ => BlobProperties::default(),
    };
    let size = match properties.length.as_ref().map(unwrap_encoded) {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    };
    let size = match size {
        Some(s) => Some(s),
        None => Some(blob_content_len(inv.data(binding)?)?),
    };
    let etag = match properties.etag.as_ref().map(unwrap_encoded) {
        Some(Value::String(e)) if !e.is_empty() => Some(if e.starts_with('"') {
            e
        } else {
            format!("\"{e}\"")
        }),
        _ => None,
    };
    let time = properties
        .last_modified
        .as_deref()
        .and_then(parse_time)
        .or_else(|| inv.host_now());
    let version = etag
        .as_deref()
        .map(|e| e.trim_matches('"').to_owned())
        .or_else(|| time.map(|t| t.timestamp_micros().to_string()))
        .unwrap_or_default();
    let id = format!("{container}/{key}/{version}");
    Ok(BlobEvent::created(bucket, key)
        .with_size(size)
        .with_etag(etag)
        .with_content_type(properties.content_type)
        .with_time(time)
        .to_cloudevent(source, &id))
}

/// (container, key) of the blob: `BlobTrigger` and `Uri` name both; `name` only the key.
fn blob_path(inv: &Invocation, container: &str) -> Option<(String, String)> {
    let split = |path: &str| {
        let path = path.trim_start_matches('/');
        path.split_once('/')
            .map(|(c, k)| (c.to_owned(), k.to_owned()))
    };
    if let Some(path) = inv.metadata_str("BlobTrigger") {
        return split(&path);
    }
    if let Some(uri) = inv.metadata_str("Uri") {
        let path = uri
            .split_once("://")
            .map_or(uri.as_str(), |(_, rest)| rest)
            .split_once('/')
            .map_or("", |(_, path)| path);
        let path = path.split(['?', '#']).next().unwrap_or_default();
        let decoded = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
        return split(&decoded);
    }
    inv.metadata_str("name").map(|k| (container.to_owned(), k))
}

/// The length of blob content the host sent: bytes as base64 (`dataType: binary`), else text.
fn blob_content_len(raw: &RawValue) -> Result<u64> {
    let text: String = serde_json::from_str(raw.get())
        .map_err(|e| malformed(format!("the blob content is not a string: {e}")))?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.as_bytes())
        .map_err(|e| malformed(format!("the blob content is not valid base64: {e}")))?;
    Ok(bytes.len() as u64)
}

/// A timer-trigger invocation as the portable tick of schedule `schedule`
/// (`io.cloudport.schedule.tick.v1`), due at the host's `sys.UtcNow` (now when absent). The
/// `TimerInfo` in `Data` (`Schedule`, `ScheduleStatus`, `IsPastDue`) must be an object; its
/// `IsPastDue` is logged.
///
/// ```
/// use cloudport_adapters::azure::decode::{Invocation, timer_event};
/// use cloudport_core::event::{Event, ScheduleTick};
/// let inv = Invocation::parse(br#"{"Data":{"timer":{"Schedule":{"AdjustForDST":true},"IsPastDue":false}},
///     "Metadata":{"sys":{"MethodName":"schedule-nightly","UtcNow":"2026-11-26T03:00:00.0123Z"}}}"#).unwrap();
/// let ev = Event::<ScheduleTick>::try_from(timer_event(&inv, "timer", "nightly", "azure-functions:schedule-nightly").unwrap()).unwrap();
/// assert_eq!(ev.data().schedule, "nightly");
/// assert_eq!(ev.data().scheduled_time.to_rfc3339(), "2026-11-26T03:00:00.012300+00:00");
/// ```
pub fn timer_event(
    inv: &Invocation,
    binding: &str,
    schedule: &str,
    source: &str,
) -> Result<cloudevents::Event> {
    let info: Value = serde_json::from_str(inv.data(binding)?.get())?;
    let info = match unwrap_encoded(&info) {
        Value::Object(o) => o,
        _ => {
            return Err(malformed(
                "the timer invocation's Data is not a TimerInfo object",
            ));
        }
    };
    if info
        .get("IsPastDue")
        .is_some_and(|v| unwrap_encoded(v) == Value::Bool(true))
    {
        tracing::warn!(schedule, "the timer tick is past due");
    }
    let time = inv.host_now().unwrap_or_else(Utc::now);
    let id = format!("{schedule}-{}", time.timestamp_micros());
    Ok(ScheduleTick::new(schedule, time).to_cloudevent(source, &id))
}

/// The HTTP trigger's request as the host sends it when it does not forward HTTP
/// (`Data.req`).
#[derive(Debug, Deserialize)]
struct HttpTriggerRequest {
    #[serde(rename = "Url")]
    url: String,
    #[serde(rename = "Method")]
    method: String,
    #[serde(rename = "Headers", default)]
    headers: Option<BTreeMap<String, Value>>,
    #[serde(rename = "Body", default)]
    body: Option<Value>,
}

/// `Data.req` of a non-forwarded HTTP invocation as an HTTP request for the app's router: the
/// path of `Url` without the route prefix (`api` → `/api/orders` becomes `/orders`), its query,
/// the method, the headers (array values become repeated headers) and the body (base64-decoded
/// for `application/octet-stream` and `multipart/*`, which the host sends as bytes).
///
/// ```
/// use cloudport_adapters::azure::decode::{Invocation, http_request};
/// let inv = Invocation::parse(br#"{"Data":{"req":{"Url":"https://app.azurewebsites.net/api/orders?x=1",
///     "Method":"POST","Query":"{\"x\":\"1\"}","Headers":{"Content-Type":["application/json"]},
///     "Params":{"route":"orders"},"Body":"{\"id\":1}"}},"Metadata":{}}"#).unwrap();
/// let req = http_request(&inv, "req", "api").unwrap();
/// assert_eq!(req.uri(), "/orders?x=1");
/// assert_eq!(req.method(), "POST");
/// assert_eq!(req.headers()["content-type"], "application/json");
/// ```
pub fn http_request(
    inv: &Invocation,
    binding: &str,
    route_prefix: &str,
) -> Result<axum::http::Request<axum::body::Body>> {
    let req: HttpTriggerRequest = serde_json::from_str(inv.data(binding)?.get()).map_err(|e| {
        malformed(format!(
            "the HTTP trigger's request (Data.{binding}) is not as documented: {e}"
        ))
    })?;
    let after_scheme = req
        .url
        .split_once("://")
        .map_or(req.url.as_str(), |(_, rest)| rest);
    let path_and_query = after_scheme.find('/').map_or("/", |i| &after_scheme[i..]);
    let path_and_query = strip_route_prefix(path_and_query, route_prefix).ok_or_else(|| {
        malformed(format!(
            "the HTTP request {:?} is outside the route prefix {route_prefix:?}",
            req.url
        ))
    })?;
    let method = axum::http::Method::from_bytes(req.method.as_bytes())
        .map_err(|e| malformed(format!("bad HTTP method {:?}: {e}", req.method)))?;
    let mut builder = axum::http::Request::builder()
        .method(method)
        .uri(path_and_query.as_str());
    let mut content_type = String::new();
    for (name, value) in req.headers.unwrap_or_default() {
        let values = match unwrap_encoded(&value) {
            Value::Array(vs) => vs,
            v => vec![v],
        };
        for v in values {
            let text = match v {
                Value::String(s) => s,
                Value::Null => continue,
                other => other.to_string(),
            };
            if name.eq_ignore_ascii_case("content-type") {
                content_type = text.to_ascii_lowercase();
            }
            builder = builder.header(name.as_str(), text);
        }
    }
    let body = match req.body {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s))
            if content_type.starts_with("application/octet-stream")
                || content_type.starts_with("multipart/") =>
        {
            base64::engine::general_purpose::STANDARD
                .decode(s.as_bytes())
                .map_err(|e| malformed(format!("the binary HTTP body is not valid base64: {e}")))?
        }
        Some(Value::String(s)) => s.into_bytes(),
        // The host may hand a JSON body over parsed.
        Some(other) => serde_json::to_vec(&other)?,
    };
    builder
        .body(axum::body::Body::from(body))
        .map_err(|e| malformed(format!("the HTTP request cannot be rebuilt: {e}")))
}

/// `path_and_query` without the route prefix (`/api/orders?x` → `/orders?x` for prefix `api`);
/// `None` when it lies outside the prefix. An empty prefix keeps the path.
///
/// ```
/// use cloudport_adapters::azure::decode::strip_route_prefix;
/// assert_eq!(strip_route_prefix("/api/orders?x=1", "api").as_deref(), Some("/orders?x=1"));
/// assert_eq!(strip_route_prefix("/api", "api").as_deref(), Some("/"));
/// assert_eq!(strip_route_prefix("/apix", "api"), None);
/// assert_eq!(strip_route_prefix("/orders", "").as_deref(), Some("/orders"));
/// ```
pub fn strip_route_prefix(path_and_query: &str, route_prefix: &str) -> Option<String> {
    let prefix = route_prefix.trim_matches('/');
    if prefix.is_empty() {
        return Some(path_and_query.to_owned());
    }
    let rest = path_and_query.strip_prefix('/')?.strip_prefix(prefix)?;
    match rest.chars().next() {
        None => Some("/".to_owned()),
        Some('/') => Some(rest.to_owned()),
        Some('?') => Some(format!("/{rest}")),
        Some(_) => None,
    }
}

/// An HTTP response as the `http` output binding the host expects in `Outputs`: `statusCode`,
/// `status`, `headers` (multi-valued headers joined with `, `) and `body` (text; a body that is
/// not UTF-8 is sent base64-encoded with a warning — binary responses need HTTP forwarding).
pub async fn http_output(response: axum::response::Response) -> Result<Value> {
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .map_err(|e| Error::new(ErrorKind::Other, format!("reading the HTTP response: {e}")))?;
    let mut headers = serde_json::Map::new();
    for name in parts.headers.keys() {
        let joined = parts
            .headers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect::<Vec<_>>()
            .join(", ");
        headers.insert(name.as_str().to_owned(), Value::String(joined));
    }
    let body = match String::from_utf8(bytes.to_vec()) {
        Ok(text) => text,
        Err(_) => {
            tracing::warn!(
                "a binary HTTP response body goes base64-encoded through the http output binding; enable HTTP forwarding to send it as is"
            );
            base64::engine::general_purpose::STANDARD.encode(&bytes)
        }
    };
    let status = parts.status.as_u16();
    Ok(serde_json::json!({
        "statusCode": status,
        "status": status,
        "headers": headers,
        "body": body,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloudport_core::event::{
        BLOB_CREATED, Event, QUEUE_MESSAGE, SCHEDULE_TICK, ScheduleTick as Tick,
    };

    /// The documented queue sample (custom handlers article), with the host's string-encoded
    /// scalars as `ToHttpScriptInvocationContext` writes them.
    const QUEUE_PAYLOAD: &str = r#"{
      "Data": { "message": "\"{ message: \\\"Message sent\\\" }\"" },
      "Metadata": {
        "DequeueCount": "1",
        "ExpirationTime": "\"2019-10-16T17:58:31+00:00\"",
        "Id": "\"800ae4b3-bdd2-4c08-badd-f08e5a34b865\"",
        "InsertionTime": "\"2019-10-09T17:58:31+00:00\"",
        "NextVisibleTime": "\"2019-10-09T18:08:32+00:00\"",
        "PopReceipt": "\"AgAAAAMAAAAAAAAAAgtnj8x+1QE=\"",
        "sys": { "MethodName": "queue-orders", "UtcNow": "2019-10-09T17:58:32.2205399Z",
                 "RandGuid": "24ad4c06-24ad-4e5b-8294-3da9714877e9" }
      }
    }"#;

    /// The same message as the documentation prints it: scalars bare.
    const QUEUE_PAYLOAD_DOC: &str = r#"{
      "Data": { "message": "{ message: \"Message sent\" }" },
      "Metadata": {
        "DequeueCount": 1,
        "ExpirationTime": "2019-10-16T17:58:31+00:00",
        "Id": "800ae4b3-bdd2-4c08-badd-f08e5a34b865",
        "InsertionTime": "2019-10-09T17:58:31+00:00",
        "NextVisibleTime": "2019-10-09T18:08:32+00:00",
        "PopReceipt": "AgAAAAMAAAAAAAAAAgtnj8x+1QE=",
        "sys": { "MethodName": "QueueTrigger", "UtcNow": "2019-10-09T17:58:32.2205399Z",
                 "RandGuid": "24ad4c06-24ad-4e5b-8294-3da9714877e9" }
      }
    }"#;

    fn queue_message(payload: &str) -> QueueMessage {
        let inv = Invocation::parse(payload.as_bytes()).unwrap();
        let ce = queue_event(&inv, "message", "orders", "azqueue://acct/orders").unwrap();
        assert_eq!(cloudevents::AttributesReader::ty(&ce), QUEUE_MESSAGE);
        Event::<QueueMessage>::try_from(ce).unwrap().data().clone()
    }

    #[test]
    fn queue_payloads_with_encoded_and_bare_metadata_agree() {
        let encoded = queue_message(QUEUE_PAYLOAD);
        let bare = queue_message(QUEUE_PAYLOAD_DOC);
        assert_eq!(encoded, bare);
        assert_eq!(encoded.id, "800ae4b3-bdd2-4c08-badd-f08e5a34b865");
        assert_eq!(encoded.queue, "orders");
        assert_eq!(encoded.delivery_count, 1);
        assert_eq!(encoded.text().unwrap(), r#"{ message: "Message sent" }"#);
        assert_eq!(
            encoded.enqueued_at.unwrap().to_rfc3339(),
            "2019-10-09T17:58:31+00:00"
        );
    }

    #[test]
    fn json_queue_messages_as_object_or_string_give_the_same_body() {
        let object = r#"{"Data":{"message":{"id":"42","total_cents":1250}},"Metadata":{"Id":"\"m\"","DequeueCount":"4"}}"#;
        let string = r#"{"Data":{"message":"\"{\\\"id\\\":\\\"42\\\",\\\"total_cents\\\":1250}\""},"Metadata":{"Id":"m","DequeueCount":4}}"#;
        let a = queue_message(object);
        let b = queue_message(string);
        assert_eq!(a.body, b.body);
        assert_eq!(a.delivery_count, 4);
        let v: Value = a.json().unwrap();
        assert_eq!(v["total_cents"], 1250);
    }

    #[test]
    fn enveloped_messages_keep_content_type_and_attributes() {
        // (`text/plain`: as of writing, `from_envelope` reads an `application/json` body back
        // JSON-quoted — a core issue, reported.)
        let sent = cloudport_core::Message::new("two \"pizzas\"")
            .with_content_type("text/plain")
            .with_attribute("tenant", "acme");
        let wire =
            String::from_utf8(cloudport_core::queue::wire::to_envelope(&sent).unwrap()).unwrap();
        // The host may hand the (JSON) envelope over as an object or JSON-encoded in a string.
        let as_object = format!(r#"{{"Data":{{"message":{wire}}},"Metadata":{{"Id":"m"}}}}"#);
        let as_string = serde_json::json!({
            "Data": { "message": serde_json::to_string(&wire).unwrap() },
            "Metadata": { "Id": "\"m\"" }
        })
        .to_string();
        for payload in [as_object, as_string] {
            let m = queue_message(&payload);
            assert_eq!(m.body, sent.body);
            assert_eq!(m.content_type.as_deref(), Some("text/plain"));
            assert_eq!(m.attributes["tenant"], "acme");
        }
    }

    #[test]
    fn malformed_payloads_are_malformed() {
        for bad in [
            &b"not json"[..],
            br#"{"Metadata":{}}"#,
            br#"{"Data":5}"#,
            br#"[1,2]"#,
        ] {
            assert_eq!(
                Invocation::parse(bad).unwrap_err().kind(),
                ErrorKind::Malformed,
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        // A queue message without an id.
        let inv = Invocation::parse(br#"{"Data":{"message":"x"},"Metadata":{}}"#).unwrap();
        assert_eq!(
            queue_event(&inv, "message", "q", "s").unwrap_err().kind(),
            ErrorKind::Malformed
        );
        // Data that does not hold the binding, among several entries.
        let inv =
            Invocation::parse(br#"{"Data":{"a":"1","b":"2"},"Metadata":{"Id":"x"}}"#).unwrap();
        assert!(inv.data("message").is_err());
    }

    /// A blob trigger's payload: content as base64 bytes, `Properties` as the v5 extension
    /// serializes `BlobProperties`, `Uri` escaped, and `BlobTrigger` left out by the host.
    const BLOB_PAYLOAD: &str = r#"{
      "Data": { "blob": "aGVsbG8gd29ybGQ=" },
      "Metadata": {
        "Uri": "\"https://acct.blob.core.windows.net/photos/2026/a%20b.png\"",
        "name": "\"2026/a b.png\"",
        "Properties": { "LastModified": "2026-11-26T03:00:00+00:00", "ContentLength": 11,
                        "ContentType": "image/png", "ETag": "\"0x8DC0FFEE\"" },
        "Metadata": { "owner": "ana" },
        "sys": { "MethodName": "blob-uploads", "UtcNow": "2026-11-26T03:00:01Z" }
      }
    }"#;

    #[test]
    fn blob_payloads_become_blob_created_events() {
        let inv = Invocation::parse(BLOB_PAYLOAD.as_bytes()).unwrap();
        let ce = blob_event(&inv, "blob", "uploads", "photos", "azblob://acct/photos").unwrap();
        assert_eq!(cloudevents::AttributesReader::ty(&ce), BLOB_CREATED);
        let ev = Event::<BlobEvent>::try_from(ce).unwrap();
        let b = ev.data();
        assert_eq!(b.bucket, "uploads");
        assert_eq!(b.key, "2026/a b.png");
        assert_eq!(b.size, Some(11));
        assert_eq!(b.etag.as_deref(), Some("\"0x8DC0FFEE\""));
        assert_eq!(b.content_type.as_deref(), Some("image/png"));
        assert_eq!(b.time.unwrap().to_rfc3339(), "2026-11-26T03:00:00+00:00");

        // The v4 shape: `BlobTrigger` present, `Length`, a bare ETag.
        let v4 = r#"{"Data":{"blob":"aGk="},"Metadata":{"BlobTrigger":"photos/x.txt",
            "Properties":{"Length":"2","ETag":"0x1"}}}"#;
        let inv = Invocation::parse(v4.as_bytes()).unwrap();
        let ev = Event::<BlobEvent>::try_from(
            blob_event(&inv, "blob", "uploads", "photos", "s").unwrap(),
        )
        .unwrap();
        assert_eq!(ev.data().key, "x.txt");
        assert_eq!(ev.data().size, Some(2));
        assert_eq!(ev.data().etag.as_deref(), Some("\"0x1\""));
    }

    #[test]
    fn blob_size_comes_from_the_content_when_properties_lack_it() {
        let inv =
            Invocation::parse(br#"{"Data":{"blob":"aGk="},"Metadata":{"name":"k"}}"#).unwrap();
        let ev =
            Event::<BlobEvent>::try_from(blob_event(&inv, "blob", "b", "c", "s").unwrap()).unwrap();
        assert_eq!(ev.data().size, Some(2));
        let bad = Invocation::parse(br#"{"Data":{"blob":"not base64!"},"Metadata":{"name":"k"}}"#)
            .unwrap();
        let err = blob_event(&bad, "blob", "b", "c", "s").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Malformed);
        assert!(err.message().contains("base64"), "{err}");
        let nameless = Invocation::parse(br#"{"Data":{"blob":"aGk="},"Metadata":{}}"#).unwrap();
        assert!(blob_event(&nameless, "blob", "b", "c", "s").is_err());
    }

    #[test]
    fn timer_payloads_become_ticks() {
        let payload = r#"{
          "Data": { "timer": { "Schedule": { "AdjustForDST": true },
            "ScheduleStatus": { "Last": "2026-11-26T02:55:00+00:00", "Next": "2026-11-26T03:05:00+00:00",
                                "LastUpdated": "2026-11-26T02:55:00+00:00" },
            "IsPastDue": false } },
          "Metadata": { "sys": { "MethodName": "schedule-nightly", "UtcNow": "2026-11-26T03:00:00Z",
                                 "RandGuid": "r" } }
        }"#;
        let inv = Invocation::parse(payload.as_bytes()).unwrap();
        let ce = timer_event(&inv, "timer", "nightly", "azure-functions:schedule-nightly").unwrap();
        assert_eq!(cloudevents::AttributesReader::ty(&ce), SCHEDULE_TICK);
        let tick = Event::<Tick>::try_from(ce).unwrap();
        assert_eq!(tick.data().schedule, "nightly");
        assert_eq!(
            tick.data().scheduled_time.to_rfc3339(),
            "2026-11-26T03:00:00+00:00"
        );
        // A TimerInfo JSON-encoded into a string is read too; a scalar is not a TimerInfo.
        let encoded =
            Invocation::parse(br#"{"Data":{"timer":"{\"IsPastDue\":true}"},"Metadata":{}}"#)
                .unwrap();
        assert!(timer_event(&encoded, "timer", "n", "s").is_ok());
        let scalar = Invocation::parse(br#"{"Data":{"timer":"5"},"Metadata":{}}"#).unwrap();
        assert_eq!(
            timer_event(&scalar, "timer", "n", "s").unwrap_err().kind(),
            ErrorKind::Malformed
        );
    }

    #[tokio::test]
    async fn http_requests_are_rebuilt_and_responses_become_the_output_binding() {
        // The documented sample of the custom handlers article ("Function with bindings").
        let payload = r#"{
          "Data": { "req": { "Url": "http://localhost:7071/api/order", "Method": "POST", "Query": "{}",
              "Headers": { "Content-Type": [ "application/json" ], "X-Many": ["a", "b"] },
              "Params": {}, "Body": "{\"id\":1005,\"quantity\":2,\"color\":\"black\"}" } },
          "Metadata": {}
        }"#;
        let inv = Invocation::parse(payload.as_bytes()).unwrap();
        let req = http_request(&inv, "req", "api").unwrap();
        assert_eq!(req.uri(), "/order");
        assert_eq!(req.headers().get_all("x-many").iter().count(), 2);
        let body = axum::body::to_bytes(req.into_body(), usize::MAX)
            .await
            .unwrap();
        assert_eq!(&body[..], br#"{"id":1005,"quantity":2,"color":"black"}"#);

        // Binary bodies arrive base64-encoded.
        let binary = r#"{"Data":{"req":{"Url":"http://h/api/up","Method":"PUT",
            "Headers":{"Content-Type":["application/octet-stream"]},"Body":"AAEC"}},"Metadata":{}}"#;
        let inv = Invocation::parse(binary.as_bytes()).unwrap();
        let body = axum::body::to_bytes(
            http_request(&inv, "req", "api").unwrap().into_body(),
            usize::MAX,
        )
        .await
        .unwrap();
        assert_eq!(&body[..], &[0, 1, 2]);
        let bad = binary.replace("AAEC", "@@@");
        let inv = Invocation::parse(bad.as_bytes()).unwrap();
        assert_eq!(
            http_request(&inv, "req", "api").unwrap_err().kind(),
            ErrorKind::Malformed
        );

        let response = axum::response::Response::builder()
            .status(201)
            .header("content-type", "text/plain")
            .body(axum::body::Body::from("made"))
            .unwrap();
        let out = http_output(response).await.unwrap();
        assert_eq!(out["statusCode"], 201);
        assert_eq!(out["body"], "made");
        assert_eq!(out["headers"]["content-type"], "text/plain");
    }
}
