//! The `inspect` example as a real Azure Functions custom handler, with this test playing the
//! Functions host faithfully on a real Azurite queue: it reads the `function.json` the deploy tool
//! generates from the binary's description (`CLOUDPORT_DESCRIBE=1`), dequeues messages (Base64
//! text, as the host's default `messageEncoding`), binds each as the trigger's `dataType` says
//! (`binary`: the bytes, which reach the handler Base64-encoded; none or `string`: the bytes as
//! UTF-8 with invalid sequences replaced, JSON-encoded into a string), posts the documented
//! invocation payload (`{"Data": …, "Metadata": …}`, metadata values JSON-encoded as strings) to
//! `/queue-inspect`, deletes a message when the handler answers 2xx, makes it visible again when it
//! does not, and moves it to `<queue>-poison` after 5 failed dequeues (`maxDequeueCount`).
#![cfg(feature = "azure")]
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use base64::Engine;
use cloudport::azure::sdk::queue::models::QueueClientReceiveMessagesOptions;
use cloudport::azure::{Azure, AzureQueue, DEVELOPMENT_ACCOUNT};
use cloudport::{Message, Provider, ResourceUrl};
use serde_json::{Value, json};
use support::inspect::Inspect;

const MAX_DEQUEUE_COUNT: i64 = 5;

fn connection_string() -> String {
    std::env::var("CLOUDPORT_TEST_AZURITE").unwrap_or_else(|_| "UseDevelopmentStorage=true".into())
}

/// The queue trigger's binding in the `function.json` the deploy tool generates for `queue` from
/// the binary's description (`CLOUDPORT_DESCRIBE=1 inspect`, `cloudport_cli::azure::manifest`), as
/// the Functions host reads it.
async fn queue_binding(queue: &str) -> Value {
    let binary = support::binaries::example("inspect");
    let description = tokio::task::spawn_blocking(move || cloudport_cli::describe::run(&binary))
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("describing inspect: {e}"));
    let url = format!("azqueue://{DEVELOPMENT_ACCOUNT}/{queue}");
    let bindings = |var: &str| (var == "CLOUDPORT_QUEUE_INSPECT").then(|| url.clone());
    let options = cloudport_cli::azure::ManifestOptions::new("inspect");
    let manifest = cloudport_cli::azure::manifest(&description, &options, bindings).unwrap();
    let function = manifest.function_json("queue-inspect").unwrap();
    assert_eq!(function["bindings"][0]["queueName"], queue);
    function["bindings"][0].clone()
}

async fn start_function(queue: &str) -> (Inspect, u16) {
    let port = support::inspect::free_port();
    let function = Inspect::spawn([
        ("FUNCTIONS_CUSTOMHANDLER_PORT", port.to_string()),
        ("FUNCTIONS_WORKER_RUNTIME", "custom".to_owned()),
        ("AzureWebJobsStorage", connection_string()),
        (
            "CLOUDPORT_QUEUE_INSPECT",
            format!("azqueue://{DEVELOPMENT_ACCOUNT}/{queue}"),
        ),
    ]);
    function.wait_port(port).await;
    (function, port)
}

/// The Functions host's role for one queue trigger.
struct Host {
    /// The trigger's `dataType` in `function.json` (`binary`, `string`, or none).
    data_type: Option<String>,
    queue: AzureQueue,
    poison: AzureQueue,
    http: reqwest::Client,
    url: String,
}

#[derive(Debug, Default, PartialEq, Eq)]
struct Tally {
    invocations: usize,
    succeeded: usize,
    failed: usize,
    poisoned: usize,
}

impl Host {
    /// Dequeues and invokes until the queue has been empty for a while.
    async fn drain(&self) -> Tally {
        let client = self.queue.client().unwrap();
        let mut tally = Tally::default();
        let mut empty = 0;
        while empty < 10 {
            let got = client
                .receive_messages(Some(QueueClientReceiveMessagesOptions {
                    number_of_messages: Some(16),
                    visibility_timeout: Some(30),
                    ..Default::default()
                }))
                .await
                .unwrap()
                .into_model()
                .unwrap()
                .items
                .unwrap_or_default();
            if got.is_empty() {
                empty += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
            empty = 0;
            for m in got {
                self.handle(m, &mut tally).await;
            }
        }
        tally
    }

    async fn handle(
        &self,
        m: cloudport::azure::sdk::queue::models::ReceivedMessage,
        tally: &mut Tally,
    ) {
        let client = self.queue.client().unwrap();
        let (id, receipt) = (m.message_id.unwrap(), m.pop_receipt.unwrap());
        let text = m.message_text.unwrap_or_default();
        let count = m.dequeue_count.unwrap_or(1);
        let binary = self.data_type.as_deref() == Some("binary");
        let message = support::functions_host::bind_message(&text, binary);
        let payload = json!({
            "Data": { "message": message },
            "Metadata": {
                "DequeueCount": count.to_string(),
                "Id": serde_json::to_string(&id).unwrap(),
                "PopReceipt": serde_json::to_string(&receipt).unwrap(),
                "InsertionTime": "\"2026-11-26T03:00:00+00:00\"",
                "ExpirationTime": "\"2026-12-03T03:00:00+00:00\"",
                "NextVisibleTime": "\"2026-11-26T03:00:30+00:00\"",
                "sys": "{\"MethodName\":\"queue-inspect\",\"UtcNow\":\"2026-11-26T03:00:00Z\",\"RandGuid\":\"7e6b1b9e-0c9a-4a4a-9f0e-1d2c3b4a5f60\"}"
            }
        });
        tally.invocations += 1;
        let rsp = self
            .http
            .post(&self.url)
            .json(&payload)
            .send()
            .await
            .unwrap();
        let status = rsp.status();
        let body: Value = rsp.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            assert!(
                body.get("Outputs").is_some(),
                "a success answers Outputs: {body}"
            );
            tally.succeeded += 1;
            client.delete_message(&id, &receipt, None).await.unwrap();
        } else if count >= MAX_DEQUEUE_COUNT {
            tally.failed += 1;
            tally.poisoned += 1;
            // The host copies the message text to <queue>-poison, then deletes the original.
            let poison = self.poison.client().unwrap();
            support::functions_host::send_to_poison(&poison, text)
                .await
                .unwrap();
            client.delete_message(&id, &receipt, None).await.unwrap();
        } else {
            tally.failed += 1;
            // visibilityTimeout 0 (the host's default): visible again at once.
            client.update_message(&id, &receipt, 0, None).await.unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs emulators and the built examples: ./scripts/test.sh"]
async fn inspect_as_a_custom_handler_on_an_azurite_queue() {
    let azure = Azure::from_connection_string(connection_string());
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        % 1_000_000_000;
    let name = format!("inspect-{run}");
    let queue = azure.queue(DEVELOPMENT_ACCOUNT, &name, None).unwrap();
    queue.create().await.unwrap();
    let poison = azure
        .queue(DEVELOPMENT_ACCOUNT, &format!("{name}-poison"), None)
        .unwrap();
    poison.create().await.unwrap();

    // The producer side is ordinary cloudport code on the same URL the function binds.
    let sender = azure
        .open_queue(
            &ResourceUrl::parse(&format!("azqueue://{DEVELOPMENT_ACCOUNT}/{name}")).unwrap(),
        )
        .unwrap();
    sender
        .send(
            Message::new(r#"{"id":"42"}"#)
                .with_content_type("application/json")
                .with_attribute("tenant", "acme"),
        )
        .await
        .unwrap();
    sender.send("fail").await.unwrap();
    sender.send("plain text").await.unwrap();
    // Not UTF-8, no content type: travels as itself and must arrive as itself.
    let not_utf8: &[u8] = &[0xff, 0x00, 0xc3, 0x28, b'{', 0x80];
    sender.send(Message::new(not_utf8.to_vec())).await.unwrap();

    let binding = queue_binding(&name).await;
    let (function, port) = start_function(&name).await;
    let host = Host {
        data_type: binding["dataType"].as_str().map(str::to_owned),
        queue,
        poison,
        http: reqwest::Client::new(),
        url: format!("http://127.0.0.1:{port}/queue-inspect"),
    };
    let tally = host.drain().await;

    // Three handled on the first try; "fail" tried five times, then poisoned by the host.
    assert_eq!(
        tally,
        Tally {
            invocations: 8,
            succeeded: 3,
            failed: 5,
            poisoned: 1
        }
    );
    let events = function.take_events();
    assert_eq!(events.len(), 8, "one event per invocation: {events:#?}");
    let binary_event = events
        .iter()
        .find(|e| e.get("data_base64").is_some())
        .unwrap_or_else(|| panic!("the non-UTF-8 message's event, as data_base64: {events:#?}"));
    assert_eq!(
        binary_event["data_base64"],
        base64::engine::general_purpose::STANDARD.encode(not_utf8),
        "the body arrives byte for byte"
    );
    let json_event = events
        .iter()
        .find(|e| e["data"]["id"] == "42")
        .unwrap_or_else(|| panic!("the JSON message's event: {events:#?}"));
    assert_eq!(json_event["type"], "io.cloudport.queue.message.v1");
    assert_eq!(json_event["subject"], "inspect", "the logical queue name");
    assert_eq!(json_event["datacontenttype"], "application/json");
    assert_eq!(
        json_event["tenant"], "acme",
        "attributes survive the Base64 envelope"
    );
    assert_eq!(json_event["deliverycount"], 1);
    let mut counts: Vec<i64> = events
        .iter()
        .filter(|e| e["data"]["id"] != "42")
        .map(|e| e["deliverycount"].as_i64().unwrap())
        .collect();
    counts.sort_unstable();
    assert_eq!(
        counts,
        [1, 1, 1, 2, 3, 4, 5],
        "the plain and binary messages once, the failing one five times"
    );

    // Nothing left on the queue; the poison queue holds the failed message, as sent.
    let leftover = host
        .queue
        .client()
        .unwrap()
        .peek_messages(None)
        .await
        .unwrap()
        .into_model()
        .unwrap()
        .items
        .unwrap_or_default();
    assert!(leftover.is_empty(), "the queue must be empty: {leftover:?}");
    let poisoned = azure
        .open_queue(
            &ResourceUrl::parse(&format!(
                "azqueue://{DEVELOPMENT_ACCOUNT}/{name}-poison?poison=false"
            ))
            .unwrap(),
        )
        .unwrap()
        .receive(cloudport::ReceiveOptions::default())
        .await
        .unwrap();
    assert_eq!(poisoned.len(), 1);
    assert_eq!(poisoned[0].text().unwrap(), "fail");
}
