//! One error type for every provider and operation.
//!
//! Act on [`Error::kind`] and [`Error::is_temporary`], never on the message. The native error of the
//! provider's SDK stays reachable through [`std::error::Error::source`] and [`Error::native`].

use std::borrow::Cow;
use std::fmt;

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
    source: Option<NativeError>,
}

impl Error {
    /// A new error of `kind`; temporary when the kind is temporary by default.
    pub fn new(kind: ErrorKind, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            kind,
            temporary: kind.is_temporary_by_default(),
            message: message.into(),
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
        self.message = format!("{prefix}: {}", self.message).into();
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
        self.resource.get_or_insert_with(|| resource.into());
        self
    }

    /// Attaches the native error as [`std::error::Error::source`].
    pub fn with_source(mut self, source: impl Into<NativeError>) -> Self {
        self.source = Some(source.into());
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
        self.source.as_deref().and_then(|s| s.downcast_ref::<E>())
    }
}

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
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
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
    fn json_errors_are_malformed() {
        let err: Error = serde_json::from_str::<u32>("nope").unwrap_err().into();
        assert_eq!(err.kind(), ErrorKind::Malformed);
    }
}
