//! The packaged Azure app reaches every bound resource by its identity, never by a key: each
//! `CLOUDPORT_*` binding names the identity-based connection (`?connection=CloudportStorage`),
//! whose settings are the Functions host's own names for it — which the cloudport Azure provider
//! reads too (ADR 0012) — and the template holds no storage key or connection string.

use std::collections::BTreeMap;

use cloudport_cli::azure::{AzureOptions, template};
use serde_json::Value;

mod support {
    pub(crate) mod arm;
}
use support::arm::{by_type, quickstart};

fn app_settings(t: &Value) -> BTreeMap<String, String> {
    let sites = by_type(t, "Microsoft.Web/sites");
    assert_eq!(sites.len(), 1, "one function app");
    sites[0]["properties"]["siteConfig"]["appSettings"]
        .as_array()
        .expect("app settings")
        .iter()
        .map(|s| {
            let value = match &s["value"] {
                Value::String(v) => v.clone(),
                other => other.to_string(),
            };
            (s["name"].as_str().expect("a name").to_owned(), value)
        })
        .collect()
}

#[test]
fn every_binding_opens_through_the_identity_based_connection() {
    let t = template(&quickstart(), &AzureOptions::new("quickstart")).expect("a template");
    let settings = app_settings(&t);
    let bindings: Vec<(&String, &String)> = settings
        .iter()
        .filter(|(k, _)| {
            ["CLOUDPORT_QUEUE_", "CLOUDPORT_BUCKET_", "CLOUDPORT_KV_"]
                .iter()
                .any(|p| k.starts_with(p))
        })
        .collect();
    let names: Vec<&str> = bindings.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "CLOUDPORT_BUCKET_RECEIPTS",
            "CLOUDPORT_KV_ORDERS",
            "CLOUDPORT_QUEUE_ORDERS"
        ]
    );
    for (name, url) in &bindings {
        assert!(
            url.contains("?connection=CloudportStorage'")
                || url.contains("?connection=CloudportStorage&"),
            "{name} = {url}: the binding must name the identity-based connection"
        );
    }
    for service in ["queue", "blob", "table"] {
        let uri = &settings[&format!("CloudportStorage__{service}ServiceUri")];
        assert!(
            uri.contains("dataAccount") && uri.contains(&format!("primaryEndpoints.{service}")),
            "{service}: {uri}"
        );
    }
    assert_eq!(settings["CloudportStorage__credential"], "managedidentity");
    assert!(
        settings["CloudportStorage__clientId"].contains("clientId"),
        "the user-assigned identity's client id"
    );
    assert_eq!(
        settings["AzureWebJobsStorage__credential"],
        "managedidentity"
    );
}

#[test]
fn the_template_holds_no_storage_key_or_connection_string() {
    let t = template(&quickstart(), &AzureOptions::new("quickstart")).expect("a template");
    let text = t.to_string();
    for forbidden in [
        "listKeys",
        "AccountKey",
        "SharedAccessSignature",
        "listAccountSas",
    ] {
        assert!(!text.contains(forbidden), "the template uses {forbidden}");
    }
    let settings = app_settings(&t);
    assert!(
        !settings.contains_key("AzureWebJobsStorage"),
        "host storage by identity only"
    );
    assert!(
        !settings.contains_key("CloudportStorage"),
        "data storage by identity only"
    );
    for account in by_type(&t, "Microsoft.Storage/storageAccounts") {
        assert_eq!(
            account["properties"]["allowSharedKeyAccess"],
            Value::Bool(false),
            "shared keys are off"
        );
    }
}
