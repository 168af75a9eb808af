//! The Azure template of the quickstart, checked structurally: every reference resolves inside
//! the template, every role is a built-in role of the table, assigned on the one resource its
//! declaration names, and the limits, budget, workbook and alerts follow the description.

use std::collections::{BTreeMap, BTreeSet};

use azure_support::{assignments, by_type, quickstart};
use cloudport_cli::azure::event_grid::subscriptions_template;
use cloudport_cli::azure::{AzureOptions, roles, template};
use serde_json::Value;

mod support {
    pub(crate) mod arm;
    pub(crate) mod checkov;
}
use support::arm as azure_support;

#[test]
fn every_reference_resolves_inside_the_template() {
    let t = template(&quickstart(), &AzureOptions::new("quickstart")).expect("a template");
    azure_support::assert_references_resolve(&t);
}

#[test]
fn the_quickstart_gets_exactly_its_roles_each_on_its_resource() {
    let t = template(&quickstart(), &AzureOptions::new("quickstart")).expect("a template");
    let got = assignments(&t);
    let s = |a: &str, b: &str, c: &str| (a.to_owned(), b.to_owned(), c.to_owned());
    let expected: BTreeSet<_> = [
        // queue("orders").send().consume() + its trigger: Update Message (the nack) needs
        // Queue Data Contributor, which includes Sender, Processor and Reader.
        s("queues", "orders", "Storage Queue Data Contributor"),
        s(
            "queues",
            "orders-poison",
            "Storage Queue Data Message Sender",
        ),
        s("containers", "receipts", "Storage Blob Data Contributor"),
        // kv("orders").read().write(): Contributor includes Reader.
        s("tables", "orders", "Storage Table Data Contributor"),
        // The Functions host's storage, a separate account.
        s(
            "storageAccounts",
            "{hostAccount}",
            "Storage Blob Data Owner",
        ),
    ]
    .into();
    assert_eq!(got, expected);
}

#[test]
fn every_declared_access_has_its_roles_and_nothing_else_has_any() {
    let d = azure_support::describe(serde_json::json!({
        "triggers": [{"kind": "queue", "name": "jobs"}],
        "resources": [
            {"kind": "queue", "name": "jobs", "access": ["consume"], "declaration": "queue(\"jobs\").consume()"},
            {"kind": "queue", "name": "audit", "access": ["send"], "declaration": "queue(\"audit\").send()"},
            {"kind": "bucket", "name": "in_box", "access": ["read", "list"], "declaration": "bucket(\"in_box\").read().list()"},
            {"kind": "bucket", "name": "out", "access": ["write", "delete"], "declaration": "bucket(\"out\").write().delete()"},
            {"kind": "kv", "name": "cache-v2", "access": ["read"], "declaration": "kv(\"cache-v2\").read()"},
        ],
    }));
    let t = template(&d, &AzureOptions::new("jobs")).expect("a template");
    let expected = azure_support::expected_assignments(&d);
    // The Azure names, spelled out: `in_box` → `in-box`, `cache-v2` → `cachev2`; the consumed
    // queue's poison queue, the sent-only queue's none.
    let names: BTreeSet<&str> = expected.iter().map(|(_, n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "audit",
            "cachev2",
            "in-box",
            "jobs",
            "jobs-poison",
            "out",
            "{hostAccount}"
        ]
        .into()
    );
    assert_eq!(assignments(&t), expected);
    // A queue only sent to has a poison queue but nobody may write it.
    assert!(!assignments(&t).iter().any(|(_, n, _)| n == "audit-poison"));
    let names: BTreeSet<String> =
        by_type(&t, "Microsoft.Storage/storageAccounts/queueServices/queues")
            .iter()
            .map(|q| q["name"].as_str().expect("a string").to_owned())
            .collect();
    assert!(names.iter().any(|n| n.contains("/default/audit-poison")));
}

#[test]
fn limits_budget_workbook_and_alerts_follow_the_description() {
    let t = template(&quickstart(), &AzureOptions::new("quickstart")).expect("a template");
    let site = by_type(&t, "Microsoft.Web/sites")[0];
    let config = &site["properties"]["functionAppConfig"];
    assert_eq!(config["scaleAndConcurrency"]["maximumInstanceCount"], 10);
    assert_eq!(config["scaleAndConcurrency"]["instanceMemoryMB"], 512);
    assert_eq!(config["runtime"]["name"], "custom");
    assert_eq!(
        config["deployment"]["storage"]["authentication"]["type"],
        "UserAssignedIdentity"
    );
    assert_eq!(site["properties"]["httpsOnly"], true);
    let settings: BTreeMap<String, Value> = site["properties"]["siteConfig"]["appSettings"]
        .as_array()
        .expect("the template as generated")
        .iter()
        .map(|s| {
            (
                s["name"].as_str().expect("a string").to_owned(),
                s["value"].clone(),
            )
        })
        .collect();
    assert_eq!(
        settings["CLOUDPORT_QUEUE_ORDERS"],
        "[format('azqueue://{0}/orders?connection=CloudportStorage', variables('dataAccount'))]"
    );
    assert_eq!(
        settings["CLOUDPORT_BUCKET_RECEIPTS"],
        "[format('azblob://{0}/receipts?connection=CloudportStorage', variables('dataAccount'))]"
    );
    assert_eq!(
        settings["CLOUDPORT_KV_ORDERS"],
        "[format('aztable://{0}/orders?connection=CloudportStorage', variables('dataAccount'))]"
    );
    assert_eq!(settings["CLOUDPORT_FUNCTION_TIMEOUT"], "30");
    assert_eq!(settings["CLOUDPORT_AZURE_ROUTE_PREFIX"], "api");
    assert_eq!(
        settings["AzureWebJobsStorage__credential"],
        "managedidentity"
    );
    assert!(settings.contains_key("AzureWebJobsStorage__accountName"));
    assert!(settings.contains_key("CloudportStorage__queueServiceUri"));
    // No key, connection string or worker-runtime setting (Flex takes the runtime from
    // functionAppConfig).
    assert!(!settings.contains_key("AzureWebJobsStorage"));
    assert!(!settings.contains_key("FUNCTIONS_WORKER_RUNTIME"));
    for account in by_type(&t, "Microsoft.Storage/storageAccounts") {
        let p = &account["properties"];
        assert_eq!(p["allowSharedKeyAccess"], false);
        assert_eq!(p["allowBlobPublicAccess"], false);
        assert_eq!(p["supportsHttpsTrafficOnly"], true);
        assert_eq!(p["minimumTlsVersion"], "TLS1_2");
    }

    let budget = by_type(&t, "Microsoft.Consumption/budgets");
    assert_eq!(budget.len(), 1);
    let b = &budget[0]["properties"];
    assert_eq!(b["amount"], 10);
    assert_eq!(b["timeGrain"], "Monthly");
    assert_eq!(b["filter"]["tags"]["name"], "cloudport-function");
    let kinds: BTreeSet<(u64, String)> = b["notifications"]
        .as_object()
        .expect("the template as generated")
        .values()
        .map(|n| {
            (
                n["threshold"].as_u64().expect("a number"),
                n["thresholdType"].as_str().expect("a string").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [(80, "Forecasted".to_owned()), (100, "Actual".to_owned())].into()
    );

    let workbook = by_type(&t, "Microsoft.Insights/workbooks");
    assert_eq!(workbook.len(), 1);
    assert_eq!(
        workbook[0]["name"],
        "[guid(resourceGroup().id, parameters('appName'), 'cloudport-workbook')]"
    );
    let data: Value = serde_json::from_str(
        workbook[0]["properties"]["serializedData"]
            .as_str()
            .expect("the template as generated"),
    )
    .expect("the template as generated");
    let queries: Vec<&str> = data["items"]
        .as_array()
        .expect("the template as generated")
        .iter()
        .filter_map(|i| i["content"]["query"].as_str())
        .collect();
    for needle in [
        "countif(success == false)",
        "percentile(duration, 99)",
        "coldStarts",
        "usd",
    ] {
        assert!(queries.iter().any(|q| q.contains(needle)), "{needle}");
    }

    assert_eq!(by_type(&t, "Microsoft.Insights/metricAlerts").len(), 1);
    let poison = by_type(&t, "Microsoft.Insights/scheduledQueryRules");
    assert_eq!(poison.len(), 1);
    assert!(
        poison[0]["properties"]["criteria"]["allOf"][0]["query"]
            .as_str()
            .expect("the template as generated")
            .contains("-poison")
    );
}

#[test]
fn the_template_is_deterministic_and_has_no_budget_without_one() {
    let d = quickstart();
    let o = AzureOptions::new("quickstart");
    assert_eq!(
        template(&d, &o).expect("a template"),
        template(&d, &o).expect("a template")
    );
    let mut no_budget = d.clone();
    no_budget.budget = None;
    let t = template(&no_budget, &o).expect("a template");
    assert!(by_type(&t, "Microsoft.Consumption/budgets").is_empty());
    assert!(t["parameters"].get("budgetStartDate").is_none());
}

#[test]
fn what_azure_cannot_take_is_refused() {
    let o = AzureOptions::new("x1");
    let short = azure_support::describe(serde_json::json!({
        "resources": [{"kind": "queue", "name": "q", "access": ["send"], "declaration": "queue(\"q\").send()"}],
    }));
    assert!(template(&short, &o).is_err());
    let clash = azure_support::describe(serde_json::json!({
        "resources": [
            {"kind": "kv", "name": "a-bc", "access": ["read"], "declaration": ""},
            {"kind": "kv", "name": "ab_c", "access": ["read"], "declaration": ""}],
    }));
    assert!(template(&clash, &o).is_err());
    let big = azure_support::describe(serde_json::json!({"limits": {"memory_mb": 8192}}));
    assert!(template(&big, &o).is_err());
    assert!(template(&quickstart(), &AzureOptions::new("Bad Name")).is_err());
}

/// A description with a blob trigger on `uploads` (read by the code too) and a queue.
fn with_blob_trigger() -> cloudport_core::app::Description {
    azure_support::describe(serde_json::json!({
        "triggers": [{"kind": "blob", "name": "Up_Loads"}, {"kind": "queue", "name": "jobs"}],
        "resources": [
            {"kind": "bucket", "name": "Up_Loads", "access": ["read"], "declaration": "bucket(\"Up_Loads\").read()"},
            {"kind": "bucket", "name": "other", "access": ["write"], "declaration": "bucket(\"other\").write()"},
            {"kind": "queue", "name": "jobs", "access": ["consume"], "declaration": "queue(\"jobs\").consume()"},
        ],
    }))
}

#[test]
fn blob_triggers_are_generated_with_event_grid() {
    let d = with_blob_trigger();
    let o = AzureOptions::new("photos");
    let t = template(&d, &o).expect("a template");
    azure_support::assert_references_resolve(&t);

    // The data account's system topic, which blob-events.json subscribes to.
    let topics = by_type(&t, "Microsoft.EventGrid/systemTopics");
    assert_eq!(topics.len(), 1);
    assert_eq!(
        topics[0]["properties"]["topicType"],
        "Microsoft.Storage.StorageAccounts"
    );
    assert_eq!(
        topics[0]["properties"]["source"],
        "[resourceId('Microsoft.Storage/storageAccounts', variables('dataAccount'))]"
    );

    // Roles: each access's, the trigger's Storage Blob Data Owner on its container only, and
    // Storage Queue Data Contributor where the blobs extension keeps its queues: the
    // data account's webjobs-blobtrigger-poison (created) and the host account. Nothing else.
    let s = |a: &str, b: &str, c: &str| (a.to_owned(), b.to_owned(), c.to_owned());
    let expected: BTreeSet<_> = [
        s("containers", "up-loads", "Storage Blob Data Owner"),
        s("containers", "other", "Storage Blob Data Contributor"),
        s("queues", "jobs", "Storage Queue Data Contributor"),
        s("queues", "jobs-poison", "Storage Queue Data Message Sender"),
        s(
            "queues",
            roles::BLOB_TRIGGER_POISON_QUEUE,
            "Storage Queue Data Contributor",
        ),
        s(
            "storageAccounts",
            "{hostAccount}",
            "Storage Blob Data Owner",
        ),
        s(
            "storageAccounts",
            "{hostAccount}",
            "Storage Queue Data Contributor",
        ),
    ]
    .into();
    assert_eq!(assignments(&t), expected);
    let queues: BTreeSet<String> =
        by_type(&t, "Microsoft.Storage/storageAccounts/queueServices/queues")
            .iter()
            .map(|q| q["name"].as_str().expect("a string").to_owned())
            .collect();
    assert!(
        queues
            .iter()
            .any(|n| n.contains("/default/webjobs-blobtrigger-poison'"))
    );

    // The trigger's connection names the data account's blob service (and its queue service).
    let site = by_type(&t, "Microsoft.Web/sites")[0];
    let settings: BTreeSet<&str> = site["properties"]["siteConfig"]["appSettings"]
        .as_array()
        .expect("settings")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert!(settings.contains("CloudportStorage__blobServiceUri"));
    assert!(settings.contains("CloudportStorage__queueServiceUri"));

    // The subscriptions: one per blob trigger, blob-created events of its container to the
    // blobs extension's webhook of its function, on the main template's topic and app.
    let events = subscriptions_template(&d, &o)
        .expect("generated")
        .expect("a blob trigger");
    let subs = by_type(
        &events,
        "Microsoft.EventGrid/systemTopics/eventSubscriptions",
    );
    assert_eq!(subs.len(), 1);
    let p = &subs[0]["properties"];
    assert_eq!(
        p["filter"]["includedEventTypes"],
        serde_json::json!(["Microsoft.Storage.BlobCreated"])
    );
    assert_eq!(
        p["filter"]["subjectBeginsWith"],
        "/blobServices/default/containers/up-loads/"
    );
    assert_eq!(p["destination"]["endpointType"], "WebHook");
    let url = p["destination"]["properties"]["endpointUrl"]
        .as_str()
        .expect("a string");
    assert!(
        url.contains("/runtime/webhooks/blobs?functionName=Host.Functions.{1}&code={2}"),
        "{url}"
    );
    assert!(url.contains(", 'blob-Up_Loads', "), "{url}");
    assert!(
        url.contains("listKeys(resourceId('Microsoft.Web/sites/host', variables('functionAppName'), 'default'), '2024-04-01').systemKeys.blobs_extension"),
        "{url}"
    );
    assert_eq!(
        subs[0]["name"],
        "[format('{0}/up-loads', variables('blobEventsTopic'))]"
    );
    // Its variables name what the main template creates, and nothing else.
    for (var, value) in events["variables"].as_object().expect("variables") {
        assert_eq!(&t["variables"][var], value, "variable {var}");
    }
    assert_eq!(
        topics[0]["name"], "[variables('blobEventsTopic')]",
        "the topic the subscriptions name"
    );
    assert_eq!(events["parameters"]["appName"]["defaultValue"], "photos");

    // The function reads blobs from Event Grid, the only source Flex Consumption runs.
    let m = cloudport_cli::azure::package::app_manifest(&d, &o).expect("a manifest");
    let binding = &m.function_json("blob-Up_Loads").expect("the blob function")["bindings"][0];
    assert_eq!(binding["type"], "blobTrigger");
    assert_eq!(binding["source"], "EventGrid");
    assert_eq!(binding["path"], "up-loads/{name}");

    // Without blob triggers: no topic, no subscriptions, no blob-trigger queue roles.
    let q = quickstart();
    let plain = template(&q, &AzureOptions::new("quickstart")).expect("a template");
    assert!(by_type(&plain, "Microsoft.EventGrid/systemTopics").is_empty());
    assert!(plain["variables"].get("blobEventsTopic").is_none());
    assert!(
        subscriptions_template(&q, &AzureOptions::new("quickstart"))
            .expect("ok")
            .is_none()
    );
}

#[test]
fn a_queue_named_like_the_blob_trigger_poison_queue_is_refused() {
    let mut d = with_blob_trigger();
    d.resources.push(cloudport_core::app::ResourceDescription {
        kind: "queue".into(),
        name: "webjobs-blobtrigger-poison".into(),
        access: vec!["send".into()],
        dead_letter: None,
        declaration: String::new(),
    });
    let e = template(&d, &AzureOptions::new("photos")).expect_err("refused");
    assert!(e.to_string().contains("blob trigger's poison queue"), "{e}");
}

/// checkov on an app with a blob trigger: the main template passes with reasoned skips only, and
/// `blob-events.json` parses and fails no check.
#[test]
#[ignore = "needs checkov (source scripts/tools.sh && tools_checkov): ./scripts/test.sh"]
fn checkov_passes_the_blob_trigger_templates() {
    let d = with_blob_trigger();
    let o = AzureOptions::new("photos");
    let dir = std::env::temp_dir().join(format!("cloudport-blob-events-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let write = |name: &str, t: &Value| {
        let path = dir.join(name);
        std::fs::write(&path, serde_json::to_vec_pretty(t).expect("JSON")).expect("written");
        path
    };
    let main = write("template.json", &template(&d, &o).expect("a template"));
    support::checkov::assert_arm_passes(&main);
    let events = subscriptions_template(&d, &o)
        .expect("generated")
        .expect("a blob trigger");
    write("blob-events.json", &events);
    let reports =
        support::checkov::run(&["--framework", "arm", "--file", "blob-events.json"], &dir);
    // checkov has no ARM check on event subscriptions (it reports 0 resources); it still must
    // parse the file and fail nothing.
    for r in &reports {
        let errors = r
            .get("parsing_errors")
            .or(r["summary"].get("parsing_errors"));
        assert_eq!(errors, Some(&serde_json::json!(0)), "{r}");
    }
    let failed = support::checkov::failed(&reports);
    assert!(
        failed.is_empty(),
        "checkov failed on blob-events.json: {failed:?}"
    );
    std::fs::remove_dir_all(&dir).expect("removed");
}
