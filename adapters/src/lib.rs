//! # cloudport-adapters
//!
//! Hosts carry invocations into a [`cloudport_core::App`]. Each knows one host protocol, never a
//! cloud service: the services come from the providers, through the [`cloudport_core::Env`] the
//! host is given.
//!
//! | host | module | selected when |
//! |---|---|---|
//! | local development: HTTP, queue consumers, blob watchers, schedule timers | [`local`] | no platform is detected |
//! | AWS Lambda (Runtime API) | `lambda` (feature `lambda`) | `AWS_LAMBDA_RUNTIME_API` is set |
//! | Azure Functions custom handler | `azure` (feature `azure-functions`) | `FUNCTIONS_CUSTOMHANDLER_PORT` is set |
//! | Cloud Functions (gen2) / Cloud Run: CloudEvents, Pub/Sub push, Cloud Scheduler, HTTP | `cloudrun` (feature `cloudrun`) | `K_SERVICE` is set |
//!
//! [`detect_host`] tells which platform the process runs on; [`logs`] writes `tracing` events as
//! each platform's native structured log lines; `otel` (feature `otel`) exports cloudport's spans
//! to OpenTelemetry.

#[cfg(feature = "azure-functions")]
pub mod azure;
#[cfg(any(feature = "lambda", feature = "cloudrun"))]
mod binding;
#[cfg(feature = "cloudrun")]
pub mod cloudrun;
#[cfg(any(feature = "azure-functions", feature = "cloudrun"))]
mod dead_letter;
mod detect;
#[cfg(any(feature = "azure-functions", feature = "cloudrun"))]
mod http_host;
#[cfg(feature = "lambda")]
pub mod lambda;
pub mod local;
pub mod logs;
#[cfg(feature = "otel")]
pub mod otel;

pub use detect::{HostKind, detect_host};
