//! The function toolkit in the portable types: retries (temporary errors only, conditional writes
//! only after throttling, never past the deadline), invocation metrics and cold starts.

use std::time::Duration;

use cloudport::context::{self, InvocationContext};
use cloudport::memory::{Fault, Memory};
use cloudport::prelude::*;
use cloudport::{KvStore, RetryPolicy};

fn fast() -> RetryPolicy {
    RetryPolicy::default()
        .base_delay(Duration::from_millis(1))
        .max_attempts(3)
}

#[tokio::test]
async fn temporary_errors_are_retried_within_the_policy() {
    let memory = Memory::new();
    let kv = memory.kv("k").with_retry(fast());
    memory.faults().inject(
        Fault::error(ErrorKind::Unavailable)
            .on_operation("kv.get")
            .times(2),
    );
    assert!(kv.get("a").await.expect("third attempt succeeds").is_none());
    memory.faults().inject(
        Fault::error(ErrorKind::Unavailable)
            .on_operation("kv.get")
            .times(3),
    );
    let err = kv.get("a").await.expect_err("three attempts fail");
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert_eq!(
        memory.faults().pending(),
        0,
        "exactly three attempts were made"
    );
}

#[tokio::test]
async fn permanent_errors_are_not_retried() {
    let memory = Memory::new();
    let kv = memory.kv("k").with_retry(fast());
    memory
        .faults()
        .inject(Fault::error(ErrorKind::PermissionDenied).times(2));
    assert_eq!(
        kv.get("a").await.unwrap_err().kind(),
        ErrorKind::PermissionDenied
    );
    assert_eq!(memory.faults().pending(), 1, "one attempt only");
    memory.faults().clear();
}

#[tokio::test]
async fn conditional_writes_are_retried_only_after_throttling() {
    let memory = Memory::new();
    let kv: KvStore = memory.kv("k").with_retry(fast());
    memory
        .faults()
        .inject(Fault::error(ErrorKind::Unavailable).on_operation("kv.put"));
    let err = kv.put("a", "1", Precondition::IfAbsent).await.unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::Unavailable,
        "an ambiguous failure is not repeated"
    );
    memory
        .faults()
        .inject(Fault::error(ErrorKind::RateLimited).on_operation("kv.put"));
    kv.put("a", "1", Precondition::IfAbsent)
        .await
        .expect("a throttled attempt was refused, so it is repeated");
    memory
        .faults()
        .inject(Fault::error(ErrorKind::Unavailable).on_operation("kv.put"));
    kv.put("a", "2", Precondition::None)
        .await
        .expect("an unconditional write is repeated");
}

#[tokio::test]
async fn retries_stop_before_the_deadline() {
    let memory = Memory::new();
    let kv = memory.kv("k").with_retry(
        RetryPolicy::default()
            .max_attempts(10)
            .base_delay(Duration::from_millis(400)),
    );
    memory
        .faults()
        .inject(Fault::error(ErrorKind::Unavailable).times(10));
    let deadline = tokio::time::Instant::now() + Duration::from_millis(100);
    let started = std::time::Instant::now();
    let err = context::scope(InvocationContext::new("req-1", Some(deadline)), kv.get("a"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(
        started.elapsed() < Duration::from_millis(150),
        "no pause may end past the deadline"
    );
    memory.faults().clear();
}

#[tokio::test]
async fn invocations_are_counted_with_cold_starts_and_errors() {
    let app = App::new().on_queue("q", |event: Event<QueueMessage>, _env| async move {
        if event.data().text()? == "fail" {
            return Err(Error::handler("failed on purpose"));
        }
        Ok(())
    });
    let env = Env::memory();
    let trigger = Trigger::Queue("q".into());
    for body in ["ok", "fail", "ok"] {
        let event = QueueMessage::new("q", body, body).to_cloudevent("mem://q");
        let _ = app.dispatch(&env, &trigger, event).await;
    }
    let metrics = app.metrics();
    let q = &metrics[&trigger];
    assert_eq!(q.invocations, 3);
    assert_eq!(q.errors, 1);
    assert!(
        q.cold_starts <= 1,
        "only a process's first invocation is cold"
    );
    assert!(q.max_duration <= q.total_duration);
}

#[tokio::test]
async fn http_requests_are_counted_and_a_5xx_is_an_error() {
    use cloudport::axum::body::Body;
    use cloudport::axum::http::{Request, StatusCode};
    use cloudport::axum::routing::get;
    use tower::ServiceExt;
    let records = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = records.clone();
    let app = App::new()
        .http(
            cloudport::axum::Router::new()
                .route("/ok", get(|| async { "ok" }))
                .route("/boom", get(|| async { StatusCode::BAD_GATEWAY })),
        )
        .metrics_sink(std::sync::Arc::new(
            move |r: &cloudport::app::InvocationRecord| {
                sink.lock().unwrap().push((r.trigger.clone(), r.failed));
            },
        ));
    let router = app.http_router(&Env::memory()).unwrap();
    for path in ["/ok", "/boom", "/ok"] {
        let request = Request::get(path).body(Body::empty()).unwrap();
        router.clone().oneshot(request).await.unwrap();
    }
    let http = &app.metrics()[&Trigger::Http];
    assert_eq!((http.invocations, http.errors), (3, 1));
    assert_eq!(
        records.lock().unwrap().clone(),
        [
            (Trigger::Http, false),
            (Trigger::Http, true),
            (Trigger::Http, false)
        ]
    );
    // Off with the rest of the instrumentation.
    let quiet = App::new()
        .http(cloudport::axum::Router::new().route("/ok", get(|| async { "ok" })))
        .instrumented(false);
    let request = Request::get("/ok").body(Body::empty()).unwrap();
    quiet
        .http_router(&Env::memory())
        .unwrap()
        .oneshot(request)
        .await
        .unwrap();
    assert!(quiet.metrics().is_empty());
}

#[tokio::test]
async fn http_to_queue_to_worker_is_one_trace() {
    use cloudport::axum::body::Body;
    use cloudport::axum::http::Request;
    use cloudport::axum::routing::post;
    use cloudport::trace::TraceContext;
    use tower::ServiceExt;

    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = seen.clone();
    let app = App::new()
        .http(cloudport::axum::Router::new().route(
            "/jobs",
            post(|env: Env, body: String| async move {
                env.queue("jobs").unwrap().send(body).await.unwrap();
                "queued"
            }),
        ))
        .on_queue("jobs", move |_e: Event<QueueMessage>, _env| {
            let sink = sink.clone();
            async move {
                let trace = context::current().and_then(|c| c.trace).expect("a trace");
                sink.lock().unwrap().push(trace.trace_id());
                Ok(())
            }
        });
    let memory = Memory::new();
    let env = Env::on_memory(&memory);
    let router = app.http_router(&env).unwrap();

    let incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    for header in [Some(incoming), Some("00-garbage"), None] {
        let mut req = Request::post("/jobs");
        if let Some(h) = header {
            req = req.header("traceparent", h);
        }
        let resp = router
            .clone()
            .oneshot(req.body(Body::from("work")).unwrap())
            .await
            .unwrap();
        assert_eq!(
            resp.status(),
            200,
            "a bad trace header is ignored, never an error"
        );
    }
    let queue = memory.queue("jobs");
    let received = queue
        .receive(cloudport::ReceiveOptions::default())
        .await
        .unwrap();
    assert_eq!(received.len(), 3);
    let parents: Vec<TraceContext> = received
        .iter()
        .map(|m| {
            TraceContext::parse_traceparent(&m.attributes["traceparent"]).expect("traceparent")
        })
        .collect();
    assert_eq!(
        parents[0].trace_id(),
        "4bf92f3577b34da6a3ce929d0e0e4736",
        "the request's trace rides in the message"
    );
    assert_ne!(parents[0].span_id(), "00f067aa0ba902b7", "as a child span");
    assert_ne!(
        parents[1].trace_id(),
        parents[2].trace_id(),
        "without a valid header, each request starts a trace"
    );

    for m in &received {
        let event = QueueMessage::from_received("jobs", m).to_cloudevent("mem://jobs");
        app.dispatch(&env, &Trigger::Queue("jobs".into()), event)
            .await
            .unwrap();
    }
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen[0], "4bf92f3577b34da6a3ce929d0e0e4736",
        "the worker continues the trace"
    );
    assert_eq!(seen[1], parents[1].trace_id());
}

#[tokio::test]
async fn throttled_entries_of_a_batch_send_are_sent_again_and_only_they() {
    use cloudport::memory::ENTRY_SEND;
    let memory = Memory::new();
    let queue = memory.queue("q").with_retry(fast());
    // The service takes the call but refuses two entries (throttled), as SQS reports failed
    // entries of SendMessageBatch.
    memory.faults().inject(
        Fault::error(ErrorKind::RateLimited)
            .on_operation(ENTRY_SEND)
            .times(2),
    );
    let results = queue.send_batch((0..5).map(|i| format!("m{i}"))).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(memory.faults().pending(), 0);
    let received = queue
        .receive(cloudport::ReceiveOptions::default().max_messages(10))
        .await
        .unwrap();
    let mut bodies: Vec<String> = received
        .iter()
        .map(|m| m.text().unwrap().to_owned())
        .collect();
    bodies.sort();
    assert_eq!(bodies, ["m0", "m1", "m2", "m3", "m4"], "each sent once");

    // A failed entry that may have been taken (the service could not say) is not repeated: a
    // repeat could duplicate it.
    memory.faults().inject(
        Fault::error(ErrorKind::Unavailable)
            .on_operation(ENTRY_SEND)
            .times(1),
    );
    let results = queue.send_batch(["x", "y"]).await;
    assert_eq!(
        results[0].as_ref().unwrap_err().kind(),
        ErrorKind::Unavailable
    );
    assert!(results[1].is_ok());
    assert_eq!(memory.faults().pending(), 0);

    // A permanent refusal is reported for that message alone, without a repeat.
    memory.faults().inject(
        Fault::error(ErrorKind::PermissionDenied)
            .on_operation(ENTRY_SEND)
            .times(1),
    );
    let results = queue.send_batch(["a", "b"]).await;
    assert_eq!(
        results[0].as_ref().unwrap_err().kind(),
        ErrorKind::PermissionDenied
    );
    assert!(results[1].is_ok());

    // A single send refused until the attempts run out reports the throttling.
    memory.faults().inject(
        Fault::error(ErrorKind::RateLimited)
            .on_operation(ENTRY_SEND)
            .times(3),
    );
    let err = queue.send("c").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert_eq!(memory.faults().pending(), 0, "three attempts");
}

#[tokio::test]
async fn a_long_poll_inside_an_invocation_ends_before_its_deadline() {
    let memory = Memory::new();
    let queue = memory.queue("empty");
    let deadline = tokio::time::Instant::now() + Duration::from_millis(1300);
    let started = std::time::Instant::now();
    let received = context::scope(
        InvocationContext::new("req-1", Some(deadline)),
        queue.receive(cloudport::ReceiveOptions::default().wait(Duration::from_secs(20))),
    )
    .await
    .unwrap();
    assert!(received.is_empty());
    // 20 s asked; the invocation had 1.3 s: the poll ended a second before the deadline.
    assert!(
        started.elapsed() < Duration::from_millis(1300),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn on_an_ordered_queue_a_refused_entry_is_reported_not_sent_after_later_ones() {
    use cloudport::QueueCapabilities;
    use cloudport::memory::ENTRY_SEND;
    let memory = Memory::new();
    let fifo = QueueCapabilities {
        ordered: true,
        ..QueueCapabilities::default()
    };
    let queue = memory
        .queue_with_capabilities("q.fifo", fifo)
        .with_retry(fast());
    memory.faults().inject(
        Fault::error(ErrorKind::RateLimited)
            .on_operation(ENTRY_SEND)
            .times(1),
    );
    let results = queue.send_batch(["first", "second"]).await;
    assert_eq!(
        results[0].as_ref().unwrap_err().kind(),
        ErrorKind::RateLimited
    );
    assert!(results[1].is_ok());
    let received = queue
        .receive(cloudport::ReceiveOptions::default().max_messages(10))
        .await
        .unwrap();
    assert_eq!(
        received.len(),
        1,
        "\"first\" was not re-sent behind \"second\""
    );
}
