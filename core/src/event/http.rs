//! HTTP requests that carry a CloudEvent (binary or structured mode).

use axum::extract::{FromRequest, Request};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode};

/// Largest request body taken as an event (Pub/Sub's and SQS's limits are below it).
pub const MAX_EVENT_BYTES: usize = 10 * 1024 * 1024 + 64 * 1024;

/// Whether a request carries a CloudEvent: binary mode (`ce-specversion` header) or structured mode
/// (`Content-Type: application/cloudevents+json`).
pub fn carries_cloudevent(headers: &HeaderMap) -> bool {
    headers.contains_key("ce-specversion")
        || headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/cloudevents+json"))
}

/// An axum extractor for a request that carries a CloudEvent, in binary or structured mode, with a
/// body limit of [`MAX_EVENT_BYTES`]. A request that is not a valid CloudEvent is rejected with
/// `400 Bad Request` and the reason; an oversize one with `413`.
///
/// ```
/// use axum::{Router, routing::post};
/// use cloudport_core::event::CloudEventRequest;
/// use cloudevents::AttributesReader;
///
/// async fn handle(CloudEventRequest(event): CloudEventRequest) -> String {
///     format!("got {}", event.ty())
/// }
/// let app: Router = Router::new().route("/", post(handle));
/// ```
#[derive(Debug, Clone)]
pub struct CloudEventRequest(pub cloudevents::Event);

impl<S: Send + Sync> FromRequest<S> for CloudEventRequest {
    type Rejection = Response;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let body = axum::body::to_bytes(body, MAX_EVENT_BYTES)
            .await
            .map_err(|e| {
                (
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("event body is unreadable or over {MAX_EVENT_BYTES} bytes: {e}"),
                )
                    .into_response()
            })?;
        cloudevents::binding::http::to_event(&parts.headers, body.to_vec())
            .map(CloudEventRequest)
            .map_err(|e| {
                (
                    StatusCode::BAD_REQUEST,
                    format!("request is not a valid CloudEvent: {e}"),
                )
                    .into_response()
            })
    }
}
