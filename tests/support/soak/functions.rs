//! Azure Storage Queues on Azurite behind the Azure Functions custom-handler host, with this
//! soak playing the Functions host as `tests/azure_functions_e2e.rs` does, with the settings of the
//! manifest the deploy tool generates from the binary's description (`host.json`'s
//! `maxDequeueCount`, the trigger's `dataType`):
//! dequeue 16 at a time under a visibility timeout, Base64-decode, POST each invocation to
//! `/queue-soak`, 16 at a time, delete on 2xx, make visible again at once on failure, copy to
//! `<queue>-poison` and delete after `maxDequeueCount` dequeues. When the worker process dies the
//! host fails its invocations and waits for the restarted worker before it invokes again. The
//! queue's portable dead-letter policy (`?dead_letter=azqueue://…-dlq&max_deliveries=5`) moves a
//! message first (the manifest raises `maxDequeueCount` above it). Azurite persists to disk here,
//! so it is restarted (SIGTERM, started again on the same ports and folder) with messages in
//! flight.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use cloudport::azure::sdk::queue::models::{QueueClientReceiveMessagesOptions, ReceivedMessage};
use cloudport::azure::{Azure, AzureQueue, DEVELOPMENT_ACCOUNT};
use cloudport::{Provider, Queue, ResourceUrl};
use serde_json::json;
use tokio::sync::watch;

use super::app::{self, Body, JOURNAL_VAR};
use super::memory::{drain, send_all};
use super::process::{Process, free_port, program, tail, wait_port};
use super::{Platform, Profile};

const MAX_DELIVERIES: u32 = 5;
/// The visibility timeout of a dequeued batch.
const VISIBILITY_SECS: i32 = 10;
const DEVELOPMENT_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// The description the re-executed test binary printed among libtest's own lines: from the line
/// `{` to the line `}` (it is pretty-printed).
fn description_in(output: &str) -> cloudport::app::Description {
    let start = output
        .find("\n{\n")
        .map(|i| i + 1)
        .unwrap_or_else(|| panic!("no description in: {output}"));
    let end = output[start..]
        .find("\n}\n")
        .map(|i| start + i + 2)
        .unwrap_or_else(|| panic!("no end of the description in: {output}"));
    cloudport_cli::describe::parse(&output.as_bytes()[start..end])
        .unwrap_or_else(|e| panic!("the description: {e}"))
}

#[derive(Default)]
struct Stats {
    invocations: AtomicU64,
    failed: AtomicU64,
    unreachable: AtomicU64,
    poisoned: AtomicU64,
    receive_errors: AtomicU64,
    settle_errors: AtomicU64,
}

pub struct FunctionsPlatform {
    dir: PathBuf,
    journal: PathBuf,
    azurite: Process,
    queue_port: u16,
    function: Process,
    stop: watch::Sender<bool>,
    player: tokio::task::JoinHandle<()>,
    stats: Arc<Stats>,
    producer: Queue,
    dlq: Queue,
    poison: Queue,
    dead_letter_ids: HashSet<String>,
    max_dequeue: i64,
}

/// The Functions host's view of the queue trigger.
#[derive(Clone)]
struct Host {
    queue: Arc<AzureQueue>,
    poison: Arc<AzureQueue>,
    http: reqwest::Client,
    url: String,
    port: u16,
    binary: bool,
    max_dequeue: i64,
    stats: Arc<Stats>,
}

impl FunctionsPlatform {
    pub async fn start() -> Self {
        let dir = super::run_dir("azure");
        let journal = dir.join("journal.log");
        let queue_port = free_port();
        let azurite_bin = program("CLOUDPORT_AZURITE", || {
            let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("scripts/azurite/node_modules/.bin/azurite-queue");
            p.exists().then_some(p)
        });
        // azurite (all services) or azurite-queue: the queue service is the one used.
        let azurite_bin = match azurite_bin.file_name().and_then(|n| n.to_str()) {
            Some("azurite") => azurite_bin.with_file_name("azurite-queue"),
            _ => azurite_bin,
        };
        let data = dir.join("azurite");
        std::fs::create_dir_all(&data).unwrap();
        let args: Vec<String> = [
            "--silent",
            "--disableTelemetry",
            "--skipApiVersionCheck",
            "--queueHost",
            "127.0.0.1",
            "--queuePort",
            &queue_port.to_string(),
            "--location",
            &data.display().to_string(),
        ]
        .map(str::to_owned)
        .to_vec();
        let mut azurite =
            Process::spawn("azurite", azurite_bin, &args, &[], &dir.join("azurite.log"));
        assert!(
            wait_port(queue_port, Duration::from_secs(30)).await,
            "Azurite did not start: {}",
            tail(azurite.log(), 20)
        );
        if let Some(status) = azurite.exited() {
            panic!("Azurite exited: {status}");
        }
        let connection = format!(
            "DefaultEndpointsProtocol=http;AccountName={DEVELOPMENT_ACCOUNT};AccountKey={DEVELOPMENT_KEY};QueueEndpoint=http://127.0.0.1:{queue_port}/{DEVELOPMENT_ACCOUNT};"
        );
        let azure = Azure::from_connection_string(connection.clone());
        let name = format!("soak-{:x}", app::now_ms() % 0xffff_ffff);
        let open = |n: &str| {
            azure
                .open_queue(
                    &ResourceUrl::parse(&format!(
                        "azqueue://{DEVELOPMENT_ACCOUNT}/{n}?poison=false"
                    ))
                    .unwrap(),
                )
                .unwrap()
        };
        let native = |n: &str| Arc::new(azure.queue(DEVELOPMENT_ACCOUNT, n, None).unwrap());
        let (queue, poison) = (native(&name), native(&format!("{name}-poison")));
        for q in [
            queue.clone(),
            poison.clone(),
            native(&format!("{name}-dlq")),
        ] {
            q.create()
                .await
                .unwrap_or_else(|e| panic!("create queue: {e}"));
        }

        let binding = format!(
            "azqueue://{DEVELOPMENT_ACCOUNT}/{name}?dead_letter=azqueue://{DEVELOPMENT_ACCOUNT}/{name}-dlq&max_deliveries={MAX_DELIVERIES}"
        );
        // The manifest the deploy tool generates from the binary's description
        // (`CLOUDPORT_DESCRIBE=1`) and the binding: what the Functions host would be configured
        // with.
        let log = dir.join("describe.log");
        let mut describe = Process::function(
            &[
                ("CLOUDPORT_DESCRIBE", "1".to_owned()),
                (
                    JOURNAL_VAR,
                    dir.join("describe.journal").display().to_string(),
                ),
            ]
            .map(|(k, v)| (k.to_owned(), v)),
            &log,
        );
        assert!(
            describe.wait().await.success(),
            "describing the app: {}",
            tail(&log, 20)
        );
        let description = description_in(&std::fs::read_to_string(&log).unwrap());
        let bindings = |var: &str| (var == "CLOUDPORT_QUEUE_SOAK").then(|| binding.clone());
        let options = cloudport_cli::azure::ManifestOptions::new("soak");
        let manifest = cloudport_cli::azure::manifest(&description, &options, bindings)
            .unwrap_or_else(|e| panic!("the Azure manifest: {e}"));
        let host_json = manifest.host_json().clone();
        let function_json = manifest.function_json("queue-soak").unwrap().clone();
        let max_dequeue = host_json["extensions"]["queues"]["maxDequeueCount"]
            .as_i64()
            .unwrap_or(5);
        let binary = function_json["bindings"][0]["dataType"] == "binary";

        let port = free_port();
        let env: Vec<(String, String)> = [
            ("FUNCTIONS_CUSTOMHANDLER_PORT", port.to_string()),
            ("FUNCTIONS_WORKER_RUNTIME", "custom".to_owned()),
            ("AzureWebJobsStorage", connection),
            ("CLOUDPORT_QUEUE_SOAK", binding),
            (JOURNAL_VAR, journal.display().to_string()),
        ]
        .map(|(k, v)| (k.to_owned(), v))
        .to_vec();
        let function = Process::function(&env, &dir.join("function.log"));
        assert!(
            wait_port(port, Duration::from_secs(30)).await,
            "the custom handler did not listen: {}",
            tail(function.log(), 20)
        );
        let stats = Arc::new(Stats::default());
        let host = Host {
            queue,
            poison,
            http: reqwest::Client::new(),
            url: format!("http://127.0.0.1:{port}/queue-soak"),
            port,
            binary,
            max_dequeue,
            stats: stats.clone(),
        };
        let (stop, stop_rx) = watch::channel(false);
        let player = tokio::spawn(host.run(stop_rx));
        Self {
            dir,
            journal,
            azurite,
            queue_port,
            function,
            stop,
            player,
            stats,
            producer: open(&name),
            dlq: open(&format!("{name}-dlq")),
            poison: open(&format!("{name}-poison")),
            dead_letter_ids: HashSet::new(),
            max_dequeue,
        }
    }
}

enum Invoked {
    Succeeded,
    Failed,
    /// No worker answered (it was killed): the invocation failed.
    Unreachable,
}

impl Host {
    async fn run(self, stop: watch::Receiver<bool>) {
        while !*stop.borrow() {
            let Ok(client) = self.queue.client() else {
                self.stats.receive_errors.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            };
            let got = client
                .receive_messages(Some(QueueClientReceiveMessagesOptions {
                    number_of_messages: Some(16),
                    visibility_timeout: Some(VISIBILITY_SECS),
                    ..Default::default()
                }))
                .await
                .ok()
                .and_then(|r| r.into_model().ok());
            let Some(got) = got else {
                self.stats.receive_errors.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            };
            let messages = got.items.unwrap_or_default();
            if messages.is_empty() {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
            let results =
                futures::future::join_all(messages.into_iter().map(|m| self.handle(m))).await;
            if results.iter().any(|r| matches!(r, Invoked::Unreachable)) {
                // The worker died: the host starts it again and waits for it.
                wait_port(self.port, Duration::from_secs(30)).await;
            }
        }
    }

    async fn handle(&self, m: ReceivedMessage) -> Invoked {
        let (Some(id), Some(receipt)) = (m.message_id.clone(), m.pop_receipt.clone()) else {
            return Invoked::Failed;
        };
        let text = m.message_text.clone().unwrap_or_default();
        let count = m.dequeue_count.unwrap_or(1);
        let message = super::functions_host::bind_message(&text, self.binary);
        let payload = json!({
            "Data": { "message": message },
            "Metadata": {
                "DequeueCount": count.to_string(),
                "Id": serde_json::to_string(&id).unwrap(),
                "PopReceipt": serde_json::to_string(&receipt).unwrap(),
                "sys": "{\"MethodName\":\"queue-soak\"}"
            }
        });
        self.stats.invocations.fetch_add(1, Ordering::Relaxed);
        let outcome = match self.http.post(&self.url).json(&payload).send().await {
            Ok(rsp) if rsp.status().is_success() => Invoked::Succeeded,
            Ok(_) => Invoked::Failed,
            Err(_) => Invoked::Unreachable,
        };
        let Ok(client) = self.queue.client() else {
            return outcome;
        };
        let settled = match outcome {
            Invoked::Succeeded => client.delete_message(&id, &receipt, None).await.map(drop),
            _ if count >= self.max_dequeue => {
                self.stats.poisoned.fetch_add(1, Ordering::Relaxed);
                let poison = match self.poison.client() {
                    Ok(p) => p,
                    Err(_) => return outcome,
                };
                match super::functions_host::send_to_poison(&poison, text).await {
                    Ok(()) => client.delete_message(&id, &receipt, None).await.map(drop),
                    Err(e) => Err(e),
                }
            }
            _ => client
                .update_message(&id, &receipt, 0, None)
                .await
                .map(drop),
        };
        match outcome {
            Invoked::Succeeded => {}
            Invoked::Failed => {
                self.stats.failed.fetch_add(1, Ordering::Relaxed);
            }
            Invoked::Unreachable => {
                self.stats.unreachable.fetch_add(1, Ordering::Relaxed);
            }
        }
        if settled.is_err() {
            // The visibility timeout ends by itself: the message comes back.
            self.stats.settle_errors.fetch_add(1, Ordering::Relaxed);
        }
        outcome
    }
}

impl Platform for FunctionsPlatform {
    fn profile(&self) -> Profile {
        Profile {
            name: "azure (Azurite) — the Functions custom-handler host, driven by a Functions-host player on a real queue",
            reports_delivery_counts: true,
            redelivery_reason: "the visibility timeout ended before the host deleted it",
            restart_note: "Azurite (persisting to disk) restarted — SIGTERM, started again on its port and folder — with messages in flight",
            max_outstanding: 500,
            restart_keeps_state: true,
        }
    }

    fn journal(&self) -> PathBuf {
        self.journal.clone()
    }

    async fn send(&mut self, bodies: &[Body]) {
        send_all(&self.producer, bodies).await;
    }

    async fn drain_dead_letters(&mut self) -> Vec<u64> {
        let mut ids = drain(&self.dlq, &mut self.dead_letter_ids).await;
        ids.extend(drain(&self.poison, &mut self.dead_letter_ids).await);
        ids
    }

    async fn kill_consumer(&mut self) -> (String, String) {
        super::kill_and_restart(&mut self.function, || {}).await
    }

    async fn restart_emulator(&mut self) {
        let (grace, within) = (Duration::from_secs(10), Duration::from_secs(30));
        super::restart_emulator(&mut self.azurite, grace, self.queue_port, within, "Azurite").await;
    }

    async fn crashed(&mut self) -> Option<(String, String)> {
        super::restart_if_exited(&mut self.function, || {})
    }

    fn stats(&self) -> Vec<String> {
        let s = &self.stats;
        let n = |a: &AtomicU64| a.load(Ordering::Relaxed);
        vec![format!(
            "Functions host: {} invocations ({} failed, {} while the worker was down), {} poisoned (maxDequeueCount {}), {} receive errors, {} delete/update errors",
            n(&s.invocations),
            n(&s.failed),
            n(&s.unreachable),
            n(&s.poisoned),
            self.max_dequeue,
            n(&s.receive_errors),
            n(&s.settle_errors)
        )]
    }

    async fn stop(&mut self) {
        let _ = self.stop.send(true);
        let _ = tokio::time::timeout(Duration::from_secs(5), &mut self.player).await;
        self.player.abort();
        self.function.kill().await;
        self.azurite.kill().await;
    }

    fn run_dir(&self) -> PathBuf {
        self.dir.clone()
    }
}
