//! The AWS Lambda host: an [`App`] on the Lambda Runtime API, unchanged.
//!
//! One function serves every trigger the app has ([`decode`] tells the payloads apart):
//!
//! - SQS batches, reporting per-message failures as `batchItemFailures` (enable
//!   `ReportBatchItemFailures` on the event source mapping); an SNS notification wrapped in an SQS
//!   message (an SNS → SQS subscription without raw message delivery) is unwrapped and stays a
//!   message of its queue;
//! - S3 notifications;
//! - EventBridge events: scheduled events (the rule name is the schedule's name, or the app's only
//!   schedule); S3 `Object Created` / `Object Deleted` events of a bound bucket, as the bucket's
//!   blob events; any other event, of any source and detail type, as a CloudEvent of type
//!   `detail-type` (source `source`, data `detail`) for [`App::on_event`] / [`App::on_any_event`];
//! - SNS notifications: of a topic an [`App::on_topic`] trigger is bound to
//!   (`CLOUDPORT_TOPIC_<NAME>=sns://<topic>…`, matched by the last part of the `TopicArn`), the
//!   event published to it, whole ([`cloudport_core::topic::wire::from_structured`]: type,
//!   source, extensions, data unchanged, the publisher's trace continued) for that trigger — a
//!   message there that is not a CloudEvent goes to the same trigger as the notification
//!   CloudEvent below, never dropped; of any other topic, CloudEvents of type
//!   `com.amazonaws.sns.Notification` (data the message), or the CloudEvent the message holds,
//!   for [`App::on_event`] / [`App::on_any_event`];
//! - API Gateway HTTP API v2 / Function URL requests (answered by the app's router).
//!
//! A payload it cannot decode, or a failed S3, SNS, EventBridge or schedule invocation, is
//! reported through the Runtime API's invocation error, so Lambda retries it.
//!
//! Nothing is acknowledged that was not handled or dead-lettered, and no input panics the host:
//!
//! - **SQS.** A record delivered more often than its queue's portable dead-letter policy allows
//!   (`?dead_letter=…&max_deliveries=N` on the binding; the count is the record's
//!   `ApproximateReceiveCount`) is sent to the dead-letter queue unhandled and counts as done. This
//!   holds for a record that cannot be decoded too (a body marked `cloudportencoding=base64` that
//!   is not base64, a record without a message id): past the limit it is moved as SQS delivered
//!   it — body undecoded, content type and attributes, `cloudportencoding` included — so nothing
//!   is lost; within the limit, or without a policy, it is reported failed, and on a FIFO queue so
//!   is every record after it in the batch (nothing overtakes it). A failed move leaves the
//!   record failed.
//! - **S3.** Writes (`ObjectCreated:*`) and removals (`ObjectRemoved:*`, `LifecycleExpiration:*`)
//!   are the portable blob events of the bucket's blob trigger. Every other kind
//!   (`ObjectRestore:*`, `ObjectTagging:*`, `ObjectAcl:Put`, `Replication:*`,
//!   `LifecycleTransition`, `IntelligentTiering`, …) goes to the app's event handlers
//!   ([`App::on_event`], [`App::on_any_event`]) as a CloudEvent of type `com.amazonaws.s3.<eventName>` (e.g. `com.amazonaws.s3.ObjectRestore:Completed`)
//!   whose data is the S3 record unchanged ([`decode::s3_event`] has the other attributes); when
//!   no handler takes it, the invocation fails (Lambda retries it, then hands it to the
//!   function's on-failure destination, if one is configured) — a record is never acknowledged
//!   unhandled.
//! - **SNS and EventBridge.** Every record of an SNS invocation is attempted; the invocation fails
//!   if any record is malformed, taken by no handler ([`App::on_topic`] of its bound topic,
//!   [`App::on_event`] pattern or [`App::on_any_event`]), or failed by its handler — as does an EventBridge event — so Lambda
//!   retries it and then hands it to the on-failure destination or dead-letter queue.
//! - **HTTP.** The host converts API Gateway v2 / Function URL requests itself ([`request`]): a
//!   request whose method, header names or values, cookies, `Host` header, `X-Forwarded-Proto`,
//!   raw path, raw query string or base64 body does not make a valid HTTP request is answered
//!   `400` with the hosts' JSON error body, `{"error": {"kind": "malformed", "message": …}}`,
//!   without reaching the router.

pub mod decode;
pub mod emf;
mod events;
pub mod request;

use std::sync::Arc;

use cloudport_core::event::{DELIVERY_COUNT_EXTENSION, Event, QueueMessage};
use cloudport_core::{App, Env, Error, ErrorKind, Queue, ResourceKind, Result, Trigger};
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::value::RawValue;
use tower::ServiceExt;

use decode::{Names, Payload, Undecodable};

/// Runs `app` on the Lambda Runtime API until the process is stopped. Unless the app has a metrics
/// sink of its own or `CLOUDPORT_METRICS=off`, every invocation's metrics go to CloudWatch as EMF
/// lines (namespace `CLOUDPORT_METRICS_NAMESPACE`, default `cloudport`).
pub async fn run(app: App, env: Env) -> Result<()> {
    app.validate()?;
    let app = if app.has_metrics_sink() || env.var("CLOUDPORT_METRICS").as_deref() == Some("off") {
        app
    } else {
        let function = env.var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_default();
        let namespace = env
            .var("CLOUDPORT_METRICS_NAMESPACE")
            .unwrap_or_else(|| "cloudport".to_owned());
        app.metrics_sink(emf::sink(function, namespace))
    };
    let host = Arc::new(LambdaHost::new(app, env));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Box<RawValue>>| {
        let host = host.clone();
        async move {
            #[cfg(feature = "otel")]
            let deadline_ms = event.context.deadline;
            let response = Box::pin(host.handle(event)).await;
            // The process freezes once the response is sent: export this invocation's spans now,
            // but never at the cost of the invocation's deadline (a slow collector only logs).
            #[cfg(feature = "otel")]
            crate::otel::flush_within(time_left(deadline_ms).saturating_sub(FLUSH_MARGIN)).await;
            response.map_err(diagnostic)
        }
    }))
    .await
    .map_err(|e| {
        Error::new(
            ErrorKind::Unavailable,
            format!("the Lambda runtime stopped: {e}"),
        )
    })
}

/// What an invocation leaves for posting its response after the spans are flushed.
#[cfg(feature = "otel")]
const FLUSH_MARGIN: std::time::Duration = std::time::Duration::from_millis(200);

/// Time left until Lambda's deadline (milliseconds since the epoch).
fn time_left(deadline_ms: u64) -> std::time::Duration {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or_default();
    std::time::Duration::from_millis(deadline_ms.saturating_sub(now_ms))
}

/// The invocation error Lambda records: `cloudport.<kind>` and the message.
fn diagnostic(err: Error) -> lambda_runtime::Diagnostic {
    lambda_runtime::Diagnostic {
        error_type: format!("cloudport.{}", err.kind()),
        error_message: err.to_string(),
    }
}

/// Carries Lambda invocations into an app.
pub struct LambdaHost {
    app: App,
    env: Env,
    names: Names,
    report_partial: bool,
}

impl std::fmt::Debug for LambdaHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LambdaHost")
            .field("names", &self.names)
            .finish_non_exhaustive()
    }
}

impl LambdaHost {
    /// A host for `app`; native queue, bucket and topic names map to the logical names bound to
    /// `sqs://`, `s3://` and `sns://` URLs in `env`.
    pub fn new(app: App, env: Env) -> Self {
        let mut names = Names::default();
        for trigger in app.triggers() {
            let binding = crate::binding::trigger_binding(&env, &trigger);
            names = match binding.as_ref().map(|(k, u)| (*k, u.scheme(), u.host())) {
                Some((ResourceKind::Queue, "sqs", native)) => names.queue(native, trigger.name()),
                Some((ResourceKind::Bucket, "s3", native)) => names.bucket(native, trigger.name()),
                Some((ResourceKind::Topic, "sns", native)) => names.topic(native, trigger.name()),
                // A blob trigger not bound to S3 (unbound, or another scheme while testing)
                // takes the notifications of the bucket named like it.
                _ if matches!(trigger, Trigger::Blob(_)) => {
                    names.bucket(trigger.name(), trigger.name())
                }
                _ => names,
            };
        }
        // `CLOUDPORT_SQS_PARTIAL_FAILURES=off` when the event source mapping cannot report
        // per-message failures: then any failure fails the whole batch.
        let report_partial = env
            .var("CLOUDPORT_SQS_PARTIAL_FAILURES")
            .is_none_or(|v| v != "off");
        Self {
            app,
            env,
            names,
            report_partial,
        }
    }

    /// Handles one invocation; the value is the function's response.
    pub async fn handle(&self, event: LambdaEvent<Box<RawValue>>) -> Result<serde_json::Value> {
        let LambdaEvent { payload, context } = event;
        // Retries inside the invocation stop before Lambda's deadline.
        let left = time_left(context.deadline);
        let invocation = cloudport_core::context::InvocationContext::new(
            context.request_id.clone(),
            tokio::time::Instant::now().checked_add(left),
        )
        .with_trace(
            context
                .xray_trace_id
                .as_deref()
                .and_then(cloudport_core::trace::TraceContext::parse_xray),
        );
        cloudport_core::context::scope(invocation, self.handle_payload(payload, context)).await
    }

    async fn handle_payload(
        &self,
        payload: Box<RawValue>,
        context: lambda_runtime::Context,
    ) -> Result<serde_json::Value> {
        match decode::decode(payload.get().as_bytes())? {
            Payload::Sqs(batch) => self.sqs(batch).await,
            Payload::S3(notification) => self
                .s3(notification)
                .await
                .map(|()| serde_json::Value::Null),
            Payload::Sns(notification) => self
                .sns(notification)
                .await
                .map(|()| serde_json::Value::Null),
            Payload::EventBridge(event) => self
                .eventbridge(*event)
                .await
                .map(|()| serde_json::Value::Null),
            Payload::Schedule(event) => self
                .schedule(&event)
                .await
                .map(|()| serde_json::Value::Null),
            Payload::Http(request) => self.http(*request, context).await,
            Payload::Warmup => Ok(serde_json::json!({ "warm": true })),
        }
    }

    /// An SQS batch: records over their queue's delivery limit go to its dead-letter queue (the
    /// portable policy) — undecodable ones too, as delivered —, the rest to the handler; failures
    /// are reported per message (`batchItemFailures`), in-order processing stops at the first
    /// failure (an undecodable record included) for FIFO queues, and a batch in which every message
    /// failed fails the invocation (so nothing is deleted even where the event source mapping
    /// lacks `ReportBatchItemFailures`).
    async fn sqs(&self, batch: decode::SqsBatch) -> Result<serde_json::Value> {
        let ids = batch.message_ids();
        let fifo = batch.fifo_flags();
        let total = ids.len();
        let mut failures = Vec::new();
        // (logical queue, FIFO?, [(position in the batch, record)])
        type Group = (String, bool, Vec<(usize, Record)>);
        let mut by_queue: Vec<Group> = Vec::new();
        for (i, (queue, record)) in decode::sqs_events(batch, &self.names)
            .into_iter()
            .enumerate()
        {
            match by_queue
                .iter_mut()
                .find(|(q, f, _)| *q == queue && *f == fifo[i])
            {
                Some((_, _, records)) => records.push((i, record)),
                None => by_queue.push((queue, fifo[i], vec![(i, record)])),
            }
        }
        for (queue, is_fifo, records) in by_queue {
            let mut moves_failed = Vec::new();
            let records = self
                .dead_letter_over_limit(&queue, records, &mut moves_failed)
                .await;
            let first_move_failed = moves_failed.first().copied();
            failures.extend(moves_failed);
            if is_fifo {
                // Lambda's FIFO rule: after a failure, the rest of the batch is retried too — after
                // a record whose move to the dead-letter queue failed as well.
                let mut failed = false;
                for (i, record) in records {
                    if failed || first_move_failed.is_some_and(|f| f < i) {
                        failures.push(i);
                        continue;
                    }
                    let ev = match record {
                        Ok(ev) => ev,
                        Err(u) => {
                            tracing::error!(queue = %queue, message_id = %ids[i], error = %u.error,
                                "undecodable SQS record; reporting it and the rest of the FIFO batch failed");
                            failures.push(i);
                            failed = true;
                            continue;
                        }
                    };
                    let trigger = Trigger::Queue(queue.clone());
                    if let Err(e) = self.app.dispatch(&self.env, &trigger, ev).await {
                        tracing::warn!(queue = %queue, message_id = %ids[i], error = %e, "message failed; the rest of the FIFO batch returns too");
                        failures.push(i);
                        failed = true;
                    }
                }
                continue;
            }
            let mut positions = Vec::with_capacity(records.len());
            let mut events = Vec::with_capacity(records.len());
            for (i, record) in records {
                match record {
                    Ok(ev) => {
                        positions.push(i);
                        events.push(ev);
                    }
                    Err(u) => {
                        tracing::error!(queue = %queue, message_id = %ids[i], error = %u.error,
                            "undecodable SQS record; reporting it failed");
                        failures.push(i);
                    }
                }
            }
            if events.is_empty() {
                continue;
            }
            let outcome = self.app.dispatch_batch(&self.env, &queue, events).await;
            for failure in &outcome.failures {
                tracing::warn!(queue = %queue, message_id = %failure.id, error = %failure.error, "message failed");
            }
            failures.extend(outcome.failed_indexes().map(|i| positions[i]));
        }
        failures.sort_unstable();
        failures.dedup();
        if total > 0 && (failures.len() == total || (!failures.is_empty() && !self.report_partial))
        {
            return Err(Error::new(
                ErrorKind::Handler,
                format!(
                    "{} of {total} messages failed; the batch returns to the queue",
                    failures.len()
                ),
            ));
        }
        let items: Vec<serde_json::Value> = failures
            .into_iter()
            .map(|i| serde_json::json!({ "itemIdentifier": ids[i] }))
            .collect();
        Ok(serde_json::json!({ "batchItemFailures": items }))
    }

    /// Moves records delivered more often than their queue's dead-letter policy allows to its
    /// dead-letter queue ([`cloudport_core::Queue::dead_letter_if_over_limit`]) — an undecodable
    /// record as SQS delivered it — and returns the others. A record whose move fails is reported
    /// failed.
    async fn dead_letter_over_limit(
        &self,
        queue: &str,
        records: Vec<(usize, Record)>,
        failures: &mut Vec<usize>,
    ) -> Vec<(usize, Record)> {
        let Some((q, max)) = self.dead_letter_policy(queue, &records) else {
            return records;
        };
        let mut keep = Vec::with_capacity(records.len());
        for (i, record) in records {
            let moved = match &record {
                // Most records are within the limit: no copy of their message to find out.
                Ok(ev) if delivery_count(ev).is_none_or(|n| n <= max) => None,
                Ok(ev) => match Event::<QueueMessage>::try_from(ev.clone()) {
                    Ok(view) => q.dead_letter_if_over_limit(view.data()).await,
                    Err(_) => None,
                },
                Err(u) => q.dead_letter_if_over_limit(&u.raw).await,
            };
            match moved {
                None => keep.push((i, record)),
                Some(Ok(moved)) => {
                    if let Err(u) = &record {
                        tracing::warn!(queue, error = %u.error, %moved,
                            "undecodable SQS record moved to the dead-letter queue as delivered");
                    }
                }
                Some(Err(_)) => failures.push(i),
            }
        }
        keep
    }

    /// The dead-letter queue policy of logical queue `queue`, if it has one: the queue and its
    /// delivery limit. A queue that cannot be opened has none here; that is logged when the batch
    /// holds an undecodable record, which then can only be reported failed.
    fn dead_letter_policy(&self, queue: &str, records: &[(usize, Record)]) -> Option<(Queue, u32)> {
        let q = match self.env.queue(queue) {
            Ok(q) => q,
            Err(e) => {
                if records.iter().any(|(_, r)| r.is_err()) {
                    tracing::warn!(queue, error = %e,
                        "cannot open the queue to apply its dead-letter policy to an undecodable record");
                }
                return None;
            }
        };
        let max = q.dead_letter()?.1;
        Some((q, max))
    }

    async fn schedule(
        &self,
        event: &aws_lambda_events::eventbridge::EventBridgeEvent<serde_json::Value>,
    ) -> Result<()> {
        let rule = decode::schedule_rule(event);
        let schedules: Vec<Trigger> = self
            .app
            .triggers()
            .into_iter()
            .filter(|t| matches!(t, Trigger::Schedule(_)))
            .collect();
        let name = match (&rule, schedules.as_slice()) {
            (Some(r), _) if schedules.iter().any(|t| t.name() == r) => r.clone(),
            // A deployed rule is named `<stack>-<schedule>` (`cargo cloudport package`): the
            // longest schedule name it ends with.
            (Some(r), _) if let Some(t) = schedule_of_rule(r, &schedules) => t.to_owned(),
            (_, [only]) => only.name().to_owned(),
            (Some(r), _) => r.clone(),
            (None, _) => "schedule".to_owned(),
        };
        let ce = decode::schedule_event(event, &name);
        self.app
            .dispatch(&self.env, &Trigger::Schedule(name), ce)
            .await
    }

    /// An API Gateway v2 / Function URL request: answered by the app's router, or `400` when it
    /// is not a valid HTTP request ([`request::HttpEvent::into_request`]).
    async fn http(
        &self,
        event: request::HttpEvent,
        context: lambda_runtime::Context,
    ) -> Result<serde_json::Value> {
        let Some(router) = self.app.http_router(&self.env) else {
            return Err(Error::new(
                ErrorKind::NotFound,
                "an HTTP request arrived, but the app serves no HTTP",
            ));
        };
        let ignore_stage = self
            .env
            .var("AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH")
            .is_some();
        let response = match event.into_request(context, ignore_stage) {
            Ok(request) => match router.oneshot(request).await {
                Ok(response) => response,
                Err(never) => match never {},
            },
            Err(e) => {
                tracing::warn!(error = %e, "answering 400 to an HTTP request that is not valid");
                error_response(http::StatusCode::BAD_REQUEST, &e)
            }
        };
        // `lambda_http`'s response conversion (cookies, binary bodies as base64).
        let response = lambda_http::TransformResponse::<
            '_,
            axum::response::Response,
            std::convert::Infallible,
        >::Response(
            lambda_http::request::RequestOrigin::ApiGatewayV2,
            lambda_http::IntoResponse::into_response(response),
        );
        let Ok(response) = response.await;
        serde_json::to_value(response).map_err(|e| {
            Error::new(
                ErrorKind::Other,
                format!("the HTTP response could not be serialized: {e}"),
            )
        })
    }
}

/// One SQS record of a batch: decoded, or not.
type Record = std::result::Result<cloudevents::Event, Box<Undecodable>>;

/// The delivery count a decoded queue-message event carries.
fn delivery_count(event: &cloudevents::Event) -> Option<u32> {
    match event.extension(DELIVERY_COUNT_EXTENSION)? {
        cloudevents::event::ExtensionValue::Integer(n) => u32::try_from(*n).ok(),
        _ => None,
    }
}

/// The hosts' error answer: `{"error": {"kind", "message"}}`.
fn error_response(status: http::StatusCode, err: &Error) -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        status,
        axum::Json(
            serde_json::json!({ "error": { "kind": err.kind().as_str(), "message": err.to_string() } }),
        ),
    )
        .into_response()
}

/// The schedule whose name the rule name ends with, after a `-` (`orders-prod-nightly` →
/// `nightly`); the longest such name wins.
fn schedule_of_rule<'a>(rule: &str, schedules: &'a [Trigger]) -> Option<&'a str> {
    schedules
        .iter()
        .map(Trigger::name)
        .filter(|name| {
            rule.strip_suffix(name)
                .is_some_and(|stack| stack.ends_with('-'))
        })
        .max_by_key(|name| name.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployed_rule_names_end_with_their_schedule() {
        let schedules = [
            Trigger::Schedule("report".into()),
            Trigger::Schedule("nightly-report".into()),
        ];
        let of = |rule| schedule_of_rule(rule, &schedules);
        assert_eq!(of("shop-prod-nightly-report"), Some("nightly-report"));
        assert_eq!(of("shop-report"), Some("report"));
        assert_eq!(of("shopreport"), None);
        assert_eq!(of("report"), None);
    }
}
