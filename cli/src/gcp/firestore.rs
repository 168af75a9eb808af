//! KV stores on Firestore: a Native-mode database of the app's own (`<service>`, in the
//! service's region; point-in-time recovery on, delete protection on), one collection per store
//! (the store's logical name), and a TTL policy on `expires_at` per collection, so entries
//! written with a TTL are deleted by Firestore (the driver hides expired ones on read either
//! way; `providers/gcp/src/kv.rs`). The field is exempt from indexing, as Google recommends for
//! TTL fields (source: <https://cloud.google.com/firestore/docs/ttl>).
//!
//! An own database rather than `(default)`: the grant can then be narrowed to it with an IAM
//! condition (`resource.name == "projects/P/databases/D"`), and two apps' stores never meet.
//! Firestore's free quota applies to the `(default)` database only (source:
//! <https://cloud.google.com/firestore/pricing>).
//!
//! The binding is `firestore://<project>/<collection>?database=<database>`
//! (`providers/gcp/src/open.rs`).

use cloudport_core::ResourceKind;
use cloudport_core::env::binding_var;
use serde_json::json;

use super::iam::Target;
use super::names::{account_member, cut, local, reference};
use super::{Model, Tf};
use crate::Result;

/// The field the driver writes an entry's expiry to.
pub const EXPIRES_AT: &str = "expires_at";

/// The database id: 4–63 lower-case letters, digits and `-`, starting with a letter (source:
/// <https://cloud.google.com/firestore/docs/manage-databases#database_id>).
pub fn database_id(service: &str) -> String {
    let id = if service.len() < 4 {
        format!("{service}-kv")
    } else {
        service.to_owned()
    };
    cut(&id, 63)
}

/// Adds the database, the TTL policies, the bindings.
pub fn add(m: &Model<'_>, t: &mut Tf) -> Result<()> {
    let Some(db) = m.database_local() else {
        return Ok(());
    };
    let database = json!({
        "name": database_id(&m.service),
        "project": "${var.project}",
        "location_id": "${var.region}",
        "type": "FIRESTORE_NATIVE",
        "concurrency_mode": "OPTIMISTIC",
        "point_in_time_recovery_enablement": "POINT_IN_TIME_RECOVERY_ENABLED",
        "delete_protection_state": "DELETE_PROTECTION_ENABLED",
        "deletion_policy": "DELETE",
    });
    t.resource("google_firestore_database", &db, database);
    let runtime = account_member("runtime");
    for s in &m.app.stores {
        let l = local("kv", &s.name);
        t.resource(
            "google_firestore_field",
            &l,
            json!({
                "project": "${var.project}",
                "database": reference("google_firestore_database", &db, "name"),
                "collection": s.name,
                "field": EXPIRES_AT,
                "ttl_config": {},
                "index_config": {},
            }),
        );
        for access in &s.access {
            t.bindings
                .grant("runtime", &runtime, "kv", access, Target::Database)?;
        }
        let url = format!(
            "firestore://${{var.project}}/{}?database={}",
            s.name,
            reference("google_firestore_database", &db, "name")
        );
        let var = binding_var(ResourceKind::Kv, &s.name);
        t.output(&format!("binding_{var}"), &var, &url);
        t.env.insert(var, url);
    }
    Ok(())
}
