//! Blob-trigger invocations (scanning or Event Grid-sourced): the portable blob-created event.

use base64::Engine;
use cloudport_core::Result;
use cloudport_core::event::BlobEvent;
use cloudport_core::export::cloudevents;
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use super::{Invocation, malformed, parse_time, unwrap_encoded};

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
        Some(Value::String(e)) if !e.is_empty() => Some(cloudport_core::event::quoted_etag(&e)),
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

#[cfg(test)]
mod tests {
    use super::*;
    use cloudport_core::ErrorKind;
    use cloudport_core::event::{BLOB_CREATED, Event};

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
}
