//! `cargo cloudport`: packages a cloudport app for a cloud.
//!
//! `cargo cloudport package --cloud aws --example quickstart --out dist/` builds the app for AWS
//! Lambda (`provided.al2023`, glibc ≤ 2.34, with `cargo zigbuild`), runs it once with
//! `CLOUDPORT_DESCRIBE=1` to read what it declares ([`cloudport_core::app::Description`]),
//! checks the binary's glibc needs, and writes `function.zip`, a plain CloudFormation
//! `template.json` (least-privilege role, queues with dead-letter queues, buckets, tables,
//! triggers, schedules, Function URL, dashboard, alarms, budget), `description.json` and
//! `DEPLOY.md`. An app that declares no access (`App::uses`) is refused, with the declarations
//! to add.
//!
//! `cargo cloudport up --local --cloud azure|gcp|aws --example NAME` creates what the app
//! declares on the local emulators and prints its bindings ([`up`]).
//!
//! Azure: [`azure::manifest`] writes the Functions host's `host.json` and `function.json` files
//! from the same description.
//!
//! The generators are plain functions of the description, so they are tested without a cloud:
//!
//! ```
//! use cloudport_cli::aws::{AwsOptions, template};
//! let description = cloudport_cli::describe::parse(br#"{
//!     "cloudport_description": 1, "sdk_version": "0.1.0", "http": false, "any_event": false,
//!     "triggers": [{"kind": "queue", "name": "jobs"}], "declared": true,
//!     "resources": [{"kind": "queue", "name": "jobs", "access": ["consume"],
//!                    "dead_letter": {"queue": "jobs-dlq", "max_deliveries": 3},
//!                    "declaration": "queue(\"jobs\").consume()"}],
//!     "limits": {}
//! }"#).unwrap();
//! let t = template(&description, &AwsOptions::new("jobs")).unwrap();
//! assert_eq!(t["Resources"]["QueueJobs"]["Type"], "AWS::SQS::Queue");
//! assert_eq!(t["Resources"]["QueueJobs"]["Properties"]["RedrivePolicy"]["maxReceiveCount"], 3);
//! ```

pub mod adr;
pub mod archive;
pub mod args;
pub mod aws;
pub mod azure;
pub mod build;
pub mod ci;
pub mod cost;
pub mod cron;
pub mod describe;
pub mod elf;
mod error;
pub mod gcp;
pub mod model;
pub mod package;
pub mod up;

pub use error::{Error, Result};
