//! Event Grid events on the custom handler: the [`EVENTS_FUNCTION`] function (an
//! `eventGridTrigger`), its events delivered to the app, and both validation handshakes.
//!
//! # Where the handshakes live
//!
//! Event Grid never calls the custom handler: it delivers to the Functions host's Event Grid
//! webhook (`/runtime/webhooks/eventgrid?functionName=…`, guarded by the `eventgrid_extension`
//! system key), whose extension answers the Event Grid schema's `SubscriptionValidationEvent`
//! (`{"validationResponse": code}`) and the CloudEvents abuse-protection `OPTIONS` request
//! (`WebHook-Allowed-Origin`) itself, and only then invokes the function, once per event
//! (`HttpRequestProcessor.cs` and `EventGridExtensionConfigProvider.cs` in
//! `Azure/azure-sdk-for-net`, `sdk/eventgrid/Microsoft.Azure.WebJobs.Extensions.EventGrid/src/`).
//! The custom handler listens on `127.0.0.1` only, and the only public way in is the app's own
//! HTTP function — serving an Event Grid webhook there would be an unauthenticated door for
//! anyone to post "events" into the app, so cloudport serves none: point Event Grid
//! subscriptions at the `cloudport-events` function (endpoint type "Azure Function").
//!
//! The host still answers both handshakes where they could reach it, and never dispatches one:
//! a validation event inside an invocation (either schema; the CloudEvents schema's `data` may be
//! JSON-encoded into a string) is answered `200` with `{"validationResponse": code}` as the
//! invocation's `ReturnValue` and no handler runs; an `OPTIONS` request with
//! `WebHook-Request-Origin` on the function's path is answered as the extension answers it
//! (<https://github.com/cloudevents/spec/blob/v1.0/http-webhook.md#4-abuse-protection>).
//!
//! # Delivery
//!
//! Every event of an invocation is delivered (a few at a time); the invocation fails (`500`, so
//! the Functions host answers Event Grid `500` and Event Grid retries the delivery, then
//! dead-letters it per the subscription's retry policy,
//! <https://learn.microsoft.com/azure/event-grid/delivery-and-retry>) when any handler failed. A
//! payload with an undecodable event is refused whole (`400`) before any handler runs.
//! `Microsoft.Storage.BlobCreated` / `BlobDeleted` of a container bound to one of the app's blob
//! triggers (same account when the binding names one) go to that trigger's handler as the
//! portable blob event; every other event goes to `Trigger::Event(<Event Grid type>)` — the
//! app's `on_event` patterns, then `on_any_event`.

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use cloudport_core::export::cloudevents::{self, AttributesReader};
use cloudport_core::{Env, Error, ResourceKind, ResourceUrl, Result, Trigger};
use futures::StreamExt;
use serde_json::json;

use super::decode::{self, EventGridEvent, Invocation, StorageBlobEvent};
use super::{AzureHost, error_response};

pub use cloudport_core::platform::azure::{EVENT_GRID_BINDING, EVENTS_FUNCTION};

/// Events of one invocation delivered at once (Event Grid batches hold up to 5,000 events,
/// <https://learn.microsoft.com/azure/event-grid/delivery-and-retry#output-batching>).
const EVENT_CONCURRENCY: usize = 16;
/// Failed events named in the error of a failed invocation.
const FAILURES_NAMED: usize = 3;

/// The origins Event Grid's abuse-protection request names, echoed back; any other origin is
/// answered with the public cloud's (as the Event Grid extension does,
/// `HttpRequestProcessor.GetAllowedOriginResponseHeader`).
const EVENT_GRID_ORIGINS: &[&str] = &[
    "eventgrid.azure.net",
    "eventgrid.azure.us",
    "eventgrid.azure.eaglex.ic.gov",
    "eventgrid.azure.microsoft.scloud",
    "eventgrid.azure.cn",
];

/// A blob trigger of the app as Event Grid names its container.
#[derive(Debug, Clone)]
pub(super) struct BoundContainer {
    bucket: String,
    /// The storage account, when the binding is an `azblob://ACCOUNT/CONTAINER` URL.
    account: Option<String>,
    container: String,
    /// The trigger's source: the bucket's binding URL.
    source: String,
}

/// The app's blob triggers with the container each is bound to (as the blob trigger path reads
/// it: an `azblob://` binding's path, else the logical name).
pub(super) fn bound_containers(triggers: &[Trigger], env: &Env) -> Vec<BoundContainer> {
    triggers
        .iter()
        .filter_map(|t| match t {
            Trigger::Blob(bucket) => Some(bucket),
            _ => None,
        })
        .map(|bucket| {
            let source = env
                .binding_url(ResourceKind::Bucket, bucket)
                .unwrap_or_else(|| format!("cloudport:bucket/{bucket}"));
            let url = ResourceUrl::parse(&source)
                .ok()
                .filter(|u| u.scheme() == "azblob");
            BoundContainer {
                bucket: bucket.clone(),
                account: url
                    .as_ref()
                    .map(ResourceUrl::host)
                    .filter(|a| !a.is_empty()),
                container: url.map_or_else(|| bucket.clone(), |u| u.path()),
                source,
            }
        })
        .collect()
}

impl AzureHost {
    /// An invocation of [`EVENTS_FUNCTION`]: decode every event (`400` if any is malformed),
    /// answer validation events, deliver the rest (`500` if any handler failed).
    pub(super) async fn invoke_event_grid(&self, body: &[u8]) -> Response {
        let source = format!("azure-functions:{EVENTS_FUNCTION}");
        let events = match Invocation::parse(body)
            .and_then(|inv| decode::event_grid_events(&inv, EVENT_GRID_BINDING, &source))
        {
            Ok(events) => events,
            Err(e) => {
                tracing::error!(function = EVENTS_FUNCTION, error = %e, "undecodable Event Grid invocation");
                return error_response(StatusCode::BAD_REQUEST, &e);
            }
        };
        let total = events.len();
        let mut validation = None;
        let mut deliveries = Vec::with_capacity(total);
        for event in events {
            match event {
                EventGridEvent::Validation { code } => {
                    tracing::info!(
                        function = EVENTS_FUNCTION,
                        "answering an Event Grid subscription validation event; no handler runs"
                    );
                    validation.get_or_insert(code);
                }
                EventGridEvent::Event(event) => deliveries.push(self.event_trigger(*event)),
            }
        }
        let results: Vec<(String, String, Result<()>)> = futures::stream::iter(deliveries)
            .map(|(trigger, event)| async move {
                let (id, ty) = (event.id().to_owned(), event.ty().to_owned());
                (id, ty, self.app.dispatch(&self.env, &trigger, event).await)
            })
            .buffered(EVENT_CONCURRENCY)
            .collect()
            .await;
        let failures: Vec<_> = results
            .into_iter()
            .filter_map(|(id, ty, r)| r.err().map(|e| (id, ty, e)))
            .collect();
        if let Some((_, _, first)) = failures.first() {
            let named = failures
                .iter()
                .take(FAILURES_NAMED)
                .map(|(id, ty, e)| format!("{id} ({ty}): {e}"))
                .collect::<Vec<_>>()
                .join("; ");
            let err = Error::new(
                first.kind(),
                format!(
                    "{} of {total} Event Grid events failed; Event Grid retries the delivery: {named}",
                    failures.len()
                ),
            );
            tracing::warn!(function = EVENTS_FUNCTION, error = %err, "Event Grid invocation failed");
            return error_response(StatusCode::INTERNAL_SERVER_ERROR, &err);
        }
        let return_value = validation.map_or(
            serde_json::Value::Null,
            |code| json!({ "validationResponse": code }),
        );
        (
            StatusCode::OK,
            axum::Json(json!({ "Outputs": {}, "Logs": [], "ReturnValue": return_value })),
        )
            .into_response()
    }

    /// The trigger of an event: a bound container's blob trigger for its blob events, else the
    /// event's own type.
    fn event_trigger(&self, event: cloudevents::Event) -> (Trigger, cloudevents::Event) {
        if let Some(blob) = StorageBlobEvent::of(&event)
            && let Some(bound) = self.containers.iter().find(|c| {
                c.container == blob.container
                    && match (&c.account, &blob.account) {
                        (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
                        _ => true,
                    }
            })
        {
            let portable = blob.to_blob_event(&event, &bound.bucket, &bound.source);
            return (Trigger::Blob(bound.bucket.clone()), portable);
        }
        (Trigger::Event(event.ty().to_owned()), event)
    }

    /// The CloudEvents abuse-protection handshake on [`EVENTS_FUNCTION`]'s path: `200` with
    /// `WebHook-Allowed-Origin` (and `WebHook-Allowed-Rate: *` when a rate was asked for); `400`
    /// without a `WebHook-Request-Origin`.
    pub(super) fn abuse_protection(headers: &HeaderMap) -> Response {
        let Some(origin) = headers
            .get("webhook-request-origin")
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|o| !o.is_empty())
        else {
            return error_response(
                StatusCode::BAD_REQUEST,
                &Error::new(
                    cloudport_core::ErrorKind::Malformed,
                    "an OPTIONS request without WebHook-Request-Origin is no CloudEvents abuse-protection handshake",
                ),
            );
        };
        let allowed = EVENT_GRID_ORIGINS
            .iter()
            .find(|o| o.eq_ignore_ascii_case(origin))
            .copied()
            .unwrap_or(EVENT_GRID_ORIGINS[0]);
        let mut response = StatusCode::OK.into_response();
        let h = response.headers_mut();
        h.insert("webhook-allowed-origin", HeaderValue::from_static(allowed));
        h.insert("allow", HeaderValue::from_static("POST, OPTIONS"));
        if headers.contains_key("webhook-request-rate") {
            h.insert("webhook-allowed-rate", HeaderValue::from_static("*"));
        }
        response
    }
}
