//! Binary-mode decoding refuses what is not a CloudEvent (the rest of the topic contract is
//! tested on the memory provider: providers/memory/tests/topic.rs).

use std::collections::BTreeMap;

use cloudevents::{EventBuilder, EventBuilderV10};

use super::wire::{from_binary, from_structured, to_binary};
use crate::ErrorKind;

fn event(id: &str) -> cloudevents::Event {
    EventBuilderV10::new()
        .id(id)
        .source("shop")
        .ty("order.placed")
        .build()
        .unwrap()
}

#[test]
fn binary_mode_refuses_what_is_not_a_cloudevent() {
    let (good, payload) = to_binary(&event("b-1"));
    assert!(from_binary(&good, &payload).is_ok());
    for missing in ["ce-id", "ce-source", "ce-type", "ce-specversion"] {
        let mut attrs = good.clone();
        attrs.remove(missing);
        let err = from_binary(&attrs, &payload).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Malformed, "{missing}: {err}");
    }
    let mut old = good.clone();
    old.insert("ce-specversion".into(), "0.3".into());
    assert_eq!(
        from_binary(&old, b"").unwrap_err().kind(),
        ErrorKind::Malformed
    );
    let mut bad_time = good;
    bad_time.insert("ce-time".into(), "yesterday".into());
    assert_eq!(
        from_binary(&bad_time, b"").unwrap_err().kind(),
        ErrorKind::Malformed
    );
    assert_eq!(
        from_binary(&BTreeMap::new(), b"x").unwrap_err().kind(),
        ErrorKind::Malformed
    );
    assert_eq!(
        from_structured(b"{\"id\":1}").unwrap_err().kind(),
        ErrorKind::Malformed
    );
}

#[test]
fn binary_mode_keeps_json_data_json_and_reads_names_in_any_case() {
    // JSON data without a content type: JSON on the other side, as through SNS or memory.
    let event = EventBuilderV10::new()
        .id("1")
        .source("shop")
        .ty("order.placed")
        .build()
        .map(|mut e| {
            e.set_data_unchecked(serde_json::json!({"total": 3}));
            e
        })
        .unwrap();
    let (attributes, payload) = to_binary(&event);
    assert_eq!(attributes["content-type"], "application/json");
    let back = from_binary(&attributes, &payload).unwrap();
    assert_eq!(
        back.data(),
        Some(&cloudevents::Data::Json(serde_json::json!({"total": 3})))
    );
    // Names as another publisher may write them.
    let upper: BTreeMap<String, String> = [
        ("CE-SpecVersion", "1.0"),
        ("CE-ID", "2"),
        ("CE-Source", "shop"),
        ("CE-Type", "order.placed"),
        ("CE-Tenant", "acme"),
        ("Content-Type", "application/json"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let read = from_binary(&upper, br#"{"total":4}"#).unwrap();
    assert_eq!(read.extension("tenant").unwrap().to_string(), "acme");
    assert_eq!(
        read.data(),
        Some(&cloudevents::Data::Json(serde_json::json!({"total": 4})))
    );
}
