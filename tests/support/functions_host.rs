//! What the Azure Functions host does with queue messages, for the tests that play the host
//! (tests/azure_functions_e2e.rs, the Functions soak in tests/support/soak/functions.rs).
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use cloudport::azure::sdk::azure_core;
use cloudport::azure::sdk::queue::QueueClient;
use cloudport::azure::sdk::queue::models::QueueMessage;
use serde_json::Value;

/// How the host hands a dequeued message (`text`, Base64 as the host's default
/// `messageEncoding`) to a custom handler: decoded, bound as the trigger's `dataType` says
/// (`GeneralScriptBindingProvider` maps it to the requested type; the storage extension converts
/// the message with `Body.ToArray()` for `byte[]` and `Body.ToValidUTF8String()` for `string`),
/// then passed on (`ScriptInvocationContextExtensions.GetHttpScriptInvocationContextValue`):
/// with `binary`, the bytes as Base64; else a string, JSON-encoded into a string.
pub fn bind_message(text: &str, binary: bool) -> Value {
    let decoded = STANDARD
        .decode(text)
        .expect("the provider sends Base64 text");
    if binary {
        Value::String(STANDARD.encode(&decoded))
    } else {
        Value::String(serde_json::to_string(&String::from_utf8_lossy(&decoded)).unwrap())
    }
}

/// The first step of the host's poison move: `text`, as it was dequeued, sent to the
/// `<queue>-poison` queue (the host then deletes the original).
pub async fn send_to_poison(poison: &QueueClient, text: String) -> azure_core::Result<()> {
    let message = QueueMessage {
        message_text: Some(text),
    };
    poison
        .send_message(message.try_into().unwrap(), None)
        .await
        .map(drop)
}
