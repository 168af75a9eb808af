//! Rendering events for people.

use cloudevents::{AttributesReader, Data};

/// The event in CloudEvents structured-mode JSON. Data whose content type is JSON is shown as JSON
/// (not as a string); text as a string; other bytes as `data_base64`.
///
/// ```
/// use cloudport_core::event::{QueueMessage, to_structured_json};
/// let ev = QueueMessage::new("orders", "1", r#"{"id":"42"}"#)
///     .with_content_type("application/json")
///     .to_cloudevent("mem://orders");
/// let json = to_structured_json(&ev);
/// assert_eq!(json["data"]["id"], "42");
/// assert_eq!(json["type"], "io.cloudport.queue.message.v1");
/// ```
pub fn to_structured_json(event: &cloudevents::Event) -> serde_json::Value {
    let mut event = event.clone();
    let is_json = event
        .datacontenttype()
        .is_some_and(|ct| ct.starts_with("application/json") || ct.contains("+json"));
    if is_json {
        let parsed = match event.data() {
            Some(Data::String(s)) => serde_json::from_str::<serde_json::Value>(s).ok(),
            Some(Data::Binary(b)) => serde_json::from_slice::<serde_json::Value>(b).ok(),
            _ => None,
        };
        if let Some(v) = parsed {
            event.set_data_unchecked(v);
        }
    }
    serde_json::to_value(&event).unwrap_or_default()
}
