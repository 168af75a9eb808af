//! Decoding an Azure Functions custom-handler queueTrigger invocation into the portable CloudEvent
//! vs plain `serde_json` into a struct of the same payload (goal ≤ 1.2×).
//! `cargo bench --features azure --bench azure_functions_decode`.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

mod support;

use std::hint::black_box;
use std::time::Instant;

use cloudport::hosts::azure::QUEUE_BINDING;
use cloudport::hosts::azure::decode::{Invocation, queue_event};
use serde::Deserialize;

/// The payload as a hand-written custom handler would read it: every field the host sends, the
/// message and the JSON-encoded metadata scalars as strings.
#[allow(dead_code)]
#[derive(Deserialize)]
struct QueueInvocation {
    #[serde(rename = "Data")]
    data: QueueData,
    #[serde(rename = "Metadata")]
    metadata: QueueMetadata,
}

#[allow(dead_code)]
#[derive(Deserialize)]
struct QueueData {
    message: String,
}

#[allow(dead_code)]
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct QueueMetadata {
    dequeue_count: String,
    expiration_time: String,
    id: String,
    insertion_time: String,
    next_visible_time: String,
    pop_receipt: String,
    #[serde(rename = "sys")]
    sys: Sys,
}

#[allow(dead_code)]
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Sys {
    method_name: String,
    utc_now: String,
    rand_guid: String,
}

/// A queueTrigger invocation as the Functions host POSTs it: scalars JSON-encoded into strings
/// (`JsonConvert.SerializeObject`), so the message text arrives as a JSON string holding a JSON
/// string, and `sys` as an object.
fn invocation(body_bytes: usize) -> Vec<u8> {
    let body = serde_json::json!({"id": "o-1", "customer": "ada", "note": "x".repeat(body_bytes)})
        .to_string();
    let encoded = |s: &str| serde_json::to_string(s).unwrap();
    serde_json::to_vec(&serde_json::json!({
        "Data": { "message": encoded(&body) },
        "Metadata": {
            "DequeueCount": "1",
            "ExpirationTime": encoded("2026-12-03T17:58:31+00:00"),
            "Id": encoded("800ae4b3-bdd2-4c08-badd-f08e5a34b865"),
            "InsertionTime": encoded("2026-11-26T17:58:31+00:00"),
            "NextVisibleTime": encoded("2026-11-26T18:08:32+00:00"),
            "PopReceipt": encoded("AgAAAAMAAAAAAAAAAgtnj8x+1QE="),
            "sys": {
                "MethodName": "queue-orders",
                "UtcNow": "2026-11-26T17:58:32.2205399Z",
                "RandGuid": "24ad4c06-24ad-4e5b-8294-3da9714877e9"
            }
        }
    }))
    .unwrap()
}

fn main() {
    let source = "azqueue://devstoreaccount1/orders";
    let payloads = [1024usize, 64].map(|body| (body, invocation(body)));
    let cloudport = |payload: &[u8], iters: u64| {
        let start = Instant::now();
        for _ in 0..iters {
            let inv = Invocation::parse(black_box(payload)).unwrap();
            black_box(queue_event(&inv, QUEUE_BINDING, "orders", source).unwrap());
        }
        start.elapsed()
    };
    support::header(
        "Azure Functions queueTrigger decode (per invocation)",
        "serde_json → struct",
    );
    for (body, payload) in &payloads {
        support::compare(
            &format!("queueTrigger, {body} B JSON body → CloudEvent"),
            |iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(
                        serde_json::from_slice::<QueueInvocation>(black_box(payload)).unwrap(),
                    );
                }
                start.elapsed()
            },
            |iters| cloudport(payload, iters),
        );
    }
    // The host JSON-encodes the message text into the string `Data.message` holds: a handler
    // reading the struct above still has to decode that second layer to get the message.
    support::header(
        "Azure Functions queueTrigger decode (per invocation)",
        "serde_json → struct, message text decoded",
    );
    for (body, payload) in &payloads {
        support::compare(
            &format!("queueTrigger, {body} B JSON body → CloudEvent"),
            |iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    let inv: QueueInvocation = serde_json::from_slice(black_box(payload)).unwrap();
                    black_box(serde_json::from_str::<String>(&inv.data.message).unwrap());
                    black_box(inv);
                }
                start.elapsed()
            },
            |iters| cloudport(payload, iters),
        );
    }
}
