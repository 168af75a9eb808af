//! Nothing lost: a message over its queue's delivery limit always reaches the dead-letter queue,
//! whatever it holds — on the path where cloudport receives (`Queue::receive`) and on the one
//! where a host applies the policy to a platform's delivery (`dead_letter_if_over_limit`).

use std::collections::BTreeMap;
use std::time::Duration;

use cloudport::event::QueueMessage;
use cloudport::memory::Memory;
use cloudport::prelude::*;
use cloudport::queue::wire::from_envelope;
use cloudport::{QueueDriver, ReceiveOptions};

fn env(memory: &Memory) -> Env {
    Env::builder()
        .provider(memory.clone())
        .vars([(
            "CLOUDPORT_QUEUE_ORDERS",
            "mem://orders?dead_letter=mem://orders-dlq&max_deliveries=2",
        )])
        .build()
}

/// Messages the source queue could hold but `Queue::send` refuses: an empty body, attribute
/// values with a tab or line breaks (SQS and Pub/Sub take them), more attributes than the queue
/// takes from `send` (a platform delivers what producers outside cloudport set).
fn odd_messages() -> Vec<(&'static str, QueueMessage)> {
    let many = (0..12).fold(QueueMessage::new("orders", "m-many", "many"), |m, i| {
        m.with_attribute(format!("a{i}"), "v")
    });
    vec![
        ("empty body", QueueMessage::new("orders", "m-empty", "")),
        (
            "control characters",
            QueueMessage::new("orders", "m-ctl", "body")
                .with_attribute("note", "tab\there\r\nand lines"),
        ),
        ("twelve attributes", many),
    ]
}

async fn received_from_dead_letter_queue(memory: &Memory) -> Vec<cloudport::ReceivedMessage> {
    let dlq = memory.queue("orders-dlq");
    let got = dlq
        .receive(ReceiveOptions::default().wait(Duration::ZERO))
        .await
        .expect("receive from the dlq");
    for m in &got {
        dlq.ack(m).await.expect("ack");
    }
    got
}

fn assert_same(what: &str, original: &QueueMessage, moved: &cloudport::ReceivedMessage) {
    let unwrapped = from_envelope(&moved.body);
    assert_eq!(unwrapped.body, original.body, "{what}: body");
    let mut expected: BTreeMap<String, String> = original.attributes.clone();
    let mut got = unwrapped.attributes.clone();
    // The trace of the move may ride along.
    got.remove("traceparent");
    expected.remove("traceparent");
    assert_eq!(got, expected, "{what}: attributes");
}

#[tokio::test]
async fn a_host_dead_letters_any_message_its_platform_delivered() {
    let memory = Memory::new();
    let env = env(&memory);
    let orders = env.queue("orders").expect("orders");
    for (what, message) in odd_messages() {
        let over = message.clone().with_delivery_count(3);
        let moved = orders
            .dead_letter_if_over_limit(&over)
            .await
            .unwrap_or_else(|| panic!("{what}: over the limit"));
        let moved = moved.unwrap_or_else(|e| panic!("{what}: the move was refused: {e}"));
        assert_eq!(moved.deliveries, 3);
        let got = received_from_dead_letter_queue(&memory).await;
        assert_eq!(got.len(), 1, "{what}: one message in the dlq");
        assert_same(what, &message, &got[0]);
    }
}

#[tokio::test]
async fn a_receive_dead_letters_any_message_the_queue_held() {
    let memory = Memory::new();
    let env = env(&memory);
    let orders = env.queue("orders").expect("orders");
    for (what, message) in odd_messages() {
        // Put there as a producer outside cloudport would: straight through the driver.
        let sent = memory
            .queue_driver("orders")
            .send_batch(&[message.to_message()])
            .await
            .expect("driver send");
        assert!(sent[0].is_ok(), "{what}: stored");
        let mut moved = false;
        for _ in 0..5 {
            let got = orders
                .receive(ReceiveOptions::default().wait(Duration::ZERO))
                .await
                .expect("receive");
            if got.is_empty() {
                moved = true;
                break;
            }
            for m in &got {
                orders.nack(m, Duration::ZERO).await.expect("nack");
            }
        }
        assert!(moved, "{what}: the message left the queue");
        let got = received_from_dead_letter_queue(&memory).await;
        assert_eq!(got.len(), 1, "{what}: one message in the dlq");
        assert_same(what, &message, &got[0]);
    }
}
