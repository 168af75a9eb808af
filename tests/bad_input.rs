//! Bad input gives typed errors with context, before any call to a provider.

use cloudport::memory::{Fault, Memory};
use cloudport::prelude::*;
use cloudport::{KvCapabilities, ResourceKind};

fn strict_env(memory: &Memory, bindings: &[(&str, &str)]) -> Env {
    Env::builder()
        .provider(memory.clone())
        .vars(bindings.iter().map(|(k, v)| (k.to_string(), v.to_string())))
        .build()
}

#[test]
fn urls_for_providers_not_compiled_in_name_the_cargo_feature() {
    let env = strict_env(
        &Memory::new(),
        &[
            ("CLOUDPORT_QUEUE_ORDERS", "sqs://orders"),
            ("CLOUDPORT_BUCKET_FILES", "gs://files"),
            ("CLOUDPORT_KV_STATE", "aztable://account/state"),
        ],
    );
    let err = env.queue("orders").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    assert!(err.message().contains("feature \"aws\""), "{err}");
    assert!(
        env.bucket("files")
            .unwrap_err()
            .message()
            .contains("feature \"gcp\"")
    );
    assert!(
        env.kv("state")
            .unwrap_err()
            .message()
            .contains("feature \"azure\"")
    );
}

#[test]
fn malformed_and_unknown_urls_are_invalid_arguments() {
    let env = strict_env(
        &Memory::new(),
        &[
            ("CLOUDPORT_QUEUE_A", "not a url"),
            ("CLOUDPORT_QUEUE_B", "bogus://b"),
            ("CLOUDPORT_QUEUE_C", "mem://c/extra/path"),
            ("CLOUDPORT_QUEUE_D", "mem://d?colour=blue"),
            (
                "CLOUDPORT_QUEUE_E",
                "mem://e?dead_letter=e-dlq&max_deliveries=lots",
            ),
            ("CLOUDPORT_QUEUE_F", "mem://f?max_deliveries=3"),
            ("CLOUDPORT_QUEUE_G", "mem://g?a=1&a=2"),
        ],
    );
    for name in ["a", "b", "c", "d", "e", "f", "g"] {
        let err = env.queue(name).unwrap_err();
        assert_eq!(
            err.kind(),
            ErrorKind::InvalidArgument,
            "queue {name}: {err}"
        );
        assert!(
            err.message()
                .starts_with(&format!("queue {name:?} bound to")),
            "the error names the binding: {err}"
        );
    }
    assert!(
        env.queue("b").unwrap_err().message().contains("mem://"),
        "known schemes are listed"
    );
}

#[test]
fn unbound_names_say_which_variable_to_set() {
    let env = strict_env(&Memory::new(), &[]);
    let err = env.kv("user-sessions").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(
        err.message().contains("CLOUDPORT_KV_USER_SESSIONS"),
        "{err}"
    );
    assert_eq!(
        env.queue("../etc").unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    assert_eq!(
        cloudport::env::binding_var(ResourceKind::Queue, "a.b"),
        "CLOUDPORT_QUEUE_A_B"
    );
}

#[tokio::test]
async fn a_precondition_the_driver_lacks_is_unsupported_before_any_call() {
    let memory = Memory::new();
    let caps = KvCapabilities {
        if_absent: false,
        ..KvCapabilities::default()
    };
    let kv = memory.kv_with_capabilities("limited", caps);
    memory
        .faults()
        .inject(Fault::error(ErrorKind::Unavailable).on_operation("kv"));
    let err = kv.put("k", "v", Precondition::IfAbsent).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    assert_eq!(err.operation(), Some("kv.put"));
    assert_eq!(memory.faults().pending(), 1, "the driver was never called");
}

#[tokio::test]
async fn oversize_messages_and_bad_keys_never_reach_the_driver() {
    let memory = Memory::new();
    memory
        .faults()
        .inject(Fault::error(ErrorKind::Unavailable).times(100));
    let queue = memory.queue("q");
    let err = queue.send(vec![0u8; 300 * 1024]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TooLarge);
    assert_eq!(err.resource(), Some("q"));
    let bucket = memory.bucket("b");
    assert_eq!(
        bucket.put("", "x").await.unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    assert_eq!(
        memory.kv("k").get("a\u{7f}").await.unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    assert_eq!(memory.faults().pending(), 100, "no driver call was made");
}

#[tokio::test]
async fn malformed_events_and_panics_fail_the_invocation_typed() {
    let app = App::new()
        .on_queue("q", |_e: Event<QueueMessage>, _env| async { Ok(()) })
        .on_schedule(
            "s",
            Schedule::every(std::time::Duration::from_secs(60)),
            |_e: Event<ScheduleTick>, _env| async { panic!("boom") },
        );
    let env = Env::memory();
    let not_a_queue_event =
        cloudport::event::ScheduleTick::new("s", chrono_now()).to_cloudevent("x", "1");
    let err = app
        .dispatch(&env, &Trigger::Queue("q".into()), not_a_queue_event.clone())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Malformed);
    let err = app
        .dispatch(&env, &Trigger::Schedule("s".into()), not_a_queue_event)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Handler);
    assert!(err.message().contains("boom"));
    let err = app
        .dispatch(
            &env,
            &Trigger::Queue("nobody".into()),
            QueueMessage::new("nobody", "1", "x").to_cloudevent("x"),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

#[test]
fn invalid_registrations_are_reported_by_validate() {
    let app = App::new().on_schedule(
        "nightly",
        Schedule::cron("61 * * * * *"),
        |_e: Event<ScheduleTick>, _env| async { Ok(()) },
    );
    assert_eq!(
        app.validate().unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    let app = App::new().on_queue("bad name!", |_e: Event<QueueMessage>, _env| async {
        Ok(())
    });
    assert_eq!(
        app.validate().unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
}

fn chrono_now() -> cloudport::export::chrono::DateTime<cloudport::export::chrono::Utc> {
    cloudport::export::chrono::Utc::now()
}

#[test]
fn a_loop_of_dead_letter_queues_is_an_error_not_a_crash() {
    let env = strict_env(
        &Memory::new(),
        &[
            ("CLOUDPORT_QUEUE_A", "mem://a?dead_letter=b"),
            ("CLOUDPORT_QUEUE_B", "mem://b?dead_letter=a"),
            ("CLOUDPORT_QUEUE_C", "mem://c?dead_letter=c"),
        ],
    );
    for name in ["a", "c"] {
        let err = env.queue(name).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
        assert!(err.message().contains("loop"), "{err}");
    }
}

#[tokio::test]
async fn absurd_ttls_and_ranges_are_invalid() {
    let memory = Memory::new();
    let kv = memory.kv("k");
    let err = kv
        .put(
            "k",
            "v",
            Precondition::None.with_ttl(std::time::Duration::MAX),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    let bucket = memory.bucket("b");
    bucket.put("empty", "").await.unwrap();
    let err = bucket
        .get_with(
            "empty",
            cloudport::GetOptions::default().range(cloudport::ByteRange::Suffix(0)),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
}
