//! How a published CloudEvent travels on each transport, defined once so a provider's driver
//! (which publishes) and a host (which decodes the platform's delivery) agree without depending
//! on each other.
//!
//! - **Structured mode** ([`to_structured`] / [`from_structured`]): the whole event as one JSON
//!   document (the JSON event format,
//!   <https://github.com/cloudevents/spec/blob/main/cloudevents/formats/json-format.md>), content
//!   type [`STRUCTURED_CONTENT_TYPE`]. SNS carries it as the `Message` (the CloudEvents SNS
//!   binding's structured mode, <https://github.com/cloudevents/spec/blob/main/cloudevents/bindings/aws-sns-binding.md>
//!   — hence the Lambda host's SNS decoder delivering such a `Message` as that event), and memory
//!   subscriptions hold it as a queue message body.
//! - **Binary mode** ([`to_binary`] / [`from_binary`]): the event's `data` as the message payload,
//!   as is, `datacontenttype` as the `content-type` attribute, every other attribute as a
//!   `ce-`-prefixed message attribute — the Pub/Sub protocol binding's binary content mode
//!   (<https://github.com/google/knative-gcp/blob/main/docs/spec/pubsub-protocol-binding.md#31-binary-content-mode>).

use std::collections::BTreeMap;

use cloudevents::event::{AttributeValue, ExtensionValue};
use cloudevents::{Data, EventBuilder, EventBuilderV10};

use crate::{Error, ErrorKind, Result};

/// The media type of a CloudEvent in structured JSON mode.
pub const STRUCTURED_CONTENT_TYPE: &str = "application/cloudevents+json";

/// The prefix of the message attributes that carry CloudEvents attributes in binary mode.
pub const BINARY_PREFIX: &str = "ce-";

/// The message attribute that carries `datacontenttype` in binary mode.
pub const BINARY_CONTENT_TYPE: &str = "content-type";

/// The event in structured JSON mode.
///
/// ```
/// use cloudport_core::export::cloudevents::{EventBuilder, EventBuilderV10};
/// use cloudport_core::topic::wire::{from_structured, to_structured};
/// let event = EventBuilderV10::new().id("1").source("shop").ty("order.placed")
///     .extension("tenant", "acme").build().unwrap();
/// assert_eq!(from_structured(&to_structured(&event).unwrap()).unwrap(), event);
/// ```
pub fn to_structured(event: &cloudevents::Event) -> Result<Vec<u8>> {
    serde_json::to_vec(event).map_err(|e| {
        Error::invalid(format!(
            "the event does not serialize as a structured CloudEvent: {e}"
        ))
    })
}

/// An event read from structured JSON mode; anything else is `Malformed`.
pub fn from_structured(bytes: &[u8]) -> Result<cloudevents::Event> {
    serde_json::from_slice(bytes).map_err(|e| {
        Error::new(
            ErrorKind::Malformed,
            format!("the message is not a structured-mode CloudEvent: {e}"),
        )
    })
}

/// The event in binary mode: the message attributes and the payload.
///
/// ```
/// use cloudport_core::export::cloudevents::{EventBuilder, EventBuilderV10};
/// use cloudport_core::topic::wire::{from_binary, to_binary};
/// let event = EventBuilderV10::new().id("1").source("shop").ty("order.placed")
///     .data("application/json", serde_json::json!({"total": 3}))
///     .extension("tenant", "acme").build().unwrap();
/// let (attributes, payload) = to_binary(&event);
/// assert_eq!(attributes["ce-type"], "order.placed");
/// assert_eq!(attributes["ce-tenant"], "acme");
/// assert_eq!(attributes["content-type"], "application/json");
/// assert_eq!(payload, br#"{"total":3}"#);
/// let back = from_binary(&attributes, &payload).unwrap();
/// assert_eq!(back.extension("tenant").unwrap().to_string(), "acme");
/// ```
pub fn to_binary(event: &cloudevents::Event) -> (BTreeMap<String, String>, Vec<u8>) {
    let mut attributes = BTreeMap::new();
    for (name, value) in event.iter() {
        match (name, value) {
            ("datacontenttype", v) => {
                attributes.insert(BINARY_CONTENT_TYPE.to_owned(), v.to_string());
            }
            (name, AttributeValue::Time(t)) => {
                attributes.insert(format!("{BINARY_PREFIX}{name}"), t.to_rfc3339());
            }
            (name, v) => {
                attributes.insert(format!("{BINARY_PREFIX}{name}"), v.to_string());
            }
        }
    }
    // JSON data without a content type is JSON on the wire too (CloudEvents' JSON format implies
    // `application/json`), so a subscriber reads the same data as through SNS or memory.
    if matches!(event.data(), Some(Data::Json(_))) {
        attributes
            .entry(BINARY_CONTENT_TYPE.to_owned())
            .or_insert_with(|| "application/json".to_owned());
    }
    let payload = match event.data() {
        Some(Data::Binary(b)) => b.clone(),
        Some(Data::String(s)) => s.clone().into_bytes(),
        Some(Data::Json(j)) => serde_json::to_vec(j).unwrap_or_default(),
        None => Vec::new(),
    };
    (attributes, payload)
}

/// An event read from binary mode: `ce-` attributes, `content-type`, and the payload as its data
/// (JSON when the content type says so and it parses, text when UTF-8, else bytes). Attributes
/// without the prefix are not the event's and are ignored; names are read case-insensitively
/// (`Content-Type`, `CE-Type`), as the Pub/Sub protocol binding defines them. A message that lacks
/// a required attribute (`ce-id`, `ce-source`, `ce-type`, `ce-specversion` 1.0) is `Malformed`.
pub fn from_binary(
    attributes: &BTreeMap<String, String>,
    payload: &[u8],
) -> Result<cloudevents::Event> {
    let lowered: BTreeMap<String, String> = attributes
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
        .collect();
    let attributes = &lowered;
    let get = |name: &str| attributes.get(&format!("{BINARY_PREFIX}{name}"));
    let malformed = |what: String| Error::new(ErrorKind::Malformed, what);
    match get("specversion").map(String::as_str) {
        Some("1.0") => {}
        other => {
            return Err(malformed(format!(
                "a binary-mode CloudEvent needs ce-specversion 1.0, got {other:?}"
            )));
        }
    }
    let required = |name: &str| {
        get(name)
            .filter(|v| !v.is_empty())
            .cloned()
            .ok_or_else(|| malformed(format!("a binary-mode CloudEvent needs ce-{name}")))
    };
    let mut builder = EventBuilderV10::new()
        .id(required("id")?)
        .source(required("source")?)
        .ty(required("type")?);
    if let Some(subject) = get("subject") {
        builder = builder.subject(subject.clone());
    }
    if let Some(time) = get("time") {
        let time = chrono::DateTime::parse_from_rfc3339(time)
            .map_err(|e| malformed(format!("ce-time {time:?} is not RFC 3339: {e}")))?;
        builder = builder.time(time.with_timezone(&chrono::Utc));
    }
    for (name, value) in attributes {
        let Some(ext) = name.strip_prefix(BINARY_PREFIX) else {
            continue;
        };
        if matches!(
            ext,
            "specversion"
                | "id"
                | "source"
                | "type"
                | "subject"
                | "time"
                | "dataschema"
                | "datacontenttype"
        ) {
            continue;
        }
        builder = builder.extension(ext, ExtensionValue::String(value.clone()));
    }
    let content_type = attributes.get(BINARY_CONTENT_TYPE).cloned();
    if let Some(schema) = get("dataschema") {
        let schema = url::Url::parse(schema)
            .map_err(|e| malformed(format!("ce-dataschema {schema:?} is not a URI: {e}")))?;
        builder = builder.data_with_schema(
            content_type
                .clone()
                .unwrap_or_else(|| "application/octet-stream".to_owned()),
            schema,
            payload_data(content_type.as_deref(), payload),
        );
    } else if !payload.is_empty() || content_type.is_some() {
        builder = match content_type {
            Some(ct) => {
                let data = payload_data(Some(&ct), payload);
                builder.data(ct, data)
            }
            None => builder.data("application/octet-stream", Data::Binary(payload.to_vec())),
        };
    }
    builder
        .build()
        .map_err(|e| malformed(format!("the message does not make a CloudEvent: {e}")))
}

fn payload_data(content_type: Option<&str>, payload: &[u8]) -> Data {
    let json = content_type.is_some_and(|ct| {
        let ct = ct.split(';').next().unwrap_or_default().trim();
        ct == "application/json" || ct.ends_with("+json")
    });
    if json && let Ok(value) = serde_json::from_slice(payload) {
        return Data::Json(value);
    }
    match std::str::from_utf8(payload) {
        Ok(text) if content_type.is_some_and(|ct| ct.starts_with("text/")) => {
            Data::String(text.to_owned())
        }
        _ => Data::Binary(payload.to_vec()),
    }
}
