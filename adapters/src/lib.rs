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
//!
//! The Azure Functions custom-handler and CloudEvents HTTP (Cloud Functions gen2 / Cloud Run)
//! hosts arrive with their providers. [`detect_host`] tells which platform the process
//! runs on.

mod detect;
#[cfg(feature = "lambda")]
pub mod lambda;
pub mod local;

pub use detect::{HostKind, detect_host};
