//! The AWS Lambda host: an [`App`] on the Lambda Runtime API, unchanged.
//!
//! One function serves every trigger the app has: SQS batches (reporting per-message failures
//! as `batchItemFailures` — enable `ReportBatchItemFailures` on the event source mapping), S3
//! notifications, EventBridge scheduled events (the rule name is the schedule's name, or the app's
//! only schedule), and API Gateway HTTP API v2 / Function URL requests (answered by the app's
//! router). A payload it cannot decode, or a failed S3 or schedule invocation, is reported through
//! the Runtime API's invocation error, so Lambda retries it.

pub mod decode;
pub mod emf;

use std::sync::Arc;

use cloudport_core::event::{Event, QueueMessage};
use cloudport_core::{App, Env, Error, ErrorKind, ResourceKind, Result, Trigger};
use lambda_runtime::{LambdaEvent, Service, service_fn};
use serde_json::value::RawValue;
use tower::ServiceExt;

use decode::{Names, Payload};

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

/// The invocation error Lambda records: `cloudport.<kind>` and the message.
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
    /// A host for `app`; native queue and bucket names map to the logical names bound to
    /// `sqs://` and `s3://` URLs in `env`.
    pub fn new(app: App, env: Env) -> Self {
        let mut names = Names::default();
        for trigger in app.triggers() {
            let Some((kind, url)) = crate::binding::trigger_binding(&env, &trigger) else {
                continue;
            };
            names = match (kind, url.scheme()) {
                (ResourceKind::Queue, "sqs") => names.queue(url.host(), trigger.name()),
                (ResourceKind::Bucket, "s3") => names.bucket(url.host(), trigger.name()),
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
                .s3(&notification)
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
    /// portable policy), the rest to the handler; failures are reported per message
    /// (`batchItemFailures`), in-order processing stops at the first failure for FIFO queues, and
    /// a batch in which every message failed fails the invocation (so nothing is deleted even where
    /// the event source mapping lacks `ReportBatchItemFailures`).
    async fn sqs(&self, batch: decode::SqsBatch) -> Result<serde_json::Value> {
        let ids = batch.message_ids();
        let fifo = batch.fifo_flags();
        let total = ids.len();
        let mut failures = Vec::new();
        // (logical queue, FIFO?, [(position in the batch, event)])
        type Group = (String, bool, Vec<(usize, cloudevents::Event)>);
        let mut by_queue: Vec<Group> = Vec::new();
        for (i, (queue, event)) in decode::sqs_events(batch, &self.names)
            .into_iter()
            .enumerate()
        {
            match event {
                Ok(ev) => match by_queue
                    .iter_mut()
                    .find(|(q, f, _)| *q == queue && *f == fifo[i])
                {
                    Some((_, _, events)) => events.push((i, ev)),
                    None => by_queue.push((queue, fifo[i], vec![(i, ev)])),
                },
                Err(e) => {
                    tracing::error!(error = %e, "undecodable SQS record; reporting it failed");
                    failures.push(i);
                }
            }
        }
        for (queue, is_fifo, events) in by_queue {
            let events = self
                .dead_letter_over_limit(&queue, events, &mut failures)
                .await;
            if is_fifo {
                // Lambda's FIFO rule: after a failure, the rest of the batch is retried too.
                let mut failed = false;
                for (i, ev) in events {
                    if failed {
                        failures.push(i);
                        continue;
                    }
                    let trigger = Trigger::Queue(queue.clone());
                    if let Err(e) = self.app.dispatch(&self.env, &trigger, ev).await {
                        tracing::warn!(queue = %queue, message_id = %ids[i], error = %e, "message failed; the rest of the FIFO batch returns too");
                        failures.push(i);
                        failed = true;
                    }
                }
                continue;
            }
            let (positions, events): (Vec<usize>, Vec<cloudevents::Event>) =
                events.into_iter().unzip();
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
    /// dead-letter queue ([`cloudport_core::Queue::dead_letter_if_over_limit`]), and returns the
    /// others. A record whose move fails is reported failed.
    async fn dead_letter_over_limit(
        &self,
        queue: &str,
        events: Vec<(usize, cloudevents::Event)>,
        failures: &mut Vec<usize>,
    ) -> Vec<(usize, cloudevents::Event)> {
        let Ok(q) = self.env.queue(queue) else {
            return events;
        };
        if q.dead_letter().is_none() {
            return events;
        }
        let mut keep = Vec::with_capacity(events.len());
        for (i, ev) in events {
            let Ok(view) = Event::<QueueMessage>::try_from(ev.clone()) else {
                keep.push((i, ev));
                continue;
            };
            match q.dead_letter_if_over_limit(view.data()).await {
                None => keep.push((i, ev)),
                Some(Ok(_)) => {}
                Some(Err(_)) => failures.push(i),
            }
        }
        keep
    }

    async fn s3(&self, notification: &aws_lambda_events::s3::S3Event) -> Result<()> {
        let mut first_error = None;
        for record in &notification.records {
            let Some((bucket, event)) = decode::s3_record_event(record, &self.names) else {
                continue;
            };
            if let Err(e) = self
                .app
                .dispatch(&self.env, &Trigger::Blob(bucket), event)
                .await
            {
                tracing::error!(error = %e, "blob handler failed");
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
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
            (_, [only]) => only.name().to_owned(),
            (Some(r), _) => r.clone(),
            (None, _) => "schedule".to_owned(),
        };
        let ce = decode::schedule_event(event, &name);
        self.app
            .dispatch(&self.env, &Trigger::Schedule(name), ce)
            .await
    }

    async fn http(
        &self,
        request: lambda_http::request::LambdaRequest,
        context: lambda_runtime::Context,
    ) -> Result<serde_json::Value> {
        let Some(router) = self.app.http_router(&self.env) else {
            return Err(Error::new(
                ErrorKind::NotFound,
                "an HTTP request arrived, but the app serves no HTTP",
            ));
        };
        let service = router.map_request(|req: lambda_http::Request| {
            let (parts, body) = req.into_parts();
            let body = match body {
                lambda_http::Body::Empty => axum::body::Body::empty(),
                lambda_http::Body::Text(t) => axum::body::Body::from(t),
                lambda_http::Body::Binary(b) => axum::body::Body::from(b),
                _ => axum::body::Body::empty(),
            };
            http::Request::from_parts(parts, body)
        });
        let mut adapter = lambda_http::Adapter::from(service);
        let Ok(response) = adapter.call(LambdaEvent::new(request, context)).await;
        serde_json::to_value(response).map_err(|e| {
            Error::new(
                ErrorKind::Other,
                format!("the HTTP response could not be serialized: {e}"),
            )
        })
    }
}
