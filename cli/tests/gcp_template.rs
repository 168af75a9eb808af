//! The quickstart's Google Cloud Terraform, from its description
//! (`fixtures/quickstart.description.json`): every `${…}` reference resolves, the IAM bindings are
//! exactly the declared access and the platform's duties, and the service, queues, schedule,
//! budget and observability are as the code set them.

use std::collections::BTreeSet;

use cloudport_cli::describe;
use cloudport_cli::gcp::{GcpOptions, Terraform, terraform};
use serde_json::Value;

mod support {
    pub(crate) mod terraform_checks;
}
use support::terraform_checks::{self, bindings};

const QUICKSTART: &[u8] = include_bytes!("fixtures/quickstart.description.json");
/// Blob triggers, pull queues, intervals (`gcp_shapes.rs`).
const SHAPES: &[u8] = include_bytes!("gcp_shapes.description.json");

fn quickstart(public: bool) -> Terraform {
    let d = describe::parse(QUICKSTART).expect("the fixture parses");
    let mut o = GcpOptions::new("quickstart");
    o.public = public;
    terraform(&d, &o).expect("terraform")
}

fn resource<'a>(tf: &'a Terraform, ty: &str, name: &str) -> &'a Value {
    let r = &tf.main["resource"][ty][name];
    assert!(r.is_object(), "no {ty}.{name}");
    r
}

#[test]
fn every_reference_resolves() {
    let shapes = || {
        let d = describe::parse(SHAPES).expect("parses");
        let mut o = GcpOptions::new("shapes");
        o.public = true;
        terraform(&d, &o).expect("terraform")
    };
    for tf in [quickstart(false), quickstart(true), shapes()] {
        terraform_checks::assert_references_resolve(&tf);
    }
}

/// Nothing else holds a data role, no data role is project-wide, and every declared access
/// that needs a runtime call has its grant: the quickstart and the shapes (blob triggers, pull
/// queues, every access word).
#[test]
fn every_declared_access_has_its_grant_and_nothing_else_has_one() {
    for (json, name) in [(QUICKSTART, "quickstart"), (SHAPES, "shapes")] {
        let d = describe::parse(json).expect("the fixture parses");
        let tf = terraform(&d, &GcpOptions::new(name)).expect("terraform");
        terraform_checks::assert_grants_follow(&tf, &d);
    }
}

#[test]
fn the_quickstart_is_granted_exactly_what_it_declares() {
    let run = "serviceAccount:${google_service_account.runtime.email}";
    let push = "serviceAccount:${google_service_account.push.email}";
    let cron = "serviceAccount:${google_service_account.scheduler.email}";
    let agent = "serviceAccount:service-${data.google_project.project.number}@gcp-sa-pubsub.iam.gserviceaccount.com";
    let service = "${google_cloud_run_v2_service.service.name}";
    let b = |m: &str, r: &str, on: &str| (m.to_owned(), r.to_owned(), on.to_owned());
    let expected: BTreeSet<_> = [
        // queue("orders").send(): publish on its topic; consume is its trigger's push.
        b(run, "roles/pubsub.publisher", "${google_pubsub_topic.queue_orders.name}"),
        // bucket("receipts").write(): objectUser (a put overwrites).
        b(run, "roles/storage.objectUser", "${google_storage_bucket.bucket_receipts.name}"),
        // kv("orders").read().write(): datastore.user, on the app's database only.
        b(
            run,
            "roles/datastore.user",
            "resource.name == \"projects/${var.project}/databases/${google_firestore_database.database.name}\"",
        ),
        b(push, "roles/run.invoker", service),
        b(cron, "roles/run.invoker", service),
        // Dead-lettering: the Pub/Sub service agent.
        b(agent, "roles/pubsub.publisher", "${google_pubsub_topic.queue_orders-dlq.name}"),
        b(agent, "roles/pubsub.subscriber", "${google_pubsub_subscription.queue_orders.name}"),
    ]
    .into_iter()
    .collect();
    let tf = quickstart(false);
    assert_eq!(bindings(&tf), expected);
    // Public: allUsers may invoke, nothing else changes.
    let public = bindings(&quickstart(true));
    let extra: Vec<_> = public.difference(&expected).collect();
    assert_eq!(extra, [&b("allUsers", "roles/run.invoker", service)]);
}

fn env(tf: &Terraform) -> Vec<(String, String)> {
    let service = resource(tf, "google_cloud_run_v2_service", "service");
    service["template"]["containers"][0]["env"]
        .as_array()
        .expect("env")
        .iter()
        .map(|e| {
            (
                e["name"].as_str().expect("name").to_owned(),
                e["value"].as_str().expect("value").to_owned(),
            )
        })
        .collect()
}

fn var<'a>(env: &'a [(String, String)], name: &str) -> Option<&'a str> {
    env.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

#[test]
fn the_service_has_the_limits_and_bindings() {
    let tf = quickstart(false);
    let s = resource(&tf, "google_cloud_run_v2_service", "service");
    assert_eq!(s["template"]["scaling"]["max_instance_count"], 10);
    assert_eq!(s["template"]["timeout"], "30s");
    assert_eq!(
        s["template"]["containers"][0]["resources"]["limits"]["memory"],
        "256Mi"
    );
    assert_eq!(
        s["template"]["service_account"],
        "${google_service_account.runtime.email}"
    );
    let env = env(&tf);
    assert_eq!(
        var(&env, "CLOUDPORT_QUEUE_ORDERS"),
        Some(
            "gcppubsub://projects/${var.project}/topics/${google_pubsub_topic.queue_orders.name}?subscription=${google_pubsub_subscription.queue_orders.name}"
        )
    );
    assert_eq!(
        var(&env, "CLOUDPORT_BUCKET_RECEIPTS"),
        Some("gs://${google_storage_bucket.bucket_receipts.name}")
    );
    assert_eq!(
        var(&env, "CLOUDPORT_KV_ORDERS"),
        Some(
            "firestore://${var.project}/orders?database=${google_firestore_database.database.name}"
        )
    );
    assert_eq!(var(&env, "CLOUDPORT_REQUEST_TIMEOUT"), Some("30"));
    assert_eq!(var(&env, "CLOUDPORT_EVENT_AUTH"), Some("platform"));
    assert_eq!(var(&env, "CLOUDPORT_OIDC_ALLOWED_EMAILS"), None);
    let public = quickstart(true);
    let env = self::env(&public);
    assert_eq!(var(&env, "CLOUDPORT_EVENT_AUTH"), Some("oidc"));
    assert_eq!(
        var(&env, "CLOUDPORT_OIDC_ALLOWED_EMAILS"),
        Some("${google_service_account.push.email},${google_service_account.scheduler.email}")
    );
}

#[test]
fn queues_push_with_oidc_and_dead_letter_after_five_attempts() {
    let tf = quickstart(false);
    let sub = resource(&tf, "google_pubsub_subscription", "queue_orders");
    assert_eq!(sub["dead_letter_policy"]["max_delivery_attempts"], 5);
    assert_eq!(
        sub["dead_letter_policy"]["dead_letter_topic"],
        "${google_pubsub_topic.queue_orders-dlq.id}"
    );
    let push = &sub["push_config"];
    assert_eq!(
        push["push_endpoint"],
        "${google_cloud_run_v2_service.service.uri}/_cloudport/queue/orders"
    );
    assert_eq!(
        push["oidc_token"]["service_account_email"],
        "${google_service_account.push.email}"
    );
    assert_eq!(
        push["oidc_token"]["audience"],
        "${google_cloud_run_v2_service.service.uri}"
    );
    // The dead-letter topic has a subscription that keeps what arrives, and an alert.
    let kept = resource(&tf, "google_pubsub_subscription", "queue_orders-dlq");
    assert_eq!(kept["topic"], "${google_pubsub_topic.queue_orders-dlq.id}");
    assert!(kept.get("push_config").is_none());
    resource(
        &tf,
        "google_monitoring_alert_policy",
        "dead_letters_orders-dlq",
    );
}

#[test]
fn the_schedule_runs_at_three_utc_with_oidc() {
    let tf = quickstart(false);
    let job = resource(&tf, "google_cloud_scheduler_job", "schedule_nightly-report");
    assert_eq!(job["schedule"], "0 3 * * *");
    assert!(job["time_zone"].as_str().expect("tz").contains("UTC"));
    assert_eq!(
        job["http_target"]["uri"],
        "${google_cloud_run_v2_service.service.uri}/_cloudport/schedule/nightly-report"
    );
    assert_eq!(
        job["http_target"]["oidc_token"]["service_account_email"],
        "${google_service_account.scheduler.email}"
    );
}

#[test]
fn firestore_stores_expire_entries() {
    let tf = quickstart(false);
    let field = resource(&tf, "google_firestore_field", "kv_orders");
    assert_eq!(field["collection"], "orders");
    assert_eq!(field["field"], "expires_at");
    assert!(field["ttl_config"].is_object());
    let bucket = resource(&tf, "google_storage_bucket", "bucket_receipts");
    assert_eq!(bucket["uniform_bucket_level_access"], true);
    assert_eq!(bucket["public_access_prevention"], "enforced");
}

#[test]
fn budget_dashboard_metrics_and_alerts() {
    let tf = quickstart(false);
    let budget = resource(&tf, "google_billing_budget", "budget");
    assert_eq!(budget["count"], "${var.billing_account == \"\" ? 0 : 1}");
    assert_eq!(budget["amount"]["specified_amount"]["units"], "10");
    assert_eq!(tf.variables["variable"]["billing_account"]["default"], "");
    let dashboard = resource(&tf, "google_monitoring_dashboard", "dashboard");
    let body: Value = serde_json::from_str(dashboard["dashboard_json"].as_str().expect("a string"))
        .expect("dashboard JSON");
    let text = body.to_string();
    for metric in [
        "run.googleapis.com/request_count",
        "run.googleapis.com/request_latencies",
        "run.googleapis.com/container/startup_latencies",
        "run.googleapis.com/container/instance_count",
        "run.googleapis.com/container/billable_instance_time",
        "logging.googleapis.com/user/cloudport/quickstart/cold_starts",
    ] {
        assert!(text.contains(metric), "the dashboard lacks {metric}");
    }
    for m in ["invocations", "errors", "cold_starts", "duration"] {
        let metric = resource(&tf, "google_logging_metric", m);
        assert!(
            metric["filter"]
                .as_str()
                .expect("filter")
                .contains("jsonPayload.message=\"cloudport invocation\"")
        );
    }
    for a in ["errors", "server_errors"] {
        resource(&tf, "google_monitoring_alert_policy", a);
    }
}

#[test]
fn what_google_cloud_cannot_do_is_refused() {
    let with = |from: &str, to: &str| {
        let text = String::from_utf8_lossy(QUICKSTART).replace(from, to);
        let d = describe::parse(text.as_bytes()).expect("parses");
        terraform(&d, &GcpOptions::new("quickstart"))
    };
    let e = with("\"max_deliveries\": 5", "\"max_deliveries\": 3").expect_err("refused");
    assert!(e.to_string().contains("5-100"), "{e}");
    let e = with("\"cron\": \"0 0 3 * * *\"", "\"cron\": \"30 0 3 * * *\"").expect_err("refused");
    assert!(e.to_string().contains("seconds field must be 0"), "{e}");
    let e = with("\"cron\": \"0 0 3 * * *\"", "\"every_seconds\": 90").expect_err("refused");
    assert!(e.to_string().contains("whole number of minutes"), "{e}");
    let ok = with("\"cron\": \"0 0 3 * * *\"", "\"every_seconds\": 900").expect("15 minutes");
    assert_eq!(
        resource(&ok, "google_cloud_scheduler_job", "schedule_nightly-report")["schedule"],
        "*/15 * * * *"
    );
    let e = with("\"memory_mb\": 256", "\"memory_mb\": 65536").expect_err("refused");
    assert!(e.to_string().contains("32 GiB"), "{e}");
    let mut o = GcpOptions::new("Bad_Name");
    o.public = false;
    let d = describe::parse(QUICKSTART).expect("parses");
    assert!(terraform(&d, &o).is_err());
}
