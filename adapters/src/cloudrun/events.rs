//! Event requests → invocations: a CloudEvent, a Pub/Sub push envelope or a Cloud Scheduler call,
//! decoded ([`decode`](super::decode)), matched to its trigger ([`Bindings`](super::Bindings)),
//! dead-lettered past its queue's portable limit, or dispatched to the app's handler under the
//! invocation's deadline and trace — and the status that answers it.

use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use cloudevents::AttributesReader;
use cloudport_core::event::carries_cloudevent;
use cloudport_core::export::cloudevents;
use cloudport_core::trace::TraceContext;
use cloudport_core::{Error, ErrorKind, ResourceKind, Result, Trigger};
use serde_json::json;

use super::bindings::MessageTarget;
use super::decode::{
    self, MAX_BODY_BYTES, PUBSUB_MESSAGE_PUBLISHED, PushEnvelope, STORAGE_OBJECT_DELETED,
    STORAGE_OBJECT_FINALIZED, SchedulerRequest, StorageObject,
};
use super::host::CloudRunHost;
use super::responses::{error_response, not_found, rejected};
use super::topics::AsPublished;
use super::{QUEUE_PATH, SCHEDULE_PATH};

/// Which trigger a request may reach.
#[derive(Debug, Clone, Copy)]
pub(super) enum Target<'a> {
    /// Whatever its content names.
    Any,
    /// Only this logical queue.
    Queue(&'a str),
}

/// The trigger under which an event no named trigger takes reaches `on_any_event`.
fn any_event_trigger(ty: &str) -> Trigger {
    Trigger::Event(ty.to_owned())
}

impl CloudRunHost {
    /// A request routed by its content: a CloudEvent, a Cloud Scheduler call, or a push envelope.
    pub(super) async fn event_request(&self, request: Request, target: Target<'_>) -> Response {
        if carries_cloudevent(request.headers()) {
            return self.cloudevent_request(request, target).await;
        }
        if let Target::Any = target
            && SchedulerRequest::from_headers(request.headers()).is_ok_and(|s| s.is_scheduler)
        {
            return self.schedule(request.headers(), None).await;
        }
        self.push_request(request, target).await
    }

    pub(super) async fn cloudevent_request(
        &self,
        request: Request,
        target: Target<'_>,
    ) -> Response {
        let (parts, body) = request.into_parts();
        let body = match read_body(body).await {
            Ok(b) => b,
            Err(r) => return r,
        };
        let event = match decode::cloudevent(&parts.headers, body.to_vec()) {
            Ok(e) => e,
            Err(e) => return rejected(&e),
        };
        let trace = TraceContext::from_headers(&parts.headers);
        match self.on_cloudevent(event, target, trace).await {
            Ok(r) | Err(r) => r,
        }
    }

    /// A CloudEvent: Pub/Sub and Cloud Storage events to their triggers, anything else to
    /// `on_any_event`.
    async fn on_cloudevent(
        &self,
        event: cloudevents::Event,
        target: Target<'_>,
        trace: Option<TraceContext>,
    ) -> std::result::Result<Response, Response> {
        let ty = event.ty().to_owned();
        match (ty.as_str(), target) {
            (PUBSUB_MESSAGE_PUBLISHED, _) => {
                let published = PushEnvelope::from_cloudevent(&event).map_err(|e| rejected(&e))?;
                let bound = match target {
                    Target::Queue(q) => Some(MessageTarget::Queue(q)),
                    Target::Any => self.bindings.message_target(
                        published.subscription.as_deref(),
                        decode::topic_of_source(event.source()),
                    ),
                };
                match bound {
                    Some(MessageTarget::Topic(topic)) => {
                        let message = published.message;
                        Ok(self
                            .deliver_topic_message(
                                topic,
                                &message,
                                AsPublished::Eventarc(Box::new(event)),
                                trace,
                            )
                            .await)
                    }
                    Some(MessageTarget::Queue(queue)) => Ok(self
                        .deliver_message(
                            queue,
                            &published.message,
                            event.source(),
                            published.delivery_attempt(),
                            trace,
                        )
                        .await),
                    None => {
                        let what = format!(
                            "Pub/Sub event {} of subscription {:?} (source {})",
                            event.id(),
                            published.subscription.as_deref().unwrap_or("?"),
                            event.source()
                        );
                        self.to_any_event(event, &what, trace).await
                    }
                }
            }
            (_, Target::Queue(q)) => Err(rejected(&Error::new(
                ErrorKind::Malformed,
                format!(
                    "{QUEUE_PATH}/{q} takes Pub/Sub messages ({PUBSUB_MESSAGE_PUBLISHED} or push envelopes), not {ty}"
                ),
            ))),
            (STORAGE_OBJECT_FINALIZED | STORAGE_OBJECT_DELETED, Target::Any) => {
                let object = StorageObject::from_cloudevent(&event).map_err(|e| rejected(&e))?;
                let native = decode::storage_bucket(&event, &object).unwrap_or_default();
                match self.bindings.bucket_for(&native) {
                    Some(bucket) => {
                        let portable = decode::storage_event(&event, &object, bucket)
                            .map_err(|e| rejected(&e))?;
                        Ok(self
                            .dispatch(Trigger::Blob(bucket.to_owned()), portable, trace)
                            .await)
                    }
                    None => {
                        let what =
                            format!("Cloud Storage event {} of bucket {native:?}", event.id());
                        self.to_any_event(event, &what, trace).await
                    }
                }
            }
            (_, Target::Any) => {
                let what = format!("CloudEvent {} of type {ty}", event.id());
                self.to_any_event(event, &what, trace).await
            }
        }
    }

    /// An event no named trigger takes: to the `on_event` pattern of its type or `on_any_event`,
    /// as delivered, else `404`.
    async fn to_any_event(
        &self,
        event: cloudevents::Event,
        what: &str,
        trace: Option<TraceContext>,
    ) -> std::result::Result<Response, Response> {
        let trigger = any_event_trigger(event.ty());
        if !self.app.handles(&trigger) {
            return Err(rejected(&not_found(format!(
                "{what}: no trigger of the app takes it (bind a queue to its subscription or topic with CLOUDPORT_QUEUE_<NAME>=gcppubsub://projects/P/topics/T?subscription=S (a topic trigger with CLOUDPORT_TOPIC_<NAME>=gcptopic://…), a bucket with CLOUDPORT_BUCKET_<NAME>=gs://BUCKET, or register on_event(\"<type>\") or on_any_event)"
            ))));
        }
        Ok(self.dispatch(trigger, event, trace).await)
    }

    /// A Pub/Sub push envelope.
    async fn push_request(&self, request: Request, target: Target<'_>) -> Response {
        let (parts, body) = request.into_parts();
        if let Err(e) = decode::require_json(&parts.headers, "a Pub/Sub push envelope") {
            return rejected(&e);
        }
        let body = match read_body(body).await {
            Ok(b) => b,
            Err(r) => return r,
        };
        let envelope = match PushEnvelope::parse(&body) {
            Ok(e) => e,
            Err(e) => return rejected(&e),
        };
        let subscription = envelope.subscription.as_deref();
        let bound = match target {
            Target::Queue(q) => Some(MessageTarget::Queue(q)),
            Target::Any => self.bindings.message_target(subscription, None),
        };
        let queue = match bound {
            Some(MessageTarget::Queue(queue)) => queue,
            Some(MessageTarget::Topic(topic)) => {
                let source = subscription.map_or_else(
                    || format!("cloudport:topic/{topic}"),
                    |s| format!("//pubsub.googleapis.com/{s}"),
                );
                // The envelope as the `messagePublished` data, should the message carry no event.
                let as_published = AsPublished::Push {
                    envelope: serde_json::from_slice(&body).unwrap_or_default(),
                    source: &source,
                };
                let trace = TraceContext::from_headers(&parts.headers);
                return self
                    .deliver_topic_message(topic, &envelope.message, as_published, trace)
                    .await;
            }
            None => {
                return rejected(&not_found(format!(
                    "subscription {:?} is bound to no queue or topic of the app: set CLOUDPORT_QUEUE_<NAME>=gcppubsub://projects/P/topics/T?subscription=S (or CLOUDPORT_TOPIC_<NAME>=gcptopic://projects/P/topics/T?subscription=S), or push to {QUEUE_PATH}/<name>",
                    subscription.unwrap_or("(none)")
                )));
            }
        };
        let source = subscription.map_or_else(
            || {
                self.env
                    .binding_url(ResourceKind::Queue, queue)
                    .unwrap_or_else(|| format!("cloudport:queue/{queue}"))
            },
            |s| format!("//pubsub.googleapis.com/{s}"),
        );
        let trace = TraceContext::from_headers(&parts.headers);
        self.deliver_message(
            queue,
            &envelope.message,
            &source,
            envelope.delivery_attempt(),
            trace,
        )
        .await
    }

    /// One Pub/Sub message to logical queue `queue`: decoded, dead-lettered past its queue's
    /// portable limit, else handled.
    async fn deliver_message(
        &self,
        queue: &str,
        message: &decode::PubsubMessage,
        source: &str,
        delivery_attempt: u32,
        trace: Option<TraceContext>,
    ) -> Response {
        let event = match decode::pubsub_event(message, queue, source, delivery_attempt) {
            Ok(e) => e,
            Err(e) => return rejected(&e),
        };
        match self.dead_letter_if_over_limit(queue, &event).await {
            None => {}
            Some(Ok(moved)) => return (StatusCode::OK, axum::Json(moved)).into_response(),
            Some(Err(e)) => return error_response(StatusCode::INTERNAL_SERVER_ERROR, &e),
        }
        self.dispatch(Trigger::Queue(queue.to_owned()), event, trace)
            .await
    }

    /// A Cloud Scheduler call: a tick of schedule `name`, or of the one the job names.
    pub(super) async fn schedule(&self, headers: &HeaderMap, name: Option<&str>) -> Response {
        let request = match SchedulerRequest::from_headers(headers) {
            Ok(r) => r,
            Err(e) => return rejected(&e),
        };
        let known = |n: &str| self.schedules.iter().any(|s| s == n);
        let schedule = match (name, request.job.as_deref(), self.schedules.as_slice()) {
            (Some(n), _, _) if known(n) => n.to_owned(),
            (Some(n), _, _) => {
                return rejected(&not_found(format!(
                    "the app has no schedule {n:?}; its schedules: {:?}",
                    self.schedules
                )));
            }
            (None, Some(job), _) if known(job) => job.to_owned(),
            (None, _, [only]) => only.clone(),
            (None, job, _) => {
                return rejected(&not_found(format!(
                    "no schedule of the app is named like the job {job:?} and the app has {} schedules: call {SCHEDULE_PATH}/<name>; its schedules: {:?}",
                    self.schedules.len(),
                    self.schedules
                )));
            }
        };
        let tick = request.tick(&schedule, Utc::now());
        let trace = TraceContext::from_headers(headers);
        self.dispatch(Trigger::Schedule(schedule), tick, trace)
            .await
    }

    /// Runs the handler under the invocation's deadline and trace: `204` on success, `500` with
    /// the error otherwise.
    pub(super) async fn dispatch(
        &self,
        trigger: Trigger,
        event: cloudevents::Event,
        trace: Option<TraceContext>,
    ) -> Response {
        // Cloud Run ends the request at the service's request timeout (`REQUEST_TIMEOUT_VAR`).
        let deadline = tokio::time::Instant::now() + self.timeout;
        let ctx = cloudport_core::context::InvocationContext::new(event.id(), Some(deadline))
            .with_trace(trace);
        let result =
            cloudport_core::context::scope(ctx, self.app.dispatch(&self.env, &trigger, event))
                .await;
        match result {
            Ok(()) => StatusCode::NO_CONTENT.into_response(),
            Err(e) => {
                tracing::warn!(trigger = %trigger, error = %e, "invocation failed; the platform retries it");
                error_response(StatusCode::INTERNAL_SERVER_ERROR, &e)
            }
        }
    }

    /// The portable dead-letter policy ([`cloudport_core::Queue::dead_letter_if_over_limit`]):
    /// `Some(Ok)` moved (described in the answer), `Some(Err)` the move failed (Pub/Sub
    /// redelivers), `None` handle it.
    async fn dead_letter_if_over_limit(
        &self,
        queue: &str,
        event: &cloudevents::Event,
    ) -> Option<Result<serde_json::Value>> {
        let moved = crate::dead_letter::if_over_limit(&self.env, queue, event).await?;
        Some(moved.map(|d| json!({ "deadLettered": d })))
    }
}

async fn read_body(body: axum::body::Body) -> std::result::Result<bytes::Bytes, Response> {
    axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|e| {
            rejected(&Error::new(
                ErrorKind::TooLarge,
                format!("the request body could not be read (over {MAX_BODY_BYTES} bytes?): {e}"),
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unmapped_events_use_the_event_trigger() {
        let t = any_event_trigger("demo.type");
        assert_eq!(t, Trigger::Event("demo.type".into()));
        assert_eq!(t.label(), "event/demo.type");
    }
}
