//! The app: handlers bound to logical trigger names, carried by any host.

mod describe;
mod dispatch;
mod limits;
mod metrics;
mod schedule;

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;

use axum::Router;
use axum::extract::Request;
use axum::response::IntoResponse;
use futures::StreamExt;
use tower::Service;

pub use describe::{
    DESCRIBE_VAR, DESCRIPTION_VERSION, DeadLetterDescription, Description, ResourceDescription,
    TriggerDescription, kind_word,
};
pub use dispatch::{BatchFailure, BatchOutcome, BoxFuture};
pub use limits::{Budget, Limits};
pub use metrics::{
    InvocationRecord, MAX_EVENT_TYPES, MetricsSink, MetricsSnapshot, OTHER_EVENT_TYPES,
    TriggerMetrics,
};
pub use schedule::Schedule;

use crate::event::{BlobEvent, EventData, QueueMessage, ScheduleTick};
use crate::{Env, Error, ErrorKind, Result, validate};
use dispatch::{Handler, boxed, invoke};

/// Runs an HTTP request as an invocation: the host's context (deadline, id) when it set one, and
/// the trace the request carries (`traceparent`, `X-Amzn-Trace-Id`, `X-Cloud-Trace-Context`), else
/// a new one — so a message the handler sends continues the request's trace.
/// Instrumented (`metrics` is set), the request runs in an `invocation` server span named by the
/// method (the app's routes are its own, so no low-cardinality route is known here; the path is
/// `url.path`) and is counted under [`Trigger::Http`] (a 5xx is an error).
async fn http_invocation(
    metrics: Option<HttpMetrics>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use tracing::Instrument;
    let incoming = crate::trace::TraceContext::from_headers(request.headers());
    let mut ctx = crate::context::current().unwrap_or_default();
    ctx.cold_start = crate::context::first_invocation();
    let parent = incoming.or(ctx.trace);
    let trace = parent.map_or_else(crate::trace::TraceContext::new_root, |p| p.child());
    let Some(metrics) = metrics else {
        ctx.trace = Some(trace);
        return crate::context::scope(ctx, next.run(request)).await;
    };
    // Only constants at creation, as for event invocations (`invocation_span`).
    let span = tracing::info_span!(
        "invocation",
        otel.name = tracing::field::Empty,
        otel.kind = "server",
        faas.trigger = "http",
        faas.invocation_id = tracing::field::Empty,
        faas.coldstart = ctx.cold_start,
        http.request.method = tracing::field::Empty,
        url.path = tracing::field::Empty,
        http.response.status_code = tracing::field::Empty,
        trace_id = tracing::field::Empty,
        span_id = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
    );
    if !span.is_disabled() {
        let method = request.method().as_str();
        span.record("otel.name", method);
        span.record("http.request.method", method);
        span.record("url.path", request.uri().path());
        span.record(
            "faas.invocation_id",
            tracing::field::display(&ctx.invocation_id),
        );
    }
    let trace = crate::otel::adopt(&span, parent, trace);
    record_trace(&span, &trace);
    ctx.trace = Some(trace);
    let cold = ctx.cold_start;
    let started = std::time::Instant::now();
    let response = crate::context::scope(ctx, next.run(request))
        .instrument(span.clone())
        .await;
    let failed = response.status().is_server_error();
    metrics.record(started.elapsed(), failed, cold, &trace);
    if !span.is_disabled() {
        span.record("http.response.status_code", response.status().as_u16());
        if failed {
            span.record("otel.status_code", "ERROR");
        }
    }
    response
}

/// Where the HTTP middleware counts requests: the app's metrics and sink.
#[derive(Clone)]
struct HttpMetrics {
    metrics: std::sync::Arc<metrics::Metrics>,
    sink: Option<MetricsSink>,
}

impl HttpMetrics {
    fn record(
        &self,
        took: std::time::Duration,
        failed: bool,
        cold: bool,
        trace: &crate::trace::TraceContext,
    ) {
        self.metrics.record(&Trigger::Http, took, failed, cold);
        if let Some(sink) = &self.sink {
            sink(&InvocationRecord::new(
                Trigger::Http,
                took,
                failed,
                cold,
                Some(trace.trace_id()),
            ));
        }
    }
}

/// The `invocation` span, with OpenTelemetry FaaS and messaging attributes. Its fields cost
/// nothing unless a subscriber records them.
fn invocation_span(
    trigger: &Trigger,
    ctx: &crate::context::InvocationContext,
    event: &cloudevents::Event,
) -> tracing::Span {
    use cloudevents::AttributesReader;
    // Message-triggered invocations are consumer spans; the others, server spans.
    let (faas_trigger, kind) = match trigger {
        Trigger::Queue(_) => ("pubsub", "consumer"),
        Trigger::Blob(_) => ("datasource", "server"),
        Trigger::Schedule(_) => ("timer", "server"),
        Trigger::Event(_) | Trigger::Http => ("other", "server"),
    };
    // Only constants at creation: with `tracing`'s `log` feature on (the Lambda runtime turns it
    // on) and no subscriber, field values given here would be computed for every invocation.
    let span = tracing::info_span!(
        "invocation",
        otel.name = tracing::field::Empty,
        otel.kind = kind,
        cloud.provider = tracing::field::Empty,
        faas.trigger = faas_trigger,
        faas.invocation_id = tracing::field::Empty,
        faas.coldstart = ctx.cold_start,
        messaging.system = tracing::field::Empty,
        messaging.operation = tracing::field::Empty,
        messaging.destination.name = tracing::field::Empty,
        messaging.message.id = tracing::field::Empty,
        cloudevents.event_id = tracing::field::Empty,
        cloudevents.event_type = tracing::field::Empty,
        trace_id = tracing::field::Empty,
        span_id = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
    );
    if span.is_disabled() {
        return span;
    }
    // Recorded before anything enters the span, so an exporter builds it with them.
    let source = event.source().as_str();
    span.record("otel.name", tracing::field::display(trigger));
    if let Some(provider) = crate::telemetry::provider_of_source(source) {
        span.record("cloud.provider", provider);
    }
    span.record(
        "faas.invocation_id",
        tracing::field::display(&ctx.invocation_id),
    );
    span.record("cloudevents.event_id", event.id());
    span.record("cloudevents.event_type", event.ty());
    // The messaging attributes belong to message-triggered invocations only.
    if let Trigger::Queue(name) = trigger {
        span.record(
            "messaging.system",
            crate::telemetry::queue_system_of_source(source),
        );
        span.record("messaging.operation", "process");
        span.record("messaging.destination.name", name.as_str());
        span.record("messaging.message.id", event.id());
    }
    span
}

/// Records the invocation's trace on its span (formatted only if a subscriber records it).
fn record_trace(span: &tracing::Span, trace: &crate::trace::TraceContext) {
    if !span.is_disabled() {
        span.record(
            "trace_id",
            tracing::field::display(trace.trace_id_display()),
        );
        span.record("span_id", tracing::field::display(trace.span_id_display()));
    }
}

/// A trigger, by kind and logical name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Trigger {
    /// Messages of the queue bound to this name.
    Queue(String),
    /// Changes to the bucket bound to this name.
    Blob(String),
    /// Ticks of the schedule of this name.
    Schedule(String),
    /// A CloudEvent of this type that no named trigger takes, for [`App::on_any_event`]; hosts
    /// dispatch platform events they cannot map to a named trigger under it.
    Event(String),
    /// Requests to the app's HTTP service (counted in the metrics; served by
    /// [`App::http_router`], never dispatched).
    Http,
}

impl Trigger {
    /// `queue/orders`, `blob/uploads`, `schedule/nightly`: for metric dimensions and logs.
    pub fn label(&self) -> String {
        match self {
            Self::Queue(n) => format!("queue/{n}"),
            Self::Blob(n) => format!("blob/{n}"),
            Self::Schedule(n) => format!("schedule/{n}"),
            Self::Event(ty) => format!("event/{ty}"),
            Self::Http => "http".to_owned(),
        }
    }

    /// The logical name (the event type, for [`Trigger::Event`]; `http` for [`Trigger::Http`]).
    pub fn name(&self) -> &str {
        match self {
            Self::Queue(n) | Self::Blob(n) | Self::Schedule(n) | Self::Event(n) => n,
            Self::Http => "http",
        }
    }
}

impl std::fmt::Display for Trigger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Queue(n) => write!(f, "queue {n:?}"),
            Self::Blob(n) => write!(f, "blob {n:?}"),
            Self::Schedule(n) => write!(f, "schedule {n:?}"),
            Self::Event(ty) => write!(f, "event {ty:?}"),
            Self::Http => f.write_str("http"),
        }
    }
}

/// A serverless app: an HTTP service and event handlers bound to logical names. The same `App`
/// runs on every host — Lambda, Azure Functions, Cloud Functions / Cloud Run, or locally.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> cloudport_core::Result<()> {
/// use cloudport_core::{App, Env, Schedule, Trigger};
/// use cloudport_core::event::{Event, QueueMessage};
/// use std::time::Duration;
///
/// async fn on_order(event: Event<QueueMessage>, env: Env) -> cloudport_core::Result<()> {
///     let text = event.data().text()?.to_owned();
///     env.kv("orders")?.put(event.id(), text, cloudport_core::Precondition::None).await?;
///     Ok(())
/// }
///
/// let app = App::new()
///     .on_queue("orders", on_order)
///     .on_schedule("nightly", Schedule::every(Duration::from_secs(3600)), |_tick, _env| async { Ok(()) });
/// app.validate()?;
///
/// // A host delivers an event:
/// let memory = cloudport_memory::Memory::new();
/// let env = Env::builder().provider(memory.clone()).fallback_scheme("mem").build();
/// let event = QueueMessage::new("orders", "m-1", "two pizzas").to_cloudevent("mem://orders");
/// app.dispatch(&env, &Trigger::Queue("orders".into()), event).await?;
/// assert_eq!(memory.kv("orders").get("m-1").await?.unwrap().value, "two pizzas");
/// # Ok(()) }
/// ```
#[derive(Default)]
pub struct App {
    http: Option<Router>,
    queues: BTreeMap<String, Handler<QueueMessage>>,
    blobs: BTreeMap<String, Handler<BlobEvent>>,
    schedules: BTreeMap<String, (Schedule, Handler<ScheduleTick>)>,
    fallback: Option<Handler<cloudevents::Event>>,
    queue_concurrency: usize,
    uninstrumented: bool,
    env: Option<Env>,
    errors: Vec<Error>,
    metrics: std::sync::Arc<metrics::Metrics>,
    metrics_sink: Option<MetricsSink>,
    uses: Vec<crate::access::Use>,
    /// The declarations and what the triggers imply, merged once, at first use.
    access: std::sync::OnceLock<Option<std::sync::Arc<crate::access::AccessPolicy>>>,
    limits: Limits,
    budget: Option<Budget>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("http", &self.http.is_some())
            .field("triggers", &self.triggers())
            .field("fallback", &self.fallback.is_some())
            .finish()
    }
}

impl App {
    /// An app with no handlers.
    pub fn new() -> Self {
        Self {
            queue_concurrency: 1,
            ..Self::default()
        }
    }

    /// Serves HTTP with any tower service (an axum `Router`, say), unchanged on every host.
    pub fn http<S>(mut self, service: S) -> Self
    where
        S: Service<Request, Error = Infallible> + Clone + Send + Sync + 'static,
        S::Response: IntoResponse + 'static,
        S::Future: Send + 'static,
    {
        self.http = Some(Router::new().fallback_service(service));
        self
    }

    fn check_name(&mut self, name: &str) {
        if let Err(e) = validate::logical_name(name) {
            self.errors.push(e.with_operation("app.register"));
        }
    }

    /// Handles messages of the queue bound to `name`. A handler error or panic fails that message
    /// alone: it is redelivered (and dead-lettered after its queue's limit), never lost.
    pub fn on_queue<F, Fut>(mut self, name: impl Into<String>, handler: F) -> Self
    where
        F: Fn(crate::event::Event<QueueMessage>, Env) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<()>> + Send + 'static,
    {
        let name = name.into();
        self.check_name(&name);
        self.queues.insert(name, boxed(handler));
        self
    }

    /// Handles objects created in or deleted from the bucket bound to `name`.
    pub fn on_blob<F, Fut>(mut self, name: impl Into<String>, handler: F) -> Self
    where
        F: Fn(crate::event::Event<BlobEvent>, Env) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<()>> + Send + 'static,
    {
        let name = name.into();
        self.check_name(&name);
        self.blobs.insert(name, boxed(handler));
        self
    }

    /// Handles ticks of a schedule.
    pub fn on_schedule<F, Fut>(
        mut self,
        name: impl Into<String>,
        schedule: Schedule,
        handler: F,
    ) -> Self
    where
        F: Fn(crate::event::Event<ScheduleTick>, Env) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<()>> + Send + 'static,
    {
        let name = name.into();
        self.check_name(&name);
        if let Err(e) = schedule.validate() {
            self.errors.push(e.with_resource(name.clone()));
        }
        self.schedules.insert(name, (schedule, boxed(handler)));
        self
    }

    /// Handles every event that no named handler takes, as a raw CloudEvent.
    pub fn on_any_event<F, Fut>(mut self, handler: F) -> Self
    where
        F: Fn(crate::event::Event<cloudevents::Event>, Env) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<()>> + Send + 'static,
    {
        self.fallback = Some(boxed(handler));
        self
    }

    /// Declares a resource the handlers use, and for what — `.uses(queue("audit").send())`,
    /// `.uses(bucket("receipts").read().write())`, `.uses(kv("orders").read().write())`
    /// ([`crate::access`]). A trigger implies `consume` on its queue and `read` on its bucket.
    ///
    /// Once an app declares anything, every operation its handlers make outside the declarations
    /// fails with `PermissionDenied` before any driver call, on every provider; deployment grants
    /// exactly what is declared.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> cloudport_core::Result<()> {
    /// use cloudport_core::{App, Env, ErrorKind, Trigger};
    /// use cloudport_core::access::{kv, queue};
    /// use cloudport_core::event::QueueMessage;
    ///
    /// let app = App::new()
    ///     .on_queue("orders", |event, env: Env| async move {
    ///         env.kv("orders")?.put(event.id(), "seen", cloudport_core::Precondition::None).await?;
    ///         env.queue("audit")?.send("seen").await?; // not declared
    ///         Ok(())
    ///     })
    ///     .uses(kv("orders").read().write());
    /// let env = Env::builder().provider(cloudport_memory::Memory::new()).fallback_scheme("mem").build();
    /// let event = QueueMessage::new("orders", "m-1", "hi").to_cloudevent("mem://orders");
    /// let err = app.dispatch(&env, &Trigger::Queue("orders".into()), event).await.unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    /// assert!(err.message().contains(r#".uses(queue("audit").send())"#));
    /// # Ok(()) }
    /// ```
    pub fn uses(mut self, declaration: impl Into<crate::access::Use>) -> Self {
        let declaration = declaration.into();
        if let Err(e) = declaration.check() {
            self.errors.push(e.with_operation("app.uses"));
        }
        self.uses.push(declaration);
        self.access = std::sync::OnceLock::new();
        self
    }

    /// Limits of the deployed function: memory, timeout, the most invocations at once
    /// ([`Limits`]). Deployment only: hosts take the platform's.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// A monthly cost budget for the deployed function ([`Budget`]).
    pub fn budget(mut self, budget: Budget) -> Self {
        self.budget = Some(budget);
        self
    }

    /// The environment the app's handlers see: `env` carrying the app's access policy when it
    /// declares one.
    pub fn handler_env(&self, env: &Env) -> Env {
        match self.access_policy() {
            Some(policy) => env.with_access(policy.clone()),
            None => env.clone(),
        }
    }

    /// Turns the per-invocation span and metrics off (on by default); the invocation context —
    /// deadline, trace, cold start — is kept. For measuring what instrumentation costs.
    pub fn instrumented(mut self, on: bool) -> Self {
        self.uninstrumented = !on;
        self
    }

    /// How many messages of one queue batch are handled at once (default 1: in order).
    pub fn queue_concurrency(mut self, n: usize) -> Self {
        self.queue_concurrency = n.max(1);
        self
    }

    /// Runs the app in this environment instead of the one its host builds (for tests and mocks).
    pub fn with_env(mut self, env: Env) -> Self {
        self.env = Some(env);
        self
    }

    /// The environment set with [`App::with_env`], if any.
    pub fn env(&self) -> Option<&Env> {
        self.env.as_ref()
    }

    /// Checks the registrations (names, schedules); hosts call it before serving.
    pub fn validate(&self) -> Result<()> {
        match self.errors.first() {
            Some(e) => Err(e.clone_without_source()),
            None => Ok(()),
        }
    }

    /// The HTTP service, if any, with `env` available to handlers (as the [`Env`] extractor).
    pub fn http_router(&self, env: &Env) -> Option<Router> {
        self.http.clone().map(|r| {
            let metrics = (!self.uninstrumented).then(|| HttpMetrics {
                metrics: self.metrics.clone(),
                sink: self.metrics_sink.clone(),
            });
            r.layer(axum::middleware::from_fn(move |request, next| {
                http_invocation(metrics.clone(), request, next)
            }))
            .layer(axum::Extension(self.handler_env(env)))
        })
    }

    /// Every named trigger, in order.
    pub fn triggers(&self) -> Vec<Trigger> {
        let queues = self.queues.keys().cloned().map(Trigger::Queue);
        let blobs = self.blobs.keys().cloned().map(Trigger::Blob);
        let schedules = self.schedules.keys().cloned().map(Trigger::Schedule);
        queues.chain(blobs).chain(schedules).collect()
    }

    /// The schedule of a named schedule trigger.
    pub fn schedule(&self, name: &str) -> Option<&Schedule> {
        self.schedules.get(name).map(|(s, _)| s)
    }

    /// Whether a handler (named or the fallback) takes this trigger.
    pub fn handles(&self, trigger: &Trigger) -> bool {
        self.fallback.is_some()
            || match trigger {
                Trigger::Queue(n) => self.queues.contains_key(n),
                Trigger::Blob(n) => self.blobs.contains_key(n),
                Trigger::Schedule(n) => self.schedules.contains_key(n),
                Trigger::Event(_) => false,
                Trigger::Http => self.http.is_some(),
            }
    }

    /// Hands every finished invocation to `sink` as well (hosts set a platform format: CloudWatch
    /// EMF on Lambda).
    pub fn metrics_sink(mut self, sink: MetricsSink) -> Self {
        self.metrics_sink = Some(sink);
        self
    }

    /// Whether a metrics sink is set.
    pub fn has_metrics_sink(&self) -> bool {
        self.metrics_sink.is_some()
    }

    /// What the app's invocations add up to so far, by trigger.
    pub fn metrics(&self) -> MetricsSnapshot {
        self.metrics.snapshot()
    }

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
        let env = self.handler_env(env);
        let result = match trigger {
            Trigger::Queue(n) => self.route(self.queues.get(n), event, env).await,
            Trigger::Blob(n) => self.route(self.blobs.get(n), event, env).await,
            Trigger::Schedule(n) => {
                self.route(self.schedules.get(n).map(|(_, h)| h), event, env)
                    .await
            }
            Trigger::Event(_) => self.route::<cloudevents::Event>(None, event, env).await,
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
        match (handler, &self.fallback) {
            (Some(h), _) => invoke(h, event, env).await,
            (None, Some(fallback)) => invoke(fallback, event, env).await,
            (None, None) => Err(Error::new(
                ErrorKind::NotFound,
                "no handler is registered for this trigger",
            )),
        }
    }

    /// Delivers a batch of queue messages, [`App::queue_concurrency`] at a time, and reports which
    /// failed. Every message is attempted; one failure does not stop the others.
    pub async fn dispatch_batch(
        &self,
        env: &Env,
        queue: &str,
        events: Vec<cloudevents::Event>,
    ) -> BatchOutcome {
        use cloudevents::AttributesReader;
        let trigger = Trigger::Queue(queue.to_owned());
        let results: Vec<(String, Result<()>)> = futures::stream::iter(events)
            .map(|event| {
                let id = event.id().to_owned();
                let trigger = &trigger;
                async move { (id, self.dispatch(env, trigger, event).await) }
            })
            .buffered(self.queue_concurrency)
            .collect()
            .await;
        BatchOutcome {
            failures: results
                .into_iter()
                .enumerate()
                .filter_map(|(index, (id, r))| {
                    r.err().map(|error| BatchFailure { index, id, error })
                })
                .collect(),
        }
    }
}
