//! The GCP emulator fixture shared by the GCP provider's tests: the Pub/Sub and Firestore
//! emulators and fake-gcs-server, as `./scripts/test.sh` starts them (their `*_EMULATOR_HOST`
//! variables; defaults are the script's ports).
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use cloudport_core::conformance::Fixture;
use cloudport_core::export::async_trait;
use cloudport_core::{Bucket, KvStore, Queue};
use cloudport_gcp::{Gcp, Settings};

pub const PROJECT: &str = "cloudport-test";

pub fn settings() -> Settings {
    let var =
        |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_owned());
    Settings {
        project: Some(PROJECT.to_owned()),
        pubsub_emulator: Some(var("PUBSUB_EMULATOR_HOST", "127.0.0.1:8085")),
        storage_emulator: Some(var("STORAGE_EMULATOR_HOST", "http://127.0.0.1:4443")),
    }
}

/// The GCP provider pointed at the emulators. Firestore's client reads
/// `FIRESTORE_EMULATOR_HOST` itself: the test command exports it.
pub fn gcp() -> Gcp {
    assert!(
        std::env::var("FIRESTORE_EMULATOR_HOST").is_ok(),
        "FIRESTORE_EMULATOR_HOST must point at the Firestore emulator (./scripts/test.sh sets it)"
    );
    Gcp::with_settings(settings())
}

pub struct Emulators {
    pub gcp: Gcp,
    next: AtomicU32,
    run: String,
}

impl Emulators {
    pub fn new() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        Self {
            gcp: gcp(),
            next: AtomicU32::new(0),
            run: format!("{:x}", nanos & 0xffff_ffff),
        }
    }

    pub fn unique(&self, kind: &str) -> String {
        format!(
            "cp-{kind}-{}-{}",
            self.run,
            self.next.fetch_add(1, Ordering::Relaxed)
        )
    }

    /// A topic with a pull subscription of the same name plus `-sub`.
    pub async fn create_queue(&self, name: &str) -> cloudport_gcp::PubSubQueue {
        let sub = format!("{name}-sub");
        let queue = self.gcp.pubsub_queue(PROJECT, name, Some(&sub)).unwrap();
        let client = queue.client().await.unwrap();
        client.create_topic(name, None, None).await.unwrap();
        client
            .create_subscription(
                &sub,
                name,
                cloudport_gcp::sdk::pubsub::subscription::SubscriptionConfig {
                    ack_deadline_seconds: 10,
                    ..Default::default()
                },
                None,
            )
            .await
            .unwrap();
        queue
    }

    pub async fn create_bucket(&self, name: &str) -> cloudport_gcp::GcsBucket {
        use cloudport_gcp::sdk::storage::http::buckets::insert::{
            BucketCreationConfig, InsertBucketParam, InsertBucketRequest,
        };
        let bucket = self.gcp.gcs_bucket(name).unwrap();
        bucket
            .client()
            .await
            .unwrap()
            .insert_bucket(&InsertBucketRequest {
                name: name.to_owned(),
                param: InsertBucketParam {
                    project: PROJECT.to_owned(),
                    ..Default::default()
                },
                bucket: BucketCreationConfig::default(),
            })
            .await
            .unwrap();
        bucket
    }

    pub fn kv_store(&self, partition: &str) -> cloudport_gcp::FirestoreKv {
        self.gcp
            .firestore_kv(PROJECT, "cloudport", partition, None)
            .unwrap()
    }
}

#[async_trait]
impl Fixture for Emulators {
    async fn queue(&self) -> Queue {
        Queue::new(self.create_queue(&self.unique("q")).await)
    }

    async fn bucket(&self) -> Bucket {
        Bucket::new(self.create_bucket(&self.unique("b")).await)
    }

    async fn kv(&self) -> KvStore {
        KvStore::new(self.kv_store(&self.unique("kv").replace('-', "_")))
    }

    async fn advance(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }

    fn known_gap(&self, gap: &str) -> Option<&'static str> {
        match gap {
            "limits.queue.attribute_value_over_1024" => Some(
                "the Pub/Sub emulator does not enforce attribute rules (Pub/Sub: INVALID_ARGUMENT)",
            ),
            "limits.blob.metadata_over_8kib" | "limits.blob.acme_challenge_prefix" => Some(
                "fake-gcs-server does not enforce Cloud Storage's metadata size or reserved names",
            ),
            "blob.copy.condition" => Some(
                "fake-gcs-server 1.54 ignores preconditions on copy (fixed upstream in #2343); Cloud Storage honours ifGenerationMatch and the driver sends it",
            ),
            _ => None,
        }
    }
}
