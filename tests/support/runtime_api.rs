//! A local implementation of the AWS Lambda Runtime API (the protocol `lambda_runtime` speaks),
//! to run a real function binary in tests.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::collections::{HashMap, VecDeque};
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
}

#[derive(Default)]
struct Inner {
    pending: Mutex<VecDeque<(String, Bytes)>>,
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
            let deadline =
                SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + Duration::from_secs(30);
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
                HeaderValue::from_static("arn:aws:lambda:us-east-1:123456789012:function:inspect"),
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
    *inner.init_error.lock().unwrap() = Some(String::from_utf8_lossy(&body).into_owned());
    inner.answered.notify_waiters();
    StatusCode::ACCEPTED
}

impl RuntimeApi {
    /// Listens on a free port of 127.0.0.1.
    pub async fn start() -> Self {
        let inner = Arc::new(Inner::default());
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
}
