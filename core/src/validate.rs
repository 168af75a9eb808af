//! Input checks shared by the portable types. Each returns a typed error before any network call.

use crate::{Error, ErrorKind, Result};

/// CloudEvents context attribute names, which message attributes may not take.
const RESERVED_ATTRIBUTES: &[&str] = &[
    "specversion",
    "id",
    "source",
    "type",
    "datacontenttype",
    "dataschema",
    "subject",
    "time",
    "data",
    "data_base64",
    crate::event::DELIVERY_COUNT_EXTENSION,
];

/// Checks a message attribute name: 1–20 lowercase ASCII letters or digits (the CloudEvents
/// extension-name rule, so every attribute travels as an extension attribute of the event), not a
/// CloudEvents context attribute.
///
/// ```
/// use cloudport_core::validate::attribute_name;
/// assert!(attribute_name("traceparent").is_ok());
/// assert!(attribute_name("Content-Type").is_err());
/// assert!(attribute_name("id").is_err());
/// ```
pub fn attribute_name(name: &str) -> Result<()> {
    let well_formed = (1..=20).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if !well_formed {
        return Err(Error::invalid(format!(
            "attribute name {name:?} must be 1-20 lowercase ASCII letters or digits"
        )));
    }
    if RESERVED_ATTRIBUTES.contains(&name) {
        return Err(Error::invalid(format!(
            "attribute name {name:?} is reserved by CloudEvents or cloudport"
        )));
    }
    Ok(())
}

/// Maps a native attribute name (from a producer outside cloudport) to the attribute-name rule:
/// lowercased, characters other than ASCII letters and digits dropped, cut to 20. `None` when
/// nothing valid is left or the result is reserved; decoders log what they drop.
///
/// ```
/// use cloudport_core::validate::normalize_attribute_name;
/// assert_eq!(normalize_attribute_name("Content-Language").as_deref(), Some("contentlanguage"));
/// assert_eq!(normalize_attribute_name("--"), None);
/// assert_eq!(normalize_attribute_name("ID"), None);
/// ```
pub fn normalize_attribute_name(name: &str) -> Option<String> {
    let mut out: String = name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    out.truncate(20);
    attribute_name(&out).is_ok().then_some(out)
}

/// Checks a blob or KV key: non-empty, at most `max_bytes` UTF-8 bytes, no control characters, and
/// not `.` or `..` (which several stores treat as path segments).
///
/// ```
/// use cloudport_core::validate::key;
/// assert!(key("orders/42.json", 1024).is_ok());
/// assert!(key("", 1024).is_err());
/// assert!(key("a\nb", 1024).is_err());
/// ```
pub fn key(key: &str, max_bytes: usize) -> Result<()> {
    if key.is_empty() {
        return Err(Error::invalid("key must not be empty"));
    }
    if key.len() > max_bytes {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!("key is {} bytes; the limit is {max_bytes}", key.len()),
        )
        .with_resource(truncate(key)));
    }
    if key.chars().any(char::is_control) {
        return Err(
            Error::invalid("key must not contain control characters").with_resource(truncate(key))
        );
    }
    if key == "." || key == ".." {
        return Err(Error::invalid("key must not be \".\" or \"..\""));
    }
    Ok(())
}

/// Checks a logical resource or trigger name: 1–63 ASCII letters, digits, `-` or `_`, starting with a
/// letter or digit. Names map to environment variables (`CLOUDPORT_QUEUE_<NAME>`).
///
/// ```
/// use cloudport_core::validate::logical_name;
/// assert!(logical_name("orders").is_ok());
/// assert!(logical_name("orders-dlq").is_ok());
/// assert!(logical_name("../etc").is_err());
/// ```
pub fn logical_name(name: &str) -> Result<()> {
    let ok = (1..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && name.as_bytes()[0].is_ascii_alphanumeric();
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "name {name:?} must be 1-63 ASCII letters, digits, '-' or '_', starting with a letter or digit"
        )))
    }
}

/// Shortens a key for use in an error message.
pub(crate) fn truncate(s: &str) -> String {
    const MAX: usize = 120;
    if s.len() <= MAX {
        return s.to_owned();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}
