//! The Azure Functions custom-handler host: an [`App`] behind the Functions host, unchanged.
//!
//! A custom handler is a web server on `127.0.0.1:$FUNCTIONS_CUSTOMHANDLER_PORT`. The Functions
//! host POSTs each invocation of a function to `/<FunctionName>` as `{"Data": {...},
//! "Metadata": {...}}` and reads back `{"Outputs": {...}, "Logs": [...], "ReturnValue": ...}`;
//! a non-2xx answer fails the invocation (the host calls `EnsureSuccessStatusCode`), so a queue
//! message is retried and moved to `<queue>-poison` after `maxDequeueCount` dequeues. With
//! `enableForwardingHttpRequest`, an HTTP-only function's request is instead forwarded as is, on
//! its original path. Sources: the custom handlers article
//! (<https://learn.microsoft.com/azure/azure-functions/functions-custom-handlers>) and the host's
//! `DefaultHttpWorkerService` (`Azure/azure-functions-host`,
//! `src/WebJobs.Script/Workers/Http/`), see [`decode`] for the payload details.
//!
//! Azure Event Grid reaches the app through the function [`EVENTS_FUNCTION`]
//! (`cloudport-events`, an `eventGridTrigger` binding its event as [`EVENT_GRID_BINDING`]),
//! served when the app registered `on_event` or `on_any_event`: the Functions host's Event Grid
//! extension receives the webhook, answers the validation handshakes and invokes the function
//! once per event (or with a batch); see `events.rs` for why no Event Grid webhook is served on
//! the app's public HTTP, and [`decode::event_grid_events`] for the schemas.
//!
//! # Functions
//!
//! Each trigger of the app is one function, named by [`function_name`]: `queue-<name>`,
//! `blob-<name>`, `schedule-<name>` — the trigger kind, `-`, and the logical name; all Event Grid
//! events go to the one function [`EVENTS_FUNCTION`], which routes them by type. Logical names
//! are 1-63 ASCII letters, digits, `-` and `_`, so every function name starts with a letter and is
//! valid for Azure (letters, digits, `_`, `-`, at most 127 characters). Azure compares function
//! names ignoring case, so the manifest generator rejects two triggers of one kind whose names
//! differ only in case. The app's HTTP service is the function [`HTTP_FUNCTION`] (`http`): an
//! `httpTrigger` on route `{*route}` with an `http` output, forwarded
//! (`enableForwardingHttpRequest: true`). The
//! newer `enableProxyingHttpRequest: true` (which streams) also sends the original path and works
//! unchanged; with neither, the request arrives in the payload and is answered through `res`.
//!
//! | request | answered by |
//! |---|---|
//! | `POST /queue-…`, `/blob-…`, `/schedule-…` | the trigger's handler, through its portable CloudEvent |
//! | `POST /cloudport-events` (an `eventGridTrigger`: one event, or an array, Event Grid or CloudEvents schema) | each event as a CloudEvent with Event Grid's `type`/`source`/`subject` and data unchanged, to `on_event` by type, then `on_any_event`; `Microsoft.Storage.BlobCreated`/`BlobDeleted` of a container bound to a blob trigger to that trigger's `on_blob` (portable blob event) |
//! | the same, a `Microsoft.EventGrid.SubscriptionValidationEvent` | the host: `200`, `ReturnValue` `{"validationResponse": code}`, no handler runs |
//! | `OPTIONS /cloudport-events` with `WebHook-Request-Origin` (CloudEvents abuse protection) | the host: `200` with `WebHook-Allowed-Origin` (and `WebHook-Allowed-Rate: *` when asked) |
//! | `POST /warmup` (the `warmupTrigger` Azure calls when it adds an instance) | the host: `200`, no handler runs |
//! | `POST /http` with `{"Data": {"req": …}}` (forwarding off) | the app's router; the response goes back as the `res` output |
//! | a path under the route prefix (forwarded HTTP) | the app's router, with the prefix removed |
//! | anything else | `404` with a JSON error |
//!
//! The route prefix (`extensions.http.routePrefix`) is `api`, as Azure's default, unless
//! `CLOUDPORT_AZURE_ROUTE_PREFIX` says otherwise; set the same variable when generating the
//! manifest and when running. The prefix is removed before the app's router sees a request, so
//! `GET https://<app>.azurewebsites.net/api/orders` reaches the route `/orders` — as on every
//! other host. It also keeps public paths apart from the invocation paths: with an empty prefix,
//! a public request to `/queue-orders` would reach the invocation endpoint of that function, so an
//! app that serves HTTP and has other functions is refused such a prefix — and one whose first
//! segment is a function's name — when the manifest is generated and when the host starts
//! ([`check_route_prefix`]). Event invocations are served only on the paths of the functions the
//! manifest declares; the Functions host itself listens to the custom handler on `127.0.0.1`
//! only, and [`run`] binds there.
//!
//! # Statuses
//!
//! | outcome | status |
//! |---|---|
//! | handler succeeded (or the message went to its portable dead-letter queue); every event of an Event Grid invocation succeeded | `200` |
//! | handler failed or panicked; a dead-letter move failed; any event of an Event Grid invocation failed (all are attempted) | `500` (the host retries; Event Grid redelivers) |
//! | malformed payload (bad JSON, no `Data`, bad base64, no message id, any undecodable Event Grid event — then none is dispatched) | `400` |
//! | unknown function | `404` |
//! | payload over [`MAX_PAYLOAD_BYTES`] | `413` |
//!
//! Error bodies are `{"error": {"kind": "...", "message": "..."}}`.
//!
//! # Deploying
//!
//! `host.json` and one `function.json` per function are generated outside the binary, by the
//! deploy tool (`cloudport_cli::azure::manifest`, in the `cargo-cloudport` package), from the
//! app's description (`CLOUDPORT_DESCRIBE=1 ./app`) and the deployment's bindings; publish them
//! with the binary. The names both sides use — the function of each trigger, the binding names,
//! the route prefix and its check, the function timeout — are defined once, in
//! [`cloudport_core::platform::azure`], and re-exported here. No generator is linked into the
//! function binary (ADR 0010).

pub mod decode;
mod events;

use std::collections::BTreeMap;
use std::future::Future;

use axum::Router;
use axum::body::Body;
use axum::extract::{OriginalUri, Request};
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use cloudport_core::export::cloudevents;
use cloudport_core::{App, Env, Error, ErrorKind, ResourceKind, ResourceUrl, Result, Trigger};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::http_host;
pub use cloudport_core::platform::azure::{
    BLOB_BINDING, DEFAULT_FUNCTION_TIMEOUT, DEFAULT_ROUTE_PREFIX, FUNCTION_TIMEOUT_VAR,
    HTTP_BINDING, HTTP_FUNCTION, HTTP_OUTPUT_BINDING, QUEUE_BINDING, ROUTE_PREFIX_VAR,
    TIMER_BINDING, WARMUP_BINDING, WARMUP_FUNCTION, check_route_prefix, function_name,
};
use decode::Invocation;
pub use events::{EVENT_GRID_BINDING, EVENTS_FUNCTION};

/// The variable the Functions host sets to the port the custom handler must listen on.
pub const PORT_VAR: &str = "FUNCTIONS_CUSTOMHANDLER_PORT";
/// The largest invocation payload read (blob triggers carry the blob's content).
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024 * 1024;

/// Runs `app` as the custom handler until SIGTERM or Ctrl-C: on `127.0.0.1` at
/// `FUNCTIONS_CUSTOMHANDLER_PORT`.
pub async fn run(app: App, env: Env) -> Result<()> {
    let app = if app.has_metrics_sink() || env.var("CLOUDPORT_METRICS").as_deref() == Some("off") {
        app
    } else {
        let site = env.var("WEBSITE_SITE_NAME").unwrap_or_default();
        app.metrics_sink(crate::logs::metrics_sink(
            crate::HostKind::AzureFunctions,
            site,
            None,
        ))
    };
    let port = env.var(PORT_VAR).ok_or_else(|| {
        Error::invalid(format!(
            "{PORT_VAR} is not set: is this an Azure Functions custom handler?"
        ))
    })?;
    let port = http_host::parse_port(PORT_VAR, &port)?;
    let listener = http_host::bind("127.0.0.1", port, "azure.bind").await?;
    serve(listener, app, env).await
}

/// Serves `app` on `listener` until SIGTERM or Ctrl-C, then lets in-flight invocations finish.
pub async fn serve(listener: tokio::net::TcpListener, app: App, env: Env) -> Result<()> {
    serve_with_shutdown(listener, app, env, http_host::shutdown_signal()).await
}

/// Serves `app` on `listener` until `shutdown` completes, then lets in-flight invocations finish.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> cloudport_core::Result<()> {
/// use cloudport_adapters::azure;
/// use cloudport_core::{App, Env};
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// let app = App::new().on_queue("orders", |_m, _env| async { Ok(()) });
/// let env = Env::builder().provider(cloudport_memory::Memory::new()).fallback_scheme("mem").build();
/// // Stops at once here; a real host waits for a signal.
/// azure::serve_with_shutdown(listener, app, env, async {}).await?;
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
        "Azure Functions invocations",
        "azure.serve",
    )
    .await
}

/// The custom handler as an axum [`Router`] (to serve on a listener of your own, or in tests).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> cloudport_core::Result<()> {
/// use cloudport_adapters::azure;
/// use cloudport_core::{App, Env};
/// use tower::ServiceExt;
///
/// let app = App::new().on_queue("orders", |m, _env| async move {
///     assert_eq!(m.data().text()?, "two pizzas");
///     Ok(())
/// });
/// let env = Env::builder().provider(cloudport_memory::Memory::new()).fallback_scheme("mem").build();
/// let router = azure::router(app, env)?;
/// let payload = r#"{"Data":{"message":"\"two pizzas\""},"Metadata":{"Id":"\"m-1\"","DequeueCount":"1"}}"#;
/// let request = axum::http::Request::post("/queue-orders").body(axum::body::Body::from(payload)).unwrap();
/// let response = router.oneshot(request).await.unwrap();
/// assert_eq!(response.status(), 200);
/// # Ok(()) }
/// ```
pub fn router(app: App, env: Env) -> Result<Router> {
    Ok(AzureHost::new(app, env)?.into_router())
}

/// Carries Functions host invocations into an app.
pub struct AzureHost {
    app: App,
    env: Env,
    functions: BTreeMap<String, Trigger>,
    http: Option<Router>,
    route_prefix: String,
    timeout: std::time::Duration,
    /// Whether [`EVENTS_FUNCTION`] is served: the app registered `on_event` or `on_any_event`.
    events: bool,
    /// The blob triggers' containers, for Event Grid's blob events.
    containers: Vec<events::BoundContainer>,
}

impl std::fmt::Debug for AzureHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AzureHost")
            .field("functions", &self.functions.keys().collect::<Vec<_>>())
            .field("http", &self.http.is_some())
            .field("route_prefix", &self.route_prefix)
            .field("events", &self.events)
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

/// A successful invocation: no outputs, the logs, no return value.
fn ok_response(outputs: Value, logs: Vec<String>) -> Response {
    (
        StatusCode::OK,
        axum::Json(json!({ "Outputs": outputs, "Logs": logs, "ReturnValue": null })),
    )
        .into_response()
}

impl AzureHost {
    /// A host for `app` in `env`; the route prefix comes from `CLOUDPORT_AZURE_ROUTE_PREFIX`
    /// (default `api`). Fails if the app's registrations are invalid.
    pub fn new(app: App, env: Env) -> Result<Self> {
        app.validate()?;
        let triggers = app.triggers();
        let containers = events::bound_containers(&triggers, &env);
        let functions = triggers
            .into_iter()
            .map(|t| (function_name(&t), t))
            .collect::<BTreeMap<_, _>>();
        let description = app.describe();
        let events = description.any_event || !description.event_types.is_empty();
        let http = app.http_router(&env);
        let route_prefix = env
            .var(ROUTE_PREFIX_VAR)
            .unwrap_or_else(|| DEFAULT_ROUTE_PREFIX.to_owned());
        let timeout =
            http_host::invocation_timeout(&env, FUNCTION_TIMEOUT_VAR, DEFAULT_FUNCTION_TIMEOUT)?;
        let host = Self {
            timeout,
            app,
            env,
            functions,
            http,
            route_prefix,
            events,
            containers,
        };
        host.check_route_prefix(&host.route_prefix)?;
        Ok(host)
    }

    /// The functions whose invocation paths the route prefix must keep private: the triggers'
    /// and, when served, [`EVENTS_FUNCTION`].
    fn invocation_functions(&self) -> impl Iterator<Item = &str> {
        self.functions
            .keys()
            .map(String::as_str)
            .chain(self.events.then_some(EVENTS_FUNCTION))
    }

    fn check_route_prefix(&self, prefix: &str) -> Result<()> {
        if self.http.is_some() {
            check_route_prefix(prefix, self.invocation_functions())?;
        }
        Ok(())
    }

    /// Uses this route prefix instead of the environment's. Fails, as [`AzureHost::new`] does,
    /// when the prefix would make a function's invocation path public.
    pub fn with_route_prefix(mut self, prefix: impl Into<String>) -> Result<Self> {
        let prefix = prefix.into();
        self.check_route_prefix(&prefix)?;
        self.route_prefix = prefix;
        Ok(self)
    }

    /// The host as a router that answers every path.
    pub fn into_router(self) -> Router {
        http_host::fallback_router(self)
    }

    /// Answers one request from the Functions host: an invocation, or forwarded HTTP.
    pub async fn handle(&self, request: Request) -> Response {
        let invocation_id = request
            .headers()
            .get("x-azure-functions-invocationid")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        match invocation_id {
            Some(id) => {
                let trace = cloudport_core::trace::TraceContext::from_headers(request.headers());
                // The Functions host ends an invocation at its `functionTimeout`.
                let deadline = tokio::time::Instant::now() + self.timeout;
                let ctx = cloudport_core::context::InvocationContext::new(id, Some(deadline))
                    .with_trace(trace);
                cloudport_core::context::scope(ctx, self.route(request)).await
            }
            None => self.route(request).await,
        }
    }

    fn prefixed(&self, path: &str) -> bool {
        decode::strip_route_prefix(path, &self.route_prefix).is_some()
    }

    async fn route(&self, request: Request) -> Response {
        let path = request.uri().path().to_owned();
        let name = path.trim_start_matches('/');
        if self.events && name == EVENTS_FUNCTION {
            if request.method() == Method::POST {
                return match read_body(request).await {
                    Ok(body) => self.invoke_event_grid(&body).await,
                    Err(r) => r,
                };
            }
            if request.method() == Method::OPTIONS {
                return Self::abuse_protection(request.headers());
            }
        }
        if request.method() == Method::POST {
            if let Some(trigger) = self.functions.get(name) {
                let body = match read_body(request).await {
                    Ok(b) => b,
                    Err(r) => return r,
                };
                return self.invoke_event(name, trigger, &body).await;
            }
            // Only the Functions host's call (it carries an invocation id): under an empty route
            // prefix, a public `POST /warmup` is the app's own route.
            if name.eq_ignore_ascii_case(WARMUP_FUNCTION)
                && request
                    .headers()
                    .contains_key("x-azure-functions-invocationid")
            {
                // The instance is up and its clients are built lazily: nothing to run.
                return ok_response(json!({}), vec!["cloudport: warm".to_owned()]);
            }
            if name == HTTP_FUNCTION && self.http.is_some() {
                let (parts, body) = request.into_parts();
                let bytes = match axum::body::to_bytes(body, MAX_PAYLOAD_BYTES).await {
                    Ok(b) => b,
                    Err(e) => return too_large(&e),
                };
                let parsed = Invocation::parse(&bytes);
                let is_invocation = parsed
                    .as_ref()
                    .is_ok_and(|inv| inv.data(HTTP_BINDING).is_ok());
                // Outside the route prefix only the Functions host can call `/http`; under an
                // empty prefix it may also be the app's own route, taken when the body is not an
                // invocation.
                if is_invocation || !self.prefixed(&path) {
                    return match parsed {
                        Ok(inv) => self.invoke_http(&inv).await,
                        Err(e) => error_response(StatusCode::BAD_REQUEST, &e),
                    };
                }
                return self
                    .forward(Request::from_parts(parts, Body::from(bytes)))
                    .await;
            }
        }
        self.forward(request).await
    }

    fn not_found(&self, request: &Request) -> Response {
        let err = Error::new(
            ErrorKind::NotFound,
            format!(
                "{} {}: no function of that name and no HTTP route under the prefix {:?}; functions: {:?}",
                request.method(),
                request.uri().path(),
                self.route_prefix,
                self.invocation_functions()
                    .chain(self.http.as_ref().map(|_| HTTP_FUNCTION))
                    .collect::<Vec<_>>()
            ),
        );
        error_response(StatusCode::NOT_FOUND, &err)
    }

    /// Forwarded HTTP: the app's router, with the route prefix removed from the path.
    async fn forward(&self, mut request: Request) -> Response {
        let Some(router) = &self.http else {
            return self.not_found(&request);
        };
        let original = request.uri().clone();
        let path_and_query = original.path_and_query().map_or("/", |p| p.as_str());
        let Some(stripped) = decode::strip_route_prefix(path_and_query, &self.route_prefix) else {
            return self.not_found(&request);
        };
        if stripped != path_and_query {
            match stripped.parse::<Uri>() {
                Ok(uri) => *request.uri_mut() = uri,
                Err(e) => {
                    return error_response(
                        StatusCode::BAD_REQUEST,
                        &Error::new(ErrorKind::Malformed, format!("bad request path: {e}")),
                    );
                }
            }
        }
        request.extensions_mut().insert(OriginalUri(original));
        match router.clone().oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        }
    }

    /// A non-forwarded HTTP invocation: `Data.req` through the app's router, the response as the
    /// `res` output binding.
    async fn invoke_http(&self, inv: &Invocation) -> Response {
        let Some(router) = &self.http else {
            return error_response(
                StatusCode::NOT_FOUND,
                &Error::new(ErrorKind::NotFound, "the app serves no HTTP"),
            );
        };
        let request = match decode::http_request(inv, HTTP_BINDING, &self.route_prefix) {
            Ok(r) => r,
            Err(e) => return error_response(StatusCode::BAD_REQUEST, &e),
        };
        let response = match router.clone().oneshot(request).await {
            Ok(r) => r,
            Err(never) => match never {},
        };
        match decode::http_output(response).await {
            Ok(out) => ok_response(json!({ HTTP_OUTPUT_BINDING: out }), Vec::new()),
            Err(e) => error_response(StatusCode::INTERNAL_SERVER_ERROR, &e),
        }
    }

    /// Where events of a trigger come from: its binding URL.
    fn source(&self, kind: ResourceKind, name: &str) -> String {
        self.env
            .binding_url(kind, name)
            .unwrap_or_else(|| format!("cloudport:{}/{name}", kind.as_str()))
    }

    /// An event invocation: decode (`400` if malformed), apply the queue's portable dead-letter
    /// policy, dispatch (`500` if the handler fails).
    async fn invoke_event(&self, function: &str, trigger: &Trigger, body: &[u8]) -> Response {
        let decoded = Invocation::parse(body).and_then(|inv| match trigger {
            Trigger::Queue(n) => {
                decode::queue_event(&inv, QUEUE_BINDING, n, &self.source(ResourceKind::Queue, n))
            }
            Trigger::Blob(n) => {
                let source = self.source(ResourceKind::Bucket, n);
                let container = ResourceUrl::parse(&source)
                    .ok()
                    .filter(|u| u.scheme() == "azblob")
                    .map_or_else(|| n.clone(), |u| u.path());
                decode::blob_event(&inv, BLOB_BINDING, n, &container, &source)
            }
            Trigger::Schedule(n) => decode::timer_event(
                &inv,
                TIMER_BINDING,
                n,
                &format!("azure-functions:{function}"),
            ),
            other => Err(Error::unsupported(format!(
                "the Functions host has no function for {other}"
            ))),
        });
        let event = match decoded {
            Ok(ev) => ev,
            Err(e) => {
                tracing::error!(function, error = %e, "undecodable invocation payload");
                return error_response(StatusCode::BAD_REQUEST, &e);
            }
        };
        if let Trigger::Queue(queue) = trigger {
            match self.dead_letter_if_over_limit(queue, &event).await {
                None => {}
                Some(Ok(note)) => return ok_response(json!({}), vec![note]),
                Some(Err(e)) => return error_response(StatusCode::INTERNAL_SERVER_ERROR, &e),
            }
        }
        match self.app.dispatch(&self.env, trigger, event).await {
            Ok(()) => ok_response(json!({}), Vec::new()),
            Err(e) => {
                tracing::warn!(function, error = %e, "invocation failed; the Functions host retries it");
                error_response(StatusCode::INTERNAL_SERVER_ERROR, &e)
            }
        }
    }

    /// The portable dead-letter policy ([`cloudport_core::Queue::dead_letter_if_over_limit`]):
    /// `Some(Ok)` moved, `Some(Err)` the move failed (the host retries), `None` handle it.
    async fn dead_letter_if_over_limit(
        &self,
        queue: &str,
        event: &cloudevents::Event,
    ) -> Option<Result<String>> {
        let moved = crate::dead_letter::if_over_limit(&self.env, queue, event).await?;
        Some(moved.map(|d| d.to_string()))
    }
}

fn too_large(e: &axum::Error) -> Response {
    error_response(
        StatusCode::PAYLOAD_TOO_LARGE,
        &Error::new(
            ErrorKind::TooLarge,
            format!(
                "the invocation payload could not be read (over {MAX_PAYLOAD_BYTES} bytes?): {e}"
            ),
        ),
    )
}

async fn read_body(request: Request) -> std::result::Result<bytes::Bytes, Response> {
    axum::body::to_bytes(request.into_body(), MAX_PAYLOAD_BYTES)
        .await
        .map_err(|e| too_large(&e))
}

impl crate::http_host::AnswersAll for AzureHost {
    async fn answer(&self, request: Request) -> Response {
        self.handle(request).await
    }
}
