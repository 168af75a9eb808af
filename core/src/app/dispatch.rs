//! Carrying one invocation into its handler: routing, typed views, panics.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;

use cloudevents::AttributesReader;
use futures::FutureExt;

use crate::event::{Event, EventData};
use crate::{Env, Error, ErrorKind, Result};

/// A boxed, sendable future.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// A stored handler of events with data view `T`.
pub(crate) type Handler<T> = Arc<dyn Fn(Event<T>, Env) -> BoxFuture<Result<()>> + Send + Sync>;

pub(crate) fn boxed<T, F, Fut>(f: F) -> Handler<T>
where
    T: EventData,
    F: Fn(Event<T>, Env) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<()>> + Send + 'static,
{
    Arc::new(move |event, env| Box::pin(f(event, env)))
}

/// Runs a handler on a CloudEvent: builds the typed view (a malformed event fails the invocation
/// with `Malformed`), and turns a panic into an `ErrorKind::Handler` error.
pub(crate) async fn invoke<T: EventData>(
    handler: &Handler<T>,
    cloudevent: cloudevents::Event,
    env: Env,
) -> Result<()> {
    let id = cloudevent.id().to_owned();
    let event = Event::<T>::try_from(cloudevent)?;
    // The call itself sits inside the guarded future: a handler whose synchronous part panics
    // is caught too.
    match AssertUnwindSafe(async move { handler(event, env).await })
        .catch_unwind()
        .await
    {
        Ok(result) => result,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a non-string payload".to_owned());
            let what = crate::redact::redact(&what).into_owned();
            tracing::error!(event_id = %id, panic = %what, "handler panicked");
            Err(
                Error::new(ErrorKind::Handler, format!("handler panicked: {what}"))
                    .with_resource(id),
            )
        }
    }
}

/// One failed message of a queue batch.
#[derive(Debug)]
#[non_exhaustive]
pub struct BatchFailure {
    /// The message's position in the batch.
    pub index: usize,
    /// The message (event) id.
    pub id: String,
    /// Why it failed.
    pub error: Error,
}

/// The outcome of a queue batch: which messages failed. Hosts report these to the platform
/// (SQS `batchItemFailures`, a Pub/Sub non-2xx, an Azure failed invocation) so only they return.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct BatchOutcome {
    /// Messages whose handler failed, in batch order.
    pub failures: Vec<BatchFailure>,
}

impl BatchOutcome {
    /// Whether every message succeeded.
    pub fn is_success(&self) -> bool {
        self.failures.is_empty()
    }

    /// The positions of the failed messages in the batch.
    pub fn failed_indexes(&self) -> impl Iterator<Item = usize> + '_ {
        self.failures.iter().map(|f| f.index)
    }

    /// The ids of the failed messages.
    pub fn failed_ids(&self) -> impl Iterator<Item = &str> {
        self.failures.iter().map(|f| f.id.as_str())
    }
}

use super::instrument::{invocation_span, record_trace};
use super::{App, InvocationRecord, Trigger};

impl App {
    /// Delivers one event to the handler of `trigger` (or the fallback). A malformed event fails
    /// with `Malformed`; a handler panic with `ErrorKind::Handler`; neither takes the process down.
    ///
    /// The invocation runs in a `tracing` span named `invocation` with OpenTelemetry FaaS and
    /// messaging attributes, inside the host's [`InvocationContext`](crate::context::InvocationContext)
    /// (deadline, request id) when the host set one, and is counted in [`App::metrics`].
    pub async fn dispatch(
        &self,
        env: &Env,
        trigger: &Trigger,
        event: cloudevents::Event,
    ) -> Result<()> {
        use cloudevents::AttributesReader;
        use tracing::Instrument;
        let mut ctx = crate::context::current()
            .unwrap_or_else(|| crate::context::InvocationContext::new(event.id(), None));
        ctx.cold_start = crate::context::first_invocation();
        // The message's own trace (its sender's) comes first, then the platform's, else a new one.
        let parent = event
            .extension(crate::trace::TRACEPARENT)
            .and_then(|v| crate::trace::TraceContext::parse_traceparent(&v.to_string()))
            .or(ctx.trace);
        let mut trace = parent.map_or_else(crate::trace::TraceContext::new_root, |p| p.child());
        let span = (!self.uninstrumented).then(|| {
            let span = invocation_span(trigger, &ctx, &event);
            // With OpenTelemetry export, the invocation is the exported span.
            trace = crate::otel::adopt(&span, parent, trace);
            record_trace(&span, &trace);
            span
        });
        ctx.trace = Some(trace);
        // Boxed once: the wrappers below (context, span) then move a pointer, not the whole
        // routing future (kilobytes) on every move on the way to the executor.
        let routed: Pin<Box<dyn Future<Output = Result<()>> + Send + '_>> =
            Box::pin(self.dispatch_inner(env, trigger, event));
        let Some(span) = span else {
            return crate::context::scope(ctx, routed).await;
        };
        let cold = ctx.cold_start;
        let started = std::time::Instant::now();
        let scoped = crate::context::scope(ctx, routed);
        // A span no subscriber takes is not entered and left on every poll.
        let result = if span.is_disabled() {
            scoped.await
        } else {
            scoped.instrument(span.clone()).await
        };
        let took = started.elapsed();
        self.metrics.record(trigger, took, result.is_err(), cold);
        if let Some(sink) = &self.metrics_sink {
            sink(&InvocationRecord {
                trigger: trigger.clone(),
                duration: took,
                failed: result.is_err(),
                cold_start: cold,
                trace_id: Some(trace.trace_id()),
            });
        }
        if let Err(e) = &result {
            span.record("otel.status_code", "ERROR");
            tracing::warn!(parent: &span, error = %e, "invocation failed");
        }
        result
    }

    async fn dispatch_inner(
        &self,
        env: &Env,
        trigger: &Trigger,
        event: cloudevents::Event,
    ) -> Result<()> {
        let bound = env;
        let env = self.handler_env(env);
        let result = match trigger {
            // A claim-check reference becomes its message; its object goes once it is handled.
            Trigger::Queue(n) => match crate::claim_check::resolve(bound, n, event).await {
                Ok(crate::claim_check::Resolved::Deliver { event, claim }) => {
                    let handled = self.route(self.queues.get(n), event, env).await;
                    if let (Ok(()), Some(claim)) = (&handled, claim) {
                        claim.release().await;
                    }
                    handled
                }
                Err(e) => Err(e),
            },
            Trigger::Blob(n) => self.route(self.blobs.get(n), event, env).await,
            Trigger::Schedule(n) => {
                self.route(self.schedules.get(n).map(|(_, h)| h), event, env)
                    .await
            }
            Trigger::Topic(n) => self.route(self.topics.get(n), event, env).await,
            Trigger::Event(ty) => {
                self.route::<cloudevents::Event>(self.events.find(ty), event, env)
                    .await
            }
            Trigger::Http => Err(Error::new(
                ErrorKind::InvalidArgument,
                "HTTP requests are served by the app's router (App::http_router), not dispatched",
            )),
        };
        result.map_err(|e| {
            e.with_operation("app.dispatch")
                .with_resource(trigger.to_string())
        })
    }

    async fn route<T: EventData>(
        &self,
        handler: Option<&Handler<T>>,
        event: cloudevents::Event,
        env: Env,
    ) -> Result<()> {
        use cloudevents::AttributesReader;
        // A named trigger without its handler: a pattern for the event's own type, then the
        // fallback.
        let pattern = match handler {
            Some(_) => None,
            None => self.events.find(event.ty()),
        };
        match (handler, pattern, &self.fallback) {
            (Some(h), _, _) => invoke(h, event, env).await,
            (None, Some(h), _) => invoke(h, event, env).await,
            (None, None, Some(fallback)) => invoke(fallback, event, env).await,
            (None, None, None) => Err(Error::new(
                ErrorKind::NotFound,
                "no handler is registered for this trigger",
            )),
        }
    }
}
