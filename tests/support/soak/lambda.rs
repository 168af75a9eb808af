//! SQS on moto behind the Lambda host: the function process runs on a local Lambda Runtime API,
//! fed by a poller that behaves like Lambda's SQS event source mapping with
//! `ReportBatchItemFailures`: receive up to 10 messages under a visibility timeout, invoke the
//! function with the SQS event, delete the messages not listed in `batchItemFailures`, and delete
//! nothing when the invocation fails, times out or its runtime dies — those messages come back
//! when their visibility timeout ends, with `ApproximateReceiveCount` one higher. The queue's
//! portable dead-letter policy (`?dead_letter=sqs://…-dlq&max_deliveries=5`) is applied by the
//! Lambda host. moto keeps no state across a restart, so it is restarted at a quiet point.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use cloudport::Queue;
use cloudport::aws::sdk::sqs::Client;
use cloudport::aws::sdk::sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName};
use cloudport::aws::{Aws, Settings};
use serde_json::{Value, json};
use tokio::sync::{Notify, oneshot, watch};

use super::app::{self, Body, JOURNAL_VAR};
use super::memory::{drain, send_all};
use super::process::{Process, free_port, on_path, program, wait_port};
use super::{Platform, note};

const MAX_DELIVERIES: u32 = 5;
/// The queue's visibility timeout (the event source mapping's lease on a batch).
const VISIBILITY: Duration = Duration::from_secs(3);
/// The function's timeout: the deadline the Runtime API gives each invocation.
const FUNCTION_TIMEOUT: Duration = Duration::from_millis(2500);

/// How the Runtime API saw an invocation end.
#[derive(Debug)]
enum Answer {
    Response(Value),
    Error(Value),
    /// The runtime process died with the invocation in flight.
    Crashed,
}

#[derive(Default)]
struct Inner {
    pending: Mutex<VecDeque<(String, Bytes)>>,
    arrived: Notify,
    waiting: Mutex<HashMap<String, oneshot::Sender<Answer>>>,
    in_flight: Mutex<HashSet<String>>,
    next_id: AtomicU64,
}

/// A Lambda Runtime API for one execution environment.
#[derive(Clone)]
struct RuntimeApi {
    address: String,
    inner: Arc<Inner>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn next(State(inner): State<Arc<Inner>>) -> impl IntoResponse {
    loop {
        let notified = inner.arrived.notified();
        let item = lock(&inner.pending).pop_front();
        if let Some((id, payload)) = item {
            lock(&inner.in_flight).insert(id.clone());
            let deadline = SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + FUNCTION_TIMEOUT;
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
                HeaderValue::from_static("arn:aws:lambda:us-east-1:123456789012:function:soak"),
            );
            headers.insert("content-type", HeaderValue::from_static("application/json"));
            return (StatusCode::OK, headers, payload);
        }
        notified.await;
    }
}

fn answer(inner: &Inner, id: &str, a: Answer) -> StatusCode {
    lock(&inner.in_flight).remove(id);
    if let Some(tx) = lock(&inner.waiting).remove(id) {
        let _ = tx.send(a);
    }
    StatusCode::ACCEPTED
}

async fn response(
    State(inner): State<Arc<Inner>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    answer(&inner, &id, Answer::Response(value))
}

async fn error(State(inner): State<Arc<Inner>>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    answer(&inner, &id, Answer::Error(value))
}

async fn init_error(body: Bytes) -> StatusCode {
    note(&format!(
        "  the function failed to initialize: {}",
        String::from_utf8_lossy(&body)
    ));
    StatusCode::ACCEPTED
}

impl RuntimeApi {
    async fn start() -> Self {
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
        let address = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { address, inner }
    }

    /// Invokes the function; `None` when it does not answer within `within` (Lambda's timeout).
    async fn invoke(&self, payload: Value, within: Duration) -> Option<Answer> {
        let id = format!(
            "req-{}",
            self.inner.next_id.fetch_add(1, Ordering::SeqCst) + 1
        );
        let (tx, rx) = oneshot::channel();
        lock(&self.inner.waiting).insert(id.clone(), tx);
        lock(&self.inner.pending).push_back((id.clone(), payload.to_string().into()));
        self.inner.arrived.notify_waiters();
        let got = tokio::time::timeout(within, rx).await;
        lock(&self.inner.waiting).remove(&id);
        lock(&self.inner.pending).retain(|(p, _)| *p != id);
        lock(&self.inner.in_flight).remove(&id);
        got.ok().and_then(Result::ok)
    }

    /// The runtime died: every invocation it had taken fails, as Lambda reports
    /// `Runtime exited with error: signal: killed`.
    fn crash_in_flight(&self) {
        let ids: Vec<String> = lock(&self.inner.in_flight).drain().collect();
        for id in ids {
            answer(&self.inner, &id, Answer::Crashed);
        }
    }
}

#[derive(Default)]
struct Stats {
    invocations: AtomicU64,
    failed_invocations: AtomicU64,
    timed_out: AtomicU64,
    crashed: AtomicU64,
    receive_errors: AtomicU64,
    delete_errors: AtomicU64,
    partial_failures: AtomicU64,
}

pub struct LambdaPlatform {
    dir: PathBuf,
    journal: PathBuf,
    queue: String,
    moto: Process,
    moto_port: u16,
    aws: Aws,
    settings: Settings,
    function: Process,
    api: RuntimeApi,
    stop: watch::Sender<bool>,
    poller: tokio::task::JoinHandle<()>,
    stats: Arc<Stats>,
    producer: Queue,
    dlq: Queue,
    dead_letter_ids: HashSet<String>,
}

async fn create_queues(client: &Client, queue: &str) {
    for name in [queue.to_owned(), format!("{queue}-dlq")] {
        let mut last = None;
        for _ in 0..50 {
            match client.create_queue().queue_name(&name).send().await {
                Ok(_) => {
                    last = None;
                    break;
                }
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if let Some(e) = last {
            panic!("create queue {name} on moto: {e:?}");
        }
    }
}

impl LambdaPlatform {
    pub async fn start() -> Self {
        let dir = super::run_dir("aws");
        let journal = dir.join("journal.log");
        let moto_port = free_port();
        let moto_bin = program("CLOUDPORT_MOTO_SERVER", || on_path("moto_server"));
        let mut moto = Process::spawn(
            "moto",
            moto_bin,
            &["-H", "127.0.0.1", "-p", &moto_port.to_string()].map(str::to_owned),
            &[],
            &dir.join("moto.log"),
        );
        assert!(
            wait_port(moto_port, Duration::from_secs(30)).await,
            "moto did not start: {}",
            super::process::tail(moto.log(), 20)
        );
        if let Some(status) = moto.exited() {
            panic!("moto exited: {status}");
        }
        let endpoint = format!("http://127.0.0.1:{moto_port}");
        let aws = Aws::for_emulator(&endpoint);
        let settings = Settings {
            region: None,
            endpoint: Some(endpoint.clone()),
        };
        let queue = format!("soak-{:x}", app::now_ms() % 0xffff_ffff);
        let sqs = aws.sqs_queue(&queue, settings.clone()).unwrap();
        let client = sqs.client().await.clone();
        create_queues(&client, &queue).await;
        let queue_url = sqs.queue_url().await.unwrap().to_owned();
        let producer = Queue::new(sqs);
        let dlq = Queue::new(
            aws.sqs_queue(&format!("{queue}-dlq"), settings.clone())
                .unwrap(),
        );

        let api = RuntimeApi::start().await;
        let env: Vec<(String, String)> = [
            ("AWS_LAMBDA_RUNTIME_API", api.address.clone()),
            ("AWS_LAMBDA_FUNCTION_NAME", "soak".to_owned()),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".to_owned()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
            ("AWS_REGION", "us-east-1".to_owned()),
            ("AWS_ACCESS_KEY_ID", "soak".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "soak".to_owned()),
            ("AWS_ENDPOINT_URL", endpoint.clone()),
            (
                "CLOUDPORT_QUEUE_SOAK",
                format!(
                    "sqs://{queue}?dead_letter=sqs://{queue}-dlq&max_deliveries={MAX_DELIVERIES}"
                ),
            ),
            ("CLOUDPORT_METRICS", "off".to_owned()),
            (JOURNAL_VAR, journal.display().to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let function = Process::function(&env, &dir.join("function.log"));

        let (stop, stop_rx) = watch::channel(false);
        let stats = Arc::new(Stats::default());
        let poller = tokio::spawn(event_source_mapping(
            client,
            queue_url,
            queue.clone(),
            api.clone(),
            stats.clone(),
            stop_rx,
        ));
        Self {
            dir,
            journal,
            queue,
            moto,
            moto_port,
            aws,
            settings,
            function,
            api,
            stop,
            poller,
            stats,
            producer,
            dlq,
            dead_letter_ids: HashSet::new(),
        }
    }
}

/// An SQS record as the event source mapping builds it from a received message.
fn record(m: &cloudport::aws::sdk::sqs::types::Message, queue: &str) -> Value {
    let attributes: serde_json::Map<String, Value> = m
        .attributes()
        .map(|a| {
            a.iter()
                .map(|(k, v)| (k.as_str().to_owned(), Value::String(v.clone())))
                .collect()
        })
        .unwrap_or_default();
    let message_attributes: serde_json::Map<String, Value> = m
        .message_attributes()
        .map(|a| {
            a.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        json!({
                            "stringValue": v.string_value(),
                            "stringListValues": [],
                            "binaryListValues": [],
                            "dataType": v.data_type(),
                        }),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    json!({
        "messageId": m.message_id(),
        "receiptHandle": m.receipt_handle(),
        "body": m.body(),
        "attributes": attributes,
        "messageAttributes": message_attributes,
        "md5OfBody": m.md5_of_body(),
        "eventSource": "aws:sqs",
        "eventSourceARN": format!("arn:aws:sqs:us-east-1:123456789012:{queue}"),
        "awsRegion": "us-east-1",
    })
}

/// Lambda's event source mapping for one queue, one batch at a time.
async fn event_source_mapping(
    client: Client,
    queue_url: String,
    queue: String,
    api: RuntimeApi,
    stats: Arc<Stats>,
    stop: watch::Receiver<bool>,
) {
    while !*stop.borrow() {
        let received = client
            .receive_message()
            .queue_url(&queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .visibility_timeout(VISIBILITY.as_secs() as i32)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await;
        let messages = match received {
            Ok(out) => out.messages.unwrap_or_default(),
            Err(_) => {
                stats.receive_errors.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        if messages.is_empty() {
            continue;
        }
        let records: Vec<Value> = messages.iter().map(|m| record(m, &queue)).collect();
        stats.invocations.fetch_add(1, Ordering::Relaxed);
        let answer = api
            .invoke(
                json!({ "Records": records }),
                FUNCTION_TIMEOUT + Duration::from_millis(300),
            )
            .await;
        let failed: HashSet<String> = match answer {
            Some(Answer::Response(v)) => v["batchItemFailures"]
                .as_array()
                .map(|items| {
                    items
                        .iter()
                        .filter_map(|i| i["itemIdentifier"].as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
            other => {
                match other {
                    Some(Answer::Crashed) => stats.crashed.fetch_add(1, Ordering::Relaxed),
                    None => stats.timed_out.fetch_add(1, Ordering::Relaxed),
                    _ => stats.failed_invocations.fetch_add(1, Ordering::Relaxed),
                };
                // The whole batch returns when its visibility timeout ends.
                continue;
            }
        };
        if !failed.is_empty() {
            stats.partial_failures.fetch_add(1, Ordering::Relaxed);
        }
        let entries: Vec<DeleteMessageBatchRequestEntry> = messages
            .iter()
            .enumerate()
            .filter(|(_, m)| !failed.contains(m.message_id().unwrap_or_default()))
            .filter_map(|(i, m)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(m.receipt_handle().unwrap_or_default())
                    .build()
                    .ok()
            })
            .collect();
        if entries.is_empty() {
            continue;
        }
        let deleted = client
            .delete_message_batch()
            .queue_url(&queue_url)
            .set_entries(Some(entries))
            .send()
            .await;
        match deleted {
            Ok(out) if out.failed().is_empty() => {}
            _ => {
                stats.delete_errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

impl Platform for LambdaPlatform {
    fn name(&self) -> String {
        "aws (moto) — the Lambda host on a local Runtime API, fed by an SQS event source mapping with partial batch responses".to_owned()
    }

    fn journal(&self) -> PathBuf {
        self.journal.clone()
    }

    fn reports_delivery_counts(&self) -> bool {
        true
    }

    fn redelivery_reason(&self) -> &'static str {
        "the visibility timeout ended before the event source mapping deleted it"
    }

    fn restart_note(&self) -> String {
        "moto restarted (SIGTERM, started again on its port, queues re-created) at a quiet point: it keeps no state, so everything sent before was first handled or dead-lettered; the event source mapping, the function and the producer reconnected".to_owned()
    }

    fn max_outstanding(&self) -> usize {
        300
    }

    fn restart_keeps_state(&self) -> bool {
        false
    }

    async fn send(&mut self, bodies: &[Body]) {
        send_all(&self.producer, bodies).await;
    }

    async fn drain_dead_letters(&mut self) -> Vec<u64> {
        drain(&self.dlq, &mut self.dead_letter_ids).await
    }

    async fn kill_consumer(&mut self) -> (String, String) {
        let killed = self.function.pid().to_string();
        self.function.kill().await;
        self.api.crash_in_flight();
        let new = self.function.restart().to_string();
        (killed, new)
    }

    async fn restart_emulator(&mut self) {
        self.moto.terminate(Duration::from_secs(5)).await;
        self.moto.restart();
        assert!(
            wait_port(self.moto_port, Duration::from_secs(30)).await,
            "moto did not come back: {}",
            super::process::tail(self.moto.log(), 20)
        );
        let sqs = self
            .aws
            .sqs_queue(&self.queue, self.settings.clone())
            .unwrap();
        create_queues(sqs.client().await, &self.queue).await;
    }

    async fn crashed(&mut self) -> Option<(String, String)> {
        let status = self.function.exited()?;
        let pid = self.function.pid().to_string();
        self.api.crash_in_flight();
        let new = self.function.restart();
        Some((pid, format!("{status}; restarted as {new}")))
    }

    fn stats(&self) -> Vec<String> {
        let s = &self.stats;
        let n = |a: &AtomicU64| a.load(Ordering::Relaxed);
        vec![format!(
            "event source mapping: {} invocations ({} with partial batch failures, {} failed, {} timed out, {} lost to the killed runtime), {} receive errors, {} delete errors",
            n(&s.invocations),
            n(&s.partial_failures),
            n(&s.failed_invocations),
            n(&s.timed_out),
            n(&s.crashed),
            n(&s.receive_errors),
            n(&s.delete_errors)
        )]
    }

    async fn stop(&mut self) {
        let _ = self.stop.send(true);
        let _ = tokio::time::timeout(Duration::from_secs(5), &mut self.poller).await;
        self.poller.abort();
        self.function.kill().await;
        self.moto.kill().await;
    }

    fn run_dir(&self) -> PathBuf {
        self.dir.clone()
    }
}
