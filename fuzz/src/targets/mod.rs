//! The fuzz targets: each decoder that reads outside input, through its public entry point.

mod auth;
mod azure;
mod cloudrun;
mod connection_string;
mod core;
mod lambda;

use axum::http::{HeaderName, HeaderValue};
use cloudport_core::App;
use cloudport_core::event::{BlobEvent, Event, QueueMessage, ScheduleTick};
use cloudport_core::export::cloudevents;
use serde_json::Value;

use crate::{Case, Shape, Target};

/// Every target, in campaign order, with the public entry point each execution calls.
pub const TARGETS: &[(&str, &str)] = &[
    (
        "lambda",
        "cloudport_adapters::lambda::LambdaHost::handle (SQS / S3 / EventBridge / SNS / API Gateway v2 payloads, the Runtime API's X-Ray trace id); cloudport_adapters::lambda::decode::decode for bytes that are not JSON",
    ),
    (
        "azure",
        "cloudport_adapters::azure::AzureHost::handle (queue / blob / timer / HTTP / Event Grid invocation payloads, the Event Grid handshakes, forwarded HTTP, trace headers)",
    ),
    (
        "cloudrun",
        "cloudport_adapters::cloudrun::CloudRunHost::handle with CLOUDPORT_EVENT_AUTH=platform (binary and structured CloudEvents, Pub/Sub push, Storage, Scheduler, trace headers)",
    ),
    (
        "cloudrun-auth",
        "cloudport_adapters::cloudrun::auth::OidcVerifier::verify and CloudRunHost::handle with OIDC verification (the Authorization header and Host)",
    ),
    (
        "queue-wire",
        "cloudport_core::queue::wire::from_envelope (then envelope / to_envelope, checked to read back)",
    ),
    (
        "trace-headers",
        "cloudport_core::trace::TraceContext::{parse_traceparent, parse_xray, parse_cloud_trace, from_headers}",
    ),
    (
        "resource-url",
        "cloudport_core::ResourceUrl::parse and its accessors, then Env opening the URL as a queue, bucket or KV store (memory and Azure providers)",
    ),
    (
        "redact",
        "cloudport_core::redact::{redact, is_clean, Redacted}",
    ),
    (
        "azure-connection-string",
        "cloudport_azure::Azure::from_connection_string, then Provider::open_queue / open_bucket / open_kv and the SDK client (signed URL)",
    ),
];

/// The target of this name, set up (runtime, hosts, in-memory environment).
pub fn build(name: &str) -> Option<Box<dyn Target>> {
    Some(match name {
        "lambda" => Box::new(lambda::target()),
        "azure" => Box::new(azure::target()),
        "cloudrun" => Box::new(cloudrun::target()),
        "cloudrun-auth" => Box::new(auth::Auth::new()),
        "queue-wire" => Box::new(core::Wire),
        "trace-headers" => Box::new(core::Trace),
        "resource-url" => Box::new(core::Url::new()),
        "redact" => Box::new(core::Redact::new()),
        "azure-connection-string" => Box::new(connection_string::ConnectionString),
        _ => return None,
    })
}

/// Whether a target is a host, answering HTTP statuses.
pub fn is_host(name: &str) -> bool {
    matches!(name, "lambda" | "azure" | "cloudrun" | "cloudrun-auth")
}

/// A message in its wire form ([`cloudport_core::queue::wire::to_envelope`], or `envelope` with
/// `always`), its envelope id (a hash of the time) made fixed so that the seeds, and so every
/// generated input, are the same from run to run.
fn wire_form(message: &cloudport_core::Message, always: bool) -> Vec<u8> {
    use cloudport_core::queue::wire::{envelope, to_envelope};
    let wire = if always {
        envelope(message)
    } else {
        to_envelope(message)
    }
    .unwrap_or_default();
    match serde_json::from_slice::<Value>(&wire) {
        Ok(mut v) if v.get("id").is_some() => {
            v["id"] = Value::String("0123456789abcdef".to_owned());
            serde_json::to_vec(&v).unwrap_or(wire)
        }
        _ => wire,
    }
}

/// A current-thread runtime, reused by every execution of a target.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("no Tokio runtime: {e}"))
}

/// What a host target reports besides running a case: the static parts of its [`Target`].
struct Spec {
    name: &'static str,
    shape: Shape,
    seeds: fn() -> Vec<Case>,
    dictionary: &'static [&'static str],
    headers: &'static [(&'static str, &'static str)],
    paths: &'static [&'static str],
}

/// A target that runs each case on one of its hosts ([`Hosts`]) with `exec`: the Lambda, Azure
/// and Cloud Run hosts.
struct HostTarget<H> {
    spec: Spec,
    hosts: Hosts<H>,
    exec: fn(&Hosts<H>, &Case) -> Result<String, String>,
}

impl<H> Target for HostTarget<H> {
    fn name(&self) -> &'static str {
        self.spec.name
    }

    fn shape(&self) -> Shape {
        self.spec.shape
    }

    fn seeds(&self) -> Vec<Case> {
        (self.spec.seeds)()
    }

    fn dictionary(&self) -> &'static [&'static str] {
        self.spec.dictionary
    }

    fn headers(&self) -> &'static [(&'static str, &'static str)] {
        self.spec.headers
    }

    fn paths(&self) -> &'static [&'static str] {
        self.spec.paths
    }

    fn exec(&mut self, case: &Case) -> Result<String, String> {
        (self.exec)(&self.hosts, case)
    }

    fn reset(&mut self) {
        self.hosts.reset();
    }
}

/// A host target's state: the runtime its executions run on and its hosts (one per variant),
/// built by `build` and rebuilt by it on [`Target::reset`].
struct Hosts<H> {
    rt: tokio::runtime::Runtime,
    hosts: Vec<H>,
    build: fn() -> Vec<H>,
}

impl<H> Hosts<H> {
    fn new(build: fn() -> Vec<H>) -> Self {
        Self {
            rt: runtime(),
            hosts: build(),
            build,
        }
    }

    /// The host for the case's variant.
    fn pick(&self, case: &Case) -> &H {
        &self.hosts[usize::from(case.variant) % self.hosts.len()]
    }

    fn reset(&mut self) {
        self.hosts = (self.build)();
    }
}

/// A host that answers HTTP requests (the Azure custom handler, the Cloud Run host).
trait HttpHost {
    fn handle(
        &self,
        request: axum::extract::Request,
    ) -> impl Future<Output = axum::response::Response>;
}

impl HttpHost for cloudport_adapters::azure::AzureHost {
    fn handle(
        &self,
        request: axum::extract::Request,
    ) -> impl Future<Output = axum::response::Response> {
        Self::handle(self, request)
    }
}

impl HttpHost for cloudport_adapters::cloudrun::CloudRunHost {
    fn handle(
        &self,
        request: axum::extract::Request,
    ) -> impl Future<Output = axum::response::Response> {
        Self::handle(self, request)
    }
}

/// [`HostTarget::exec`] of the HTTP hosts: [`exec_http`] on the host of the case's variant.
fn exec_http_on<H: HttpHost>(hosts: &Hosts<H>, case: &Case) -> Result<String, String> {
    Ok(exec_http(&hosts.rt, hosts.pick(case), case))
}

/// Runs the case as an HTTP request on `host`: its outcome ([`response_outcome`]), or
/// `not-http` when no server would pass the request on.
fn exec_http(rt: &tokio::runtime::Runtime, host: &impl HttpHost, case: &Case) -> String {
    let Some(request) = http_request(case) else {
        return "not-http".to_owned();
    };
    rt.block_on(async { response_outcome(host.handle(request).await).await })
}

/// The case as the HTTP request a host receives; `None` when no HTTP server would pass it on
/// (an invalid method or request target). Headers whose name or value HTTP cannot carry are
/// left out, as a server would refuse them.
fn http_request(case: &Case) -> Option<axum::extract::Request> {
    let method = http::Method::from_bytes(case.method.as_bytes()).ok()?;
    let uri: http::Uri = case.path.parse().ok()?;
    let mut builder = http::Request::builder().method(method).uri(uri);
    for (name, value) in &case.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(value),
        ) {
            builder = builder.header(name, value);
        }
    }
    builder.body(axum::body::Body::from(case.body.clone())).ok()
}

/// A host's answer as an outcome: the status, and for an error its JSON error kind.
async fn response_outcome(response: axum::response::Response) -> String {
    let status = response.status().as_u16();
    if status < 400 {
        return status.to_string();
    }
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap_or_default();
    if std::env::var_os("CLOUDPORT_FUZZ_VERBOSE").is_some() {
        eprintln!("{status} {}", String::from_utf8_lossy(&body));
    }
    let kind = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v["error"]["kind"].as_str().map(str::to_owned))
        .unwrap_or_else(|| "-".to_owned());
    format!("{status} {kind}")
}

/// Handlers that do nothing but take their typed event: queue `orders` and schedule `nightly`,
/// with `full` also queues `audit` and `fifo`, bucket `uploads`, schedule `hourly` and
/// `on_any_event`; with `http` the app's own routes.
fn quiet_app(full: bool, http: bool) -> App {
    async fn queue(
        event: Event<QueueMessage>,
        _env: cloudport_core::Env,
    ) -> cloudport_core::Result<()> {
        std::hint::black_box(event.data().body.len());
        Ok(())
    }
    async fn blob(
        event: Event<BlobEvent>,
        _env: cloudport_core::Env,
    ) -> cloudport_core::Result<()> {
        std::hint::black_box(event.data().key.len());
        Ok(())
    }
    async fn tick(
        event: Event<ScheduleTick>,
        _env: cloudport_core::Env,
    ) -> cloudport_core::Result<()> {
        std::hint::black_box(event.data().schedule.len());
        Ok(())
    }
    async fn any(
        event: Event<cloudevents::Event>,
        _env: cloudport_core::Env,
    ) -> cloudport_core::Result<()> {
        std::hint::black_box(event.data());
        Ok(())
    }
    let nightly = cloudport_core::Schedule::cron("0 0 3 * * *");
    let mut app = App::new()
        .on_queue("orders", queue)
        .on_schedule("nightly", nightly, tick);
    if http {
        app = app.http(router());
    }
    if !full {
        return app;
    }
    app.on_queue("audit", queue)
        .on_queue("fifo", queue)
        .on_blob("uploads", blob)
        .on_schedule(
            "hourly",
            cloudport_core::Schedule::cron("0 0 * * * *"),
            tick,
        )
        .on_any_event(any)
}

/// The app's own routes: a few that read the request as apps do, none that does anything.
fn router() -> axum::Router {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/hello", get(|| async { "hello" }))
        .route(
            "/echo",
            post(|body: String| async move { body.len().to_string() }),
        )
        .route(
            "/json",
            post(|axum::Json(v): axum::Json<Value>| async move { v.is_object().to_string() }),
        )
        .route(
            "/items/{id}",
            get(|axum::extract::Path(id): axum::extract::Path<String>| async move { id }),
        )
}
