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
