//! The portable topic's contract on the memory provider: declared access, the app's topic
//! triggers and description, the trace carried from a handler to every subscriber, bindings.
#![allow(clippy::unwrap_used)]

use cloudport_core::export::cloudevents::{self, EventBuilder, EventBuilderV10};

use cloudport_core::access::topic;
use cloudport_core::app::TriggerDescription;
use cloudport_core::topic::wire::from_structured;
use cloudport_core::{App, Env, ErrorKind, Precondition, ReceiveOptions, Trigger};

fn event(id: &str) -> cloudevents::Event {
    EventBuilderV10::new()
        .id(id)
        .source("shop")
        .ty("order.placed")
        .build()
        .unwrap()
}

#[tokio::test]
async fn publishing_needs_the_publish_declaration_and_is_refused_before_the_driver() {
    let memory = cloudport_memory::Memory::new();
    let sub = memory.subscribe("audit", "archive");
    let app = App::new()
        .on_queue("orders", |_e, env: Env| async move {
            env.topic("audit")?.publish(&event("e-1")).await?;
            Ok(())
        })
        .uses(topic("audit").subscribe());
    let env = Env::builder()
        .provider(memory.clone())
        .fallback_scheme("mem")
        .build();
    let msg = cloudport_core::event::QueueMessage::new("orders", "m-1", "x")
        .to_cloudevent("mem://orders");
    let err = app
        .dispatch(&env, &Trigger::Queue("orders".into()), msg)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    assert!(
        err.message()
            .contains(r#".uses(topic("audit").publish().subscribe())"#),
        "{err}"
    );
    assert!(
        sub.receive(ReceiveOptions::default())
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_topic_trigger_is_described_dispatched_and_implies_subscribe() {
    let app = App::new()
        .on_topic("orders", |event, env: Env| async move {
            env.kv("seen")?
                .put(event.id(), event.ty().to_owned(), Precondition::None)
                .await?;
            Ok(())
        })
        .uses(topic("audit").publish())
        .uses(cloudport_core::access::kv("seen").write());
    assert_eq!(app.triggers(), [Trigger::Topic("orders".into())]);
    assert!(app.handles(&Trigger::Topic("orders".into())));
    assert!(!app.handles(&Trigger::Topic("billing".into())));
    let d = app.describe();
    assert!(d.triggers.contains(&TriggerDescription::Topic {
        name: "orders".into()
    }));
    let access = |name: &str| {
        let r = d
            .resources
            .iter()
            .find(|r| r.kind == "topic" && r.name == name)
            .unwrap();
        (
            r.access.clone(),
            r.declaration.clone(),
            r.dead_letter.is_none(),
        )
    };
    assert_eq!(
        access("orders"),
        (
            vec!["subscribe".to_owned()],
            r#"topic("orders").subscribe()"#.to_owned(),
            true
        )
    );
    assert_eq!(access("audit").0, ["publish"]);
    assert_eq!(Trigger::Topic("orders".into()).label(), "topic/orders");
    assert_eq!(
        Trigger::Topic("orders".into()).to_string(),
        r#"topic "orders""#
    );

    let memory = cloudport_memory::Memory::new();
    let env = Env::builder()
        .provider(memory.clone())
        .fallback_scheme("mem")
        .build();
    app.dispatch(&env, &Trigger::Topic("orders".into()), event("o-1"))
        .await
        .unwrap();
    assert_eq!(
        memory.kv("seen").get("o-1").await.unwrap().unwrap().value,
        "order.placed"
    );
    let none = app
        .dispatch(&env, &Trigger::Topic("billing".into()), event("o-2"))
        .await
        .unwrap_err();
    assert_eq!(none.kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn an_event_published_by_a_handler_continues_the_invocation_trace() {
    let memory = cloudport_memory::Memory::new();
    let sub = memory.subscribe("audit", "archive");
    let app = App::new().on_topic("orders", |event, env: Env| async move {
        let _ = event;
        env.topic("audit")?.publish(&self::event("fwd-1")).await?;
        Ok(())
    });
    let env = Env::builder()
        .provider(memory)
        .fallback_scheme("mem")
        .build();
    let parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    let mut incoming = event("o-1");
    incoming.set_extension(cloudport_core::trace::TRACEPARENT, parent);
    app.dispatch(&env, &Trigger::Topic("orders".into()), incoming)
        .await
        .unwrap();
    let got = sub.receive(ReceiveOptions::default()).await.unwrap();
    let delivered = from_structured(&got[0].body).unwrap();
    let carried = delivered
        .extension(cloudport_core::trace::TRACEPARENT)
        .unwrap()
        .to_string();
    assert!(
        carried.starts_with("00-0af7651916cd43dd8448eb211c80319c-"),
        "{carried}"
    );
    assert_ne!(carried, parent, "a child span of the invocation");
}

#[tokio::test]
async fn topics_bind_by_variable_and_unknown_schemes_name_their_feature() {
    let memory = cloudport_memory::Memory::new();
    let env = Env::builder()
        .provider(memory)
        .vars([("CLOUDPORT_TOPIC_AUDIT", "mem://audit-v2?profile=gcp")])
        .build();
    let audit = env.topic("audit").unwrap();
    assert_eq!(audit.name(), "audit-v2");
    assert_eq!(audit.capabilities().max_event_bytes, 10_000_000);
    let unbound = env.topic("billing").unwrap_err();
    assert_eq!(unbound.kind(), ErrorKind::NotFound);
    assert!(
        unbound.message().contains("CLOUDPORT_TOPIC_BILLING"),
        "{unbound}"
    );
    let env = Env::builder()
        .provider(cloudport_memory::Memory::new())
        .bind_topic("audit", "sns://audit")
        .bind_topic("billing", "gcptopic://projects/p/topics/billing")
        .build();
    for name in ["audit", "billing"] {
        let err = env.topic(name).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
        assert!(err.message().contains("cargo feature"), "{err}");
    }
    let queue_as_topic = Env::builder()
        .provider(cloudport_memory::Memory::new())
        .bind_topic("audit", "mem://audit/x")
        .build()
        .topic("audit")
        .unwrap_err();
    assert_eq!(queue_as_topic.kind(), ErrorKind::InvalidArgument);
}
