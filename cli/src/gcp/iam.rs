//! Least privilege on Google Cloud, as a table: one row per (resource kind, access) — or per
//! platform duty — with the predefined role it needs, the narrowest scope that role can be
//! granted at, the calls it covers and the Google page that says so. Bindings are additive
//! `*_iam_member` resources (never authoritative `*_iam_policy`/`*_iam_binding`, which would take
//! other principals' grants away), one per (member, role, resource).
//!
//! Checked against the drivers (`providers/gcp/src/{queue,blob,kv}.rs`): Pub/Sub `Publish`,
//! `Pull`, `Acknowledge`, `ModifyAckDeadline` — never `GetSubscription`, so no
//! `roles/pubsub.viewer`; Cloud Storage JSON API `objects.insert` (with `ifGenerationMatch`),
//! resumable uploads, `objects.get`, `objects.list`, `objects.patch` (the content type),
//! `objects.delete`, `objects.copy`; Firestore `GetDocument`, `Commit` (update with
//! preconditions, delete), `RunQuery`.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::names::reference;
use crate::{Error, Result};

/// Where a role is granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    /// The Pub/Sub topic (`google_pubsub_topic_iam_member`).
    Topic,
    /// The Pub/Sub subscription (`google_pubsub_subscription_iam_member`).
    Subscription,
    /// The Cloud Storage bucket (`google_storage_bucket_iam_member`).
    Bucket,
    /// The Firestore database: a project binding with an IAM condition on the database's
    /// resource name — Firestore roles are granted on the project only, and a condition is how
    /// Firestore narrows them to one database.
    Database,
    /// The Cloud Run service (`google_cloud_run_v2_service_iam_member`).
    Service,
    /// The project — only for roles that have no narrower scope, and never a data role.
    Project,
}

/// One row of the table.
#[derive(Debug)]
pub struct Role {
    /// `queue`, `bucket`, `kv`, or `platform` (a Google service acting for the app).
    pub kind: &'static str,
    /// The access word of the description (`send`, `read`, …) or the platform duty (`push`,
    /// `schedule`, `eventarc-receive`, `eventarc-invoke`, `dead-letter-publish`,
    /// `dead-letter-subscribe`, `storage-notify`).
    pub access: &'static str,
    /// The predefined role.
    pub role: &'static str,
    /// Where it is granted.
    pub scope: Scope,
    /// What it authorises.
    pub calls: &'static str,
    /// Where that is documented.
    pub source: &'static str,
}

const PUBSUB_ROLES: &str = "https://cloud.google.com/pubsub/docs/access-control";
const STORAGE_ROLES: &str = "https://cloud.google.com/storage/docs/access-control/iam-roles";
const FIRESTORE_IAM: &str = "https://cloud.google.com/firestore/docs/security/iam";
const RUN_INVOKER: &str = "https://cloud.google.com/run/docs/securing/managing-access";

/// The table.
pub const ROLES: &[Role] = &[
    Role {
        kind: "queue",
        access: "send",
        role: "roles/pubsub.publisher",
        scope: Scope::Topic,
        calls: "Publish (pubsub.topics.publish)",
        source: PUBSUB_ROLES,
    },
    Role {
        kind: "queue",
        access: "consume",
        role: "roles/pubsub.subscriber",
        scope: Scope::Subscription,
        calls: "Pull, Acknowledge, ModifyAckDeadline (pubsub.subscriptions.consume) on the queue's pull subscription; not roles/pubsub.viewer: the driver never calls GetSubscription. A queue with a trigger is consumed by its push subscription instead, and needs nothing here",
        source: PUBSUB_ROLES,
    },
    Role {
        kind: "bucket",
        access: "read",
        role: "roles/storage.objectViewer",
        scope: Scope::Bucket,
        calls: "objects.get (get, head, ranged reads), objects.list",
        source: STORAGE_ROLES,
    },
    Role {
        kind: "bucket",
        access: "list",
        role: "roles/storage.objectViewer",
        scope: Scope::Bucket,
        calls: "objects.list",
        source: STORAGE_ROLES,
    },
    Role {
        kind: "bucket",
        access: "write",
        role: "roles/storage.objectUser",
        scope: Scope::Bucket,
        calls: "objects.insert and resumable uploads (storage.objects.create), overwriting a key (also storage.objects.delete: roles/storage.objectCreator cannot overwrite, and a put replaces), objects.patch of the content type (storage.objects.update), the destination of objects.copy",
        source: "https://cloud.google.com/storage/docs/access-control/iam-roles; https://cloud.google.com/storage/docs/access-control/iam-permissions",
    },
    Role {
        kind: "bucket",
        access: "delete",
        role: "roles/storage.objectUser",
        scope: Scope::Bucket,
        calls: "objects.delete (storage.objects.delete; no narrower predefined role has it)",
        source: STORAGE_ROLES,
    },
    Role {
        kind: "kv",
        access: "read",
        role: "roles/datastore.viewer",
        scope: Scope::Database,
        calls: "GetDocument, RunQuery (datastore.entities.get, datastore.entities.list)",
        source: FIRESTORE_IAM,
    },
    Role {
        kind: "kv",
        access: "write",
        role: "roles/datastore.user",
        scope: Scope::Database,
        calls: "Commit with preconditions (put, delete: datastore.entities.create/update/delete), and the reads of an update",
        source: FIRESTORE_IAM,
    },
    Role {
        kind: "platform",
        access: "push",
        role: "roles/run.invoker",
        scope: Scope::Service,
        calls: "the push subscriptions' service account: Pub/Sub sends its OIDC token to the service",
        source: "https://cloud.google.com/run/docs/triggering/pubsub-push",
    },
    Role {
        kind: "platform",
        access: "schedule",
        role: "roles/run.invoker",
        scope: Scope::Service,
        calls: "the Cloud Scheduler jobs' service account: each job sends its OIDC token to the service",
        source: "https://cloud.google.com/run/docs/triggering/using-scheduler",
    },
    Role {
        kind: "platform",
        access: "eventarc-invoke",
        role: "roles/run.invoker",
        scope: Scope::Service,
        calls: "the Eventarc triggers' service account: Eventarc delivers events to the service with its token",
        source: "https://cloud.google.com/eventarc/docs/run/create-trigger-storage-gcloud",
    },
    Role {
        kind: "platform",
        access: "eventarc-receive",
        role: "roles/eventarc.eventReceiver",
        scope: Scope::Project,
        calls: "the Eventarc triggers' service account receives events (granted on the project only); no data access",
        source: "https://cloud.google.com/eventarc/docs/access-control",
    },
    Role {
        kind: "platform",
        access: "storage-notify",
        role: "roles/pubsub.publisher",
        scope: Scope::Project,
        calls: "the Cloud Storage service agent publishes the bucket's events to the topics Eventarc creates (their names are not known in advance, so the project)",
        source: "https://cloud.google.com/eventarc/docs/run/create-trigger-storage-gcloud",
    },
    Role {
        kind: "platform",
        access: "dead-letter-publish",
        role: "roles/pubsub.publisher",
        scope: Scope::Topic,
        calls: "the Pub/Sub service agent forwards undeliverable messages to the dead-letter topic",
        source: "https://cloud.google.com/pubsub/docs/handling-failures#grant_forwarding_permissions",
    },
    Role {
        kind: "platform",
        access: "dead-letter-subscribe",
        role: "roles/pubsub.subscriber",
        scope: Scope::Subscription,
        calls: "the Pub/Sub service agent acknowledges the forwarded messages on the source subscription",
        source: "https://cloud.google.com/pubsub/docs/handling-failures#grant_forwarding_permissions",
    },
    Role {
        kind: "platform",
        access: "public",
        role: "roles/run.invoker",
        scope: Scope::Service,
        calls: "allUsers, only with GcpOptions::public: the app's HTTP routes are public; the host still verifies the OIDC token of every event request",
        source: RUN_INVOKER,
    },
];

/// Roles that include another's permissions on the same resource: a member granted the first
/// needs no binding of the second (objectUser has storage.objects.get/list; datastore.user has
/// datastore.entities.get/list).
pub const INCLUDES: &[(&str, &str)] = &[
    ("roles/storage.objectUser", "roles/storage.objectViewer"),
    ("roles/datastore.user", "roles/datastore.viewer"),
];

/// The row for (kind, access); an access the table does not know is an error (a description
/// newer than this tool).
///
/// ```
/// use cloudport_cli::gcp::iam::role;
/// assert_eq!(role("bucket", "write").unwrap().role, "roles/storage.objectUser");
/// assert!(role("kv", "admin").is_err());
/// ```
pub fn role(kind: &str, access: &str) -> Result<&'static Role> {
    ROLES
        .iter()
        .find(|r| r.kind == kind && r.access == access)
        .ok_or_else(|| {
            Error::unsupported(
                format!("{kind} access {access:?}"),
                "this cargo-cloudport has no Google Cloud role for it; update cargo-cloudport",
            )
        })
}

/// What a binding is on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    /// A topic (its Terraform local name).
    Topic(String),
    /// A subscription (its Terraform local name).
    Subscription(String),
    /// A bucket (its Terraform local name).
    Bucket(String),
    /// The app's Firestore database.
    Database,
    /// The Cloud Run service.
    Service,
    /// The project.
    Project,
}

/// One binding: (member's short name, member string, role, target).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Binding {
    /// A short name for the member (`runtime`, `push`, `pubsub-agent`, …), for resource names.
    pub who: String,
    /// The member (`serviceAccount:…`, `allUsers`).
    pub member: String,
    /// The role.
    pub role: &'static str,
    /// What it is on.
    pub target: Target,
}

/// The bindings being assembled.
#[derive(Debug, Default)]
pub struct Bindings {
    set: BTreeSet<Binding>,
}

impl Bindings {
    /// Grants `who` (member `member`) the row (kind, access) on `target`, whose scope must be the
    /// row's.
    pub fn grant(
        &mut self,
        who: &str,
        member: &str,
        kind: &str,
        access: &str,
        target: Target,
    ) -> Result<()> {
        let row = role(kind, access)?;
        let scope = match &target {
            Target::Topic(_) => Scope::Topic,
            Target::Subscription(_) => Scope::Subscription,
            Target::Bucket(_) => Scope::Bucket,
            Target::Database => Scope::Database,
            Target::Service => Scope::Service,
            Target::Project => Scope::Project,
        };
        if scope != row.scope {
            return Err(Error::Description(format!(
                "internal: {kind}/{access} is granted on {:?}, not {scope:?}",
                row.scope
            )));
        }
        self.set.insert(Binding {
            who: who.to_owned(),
            member: member.to_owned(),
            role: row.role,
            target,
        });
        Ok(())
    }

    /// The bindings, without those another binding of the same member on the same target
    /// includes ([`INCLUDES`]).
    pub fn list(&self) -> Vec<&Binding> {
        self.set
            .iter()
            .filter(|b| {
                !INCLUDES.iter().any(|(wider, narrower)| {
                    b.role == *narrower
                        && self.set.iter().any(|o| {
                            o.role == *wider && o.member == b.member && o.target == b.target
                        })
                })
            })
            .collect()
    }

    /// The Terraform resources: (type, local name, body) per binding.
    pub fn resources(&self, database: Option<&str>) -> Vec<(&'static str, String, Value)> {
        self.list()
            .into_iter()
            .map(|b| {
                let short = b.role.trim_start_matches("roles/").replace('.', "_");
                let (ty, on, mut body) = match &b.target {
                    Target::Topic(t) => (
                        "google_pubsub_topic_iam_member",
                        t.clone(),
                        json!({ "topic": reference("google_pubsub_topic", t, "name") }),
                    ),
                    Target::Subscription(s) => (
                        "google_pubsub_subscription_iam_member",
                        s.clone(),
                        json!({ "subscription": reference("google_pubsub_subscription", s, "name") }),
                    ),
                    Target::Bucket(n) => (
                        "google_storage_bucket_iam_member",
                        n.clone(),
                        json!({ "bucket": reference("google_storage_bucket", n, "name") }),
                    ),
                    Target::Database => (
                        "google_project_iam_member",
                        "database".to_owned(),
                        json!({ "condition": {
                            "title": "cloudport-database-only",
                            "description": "Firestore roles are granted on the project; this condition narrows the grant to the app's database (https://cloud.google.com/firestore/docs/security/iam)",
                            "expression": format!(
                                "resource.name == \"projects/${{var.project}}/databases/{}\"",
                                database.map_or_else(|| "(default)".to_owned(), |d| reference("google_firestore_database", d, "name"))
                            )
                        }}),
                    ),
                    Target::Service => (
                        "google_cloud_run_v2_service_iam_member",
                        "service".to_owned(),
                        json!({
                            "location": reference("google_cloud_run_v2_service", "service", "location"),
                            "name": reference("google_cloud_run_v2_service", "service", "name"),
                        }),
                    ),
                    Target::Project => ("google_project_iam_member", "project".to_owned(), json!({})),
                };
                body["project"] = json!("${var.project}");
                body["role"] = json!(b.role);
                body["member"] = json!(b.member);
                (ty, format!("{}_{short}_{on}", b.who.replace('-', "_")), body)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_is_sourced_and_no_data_role_is_project_wide() {
        for r in ROLES {
            assert!(r.source.starts_with("https://cloud.google.com/"), "{r:?}");
            assert!(r.role.starts_with("roles/"), "{r:?}");
            if r.scope == Scope::Project {
                assert_eq!(r.kind, "platform", "{r:?}");
                assert!(
                    !r.role.contains("storage.object") && !r.role.contains("datastore"),
                    "{r:?}"
                );
            }
        }
    }

    #[test]
    fn included_roles_are_dropped() {
        let mut b = Bindings::default();
        let t = || Target::Bucket("bucket_x".into());
        b.grant("runtime", "m", "bucket", "read", t())
            .expect("grant");
        b.grant("runtime", "m", "bucket", "write", t())
            .expect("grant");
        b.grant("runtime", "m", "bucket", "list", t())
            .expect("grant");
        let roles: Vec<_> = b.list().iter().map(|b| b.role).collect();
        assert_eq!(roles, ["roles/storage.objectUser"]);
        assert!(
            b.grant("runtime", "m", "bucket", "read", Target::Project)
                .is_err()
        );
    }
}
