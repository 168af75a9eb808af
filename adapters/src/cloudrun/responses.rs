//! The host's own answers: error bodies (`{"error": {"kind", "message"}}`), refusals of
//! unverified callers (`401` / `403` / `503`) and rejections of requests no handler ran for.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cloudport_core::{Error, ErrorKind};
use serde_json::json;

use super::decode::status_for;

/// An error answer: `{"error": {"kind", "message"}}`.
pub(super) fn error_response(status: StatusCode, err: &Error) -> Response {
    (
        status,
        axum::Json(json!({ "error": { "kind": err.kind().as_str(), "message": err.to_string() } })),
    )
        .into_response()
}

/// An event request whose caller was not verified: `401` (with `WWW-Authenticate: Bearer`),
/// `403`, or `503` when the keys could not be fetched. One log line, without the token.
pub(super) fn refused(err: &Error, path: &str, had_credentials: bool) -> Response {
    let status = match err.kind() {
        ErrorKind::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorKind::PermissionDenied => StatusCode::FORBIDDEN,
        _ => StatusCode::SERVICE_UNAVAILABLE,
    };
    tracing::warn!(status = status.as_u16(), path, error = %err, "refused an event request: its caller is not verified");
    let mut response = error_response(status, err);
    if status == StatusCode::UNAUTHORIZED {
        // RFC 6750 section 3: no error code when the request carried no credentials.
        let challenge = if had_credentials {
            r#"Bearer error="invalid_token""#
        } else {
            "Bearer"
        };
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(challenge),
        );
    }
    response
}

/// A request that failed before any handler ran, answered by [`status_for`] its kind.
pub(super) fn rejected(err: &Error) -> Response {
    let status = status_for(err);
    tracing::warn!(status = status.as_u16(), error = %err, "rejected a request");
    error_response(status, err)
}

pub(super) fn not_found(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::NotFound, message.into())
}
