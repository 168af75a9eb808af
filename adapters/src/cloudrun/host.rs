//! [`CloudRunHost`]: what it is built from (the app, its bindings, who may call, the invocation
//! deadline) and how it routes a request by its path — the host's paths under `/_cloudport/`,
//! CloudEvents anywhere, the rest to the app's router — verifying the caller of every event
//! request first.

use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cloudport_core::event::carries_cloudevent;
use cloudport_core::{App, Env, Error, ErrorKind, Result, Trigger};
use tower::ServiceExt;

use super::auth::EventAuth;
use super::bindings::Bindings;
use super::decode::{self, SchedulerRequest};
use super::events::Target;
use super::responses::{error_response, not_found, refused, rejected};
use super::{
    DEFAULT_REQUEST_TIMEOUT, EVENTS_PATH, QUEUE_PATH, REQUEST_TIMEOUT_VAR, RESERVED_PREFIX,
    SCHEDULE_PATH,
};
use crate::http_host;

/// Carries Cloud Run requests into an app.
pub struct CloudRunHost {
    pub(super) app: App,
    pub(super) env: Env,
    pub(super) auth: EventAuth,
    pub(super) bindings: Bindings,
    pub(super) http: Option<Router>,
    pub(super) queues: Vec<String>,
    pub(super) schedules: Vec<String>,
    /// How long each invocation may run ([`REQUEST_TIMEOUT_VAR`]).
    pub(super) timeout: Duration,
}

impl std::fmt::Debug for CloudRunHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloudRunHost")
            .field("auth", &self.auth)
            .field("bindings", &self.bindings)
            .field("http", &self.http.is_some())
            .field("queues", &self.queues)
            .field("schedules", &self.schedules)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl CloudRunHost {
    /// A host for `app` in `env`. Fails if the app's registrations are invalid, or with
    /// `InvalidArgument` if the event authentication variables are ([`auth`](super::auth)) or
    /// [`REQUEST_TIMEOUT_VAR`] is not a timeout. Fetches nothing: the signing keys are fetched by
    /// the first event request.
    pub fn new(app: App, env: Env) -> Result<Self> {
        app.validate()?;
        let auth = EventAuth::from_env(&env)?;
        // Cloud Run ends a request at the service's request timeout, which the container cannot
        // read: the deployment tells it (see the module documentation, "Deadlines").
        let timeout =
            http_host::invocation_timeout(&env, REQUEST_TIMEOUT_VAR, DEFAULT_REQUEST_TIMEOUT)?;
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
            auth,
            bindings,
            http,
            queues,
            schedules,
            timeout,
        })
    }

    /// Who checks the callers of the event paths.
    pub fn event_auth(&self) -> &EventAuth {
        &self.auth
    }

    /// The native-to-logical name map this host uses.
    pub fn bindings(&self) -> &Bindings {
        &self.bindings
    }

    /// The host as a router that answers every path.
    pub fn into_router(self) -> Router {
        crate::http_host::fallback_router(self)
    }

    /// Answers one request (see the module documentation for the routing rule).
    pub async fn handle(&self, request: Request) -> Response {
        let path = request.uri().path().to_owned();
        if path == RESERVED_PREFIX || path.starts_with("/_cloudport/") {
            return self.reserved(&path, request).await;
        }
        if carries_cloudevent(request.headers()) {
            if let Some(refusal) = self.authorize(request.headers(), request.uri()).await {
                return refusal;
            }
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
                if let Some(refusal) = self.authorize(request.headers(), request.uri()).await {
                    return refusal;
                }
                self.event_request(request, Target::Any).await
            }
        }
    }

    /// Verifies the caller of an event request before its body is read: `None` to go on, else
    /// the refusal. Nothing to do (and nothing awaited) when the platform checks callers.
    async fn authorize(&self, headers: &HeaderMap, uri: &axum::http::Uri) -> Option<Response> {
        let EventAuth::Oidc(verifier) = &self.auth else {
            return None;
        };
        match verifier.verify(headers, uri).await {
            Ok(caller) => {
                tracing::debug!(
                    caller = caller.email.as_deref().unwrap_or(&caller.subject),
                    "verified the caller of an event request"
                );
                None
            }
            Err(e) => Some(refused(
                &e,
                uri.path(),
                headers.contains_key(header::AUTHORIZATION),
            )),
        }
    }

    async fn reserved(&self, path: &str, request: Request) -> Response {
        let rest = path
            .strip_prefix(RESERVED_PREFIX)
            .unwrap_or_default()
            .trim_end_matches('/');
        let is_event_path = rest == "/events"
            || rest == "/schedule"
            || rest.starts_with("/queue/")
            || rest.starts_with("/schedule/");
        if is_event_path
            && let Some(refusal) = self.authorize(request.headers(), request.uri()).await
        {
            return refusal;
        }
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
}

impl crate::http_host::AnswersAll for CloudRunHost {
    async fn answer(&self, request: Request) -> Response {
        self.handle(request).await
    }
}
