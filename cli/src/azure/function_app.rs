//! The identity, the Flex Consumption plan and the function app, with its settings.
//!
//! # Why Flex Consumption
//!
//! The Flex Consumption plan (`FC1`, Linux) is Azure's serverless plan going forward: it takes
//! its deployment package from a blob container **with a managed identity** (no storage key
//! anywhere: both storage accounts run with `allowSharedKeyAccess: false`), has a hard scale cap
//! (`functionAppConfig.scaleAndConcurrency.maximumInstanceCount`) and the instance memory as a
//! setting (`instanceMemoryMB`), <https://learn.microsoft.com/azure/azure-functions/flex-consumption-plan>.
//! The Linux Consumption plan gets no new features and is being retired
//! (<https://learn.microsoft.com/azure/azure-functions/consumption-plan>), and its zip deployment
//! depends on a SAS URL to the package, i.e. shared keys. Custom handlers run on Flex with
//! `functionAppConfig.runtime.name = "custom"`, which replaces `FUNCTIONS_WORKER_RUNTIME` there
//! (the Flex Consumption stacks that `Get-AzFunctionAppFlexConsumptionRuntime` lists include
//! `custom`; "Flex Consumption plan deprecations",
//! <https://learn.microsoft.com/azure/azure-functions/functions-app-settings#flex-consumption-plan-deprecations>).
//! The cost: Flex runs blob triggers only from Event Grid, so a blob trigger needs an Event Grid
//! subscription to its function's webhook, deployed after the code ([`super::event_grid`]).
//!
//! # Why a user-assigned identity
//!
//! Its principal exists before the function app, so every role assignment is made before the
//! app is created (`dependsOn`) and the host's first start already has its storage; the
//! deployment-storage authentication and `AzureWebJobsStorage__clientId` name it. It is one per
//! app (`<app>-id`), used by nothing else.

use cloudport_core::ResourceKind;
use cloudport_core::env::binding_var;
use cloudport_core::platform::azure::{FUNCTION_TIMEOUT_VAR, ROUTE_PREFIX_VAR};
use serde_json::{Map, Value, json};

use super::arm::{
    DEPLOYMENT_CONTAINER, IDENTITY_API, STORAGE_API, account_id, child_id, expr, id_of,
    identity_id, identity_ref, skip_check, var,
};
use super::model::{CONNECTION, Model};
use crate::Result;

/// The `CLOUDPORT_<KIND>_<NAME>` bindings: `azqueue://<account>/<queue>` (with
/// `?max_dequeue_count=N` when the code declared other than
/// [`MAX_DEQUEUE_COUNT`](super::MAX_DEQUEUE_COUNT) deliveries), `azblob://<account>/<container>`,
/// `aztable://<account>/<table>` (partition `default`).
pub fn bindings(m: &Model<'_>) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for q in m.queues() {
        let params = match q.max_deliveries() {
            Some(n) if n != super::MAX_DEQUEUE_COUNT => {
                format!("?connection={CONNECTION}&max_dequeue_count={n}")
            }
            _ => format!("?connection={CONNECTION}"),
        };
        out.push((
            binding_var(ResourceKind::Queue, &q.r.name),
            expr(&format!(
                "format('azqueue://{{0}}/{}{params}', {})",
                q.native,
                var("dataAccount")
            )),
        ));
    }
    for (kind, scheme) in [
        (ResourceKind::Bucket, "azblob"),
        (ResourceKind::Kv, "aztable"),
    ] {
        for r in m.resources(kind) {
            out.push((
                binding_var(kind, &r.r.name),
                expr(&format!(
                    "format('{scheme}://{{0}}/{}?connection={CONNECTION}', {})",
                    r.native,
                    var("dataAccount")
                )),
            ));
        }
    }
    out
}

/// The app settings: host storage and the triggers' connection by identity, Application
/// Insights, the host's timeout and route prefix, the bindings. Sorted by name.
fn app_settings(m: &Model<'_>) -> Vec<Value> {
    let client_id = expr(&identity_ref("clientId"));
    let mut settings: Map<String, Value> = Map::new();
    let mut set = |k: &str, v: Value| {
        settings.insert(k.to_owned(), v);
    };
    set(
        "APPLICATIONINSIGHTS_CONNECTION_STRING",
        expr(&format!(
            "reference({}, '2020-02-02').ConnectionString",
            id_of("Microsoft.Insights/components", "insightsName")
        )),
    );
    set(
        "AzureWebJobsStorage__accountName",
        expr(&var("hostAccount")),
    );
    set("AzureWebJobsStorage__credential", json!("managedidentity"));
    set("AzureWebJobsStorage__clientId", client_id.clone());
    set(
        &format!("{CONNECTION}__queueServiceUri"),
        expr(&format!(
            "reference({}, '{STORAGE_API}').primaryEndpoints.queue",
            account_id("dataAccount")
        )),
    );
    // The blob and table services too: a blob trigger's connection names the blob service (and
    // keeps the queue one, which its poison queue needs: "Identity-based connections" of the
    // blob trigger,
    // https://learn.microsoft.com/azure/azure-functions/functions-bindings-storage-blob#identity-based-connections),
    // and the handlers' own resources open through the same settings (`?connection=` in every
    // binding; the cloudport Azure provider reads the host's names, ADR 0012).
    for service in ["blob", "table"] {
        set(
            &format!("{CONNECTION}__{service}ServiceUri"),
            expr(&format!(
                "reference({}, '{STORAGE_API}').primaryEndpoints.{service}",
                account_id("dataAccount")
            )),
        );
    }
    set(
        &format!("{CONNECTION}__credential"),
        json!("managedidentity"),
    );
    set(&format!("{CONNECTION}__clientId"), client_id.clone());
    // DefaultAzureCredential's variable for a user-assigned identity.
    set("AZURE_CLIENT_ID", client_id);
    set(
        FUNCTION_TIMEOUT_VAR,
        json!(m.timeout().as_secs().to_string()),
    );
    if m.app.d.http {
        set(ROUTE_PREFIX_VAR, json!(m.o.route_prefix));
    }
    for (k, v) in bindings(m) {
        set(&k, v);
    }
    settings
        .into_iter()
        .map(|(name, value)| json!({ "name": name, "value": value }))
        .collect()
}

/// The identity, the Flex Consumption plan and the function app, which depends on every role
/// assignment (`role_assignments`, their ids).
pub fn function_app(m: &Model<'_>, role_assignments: &[String]) -> Result<Vec<Value>> {
    let mut scale = json!({ "instanceMemoryMB": m.instance_memory_mb()? });
    // The most on-demand instances per function group (the REST spec's description,
    // Azure/azure-rest-api-specs#45083); the docs give 1 as the lowest value, some report 40
    // (Azure/Azure-Functions#2650). DEPLOY.md says both.
    if let Some(n) = m.app.d.limits.max_concurrency {
        scale["maximumInstanceCount"] = json!(n.max(1));
    }
    let mut depends = vec![
        expr(&id_of("Microsoft.Web/serverfarms", "planName")),
        expr(&id_of("Microsoft.Insights/components", "insightsName")),
        expr(&child_id(
            ResourceKind::Bucket,
            "hostAccount",
            DEPLOYMENT_CONTAINER,
        )),
    ];
    depends.extend(role_assignments.iter().map(|a| expr(a)));
    let mut identities = Map::new();
    identities.insert(format!("[{}]", identity_id()), json!({}));
    let mut site = json!({
        "type": "Microsoft.Web/sites",
        "apiVersion": "2024-04-01",
        "name": expr(&var("functionAppName")),
        "location": "[parameters('location')]",
        "tags": "[variables('tags')]",
        "kind": "functionapp,linux",
        "identity": { "type": "UserAssigned", "userAssignedIdentities": identities },
        "dependsOn": depends,
        "properties": {
            "serverFarmId": expr(&id_of("Microsoft.Web/serverfarms", "planName")),
            "httpsOnly": true,
            "siteConfig": {
                "minTlsVersion": "1.2",
                "ftpsState": "Disabled",
                "http20Enabled": true,
                "remoteDebuggingEnabled": false,
                "appSettings": app_settings(m),
            },
            "functionAppConfig": {
                "deployment": { "storage": {
                    "type": "blobContainer",
                    "value": expr(&format!(
                        "format('{{0}}{DEPLOYMENT_CONTAINER}', reference({}, '{STORAGE_API}').primaryEndpoints.blob)",
                        account_id("hostAccount")
                    )),
                    "authentication": {
                        "type": "UserAssignedIdentity",
                        "userAssignedIdentityResourceId": expr(&identity_id()),
                    },
                } },
                "scaleAndConcurrency": scale,
                "runtime": { "name": "custom", "version": "1.0" },
            },
        },
    });
    for (id, why) in SITE_SKIPS {
        skip_check(&mut site, id, why);
    }
    Ok(vec![
        json!({
            "type": "Microsoft.ManagedIdentity/userAssignedIdentities",
            "apiVersion": IDENTITY_API,
            "name": expr(&var("identityName")),
            "location": "[parameters('location')]",
            "tags": "[variables('tags')]",
            "metadata": { "description": "the function app's identity: every role assignment of the template is to it" },
        }),
        json!({
            "type": "Microsoft.Web/serverfarms",
            "apiVersion": "2024-04-01",
            "name": expr(&var("planName")),
            "location": "[parameters('location')]",
            "tags": "[variables('tags')]",
            "kind": "functionapp",
            "sku": { "tier": "FlexConsumption", "name": "FC1" },
            "properties": { "reserved": true },
            "metadata": { "checkov": [
                "CKV_AZURE_225: zone redundancy on Flex Consumption is available in some regions only and changes the always-ready billing; a per-app choice (properties.zoneRedundant)",
            ] },
        }),
        site,
    ])
}

/// checkov's function-app checks that do not apply, and why.
const SITE_SKIPS: [(&str, &str); 4] = [
    (
        "CKV_AZURE_17",
        "client certificates would refuse every caller of the app's HTTP API that has none; requests are authenticated by the app",
    ),
    (
        "CKV_AZURE_222",
        "the app's HTTP API is public by design, and zip deployment reaches the app over its public endpoint; no virtual network",
    ),
    (
        "CKV_AZURE_212",
        "a serverless plan: the platform adds instances on demand (numberOfWorkers does not apply to Flex Consumption)",
    ),
    (
        "CKV_AZURE_213",
        "Functions on Flex Consumption have no App Service health check; failures show in Application Insights and the alert rules",
    ),
];
