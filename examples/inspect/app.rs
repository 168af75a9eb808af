//! The inspect app: answers every trigger with the CloudEvent it received.
//!
//! - HTTP: a request that carries a CloudEvent (binary or structured mode) is answered with that
//!   event in structured-mode JSON; any other request with a JSON description of it (method, path,
//!   query, headers, body).
//! - Queue, blob and schedule triggers: one log line `cloudport-event: {…}` on stdout with the
//!   event in structured-mode JSON. A queue message whose body is exactly `fail` fails, so you can
//!   watch redelivery and dead-lettering.
#![allow(clippy::print_stdout)]

use std::time::Duration;

use cloudport::axum::Router;
use cloudport::axum::body::Bytes;
use cloudport::axum::extract::{FromRequest, Request};
use cloudport::axum::http::{StatusCode, header};
use cloudport::axum::response::{IntoResponse, Response};
use cloudport::event::{CloudEventRequest, QUEUE_MESSAGE, carries_cloudevent, to_structured_json};
use cloudport::prelude::*;

/// The largest plain request body described back.
const MAX_BODY: usize = 1024 * 1024;

pub(crate) fn app() -> App {
    App::new()
        .http(Router::new().fallback(describe))
        .on_queue("inspect", |event, _env| log_event(event.into_parts().0))
        .on_blob("inspect", |event, _env| log_event(event.into_parts().0))
        .on_schedule(
            "inspect",
            Schedule::every(Duration::from_secs(60)),
            |event, _env| log_event(event.into_parts().0),
        )
        .on_any_event(|event, _env| log_event(event.into_parts().0))
        // Its triggers are all it touches: consuming its queue, reading its bucket's events.
        .uses(queue("inspect").consume())
        .uses(bucket("inspect").read())
        .limits(
            Limits::new()
                .memory_mb(128)
                .timeout(Duration::from_secs(10))
                .max_concurrency(5),
        )
}

async fn log_event(event: cloudport::cloudevents::Event) -> Result<()> {
    use cloudport::cloudevents::AttributesReader;
    println!("cloudport-event: {}", to_structured_json(&event));
    if event.ty() == QUEUE_MESSAGE {
        let message = Event::<QueueMessage>::try_from(event)?;
        if &message.data().body[..] == b"fail" {
            return Err(Error::handler("the message body is \"fail\""));
        }
    }
    Ok(())
}

async fn describe(request: Request) -> Response {
    if carries_cloudevent(request.headers()) {
        return match CloudEventRequest::from_request(request, &()).await {
            Ok(CloudEventRequest(event)) => (
                [(header::CONTENT_TYPE, "application/cloudevents+json")],
                to_structured_json(&event).to_string(),
            )
                .into_response(),
            Err(rejection) => rejection,
        };
    }
    let (parts, body) = request.into_parts();
    let body: Bytes = match cloudport::axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(e) => {
            return (
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("body over {MAX_BODY} bytes: {e}"),
            )
                .into_response();
        }
    };
    let headers: serde_json::Map<String, serde_json::Value> = parts
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned().into(),
            )
        })
        .collect();
    let body = match std::str::from_utf8(&body) {
        Ok(text) => serde_json::Value::String(text.to_owned()),
        Err(_) => serde_json::json!({ "base64": base64_encode(&body) }),
    };
    cloudport::axum::Json(serde_json::json!({
        "method": parts.method.as_str(),
        "path": parts.uri.path(),
        "query": parts.uri.query().unwrap_or_default(),
        "headers": headers,
        "body": body,
    }))
    .into_response()
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
