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
//! | request | goes to | caller verified ([Who may call](#who-may-call)) |
//! |---|---|---|
//! | `POST /_cloudport/events` with a CloudEvent | the event's trigger (below) | yes |
//! | `POST /_cloudport/events` with a Pub/Sub push envelope (`application/json`) | the queue bound to its subscription, else the topic trigger whose `gcptopic://…?subscription=S` binding names it | yes |
//! | `POST /_cloudport/events` with `X-CloudScheduler: true` | the schedule named by `X-CloudScheduler-JobName` (as for `/_cloudport/schedule`) | yes |
//! | `POST /_cloudport/queue/<name>` with a push envelope or a `messagePublished` CloudEvent | queue `<name>`, whatever the subscription | yes |
//! | any method on `/_cloudport/schedule/<name>` | a tick of schedule `<name>` | yes |
//! | any method on `/_cloudport/schedule` | the schedule whose name is the job's short name (`X-CloudScheduler-JobName`, after its last `/`), else the app's only schedule | yes |
//! | any method on `/_cloudport/warmup` | `200 {"warm":true}`: starts the instance, runs no handler | no |
//! | any other path with a CloudEvent (`ce-specversion` header, or `Content-Type: application/cloudevents+json`) | the event's trigger — Cloud Functions gen2 and Eventarc deliver to `/` unless told otherwise | yes |
//! | any other request | the app's router (`App::http_router`), unchanged | no: the app's own routes authenticate as the app decides |
//! | any other JSON request or Cloud Scheduler call, when the app serves no HTTP | as `/_cloudport/events` (anything else: `404`) | yes |
//!
//! So a push subscription's endpoint is `https://SERVICE/_cloudport/events` (or
//! `/_cloudport/queue/<name>`), a Cloud Scheduler job's URI `https://SERVICE/_cloudport/schedule/<name>`,
//! and an Eventarc trigger needs no path. A route of the app that itself takes CloudEvents is
//! shadowed by the host; a Cloud Scheduler job that targets one of the app's own routes reaches
//! that route. The job's body is not passed on: the portable tick carries none. Unwrapped push
//! (`--push-no-wrapper`) and batched CloudEvents are not supported.
//!
//! # Who may call
//!
//! Only the platform: every request that would reach an event handler (the "yes" rows above) is
//! verified before its body is read — it must carry `Authorization: Bearer <ID token>`, a
//! Google-signed OpenID Connect token, which [`auth`] checks: the signature against Google's keys
//! (fetched on the first event request, never at start-up, and cached), the issuer, the expiry,
//! and the audience — by default the request's own URL (`https://HOST`, `https://HOST/` or
//! `https://HOST/PATH`), which is what Pub/Sub push subscriptions, Cloud Scheduler jobs and
//! Eventarc put there unless told otherwise. A request without a valid token is answered `401`
//! (`WWW-Authenticate: Bearer`), a caller not allowed `403`, and `503` while Google's keys cannot
//! be fetched (Pub/Sub and Cloud Scheduler retry). `/_cloudport/warmup` and the app's own routes
//! need no token.
//!
//! Give the push subscription (`--push-auth-service-account`) and the scheduler job
//! (`--oidc-service-account-email`) a service account so they send a token, and **set
//! `CLOUDPORT_OIDC_ALLOWED_EMAILS`** to those service accounts: any Google account can mint an ID
//! token for any audience, so without an allow-list any Google account that knows the URL can
//! call the event paths.
//!
//! | variable | meaning |
//! |---|---|
//! | `CLOUDPORT_EVENT_AUTH` | `oidc` (default): the host verifies tokens; `platform`: it does not (below); anything else fails [`CloudRunHost::new`] |
//! | `CLOUDPORT_OIDC_ALLOWED_EMAILS` | comma-separated service-account emails allowed (`email` claim, `email_verified: true`); unset: any valid token |
//! | `CLOUDPORT_OIDC_AUDIENCES` | comma-separated audiences accepted instead of the request's own URL (set it when a custom audience is configured, or behind a proxy that changes `Host`) |
//! | `CLOUDPORT_OIDC_ISSUERS`, `CLOUDPORT_OIDC_JWKS_URL` | another issuer and key set than Google's — for tests (`auth::TestIssuer`, feature `oidc-test-issuer`) and other OIDC issuers |
//!
//! A **private** service (deployed with `--no-allow-unauthenticated`, callers granted
//! `roles/run.invoker`) has Cloud Run check every caller before the request reaches the
//! container; there, and only there, set `CLOUDPORT_EVENT_AUTH=platform`: Cloud Run has already
//! verified the token (and may pass it on in a form that no longer verifies), so the host checks
//! nothing and adds no cost. On a public service (`--allow-unauthenticated`, as an app with its own
//! public routes needs) keep the default.
//!
//! # What each input becomes
//!
//! | input | trigger | portable event |
//! |---|---|---|
//! | `google.cloud.pubsub.topic.v1.messagePublished`, push envelope, of a topic trigger's subscription (push or Eventarc: its `gcptopic://projects/P/topics/T?subscription=S` binding) or topic (Eventarc: the event's source names it) — a queue binding of the same subscription, else topic, comes first | the topic trigger, `Trigger::Topic(<name>)` | the CloudEvent the publisher sent, rebuilt from binary mode (`ce-` attributes as pushed, the decoded data: `cloudport_core::topic::wire::from_binary`), so its type, source, data, extensions and `traceparent` (the publisher's trace continues); a message that carries no binary-mode CloudEvent is not lost: the handler gets the `messagePublished` CloudEvent (from Eventarc: as delivered; from push: id the `messageId`, source `//pubsub.googleapis.com/<subscription>`, data the push envelope) |
//! | `google.cloud.pubsub.topic.v1.messagePublished`, push envelope | the queue whose binding names the subscription (else the topic) | `io.cloudport.queue.message.v1`: body the decoded `data`, id the `messageId`, delivery count `deliveryAttempt` (1 when absent: Eventarc, or no dead-letter policy), enqueue time the `publishTime`, content type the `datacontenttype` attribute, the ordering key as the `orderingkey` attribute, other attributes as extensions (names normalized; invalid ones dropped with a log line) — as the GCP queue driver reads the same message |
//! | `google.cloud.storage.object.v1.finalized` / `.deleted` | the bucket bound to the object's bucket | `io.cloudport.blob.created.v1` / `…deleted.v1` (the generation as the ETag) |
//! | Cloud Scheduler | the schedule (see routing) | `io.cloudport.schedule.tick.v1` due at `X-CloudScheduler-ScheduleTime` (else now) |
//! | any other CloudEvent (other storage events such as `archived` or `metadataUpdated` too), or a Pub/Sub / storage event of no bound queue or bucket | the app's `on_event` handler of the most specific pattern matching its type, else `on_any_event`, as delivered (type, source, extensions and data — JSON or protobuf bytes — unchanged), under `Trigger::Event(<type>)` | unchanged |
//!
//! Bindings map native names to the app's logical names: `CLOUDPORT_QUEUE_<NAME>=gcppubsub://projects/P/topics/T?subscription=S`
//! (`S` short, in project `P`, or a full `projects/Q/subscriptions/S`; project `_` is
//! `GOOGLE_CLOUD_PROJECT`, as for the GCP provider) and
//! `CLOUDPORT_BUCKET_<NAME>=gs://BUCKET`, and `CLOUDPORT_TOPIC_<NAME>=gcptopic://projects/P/topics/T`
//! (add `?subscription=S` for a push subscription: a push envelope names only its subscription)
//! — see [`Bindings`]. A queue's portable dead-letter
//! policy (`&dead_letter=…&max_deliveries=N` in its binding) applies here too: a message whose
//! `deliveryAttempt` exceeds `max_deliveries` is moved to the dead-letter queue unhandled and
//! acknowledged. Pub/Sub sends `deliveryAttempt` only when the subscription has a dead-letter
//! policy of its own, so set one (it is also the way out of endless redelivery, below).
//!
//! # Deadlines
//!
//! Cloud Run ends a request that has not been answered within the service's request timeout
//! (`504` to the caller; default 300 s, at most 3600 s), while the instance keeps running the
//! handler (source: "Setting request timeout",
//! <https://cloud.google.com/run/docs/configuring/request-timeout>, which adds that requests from
//! Eventarc, Pub/Sub push and Cloud Scheduler are also bound by those services' own timeouts). The container cannot read that setting, so the host takes it from
//! [`REQUEST_TIMEOUT_VAR`] (`CLOUDPORT_REQUEST_TIMEOUT`: whole seconds, or `hh:mm:ss`; default
//! [`DEFAULT_REQUEST_TIMEOUT`]), read once by [`CloudRunHost::new`] (a value it cannot use fails
//! it with `InvalidArgument`), and gives every invocation it dispatches that deadline, counted from
//! the dispatch: retries, long polls and idempotency claims end with it, and a handler can ask
//! `cloudport_core::context::remaining()`. Set it to the service's `--timeout`. The app's own
//! routes get no deadline from the host.
//!
//! # Statuses
//!
//! | outcome | status |
//! |---|---|
//! | handler succeeded | `204` |
//! | message moved to its portable dead-letter queue | `200` with `{"deadLettered": {...}}` |
//! | handler failed or panicked; a dead-letter move failed | `500` — Pub/Sub, Eventarc and Cloud Scheduler retry |
//! | malformed request: not a valid CloudEvent (a required attribute such as `ce-id` missing), not a push envelope, bad base64, no message id | `400` |
//! | no trigger of the app takes it (unbound subscription or bucket, event type no `on_event` pattern takes, without `on_any_event`, unknown schedule) | `404` |
//! | body over [`decode::MAX_BODY_BYTES`], message over [`decode::MAX_MESSAGE_BYTES`] | `413` |
//! | a body that must be JSON and is not (push envelope, Pub/Sub or storage event data) | `415` |
//! | a method other than `POST` on `/_cloudport/events` or `/_cloudport/queue/<name>` | `405` |
//! | an event request without a valid token; a caller not allowed; Google's keys unreachable ([Who may call](#who-may-call)) | `401`; `403`; `503` |
//!
//! Error bodies are `{"error": {"kind": "...", "message": "..."}}`. Pub/Sub push treats **every**
//! non-2xx answer as a nack, 4xx included: a request that can never succeed is redelivered with
//! backoff until the message expires — give the subscription a dead-letter policy (its
//! `maxDeliveryAttempts`) so such messages leave.

// The host, by concern: this file (the entry points); `bindings.rs` (native names → logical
// names); `host.rs` (`CloudRunHost`: set-up and routing by path); `events.rs` (event requests →
// invocations); `responses.rs` (error answers); `decode.rs` (the payload formats); `auth/` (who
// may call).

pub mod auth;
mod bindings;
pub mod decode;
mod events;
mod host;
mod responses;
mod topics;

pub use bindings::Bindings;
pub use host::CloudRunHost;

use crate::http_host;
use std::future::Future;
use std::time::Duration;

use axum::Router;
use cloudport_core::{App, Env, Result};

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
/// The variable holding the service's request timeout (whole seconds, or `hh:mm:ss`), which Cloud
/// Run does not tell the container: the deadline of every invocation (default
/// [`DEFAULT_REQUEST_TIMEOUT`]). See [Deadlines](self#deadlines).
pub const REQUEST_TIMEOUT_VAR: &str = "CLOUDPORT_REQUEST_TIMEOUT";
/// Cloud Run's default request timeout, 300 s (source: "Setting request timeout",
/// <https://cloud.google.com/run/docs/configuring/request-timeout>).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(300);

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
///     .vars([
///         ("CLOUDPORT_QUEUE_ORDERS", "gcppubsub://projects/shop/topics/orders?subscription=orders-push"),
///         // This unsigned request stands for one Cloud Run's IAM check let through; without this
///         // the host asks for a Google-signed ID token (`cloudrun::auth`).
///         ("CLOUDPORT_EVENT_AUTH", "platform"),
///     ])
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
