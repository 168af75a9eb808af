//! Queues on Pub/Sub: per queue a topic `<service>-<name>` and exactly one subscription — a
//! **push** subscription to the service's `/_cloudport/queue/<name>` (with the push account's
//! OIDC token) when the app has a trigger on it, else a **pull** subscription `<service>-<name>`
//! (so messages sent before anything reads them are kept: a topic without subscriptions drops
//! them). A declared dead-letter policy becomes the subscription's `dead_letter_policy`
//! (`max_delivery_attempts` = `max_deliveries`, which Pub/Sub takes only within 5–100: other
//! values are refused by the model); a dead-letter topic no declaration names is created with a
//! pull subscription that keeps what arrives for 7 days. Pub/Sub moves the messages itself, so
//! the binding carries no `&dead_letter=` and the app needs nothing on the dead-letter topic; the
//! Pub/Sub service agent gets publisher on the dead-letter topic and subscriber on the source
//! subscription (source: <https://cloud.google.com/pubsub/docs/handling-failures>).
//!
//! The binding is `gcppubsub://projects/<project>/topics/<topic>?subscription=<subscription>`
//! (`providers/gcp/src/open.rs`); the Cloud Run host maps a push request to the queue named in
//! its path (`adapters/src/cloudrun/host.rs`).

use cloudport_core::ResourceKind;
use cloudport_core::env::binding_var;
use serde_json::{Value, json};

use super::iam::Target;
use super::model::Resource;
use super::names::{account_member, reference};
use super::{Model, Tf, labels, skip_check};
use crate::Result;

/// How long a subscription keeps unacknowledged messages: Pub/Sub's maximum, 7 days (source:
/// <https://cloud.google.com/pubsub/docs/subscription-properties#retention>).
pub const RETENTION: &str = "604800s";
/// The push path of queue `name` on the Cloud Run host.
pub fn push_path(name: &str) -> String {
    format!("/_cloudport/queue/{name}")
}

/// The member string of the project's Pub/Sub service agent (source:
/// <https://cloud.google.com/pubsub/docs/handling-failures#grant_forwarding_permissions>).
pub const PUBSUB_AGENT: &str = "serviceAccount:service-${data.google_project.project.number}@gcp-sa-pubsub.iam.gserviceaccount.com";

fn topic(m: &Model<'_>, name: &str) -> Value {
    let mut topic = json!({
        "name": format!("{}-{name}", m.service),
        "project": "${var.project}",
        "labels": labels(m),
    });
    skip_check(
        &mut topic,
        "CKV_GCP_83",
        "Pub/Sub encrypts messages at rest with Google-managed keys; a customer-managed key needs a key ring, a key and the service agent's encrypter role, which are left to the user",
    );
    topic
}

/// Adds every queue's topic and subscription, the dead-letter policies and the bindings.
pub fn add(m: &Model<'_>, t: &mut Tf) -> Result<()> {
    let runtime = account_member("runtime");
    for (name, local) in m.topics() {
        t.resource("google_pubsub_topic", &local, topic(m, &name));
    }
    for q in &m.app.queues {
        let local = super::names::local("queue", &q.name);
        t.resource("google_pubsub_subscription", &local, subscription(m, q)?);
        if q.can("send") {
            t.bindings.grant(
                "runtime",
                &runtime,
                "queue",
                "send",
                Target::Topic(local.clone()),
            )?;
        }
        if q.can("consume") && !q.triggered {
            t.bindings.grant(
                "runtime",
                &runtime,
                "queue",
                "consume",
                Target::Subscription(local.clone()),
            )?;
        }
        if let Some(dl) = &q.dead_letter {
            let dl = &dl.queue;
            let dl_local = super::names::local("queue", dl);
            t.bindings.grant(
                "pubsub-agent",
                PUBSUB_AGENT,
                "platform",
                "dead-letter-publish",
                Target::Topic(dl_local.clone()),
            )?;
            t.bindings.grant(
                "pubsub-agent",
                PUBSUB_AGENT,
                "platform",
                "dead-letter-subscribe",
                Target::Subscription(local.clone()),
            )?;
            t.dead_letters.push((dl_local, dl.clone()));
        }
        let subscription = reference("google_pubsub_subscription", &local, "name");
        let url = format!(
            "gcppubsub://projects/${{var.project}}/topics/{}?subscription={subscription}",
            reference("google_pubsub_topic", &local, "name")
        );
        t.output(
            &format!("binding_{}", binding_var(ResourceKind::Queue, &q.name)),
            &binding_var(ResourceKind::Queue, &q.name),
            &url,
        );
        t.env.insert(binding_var(ResourceKind::Queue, &q.name), url);
    }
    for dl in &m.app.dead_letter_only {
        let local = super::names::local("queue", dl);
        t.resource(
            "google_pubsub_subscription",
            &local,
            json!({
                "name": format!("{}-{dl}", m.service),
                "project": "${var.project}",
                "topic": reference("google_pubsub_topic", &local, "id"),
                "labels": labels(m),
                "message_retention_duration": RETENTION,
                "ack_deadline_seconds": 60,
                "expiration_policy": { "ttl": "" },
            }),
        );
    }
    t.dead_letters.sort();
    t.dead_letters.dedup();
    Ok(())
}

/// The queue's subscription: push to the service when triggered, else pull.
fn subscription(m: &Model<'_>, q: &Resource) -> Result<Value> {
    let local = super::names::local("queue", &q.name);
    let mut sub = json!({
        "name": format!("{}-{}{}", m.service, q.name, if q.triggered { "-push" } else { "" }),
        "project": "${var.project}",
        "topic": reference("google_pubsub_topic", &local, "id"),
        "labels": labels(m),
        "message_retention_duration": RETENTION,
        // Never expire for inactivity (the default deletes a subscription idle for 31 days).
        "expiration_policy": { "ttl": "" },
        "retry_policy": { "minimum_backoff": "10s", "maximum_backoff": "600s" },
    });
    if q.triggered {
        let endpoint = format!(
            "{}{}",
            reference("google_cloud_run_v2_service", "service", "uri"),
            push_path(&q.name)
        );
        // Pub/Sub waits this long for the push answer (at most 600 s): the handler's timeout.
        sub["ack_deadline_seconds"] = json!(m.timeout_seconds().clamp(10, 600));
        sub["push_config"] = json!({
            "push_endpoint": endpoint,
            "oidc_token": {
                "service_account_email": reference("google_service_account", "push", "email"),
                // The service's URL: what Cloud Run's IAM check and the host both accept.
                "audience": reference("google_cloud_run_v2_service", "service", "uri"),
            },
        });
    } else {
        // The driver sets each lease with ModifyAckDeadline; this is the default.
        sub["ack_deadline_seconds"] = json!(60);
    }
    if let Some(dl) = &q.dead_letter {
        sub["dead_letter_policy"] = json!({
            "dead_letter_topic": reference("google_pubsub_topic", &super::names::local("queue", &dl.queue), "id"),
            "max_delivery_attempts": dl.max_deliveries,
        });
    }
    Ok(sub)
}
