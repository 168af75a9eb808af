//! The shared checks, by case: what every cloud refuses, and how a description is indexed.

use super::*;
use serde_json::{Value, json};

fn description(extra: Value) -> Description {
    let mut d = json!({"cloudport_description": 1, "sdk_version": "0.1.0", "http": false,
        "any_event": false, "triggers": [], "declared": true, "resources": [], "limits": {}});
    if let (Some(d), Some(extra)) = (d.as_object_mut(), extra.as_object()) {
        d.extend(extra.clone());
    }
    crate::describe::parse(d.to_string().as_bytes()).expect("parses")
}

fn refused(extra: Value) -> Error {
    Model::new(&description(extra)).expect_err("refused")
}

fn q(name: &str, dl: Option<&str>) -> Resource {
    Resource {
        name: name.into(),
        access: vec!["send".into()],
        dead_letter: dl.map(|d| DeadLetterDescription {
            queue: d.to_owned(),
            max_deliveries: 3,
        }),
        triggered: false,
        declaration: String::new(),
    }
}

#[test]
fn dead_letter_cycles_are_refused() {
    assert!(check_no_dead_letter_cycle(&[q("a", Some("b")), q("b", None)]).is_ok());
    assert!(check_no_dead_letter_cycle(&[q("a", Some("b")), q("b", Some("c"))]).is_ok());
    assert!(check_no_dead_letter_cycle(&[q("a", Some("a"))]).is_err());
    assert!(check_no_dead_letter_cycle(&[q("a", Some("b")), q("b", Some("a"))]).is_err());
    let three = [q("a", Some("b")), q("b", Some("c")), q("c", Some("b"))];
    assert!(check_no_dead_letter_cycle(&three).is_err());
}

#[test]
fn the_description_is_indexed_by_kind_and_name() {
    let d = description(json!({
        "triggers": [
            {"kind": "schedule", "name": "tick", "every_seconds": 300},
            {"kind": "blob", "name": "uploads"},
            {"kind": "queue", "name": "orders"},
            {"kind": "schedule", "name": "nightly", "cron": "0 0 3 * * *"}
        ],
        "resources": [
            {"kind": "queue", "name": "orders", "access": ["consume"],
             "dead_letter": {"queue": "orders-dlq", "max_deliveries": 4}, "declaration": "o"},
            {"kind": "queue", "name": "audit", "access": ["send"],
             "dead_letter": {"queue": "orders-dlq", "max_deliveries": 2}, "declaration": "a"},
            {"kind": "bucket", "name": "uploads", "access": ["read"], "declaration": "u"},
            {"kind": "kv", "name": "carts", "access": ["read", "write"], "declaration": "c"}
        ]
    }));
    let m = Model::new(&d).expect("valid");
    let names = |l: &[Resource]| l.iter().map(|r| r.name.clone()).collect::<Vec<_>>();
    assert_eq!(names(&m.queues), ["audit", "orders"]);
    assert_eq!(m.dead_letter_only, ["orders-dlq"]);
    assert!(m.queues[1].triggered && !m.queues[0].triggered);
    assert_eq!(
        m.queues[1].dead_letter.as_ref().map(|d| d.max_deliveries),
        Some(4)
    );
    assert!(m.buckets[0].triggered);
    assert!(m.stores[0].can("write") && !m.stores[0].triggered);
    assert_eq!(
        m.schedules,
        [
            ScheduleSpec {
                name: "nightly".into(),
                cron: Some("0 0 3 * * *".into()),
                every_seconds: None
            },
            ScheduleSpec {
                name: "tick".into(),
                cron: None,
                every_seconds: Some(300)
            },
        ]
    );
    let kinds: Vec<_> = m.resources().map(|(k, r)| (k, r.name.as_str())).collect();
    assert_eq!(
        kinds,
        [
            (ResourceKind::Queue, "audit"),
            (ResourceKind::Queue, "orders"),
            (ResourceKind::Bucket, "uploads"),
            (ResourceKind::Kv, "carts")
        ]
    );
}

#[test]
fn what_no_cloud_can_deploy_is_refused_with_its_reason() {
    let queue =
        |name: &str| json!({"kind": "queue", "name": name, "access": ["send"], "declaration": ""});
    let cases = [
        (
            json!({"triggers": [{"kind": "queue", "name": "q"}]}),
            "no resource entry",
        ),
        (
            json!({"triggers": [{"kind": "blob", "name": "b"}], "resources": [queue("b")]}),
            "no resource entry",
        ),
        (
            json!({"resources": [queue("q"), queue("q")]}),
            "listed twice",
        ),
        (
            json!({"resources": [{"kind": "widget", "name": "t", "access": [], "declaration": ""}]}),
            "unknown resource kind",
        ),
        (
            json!({"resources": [{"kind": "topic", "name": "t", "access": ["publish"], "declaration": ""}]}),
            "topics are not deployed yet",
        ),
        (
            json!({"triggers": [{"kind": "topic", "name": "t"}],
            "resources": [{"kind": "topic", "name": "t", "access": ["subscribe"], "declaration": ""}]}),
            "topics are not deployed yet",
        ),
        (
            json!({"resources": [queue("a/b")]}),
            "queue name \"a/b\" must be 1-63",
        ),
        (
            json!({"resources": [{"kind": "queue", "name": "a", "access": ["send"],
            "dead_letter": {"queue": "no such", "max_deliveries": 2}, "declaration": ""}]}),
            "queue name \"no such\"",
        ),
        (
            json!({"resources": [{"kind": "queue", "name": "a", "access": ["send"],
            "dead_letter": {"queue": "a", "max_deliveries": 2}, "declaration": ""}]}),
            "lead back",
        ),
        (
            json!({"triggers": [{"kind": "schedule", "name": "s", "every_seconds": 60, "every_subsec_nanos": 5}]}),
            "fraction of a second",
        ),
        (
            json!({"triggers": [{"kind": "schedule", "name": "s s", "cron": "0 0 3 * * *"}]}),
            "schedule name",
        ),
    ];
    for (extra, expected) in cases {
        let e = refused(extra.clone());
        assert!(e.to_string().contains(expected), "{extra}: {e}");
    }
    // The same name in two kinds is two resources.
    let both = description(json!({"resources": [queue("x"),
        {"kind": "kv", "name": "x", "access": ["read"], "declaration": ""}]}));
    assert!(Model::new(&both).is_ok());
}

#[test]
fn every_access_word_of_the_sdk_has_a_grant_on_every_cloud() {
    for kind in [ResourceKind::Queue, ResourceKind::Bucket, ResourceKind::Kv] {
        for (word, _) in cloudport_core::access::Access::all_names(kind) {
            let k = kind_word(kind);
            assert!(crate::aws::iam::grants(k, word).is_ok(), "AWS {k} {word}");
            assert!(
                crate::gcp::iam::role(k, word).is_ok(),
                "Google Cloud {k} {word}"
            );
            assert!(
                crate::azure::roles::grant(k, word).is_ok(),
                "Azure {k} {word}"
            );
        }
    }
    let d = description(json!({"resources": [
        {"kind": "kv", "name": "k", "access": ["read", "admin"], "declaration": ""}]}));
    let m = Model::new(&d).expect("checked per cloud");
    let e = m
        .check_access(crate::aws::iam::grants)
        .expect_err("no mapping");
    assert!(e.to_string().contains("no IAM mapping"), "{e}");
}
