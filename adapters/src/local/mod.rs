//! The local host: what a developer runs on a laptop.
//!
//! It serves the app's HTTP service, consumes every queue trigger's queue (receive with a lease,
//! extend it while the handler runs, ack on success, nack with backoff on failure, so the queue's
//! dead-letter policy applies), consumes each topic trigger's subscription the same way, watches
//! blob triggers' buckets (buckets whose driver has a change feed: `mem://`), and fires schedules
//! on time. Resources come from the [`Env`] it is given, so the same app runs locally on the
//! memory provider or against emulators bound by URL.
//!
//! | trigger | the local host | handler gets |
//! |---|---|---|
//! | `on_queue(n)` | consumes queue `n` (lease, extend, ack / nack with backoff); a `mem://` queue without a dead-letter policy gets `mem://<n>-dlq` after [`DEFAULT_MAX_DELIVERIES`](cloudport_core::env::DEFAULT_MAX_DELIVERIES) deliveries (or the app's declared policy) | the portable queue message |
//! | `on_topic(n)` | consumes the topic's subscription named [`LocalHost::subscriber`] (default [`DEFAULT_SUBSCRIBER`]) like a queue; on memory (`mem://`) its dead-letter queue is `mem://<topic>--<subscriber>-dlq` after [`DEFAULT_MAX_DELIVERIES`](cloudport_core::env::DEFAULT_MAX_DELIVERIES) deliveries. A provider without pull subscriptions (SNS, Pub/Sub: the platform pushes) is logged as a warning at start and the trigger gets nothing | the CloudEvent as published (type, source, data, extensions, `traceparent`: the publisher's trace continues), under `Trigger::Topic(n)`; a message that is not a structured-mode CloudEvent fails and ends in the dead-letter queue |
//! | `on_blob(n)` | watches the bucket's change feed (`mem://` only; others fail [`LocalHost::start`] with `Unsupported`) | the portable blob event |
//! | `on_schedule(n)` | fires on time ([`RunningApp::trigger_schedule`] fires now) | the schedule tick |
//! | HTTP routes | serves them on [`LocalHost::http_addr`] | the request |

mod blob_watcher;
mod queue_consumer;
mod scheduler;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use cloudport_core::event::ScheduleTick;
use cloudport_core::{
    App, Env, Error, ErrorKind, Queue, ResourceKind, ResourceUrl, Result, Trigger,
};
use tokio::sync::watch;
use tokio::task::JoinSet;

/// Settings of the local host.
///
/// ```
/// use cloudport_adapters::local::LocalHost;
/// let host = LocalHost::new().http_addr("127.0.0.1:0".parse().unwrap());
/// ```
#[derive(Debug, Clone)]
pub struct LocalHost {
    http_addr: SocketAddr,
    lease: Duration,
    wait: Duration,
    max_retry_delay: Duration,
    subscriber: String,
}

impl Default for LocalHost {
    fn default() -> Self {
        Self::new()
    }
}

impl LocalHost {
    /// HTTP on 127.0.0.1:8080, leases of 60 s, receives that wait up to 1 s.
    pub fn new() -> Self {
        Self {
            http_addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            lease: Duration::from_secs(60),
            wait: Duration::from_secs(1),
            max_retry_delay: Duration::from_secs(30),
            subscriber: DEFAULT_SUBSCRIBER.to_owned(),
        }
    }

    /// Settings from the environment: `CLOUDPORT_HTTP_ADDR` (host:port) or `PORT` (on 127.0.0.1).
    pub fn from_env() -> Result<Self> {
        let mut host = Self::new();
        if let Ok(addr) = std::env::var("CLOUDPORT_HTTP_ADDR") {
            host.http_addr = addr.parse().map_err(|e| {
                Error::invalid(format!(
                    "CLOUDPORT_HTTP_ADDR {addr:?} is not host:port: {e}"
                ))
            })?;
        } else if let Ok(port) = std::env::var("PORT") {
            let port: u16 = port
                .parse()
                .map_err(|e| Error::invalid(format!("PORT {port:?} is not a port: {e}")))?;
            host.http_addr = SocketAddr::from(([127, 0, 0, 1], port));
        }
        Ok(host)
    }

    /// Where HTTP listens (port 0: any free port).
    pub fn http_addr(mut self, addr: SocketAddr) -> Self {
        self.http_addr = addr;
        self
    }

    /// The lease taken on received messages (extended while a handler runs).
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// How long a receive waits for messages.
    pub fn receive_wait(mut self, wait: Duration) -> Self {
        self.wait = wait;
        self
    }

    /// The longest delay before a failed message is delivered again.
    pub fn max_retry_delay(mut self, delay: Duration) -> Self {
        self.max_retry_delay = delay;
        self
    }

    /// The name of this app's subscription to each topic it has an `on_topic` trigger for
    /// (default [`DEFAULT_SUBSCRIBER`]). Every subscription gets every event, and hosts that share
    /// one consume it together (each event reaches one of them): give each app served against the
    /// same topics its own name, so each gets every event. It must be a logical name (1-63
    /// letters, digits, `-` or `_`), checked by [`start`](Self::start).
    ///
    /// ```
    /// use cloudport_adapters::local::LocalHost;
    /// let billing = LocalHost::new().subscriber("billing");
    /// let shipping = LocalHost::new().subscriber("shipping");
    /// ```
    pub fn subscriber(mut self, name: impl Into<String>) -> Self {
        self.subscriber = name.into();
        self
    }

    /// Starts serving in the background; the [`RunningApp`] stops it.
    pub async fn start(self, app: App, env: Env) -> Result<RunningApp> {
        app.validate()?;
        let app = Arc::new(app);
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut tasks = JoinSet::new();

        let http_addr = match app.http_router(&env) {
            None => None,
            Some(router) => {
                let listener = tokio::net::TcpListener::bind(self.http_addr)
                    .await
                    .map_err(|e| {
                        Error::from(e)
                            .with_operation("local.http.bind")
                            .with_resource(self.http_addr.to_string())
                    })?;
                let addr = listener.local_addr().map_err(Error::from)?;
                let mut stop = stop_rx.clone();
                tasks.spawn(async move {
                    let served = axum::serve(listener, router)
                        .with_graceful_shutdown(async move {
                            let _ = stop.wait_for(|s| *s).await;
                        })
                        .await;
                    if let Err(e) = served {
                        tracing::error!(error = %e, "local HTTP server failed");
                    }
                });
                tracing::info!("serving HTTP on http://{addr}");
                Some(addr)
            }
        };

        for trigger in app.triggers() {
            match &trigger {
                Trigger::Queue(name) => {
                    let queue = with_default_dead_letter(&app, &env, name, env.queue(name)?)?;
                    match queue.dead_letter() {
                        Some((dlq, max)) => tracing::info!(
                            "queue trigger {name:?} ← {} (dead-letter queue {:?} after {max} deliveries)",
                            source(&env, ResourceKind::Queue, name),
                            dlq.name()
                        ),
                        None => tracing::warn!(
                            "queue trigger {name:?} ← {}: no dead-letter queue, so a message that always fails is delivered again and again (with backoff, at most every {:?}); add &dead_letter=URL to its binding",
                            source(&env, ResourceKind::Queue, name),
                            self.max_retry_delay
                        ),
                    }
                    let consumer = queue_consumer::Consumer {
                        delivers: queue_consumer::Delivers::Queue,
                        app: app.clone(),
                        env: env.clone(),
                        name: name.clone(),
                        source: source(&env, cloudport_core::ResourceKind::Queue, name),
                        queue,
                        lease: self.lease,
                        wait: self.wait,
                        max_retry_delay: self.max_retry_delay,
                    };
                    tasks.spawn(consumer.run(stop_rx.clone()));
                }
                Trigger::Blob(name) => {
                    let bucket = env.bucket(name)?;
                    let changes = bucket.driver().subscribe().ok_or_else(|| {
                        Error::new(
                            ErrorKind::Unsupported,
                            format!(
                                "blob trigger {name:?}: the {} provider delivers blob events through its platform; locally only mem:// buckets emit them",
                                bucket.provider()
                            ),
                        )
                    })?;
                    tracing::info!(
                        "blob trigger {name:?} ← {}",
                        source(&env, ResourceKind::Bucket, name)
                    );
                    let watcher = blob_watcher::Watcher {
                        app: app.clone(),
                        env: env.clone(),
                        name: name.clone(),
                        native: bucket.name().to_owned(),
                        source: source(&env, cloudport_core::ResourceKind::Bucket, name),
                        max_retry_delay: self.max_retry_delay,
                    };
                    tasks.spawn(watcher.run(changes, stop_rx.clone()));
                }
                Trigger::Topic(name) => {
                    if let Some(consumer) = self.topic_consumer(&app, &env, name)? {
                        tasks.spawn(consumer.run(stop_rx.clone()));
                    }
                }
                Trigger::Schedule(name) => {
                    let Some(schedule) = app.schedule(name).cloned() else {
                        continue;
                    };
                    tracing::info!(
                        "schedule {name:?}: {schedule}, next at {}",
                        schedule
                            .next_after(env.now())
                            .map_or_else(|| "never".to_owned(), |t| t.to_rfc3339())
                    );
                    let timer = scheduler::Timer {
                        app: app.clone(),
                        env: env.clone(),
                        name: name.clone(),
                        schedule,
                    };
                    tasks.spawn(timer.run(stop_rx.clone()));
                }
                _ => {}
            }
        }
        Ok(RunningApp {
            http_addr,
            stop: stop_tx,
            tasks,
            app,
            env,
        })
    }

    /// The consumer of topic trigger `name`'s subscription, or `None` (with a warning) when its
    /// topic's provider delivers through its platform and has no subscription to pull from.
    fn topic_consumer(
        &self,
        app: &Arc<App>,
        env: &Env,
        name: &str,
    ) -> Result<Option<queue_consumer::Consumer>> {
        let topic = env.topic(name)?;
        let queue = match topic.subscription(&self.subscriber) {
            Ok(queue) => queue,
            Err(e) if e.kind() == ErrorKind::Unsupported => {
                tracing::warn!(
                    "topic trigger {name:?} ← {}: the {} provider delivers topic events through its platform (a push subscription, SNS), not to the local host; this trigger gets no events here (bind the topic to mem://{name} to run it locally)",
                    source(env, ResourceKind::Topic, name),
                    topic.provider()
                );
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        // A memory subscription gets the local default dead-letter queue beside it, as a mem://
        // queue does (ADR 0009).
        let queue = if queue.dead_letter().is_none() && topic.provider() == "memory" {
            let dlq = env.open_queue(&format!("mem://{}-dlq", queue.name()))?;
            queue.with_dead_letter(dlq, cloudport_core::env::DEFAULT_MAX_DELIVERIES)
        } else {
            queue
        };
        tracing::info!(
            "topic trigger {name:?} ← {} (subscription {:?}{})",
            source(env, ResourceKind::Topic, name),
            self.subscriber,
            queue
                .dead_letter()
                .map_or_else(String::new, |(dlq, max)| format!(
                    ", dead-letter queue {:?} after {max} deliveries",
                    dlq.name()
                ))
        );
        Ok(Some(queue_consumer::Consumer {
            delivers: queue_consumer::Delivers::Topic,
            app: app.clone(),
            env: env.clone(),
            name: name.to_owned(),
            source: source(env, ResourceKind::Topic, name),
            queue,
            lease: self.lease,
            wait: self.wait,
            max_retry_delay: self.max_retry_delay,
        }))
    }

    /// Serves until Ctrl-C, then stops gracefully.
    pub async fn run(self, app: App, env: Env) -> Result<()> {
        let running = self.start(app, env).await?;
        tokio::signal::ctrl_c().await.map_err(Error::from)?;
        tracing::info!("stopping");
        let stopped = running.shutdown().await;
        #[cfg(feature = "otel")]
        crate::otel::shutdown().await;
        stopped
    }
}

/// The name of the local host's subscription to each topic, unless set with
/// [`LocalHost::subscriber`].
pub const DEFAULT_SUBSCRIBER: &str = "local";

/// `queue` with a dead-letter policy: its own, or — for a `mem://` queue without one — the local
/// default, `mem://<name>-dlq` after [`DEFAULT_MAX_DELIVERIES`](cloudport_core::env::DEFAULT_MAX_DELIVERIES) deliveries (or what the app declares:
/// [`App::dead_letter_policy`]), so a message that
/// always fails ends there instead of being delivered forever (ADR 0009). Queues of other
/// providers keep what their binding says (their dead-letter queue is deployment's to create).
fn with_default_dead_letter(app: &App, env: &Env, name: &str, queue: Queue) -> Result<Queue> {
    if queue.dead_letter().is_some() {
        return Ok(queue);
    }
    let Some(url) = env
        .binding_url(ResourceKind::Queue, name)
        .and_then(|u| ResourceUrl::parse(&u).ok())
        .filter(|u| u.scheme() == "mem" && u.params().is_empty())
    else {
        return Ok(queue);
    };
    // The app's declared policy (`queue(name).dead_letter(…).max_deliveries(…)`), as deployment
    // creates it; the dead-letter queue sits beside the bound one.
    let policy = app.dead_letter_policy(name);
    let dlq = match policy.queue.strip_prefix(name) {
        Some(suffix) => env.open_queue(&format!("mem://{}{suffix}", url.host()))?,
        None => env.queue(&policy.queue)?,
    };
    Ok(queue.with_dead_letter(dlq, policy.max_deliveries))
}

/// How long the local host waits before delivering again what failed `failed` times: 0.5 s,
/// doubling, at most `max` — the one pacing rule of queue messages and blob events.
fn redelivery_delay(failed: u32, max: Duration) -> Duration {
    Duration::from_millis(500u64 << failed.saturating_sub(1).min(10)).min(max)
}

fn source(env: &Env, kind: cloudport_core::ResourceKind, name: &str) -> String {
    env.binding_url(kind, name)
        .unwrap_or_else(|| format!("cloudport:{}/{name}", kind.as_str()))
}

/// An app served by the local host.
pub struct RunningApp {
    http_addr: Option<std::net::SocketAddr>,
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
    app: Arc<App>,
    env: Env,
}

impl std::fmt::Debug for RunningApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningApp")
            .field("http_addr", &self.http_addr)
            .finish_non_exhaustive()
    }
}

impl RunningApp {
    /// Where HTTP listens, if the app serves HTTP.
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.http_addr
    }

    /// The environment the app runs in.
    pub fn env(&self) -> &Env {
        &self.env
    }

    /// The app's invocation counts, errors, cold starts and durations so far, per trigger.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> cloudport_core::Result<()> {
    /// use cloudport_adapters::local::LocalHost;
    /// use cloudport_core::{App, Env, Schedule};
    /// let app = App::new().on_schedule("nightly", Schedule::cron("0 0 3 * * *"), |_t, _env| async { Ok(()) });
    /// let env = Env::builder().provider(cloudport_memory::Memory::new()).fallback_scheme("mem").build();
    /// let running = LocalHost::new().http_addr("127.0.0.1:0".parse().unwrap()).start(app, env).await?;
    /// running.trigger_schedule("nightly").await?;
    /// let nightly = &running.metrics()[&cloudport_core::Trigger::Schedule("nightly".into())];
    /// assert_eq!(nightly.invocations, 1);
    /// running.shutdown().await
    /// # }
    /// ```
    pub fn metrics(&self) -> cloudport_core::app::MetricsSnapshot {
        self.app.metrics()
    }

    /// Fires a schedule now (on the environment's clock), as its timer would, and returns the
    /// handler's result.
    pub async fn trigger_schedule(&self, name: &str) -> Result<()> {
        let now = self.env.now();
        let event = ScheduleTick::new(name, now).to_cloudevent(
            "cloudport:local",
            &format!("manual-{}", now.timestamp_micros()),
        );
        self.app
            .dispatch(&self.env, &Trigger::Schedule(name.to_owned()), event)
            .await
    }

    /// Stops taking work, lets in-flight handlers finish (their messages are acked or nacked), and
    /// waits for every task.
    pub async fn shutdown(mut self) -> Result<()> {
        let _ = self.stop.send(true);
        while let Some(joined) = self.tasks.join_next().await {
            if let Err(e) = joined {
                tracing::error!(error = %e, "local host task failed");
            }
        }
        Ok(())
    }
}
