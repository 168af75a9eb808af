//! Google Cloud: a container image (`Dockerfile`) for Cloud Run and Terraform JSON
//! (`main.tf.json`, `variables.tf.json`, `outputs.tf.json`) generated from the app's description.
//!
//! What is generated, by file:
//!
//! | file | what |
//! |---|---|
//! | [`run`] | the Cloud Run v2 service: runtime service account, limits, bindings, event auth |
//! | [`pubsub`] | a topic and one subscription per queue (push to the service for a trigger, else pull), dead-letter policies and topics |
//! | [`storage`] | buckets; Eventarc triggers for blob triggers |
//! | [`firestore`] | the app's Firestore database, a TTL policy on `expires_at` per store |
//! | [`scheduler`] | a Cloud Scheduler job per schedule, with OIDC |
//! | [`iam`] | the role table and the bindings, each at its narrowest scope |
//! | [`observability`], [`budget`] | log-based metrics, dashboard, alert policies; the budget |
//! | [`dockerfile`], [`deploy`] | the image; `DEPLOY.md` and [`write_package`] |
//!
//! Deterministic: every object's keys are sorted. Every resource that takes labels carries
//! `cloudport-function = <service>`, which the budget filters by.
//!
//! ```
//! use cloudport_cli::gcp::{GcpOptions, terraform};
//! let d = cloudport_cli::describe::parse(br#"{
//!     "cloudport_description": 1, "sdk_version": "0.1.0", "http": false, "any_event": false,
//!     "triggers": [{"kind": "queue", "name": "jobs"}], "declared": true,
//!     "resources": [{"kind": "queue", "name": "jobs", "access": ["consume"],
//!                    "dead_letter": {"queue": "jobs-dlq", "max_deliveries": 5},
//!                    "declaration": "queue(\"jobs\").consume()"}],
//!     "limits": {}
//! }"#).unwrap();
//! let tf = terraform(&d, &GcpOptions::new("jobs")).unwrap();
//! let sub = &tf.main["resource"]["google_pubsub_subscription"]["queue_jobs"];
//! assert_eq!(sub["dead_letter_policy"]["max_delivery_attempts"], 5);
//! ```

pub mod budget;
pub mod deploy;
pub mod dockerfile;
pub mod firestore;
pub mod iam;
pub mod model;
pub mod names;
pub mod observability;
pub mod package;
pub mod pubsub;
pub mod run;
pub mod scheduler;
pub mod storage;

use std::collections::BTreeMap;

use cloudport_core::app::Description;
use serde_json::{Map, Value, json};

use crate::Result;
pub use deploy::{Packaged, write_package};
pub use model::Model;

/// The label on every resource that takes labels: `cloudport-function = <service>`.
pub const LABEL_KEY: &str = "cloudport-function";

/// The newest glibc the image has: Debian 12's 2.36 (`gcr.io/distroless/cc-debian12`; source:
/// <https://packages.debian.org/bookworm/libc6>). Check the binary with
/// `elf::check_glibc(binary, &GlibcVersion::new(2, 36))`.
pub const IMAGE_GLIBC: (u32, u32) = (2, 36);

/// Deployment choices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GcpOptions {
    /// The Cloud Run service name (also the prefix of every resource's name).
    pub service_name: String,
    /// Whether the app's HTTP routes are public (`allUsers` get `roles/run.invoker`, and the host
    /// verifies event callers itself) rather than private (callers need `roles/run.invoker`, and
    /// Cloud Run verifies every caller).
    pub public: bool,
}

impl GcpOptions {
    /// A private service named `service_name`.
    pub fn new(service_name: impl Into<String>) -> Self {
        Self {
            service_name: service_name.into(),
            public: false,
        }
    }
}

/// The Terraform files being built.
#[derive(Debug, Default)]
pub struct Tf {
    /// `resource` blocks: type → local name → body.
    pub resources: BTreeMap<String, Map<String, Value>>,
    /// `data` blocks: type → local name → body.
    pub data: BTreeMap<String, Map<String, Value>>,
    /// `output` blocks.
    pub outputs: Map<String, Value>,
    /// `locals`.
    pub locals: Map<String, Value>,
    /// The service's `CLOUDPORT_*` variables (name → value).
    pub env: BTreeMap<String, String>,
    /// The bindings.
    pub bindings: iam::Bindings,
    /// Service accounts allowed to call the event paths (Terraform local names).
    pub invokers: Vec<String>,
    /// Subscriptions holding dead letters, to alarm on: (local name, the dead-letter queue).
    pub dead_letters: Vec<(String, String)>,
}

impl Tf {
    /// Adds (or replaces) a resource.
    pub fn resource(&mut self, ty: &str, name: &str, body: Value) {
        self.resources
            .entry(ty.to_owned())
            .or_default()
            .insert(name.to_owned(), body);
    }

    /// Adds (or replaces) a data source.
    pub fn data(&mut self, ty: &str, name: &str, body: Value) {
        self.data
            .entry(ty.to_owned())
            .or_default()
            .insert(name.to_owned(), body);
    }

    /// Adds an output.
    pub fn output(&mut self, name: &str, description: &str, value: &str) {
        self.outputs.insert(
            name.to_owned(),
            json!({ "description": description, "value": value }),
        );
    }

    /// Whether a resource exists.
    pub fn has(&self, ty: &str, name: &str) -> bool {
        self.resources.get(ty).is_some_and(|m| m.contains_key(name))
    }
}

/// Records in a block why checkov's check `id` does not apply to it, in the block's `//` comment
/// (Terraform ignores a `//` property in any block body:
/// <https://developer.hashicorp.com/terraform/language/syntax/json#comment-properties>):
/// `checkov:skip=ID:reason`, one per line — the form
/// checkov reads from HCL comments. checkov's `terraform_json` framework does not read skips from
/// JSON (3.3: its runner passes no skip list), so the test and `DEPLOY.md` match each failed
/// check against these comments.
pub fn skip_check(block: &mut Value, id: &str, reason: &str) {
    let line = format!("checkov:skip={id}:{reason}");
    let text = match block.get("//").and_then(Value::as_str) {
        Some(prev) => format!("{prev}\n{line}"),
        None => line,
    };
    block["//"] = json!(text);
}

/// The checkov skips recorded in `block`: (check id, reason).
///
/// ```
/// use cloudport_cli::gcp::{skip_check, skips};
/// let mut b = serde_json::json!({});
/// skip_check(&mut b, "CKV_GCP_62", "access logs are not kept");
/// assert_eq!(skips(&b), [("CKV_GCP_62".to_owned(), "access logs are not kept".to_owned())]);
/// ```
pub fn skips(block: &Value) -> Vec<(String, String)> {
    block
        .get("//")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.strip_prefix("checkov:skip="))
        .filter_map(|l| l.split_once(':'))
        .map(|(id, reason)| (id.to_owned(), reason.to_owned()))
        .collect()
}

/// The labels of every resource that takes them.
pub fn labels(m: &Model<'_>) -> Value {
    json!({ LABEL_KEY: m.service })
}

/// The generated Terraform, by file.
#[derive(Debug, Clone, PartialEq)]
pub struct Terraform {
    /// `main.tf.json`: settings, provider, data sources, resources.
    pub main: Value,
    /// `variables.tf.json`.
    pub variables: Value,
    /// `outputs.tf.json`.
    pub outputs: Value,
}

impl Terraform {
    /// (file name, content) for each file.
    pub fn files(&self) -> [(&'static str, &Value); 3] {
        [
            ("main.tf.json", &self.main),
            ("variables.tf.json", &self.variables),
            ("outputs.tf.json", &self.outputs),
        ]
    }
}

/// The Terraform of `d`.
pub fn terraform(d: &Description, o: &GcpOptions) -> Result<Terraform> {
    let m = Model::new(d, o)?;
    let mut t = Tf::default();
    t.data(
        "google_project",
        "project",
        json!({ "project_id": "${var.project}" }),
    );
    run::accounts(&m, &mut t)?;
    pubsub::add(&m, &mut t)?;
    storage::add(&m, &mut t)?;
    firestore::add(&m, &mut t)?;
    scheduler::add(&m, &mut t)?;
    run::add(&m, &mut t)?;
    observability::add(&m, &mut t)?;
    budget::add(&m, &mut t)?;
    let database = m.database_local();
    for (ty, name, body) in t.bindings.resources(database.as_deref()) {
        t.resource(ty, &name, body);
    }
    let blocks = |map: &BTreeMap<String, Map<String, Value>>| {
        Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), Value::Object(v.clone())))
                .collect(),
        )
    };
    let main = json!({
        "//": format!(
            "cloudport app {} (description v{}, cloudport {}), generated by cargo-cloudport {} from what the code declares",
            m.service, d.cloudport_description, d.sdk_version, env!("CARGO_PKG_VERSION")
        ),
        // No `required_version`: checkov 3.3's terraform_json parser fails on a plain attribute
        // of the `terraform` block (it reads every entry as a block).
        "terraform": {
            "required_providers": {
                "google": { "source": "hashicorp/google", "version": ">= 6.10, < 8.0" }
            }
        },
        "provider": { "google": { "project": "${var.project}", "region": "${var.region}" } },
        "data": blocks(&t.data),
        "locals": Value::Object(t.locals),
        "resource": blocks(&t.resources),
    });
    Ok(Terraform {
        main: crate::aws::sorted(main),
        variables: crate::aws::sorted(variables()),
        outputs: crate::aws::sorted(json!({ "output": Value::Object(t.outputs) })),
    })
}

fn variables() -> Value {
    json!({ "variable": {
        "project": {
            "type": "string",
            "description": "The Google Cloud project id to deploy to"
        },
        "region": {
            "type": "string",
            "default": "us-central1",
            "description": "The region of the service, the buckets, the scheduler jobs, the Eventarc triggers and the Firestore database"
        },
        "image": {
            "type": "string",
            "description": "The container image built from Dockerfile (REGION-docker.pkg.dev/PROJECT/REPOSITORY/NAME:TAG)"
        },
        "billing_account": {
            "type": "string",
            "default": "",
            "description": "The billing account id (XXXXXX-XXXXXX-XXXXXX) for the budget; empty: no budget (creating one needs billing.budgets.create on the billing account)"
        }
    }})
}
