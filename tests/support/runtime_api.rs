//! A local implementation of the AWS Lambda Runtime API (the protocol `lambda_runtime` speaks),
//! to run a real function binary in tests (the e2e tests, the secrets canary, the Lambda soak).
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use tokio::sync::Notify;

/// What the function answered to one invocation.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// `POST …/response`: the function's result.
    Response(serde_json::Value),
    /// `POST …/error`: the error it reported.
    Error(serde_json::Value),
    /// The runtime died with the invocation in flight ([`RuntimeApi::crash_in_flight`]).
    Crashed,
}

/// The function the Runtime API stands for: its name (in its ARN) and timeout (each
/// invocation's deadline).
#[derive(Debug, Clone, Copy)]
pub struct Function {
    pub name: &'static str,
    pub timeout: Duration,
}

impl Default for Function {
    fn default() -> Self {
        Self {
            name: "inspect",
            timeout: Duration::from_secs(30),
        }
    }
}

#[derive(Default)]
struct Inner {
    function: Function,
    pending: Mutex<VecDeque<(String, Bytes)>>,
    /// Taken by the runtime (`next`), not answered yet.
    in_flight: Mutex<HashSet<String>>,
    arrived: Notify,
    outcomes: Mutex<HashMap<String, Outcome>>,
    answered: Notify,
    init_error: Mutex<Option<String>>,
    next_id: Mutex<u64>,
}

/// The Runtime API server.
#[derive(Clone)]
pub struct RuntimeApi {
    addr: SocketAddr,
    inner: Arc<Inner>,
}

async fn next(State(inner): State<Arc<Inner>>) -> impl IntoResponse {
    loop {
        let notified = inner.arrived.notified();
        let item = inner.pending.lock().unwrap().pop_front();
        if let Some((id, payload)) = item {
            inner.in_flight.lock().unwrap().insert(id.clone());
            let deadline =
                SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + inner.function.timeout;
            let mut headers = HeaderMap::new();
            headers.insert(
                "lambda-runtime-aws-request-id",
                HeaderValue::from_str(&id).unwrap(),
            );
            headers.insert(
                "lambda-runtime-deadline-ms",
                HeaderValue::from_str(&deadline.as_millis().to_string()).unwrap(),
            );
            headers.insert(
                "lambda-runtime-invoked-function-arn",
                HeaderValue::from_str(&format!(
                    "arn:aws:lambda:us-east-1:123456789012:function:{}",
                    inner.function.name
                ))
                .unwrap(),
            );
            headers.insert(
                "lambda-runtime-trace-id",
                HeaderValue::from_static(
                    "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
                ),
            );
            headers.insert("content-type", HeaderValue::from_static("application/json"));
            return (StatusCode::OK, headers, payload);
        }
        notified.await;
    }
}

fn record(inner: &Inner, id: String, outcome: Outcome) -> StatusCode {
    inner.in_flight.lock().unwrap().remove(&id);
    inner.outcomes.lock().unwrap().insert(id, outcome);
    inner.answered.notify_waiters();
    StatusCode::ACCEPTED
}

async fn response(
    State(inner): State<Arc<Inner>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    let value = serde_json::from_slice(&body)
        .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(&body).into_owned()));
    record(&inner, id, Outcome::Response(value))
}

async fn error(State(inner): State<Arc<Inner>>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    let value = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    record(&inner, id, Outcome::Error(value))
}

async fn init_error(State(inner): State<Arc<Inner>>, body: Bytes) -> StatusCode {
    let error = String::from_utf8_lossy(&body).into_owned();
    eprintln!("  the function failed to initialize: {error}");
    *inner.init_error.lock().unwrap() = Some(error);
    inner.answered.notify_waiters();
    StatusCode::ACCEPTED
}

impl RuntimeApi {
    /// Listens on a free port of 127.0.0.1, for the default [`Function`].
    pub async fn start() -> Self {
        Self::start_for(Function::default()).await
    }

    /// Listens on a free port of 127.0.0.1, for `function`.
    pub async fn start_for(function: Function) -> Self {
        let inner = Arc::new(Inner {
            function,
            ..Inner::default()
        });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { addr, inner }
    }

    /// `host:port`, for `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// Queues an invocation; returns its request id.
    pub fn enqueue(&self, payload: impl Into<Bytes>) -> String {
        let id = {
            let mut n = self.inner.next_id.lock().unwrap();
            *n += 1;
            format!("req-{n}")
        };
        self.inner
            .pending
            .lock()
            .unwrap()
            .push_back((id.clone(), payload.into()));
        self.inner.arrived.notify_waiters();
        id
    }

    /// Waits for the function's answer to invocation `id`.
    pub async fn outcome(&self, id: &str, within: Duration) -> Outcome {
        let wait = async {
            loop {
                let notified = self.inner.answered.notified();
                if let Some(o) = self.inner.outcomes.lock().unwrap().get(id).cloned() {
                    return o;
                }
                if let Some(e) = self.inner.init_error.lock().unwrap().clone() {
                    panic!("the function failed to initialize: {e}");
                }
                notified.await;
            }
        };
        tokio::time::timeout(within, wait)
            .await
            .unwrap_or_else(|_| panic!("no answer to {id} in {within:?}"))
    }

    /// Invokes and waits up to 30 s.
    pub async fn invoke(&self, payload: serde_json::Value) -> Outcome {
        let id = self.enqueue(payload.to_string());
        self.outcome(&id, Duration::from_secs(30)).await
    }

    /// Invokes as Lambda does with a timeout: `None` when the function does not answer within
    /// `within` (then the invocation is dropped, and a late answer ignored). An init error is
    /// printed, not raised: the invocation times out.
    pub async fn try_invoke(
        &self,
        payload: serde_json::Value,
        within: Duration,
    ) -> Option<Outcome> {
        let id = self.enqueue(payload.to_string());
        let wait = async {
            loop {
                let notified = self.inner.answered.notified();
                if let Some(o) = self.inner.outcomes.lock().unwrap().remove(&id) {
                    return o;
                }
                notified.await;
            }
        };
        let got = tokio::time::timeout(within, wait).await.ok();
        if got.is_none() {
            self.inner.pending.lock().unwrap().retain(|(p, _)| *p != id);
            self.inner.in_flight.lock().unwrap().remove(&id);
        }
        got
    }

    /// The runtime died: every invocation it had taken fails ([`Outcome::Crashed`]), as Lambda
    /// reports `Runtime exited with error: signal: killed`.
    pub fn crash_in_flight(&self) {
        let ids: Vec<String> = self.inner.in_flight.lock().unwrap().drain().collect();
        for id in ids {
            record(&self.inner, id, Outcome::Crashed);
        }
    }
}
