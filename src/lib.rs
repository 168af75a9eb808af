//! # cloudport
//!
//! Write serverless functions once; run them on **AWS Lambda**, **Azure Functions** and **Google
//! Cloud Functions**, and unit-test them on an **in-memory provider**.
//!
//! - Pick the cloud with a cargo feature (`aws`, `azure`, `gcp`; `memory` is always on).
//! - Bind logical resources by URL: `CLOUDPORT_QUEUE_ORDERS=sqs://orders` or `mem://orders`.
//!   Moving clouds is a build and deploy change, never a code change.
//! - Triggers arrive as [CloudEvents](https://cloudevents.io) with the same type and data shape on
//!   every provider.
//!
//! ```
//! use cloudport::prelude::*;
//!
//! #[derive(Deserialize, Serialize)]
//! struct Order { id: String, total_cents: u64 }
//!
//! async fn on_order(event: Event<QueueMessage>, env: Env) -> Result<()> {
//!     let order: Order = event.data().json()?;
//!     env.kv("orders")?.put_json(&order.id, &order, Precondition::IfAbsent).await?;
//!     env.bucket("receipts")?.put(format!("{}.json", order.id), format!("paid {}", order.total_cents)).await?;
//!     Ok(())
//! }
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<()> {
//! let app = App::new().on_queue("orders", on_order);
//!
//! // In a unit test: the same handler on the memory provider.
//! let env = Env::memory();
//! let event = QueueMessage::new("orders", "m-1", r#"{"id":"42","total_cents":1250}"#)
//!     .to_cloudevent("mem://orders");
//! app.dispatch(&env, &Trigger::Queue("orders".into()), event).await?;
//! assert!(env.kv("orders")?.get("42").await?.is_some());
//! # Ok(()) }
//! // In main: `app.run().await` picks Lambda, Azure, Cloud Run or the local host.
//! ```

pub use cloudport_adapters as hosts;
/// The AWS provider (feature `aws`): SQS, S3, DynamoDB.
#[cfg(feature = "aws")]
pub use cloudport_aws as aws;
/// The Azure provider (feature `azure`): Storage Queues, Blob Storage, Table Storage.
#[cfg(feature = "azure")]
pub use cloudport_azure as azure;
pub use cloudport_core::*;
/// The GCP provider (feature `gcp`): Pub/Sub, Cloud Storage, Firestore.
#[cfg(feature = "gcp")]
pub use cloudport_gcp as gcp;
pub use cloudport_memory as memory;
#[cfg(feature = "testing")]
pub mod testing;

use cloudport_adapters::{HostKind, detect_host, local::LocalHost};

/// Re-exported crates whose types appear in cloudport's API.
pub use cloudport_core::export::{axum, bytes, cloudevents};

/// The environment a host builds when the app brings none: every compiled-in provider, bindings
/// from the process environment, and — for the local host only — unbound names on the memory
/// provider (`mem://<name>`). On a cloud host an unbound name is an error naming its variable.
pub fn default_env(host: HostKind) -> Env {
    let builder = providers(Env::builder());
    match host {
        HostKind::Local => builder.fallback_scheme("mem").build(),
        _ => builder.build(),
    }
}

fn providers(builder: EnvBuilder) -> EnvBuilder {
    let builder = builder.provider(cloudport_memory::Memory::new());
    #[cfg(feature = "aws")]
    let builder = builder.provider(cloudport_aws::Aws::from_env());
    #[cfg(feature = "azure")]
    let builder = builder.provider(cloudport_azure::Azure::from_env());
    #[cfg(feature = "gcp")]
    let builder = builder.provider(cloudport_gcp::Gcp::from_env());
    builder
}

/// Constructors of [`Env`] that need the providers (`Env::memory()`).
pub trait EnvExt {
    /// A fresh memory world for tests: every name opens `mem://<name>` in it, and bindings
    /// (`CLOUDPORT_*` variables) are ignored.
    fn memory() -> Env;

    /// An environment on this memory world (to inspect it, move its clock or inject faults).
    fn on_memory(memory: &cloudport_memory::Memory) -> Env;
}

impl EnvExt for Env {
    fn memory() -> Env {
        Self::on_memory(&cloudport_memory::Memory::new())
    }

    fn on_memory(memory: &cloudport_memory::Memory) -> Env {
        let builder = Env::builder()
            .provider(memory.clone())
            .vars(std::iter::empty::<(String, String)>())
            .fallback_scheme("mem");
        let clock = memory.clock().clone();
        if clock.is_manual() {
            builder.virtual_clock(move || clock.now()).build()
        } else {
            builder.build()
        }
    }
}

/// Running an [`App`] on the host the process finds itself on.
#[allow(async_fn_in_trait)]
pub trait AppExt {
    /// Runs on AWS Lambda, Azure Functions, Cloud Functions / Cloud Run, or locally — detected
    /// from the environment (see [`hosts::detect_host`]). A cloud host whose cargo feature is not
    /// enabled is an `Unsupported` error naming the feature.
    async fn run(self) -> Result<()>;
}

impl AppExt for App {
    async fn run(self) -> Result<()> {
        // `CLOUDPORT_DESCRIBE=1`: the description for the deploy tool, and nothing opened.
        if describe_requested() {
            return print_description(&self);
        }
        let host = detect_host(|v| std::env::var(v).ok());
        // Secrets of the environment (keys, tokens, connection strings) never reach a log line,
        // an error text or an HTTP body (`cloudport::redact`).
        cloudport_core::redact::register_secrets_from_env();
        // The platform's native structured log lines (human-readable ones locally, on stderr) and
        // OpenTelemetry export when configured — redacted — unless the app set a subscriber.
        cloudport_adapters::logs::init(host);
        let env = self.env().cloned().unwrap_or_else(|| default_env(host));
        match host {
            HostKind::Local => LocalHost::from_env()?.run(self, env).await,
            #[cfg(feature = "aws")]
            HostKind::Lambda => cloudport_adapters::lambda::run(self, env).await,
            #[cfg(feature = "azure")]
            HostKind::AzureFunctions => cloudport_adapters::azure::run(self, env).await,
            #[cfg(feature = "gcp")]
            HostKind::CloudRun => cloudport_adapters::cloudrun::run(self, env).await,
            #[allow(
                unreachable_patterns,
                reason = "reachable unless every cloud feature is on"
            )]
            other => Err(Error::unsupported(format!(
                "this process runs on {other:?}; its host needs the cargo feature {:?} of the cloudport crate",
                other.feature().unwrap_or_default()
            ))),
        }
    }
}

/// Whether the process was asked to describe its app (`CLOUDPORT_DESCRIBE=1`,
/// [`app::DESCRIBE_VAR`]): [`AppExt::run`] then prints the app's [`app::Description`] as JSON on
/// stdout and returns without opening anything. A `main` that does something else on the local
/// host (a demo, say) hands over to `run` when this is true, as the quickstart does.
///
/// ```
/// assert!(!cloudport::describe_requested() || std::env::var("CLOUDPORT_DESCRIBE").is_ok());
/// ```
pub fn describe_requested() -> bool {
    std::env::var(app::DESCRIBE_VAR).is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
}

#[allow(
    clippy::print_stdout,
    reason = "the description is the process's output"
)]
fn print_description(app: &App) -> Result<()> {
    app.validate()?;
    let json = serde_json::to_string_pretty(&app.describe())
        .map_err(|e| Error::new(ErrorKind::Other, format!("describing the app: {e}")))?;
    println!("{json}");
    Ok(())
}

/// What function code usually needs: `use cloudport::prelude::*;`.
pub mod prelude {
    pub use crate::access::{bucket, kv, queue, topic};
    pub use crate::app::{Budget, Limits};
    pub use crate::event::{BlobEvent, BlobEventKind, Event, QueueMessage, ScheduleTick};
    pub use crate::idempotency::Idempotency;
    pub use crate::{
        App, AppExt, Bucket, Env, EnvExt, Error, ErrorKind, KvPut, KvStore, Message, Precondition,
        Queue, Result, Schedule, Topic, Trigger,
    };
    pub use serde::{Deserialize, Serialize};
}
