//! The Google Cloud Terraform, checked structurally: every `${…}` reference resolves to a
//! variable, local, data source or resource of the files, and the IAM bindings as (member, role,
//! what). Shared by the generator's tests (`gcp_template.rs`) and the packaged quickstart's
//! (`packaged_gcp.rs`).
#![allow(dead_code)] // each test crate uses a part

use std::collections::BTreeSet;

use cloudport_cli::gcp::{Terraform, iam, names};
use cloudport_core::app::Description;
use serde_json::Value;

/// Every string in `v`, recursively.
pub(crate) fn strings<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::String(s) => out.push(s),
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(o) => o.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

/// The `${…}` expressions of a string.
pub(crate) fn expressions(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let end = after.find('}').expect("a closed ${");
        out.push(&after[..end]);
        rest = &after[end + 1..];
    }
    out
}

/// Whether `token` (`var.x`, `google_<type>.<name>.<attribute>`, …) is defined by the files.
pub(crate) fn defined(tf: &Terraform, token: &str) -> bool {
    let parts: Vec<&str> = token.split('.').collect();
    let has = |v: &Value, keys: &[&str]| keys.iter().try_fold(v, |v, k| v.get(k)).is_some();
    match parts.as_slice() {
        ["var", name, ..] => has(&tf.variables, &["variable", name]),
        ["local", name, ..] => has(&tf.main, &["locals", name]),
        ["data", ty, name, ..] => has(&tf.main, &["data", ty, name]),
        ["count", "index"] => true,
        [ty, name, ..] if ty.starts_with("google_") => has(&tf.main, &["resource", ty, name]),
        _ => false,
    }
}

/// (member, role, what) of every IAM binding.
pub(crate) fn bindings(tf: &Terraform) -> BTreeSet<(String, String, String)> {
    let mut out = BTreeSet::new();
    for (ty, blocks) in tf.main["resource"].as_object().expect("resources") {
        if !ty.ends_with("_iam_member") {
            continue;
        }
        for body in blocks.as_object().expect("blocks").values() {
            let on = ["topic", "subscription", "bucket", "name"]
                .iter()
                .find_map(|k| body[k].as_str())
                .map(str::to_owned)
                .or_else(|| body["condition"]["expression"].as_str().map(str::to_owned))
                .unwrap_or_else(|| "project".to_owned());
            out.insert((
                body["member"].as_str().expect("member").to_owned(),
                body["role"].as_str().expect("role").to_owned(),
                on,
            ));
        }
    }
    out
}

/// Every `${…}` reference of every file, and every `depends_on`, names something the files
/// define (and there are enough to mean something).
pub(crate) fn assert_references_resolve(tf: &Terraform) {
    let mut all = Vec::new();
    for (_, file) in tf.files() {
        strings(file, &mut all);
    }
    let mut checked = 0;
    for s in all {
        for e in expressions(s) {
            for token in e.split(|c: char| !(c.is_ascii_alphanumeric() || "_.-".contains(c))) {
                if token.contains('.')
                    && !token.starts_with(|c: char| c.is_ascii_digit() || c == '.')
                {
                    assert!(defined(tf, token), "{token} (in {s:?}) is not defined");
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 40, "only {checked} references");
    for (ty, blocks) in tf.main["resource"].as_object().expect("resources") {
        for (name, body) in blocks.as_object().expect("blocks") {
            for dep in body["depends_on"].as_array().into_iter().flatten() {
                let dep = dep.as_str().expect("a string");
                assert!(defined(tf, dep), "{ty}.{name} depends on undefined {dep}");
            }
        }
    }
}

/// Whether `role` is a data role (Pub/Sub, Cloud Storage, Firestore).
pub(crate) fn is_data_role(role: &str) -> bool {
    ["pubsub.", "storage.", "datastore."]
        .iter()
        .any(|p| role.contains(p))
}

/// The declared (kind, logical name) a runtime binding is on: a topic or subscription
/// `queue_<name>`, a bucket `bucket_<name>`, or (`kv`, `*`) for the app's Firestore database,
/// which every kv shares.
fn declared_target(on: &str) -> (String, String) {
    if on.contains("google_firestore_database") {
        return ("kv".into(), "*".into());
    }
    let inner = on
        .strip_prefix("${")
        .and_then(|s| s.strip_suffix('}'))
        .unwrap_or_else(|| panic!("a binding on {on:?}, no reference"));
    let local = inner.split('.').nth(1).expect("<type>.<local>.<attribute>");
    let (kind, name) = local.split_once('_').expect("<kind>_<name>");
    (kind.to_owned(), name.to_owned())
}

/// The platform duties of the IAM table ([`iam::Role::access`] of its `platform` rows).
const PLATFORM_DUTIES: &[&str] = &[
    "push",
    "schedule",
    "eventarc-invoke",
    "eventarc-receive",
    "storage-notify",
    "dead-letter-publish",
    "dead-letter-subscribe",
    "public",
];

/// Every declared resource has its grant and nothing else has one: each data role the
/// runtime account holds is on a declared resource and is the table's role
/// ([`iam::role`]) for one of its access words, never project-wide; each declared resource
/// whose access needs a runtime call has a binding (a queue consumed only through its push
/// trigger needs none); and every other member holds only the role of a platform duty (the push,
/// Scheduler and Eventarc invokers, the Pub/Sub and Cloud Storage service agents).
pub(crate) fn assert_grants_follow(tf: &Terraform, d: &Description) {
    let runtime = names::account_member("runtime");
    let mut granted = BTreeSet::new();
    for (member, role, on) in bindings(tf) {
        if member != runtime {
            // A Google service acting for the app: only a platform duty's role of the table.
            assert!(
                PLATFORM_DUTIES
                    .iter()
                    .any(|duty| iam::role("platform", duty).is_ok_and(|row| row.role == role)),
                "{member} holds {role} on {on}, no platform duty's role"
            );
            continue;
        }
        assert!(is_data_role(&role), "the runtime account holds {role}");
        assert_ne!(on, "project", "{role} is project-wide");
        let (kind, name) = declared_target(&on);
        let allowed = d
            .resources
            .iter()
            .filter(|r| r.kind == kind && (name == "*" || r.name == name))
            .flat_map(|r| r.access.iter().map(move |a| (r, a)))
            .filter(|(r, a)| iam::role(&r.kind, a).is_ok_and(|row| row.role == role))
            .map(|(r, _)| (r.kind.clone(), r.name.clone()))
            .collect::<Vec<_>>();
        assert!(
            !allowed.is_empty(),
            "{role} on {on}: no declared access of {kind} {name:?} calls for it"
        );
        granted.extend(allowed);
    }
    let pushed: BTreeSet<String> = d
        .triggers
        .iter()
        .map(|t| serde_json::to_value(t).expect("a trigger serialises"))
        .filter(|t| t["kind"] == "queue")
        .filter_map(|t| t["name"].as_str().map(str::to_owned))
        .collect();
    for r in &d.resources {
        let needs_a_call = r
            .access
            .iter()
            .any(|a| !(r.kind == "queue" && a == "consume" && pushed.contains(&r.name)));
        assert_eq!(
            granted.contains(&(r.kind.clone(), r.name.clone())),
            needs_a_call,
            "{} {:?} ({:?})",
            r.kind,
            r.name,
            r.access
        );
    }
}
