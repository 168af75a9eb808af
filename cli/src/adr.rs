//! The app's own architecture decision record: what it does, how it runs and keeps state on each
//! cloud, who may do what, its limits and budget, what a month costs, and the consequences — a
//! Markdown document generated from the app's description and cost projections.
//!
//! ```
//! use cloudport_cli::{adr, cost};
//! let d = cloudport_cli::describe::parse(br#"{"cloudport_description": 1, "sdk_version": "0.1.0",
//!   "http": false, "any_event": false, "triggers": [{"kind": "queue", "name": "jobs"}],
//!   "declared": true, "resources": [{"kind": "queue", "name": "jobs", "access": ["consume"],
//!   "dead_letter": {"queue": "jobs-dlq", "max_deliveries": 3},
//!   "declaration": "queue(\"jobs\").consume()"}], "limits": {}}"#).unwrap();
//! let e = cost::estimate(&d, &cost::Usage::new(100_000, 50), cost::Cloud::Aws).unwrap();
//! let md = adr::render(&d, &[e], "jobs");
//! assert!(md.starts_with("# ADR: `jobs`"));
//! assert!(md.contains("SQS `RedrivePolicy.maxReceiveCount` 3"));
//! ```

mod hosts;
mod state;

use std::fmt::Write as _;

use cloudport_core::app::{Description, TriggerDescription};

use crate::aws::function::{DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_SECONDS};
use crate::cost::{self, Estimate, money};

fn context(d: &Description, app_name: &str) -> String {
    let mut out = String::from("## Context\n\n");
    let _ = writeln!(
        out,
        "`{app_name}` is a cloudport app: its function code is written once and names no provider; deployment binds each logical resource to a cloud resource (`CLOUDPORT_<KIND>_<NAME>`). From its description (cloudport {}):\n",
        d.sdk_version
    );
    if d.http {
        out.push_str("- It serves HTTP with its own router.\n");
    }
    for t in &d.triggers {
        let line = match t {
            TriggerDescription::Queue { name } => {
                format!("- Each message on queue `{name}` is one invocation.")
            }
            TriggerDescription::Blob { name } => {
                format!("- Each object created or deleted in bucket `{name}` is one invocation.")
            }
            TriggerDescription::Schedule {
                name,
                cron,
                every_seconds,
                ..
            } => format!(
                "- Schedule `{name}` runs it, {}.",
                hosts::timing(cron.as_deref(), *every_seconds)
            ),
            other => format!("- Trigger {other:?}."),
        };
        let _ = writeln!(out, "{line}");
    }
    if !d.event_types.is_empty() {
        let types: Vec<String> = d.event_types.iter().map(|t| format!("`{t}`")).collect();
        let _ = writeln!(
            out,
            "- It takes platform events of type {} (`on_event`). The package does not subscribe \
             it to them yet: their source (an EventBridge rule, an Event Grid subscription, an \
             Eventarc trigger) is connected outside it.",
            types.join(", ")
        );
    }
    if d.any_event {
        out.push_str("- It takes any other CloudEvent (`on_any_event`).\n");
    }
    if !d.http && d.triggers.is_empty() && !d.any_event && d.event_types.is_empty() {
        out.push_str("- It declares no trigger and no HTTP: nothing would invoke it.\n");
    }
    out.push_str(
        "\nIt uses:\n\n| Resource | Access | Dead-letter | Declaration |\n|---|---|---|---|\n",
    );
    for r in &d.resources {
        let dl = r
            .dead_letter
            .as_ref()
            .map(|dl| format!("`{}` after {} deliveries", dl.queue, dl.max_deliveries))
            .unwrap_or_else(|| "—".to_owned());
        let _ = writeln!(
            out,
            "| {} `{}` | {} | {dl} | `{}` |",
            r.kind,
            r.name,
            r.access.join(", "),
            r.declaration
        );
    }
    out.push('\n');
    out
}

fn limits_section(d: &Description, estimates: &[Estimate]) -> String {
    let l = &d.limits;
    let memory = l.memory_mb.unwrap_or(DEFAULT_MEMORY_MB);
    let timeout = l.timeout_seconds.unwrap_or(DEFAULT_TIMEOUT_SECONDS);
    let set = |v: Option<u32>| {
        if v.is_some() {
            "set in code"
        } else {
            "default"
        }
    };
    let mut out = String::from(
        "### 4. Limits and budget\n\n| Limit | Value | AWS | Azure | Google Cloud |\n|---|---|---|---|---|\n",
    );
    let _ = writeln!(
        out,
        "| memory | {memory} MB ({}) | `MemorySize` {memory} | instance memory {} MB (Flex sizes 512 / 2,048 / 4,096) | memory limit {memory} MiB, {} vCPU |",
        set(l.memory_mb),
        if l.memory_mb.is_some() {
            cost::flex_instance_mb(memory)
        } else {
            cost::FLEX_DEFAULT_INSTANCE_MB
        },
        cost::usage::vcpu_for(memory)
    );
    let _ = writeln!(
        out,
        "| timeout | {timeout} s ({}) | `Timeout` {timeout}; SQS visibility {} s | host.json `functionTimeout` `{:02}:{:02}:{:02}` | request timeout {timeout} s |",
        set(l.timeout_seconds),
        crate::aws::queue::VISIBILITY_FACTOR * timeout,
        timeout / 3600,
        timeout / 60 % 60,
        timeout % 60
    );
    match l.max_concurrency {
        Some(n) => {
            let _ = writeln!(
                out,
                "| max concurrency | {n} (set in code): the hard cap on spend | `ReservedConcurrentExecutions` {n} | `maximumInstanceCount` (instances × per-instance concurrency ≥ {n} executions) | `max_instance_count` {n} (each instance takes up to 80 requests at once) |"
            );
        }
        None => out.push_str("| max concurrency | none: nothing caps spend | account concurrency | plan default (100 instances) | service default |\n"),
    }
    out.push('\n');
    match &d.budget {
        Some(b) => {
            let _ = writeln!(
                out,
                "Budget: **${} a month**{}. Alerts at 80 % (forecast) and 100 % (actual): AWS Budgets filtered by the cost-allocation tag `cloudport:function` (activate the tag once); Azure `Microsoft.Consumption/budgets` on the resource group; Google Cloud `google_billing_budget` (needs billing-account permissions: optional). A budget alerts; it does not stop spending — the concurrency cap does.\n",
                b.monthly_usd,
                if b.notify.is_empty() {
                    String::new()
                } else {
                    format!(", notifying {}", b.notify.join(", "))
                }
            );
            for e in estimates {
                let total = e.total_usd();
                let verdict = if total <= f64::from(b.monthly_usd) {
                    "within the budget"
                } else {
                    "**over the budget**"
                };
                let _ = writeln!(
                    out,
                    "- {}: projected {} a month, {verdict}.",
                    e.cloud.name(),
                    money(total)
                );
            }
            out.push('\n');
        }
        None => out.push_str("Budget: none set in code (`App::budget`): no alert on spend.\n\n"),
    }
    out
}

fn cost_section(estimates: &[Estimate]) -> String {
    let mut out = String::from("### 5. Cost projection\n\n");
    if estimates.is_empty() {
        out.push_str("No projection was made (`cargo cloudport cost`).\n\n");
        return out;
    }
    for line in cost::render(estimates).lines() {
        if let Some(rest) = line.strip_prefix("### ") {
            let _ = writeln!(out, "#### {rest}");
        } else {
            let _ = writeln!(out, "{line}");
        }
    }
    out.push_str("Regenerate with the app's real volumes: `cargo cloudport cost --invocations N --duration-ms D …`.\n\n");
    out
}

fn consequences(d: &Description, estimates: &[Estimate]) -> String {
    let mut out = String::from("## Consequences\n\n");
    out.push_str("- Moving between clouds is a build and deploy change: the function code and its tests stay; each cloud's template, manifest and roles are generated from the same description, so they cannot drift from the code.\n");
    out.push_str("- Least privilege follows the declarations: a handler that needs more fails locally with `PermissionDenied` first, and the fix is one `.uses(...)` line that also changes every cloud's grants. Escape hatches (`native()`, `driver()`) are not checked: code that uses them declares their access by hand.\n");
    if d.resources.iter().any(|r| r.kind == "queue") {
        out.push_str("- Queues deliver at least once everywhere: duplicates are normal, so state changes go through `Idempotency` or conditional writes. Dead-lettering differs per cloud (SQS redrive, the Functions host's poison queue, a Pub/Sub dead-letter topic that needs the Pub/Sub service agent's publisher and subscriber roles): watch each dead-letter queue's depth.\n");
    }
    out.push_str("- Cold starts differ: Lambda bills a custom runtime's init phase; Flex Consumption offers always-ready instances (billed as a baseline); Cloud Run can keep minimum instances (billed while idle). None is configured by default.\n");
    if !estimates.is_empty() {
        let cheapest = estimates
            .iter()
            .min_by(|a, b| a.total_usd().total_cmp(&b.total_usd()))
            .map(|e| format!("{} ({})", e.cloud.name(), money(e.total_usd())))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "- At the projected workload the cheapest is {cheapest} a month; the projection uses list prices and leaves out logs, data transfer and each platform's own storage, so compare it with the first real bill and revise this record."
        );
    }
    out.push_str("- Not portable by construction: anything reached through an escape hatch, platform-specific configuration added by hand after generation, and each cloud's quotas.\n");
    out
}

/// The decision record of the app `description`, named `app_name`, with its cost `estimates`
/// (one per cloud, from [`cost::estimate`]).
pub fn render(description: &Description, estimates: &[Estimate], app_name: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# ADR: `{app_name}` on AWS, Azure and Google Cloud — runtime, state, access and cost\n"
    );
    let _ = writeln!(
        out,
        "Status: proposed. Generated by cargo-cloudport {} from the app's description; review it, edit what the generator cannot know, and accept it. Regenerate it (`cargo cloudport adr`) when the app's triggers, resources or limits change.\n",
        env!("CARGO_PKG_VERSION")
    );
    out.push_str(&context(description, app_name));
    out.push_str("## Decision\n\n");
    out.push_str(&hosts::section(description));
    out.push_str(&state::state_section(description));
    out.push_str(&state::access_section(description));
    out.push_str(&limits_section(description, estimates));
    out.push_str(&cost_section(estimates));
    out.push_str(&consequences(description, estimates));
    out
}
