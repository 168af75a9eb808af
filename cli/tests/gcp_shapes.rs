//! Shapes the quickstart does not have: blob triggers (Eventarc), pull-consumed and send-only
//! queues, a declared dead-letter queue, every bucket right, a read-only store, an interval
//! schedule, no limits and no budget.

use std::collections::BTreeSet;

use cloudport_cli::describe;
use cloudport_cli::gcp::{GcpOptions, Terraform, terraform};
use serde_json::Value;

/// The description (`gcp_shapes.description.json`); `gcp_template.rs` checks its references too.
const APP: &[u8] = include_bytes!("gcp_shapes.description.json");

fn tf() -> Terraform {
    let d = describe::parse(APP).expect("parses");
    terraform(&d, &GcpOptions::new("shapes")).expect("terraform")
}

fn resource<'a>(tf: &'a Terraform, ty: &str, name: &str) -> &'a Value {
    let r = &tf.main["resource"][ty][name];
    assert!(r.is_object(), "no {ty}.{name}");
    r
}

fn roles(tf: &Terraform, who: &str) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (ty, blocks) in tf.main["resource"].as_object().expect("resources") {
        if !ty.ends_with("_iam_member") {
            continue;
        }
        for (name, body) in blocks.as_object().expect("blocks") {
            if body["member"].as_str().is_some_and(|m| m.contains(who)) {
                out.insert((
                    body["role"].as_str().expect("role").to_owned(),
                    name.clone(),
                ));
            }
        }
    }
    out
}

#[test]
fn blob_triggers_use_eventarc_with_their_own_account() {
    let tf = tf();
    for (suffix, ty) in [
        ("created", "google.cloud.storage.object.v1.finalized"),
        ("deleted", "google.cloud.storage.object.v1.deleted"),
    ] {
        let t = resource(
            &tf,
            "google_eventarc_trigger",
            &format!("bucket_uploads_{suffix}"),
        );
        assert_eq!(t["matching_criteria"][0]["value"], ty);
        assert_eq!(
            t["matching_criteria"][1]["value"],
            "${google_storage_bucket.bucket_uploads.name}"
        );
        assert_eq!(
            t["service_account"],
            "${google_service_account.eventarc.email}"
        );
    }
    let eventarc = roles(&tf, "google_service_account.eventarc.");
    let eventarc: BTreeSet<_> = eventarc.into_iter().map(|(r, _)| r).collect();
    assert_eq!(
        eventarc,
        ["roles/eventarc.eventReceiver", "roles/run.invoker"]
            .into_iter()
            .map(str::to_owned)
            .collect()
    );
    assert!(
        roles(&tf, "google_storage_project_service_account.gcs")
            .iter()
            .any(|(r, _)| r == "roles/pubsub.publisher")
    );
    // No push account: no queue trigger.
    assert!(tf.main["resource"]["google_service_account"]["push"].is_null());
}

#[test]
fn runtime_roles_follow_each_access() {
    let tf = tf();
    let runtime = roles(&tf, "google_service_account.runtime.");
    let expected: BTreeSet<(String, String)> = [
        // consume on a queue without a trigger: subscriber on its pull subscription.
        (
            "roles/pubsub.subscriber",
            "runtime_pubsub_subscriber_queue_work",
        ),
        (
            "roles/pubsub.publisher",
            "runtime_pubsub_publisher_queue_failed",
        ),
        // read+write+delete+list: objectUser alone (it includes objectViewer's permissions).
        (
            "roles/storage.objectUser",
            "runtime_storage_objectUser_bucket_uploads",
        ),
        (
            "roles/storage.objectViewer",
            "runtime_storage_objectViewer_bucket_archive",
        ),
        (
            "roles/datastore.viewer",
            "runtime_datastore_viewer_database",
        ),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_owned(), b.to_owned()))
    .collect();
    assert_eq!(runtime, expected);
}

#[test]
fn queues_without_triggers_pull_and_dead_letter_to_the_declared_queue() {
    let tf = tf();
    let work = resource(&tf, "google_pubsub_subscription", "queue_work");
    assert!(work.get("push_config").is_none());
    assert_eq!(work["dead_letter_policy"]["max_delivery_attempts"], 7);
    assert_eq!(
        work["dead_letter_policy"]["dead_letter_topic"],
        "${google_pubsub_topic.queue_failed.id}"
    );
    // The declared dead-letter queue is created once, with its own (pull) subscription.
    let topics = tf.main["resource"]["google_pubsub_topic"]
        .as_object()
        .expect("topics");
    assert_eq!(topics.len(), 2);
    resource(&tf, "google_pubsub_subscription", "queue_failed");
    resource(&tf, "google_monitoring_alert_policy", "dead_letters_failed");
}

#[test]
fn intervals_become_cron_and_unset_limits_cap_nothing() {
    let tf = tf();
    let job = resource(&tf, "google_cloud_scheduler_job", "schedule_tick");
    assert_eq!(job["schedule"], "*/5 * * * *");
    let s = resource(&tf, "google_cloud_run_v2_service", "service");
    assert!(s["template"]["scaling"].is_null());
    assert_eq!(
        s["template"]["containers"][0]["resources"]["limits"]["memory"],
        "128Mi"
    );
    assert!(tf.main["resource"]["google_billing_budget"].is_null());
}
