//! Queue-trigger invocations: the message as the host hands it over, as the portable queue message.

use base64::Engine;
use cloudport_core::Result;
use cloudport_core::event::QueueMessage;
use cloudport_core::export::cloudevents;
use serde_json::value::RawValue;

use super::{Invocation, malformed};

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

#[cfg(test)]
mod tests {
    use super::*;
    use cloudport_core::ErrorKind;
    use cloudport_core::event::{Event, QUEUE_MESSAGE};
    use serde_json::Value;

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
}
