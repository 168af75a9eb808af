//! The Azurite fixture shared by the Azure provider's emulator tests.
#![allow(dead_code, unreachable_pub)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use cloudport_azure::{Azure, DEVELOPMENT_ACCOUNT};
use cloudport_core::conformance::Fixture;
use cloudport_core::export::async_trait;
use cloudport_core::{Bucket, KvStore, Queue};

pub mod identity;

/// The connection string of the Azurite the tests use (scripts/emulators.sh starts it and sets
/// `CLOUDPORT_TEST_AZURITE`; the default is Azurite's default ports).
pub fn connection_string() -> String {
    std::env::var("CLOUDPORT_TEST_AZURITE").unwrap_or_else(|_| "UseDevelopmentStorage=true".into())
}

/// The Azure provider pointed at Azurite.
pub fn azure() -> Azure {
    Azure::from_connection_string(connection_string())
}

pub const ACCOUNT: &str = DEVELOPMENT_ACCOUNT;
pub const KV_TABLE: &str = "cloudportconformance";

pub struct Azurite {
    pub azure: Azure,
    /// The connection setting resources name (`?connection=`): `None` for the defaults.
    pub setting: Option<String>,
    next: AtomicU32,
    run: String,
}

impl Azurite {
    pub fn new() -> Self {
        Self::with(azure(), None)
    }

    /// Azurite with OAuth over https, reached by an identity-based connection: the settings of
    /// `CLOUDPORT_TEST_AZURITE_OAUTH` (service URIs, `managedidentity`, the client id) and the
    /// managed-identity endpoint of [`identity`], which this starts. No key is involved.
    pub fn identity() -> Self {
        identity::start();
        Self::with(Azure::from_env(), Some(identity::setting()))
    }

    fn with(azure: Azure, setting: Option<String>) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        Self {
            azure,
            setting,
            next: AtomicU32::new(0),
            run: format!("{:x}", nanos & 0xffff_ffff),
        }
    }

    /// A unique lowercase name valid for queues and containers.
    pub fn unique(&self, kind: &str) -> String {
        format!(
            "cp-{kind}-{}-{}",
            self.run,
            self.next.fetch_add(1, Ordering::Relaxed)
        )
    }

    pub async fn create_queue(&self, name: &str) -> cloudport_azure::AzureQueue {
        let queue = self
            .azure
            .queue(ACCOUNT, name, self.setting.as_deref())
            .expect("queue name");
        queue.create().await.expect("create queue");
        queue
    }

    pub async fn create_container(&self, name: &str) -> cloudport_azure::AzureContainer {
        let container = self
            .azure
            .container(ACCOUNT, name, self.setting.as_deref())
            .expect("container name");
        container.create().await.expect("create container");
        container
    }

    pub async fn table(&self, partition: &str) -> cloudport_azure::AzureTable {
        let table = self
            .azure
            .table(ACCOUNT, KV_TABLE, partition, self.setting.as_deref())
            .expect("table name");
        table.create_table().await.expect("create table");
        table
    }
}

#[async_trait]
impl Fixture for Azurite {
    async fn queue(&self) -> Queue {
        Queue::new(self.create_queue(&self.unique("q")).await)
    }

    async fn bucket(&self) -> Bucket {
        Bucket::new(self.create_container(&self.unique("b")).await)
    }

    async fn kv(&self) -> KvStore {
        KvStore::new(self.table(&self.unique("kv")).await)
    }

    async fn advance(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }

    fn known_gap(&self, gap: &str) -> Option<&'static str> {
        match gap {
            "limits.blob.metadata_over_8kib" => {
                Some("Azurite does not enforce Blob storage's 8 KB metadata limit")
            }
            _ => None,
        }
    }
}
