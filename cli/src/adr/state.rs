//! Decisions 2 and 3: where each resource lives on each cloud and what it guarantees, and what
//! each declared access becomes there.
//!
//! The grants come from the generators' own tables, each row citing its source, so the record
//! says what the templates grant: AWS [`crate::aws::iam::GRANTS`], Azure
//! [`crate::azure::roles::GRANTS`], Google Cloud [`crate::gcp::iam::ROLES`].

use std::fmt::Write as _;

use cloudport_core::app::{Description, ResourceDescription};

use crate::aws::iam::grants;
use crate::{azure, gcp};

/// The smallest delivery-attempt limit a Pub/Sub dead-letter policy accepts (5–100).
/// <https://cloud.google.com/pubsub/docs/handling-failures#dead_letter_topic>
pub(super) const PUBSUB_MIN_ATTEMPTS: u32 = 5;
/// The largest.
pub(super) const PUBSUB_MAX_ATTEMPTS: u32 = 100;

/// What grants (kind, access) on Azure: the Azure generator's table ([`azure::roles::grant`]),
/// each role by name and id, on the resource or its poison queue.
fn azure_roles(kind: &str, access: &str) -> String {
    match azure::roles::grant(kind, access) {
        Ok(g) => g
            .roles
            .iter()
            .map(|(role, target)| {
                let on = match target {
                    azure::roles::Target::Resource => "",
                    azure::roles::Target::Poison => " on its poison queue",
                };
                format!("{} `{}`{on}", role.name, role.id)
            })
            .collect::<Vec<_>>()
            .join(" + "),
        Err(e) => e.to_string(),
    }
}

/// What grants (kind, access) on Google Cloud: the GCP generator's table
/// ([`gcp::iam::role`]).
fn gcp_role(kind: &str, access: &str) -> String {
    match gcp::iam::role(kind, access) {
        Ok(r) => format!(
            "`{}` on the {}",
            r.role,
            format!("{:?}", r.scope).to_lowercase()
        ),
        Err(e) => e.to_string(),
    }
}

fn has(r: &ResourceDescription, word: &str) -> bool {
    r.access.iter().any(|a| a == word)
}

fn dead_letter(r: &ResourceDescription) -> String {
    let Some(dl) = &r.dead_letter else {
        return "none declared".to_owned();
    };
    let n = dl.max_deliveries;
    let pubsub = n.clamp(PUBSUB_MIN_ATTEMPTS, PUBSUB_MAX_ATTEMPTS);
    let pubsub_note = if pubsub == n {
        String::new()
    } else {
        format!(
            " (Pub/Sub accepts {PUBSUB_MIN_ATTEMPTS}–{PUBSUB_MAX_ATTEMPTS}: {pubsub}; cloudport's portable policy still moves it after {n})"
        )
    };
    format!(
        "after {n} deliveries to `{}`: SQS `RedrivePolicy.maxReceiveCount` {n}; Azure: the Functions host moves it to `{}-poison` (its own name) after host.json's `maxDequeueCount` (one value for the whole app); Pub/Sub dead-letter topic, `max_delivery_attempts` {pubsub}{pubsub_note}",
        dl.queue, r.name
    )
}

/// Decision 2: each resource on each cloud, its guarantees, idempotency and dead letters.
pub(super) fn state_section(d: &Description) -> String {
    let mut out = String::from(
        "### 2. State\n\n| Resource | AWS | Azure | Google Cloud | Guarantees |\n|---|---|---|---|---|\n",
    );
    for r in &d.resources {
        let (aws, azure, gcp, guarantees) = match r.kind.as_str() {
            "queue" => (
                "SQS standard queue (SSE-SQS)",
                "Storage queue",
                "Pub/Sub topic + subscription",
                "at-least-once delivery, no ordering guarantee: a message can arrive twice",
            ),
            "bucket" => (
                "S3 bucket (public access blocked, SSE-S3, versioned)",
                "Blob container",
                "Cloud Storage bucket",
                "strong read-after-write; conditional writes on ETag / generation",
            ),
            "kv" => (
                "DynamoDB table, on demand (`pk`/`sk`, TTL, PITR), strongly consistent reads",
                "Table Storage table, ETag `If-Match` on versioned writes",
                "Firestore documents, `update_time` / `exists` preconditions",
                "strong reads; conditional (versioned, create-only) writes; TTL",
            ),
            _ => ("—", "—", "—", "unknown kind"),
        };
        let _ = writeln!(
            out,
            "| {} `{}` | {aws} | {azure} | {gcp} | {guarantees} |",
            r.kind, r.name
        );
    }
    out.push('\n');
    let queues: Vec<&ResourceDescription> =
        d.resources.iter().filter(|r| r.kind == "queue").collect();
    let stores: Vec<&ResourceDescription> = d
        .resources
        .iter()
        .filter(|r| r.kind == "kv" && has(r, "read") && has(r, "write"))
        .collect();
    if !queues.is_empty() {
        out.push_str("**Idempotency.** Every queue delivers at least once on every cloud, and a handler that fails is retried, so a handler that changes state must be safe to run twice. cloudport's `Idempotency` runs work at most once per key on a KV store: a create-only claim bound to the invocation's deadline, the result written under the claim's version, so a stale run cannot overwrite a newer one (ADR 0009). ");
        match stores.as_slice() {
            [] => out.push_str("The app declares no KV store it can read and write: `Idempotency` needs one (`kv(\"…\").read().write()`).\n\n"),
            some => {
                let names: Vec<String> = some.iter().map(|r| format!("`{}`", r.name)).collect();
                let _ = writeln!(out, "Store(s) it can use: {}.\n", names.join(", "));
            }
        }
        out.push_str("**Dead letters.** A message whose handler keeps failing moves after its queue's limit; nothing is acknowledged that was not handled:\n\n");
        for q in &queues {
            let _ = writeln!(out, "- queue `{}`: {}", q.name, dead_letter(q));
        }
        out.push('\n');
    }
    out
}

/// Decision 3: each declared access and what grants it on each cloud.
pub(super) fn access_section(d: &Description) -> String {
    let mut out = String::from(
        "### 3. Access\n\nThe app declares what each handler may do (`App::uses`); cloudport refuses anything else with `PermissionDenied` before any call, on every provider, and deployment grants exactly the same declarations:\n\n| Resource | Access | AWS (IAM actions on that resource) | Azure (data role) | Google Cloud (role) |\n|---|---|---|---|---|\n",
    );
    if !d.declared {
        out.insert_str(
            0,
            "> **The app declares no access.** The resources below are what its triggers and bindings suggest; `cargo cloudport package` refuses it until the code declares them (`.uses(...)`).\n\n",
        );
    }
    for r in &d.resources {
        for access in &r.access {
            let aws = grants(&r.kind, access)
                .map(|rows| {
                    let mut actions: Vec<&str> = rows
                        .iter()
                        .flat_map(|g| g.actions.iter().copied())
                        .collect();
                    actions.sort_unstable();
                    actions.dedup();
                    actions
                        .iter()
                        .map(|a| format!("`{a}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_else(|e| e.to_string());
            let (azure, gcp) = (azure_roles(&r.kind, access), gcp_role(&r.kind, access));
            let _ = writeln!(
                out,
                "| {} `{}` | {access} | {aws} | {azure} | {gcp} |",
                r.kind, r.name
            );
        }
    }
    out.push_str("\nTriggers are granted to the platform, not to the handlers: the SQS event source mapping's `ReceiveMessage`, `DeleteMessage`, `GetQueueAttributes` on the function's role; the Functions host's queue roles on its storage connection; a push subscription's or scheduler job's service account with `roles/run.invoker` on the service.\n\n");
    out
}
