//! Decoding a Pub/Sub push envelope (what Cloud Run / Cloud Functions gen2 receive from a push
//! subscription) into the portable CloudEvent vs plain `serde_json` into a struct of the same
//! envelope (goal ≤ 1.2×). `cargo bench --features gcp --bench gcp_push_decode`.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

mod support;

use std::collections::HashMap;
use std::hint::black_box;
use std::time::Instant;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use cloudport::hosts::cloudrun::decode::{PushEnvelope, pubsub_event};
use serde::Deserialize;

/// The envelope as a hand-written push handler would read it: the message with its data still
/// base64, its attributes, id and publish time (one spelling of each), the subscription and the
/// delivery attempt.
#[allow(dead_code)]
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    message: PushMessage,
    subscription: String,
    #[serde(default)]
    delivery_attempt: Option<u32>,
}

#[allow(dead_code)]
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PushMessage {
    #[serde(default)]
    data: String,
    #[serde(default)]
    attributes: HashMap<String, String>,
    message_id: String,
    publish_time: String,
    #[serde(default)]
    ordering_key: Option<String>,
}

/// A push envelope as Pub/Sub POSTs it: the body base64 in `data`, the id and publish time in
/// both spellings, the attributes a cloudport sender sets (`datacontenttype`) plus one of the
/// app's, and `deliveryAttempt` (sent when the subscription has a dead-letter policy).
fn envelope(body_bytes: usize) -> Vec<u8> {
    let body = serde_json::json!({"id": "o-1", "customer": "ada", "note": "x".repeat(body_bytes)})
        .to_string();
    serde_json::to_vec(&serde_json::json!({
        "message": {
            "attributes": {"datacontenttype": "application/json", "tenant": "acme"},
            "data": B64.encode(body),
            "messageId": "13418745912538612",
            "message_id": "13418745912538612",
            "publishTime": "2026-11-26T17:58:31.749Z",
            "publish_time": "2026-11-26T17:58:31.749Z"
        },
        "subscription": "projects/cloudport-demo/subscriptions/orders-push",
        "deliveryAttempt": 1
    }))
    .unwrap()
}

fn main() {
    let payloads = [1024usize, 64].map(|body| (body, envelope(body)));
    // What the Cloud Run host does per push: parse, name the source after the subscription, and
    // build the event of the queue the subscription is bound to.
    let cloudport = |payload: &[u8], iters: u64| {
        let start = Instant::now();
        for _ in 0..iters {
            let env = PushEnvelope::parse(black_box(payload)).unwrap();
            let source = format!(
                "//pubsub.googleapis.com/{}",
                env.subscription.as_deref().unwrap()
            );
            black_box(
                pubsub_event(&env.message, "orders", &source, env.delivery_attempt()).unwrap(),
            );
        }
        start.elapsed()
    };
    support::header(
        "Pub/Sub push envelope decode (per request)",
        "serde_json → struct",
    );
    for (body, payload) in &payloads {
        support::compare(
            &format!("push envelope, {body} B JSON body → CloudEvent"),
            |iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(serde_json::from_slice::<Envelope>(black_box(payload)).unwrap());
                }
                start.elapsed()
            },
            |iters| cloudport(payload, iters),
        );
    }
    // The message body arrives base64-encoded in `message.data`: a handler reading the struct
    // above still has to decode it to get the message.
    support::header(
        "Pub/Sub push envelope decode (per request)",
        "serde_json → struct, data decoded",
    );
    for (body, payload) in &payloads {
        support::compare(
            &format!("push envelope, {body} B JSON body → CloudEvent"),
            |iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    let env: Envelope = serde_json::from_slice(black_box(payload)).unwrap();
                    black_box(B64.decode(&env.message.data).unwrap());
                    black_box(env);
                }
                start.elapsed()
            },
            |iters| cloudport(payload, iters),
        );
    }
}
