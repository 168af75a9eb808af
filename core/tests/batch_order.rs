//! Queue batches keep each ordering key's order: a failure holds back the rest of its key.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};

use cloudport_core::event::QueueMessage;
use cloudport_core::queue::wire::ORDERING_KEY_ATTRIBUTE;
use cloudport_core::{App, Env, Error, ErrorKind};

fn message(id: &str, key: Option<&str>, body: &str) -> cloudevents::Event {
    let mut m = QueueMessage::new("orders", id, body.to_owned());
    if let Some(key) = key {
        m = m.with_attribute(ORDERING_KEY_ATTRIBUTE, key);
    }
    m.to_cloudevent("mem://orders")
}

fn recording_app(concurrency: usize) -> (App, Arc<Mutex<Vec<String>>>) {
    let ran = Arc::new(Mutex::new(Vec::new()));
    let seen = ran.clone();
    let app = App::new()
        .queue_concurrency(concurrency)
        .on_queue("orders", move |event, _env| {
            let seen = seen.clone();
            async move {
                seen.lock().unwrap().push(event.id().to_owned());
                match event.data().text()? {
                    "bad" => Err(Error::new(ErrorKind::Handler, "refused")),
                    _ => Ok(()),
                }
            }
        });
    (app, ran)
}

fn env() -> Env {
    Env::builder()
        .provider(cloudport_memory::Memory::new())
        .fallback_scheme("mem")
        .build()
}

#[tokio::test]
async fn a_failure_holds_back_the_rest_of_its_key_only() {
    for concurrency in [1, 4] {
        let (app, ran) = recording_app(concurrency);
        let batch = vec![
            message("1", Some("a"), "ok"),
            message("2", Some("a"), "bad"),
            message("3", Some("b"), "ok"),
            message("4", Some("a"), "ok"),
            message("5", None, "bad"),
            message("6", None, "ok"),
            message("7", Some("b"), "ok"),
        ];
        let outcome = app.dispatch_batch(&env(), "orders", batch).await;
        assert_eq!(
            outcome.failed_ids().collect::<Vec<_>>(),
            ["2", "4", "5"],
            "concurrency {concurrency}"
        );
        let held = &outcome.failures[1];
        assert_eq!(held.index, 3);
        assert!(
            held.error.message().contains(r#"ordering key "a""#),
            "{}",
            held.error
        );
        let mut ran = ran.lock().unwrap().clone();
        assert!(!ran.contains(&"4".to_owned()), "held back, never ran");
        // Within a key, batch order.
        let a: Vec<_> = ran
            .iter()
            .filter(|id| ["1", "2"].contains(&id.as_str()))
            .collect();
        assert_eq!(a, ["1", "2"]);
        ran.sort();
        assert_eq!(ran, ["1", "2", "3", "5", "6", "7"]);
    }
}

#[tokio::test]
async fn without_keys_every_message_is_attempted_in_order() {
    let (app, ran) = recording_app(1);
    let batch = vec![
        message("1", None, "bad"),
        message("2", None, "ok"),
        message("3", None, "bad"),
    ];
    let outcome = app.dispatch_batch(&env(), "orders", batch).await;
    assert_eq!(outcome.failed_indexes().collect::<Vec<_>>(), [0, 2]);
    assert_eq!(*ran.lock().unwrap(), ["1", "2", "3"]);
}
