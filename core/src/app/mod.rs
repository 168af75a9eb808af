//! The app: handlers bound to logical trigger names, carried by any host.

mod batch;
mod describe;
mod dispatch;
mod instrument;
mod limits;
mod metrics;
mod routes;
mod schedule;

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::future::Future;

use axum::Router;
use axum::extract::Request;
use axum::response::IntoResponse;
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

use crate::event::{BlobEvent, QueueMessage, ScheduleTick};
use crate::{Env, Error, Result, validate};
use dispatch::{Handler, boxed};
use instrument::{HttpMetrics, http_invocation};
use routes::EventRoutes;

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
    /// Events published to the topic bound to this name ([`App::on_topic`]).
    Topic(String),
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
            Self::Topic(n) => format!("topic/{n}"),
            Self::Event(ty) => format!("event/{ty}"),
            Self::Http => "http".to_owned(),
        }
    }

    /// The logical name (the event type, for [`Trigger::Event`]; `http` for [`Trigger::Http`]).
    pub fn name(&self) -> &str {
        match self {
            Self::Queue(n)
            | Self::Blob(n)
            | Self::Schedule(n)
            | Self::Topic(n)
            | Self::Event(n) => n,
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
            Self::Topic(n) => write!(f, "topic {n:?}"),
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
    topics: BTreeMap<String, Handler<cloudevents::Event>>,
    events: EventRoutes,
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
            .field("events", &self.events.patterns().collect::<Vec<_>>())
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

    /// Handles the events published to the topic bound to `name`, each as it was published (its
    /// own `type`, `source`, data and extensions; the publisher's trace continues). Every app
    /// that registers a topic has its own subscription, so each gets every event. Implies
    /// `.uses(topic(name).subscribe())`. A handler error or panic fails that delivery alone: the
    /// platform delivers it again.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> cloudport_core::Result<()> {
    /// use cloudport_core::{App, Env, Trigger};
    /// use cloudport_core::export::cloudevents::{EventBuilder, EventBuilderV10};
    /// let app = App::new().on_topic("orders", |event, env: Env| async move {
    ///     env.kv("seen")?.put(event.id(), event.ty().to_owned(), cloudport_core::Precondition::None).await?;
    ///     Ok(())
    /// });
    /// let memory = cloudport_memory::Memory::new();
    /// let env = Env::builder().provider(memory.clone()).fallback_scheme("mem").build();
    /// let event = EventBuilderV10::new().id("o-1").source("shop").ty("order.placed").build().unwrap();
    /// app.dispatch(&env, &Trigger::Topic("orders".into()), event).await?;
    /// assert_eq!(memory.kv("seen").get("o-1").await?.unwrap().value, "order.placed");
    /// # Ok(()) }
    /// ```
    pub fn on_topic<F, Fut>(mut self, name: impl Into<String>, handler: F) -> Self
    where
        F: Fn(crate::event::Event<cloudevents::Event>, Env) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<()>> + Send + 'static,
    {
        let name = name.into();
        self.check_name(&name);
        self.topics.insert(name, boxed(handler));
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

    /// Handles CloudEvents whose `type` matches `type_pattern`: the exact type
    /// (`"Contoso.Items.ItemReceived"`), or a prefix ending in `*` (`"com.amazonaws.s3.*"`,
    /// `"google.cloud.audit.*"`). Each host delivers its platform's events under the platform's own
    /// `type` and `source`, data unchanged (EventBridge `detail-type`, Event Grid `eventType`,
    /// Eventarc's CloudEvent type) — so code routes by type on every cloud. An event a named
    /// trigger takes (a bound queue, bucket or schedule) goes there; otherwise the most specific
    /// pattern wins (an exact type, then the longest prefix), then [`App::on_any_event`].
    ///
    /// A type is the platform's: one kind of S3 change is `com.amazonaws.s3.ObjectCreated:Put`
    /// as an S3 notification and `Object Created` through EventBridge, and an EventBridge
    /// `detail-type` such as `AWS API Call via CloudTrail` is shared by every AWS service — so a
    /// handler that takes a family checks [`Event::cloudevent`](crate::event::Event::cloudevent)'s
    /// `source` as well.
    ///
    /// A pattern is checked at registration ([`App::validate`]): not empty, `*` only at the end.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> cloudport_core::Result<()> {
    /// use cloudport_core::{App, Env, Trigger};
    /// use cloudport_core::export::cloudevents::{EventBuilder, EventBuilderV10};
    ///
    /// let app = App::new()
    ///     .on_event("com.example.orders.*", |event, env: Env| async move {
    ///         env.kv("seen")?.put(event.ty(), "orders", cloudport_core::Precondition::None).await?;
    ///         Ok(())
    ///     })
    ///     .on_event("com.example.orders.Cancelled", |event, env: Env| async move {
    ///         env.kv("seen")?.put(event.ty(), "cancelled", cloudport_core::Precondition::None).await?;
    ///         Ok(())
    ///     });
    /// app.validate()?;
    /// let memory = cloudport_memory::Memory::new();
    /// let env = Env::builder().provider(memory.clone()).fallback_scheme("mem").build();
    /// for ty in ["com.example.orders.Placed", "com.example.orders.Cancelled"] {
    ///     let event = EventBuilderV10::new().id("1").source("shop").ty(ty).build().unwrap();
    ///     assert!(app.handles(&Trigger::Event(ty.into())));
    ///     app.dispatch(&env, &Trigger::Event(ty.into()), event).await?;
    /// }
    /// let seen = memory.kv("seen");
    /// assert_eq!(seen.get("com.example.orders.Placed").await?.unwrap().value, "orders");
    /// assert_eq!(seen.get("com.example.orders.Cancelled").await?.unwrap().value, "cancelled");
    /// assert!(!app.handles(&Trigger::Event("com.example.billing.Paid".into())));
    /// # Ok(()) }
    /// ```
    pub fn on_event<F, Fut>(mut self, type_pattern: impl Into<String>, handler: F) -> Self
    where
        F: Fn(crate::event::Event<cloudevents::Event>, Env) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<()>> + Send + 'static,
    {
        if let Err(e) = self.events.insert(type_pattern.into(), boxed(handler)) {
            self.errors.push(e.with_operation("app.register"));
        }
        self
    }

    /// Handles every event that no named handler and no [`App::on_event`] pattern takes, as a raw
    /// CloudEvent.
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
        let topics = self.topics.keys().cloned().map(Trigger::Topic);
        queues.chain(blobs).chain(schedules).chain(topics).collect()
    }

    /// The schedule of a named schedule trigger.
    pub fn schedule(&self, name: &str) -> Option<&Schedule> {
        self.schedules.get(name).map(|(s, _)| s)
    }

    /// Whether a handler takes this trigger, as [`App::dispatch`] routes it: its named handler,
    /// else an [`App::on_event`] pattern matching the event type (for a named trigger, a portable
    /// type of its kind), else the fallback.
    pub fn handles(&self, trigger: &Trigger) -> bool {
        use crate::event::{BLOB_CREATED, BLOB_DELETED, QUEUE_MESSAGE, SCHEDULE_TICK};
        let pattern = |types: &[&str]| types.iter().any(|ty| self.events.find(ty).is_some());
        self.fallback.is_some()
            || match trigger {
                Trigger::Queue(n) => self.queues.contains_key(n) || pattern(&[QUEUE_MESSAGE]),
                Trigger::Blob(n) => {
                    self.blobs.contains_key(n) || pattern(&[BLOB_CREATED, BLOB_DELETED])
                }
                Trigger::Schedule(n) => self.schedules.contains_key(n) || pattern(&[SCHEDULE_TICK]),
                Trigger::Topic(n) => self.topics.contains_key(n),
                Trigger::Event(ty) => self.events.find(ty).is_some(),
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
}
