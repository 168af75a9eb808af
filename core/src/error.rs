//! One error type for every provider and operation.
//!
//! Act on [`Error::kind`] and [`Error::is_temporary`], never on the message. The native error of the
//! provider's SDK stays reachable through [`Error::native`]; [`std::error::Error::source`] shows it
//! redacted.
//!
//! No credential leaves through an error: the message and resource are redacted when the error is
//! made, and the native error's text (its `Display`, `Debug` and source chain) whenever it is shown
//! ([`crate::redact`]).

use std::borrow::Cow;
use std::fmt;

use crate::redact::{Redacted, redact};

/// A `Result` whose error is cloudport's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, independent of the provider.
///
/// The kind decides what a caller can do: retry ([`ErrorKind::Unavailable`]), re-read and try again
/// ([`ErrorKind::PreconditionFailed`]), fix the input ([`ErrorKind::InvalidArgument`]), and so on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The resource, object, key or message does not exist.
    NotFound,
    /// A create-only write found the key or object already there.
    AlreadyExists,
    /// A version, ETag or lease precondition did not hold.
    PreconditionFailed,
    /// A conditional read found the object unchanged (`If-None-Match`).
    NotModified,
    /// The caller is known but lacks permission.
    PermissionDenied,
    /// The caller could not be authenticated (missing or expired credentials).
    Unauthenticated,
    /// The input can never succeed as given: a bad key, name, URL, payload or option.
    InvalidArgument,
    /// A payload or batch exceeds the provider's size limit.
    TooLarge,
    /// The provider, or this build of cloudport, cannot do what was asked.
    Unsupported,
    /// The provider throttled the call.
    RateLimited,
    /// The call did not finish in time.
    Timeout,
    /// The service could not be reached or answered with a server error.
    Unavailable,
    /// The lease (receipt) of a message is no longer valid: it expired or the message was acked.
    LeaseLost,
    /// A function handler failed or panicked.
    Handler,
    /// Data read back could not be decoded (a corrupt record, a malformed event).
    Malformed,
    /// Anything else; see the message and source.
    Other,
}

impl ErrorKind {
    /// Whether errors of this kind are temporary unless a provider says otherwise.
    pub fn is_temporary_by_default(self) -> bool {
        matches!(self, Self::RateLimited | Self::Timeout | Self::Unavailable)
    }

    /// What an HTTP status means when a service gives no more specific error code: the fallback
    /// of every cloud provider's error mapping.
    ///
    /// ```
    /// use cloudport_core::ErrorKind;
    /// assert_eq!(ErrorKind::from_http_status(412), ErrorKind::PreconditionFailed);
    /// assert_eq!(ErrorKind::from_http_status(502), ErrorKind::Unavailable);
    /// ```
    pub fn from_http_status(status: u16) -> Self {
        match status {
            304 => Self::NotModified,
            400 | 416 => Self::InvalidArgument,
            401 => Self::Unauthenticated,
            403 => Self::PermissionDenied,
            404 => Self::NotFound,
            409 | 412 => Self::PreconditionFailed,
            413 => Self::TooLarge,
            408 => Self::Timeout,
            429 => Self::RateLimited,
            500..=599 => Self::Unavailable,
            _ => Self::Other,
        }
    }

    /// A short stable name (`"not_found"`, …), used in logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotFound => "not_found",
            Self::AlreadyExists => "already_exists",
            Self::PreconditionFailed => "precondition_failed",
            Self::NotModified => "not_modified",
            Self::PermissionDenied => "permission_denied",
            Self::Unauthenticated => "unauthenticated",
            Self::InvalidArgument => "invalid_argument",
            Self::TooLarge => "too_large",
            Self::Unsupported => "unsupported",
            Self::RateLimited => "rate_limited",
            Self::Timeout => "timeout",
            Self::Unavailable => "unavailable",
            Self::LeaseLost => "lease_lost",
            Self::Handler => "handler",
            Self::Malformed => "malformed",
            Self::Other => "other",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

type NativeError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The error of every cloudport operation.
///
/// ```
/// use cloudport_core::{Error, ErrorKind};
///
/// let err = Error::new(ErrorKind::NotFound, "no such key")
///     .with_provider("memory")
///     .with_operation("kv.get")
///     .with_resource("orders/42");
/// assert_eq!(err.kind(), ErrorKind::NotFound);
/// assert!(!err.is_temporary());
/// assert_eq!(
///     err.to_string(),
///     "not_found: no such key (provider memory, operation kv.get, resource orders/42)"
/// );
/// ```
pub struct Error {
    kind: ErrorKind,
    temporary: bool,
    message: Cow<'static, str>,
    provider: Option<Cow<'static, str>>,
    operation: Option<Cow<'static, str>>,
    resource: Option<String>,
    source: Option<Native>,
}

impl Error {
    /// The longest message an error keeps (longer ones are cut, saying how much): one that quotes
    /// outside input (a decoder's) cannot grow log lines and HTTP bodies without bound.
    pub const MAX_MESSAGE_BYTES: usize = 4096;

    /// A new error of `kind`; temporary when the kind is temporary by default. The message is
    /// redacted ([`crate::redact`]).
    pub fn new(kind: ErrorKind, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            kind,
            temporary: kind.is_temporary_by_default(),
            message: redacted(message.into()),
            provider: None,
            operation: None,
            resource: None,
            source: None,
        }
    }

    /// Shorthand for an [`ErrorKind::InvalidArgument`] error.
    pub fn invalid(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::InvalidArgument, message)
    }

    /// Shorthand for an [`ErrorKind::Unsupported`] error.
    pub fn unsupported(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Unsupported, message)
    }

    /// An error raised by function code ([`ErrorKind::Handler`]), wrapping any error.
    ///
    /// ```
    /// use cloudport_core::{Error, ErrorKind};
    /// let err = Error::handler("payment service said no");
    /// assert_eq!(err.kind(), ErrorKind::Handler);
    /// ```
    pub fn handler(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Handler, message)
    }

    /// Puts context in front of the message (`queue "orders": …`).
    pub(crate) fn prefixed(mut self, prefix: impl std::fmt::Display) -> Self {
        self.message = redacted(format!("{prefix}: {}", self.message).into());
        self
    }

    /// Marks the error temporary (worth retrying) or permanent.
    pub fn temporary(mut self, temporary: bool) -> Self {
        self.temporary = temporary;
        self
    }

    /// Names the provider (`"memory"`, `"aws"`, …) unless one is named already.
    pub fn with_provider(mut self, provider: impl Into<Cow<'static, str>>) -> Self {
        self.provider.get_or_insert_with(|| provider.into());
        self
    }

    /// Names the operation (`"queue.send"`, `"blob.get"`, …) unless one is named already.
    pub fn with_operation(mut self, operation: impl Into<Cow<'static, str>>) -> Self {
        self.operation.get_or_insert_with(|| operation.into());
        self
    }

    /// Names the resource (queue, bucket/key, store/key) unless one is named already.
    pub fn with_resource(mut self, resource: impl Into<String>) -> Self {
        self.resource
            .get_or_insert_with(|| redact(&resource.into()).into_owned());
        self
    }

    /// Attaches the native error: reachable as itself through [`Error::native`], and as
    /// [`std::error::Error::source`] through a wrapper whose text is redacted.
    ///
    /// ```
    /// use cloudport_core::{Error, ErrorKind};
    /// let native = std::io::Error::other("GET http://x/?sig=s3cr3t failed: connection refused");
    /// let err = Error::new(ErrorKind::Unavailable, "send failed").with_source(native);
    /// let source = std::error::Error::source(&err).unwrap();
    /// assert_eq!(source.to_string(), "GET http://x/?sig=[REDACTED] failed: connection refused");
    /// assert!(!format!("{err:?}").contains("s3cr3t"));
    /// ```
    pub fn with_source(mut self, source: impl Into<NativeError>) -> Self {
        self.source = Some(Native(source.into()));
        self
    }

    /// A copy of this error without its native source (which cannot be cloned); used where one
    /// failure is reported for several items.
    pub fn clone_without_source(&self) -> Self {
        Self {
            kind: self.kind,
            temporary: self.temporary,
            message: self.message.clone(),
            provider: self.provider.clone(),
            operation: self.operation.clone(),
            resource: self.resource.clone(),
            source: None,
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Whether trying again may succeed.
    pub fn is_temporary(&self) -> bool {
        self.temporary
    }

    /// The human-readable message (for people, not for `match`).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The provider that raised the error, if known.
    pub fn provider(&self) -> Option<&str> {
        self.provider.as_deref()
    }

    /// The operation that failed, if known.
    pub fn operation(&self) -> Option<&str> {
        self.operation.as_deref()
    }

    /// The resource involved, if known.
    pub fn resource(&self) -> Option<&str> {
        self.resource.as_deref()
    }

    /// The native error of the provider's SDK, downcast to its concrete type (the escape hatch).
    ///
    /// ```
    /// use cloudport_core::{Error, ErrorKind};
    /// let io = std::io::Error::other("disk on fire");
    /// let err = Error::new(ErrorKind::Unavailable, "write failed").with_source(io);
    /// assert!(err.native::<std::io::Error>().is_some());
    /// ```
    pub fn native<E: std::error::Error + 'static>(&self) -> Option<&E> {
        self.source.as_ref().and_then(|s| s.0.downcast_ref::<E>())
    }
}

/// A message redacted and cut to [`Error::MAX_MESSAGE_BYTES`], unless it is a literal of the program
/// (which holds no runtime secret and has a known length).
fn redacted(message: Cow<'static, str>) -> Cow<'static, str> {
    let Cow::Owned(text) = message else {
        return message;
    };
    let mut text = match redact(&text) {
        Cow::Borrowed(_) => text,
        Cow::Owned(clean) => clean,
    };
    if text.len() > Error::MAX_MESSAGE_BYTES {
        let mut cut = Error::MAX_MESSAGE_BYTES;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        let more = text.len() - cut;
        text.truncate(cut);
        text.push_str(&format!("… ({more} bytes more)"));
    }
    Cow::Owned(text)
}

/// The native error of an [`Error`], shown redacted: its `Display` is its whole source chain
/// (one link, so error reporters that walk `source()` never reach the unredacted native errors),
/// its `Debug` the native `Debug`.
struct Native(NativeError);

impl fmt::Display for Native {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = self.0.to_string();
        let mut next = self.0.source();
        while let Some(e) = next {
            let part = e.to_string();
            if !text.contains(&part) {
                text.push_str(": ");
                text.push_str(&part);
            }
            next = e.source();
        }
        f.write_str(&redact(&text))
    }
}

impl fmt::Debug for Native {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&Redacted(&self.0), f)
    }
}

impl std::error::Error for Native {}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)?;
        let mut context = Vec::new();
        if let Some(p) = &self.provider {
            context.push(format!("provider {p}"));
        }
        if let Some(o) = &self.operation {
            context.push(format!("operation {o}"));
        }
        if let Some(r) = &self.resource {
            context.push(format!("resource {r}"));
        }
        if !context.is_empty() {
            write!(f, " ({})", context.join(", "))?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.kind)
            .field("temporary", &self.temporary)
            .field("message", &self.message)
            .field("provider", &self.provider)
            .field("operation", &self.operation)
            .field("resource", &self.resource)
            .field("source", &self.source)
            .finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_ref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}

impl Error {
    /// The HTTP status an HTTP handler answers this error with: `400` invalid or malformed input,
    /// `404` not found, `409` already exists, `412` a failed precondition, `413` too large, `429`
    /// rate limited, `503` any other temporary error, `500` otherwise.
    ///
    /// ```
    /// use cloudport_core::{Error, ErrorKind};
    /// assert_eq!(Error::new(ErrorKind::NotFound, "no order 42").http_status(), 404);
    /// assert_eq!(Error::new(ErrorKind::Timeout, "slow").http_status(), 503);
    /// assert_eq!(Error::handler("bug").http_status(), 500);
    /// ```
    pub fn http_status(&self) -> u16 {
        match self.kind {
            ErrorKind::InvalidArgument | ErrorKind::Malformed => 400,
            ErrorKind::NotFound => 404,
            ErrorKind::AlreadyExists => 409,
            ErrorKind::PreconditionFailed => 412,
            ErrorKind::TooLarge => 413,
            ErrorKind::RateLimited => 429,
            _ if self.temporary => 503,
            _ => 500,
        }
    }
}

/// HTTP handlers can use `?` on cloudport calls: the error answers with [`Error::http_status`]
/// and a JSON body `{"error": {"kind": "...", "message": "..."}}`. The body never carries
/// internals: a `4xx` says what was wrong with the request (the message, without provider,
/// operation or resource), a `5xx` only its kind; the whole error is logged (redacted, as every
/// error's text is). `429` and `503` add `Retry-After: 1`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use axum::response::IntoResponse;
/// use cloudport_core::{Error, ErrorKind};
/// async fn handler() -> Result<String, Error> {
///     Err(Error::new(ErrorKind::NotFound, "no order 42").with_resource("orders/42"))
/// }
/// let response = handler().await.into_response();
/// assert_eq!(response.status(), 404);
/// let body = axum::body::to_bytes(response.into_body(), 1024).await.unwrap();
/// assert_eq!(body, r#"{"error":{"kind":"not_found","message":"no order 42"}}"#);
/// # }
/// ```
impl axum::response::IntoResponse for Error {
    fn into_response(self) -> axum::response::Response {
        let status = http::StatusCode::from_u16(self.http_status())
            .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
        let message = if status.is_client_error() {
            self.message.to_string()
        } else {
            tracing::warn!(error = %self, "an HTTP handler failed");
            status
                .canonical_reason()
                .unwrap_or("Internal Server Error")
                .to_owned()
        };
        let body =
            serde_json::json!({ "error": { "kind": self.kind.as_str(), "message": message } });
        let mut response = (status, axum::Json(body)).into_response();
        if matches!(status.as_u16(), 429 | 503) {
            response.headers_mut().insert(
                http::header::RETRY_AFTER,
                http::HeaderValue::from_static("1"),
            );
        }
        response
    }
}

impl From<serde_json::Error> for Error {
    fn from(err: serde_json::Error) -> Self {
        Error::new(ErrorKind::Malformed, format!("JSON: {err}")).with_source(err)
    }
}

impl From<std::io::Error> for Error {
    fn from(err: std::io::Error) -> Self {
        let kind = match err.kind() {
            std::io::ErrorKind::NotFound => ErrorKind::NotFound,
            std::io::ErrorKind::PermissionDenied => ErrorKind::PermissionDenied,
            std::io::ErrorKind::TimedOut => ErrorKind::Timeout,
            std::io::ErrorKind::InvalidInput | std::io::ErrorKind::InvalidData => {
                ErrorKind::InvalidArgument
            }
            _ => ErrorKind::Unavailable,
        };
        Error::new(kind, format!("I/O: {err}")).with_source(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_is_kept_once_and_source_is_reachable() {
        let err = Error::new(ErrorKind::RateLimited, "slow down")
            .with_provider("aws")
            .with_provider("memory")
            .with_source(std::io::Error::other("native"));
        assert!(err.is_temporary());
        assert_eq!(err.provider(), Some("aws"));
        assert!(std::error::Error::source(&err).is_some());
        assert!(err.native::<std::io::Error>().is_some());
    }

    #[test]
    fn no_secret_reaches_display_debug_or_the_source_chain() {
        #[derive(Debug)]
        struct Inner(String);
        impl fmt::Display for Inner {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "refused {}", self.0)
            }
        }
        impl std::error::Error for Inner {}
        #[derive(Debug)]
        struct Outer(Inner);
        impl fmt::Display for Outer {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("request failed")
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let err = Error::new(
            ErrorKind::InvalidArgument,
            format!(
                "bad connection string AccountName=a;AccountKey={};",
                "c2VjcmV0a2V5"
            ),
        )
        .prefixed("queue \"orders\" (https://u:pw12345678@h/q)")
        .with_resource("https://h/q?sig=c2lnbmF0dXJl")
        .with_source(Outer(Inner("https://h/q?sv=1&sig=c2lnbmF0dXJl".into())));
        let texts = [
            err.to_string(),
            format!("{err:?}"),
            format!("{err:#?}"),
            err.message().to_owned(),
            std::error::Error::source(&err)
                .map(|s| s.to_string())
                .unwrap_or_default(),
        ];
        for text in &texts {
            assert!(!text.contains("c2VjcmV0a2V5"), "{text}");
            assert!(!text.contains("c2lnbmF0dXJl"), "{text}");
            assert!(!text.contains("pw12345678"), "{text}");
        }
        // The chain is shown in one link, redacted; the native error is still reachable.
        assert_eq!(
            texts[4],
            "request failed: refused https://h/q?sv=1&sig=[REDACTED]"
        );
        assert!(err.native::<Outer>().is_some());
    }

    #[test]
    fn long_messages_are_cut() {
        let err = Error::invalid(format!("bad input: {}", "é".repeat(10_000)));
        assert!(
            err.message().len() < Error::MAX_MESSAGE_BYTES + 40,
            "{}",
            err.message().len()
        );
        assert!(err.message().ends_with("bytes more)"));
    }

    #[test]
    fn json_errors_are_malformed() {
        let err: Error = serde_json::from_str::<u32>("nope").unwrap_err().into();
        assert_eq!(err.kind(), ErrorKind::Malformed);
    }
}
