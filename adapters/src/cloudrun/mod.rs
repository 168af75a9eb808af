//! The Cloud Functions (gen2) / Cloud Run host: an [`App`] behind Cloud Run's HTTP front end,
//! unchanged.
//!
//! The container listens on `0.0.0.0:$PORT` (default `8080`) and stops on `SIGTERM`, which Cloud
//! Run sends 10 seconds before it kills the instance: [`run`] stops accepting connections and lets
//! in-flight requests finish (source: the Cloud Run container contract,
//! <https://cloud.google.com/run/docs/container-contract>, "Listening for requests on the correct
//! port" and "Instance lifecycle"). Cloud Functions gen2 runs on Cloud Run, so the same host
//! serves both. Events arrive as HTTP requests: Eventarc CloudEvents (binary or structured mode),
//! Pub/Sub push envelopes, and Cloud Scheduler HTTP calls; [`decode`] describes each format and
//! the sources followed.
//!
//! # Routing
//!
//! Paths under `/_cloudport/` belong to the host; every other request that carries no CloudEvent
//! goes to the app's router unchanged, so the host never takes one of the app's routes.
//!
//! | request | goes to |
//! |---|---|
//! | `POST /_cloudport/events` with a CloudEvent | the event's trigger (below) |
//! | `POST /_cloudport/events` with a Pub/Sub push envelope (`application/json`) | the queue bound to its subscription |
//! | `POST /_cloudport/events` with `X-CloudScheduler: true` | the schedule named by `X-CloudScheduler-JobName` (as for `/_cloudport/schedule`) |
//! | `POST /_cloudport/queue/<name>` with a push envelope or a `messagePublished` CloudEvent | queue `<name>`, whatever the subscription |
//! | any method on `/_cloudport/schedule/<name>` | a tick of schedule `<name>` |
//! | any method on `/_cloudport/schedule` | the schedule whose name is the job's short name (`X-CloudScheduler-JobName`, after its last `/`), else the app's only schedule |
//! | any other path with a CloudEvent (`ce-specversion` header, or `Content-Type: application/cloudevents+json`) | the event's trigger — Cloud Functions gen2 and Eventarc deliver to `/` unless told otherwise |
//! | any other request | the app's router (`App::http_router`), unchanged |
//! | any other JSON request or Cloud Scheduler call, when the app serves no HTTP | as `/_cloudport/events` (anything else: `404`) |
//!
//! So a push subscription's endpoint is `https://SERVICE/_cloudport/events` (or
//! `/_cloudport/queue/<name>`), a Cloud Scheduler job's URI `https://SERVICE/_cloudport/schedule/<name>`,
//! and an Eventarc trigger needs no path. A route of the app that itself takes CloudEvents is
//! shadowed by the host; a Cloud Scheduler job that targets one of the app's own routes reaches
//! that route. The job's body is not passed on: the portable tick carries none. Unwrapped push
//! (`--push-no-wrapper`) and batched CloudEvents are not supported.
//!
//! # What each input becomes
//!
//! | input | trigger | portable event |
//! |---|---|---|
//! | `google.cloud.pubsub.topic.v1.messagePublished`, push envelope | the queue whose binding names the subscription (else the topic) | `io.cloudport.queue.message.v1`: body the decoded `data`, id the `messageId`, delivery count `deliveryAttempt` (1 when absent: Eventarc, or no dead-letter policy), enqueue time the `publishTime`, content type the `datacontenttype` attribute, the ordering key as the `orderingkey` attribute, other attributes as extensions (names normalized; invalid ones dropped with a log line) — as the GCP queue driver reads the same message |
//! | `google.cloud.storage.object.v1.finalized` / `.deleted` | the bucket bound to the object's bucket | `io.cloudport.blob.created.v1` / `…deleted.v1` (the generation as the ETag) |
//! | Cloud Scheduler | the schedule (see routing) | `io.cloudport.schedule.tick.v1` due at `X-CloudScheduler-ScheduleTime` (else now) |
//! | any other CloudEvent (other storage events such as `archived` or `metadataUpdated` too), or a Pub/Sub / storage event of no bound queue or bucket | the app's `on_any_event` handler, as delivered, under the pseudo trigger `event:<type>` (kind queue, for metrics and logs) | unchanged |
//!
//! Bindings map native names to the app's logical names: `CLOUDPORT_QUEUE_<NAME>=gcppubsub://projects/P/topics/T?subscription=S`
//! (`S` short, in project `P`, or a full `projects/Q/subscriptions/S`; project `_` is
//! `GOOGLE_CLOUD_PROJECT`, as for the GCP provider) and
//! `CLOUDPORT_BUCKET_<NAME>=gs://BUCKET` — see [`Bindings`]. A queue's portable dead-letter
//! policy (`&dead_letter=…&max_deliveries=N` in its binding) applies here too: a message whose
//! `deliveryAttempt` exceeds `max_deliveries` is moved to the dead-letter queue unhandled and
//! acknowledged. Pub/Sub sends `deliveryAttempt` only when the subscription has a dead-letter
//! policy of its own, so set one (it is also the way out of endless redelivery, below).
//!
//! # Statuses
//!
//! | outcome | status |
//! |---|---|
//! | handler succeeded | `204` |
//! | message moved to its portable dead-letter queue | `200` with `{"deadLettered": {...}}` |
//! | handler failed or panicked; a dead-letter move failed | `500` — Pub/Sub, Eventarc and Cloud Scheduler retry |
//! | malformed request: not a valid CloudEvent (a required attribute such as `ce-id` missing), not a push envelope, bad base64, no message id | `400` |
//! | no trigger of the app takes it (unbound subscription or bucket, unknown event type without `on_any_event`, unknown schedule) | `404` |
//! | body over [`decode::MAX_BODY_BYTES`], message over [`decode::MAX_MESSAGE_BYTES`] | `413` |
//! | a body that must be JSON and is not (push envelope, Pub/Sub or storage event data) | `415` |
//! | a method other than `POST` on `/_cloudport/events` or `/_cloudport/queue/<name>` | `405` |
//!
//! Error bodies are `{"error": {"kind": "...", "message": "..."}}`. Pub/Sub push treats **every**
//! non-2xx answer as a nack, 4xx included: a request that can never succeed is redelivered with
//! backoff until the message expires — give the subscription a dead-letter policy (its
//! `maxDeliveryAttempts`) so such messages leave.

pub mod decode;

use crate::http_host;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use cloudevents::AttributesReader;
use cloudport_core::event::carries_cloudevent;
use cloudport_core::export::cloudevents;
use cloudport_core::trace::TraceContext;
use cloudport_core::{App, Env, Error, ErrorKind, ResourceKind, ResourceUrl, Result, Trigger};
use serde_json::json;
use tower::ServiceExt;

use decode::{
    MAX_BODY_BYTES, PUBSUB_MESSAGE_PUBLISHED, PushEnvelope, STORAGE_OBJECT_DELETED,
    STORAGE_OBJECT_FINALIZED, SchedulerRequest, StorageObject, status_for,
};

/// The variable Cloud Run sets to the port to listen on.
pub const PORT_VAR: &str = "PORT";
/// The port when `PORT` is not set (Cloud Run's default).
pub const DEFAULT_PORT: u16 = 8080;
/// Paths under this prefix belong to the host.
pub const RESERVED_PREFIX: &str = "/_cloudport";
/// CloudEvents, push envelopes and scheduler calls, routed by their content.
pub const EVENTS_PATH: &str = "/_cloudport/events";
/// `POST /_cloudport/queue/<name>`: Pub/Sub messages for logical queue `<name>`.
pub const QUEUE_PATH: &str = "/_cloudport/queue";
/// `/_cloudport/schedule[/<name>]`: Cloud Scheduler calls.
pub const SCHEDULE_PATH: &str = "/_cloudport/schedule";

/// Runs `app` on `0.0.0.0:$PORT` (default 8080) until SIGTERM or Ctrl-C.
pub async fn run(app: App, env: Env) -> Result<()> {
    let app = if app.has_metrics_sink() || env.var("CLOUDPORT_METRICS").as_deref() == Some("off") {
        app
    } else {
        let service = env.var("K_SERVICE").unwrap_or_default();
        let project = env.var("GOOGLE_CLOUD_PROJECT");
        app.metrics_sink(crate::logs::metrics_sink(
            crate::HostKind::CloudRun,
            service,
            project,
        ))
    };
    let port = match env.var(PORT_VAR) {
        None => DEFAULT_PORT,
        Some(p) => http_host::parse_port(PORT_VAR, &p)?,
    };
    let listener = http_host::bind("0.0.0.0", port, "cloudrun.bind").await?;
    serve(listener, app, env).await
}

/// Serves `app` on `listener` until SIGTERM or Ctrl-C, then lets in-flight requests finish.
pub async fn serve(listener: tokio::net::TcpListener, app: App, env: Env) -> Result<()> {
    serve_with_shutdown(listener, app, env, http_host::shutdown_signal()).await
}

/// Serves `app` on `listener` until `shutdown` completes, then lets in-flight requests finish.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> cloudport_core::Result<()> {
/// use cloudport_adapters::cloudrun;
/// use cloudport_core::{App, Env};
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// let app = App::new().on_queue("orders", |_m, _env| async { Ok(()) });
/// let env = Env::builder().provider(cloudport_memory::Memory::new()).fallback_scheme("mem").build();
/// // Stops at once here; `serve` waits for SIGTERM.
/// cloudrun::serve_with_shutdown(listener, app, env, async {}).await?;
/// # Ok(()) }
/// ```
pub async fn serve_with_shutdown(
    listener: tokio::net::TcpListener,
    app: App,
    env: Env,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let router = router(app, env)?;
    http_host::serve(
        listener,
        router,
        shutdown,
        "Cloud Run requests",
        "cloudrun.serve",
    )
    .await
}

/// The host as an axum [`Router`] (to serve on a listener of your own, or in tests).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> cloudport_core::Result<()> {
/// use cloudport_adapters::cloudrun;
/// use cloudport_core::{App, Env};
/// use tower::ServiceExt;
///
/// let app = App::new().on_queue("orders", |m, _env| async move {
///     assert_eq!(m.data().text()?, "two pizzas");
///     Ok(())
/// });
/// let env = Env::builder()
///     .provider(cloudport_memory::Memory::new())
///     .vars([("CLOUDPORT_QUEUE_ORDERS", "gcppubsub://projects/shop/topics/orders?subscription=orders-push")])
///     .build();
/// let router = cloudrun::router(app, env)?;
/// let push = r#"{"message":{"data":"dHdvIHBpenphcw==","messageId":"m-1"},
///                "subscription":"projects/shop/subscriptions/orders-push"}"#;
/// let request = axum::http::Request::post("/_cloudport/events")
///     .header("content-type", "application/json")
///     .body(axum::body::Body::from(push)).unwrap();
/// let response = router.oneshot(request).await.unwrap();
/// assert_eq!(response.status(), 204);
/// # Ok(()) }
/// ```
pub fn router(app: App, env: Env) -> Result<Router> {
    Ok(CloudRunHost::new(app, env)?.into_router())
}

/// Native Pub/Sub and Cloud Storage names → the app's logical queue and bucket names, from the
/// bindings of the app's queue and blob triggers (`gcppubsub://projects/P/topics/T?subscription=S`,
/// `gs://BUCKET`). A message is matched on its subscription first, then on its topic.
///
/// ```
/// use cloudport_adapters::cloudrun::Bindings;
/// use cloudport_core::{App, Env};
/// let app = App::new()
///     .on_queue("orders", |_m, _env| async { Ok(()) })
///     .on_blob("uploads", |_b, _env| async { Ok(()) });
/// let env = Env::builder().vars([
///     ("CLOUDPORT_QUEUE_ORDERS", "gcppubsub://projects/shop/topics/orders?subscription=orders-push"),
///     ("CLOUDPORT_BUCKET_UPLOADS", "gs://shop-uploads"),
/// ]).build();
/// let b = Bindings::new(&app, &env);
/// assert_eq!(b.queue_for(Some("projects/shop/subscriptions/orders-push"), None), Some("orders"));
/// assert_eq!(b.queue_for(Some("projects/shop/subscriptions/other"), Some("projects/shop/topics/orders")), Some("orders"));
/// assert_eq!(b.queue_for(Some("projects/x/subscriptions/orders-push"), None), None);
/// assert_eq!(b.bucket_for("shop-uploads"), Some("uploads"));
/// ```
#[derive(Debug, Clone, Default)]
pub struct Bindings {
    subscriptions: BTreeMap<String, String>,
    topics: BTreeMap<String, String>,
    buckets: BTreeMap<String, String>,
}

/// The variables naming the default project, which a URL's project `_` stands for (as in the GCP
/// provider).
const PROJECT_VARS: [&str; 3] = ["GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT", "GCP_PROJECT"];

/// `gcppubsub://projects/P/topics/T?subscription=S` → (`projects/P/topics/T`, the subscription's
/// full name if given); project `_` is `default_project` when known.
fn pubsub_names(
    url: &ResourceUrl,
    default_project: Option<&str>,
) -> Option<(String, Option<String>)> {
    let path = url.path();
    let mut parts = path.split('/');
    let (project, kind, topic) = (parts.next()?, parts.next()?, parts.next()?);
    let project = match (project, default_project) {
        ("_", Some(p)) if !p.is_empty() => p,
        (p, _) => p,
    };
    if url.host() != "projects" || kind != "topics" || project.is_empty() || topic.is_empty() {
        return None;
    }
    if parts.next().is_some() {
        return None;
    }
    let subscription = url
        .param("subscription")
        .filter(|s| !s.is_empty())
        .map(|s| {
            if s.contains('/') {
                s.trim_start_matches('/').to_owned()
            } else {
                format!("projects/{project}/subscriptions/{s}")
            }
        });
    Some((format!("projects/{project}/topics/{topic}"), subscription))
}

impl Bindings {
    /// The native names bound to the app's queue and blob triggers in `env`; bindings of other
    /// schemes are left out.
    pub fn new(app: &App, env: &Env) -> Self {
        let mut bindings = Self::default();
        let default_project = PROJECT_VARS.iter().find_map(|v| env.var(v));
        for trigger in app.triggers() {
            let Some((kind, url)) = crate::binding::trigger_binding(env, &trigger) else {
                continue;
            };
            let logical = trigger.name().to_owned();
            match (kind, url.scheme()) {
                (ResourceKind::Queue, "gcppubsub") => {
                    if let Some((topic, subscription)) =
                        pubsub_names(&url, default_project.as_deref())
                    {
                        if let Some(s) = subscription {
                            bindings.subscriptions.insert(s, logical.clone());
                        }
                        bindings.topics.entry(topic).or_insert(logical);
                    } else {
                        tracing::warn!(queue = %logical, url = %url, "a gcppubsub binding not of the form gcppubsub://projects/P/topics/T?subscription=S; its messages cannot be matched");
                    }
                }
                (ResourceKind::Bucket, "gs") => {
                    bindings.buckets.insert(url.host(), logical);
                }
                _ => {}
            }
        }
        bindings
    }

    /// The logical queue of a message: the one bound to its subscription
    /// (`projects/P/subscriptions/S`), else the first bound to its topic (`projects/P/topics/T`).
    /// A binding whose project is `_` and no default project is known matches any project.
    pub fn queue_for(&self, subscription: Option<&str>, topic: Option<&str>) -> Option<&str> {
        find_name(&self.subscriptions, subscription)
            .or_else(|| find_name(&self.topics, topic))
            .map(String::as_str)
    }

    /// The logical bucket bound to a native bucket.
    pub fn bucket_for(&self, bucket: &str) -> Option<&str> {
        self.buckets.get(bucket).map(String::as_str)
    }
}

/// The logical name bound to a full Pub/Sub name, or to the same name in project `_`.
fn find_name<'a>(map: &'a BTreeMap<String, String>, name: Option<&str>) -> Option<&'a String> {
    let name = name?;
    map.get(name).or_else(|| {
        let rest = name.strip_prefix("projects/")?.split_once('/')?.1;
        map.get(&format!("projects/_/{rest}"))
    })
}

/// Which trigger a request may reach.
#[derive(Debug, Clone, Copy)]
enum Target<'a> {
    /// Whatever its content names.
    Any,
    /// Only this logical queue.
    Queue(&'a str),
}

/// Carries Cloud Run requests into an app.
pub struct CloudRunHost {
    app: App,
    env: Env,
    bindings: Bindings,
    http: Option<Router>,
    queues: Vec<String>,
    schedules: Vec<String>,
}

impl std::fmt::Debug for CloudRunHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloudRunHost")
            .field("bindings", &self.bindings)
            .field("http", &self.http.is_some())
            .field("queues", &self.queues)
            .field("schedules", &self.schedules)
            .finish_non_exhaustive()
    }
}

/// An error answer: `{"error": {"kind", "message"}}`.
fn error_response(status: StatusCode, err: &Error) -> Response {
    (
        status,
        axum::Json(json!({ "error": { "kind": err.kind().as_str(), "message": err.to_string() } })),
    )
        .into_response()
}

/// A request that failed before any handler ran, answered by [`status_for`] its kind.
fn rejected(err: &Error) -> Response {
    let status = status_for(err);
    tracing::warn!(status = status.as_u16(), error = %err, "rejected a request");
    error_response(status, err)
}

fn not_found(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::NotFound, message.into())
}

/// The trigger under which an event no named trigger takes reaches `on_any_event`.
fn any_event_trigger(ty: &str) -> Trigger {
    Trigger::Event(ty.to_owned())
}

impl CloudRunHost {
    /// A host for `app` in `env`. Fails if the app's registrations are invalid.
    pub fn new(app: App, env: Env) -> Result<Self> {
        app.validate()?;
        let bindings = Bindings::new(&app, &env);
        let http = app.http_router(&env);
        let (mut queues, mut schedules) = (Vec::new(), Vec::new());
        for t in app.triggers() {
            match t {
                Trigger::Queue(n) => queues.push(n),
                Trigger::Schedule(n) => schedules.push(n),
                _ => {}
            }
        }
        Ok(Self {
            app,
            env,
            bindings,
            http,
            queues,
            schedules,
        })
    }

    /// The native-to-logical name map this host uses.
    pub fn bindings(&self) -> &Bindings {
        &self.bindings
    }

    /// The host as a router that answers every path.
    pub fn into_router(self) -> Router {
        let host = Arc::new(self);
        Router::new().fallback(move |request: Request| {
            let host = host.clone();
            async move { host.handle(request).await }
        })
    }

    /// Answers one request (see the module documentation for the routing rule).
    pub async fn handle(&self, request: Request) -> Response {
        let path = request.uri().path().to_owned();
        if path == RESERVED_PREFIX || path.starts_with("/_cloudport/") {
            return self.reserved(&path, request).await;
        }
        if carries_cloudevent(request.headers()) {
            return self.cloudevent_request(request, Target::Any).await;
        }
        match &self.http {
            Some(router) => match router.clone().oneshot(request).await {
                Ok(response) => response,
                Err(never) => match never {},
            },
            // No HTTP of its own: every path is the host's.
            None => {
                let headers = request.headers();
                if decode::require_json(headers, "").is_err()
                    && !SchedulerRequest::from_headers(headers).is_ok_and(|s| s.is_scheduler)
                {
                    return rejected(&not_found(format!(
                        "{} {path}: the app serves no HTTP, and this is no CloudEvent, Pub/Sub push envelope or Cloud Scheduler call",
                        request.method()
                    )));
                }
                self.event_request(request, Target::Any).await
            }
        }
    }

    async fn reserved(&self, path: &str, request: Request) -> Response {
        let rest = path
            .strip_prefix(RESERVED_PREFIX)
            .unwrap_or_default()
            .trim_end_matches('/');
        let post_only = |request: &Request| {
            (request.method() != Method::POST).then(|| {
                error_response(
                    StatusCode::METHOD_NOT_ALLOWED,
                    &Error::new(
                        ErrorKind::InvalidArgument,
                        format!("{} {path}: only POST is accepted here", request.method()),
                    ),
                )
            })
        };
        if rest == "/events" {
            if let Some(r) = post_only(&request) {
                return r;
            }
            return self.event_request(request, Target::Any).await;
        }
        if let Some(name) = rest.strip_prefix("/queue/") {
            if let Some(r) = post_only(&request) {
                return r;
            }
            let Some(queue) = self.queues.iter().find(|q| *q == name) else {
                return rejected(&not_found(format!(
                    "{path}: the app has no queue trigger {name:?}; its queues: {:?}",
                    self.queues
                )));
            };
            return self.event_request(request, Target::Queue(queue)).await;
        }
        if rest == "/warmup" {
            // A warmer (a Cloud Scheduler job, a deploy hook) starts the instance: answered
            // without running any handler, as the Lambda host answers its warm-up ping.
            return (
                StatusCode::OK,
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                r#"{"warm":true}"#,
            )
                .into_response();
        }
        if rest == "/schedule" {
            return self.schedule(request.headers(), None).await;
        }
        if let Some(name) = rest.strip_prefix("/schedule/") {
            return self.schedule(request.headers(), Some(name)).await;
        }
        rejected(&not_found(format!(
            "{} {path}: paths under {RESERVED_PREFIX}/ are the host's: {EVENTS_PATH}, {QUEUE_PATH}/<name>, {SCHEDULE_PATH}[/<name>], {RESERVED_PREFIX}/warmup",
            request.method()
        )))
    }

    /// A request routed by its content: a CloudEvent, a Cloud Scheduler call, or a push envelope.
    async fn event_request(&self, request: Request, target: Target<'_>) -> Response {
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

    async fn cloudevent_request(&self, request: Request, target: Target<'_>) -> Response {
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
                let queue = match target {
                    Target::Queue(q) => Some(q),
                    Target::Any => self.bindings.queue_for(
                        published.subscription.as_deref(),
                        decode::topic_of_source(event.source()),
                    ),
                };
                match queue {
                    Some(queue) => Ok(self
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

    /// An event no named trigger takes: to `on_any_event` as delivered, else `404`.
    async fn to_any_event(
        &self,
        event: cloudevents::Event,
        what: &str,
        trace: Option<TraceContext>,
    ) -> std::result::Result<Response, Response> {
        let trigger = any_event_trigger(event.ty());
        if !self.app.handles(&trigger) {
            return Err(rejected(&not_found(format!(
                "{what}: no trigger of the app takes it (bind a queue to its subscription or topic with CLOUDPORT_QUEUE_<NAME>=gcppubsub://projects/P/topics/T?subscription=S, a bucket with CLOUDPORT_BUCKET_<NAME>=gs://BUCKET, or register on_any_event)"
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
        let queue = match target {
            Target::Queue(q) => Some(q),
            Target::Any => self.bindings.queue_for(subscription, None),
        };
        let Some(queue) = queue else {
            return rejected(&not_found(format!(
                "subscription {:?} is bound to no queue of the app: set CLOUDPORT_QUEUE_<NAME>=gcppubsub://projects/P/topics/T?subscription=S, or push to {QUEUE_PATH}/<name>",
                subscription.unwrap_or("(none)")
            )));
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
    async fn schedule(&self, headers: &HeaderMap, name: Option<&str>) -> Response {
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

    /// Runs the handler: `204` on success, `500` with the error otherwise.
    async fn dispatch(
        &self,
        trigger: Trigger,
        event: cloudevents::Event,
        trace: Option<TraceContext>,
    ) -> Response {
        let ctx =
            cloudport_core::context::InvocationContext::new(event.id(), None).with_trace(trace);
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
    fn pubsub_binding_urls() {
        let parse = |s: &str| pubsub_names(&ResourceUrl::parse(s).unwrap(), None);
        assert_eq!(
            parse("gcppubsub://projects/p/topics/t?subscription=s"),
            Some((
                "projects/p/topics/t".to_owned(),
                Some("projects/p/subscriptions/s".to_owned())
            ))
        );
        assert_eq!(
            parse("gcppubsub://projects/p/topics/t?subscription=projects/q/subscriptions/s"),
            Some((
                "projects/p/topics/t".to_owned(),
                Some("projects/q/subscriptions/s".to_owned())
            ))
        );
        assert_eq!(
            parse("gcppubsub://projects/p/topics/t"),
            Some(("projects/p/topics/t".to_owned(), None))
        );
        assert_eq!(
            pubsub_names(
                &ResourceUrl::parse("gcppubsub://projects/_/topics/t?subscription=s").unwrap(),
                Some("shop")
            ),
            Some((
                "projects/shop/topics/t".to_owned(),
                Some("projects/shop/subscriptions/s".to_owned())
            ))
        );
        assert_eq!(parse("gcppubsub://t"), None);
        assert_eq!(parse("gcppubsub://projects/p/subscriptions/s"), None);
    }

    #[test]
    fn the_default_project() {
        let app = App::new()
            .on_queue("a", |_m, _env| async { Ok(()) })
            .on_queue("b", |_m, _env| async { Ok(()) });
        let vars = |project: Option<&str>| {
            let mut v = vec![
                (
                    "CLOUDPORT_QUEUE_A",
                    "gcppubsub://projects/_/topics/ta?subscription=sa",
                ),
                ("CLOUDPORT_QUEUE_B", "gcppubsub://projects/_/topics/tb"),
            ];
            v.extend(project.map(|p| ("GOOGLE_CLOUD_PROJECT", p)));
            Env::builder().vars(v).build()
        };
        let known = Bindings::new(&app, &vars(Some("shop")));
        assert_eq!(
            known.queue_for(Some("projects/shop/subscriptions/sa"), None),
            Some("a")
        );
        assert_eq!(
            known.queue_for(Some("projects/other/subscriptions/sa"), None),
            None
        );
        assert_eq!(
            known.queue_for(None, Some("projects/shop/topics/tb")),
            Some("b")
        );
        // Unknown default project: any project matches.
        let unknown = Bindings::new(&app, &vars(None));
        assert_eq!(
            unknown.queue_for(Some("projects/x/subscriptions/sa"), None),
            Some("a")
        );
        assert_eq!(
            unknown.queue_for(None, Some("projects/x/topics/tb")),
            Some("b")
        );
    }

    #[test]
    fn unmapped_events_use_the_event_trigger() {
        let t = any_event_trigger("demo.type");
        assert_eq!(t, Trigger::Event("demo.type".into()));
        assert_eq!(t.label(), "event/demo.type");
    }
}
