//! The Cloud Run v2 service and the service accounts: the runtime account the app runs as, and one
//! account per kind of caller of the event paths (Pub/Sub push, Cloud Scheduler, Eventarc), each
//! with `roles/run.invoker` on the service only.
//!
//! Who checks event callers (ADR 0008, `adapters/src/cloudrun/auth`): a **private** service
//! (the default) has Cloud Run check `roles/run.invoker` on every request, and Cloud Run passes
//! the ID token on with its signature removed — so the host is told `CLOUDPORT_EVENT_AUTH=platform`.
//! A **public** service ([`GcpOptions::public`](super::GcpOptions::public), for apps whose HTTP
//! routes are public) keeps the host's own check (`oidc`) with `CLOUDPORT_OIDC_ALLOWED_EMAILS` set
//! to the invoker accounts: any Google account can mint an ID token for any audience.

use serde_json::{Value, json};

use super::names::{account_id, account_member, reference};
use super::{Model, Tf, iam::Target, labels};
use crate::Result;

/// The port the container listens on; Cloud Run sets `PORT` to it (source: the container
/// contract, <https://cloud.google.com/run/docs/container-contract#port>).
pub const CONTAINER_PORT: u16 = 8080;

/// The event-auth variables of the Cloud Run host (`adapters/src/cloudrun/auth/mod.rs`).
pub const EVENT_AUTH_VAR: &str = "CLOUDPORT_EVENT_AUTH";
/// Comma-separated emails allowed to call the event paths.
pub const ALLOWED_EMAILS_VAR: &str = "CLOUDPORT_OIDC_ALLOWED_EMAILS";
/// The invocation deadline the host cannot read from Cloud Run (`adapters/src/cloudrun/mod.rs`).
pub const REQUEST_TIMEOUT_VAR: &str = "CLOUDPORT_REQUEST_TIMEOUT";

/// Creates the service accounts the description needs and grants each invoker
/// `roles/run.invoker` on the service.
pub fn accounts(m: &Model<'_>, t: &mut Tf) -> Result<()> {
    let account = |t: &mut Tf, local: &str, role: &str, what: &str| {
        t.resource(
            "google_service_account",
            local,
            json!({
                "account_id": account_id(&m.service, role),
                "display_name": format!("{} {what}", m.service),
                "description": format!("cloudport: {what} of the Cloud Run service {}", m.service),
                "project": "${var.project}",
            }),
        );
    };
    account(t, "runtime", "run", "runtime (the app's own identity)");
    let invokers: [(&str, &str, &str, bool); 3] = [
        (
            "push",
            "push",
            "Pub/Sub push subscriptions",
            m.app.queues.iter().any(|q| q.triggered),
        ),
        (
            "scheduler",
            "cron",
            "Cloud Scheduler jobs",
            !m.app.schedules.is_empty(),
        ),
        (
            "eventarc",
            "events",
            "Eventarc triggers",
            m.app.buckets.iter().any(|b| b.triggered),
        ),
    ];
    for (local, role, what, needed) in invokers {
        if !needed {
            continue;
        }
        account(t, local, role, &format!("caller for {what}"));
        let access = match local {
            "push" => "push",
            "scheduler" => "schedule",
            _ => "eventarc-invoke",
        };
        t.bindings.grant(
            local,
            &account_member(local),
            "platform",
            access,
            Target::Service,
        )?;
        t.invokers.push(local.to_owned());
    }
    if m.o.public {
        t.bindings
            .grant("public", "allUsers", "platform", "public", Target::Service)?;
    }
    t.output(
        "runtime_service_account",
        "The service account the app runs as (its data bindings are the declared access)",
        &reference("google_service_account", "runtime", "email"),
    );
    Ok(())
}

/// The `CLOUDPORT_EVENT_AUTH` / `CLOUDPORT_OIDC_ALLOWED_EMAILS` settings.
pub fn event_auth_env(m: &Model<'_>, t: &Tf) -> Vec<(String, String)> {
    if !m.o.public {
        return vec![(EVENT_AUTH_VAR.into(), "platform".into())];
    }
    // With no invoker, only the app's own account: the event paths stay closed to others.
    let who: Vec<String> = if t.invokers.is_empty() {
        vec!["runtime".into()]
    } else {
        t.invokers.clone()
    };
    let emails: Vec<String> = who
        .iter()
        .map(|a| reference("google_service_account", a, "email"))
        .collect();
    vec![
        (EVENT_AUTH_VAR.into(), "oidc".into()),
        (ALLOWED_EMAILS_VAR.into(), emails.join(",")),
    ]
}

/// Adds the service (after the generators that set bindings in `t.env`).
pub fn add(m: &Model<'_>, t: &mut Tf) -> Result<()> {
    let mut env: Vec<(String, String)> = t.env.clone().into_iter().collect();
    env.push(("GOOGLE_CLOUD_PROJECT".into(), "${var.project}".into()));
    env.push((REQUEST_TIMEOUT_VAR.into(), m.timeout_seconds().to_string()));
    env.extend(event_auth_env(m, t));
    env.sort();
    let env: Vec<Value> = env
        .into_iter()
        .map(|(name, value)| json!({ "name": name, "value": value }))
        .collect();
    let mut template = json!({
        "service_account": reference("google_service_account", "runtime", "email"),
        "timeout": format!("{}s", m.timeout_seconds()),
        "labels": labels(m),
        "containers": [{
            "image": "${var.image}",
            "ports": { "container_port": CONTAINER_PORT },
            "resources": {
                "limits": { "cpu": m.cpu()?, "memory": format!("{}Mi", m.memory_mb()) },
                "cpu_idle": true,
                "startup_cpu_boost": true
            },
            "env": env
        }]
    });
    if let Some(n) = m.app.d.limits.max_concurrency {
        // Cloud Run bills instances, so the instance count is the spend cap; each instance
        // still takes up to 80 requests at once (Cloud Run's default concurrency).
        template["scaling"] = json!({ "max_instance_count": n });
    }
    let service = json!({
        "name": m.service,
        "location": "${var.region}",
        "project": "${var.project}",
        "description": format!("cloudport app {}", m.service),
        "ingress": "INGRESS_TRAFFIC_ALL",
        "deletion_protection": false,
        "labels": labels(m),
        "template": template,
    });
    t.resource("google_cloud_run_v2_service", "service", service);
    t.output(
        "service_url",
        "The service's URL",
        &reference("google_cloud_run_v2_service", "service", "uri"),
    );
    Ok(())
}
