//! The ARM template's storage and role assignments (resource-group scope, `az deployment group
//! create`), and the expression helpers the other parts share; the function app is
//! [`super::function_app`], observability and the budget [`super::observability`], the whole
//! [`template()`](super::template()).
//!
//! # Two storage accounts
//!
//! The host storage (`fn…`: `AzureWebJobsStorage`, the deployment container) needs Storage Blob
//! Data Owner on the whole account ([`roles::HOST_STORAGE`]); the app's queues, containers and
//! tables live in the data account (`cp…`), where every assignment is scoped to the one resource
//! it is for. With one account, the host's role would reach the app's containers too.

use cloudport_core::ResourceKind;
use cloudport_core::app::kind_word;
use serde_json::{Value, json};

use super::model::Model;
use super::roles::{self, Role, Target};
use crate::Result;

/// Storage accounts' API version.
pub const STORAGE_API: &str = "2023-05-01";
/// User-assigned identities' API version.
pub const IDENTITY_API: &str = "2023-01-31";
/// The Flex deployment container on the host storage account.
pub const DEPLOYMENT_CONTAINER: &str = "app-package";

/// `'text'` as an ARM string literal.
pub fn lit(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// `variables('name')`.
pub fn var(name: &str) -> String {
    format!("variables('{name}')")
}

/// An ARM expression string: `[e]`.
pub fn expr(e: &str) -> Value {
    Value::String(format!("[{e}]"))
}

/// `resourceId('type', variables('name_var'))`.
pub fn id_of(ty: &str, name_var: &str) -> String {
    format!("resourceId('{ty}', {})", var(name_var))
}

/// The identity's resource id.
pub fn identity_id() -> String {
    id_of(
        "Microsoft.ManagedIdentity/userAssignedIdentities",
        "identityName",
    )
}

/// `reference(identity).<property>` (`principalId`, `clientId`).
pub fn identity_ref(property: &str) -> String {
    format!("reference({}, '{IDENTITY_API}').{property}", identity_id())
}

/// A storage account's resource id (`dataAccount` or `hostAccount`).
pub fn account_id(account_var: &str) -> String {
    id_of("Microsoft.Storage/storageAccounts", account_var)
}

/// The service and collection of a kind: `queueServices`/`queues`, …
fn service(kind: ResourceKind) -> (&'static str, &'static str) {
    match kind {
        ResourceKind::Queue => ("queueServices", "queues"),
        ResourceKind::Bucket => ("blobServices", "containers"),
        ResourceKind::Kv => ("tableServices", "tables"),
        // Not a storage child; the model refuses topics before any generator runs.
        ResourceKind::Topic => ("topicServices", "topics"),
    }
}

/// The full type of a data-account child: `Microsoft.Storage/storageAccounts/queueServices/queues`, …
pub fn child_type(kind: ResourceKind) -> String {
    let (s, c) = service(kind);
    format!("Microsoft.Storage/storageAccounts/{s}/{c}")
}

/// The resource id of queue / container / table `native` in account `account_var`.
pub fn child_id(kind: ResourceKind, account_var: &str, native: &str) -> String {
    format!(
        "resourceId('{}', {}, 'default', {})",
        child_type(kind),
        var(account_var),
        lit(native)
    )
}

/// The `scope` of an extension resource on that child, in the form Bicep emits.
pub fn child_scope(kind: ResourceKind, account_var: &str, native: &str) -> String {
    let (s, c) = service(kind);
    format!(
        "format('Microsoft.Storage/storageAccounts/{{0}}/{s}/default/{c}/{native}', {})",
        var(account_var)
    )
}

/// Records why checkov's ARM check `id` does not apply to `resource`: checkov reads the
/// resource's `metadata.checkov` entries of the form `"CKV_…: reason"`
/// (`checkov/arm/context_parser.py`, `collect_skip_comments`).
pub fn skip_check(resource: &mut Value, id: &str, reason: &str) {
    let list = &mut resource["metadata"]["checkov"];
    if !list.is_array() {
        *list = json!([]);
    }
    if let Some(items) = list.as_array_mut() {
        items.push(Value::String(format!("{id}: {reason}")));
    }
}

/// A storage account: no shared keys, HTTPS and TLS 1.2 only, no public blob access,
/// infrastructure encryption.
pub fn storage_account(name_var: &str, purpose: &str) -> Value {
    let mut account = json!({
        "type": "Microsoft.Storage/storageAccounts",
        "apiVersion": STORAGE_API,
        "name": expr(&var(name_var)),
        "location": "[parameters('location')]",
        "tags": "[variables('tags')]",
        "kind": "StorageV2",
        "sku": { "name": "Standard_LRS" },
        "properties": {
            "allowSharedKeyAccess": false,
            "defaultToOAuthAuthentication": true,
            "allowBlobPublicAccess": false,
            "allowCrossTenantReplication": false,
            "supportsHttpsTrafficOnly": true,
            "minimumTlsVersion": "TLS1_2",
            "publicNetworkAccess": "Enabled",
            "networkAcls": { "defaultAction": "Allow", "bypass": "AzureServices" },
            "encryption": {
                "keySource": "Microsoft.Storage",
                "requireInfrastructureEncryption": true,
                "services": {
                    "blob": { "enabled": true, "keyType": "Account" },
                    "file": { "enabled": true, "keyType": "Account" },
                    "queue": { "enabled": true, "keyType": "Account" },
                    "table": { "enabled": true, "keyType": "Account" },
                },
            },
        },
        "metadata": { "description": purpose },
    });
    for (id, why) in STORAGE_SKIPS {
        skip_check(&mut account, id, why);
    }
    account
}

/// checkov's storage-account checks that do not apply, and why.
const STORAGE_SKIPS: [(&str, &str); 4] = [
    (
        "CKV_AZURE_43",
        "the name is fn or cp and uniqueString(resource group, app): 15 lowercase letters and digits, valid; checkov cannot evaluate uniqueString",
    ),
    (
        "CKV_AZURE_35",
        "no virtual network: a Flex Consumption app without VNet integration reaches its storage over the public endpoint; access is by Entra ID role only (shared keys and anonymous access are off)",
    ),
    (
        "CKV_AZURE_59",
        "the public endpoint is how the app reaches its storage without a virtual network (see CKV_AZURE_35); every request needs an Entra ID token and a role",
    ),
    (
        "CKV_AZURE_206",
        "locally redundant storage for a serverless app's queues, blobs and tables; geo-redundancy is a per-app choice (edit the sku)",
    ),
];

/// A queue, container or table of `account_var`.
fn child(kind: ResourceKind, account_var: &str, native: &str, what: &str) -> Value {
    let mut r = json!({
        "type": child_type(kind),
        "apiVersion": STORAGE_API,
        "name": expr(&format!("format('{{0}}/default/{native}', {})", var(account_var))),
        "dependsOn": [expr(&account_id(account_var))],
        "metadata": { "description": what },
    });
    if kind == ResourceKind::Bucket {
        r["properties"] = json!({ "publicAccess": "None" });
    }
    r
}

/// One role assignment: `role` for the identity on the resource `id` (`scope` its scope form).
fn assignment(scope: &str, id: &str, role: &Role, description: &str) -> (Value, String) {
    let name = format!("guid({id}, {}, '{}')", var("identityName"), role.id);
    let resource = json!({
        "type": "Microsoft.Authorization/roleAssignments",
        "apiVersion": "2022-04-01",
        "scope": expr(scope),
        "name": expr(&name),
        "dependsOn": [expr(id), expr(&identity_id())],
        "properties": {
            "roleDefinitionId": expr(&format!(
                "subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '{}')",
                role.id
            )),
            "principalId": expr(&identity_ref("principalId")),
            "principalType": "ServicePrincipal",
            "description": description,
        },
    });
    let full_id =
        format!("extensionResourceId({id}, 'Microsoft.Authorization/roleAssignments', {name})");
    (resource, full_id)
}

/// The two storage accounts, the data account's queues (each with `<queue>-poison`),
/// containers and tables, and the identity's role assignments. Returns the resources and the
/// role assignments' ids, which the function app depends on.
pub fn storage(m: &Model<'_>) -> Result<(Vec<Value>, Vec<String>)> {
    let mut out = vec![
        storage_account(
            "hostAccount",
            "Functions host storage (AzureWebJobsStorage) and the deployment package",
        ),
        storage_account(
            "dataAccount",
            "the app's queues, containers and tables (the CLOUDPORT_* bindings)",
        ),
        child(
            ResourceKind::Bucket,
            "hostAccount",
            DEPLOYMENT_CONTAINER,
            "the Flex Consumption deployment package (app.zip)",
        ),
    ];
    let mut ids = Vec::new();
    let host_scope = format!(
        "format('Microsoft.Storage/storageAccounts/{{0}}', {})",
        var("hostAccount")
    );
    let host = roles::HOST_STORAGE;
    let (resource, id) = assignment(
        &host_scope,
        &account_id("hostAccount"),
        &host,
        "Functions host storage with an identity: Storage Blob Data Owner on the host account",
    );
    out.push(resource);
    ids.push(id);
    if !m.blob_triggers().is_empty() {
        let role = roles::BLOB_TRIGGER_QUEUES;
        let poison = roles::BLOB_TRIGGER_POISON_QUEUE;
        out.push(child(
            ResourceKind::Queue,
            "dataAccount",
            poison,
            "where the Functions host moves a blob whose blob trigger failed its last try",
        ));
        for (scope, id, description) in [
            (
                host_scope.clone(),
                account_id("hostAccount"),
                format!(
                    "Event Grid blob triggers: {} on the host account (the blobs extension's internal queue)",
                    role.name
                ),
            ),
            (
                child_scope(ResourceKind::Queue, "dataAccount", poison),
                child_id(ResourceKind::Queue, "dataAccount", poison),
                format!("Event Grid blob triggers: {} on queue {poison}", role.name),
            ),
        ] {
            let (resource, id) = assignment(&scope, &id, &role, &description);
            out.push(resource);
            ids.push(id);
        }
    }
    for kind in [ResourceKind::Queue, ResourceKind::Bucket, ResourceKind::Kv] {
        let word = kind_word(kind);
        for r in m.resources(kind) {
            out.push(child(kind, "dataAccount", r.native, &r.r.declaration));
            if kind == ResourceKind::Queue {
                out.push(child(
                    kind,
                    "dataAccount",
                    &format!("{}-poison", r.native),
                    &format!(
                        "where the Functions host and cloudport move messages of queue {:?} after their last delivery",
                        r.r.name
                    ),
                ));
            }
            let words = r.accesses();
            for (target, role) in roles::roles_for(word, &words)? {
                let native = match target {
                    Target::Resource => r.native.to_owned(),
                    Target::Poison => format!("{}-poison", r.native),
                };
                let description = format!(
                    "cloudport: {} ({}): {} on {word} {native}",
                    r.r.declaration,
                    words.join(", "),
                    role.name
                );
                let (resource, id) = assignment(
                    &child_scope(kind, "dataAccount", &native),
                    &child_id(kind, "dataAccount", &native),
                    &role,
                    &description,
                );
                out.push(resource);
                ids.push(id);
            }
        }
    }
    Ok((out, ids))
}
