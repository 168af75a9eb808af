//! How cloudport's portable message fields travel in providers' native message attributes, so a
//! provider's driver (which sends) and its host (which decodes trigger payloads) agree.

/// The native attribute carrying a message's content type.
pub const CONTENT_TYPE_ATTRIBUTE: &str = "datacontenttype";

/// The native attribute saying how the body was encoded for a transport that carries text only
/// (`base64`); absent when the body travels as is.
pub const BODY_ENCODING_ATTRIBUTE: &str = "cloudportencoding";

/// The attribute that is also a message's ordering key where the transport has one (Pub/Sub's
/// `orderingKey`).
pub const ORDERING_KEY_ATTRIBUTE: &str = "orderingkey";

/// The value of [`BODY_ENCODING_ATTRIBUTE`] for base64 bodies.
pub const BASE64: &str = "base64";

/// The CloudEvents type of a message sent in an [envelope](to_envelope).
pub const ENVELOPE_TYPE: &str = "io.cloudport.queue.envelope.v1";

/// A message in the form a transport without message attributes (Azure Storage Queues) carries
/// it: the body alone when the message has no attributes and its content type is absent or one a
/// consumer assumes of text anyway (`text/plain; charset=utf-8`, `application/json`, with a UTF-8
/// body) — so any consumer, cloudport or not, reads it as sent; that content type is not carried
/// then — else a CloudEvent in structured JSON mode (type [`ENVELOPE_TYPE`]) whose
/// `datacontenttype` is the content type, whose extensions are the attributes, and whose `data`
/// (UTF-8 text) or `data_base64` (anything else) is the body, byte for byte.
///
/// ```
/// use cloudport_core::Message;
/// use cloudport_core::queue::wire::{from_envelope, to_envelope};
///
/// let plain = to_envelope(&Message::new("hello")).unwrap();
/// assert_eq!(plain, b"hello");
///
/// // A body that looks like an envelope is wrapped, so it comes back as sent.
/// let tricky = Message::new(to_envelope(&Message::new("x").with_attribute("a", "b")).unwrap());
/// assert_eq!(from_envelope(&to_envelope(&tricky).unwrap()).body, tricky.body);
///
/// let msg = Message::new("{\"id\":1}").with_content_type("application/json").with_attribute("tenant", "acme");
/// let wire = to_envelope(&msg).unwrap();
/// let back = from_envelope(&wire);
/// assert_eq!(back.body, msg.body);
/// assert_eq!(back.content_type.as_deref(), Some("application/json"));
/// assert_eq!(back.attributes["tenant"], "acme");
/// ```
pub fn to_envelope(message: &super::Message) -> crate::Result<Vec<u8>> {
    let implied = match message.content_type.as_deref() {
        None => true,
        Some("text/plain; charset=utf-8" | "application/json") => {
            std::str::from_utf8(&message.body).is_ok()
        }
        Some(_) => false,
    };
    // A body that would itself read back as an envelope is wrapped, so it round-trips as sent.
    let reads_as_envelope = message.body.starts_with(b"{") && memchr_type(&message.body).is_some();
    if implied && message.attributes.is_empty() && !reads_as_envelope {
        return Ok(message.body.to_vec());
    }
    envelope(message)
}

/// A message as a CloudEvent in structured JSON mode (type [`ENVELOPE_TYPE`]), whatever it holds:
/// the form [`to_envelope`] uses, and the one a dead-letter move takes when the dead-letter queue
/// would refuse the message as it is (an empty body, attribute values with control characters,
/// more attributes than it carries). [`from_envelope`] reads it back byte for byte.
///
/// ```
/// use cloudport_core::Message;
/// use cloudport_core::queue::wire::{envelope, from_envelope};
/// let odd = Message::new("").with_attribute("note", "tab\there");
/// let back = from_envelope(&envelope(&odd).unwrap());
/// assert!(back.body.is_empty());
/// assert_eq!(back.attributes["note"], "tab\there");
/// ```
pub fn envelope(message: &super::Message) -> crate::Result<Vec<u8>> {
    use cloudevents::{EventBuilder, EventBuilderV10};
    let content_type = message
        .content_type
        .clone()
        .unwrap_or_else(|| "application/octet-stream".to_owned());
    let mut builder = EventBuilderV10::new()
        .id(envelope_id(&message.body))
        .source("cloudport")
        .ty(ENVELOPE_TYPE);
    builder = match std::str::from_utf8(&message.body) {
        Ok(text) => builder.data(content_type, cloudevents::Data::String(text.to_owned())),
        Err(_) => builder.data(
            content_type,
            cloudevents::Data::Binary(message.body.to_vec()),
        ),
    };
    for (name, value) in &message.attributes {
        builder = builder.extension(name, value.clone());
    }
    let event = builder.build().map_err(|e| {
        crate::Error::invalid(format!("message attributes do not fit a CloudEvent: {e}"))
    })?;
    serde_json::to_vec(&event)
        .map_err(|e| crate::Error::new(crate::ErrorKind::Other, format!("envelope: {e}")))
}

/// A message read back from its wire form: an [envelope](to_envelope) unwrapped, or the text
/// as the body when it is not one. Never fails: text that is not an envelope is a plain body.
pub fn from_envelope(wire: &[u8]) -> super::Message {
    use cloudevents::AttributesReader;
    let plain = || super::Message::new(bytes::Bytes::copy_from_slice(wire));
    // Cheap test first: only JSON objects mentioning the type can be envelopes.
    if !wire.starts_with(b"{") || memchr_type(wire).is_none() {
        return plain();
    }
    let Ok(event) = serde_json::from_slice::<cloudevents::Event>(wire) else {
        return plain();
    };
    // Only what `envelope` writes: CloudEvents 1.0 (in 0.3, `data_base64` and the like are
    // extensions, which would come back as attributes no envelope can carry).
    if event.ty() != ENVELOPE_TYPE || event.specversion() != cloudevents::event::SpecVersion::V10 {
        return plain();
    }
    let content_type = event.datacontenttype().map(str::to_owned);
    let attributes = event
        .iter_extensions()
        .filter(|(name, _)| crate::validate::attribute_name(name).is_ok())
        .map(|(name, value)| (name.to_owned(), value.to_string()))
        .collect();
    let body = match event.data() {
        Some(cloudevents::Data::String(s)) => bytes::Bytes::from(s.clone()),
        Some(cloudevents::Data::Binary(b)) => bytes::Bytes::from(b.clone()),
        // `to_envelope` writes text as a JSON string, which the SDK reads back as JSON when the
        // content type is JSON: the string is the body.
        Some(cloudevents::Data::Json(serde_json::Value::String(s))) => {
            bytes::Bytes::from(s.clone())
        }
        Some(cloudevents::Data::Json(v)) => bytes::Bytes::from(v.to_string()),
        None => bytes::Bytes::new(),
    };
    let mut message = super::Message::new(body);
    message.content_type = content_type;
    message.attributes = attributes;
    message
}

fn memchr_type(wire: &[u8]) -> Option<usize> {
    memchr::memmem::find(wire, ENVELOPE_TYPE.as_bytes())
}

/// An id for an envelope: unique enough to tell envelopes apart in logs (the transport's own
/// message id identifies the message).
fn envelope_id(body: &[u8]) -> String {
    use sha2::Digest;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let mut hash = sha2::Sha256::new();
    hash.update(nanos.to_le_bytes());
    hash.update(body);
    let digest = hash.finalize();
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// A message's content type and portable attributes, read from a transport's native attributes
/// (Pub/Sub's, as its driver receives them and as a push or Eventarc delivery carries them):
/// [`CONTENT_TYPE_ATTRIBUTE`] becomes the content type; other names are normalised to the portable
/// rule, and one that cannot be is dropped with a warning naming `message_id`; a non-empty
/// `ordering_key` becomes [`ORDERING_KEY_ATTRIBUTE`]. One reading, so a driver and a host give
/// the same message.
///
/// ```
/// use cloudport_core::queue::wire::from_native_attributes;
/// let native = [("datacontenttype", "application/json"), ("Tenant", "acme")]
///     .map(|(k, v)| (k.to_owned(), v.to_owned()));
/// let (content_type, attributes) = from_native_attributes(native, "customer-7", "m-1");
/// assert_eq!(content_type.as_deref(), Some("application/json"));
/// assert_eq!(attributes["tenant"], "acme");
/// assert_eq!(attributes["orderingkey"], "customer-7");
/// ```
pub fn from_native_attributes(
    native: impl IntoIterator<Item = (String, String)>,
    ordering_key: &str,
    message_id: &str,
) -> (Option<String>, std::collections::BTreeMap<String, String>) {
    let mut attributes = std::collections::BTreeMap::new();
    let mut content_type = None;
    for (name, value) in native {
        if name == CONTENT_TYPE_ATTRIBUTE {
            content_type = Some(value);
            continue;
        }
        match crate::validate::normalize_attribute_name(&name) {
            Some(n) => {
                attributes.insert(n, value);
            }
            None => tracing::warn!(message_id, attribute = %name,
                "dropping a message attribute whose name is not a portable attribute name"),
        }
    }
    if !ordering_key.is_empty() {
        attributes.insert(ORDERING_KEY_ATTRIBUTE.to_owned(), ordering_key.to_owned());
    }
    (content_type, attributes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Message;

    #[test]
    fn envelopes_keep_bodies_byte_for_byte() {
        for (body, ct) in [
            (&b"{\"id\": 1}"[..], "application/json"),
            (b"\"just a string\"", "application/json"),
            (b"plain", "text/plain"),
            (&[0xff, 0x00, 0x10][..], "application/octet-stream"),
        ] {
            let msg = Message::new(bytes::Bytes::copy_from_slice(body))
                .with_content_type(ct)
                .with_attribute("k", "v");
            let back = from_envelope(&to_envelope(&msg).unwrap());
            assert_eq!(back.body, msg.body, "{ct}");
            assert_eq!(back.content_type.as_deref(), Some(ct));
            assert_eq!(back.attributes, msg.attributes);
        }
    }

    #[test]
    fn text_that_is_not_an_envelope_is_a_plain_body() {
        for wire in [
            &b"{\"type\":\"io.cloudport.queue.envelope.v1\"}"[..],
            b"{}",
            b"hi",
        ] {
            assert_eq!(from_envelope(wire).body, wire);
        }
    }
}
