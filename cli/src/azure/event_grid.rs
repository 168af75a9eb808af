//! Blob triggers on Flex Consumption: Event Grid delivers the data account's blob-created events
//! to the blobs extension's webhook, the only blob trigger source the plan runs
//! (<https://learn.microsoft.com/azure/azure-functions/functions-event-grid-blob-trigger>; the
//! manifest marks the binding `"source": "EventGrid"`, [`super::BlobSource`]).
//!
//! # Two steps
//!
//! [`system_topic`] goes into the main template: the data account's Event Grid system topic
//! (`Microsoft.Storage.StorageAccounts`). The event subscriptions cannot: their webhook URL
//! carries the `blobs_extension` system key, which the Functions host creates when it first loads
//! a blob trigger with the Event Grid source, and Event Grid validates a webhook when the
//! subscription is created, which the blobs extension answers only once the function runs. Both
//! exist only after the app's code is deployed (zip deploy), so [`subscriptions_template`] is a
//! second template, `blob-events.json`, deployed after it (what Microsoft's Flex Consumption
//! samples do in a `postdeploy` hook, Azure-Samples/functions-quickstart-*-azd-eventgrid-blob).
//! Its key is read at deployment time (`listKeys`), never written to a file.

use cloudport_core::Trigger;
use cloudport_core::app::Description;
use cloudport_core::platform::azure::function_name;
use serde_json::{Value, json};

use super::arm::{account_id, expr, id_of, var};
use super::model::{AzureOptions, Model};
use crate::Result;

/// Event Grid's API version (GA).
pub const EVENT_GRID_API: &str = "2022-06-15";

/// The event a blob trigger fires on.
pub const BLOB_CREATED: &str = "Microsoft.Storage.BlobCreated";

/// The template variable naming the data account's system topic.
pub const TOPIC_VAR: &str = "blobEventsTopic";

/// The system topic's name, as a template variable's value.
pub const TOPIC_NAME: &str = "[format('{0}-blob-events', parameters('appName'))]";

/// The data account's Event Grid system topic, when a blob trigger needs it.
pub fn system_topic(m: &Model<'_>) -> Option<Value> {
    if m.blob_triggers().is_empty() {
        return None;
    }
    Some(json!({
        "type": "Microsoft.EventGrid/systemTopics",
        "apiVersion": EVENT_GRID_API,
        "name": expr(&var(TOPIC_VAR)),
        "location": "[parameters('location')]",
        "tags": "[variables('tags')]",
        "dependsOn": [expr(&account_id("dataAccount"))],
        "properties": {
            "source": expr(&account_id("dataAccount")),
            "topicType": "Microsoft.Storage.StorageAccounts",
        },
        "metadata": { "description": "the data account's blob events; blob-events.json subscribes the blob triggers to it after the code is deployed" },
    }))
}

/// The webhook of the blob trigger function `function`: the blobs extension's endpoint with its
/// system key, `https://<app host>/runtime/webhooks/blobs?functionName=Host.Functions.<function>&code=<blobs_extension key>`
/// ("Build the endpoint URL",
/// <https://learn.microsoft.com/azure/azure-functions/functions-event-grid-blob-trigger#build-the-endpoint-url>).
pub fn webhook_url(function: &str) -> String {
    let site = id_of("Microsoft.Web/sites", "functionAppName");
    format!(
        "format('https://{{0}}/runtime/webhooks/blobs?functionName=Host.Functions.{{1}}&code={{2}}', reference({site}, '2024-04-01').defaultHostName, '{function}', listKeys(resourceId('Microsoft.Web/sites/host', {}, 'default'), '2024-04-01').systemKeys.blobs_extension)",
        var("functionAppName")
    )
}

/// `blob-events.json`: one event subscription per blob trigger on the main template's system
/// topic — blob-created events of the trigger's container (subject
/// `/blobServices/default/containers/<container>/`) to its function's webhook. `None` without
/// blob triggers. Deploy it after the app's code (see the [module](self) documentation).
///
/// ```
/// use cloudport_cli::azure::{AzureOptions, event_grid::subscriptions_template};
/// let d = cloudport_cli::describe::parse(br#"{"cloudport_description": 1, "sdk_version": "0.1.0",
///   "http": false, "any_event": false, "triggers": [{"kind": "blob", "name": "uploads"}],
///   "declared": true, "limits": {}, "resources": [{"kind": "bucket", "name": "uploads",
///   "access": ["read"], "declaration": "bucket(\"uploads\").read()"}]}"#).unwrap();
/// let t = subscriptions_template(&d, &AzureOptions::new("photos")).unwrap().unwrap();
/// let sub = &t["resources"][0];
/// assert_eq!(sub["type"], "Microsoft.EventGrid/systemTopics/eventSubscriptions");
/// assert_eq!(sub["properties"]["filter"]["subjectBeginsWith"], "/blobServices/default/containers/uploads/");
/// ```
pub fn subscriptions_template(d: &Description, o: &AzureOptions) -> Result<Option<Value>> {
    let m = Model::new(d, o)?;
    let triggers = m.blob_triggers();
    if triggers.is_empty() {
        return Ok(None);
    }
    let resources: Vec<Value> = triggers
        .iter()
        .map(|c| {
            let function = function_name(&Trigger::Blob(c.r.name.clone()));
            json!({
                "type": "Microsoft.EventGrid/systemTopics/eventSubscriptions",
                "apiVersion": EVENT_GRID_API,
                // Named after the container: 3-63 lowercase letters, digits and hyphens, within
                // what an event subscription's name takes (3-64 letters, digits and hyphens;
                // a function name may hold `_`), and one blob trigger per container.
                "name": expr(&format!("format('{{0}}/{}', {})", c.native, var(TOPIC_VAR))),
                "properties": {
                    "destination": {
                        "endpointType": "WebHook",
                        "properties": {
                            "endpointUrl": expr(&webhook_url(&function)),
                            "maxEventsPerBatch": 1,
                            "preferredBatchSizeInKilobytes": 64,
                        },
                    },
                    "filter": {
                        "includedEventTypes": [BLOB_CREATED],
                        "subjectBeginsWith": format!("/blobServices/default/containers/{}/", c.native),
                    },
                    "eventDeliverySchema": "EventGridSchema",
                    "retryPolicy": { "maxDeliveryAttempts": 30, "eventTimeToLiveInMinutes": 1440 },
                },
                "metadata": { "description": format!(
                    "blob-created events of container {} to the function {function} (blob trigger {:?})",
                    c.native, c.r.name
                ) },
            })
        })
        .collect();
    let template = json!({
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "metadata": {
            "description": format!(
                "cloudport app {}: the Event Grid subscriptions of its blob triggers; deploy after the app's code (the webhook needs the blobs_extension key the running host creates), generated by cargo-cloudport {}",
                o.app_name, env!("CARGO_PKG_VERSION")
            ),
        },
        "parameters": {
            "appName": {
                "type": "string",
                "defaultValue": o.app_name,
                "minLength": 2,
                "maxLength": 32,
                "metadata": { "description": "The app's name, as template.json was deployed with" },
            },
        },
        "variables": {
            "functionAppName": super::template::FUNCTION_APP_NAME,
            TOPIC_VAR: TOPIC_NAME,
        },
        "resources": resources,
    });
    Ok(Some(crate::aws::sorted(template)))
}
