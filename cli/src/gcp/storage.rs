//! Buckets on Cloud Storage: `<project>-<service>-<name>` (globally unique through the project
//! id), in the service's region, uniform bucket-level access (IAM only, no ACLs), public access
//! prevention enforced, versioned with noncurrent versions deleted after 30 days (as the AWS
//! package does). A blob trigger adds two Eventarc triggers (`google.cloud.storage.object.v1.finalized`
//! and `.deleted`) delivering to the service as the Eventarc account, and the Cloud Storage service
//! agent's `roles/pubsub.publisher` (source:
//! <https://cloud.google.com/eventarc/docs/run/create-trigger-storage-gcloud>).
//!
//! The binding is `gs://<bucket>` (`providers/gcp/src/open.rs`); the Cloud Run host maps an event
//! to the bucket bound to its `bucket` (`adapters/src/cloudrun/bindings.rs`).

use cloudport_core::ResourceKind;
use cloudport_core::env::binding_var;
use serde_json::json;

use super::iam::Target;
use super::names::{account_member, cut, dashed, local, reference};
use super::{Model, Tf, labels, skip_check};
use crate::Result;

/// The Eventarc event types of a blob trigger, with the trigger name's suffix.
pub const EVENT_TYPES: [(&str, &str); 2] = [
    ("google.cloud.storage.object.v1.finalized", "created"),
    ("google.cloud.storage.object.v1.deleted", "deleted"),
];

/// Days a replaced or deleted object's old version is kept.
pub const NONCURRENT_DAYS: u32 = 30;

/// The part of a bucket's name after `<project>-`: project ids have at most 30 characters and
/// bucket names 63, so this is cut to 32.
pub fn bucket_suffix(service: &str, name: &str) -> String {
    cut(&dashed(&format!("{service}-{name}")), 32)
}

/// Adds the buckets, their bindings and their triggers.
pub fn add(m: &Model<'_>, t: &mut Tf) -> Result<()> {
    let runtime = account_member("runtime");
    for b in &m.app.buckets {
        let l = local("bucket", &b.name);
        let mut bucket = json!({
            "name": format!("${{var.project}}-{}", bucket_suffix(&m.service, &b.name)),
            "project": "${var.project}",
            "location": "${var.region}",
            "labels": labels(m),
            "uniform_bucket_level_access": true,
            "public_access_prevention": "enforced",
            "force_destroy": false,
            "versioning": { "enabled": true },
            "lifecycle_rule": [{
                "condition": { "days_since_noncurrent_time": NONCURRENT_DAYS, "with_state": "ARCHIVED" },
                "action": { "type": "Delete" }
            }]
        });
        skip_check(
            &mut bucket,
            "CKV_GCP_62",
            "Usage and storage access logs need a second bucket the user keeps; Cloud Audit Logs (Data Access) is the better record and is set per project",
        );
        t.resource("google_storage_bucket", &l, bucket);
        for access in &b.access {
            t.bindings.grant(
                "runtime",
                &runtime,
                "bucket",
                access,
                Target::Bucket(l.clone()),
            )?;
        }
        let url = format!("gs://{}", reference("google_storage_bucket", &l, "name"));
        let var = binding_var(ResourceKind::Bucket, &b.name);
        t.output(&format!("binding_{var}"), &var, &url);
        t.env.insert(var, url);
        if b.triggered {
            triggers(m, t, &b.name, &l)?;
        }
    }
    Ok(())
}

/// The Eventarc triggers of a blob trigger and what they need.
fn triggers(m: &Model<'_>, t: &mut Tf, name: &str, bucket: &str) -> Result<()> {
    t.data(
        "google_storage_project_service_account",
        "gcs",
        json!({ "project": "${var.project}" }),
    );
    let agent = "serviceAccount:${data.google_storage_project_service_account.gcs.email_address}";
    t.bindings.grant(
        "gcs-agent",
        agent,
        "platform",
        "storage-notify",
        Target::Project,
    )?;
    t.bindings.grant(
        "eventarc",
        &account_member("eventarc"),
        "platform",
        "eventarc-receive",
        Target::Project,
    )?;
    for (ty, suffix) in EVENT_TYPES {
        let l = format!("{}_{suffix}", local("bucket", name));
        t.resource(
            "google_eventarc_trigger",
            &l,
            json!({
                "name": cut(&dashed(&format!("{}-{name}-{suffix}", m.service)), 63),
                "project": "${var.project}",
                "location": "${var.region}",
                "labels": labels(m),
                "matching_criteria": [
                    { "attribute": "type", "value": ty },
                    { "attribute": "bucket", "value": reference("google_storage_bucket", bucket, "name") }
                ],
                "destination": { "cloud_run_service": {
                    "service": reference("google_cloud_run_v2_service", "service", "name"),
                    "region": "${var.region}",
                    "path": "/_cloudport/events"
                }},
                "service_account": reference("google_service_account", "eventarc", "email"),
                "depends_on": [
                    "google_project_iam_member.gcs_agent_pubsub_publisher_project",
                    "google_project_iam_member.eventarc_eventarc_eventReceiver_project"
                ]
            }),
        );
    }
    Ok(())
}
