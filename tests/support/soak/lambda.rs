//! SQS on moto behind the Lambda host: the function process runs on a local Lambda Runtime API,
//! fed by a poller that behaves like Lambda's SQS event source mapping with
//! `ReportBatchItemFailures`: receive up to 10 messages under a visibility timeout, invoke the
//! function with the SQS event, delete the messages not listed in `batchItemFailures`, and delete
//! nothing when the invocation fails, times out or its runtime dies — those messages come back
//! when their visibility timeout ends, with `ApproximateReceiveCount` one higher. The queue's
//! portable dead-letter policy (`?dead_letter=sqs://…-dlq&max_deliveries=5`) is applied by the
//! Lambda host. moto keeps no state across a restart, so it is restarted at a quiet point.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use cloudport::Queue;
use cloudport::aws::sdk::sqs::Client;
use cloudport::aws::sdk::sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName};
use cloudport::aws::{Aws, Settings};
use serde_json::{Value, json};
use tokio::sync::watch;

use super::app::{self, Body, JOURNAL_VAR};
use super::memory::{drain, send_all};
use super::process::{Process, free_port, on_path, program, wait_port};
use super::runtime_api::{Function, Outcome, RuntimeApi};
use super::{Platform, Profile};

const MAX_DELIVERIES: u32 = 5;
/// The queue's visibility timeout (the event source mapping's lease on a batch).
const VISIBILITY: Duration = Duration::from_secs(3);
/// The function's timeout: the deadline the Runtime API gives each invocation.
const FUNCTION_TIMEOUT: Duration = Duration::from_millis(2500);

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

        let api = RuntimeApi::start_for(Function {
            name: "soak",
            timeout: FUNCTION_TIMEOUT,
        })
        .await;
        let env: Vec<(String, String)> = [
            ("AWS_LAMBDA_RUNTIME_API", api.address()),
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
            .try_invoke(
                json!({ "Records": records }),
                FUNCTION_TIMEOUT + Duration::from_millis(300),
            )
            .await;
        let failed: HashSet<String> = match answer {
            Some(Outcome::Response(v)) => v["batchItemFailures"]
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
                    Some(Outcome::Crashed) => stats.crashed.fetch_add(1, Ordering::Relaxed),
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
    fn profile(&self) -> Profile {
        Profile {
            name: "aws (moto) — the Lambda host on a local Runtime API, fed by an SQS event source mapping with partial batch responses",
            reports_delivery_counts: true,
            redelivery_reason: "the visibility timeout ended before the event source mapping deleted it",
            restart_note: "moto restarted (SIGTERM, started again on its port, queues re-created) at a quiet point: it keeps no state, so everything sent before was first handled or dead-lettered; the event source mapping, the function and the producer reconnected",
            max_outstanding: 300,
            restart_keeps_state: false,
        }
    }

    fn journal(&self) -> PathBuf {
        self.journal.clone()
    }

    async fn send(&mut self, bodies: &[Body]) {
        send_all(&self.producer, bodies).await;
    }

    async fn drain_dead_letters(&mut self) -> Vec<u64> {
        drain(&self.dlq, &mut self.dead_letter_ids).await
    }

    async fn kill_consumer(&mut self) -> (String, String) {
        let api = &self.api;
        super::kill_and_restart(&mut self.function, || api.crash_in_flight()).await
    }

    async fn restart_emulator(&mut self) {
        let (grace, within) = (Duration::from_secs(5), Duration::from_secs(30));
        super::restart_emulator(&mut self.moto, grace, self.moto_port, within, "moto").await;
        let sqs = self
            .aws
            .sqs_queue(&self.queue, self.settings.clone())
            .unwrap();
        create_queues(sqs.client().await, &self.queue).await;
    }

    async fn crashed(&mut self) -> Option<(String, String)> {
        let api = &self.api;
        super::restart_if_exited(&mut self.function, || api.crash_in_flight())
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
