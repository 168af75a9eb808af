//! Event Grid trigger invocations: each event, in the Event Grid schema or the CloudEvents 1.0
//! schema, as a CloudEvent with Event Grid's own `type`, `source` and `subject` and its data
//! unchanged (Blob Storage events also as the portable blob event: `storage_blob.rs`).
//!
//! What the custom handler receives (sources):
//!
//! - The Event Grid extension (`Microsoft.Azure.WebJobs.Extensions.EventGrid`,
//!   `Azure/azure-sdk-for-net`, `sdk/eventgrid/Microsoft.Azure.WebJobs.Extensions.EventGrid/src/`)
//!   receives Event Grid's webhook delivery itself, at `/runtime/webhooks/eventgrid?functionName=…`
//!   (guarded by the `eventgrid_extension` system key), answers both validation handshakes
//!   there (`TriggerBinding/HttpRequestProcessor.cs`), and invokes the function once per event
//!   (`Config/EventGridExtensionConfigProvider.cs`, "Single Dispatch"), or once with the whole
//!   array for a function bound to an array (`cardinality: many`). It answers Event Grid `500`
//!   when any invocation failed, so Event Grid retries the delivery.
//! - The trigger value is the event as a `JObject` (or a `JArray`, or a string when the binding
//!   asks for one); the host's `ScriptInvocationContextExtensions.GetHttpScriptInvocationContextValue`
//!   (`Azure/azure-functions-host`, `src/WebJobs.Script/Workers/MessageExtensions/`) writes an
//!   object as is and anything else as `JsonConvert.SerializeObject(value)`: a JSON string holding
//!   the event (or array). So `Data.<binding>` is an object, an array, or a string holding either
//!   — possibly JSON-encoded twice — and all of them are read.
//! - The Event Grid schema: `id`, `topic`, `subject`, `eventType`, `eventTime`, `data`,
//!   `dataVersion`, `metadataVersion`
//!   (<https://learn.microsoft.com/azure/event-grid/event-schema>). Mapped as Event Grid itself
//!   maps it when it delivers an Event Grid-schema event in the CloudEvents schema
//!   (<https://learn.microsoft.com/azure/event-grid/cloud-event-schema>, whose Blob Storage sample
//!   is such a delivery): `id` → `id`, `topic` → `source`, `subject` → `subject`, `eventType` →
//!   `type`, `eventTime` → `time`, `data` → `data` (`application/json`, unchanged). Event Grid
//!   writes `dataVersion` as `dataschema: "#<dataVersion>"` — not a URI the CloudEvents SDK
//!   accepts — so here it is the extension [`DATA_VERSION_EXTENSION`] in both schemas (a
//!   CloudEvents-schema `dataschema` of the form `#…` becomes that extension too; an absolute
//!   `dataschema` URI stays). `metadataVersion` (the envelope's version, always `1`) is dropped.
//! - The CloudEvents 1.0 schema (<https://github.com/cloudevents/spec/blob/v1.0/json-format.md>):
//!   the event as it is, read by the CloudEvents SDK.
//! - The subscription validation event (`Microsoft.EventGrid.SubscriptionValidationEvent`,
//!   `data.validationCode`, <https://learn.microsoft.com/azure/event-grid/webhook-event-delivery>)
//!   is never an event for the app: it becomes [`EventGridEvent::Validation`]. In the CloudEvents
//!   schema its `data` may be JSON-encoded into a string (the extension's "double-encoded" case).

use chrono::{DateTime, Utc};
use cloudport_core::Result;
use cloudport_core::export::cloudevents::{self, AttributesReader, EventBuilder, EventBuilderV10};
use serde::Deserialize;
use serde_json::Value;

use super::{Invocation, malformed};

/// `eventType` of Event Grid's subscription validation event.
pub const SUBSCRIPTION_VALIDATION_EVENT: &str = "Microsoft.EventGrid.SubscriptionValidationEvent";
/// `eventType` of a blob written (Blob Storage events,
/// <https://learn.microsoft.com/azure/event-grid/event-schema-blob-storage>).
pub const EVENT_GRID_BLOB_CREATED: &str = "Microsoft.Storage.BlobCreated";
/// `eventType` of a blob deleted.
pub const EVENT_GRID_BLOB_DELETED: &str = "Microsoft.Storage.BlobDeleted";
/// The CloudEvents extension carrying an Event Grid event's `dataVersion`.
pub const DATA_VERSION_EXTENSION: &str = "dataversion";

/// How many JSON-in-a-string layers are unwrapped (the host adds one; a binding declared
/// `dataType: string` around an already-encoded value adds another).
const MAX_STRING_LAYERS: usize = 3;

/// One event of an Event Grid trigger invocation.
#[derive(Debug, Clone, PartialEq)]
pub enum EventGridEvent {
    /// The subscription validation handshake: answered with `{"validationResponse": code}`, never
    /// dispatched.
    Validation {
        /// `data.validationCode`.
        code: String,
    },
    /// Any other event, as a CloudEvent (Event Grid's type, source, subject, time; data unchanged).
    Event(Box<cloudevents::Event>),
}

/// The events of an Event Grid trigger invocation (`Data.<binding>`): one, or several for a
/// function bound with `cardinality: many`, in the Event Grid or the CloudEvents schema (see the
/// module docs). `source` stands in for an Event Grid-schema event without a `topic` (Event Grid
/// always sets it; a hand-made test invocation may not). Anything else is `Malformed`, naming the
/// event's index and what is wrong, never its data.
///
/// ```
/// use cloudport_adapters::azure::decode::{EventGridEvent, Invocation, event_grid_events};
/// use cloudport_core::export::cloudevents::AttributesReader;
/// let inv = Invocation::parse(br#"{"Data":{"event":{"id":"1","topic":"/subscriptions/s/resourceGroups/g/providers/Microsoft.EventGrid/topics/items",
///     "subject":"Door1","eventType":"Contoso.Items.ItemReceived","eventTime":"2026-11-26T03:00:00Z",
///     "data":{"itemSku":"Contoso Item SKU #1"},"dataVersion":"2.0","metadataVersion":"1"}},"Metadata":{}}"#).unwrap();
/// let events = event_grid_events(&inv, "event", "azure-functions:cloudport-events").unwrap();
/// let EventGridEvent::Event(ev) = &events[0] else { panic!() };
/// assert_eq!(ev.ty(), "Contoso.Items.ItemReceived");
/// assert_eq!(ev.source(), "/subscriptions/s/resourceGroups/g/providers/Microsoft.EventGrid/topics/items");
/// assert_eq!(ev.subject(), Some("Door1"));
/// assert_eq!(ev.extension("dataversion").unwrap().to_string(), "2.0");
/// ```
pub fn event_grid_events(
    inv: &Invocation,
    binding: &str,
    source: &str,
) -> Result<Vec<EventGridEvent>> {
    let mut value: Value = serde_json::from_str(inv.data(binding)?.get()).map_err(|e| {
        malformed(format!(
            "the Event Grid invocation's Data.{binding} is not JSON: {e}"
        ))
    })?;
    for _ in 0..MAX_STRING_LAYERS {
        let Value::String(text) = &value else { break };
        value = serde_json::from_str(text).map_err(|e| {
            malformed(format!(
                "the Event Grid invocation's Data.{binding} is a string that holds no JSON event: {e}"
            ))
        })?;
    }
    let events = match value {
        Value::Array(events) if events.is_empty() => {
            return Err(malformed(format!(
                "the Event Grid invocation's Data.{binding} is an empty array: no event"
            )));
        }
        Value::Array(events) => events,
        event @ Value::Object(_) => vec![event],
        other => {
            return Err(malformed(format!(
                "the Event Grid invocation's Data.{binding} is a JSON {}, not an event object or an array of events",
                json_kind(&other)
            )));
        }
    };
    events
        .into_iter()
        .enumerate()
        .map(|(i, event)| {
            event_grid_event(event, source)
                .map_err(|e| malformed(format!("Event Grid event #{i}: {}", e.message())))
        })
        .collect()
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// One event object, in either schema.
fn event_grid_event(event: Value, source: &str) -> Result<EventGridEvent> {
    let Value::Object(mut object) = event else {
        return Err(malformed(format!(
            "is a JSON {}, not an object",
            json_kind(&event)
        )));
    };
    if object.contains_key("specversion") {
        return cloudevents_schema(object);
    }
    if !object.contains_key("eventType") {
        return Err(malformed(
            "has neither `specversion` (CloudEvents schema) nor `eventType` (Event Grid schema)",
        ));
    }
    let data = object.remove("data");
    let parsed: EventGridSchema = serde_json::from_value(Value::Object(object))
        .map_err(|e| malformed(format!("is not an Event Grid schema event: {e}")))?;
    if parsed.event_type == SUBSCRIPTION_VALIDATION_EVENT {
        return validation(data.as_ref());
    }
    event_grid_schema(parsed, data, source).map(|e| EventGridEvent::Event(Box::new(e)))
}

/// The Event Grid schema's envelope (`data` is taken apart, kept byte for byte as a `Value`).
#[derive(Debug, Deserialize)]
struct EventGridSchema {
    id: String,
    topic: Option<String>,
    subject: Option<String>,
    #[serde(rename = "eventType")]
    event_type: String,
    #[serde(rename = "eventTime")]
    event_time: Option<String>,
    #[serde(rename = "dataVersion")]
    data_version: Option<String>,
}

fn event_grid_schema(
    parsed: EventGridSchema,
    data: Option<Value>,
    fallback_source: &str,
) -> Result<cloudevents::Event> {
    if parsed.id.is_empty() {
        return Err(malformed("has an empty `id`"));
    }
    if parsed.event_type.is_empty() {
        return Err(malformed("has an empty `eventType`"));
    }
    let source = parsed
        .topic
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| fallback_source.to_owned());
    let mut builder = EventBuilderV10::new()
        .id(parsed.id)
        .ty(parsed.event_type)
        .source(source);
    if let Some(subject) = parsed.subject.filter(|s| !s.is_empty()) {
        builder = builder.subject(subject);
    }
    if let Some(time) = parsed.event_time {
        builder = builder.time(parse_event_time(&time)?);
    }
    if let Some(version) = parsed.data_version.filter(|v| !v.is_empty()) {
        builder = builder.extension(DATA_VERSION_EXTENSION, version);
    }
    match data {
        None | Some(Value::Null) => {}
        Some(data) => builder = builder.data("application/json", data),
    }
    builder
        .build()
        .map_err(|e| malformed(format!("cannot be a CloudEvent: {e}")))
}

fn parse_event_time(time: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(time.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| malformed(format!("has an `eventTime` that is not RFC 3339 ({e})")))
}

/// A CloudEvents-schema event, read by the CloudEvents SDK; a `dataschema` of Event Grid's
/// `#<dataVersion>` form becomes the [`DATA_VERSION_EXTENSION`].
fn cloudevents_schema(mut object: serde_json::Map<String, Value>) -> Result<EventGridEvent> {
    if object.get("specversion").and_then(Value::as_str) != Some("1.0") {
        return Err(malformed(
            "is a CloudEvent of a `specversion` other than \"1.0\"",
        ));
    }
    if object.get("type").and_then(Value::as_str) == Some(SUBSCRIPTION_VALIDATION_EVENT) {
        return validation(object.get("data"));
    }
    if let Some(Value::String(schema)) = object.get("dataschema")
        && let Some(version) = schema.strip_prefix('#')
    {
        let version = version.to_owned();
        object.remove("dataschema");
        if !version.is_empty() && !object.contains_key(DATA_VERSION_EXTENSION) {
            object.insert(DATA_VERSION_EXTENSION.to_owned(), Value::String(version));
        }
    }
    let event: cloudevents::Event = serde_json::from_value(Value::Object(object))
        .map_err(|e| malformed(format!("is not a valid CloudEvent: {e}")))?;
    if event.id().is_empty() || event.ty().is_empty() || event.source().is_empty() {
        return Err(malformed(
            "is a CloudEvent with an empty `id`, `type` or `source`",
        ));
    }
    Ok(EventGridEvent::Event(Box::new(event)))
}

/// The validation event's code: `data.validationCode`, `data` an object or (CloudEvents schema)
/// a string holding one.
fn validation(data: Option<&Value>) -> Result<EventGridEvent> {
    let decoded;
    let data = match data {
        Some(Value::String(text)) => {
            decoded = serde_json::from_str::<Value>(text).ok();
            decoded.as_ref()
        }
        other => other,
    };
    match data
        .and_then(|d| d.get("validationCode"))
        .and_then(Value::as_str)
    {
        Some(code) if !code.is_empty() => Ok(EventGridEvent::Validation {
            code: code.to_owned(),
        }),
        _ => Err(malformed(
            "is a subscription validation event without a `data.validationCode`",
        )),
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::azure::decode::StorageBlobEvent;
    use cloudport_core::ErrorKind;

    fn invocation(event: &Value) -> Invocation {
        Invocation::parse(
            serde_json::json!({"Data": {"event": event}, "Metadata": {}})
                .to_string()
                .as_bytes(),
        )
        .unwrap()
    }

    fn one(event: &Value) -> Result<EventGridEvent> {
        let mut events = event_grid_events(&invocation(event), "event", "fallback")?;
        assert_eq!(events.len(), 1);
        Ok(events.remove(0))
    }

    pub(in crate::azure::decode) fn cloudevent(event: &Value) -> cloudevents::Event {
        match one(event).unwrap() {
            EventGridEvent::Event(e) => *e,
            other => panic!("{other:?}"),
        }
    }

    /// The Blob Storage sample of "Azure Blob Storage as an Event Grid source"
    /// (<https://learn.microsoft.com/azure/event-grid/event-schema-blob-storage>).
    pub(in crate::azure::decode) fn blob_created() -> Value {
        serde_json::json!({
            "topic": "/subscriptions/{subscription-id}/resourceGroups/Storage/providers/Microsoft.Storage/storageAccounts/my-storage-account",
            "subject": "/blobServices/default/containers/test-container/blobs/new-file.txt",
            "eventType": "Microsoft.Storage.BlobCreated",
            "eventTime": "2017-06-26T18:41:00.9584103Z",
            "id": "831e1650-001e-001b-66ab-eeb76e069631",
            "data": {
                "api": "PutBlockList",
                "clientRequestId": "6d79dbfb-0e37-4fc4-981f-442c9ca65760",
                "requestId": "831e1650-001e-001b-66ab-eeb76e000000",
                "eTag": "0x8D4BCC2E4835CD0",
                "contentType": "text/plain",
                "contentLength": 524288,
                "blobType": "BlockBlob",
                "url": "https://my-storage-account.blob.core.windows.net/testcontainer/new-file.txt",
                "sequencer": "00000000000004420000000000028963",
                "storageDiagnostics": { "batchId": "b68529f3-68cd-4744-baa4-3c0498ec19f0" }
            },
            "dataVersion": "",
            "metadataVersion": "1"
        })
    }

    #[test]
    fn event_grid_schema_maps_as_event_grid_does() {
        let sample = blob_created();
        let ev = cloudevent(&sample);
        assert_eq!(ev.id(), "831e1650-001e-001b-66ab-eeb76e069631");
        assert_eq!(ev.ty(), EVENT_GRID_BLOB_CREATED);
        assert_eq!(ev.source().as_str(), sample["topic"].as_str().unwrap());
        assert_eq!(ev.subject(), sample["subject"].as_str());
        assert_eq!(
            ev.time().unwrap().to_rfc3339(),
            "2017-06-26T18:41:00.958410300+00:00"
        );
        assert_eq!(ev.datacontenttype(), Some("application/json"));
        assert_eq!(
            ev.data(),
            Some(&cloudevents::Data::Json(sample["data"].clone()))
        );
        // An empty dataVersion is no extension; metadataVersion is dropped.
        assert_eq!(ev.iter_extensions().count(), 0);
    }

    #[test]
    fn every_encoding_of_the_trigger_value_decodes_alike() {
        let sample = blob_created();
        let object = cloudevent(&sample);
        let string = Value::String(sample.to_string());
        let twice = Value::String(string.to_string());
        assert_eq!(cloudevent(&string), object);
        assert_eq!(cloudevent(&twice), object);
        // `cardinality: many`: an array, as is or in a string.
        let array = serde_json::json!([sample.clone(), sample]);
        for value in [array.clone(), Value::String(array.to_string())] {
            let events = event_grid_events(&invocation(&value), "event", "s").unwrap();
            assert_eq!(events.len(), 2);
        }
    }

    #[test]
    fn cloudevents_schema_events_stay_as_they_are() {
        // The sample of "CloudEvents v1.0 schema with Azure Event Grid", as Event Grid delivers
        // an Event Grid-schema blob event in the CloudEvents schema (`dataschema: "#"`).
        let sample = serde_json::json!({
            "specversion": "1.0",
            "type": "Microsoft.Storage.BlobCreated",
            "source": "/subscriptions/{subscription-id}/resourceGroups/{resource-group}/providers/Microsoft.Storage/storageAccounts/{storage-account}",
            "id": "9aeb0fdf-c01e-0131-0922-9eb54906e209",
            "time": "2019-11-18T15:13:39.4589254Z",
            "subject": "blobServices/default/containers/{storage-container}/blobs/{new-file}",
            "dataschema": "#",
            "data": { "api": "PutBlockList", "eTag": "0x8D76C39E4407333", "contentLength": 30699 }
        });
        let ev = cloudevent(&sample);
        assert_eq!(ev.ty(), "Microsoft.Storage.BlobCreated");
        assert_eq!(ev.source().as_str(), sample["source"].as_str().unwrap());
        assert_eq!(ev.dataschema(), None);
        assert_eq!(
            ev.data(),
            Some(&cloudevents::Data::Json(sample["data"].clone()))
        );
        let mut versioned = sample.clone();
        versioned["dataschema"] = "#2.0".into();
        assert_eq!(
            cloudevent(&versioned)
                .extension(DATA_VERSION_EXTENSION)
                .unwrap()
                .to_string(),
            "2.0"
        );
        let blob = StorageBlobEvent::of(&ev).unwrap();
        assert_eq!(blob.container, "{storage-container}");
        assert_eq!(blob.account.as_deref(), Some("{storage-account}"));
    }

    #[test]
    fn validation_events_carry_their_code_in_both_schemas() {
        // "Endpoint validation with Event Grid events"
        // (<https://learn.microsoft.com/azure/event-grid/webhook-event-delivery>).
        let eg = serde_json::json!({
            "id": "2d1781af-3a4c-4d7c-bd0c-e34b19da4e66",
            "topic": "/subscriptions/xx/resourceGroups/yy/providers/Microsoft.EventGrid/topics/zz",
            "subject": "",
            "data": { "validationCode": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6",
                      "validationUrl": "https://rp-eastus2.eventgrid.azure.net:553/eventsubscriptions/myeventsub/validate?id=0000&t=2022-10-28T04:23:35.1981776Z&apiVersion=2018-05-01-preview&token=1A1A1A1A" },
            "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
            "eventTime": "2022-10-28T04:23:35.1981776Z",
            "metadataVersion": "1",
            "dataVersion": "1"
        });
        let code = EventGridEvent::Validation {
            code: "512d38b6-c7b8-40c8-89fe-f46f9e9622b6".into(),
        };
        assert_eq!(one(&eg).unwrap(), code);
        let ce = serde_json::json!({
            "specversion": "1.0", "id": "v", "source": "/subscriptions/xx",
            "type": "Microsoft.EventGrid.SubscriptionValidationEvent",
            "data": "{\"validationCode\":\"512d38b6-c7b8-40c8-89fe-f46f9e9622b6\"}"
        });
        assert_eq!(one(&ce).unwrap(), code);
        let mut codeless = eg;
        codeless["data"] = serde_json::json!({});
        assert_eq!(one(&codeless).unwrap_err().kind(), ErrorKind::Malformed);
    }

    #[test]
    fn malformed_events_are_malformed_and_name_no_data() {
        let secret = "s3cr3t-data";
        for bad in [
            serde_json::json!(5),
            serde_json::json!([]),
            serde_json::json!("not json"),
            serde_json::json!([{"id": "1"}]),
            serde_json::json!({"eventType": "X", "data": secret}),
            serde_json::json!({"id": "", "eventType": "X", "data": secret}),
            serde_json::json!({"id": "1", "eventType": "X", "eventTime": "yesterday", "data": secret}),
            serde_json::json!({"specversion": "0.3", "id": "1", "type": "t", "source": "s"}),
            serde_json::json!({"specversion": "1.0", "id": "1", "type": "t"}),
            serde_json::json!({"specversion": "1.0", "id": "1", "type": "t", "source": "s", "time": "nope"}),
            serde_json::json!([blob_created(), 7]),
        ] {
            let err = event_grid_events(&invocation(&bad), "event", "s").unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Malformed, "{bad}");
            assert!(!err.to_string().contains(secret), "{err}");
        }
    }
}
