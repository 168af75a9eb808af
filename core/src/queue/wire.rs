//! How cloudport's portable message fields travel in providers' native message attributes, so a
//! provider's driver (which sends) and its host (which decodes trigger payloads) agree.

/// The native attribute carrying a message's content type.
pub const CONTENT_TYPE_ATTRIBUTE: &str = "datacontenttype";

/// The native attribute saying how the body was encoded for a transport that carries text only
/// (`base64`); absent when the body travels as is.
pub const BODY_ENCODING_ATTRIBUTE: &str = "cloudportencoding";

/// The value of [`BODY_ENCODING_ATTRIBUTE`] for base64 bodies.
pub const BASE64: &str = "base64";
