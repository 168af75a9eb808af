//! Pub/Sub on its emulator behind the Cloud Run host: a real push subscription POSTs each
//! message to the running service's `/_cloudport/events`; a 2xx answer acknowledges it, anything
//! else (or no answer: the process was killed) makes the emulator push it again. The
//! subscription has Pub/Sub's own dead-letter policy (5 delivery attempts, to `<topic>-dlq`),
//! and the binding the portable one (`?dead_letter=gcppubsub://…-dlq&max_deliveries=5`): Pub/Sub
//! tells the host the delivery attempt only under a dead-letter policy, and the emulator's push
//! tells none, so there the subscription's policy moves the messages. The emulator keeps no state
//! across a restart: it is restarted at a quiet point and the topics and subscriptions created
//! again. The service runs with `CLOUDPORT_EVENT_AUTH=platform`: the emulator's push carries no
//! OIDC token.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use cloudport::gcp::sdk::googleapis::pubsub::v1::{DeadLetterPolicy, PushConfig};
use cloudport::gcp::sdk::pubsub::subscription::SubscriptionConfig;
use cloudport::gcp::{Gcp, Settings};
use cloudport::{Provider, Queue, ResourceUrl};

use super::app::{self, Body, JOURNAL_VAR};
use super::memory::{drain, send_all};
use super::process::{Process, free_port, program, tail, wait_port};
use super::{Platform, Profile};

const PROJECT: &str = "cloudport-soak";
const MAX_DELIVERIES: i32 = 5;

pub struct CloudRunPlatform {
    dir: PathBuf,
    journal: PathBuf,
    emulator: Process,
    emulator_port: u16,
    service: Process,
    service_port: u16,
    topic: String,
    producer: Queue,
    dlq: Queue,
    dead_letter_ids: HashSet<String>,
    restarts: u32,
}

fn gcp(emulator_port: u16) -> Gcp {
    Gcp::with_settings(Settings {
        project: Some(PROJECT.into()),
        pubsub_emulator: Some(format!("127.0.0.1:{emulator_port}")),
        storage_emulator: None,
    })
}

/// The topic, its dead-letter topic with a pull subscription to read it, and the push
/// subscription into the service.
async fn create_resources(emulator_port: u16, topic: &str, service_port: u16) {
    let admin = gcp(emulator_port)
        .pubsub_queue(PROJECT, topic, None)
        .unwrap();
    let client = admin.client().await.unwrap();
    let dlq = format!("{topic}-dlq");
    for t in [topic, dlq.as_str()] {
        client
            .create_topic(t, None, None)
            .await
            .unwrap_or_else(|e| panic!("create topic {t}: {e}"));
    }
    client
        .create_subscription(
            &format!("{dlq}-read"),
            &dlq,
            SubscriptionConfig::default(),
            None,
        )
        .await
        .unwrap_or_else(|e| panic!("create the dead-letter subscription: {e}"));
    client
        .create_subscription(
            &format!("{topic}-push"),
            topic,
            SubscriptionConfig {
                push_config: Some(PushConfig {
                    push_endpoint: format!("http://127.0.0.1:{service_port}/_cloudport/events"),
                    ..Default::default()
                }),
                ack_deadline_seconds: 10,
                dead_letter_policy: Some(DeadLetterPolicy {
                    dead_letter_topic: format!("projects/{PROJECT}/topics/{dlq}"),
                    max_delivery_attempts: MAX_DELIVERIES,
                }),
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap_or_else(|e| panic!("create the push subscription: {e}"));
}

fn open(emulator_port: u16, url: &str) -> Queue {
    gcp(emulator_port)
        .open_queue(&ResourceUrl::parse(url).unwrap())
        .unwrap()
}

impl CloudRunPlatform {
    pub async fn start() -> Self {
        let dir = super::run_dir("gcp");
        let journal = dir.join("journal.log");
        let emulator_port = free_port();
        let jar = program("CLOUDPORT_PUBSUB_EMULATOR_JAR", || {
            let out = std::process::Command::new("dpkg")
                .args(["-L", "google-cloud-cli-pubsub-emulator"])
                .output()
                .ok()?;
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .find(|l| l.ends_with("all.jar"))
                .map(PathBuf::from)
        });
        let args: Vec<String> = [
            "-jar".to_owned(),
            jar.display().to_string(),
            "--host=127.0.0.1".to_owned(),
            format!("--port={emulator_port}"),
        ]
        .to_vec();
        let java = super::process::on_path("java").unwrap_or_else(|| PathBuf::from("java"));
        let mut emulator =
            Process::spawn("pubsub", java, &args, &[], &dir.join("pubsub-emulator.log"));
        assert!(
            wait_port(emulator_port, Duration::from_secs(60)).await,
            "the Pub/Sub emulator did not start: {}",
            tail(emulator.log(), 20)
        );
        if let Some(status) = emulator.exited() {
            panic!("the Pub/Sub emulator exited: {status}");
        }
        let topic = format!("soak-{:x}", app::now_ms() % 0xffff_ffff);
        let service_port = free_port();
        let env: Vec<(String, String)> = [
            ("PORT", service_port.to_string()),
            ("K_SERVICE", "soak".to_owned()),
            ("K_REVISION", "soak-00001".to_owned()),
            ("GOOGLE_CLOUD_PROJECT", PROJECT.to_owned()),
            ("PUBSUB_EMULATOR_HOST", format!("127.0.0.1:{emulator_port}")),
            (
                "CLOUDPORT_QUEUE_SOAK",
                format!(
                    "gcppubsub://projects/{PROJECT}/topics/{topic}?subscription={topic}-push&dead_letter=gcppubsub://projects/{PROJECT}/topics/{topic}-dlq&max_deliveries={MAX_DELIVERIES}"
                ),
            ),
            // The emulator's push sends no OIDC token.
            ("CLOUDPORT_EVENT_AUTH", "platform".to_owned()),
            (JOURNAL_VAR, journal.display().to_string()),
        ]
        .map(|(k, v)| (k.to_owned(), v))
        .to_vec();
        let service = Process::function(&env, &dir.join("service.log"));
        assert!(
            wait_port(service_port, Duration::from_secs(30)).await,
            "the service did not listen: {}",
            tail(service.log(), 20)
        );
        create_resources(emulator_port, &topic, service_port).await;
        let producer = open(
            emulator_port,
            &format!("gcppubsub://projects/{PROJECT}/topics/{topic}"),
        );
        let dlq = open(
            emulator_port,
            &format!(
                "gcppubsub://projects/{PROJECT}/topics/{topic}-dlq?subscription={topic}-dlq-read"
            ),
        );
        Self {
            dir,
            journal,
            emulator,
            emulator_port,
            service,
            service_port,
            topic,
            producer,
            dlq,
            dead_letter_ids: HashSet::new(),
            restarts: 0,
        }
    }
}

impl Platform for CloudRunPlatform {
    fn profile(&self) -> Profile {
        Profile {
            name: "gcp (Pub/Sub emulator) — the Cloud Run host behind a real push subscription",
            // The emulator's push envelopes carry no deliveryAttempt.
            reports_delivery_counts: false,
            redelivery_reason: "Pub/Sub pushed it again (no 2xx answer reached it in time)",
            restart_note: "the Pub/Sub emulator restarted (SIGTERM, started again on its port, topics and subscriptions re-created) at a quiet point: it keeps no state, so everything sent before was first handled or dead-lettered; the service, the producer and the dead-letter reader reconnected",
            max_outstanding: 500,
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
        let killed_and_new = super::kill_and_restart(&mut self.service, || {}).await;
        wait_port(self.service_port, Duration::from_secs(30)).await;
        killed_and_new
    }

    async fn restart_emulator(&mut self) {
        let (grace, within) = (Duration::from_secs(10), Duration::from_secs(60));
        let what = "the Pub/Sub emulator";
        super::restart_emulator(&mut self.emulator, grace, self.emulator_port, within, what).await;
        self.restarts += 1;
        create_resources(self.emulator_port, &self.topic, self.service_port).await;
    }

    async fn crashed(&mut self) -> Option<(String, String)> {
        super::restart_if_exited(&mut self.service, || {})
    }

    fn stats(&self) -> Vec<String> {
        vec![
            "dead-lettering: by the push subscription's own policy (the emulator's push carries no deliveryAttempt, so the portable policy cannot count)".to_owned(),
        ]
    }

    async fn stop(&mut self) {
        self.service.kill().await;
        self.emulator.kill().await;
    }

    fn run_dir(&self) -> PathBuf {
        self.dir.clone()
    }
}
