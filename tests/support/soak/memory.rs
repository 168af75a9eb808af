//! The memory provider behind the local host, in this process: its queue consumer receives with
//! a lease, acks after the handler, nacks on failure, and the queue's dead-letter policy moves a
//! message after 5 deliveries. Faults come from the memory provider's fault injection: receive,
//! ack and nack errors, lost ack responses, failed and half-done dead-letter moves. There is no
//! emulator: its restart is an outage in which every queue operation fails for 1.5 s. The
//! consumer is "killed" by dropping the running host (its tasks aborted mid-batch) and started
//! again on the same memory world.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use cloudport::ReceiveOptions;
use cloudport::hosts::local::{LocalHost, RunningApp};
use cloudport::memory::{Fault, Memory};
use cloudport::prelude::*;

use super::app::{self, Body, Journal};
use super::{Platform, Profile, note};

const MAX_DELIVERIES: u32 = 5;

pub struct MemoryPlatform {
    memory: Memory,
    env: Env,
    journal: Arc<Journal>,
    dir: PathBuf,
    running: Option<RunningApp>,
    generation: u32,
    injected: BTreeMap<&'static str, u32>,
    sends: usize,
    injections: usize,
    dead_letter_ids: HashSet<String>,
}

impl MemoryPlatform {
    pub async fn start() -> Self {
        let dir = super::run_dir("memory");
        let memory = Memory::new();
        let env = Env::builder()
            .provider(memory.clone())
            .vars([(
                "CLOUDPORT_QUEUE_SOAK",
                format!("mem://soak?dead_letter=mem://soak-dlq&max_deliveries={MAX_DELIVERIES}"),
            )])
            .build();
        let journal = Arc::new(
            Journal::open(dir.join("journal.log"), "host-1")
                .unwrap_or_else(|e| panic!("journal: {e}")),
        );
        let mut platform = Self {
            memory,
            env,
            journal,
            dir,
            running: None,
            generation: 1,
            injected: BTreeMap::new(),
            sends: 0,
            injections: 0,
            dead_letter_ids: HashSet::new(),
        };
        platform.start_host().await;
        platform
    }

    async fn start_host(&mut self) {
        let host = LocalHost::new()
            .lease(Duration::from_secs(2))
            .receive_wait(Duration::from_millis(50))
            .max_retry_delay(Duration::from_millis(200));
        self.running = Some(
            host.start(app::app(self.journal.clone()), self.env.clone())
                .await
                .unwrap_or_else(|e| panic!("local host: {e}")),
        );
    }
}

type Kind = (&'static str, fn() -> Fault);

/// The faults injected now and then, in turn (a dead-letter one every tenth time: their
/// operation is rare).
const FREQUENT: [Kind; 4] = [
    ("receive failed", || {
        Fault::error(ErrorKind::Unavailable)
            .on_operation("queue.receive")
            .on_resource("soak")
    }),
    ("ack failed past its retries", || {
        Fault::error(ErrorKind::Unavailable)
            .on_operation("queue.ack")
            .on_resource("soak")
            .times(3)
    }),
    ("ack response lost", || {
        Fault::response_lost()
            .on_operation("queue.ack")
            .on_resource("soak")
    }),
    ("nack failed past its retries", || {
        Fault::error(ErrorKind::Unavailable)
            .on_operation("queue.nack")
            .on_resource("soak")
            .times(3)
    }),
];
const RARE: [Kind; 2] = [
    ("dead-letter send failed", || {
        Fault::error(ErrorKind::Unavailable)
            .on_operation("queue.send")
            .on_resource("soak-dlq")
            .times(3)
    }),
    ("dead-letter send response lost", || {
        Fault::response_lost()
            .on_operation("queue.send")
            .on_resource("soak-dlq")
    }),
];

impl MemoryPlatform {
    /// One fault per 20 messages sent, while fewer than 3 are pending: their density follows the
    /// stream (a fault per unit of time would pile onto the few messages of a slow moment).
    fn inject_fault(&mut self) {
        self.sends += 1;
        if !self.sends.is_multiple_of(2) || self.memory.faults().pending() >= 3 {
            return;
        }
        self.injections += 1;
        let n = self.injections;
        let (what, fault) = if n.is_multiple_of(10) {
            RARE[(n / 10) % RARE.len()]
        } else {
            FREQUENT[n % FREQUENT.len()]
        };
        self.memory.faults().inject(fault());
        *self.injected.entry(what).or_default() += 1;
    }
}

impl Platform for MemoryPlatform {
    fn profile(&self) -> Profile {
        Profile {
            name: "memory — the local host's queue consumer (in process)",
            reports_delivery_counts: true,
            redelivery_reason: "the ack failed (injected faults), the lease ended and the queue redelivered",
            restart_note: "no emulator: every queue operation failed for 1.5 s (injected outage) with messages in flight",
            max_outstanding: 200,
            restart_keeps_state: true,
        }
    }

    fn journal(&self) -> PathBuf {
        self.journal.path().to_owned()
    }

    async fn send(&mut self, bodies: &[Body]) {
        self.inject_fault();
        let producer = self.memory.queue(app::QUEUE);
        send_all(&producer, bodies).await;
    }

    async fn drain_dead_letters(&mut self) -> Vec<u64> {
        drain(&self.memory.queue("soak-dlq"), &mut self.dead_letter_ids).await
    }

    async fn kill_consumer(&mut self) -> (String, String) {
        let killed = format!("host-{}", self.generation);
        // Dropped, not shut down: its tasks are aborted wherever they are, as a killed process.
        drop(self.running.take());
        self.generation += 1;
        let new = format!("host-{}", self.generation);
        self.journal.set_instance(new.clone());
        self.start_host().await;
        (killed, new)
    }

    async fn restart_emulator(&mut self) {
        // Not `times(u32::MAX)`: `Faults::pending` sums the times in a u32 (and overflows).
        self.memory.faults().inject(
            Fault::error(ErrorKind::Unavailable)
                .on_operation("queue")
                .times(1_000_000),
        );
        tokio::time::sleep(Duration::from_millis(1500)).await;
        // Ends the outage (and drops the other pending faults; sends inject more).
        self.memory.faults().clear();
    }

    async fn crashed(&mut self) -> Option<(String, String)> {
        None
    }

    fn stats(&self) -> Vec<String> {
        let list: Vec<String> = self
            .injected
            .iter()
            .map(|(k, n)| format!("{n}× {k}"))
            .collect();
        vec![format!("injected faults: {}", list.join(", "))]
    }

    async fn stop(&mut self) {
        self.memory.faults().clear();
        if let Some(running) = self.running.take() {
            let _ = running.shutdown().await;
        }
    }

    fn run_dir(&self) -> PathBuf {
        self.dir.clone()
    }
}

/// Sends every body as a JSON message, re-sending the ones whose send failed.
pub async fn send_all(queue: &Queue, bodies: &[Body]) {
    let mut pending: Vec<&Body> = bodies.iter().collect();
    for attempt in 0..600 {
        if pending.is_empty() {
            return;
        }
        let messages: Vec<Message> = pending
            .iter()
            .map(|b| {
                Message::json(b)
                    .unwrap_or_else(|e| panic!("body: {e}"))
                    .with_content_type("application/json")
            })
            .collect();
        let results = queue.send_batch(messages).await;
        let mut failed = Vec::new();
        for (body, result) in pending.iter().zip(results) {
            if let Err(e) = result {
                if attempt % 20 == 0 {
                    note(&format!("  send of {} failed (retrying): {e}", body.id));
                }
                failed.push(*body);
            }
        }
        pending = failed;
        if !pending.is_empty() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    panic!("{} messages could not be sent in 60 s", pending.len());
}

/// Receives and acks everything in `dlq` now; the ids of the bodies. A message read again (its
/// ack failed) is counted once: `seen` holds the message ids read so far.
pub async fn drain(dlq: &Queue, seen: &mut HashSet<String>) -> Vec<u64> {
    let mut ids = Vec::new();
    for _ in 0..1000 {
        let got = match dlq
            .receive(
                ReceiveOptions::default()
                    .max_messages(10)
                    .wait(Duration::ZERO),
            )
            .await
        {
            Ok(got) => got,
            Err(_) => break,
        };
        if got.is_empty() {
            break;
        }
        for m in got {
            let body: Body = match m.json() {
                Ok(b) => b,
                Err(e) => panic!("a dead-letter message that is no soak body: {e}"),
            };
            if seen.insert(m.id.clone()) {
                ids.push(body.id);
            }
            let _ = dlq.ack(&m).await;
        }
    }
    ids
}
