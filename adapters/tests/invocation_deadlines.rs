//! Every host gives an invocation the deadline its platform enforces, so retries, long polls and
//! idempotency claims end with the invocation (Lambda's comes with each event; the HTTP hosts
//! take the platform's timeout from the environment).
#![cfg(any(feature = "azure-functions", feature = "cloudrun"))]
// Test helpers outside `#[test]` functions unwrap too.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

#[cfg(feature = "azure-functions")]
use cloudport_adapters::azure;
use cloudport_core::{App, Env, ErrorKind};
use cloudport_memory::Memory;
use serde_json::json;
use tower::ServiceExt;

type Seen = Arc<Mutex<Vec<Option<Duration>>>>;

fn app(seen: &Seen) -> App {
    let seen = seen.clone();
    App::new().on_queue("orders", move |_m, _env| {
        let seen = seen.clone();
        async move {
            seen.lock()
                .unwrap()
                .push(cloudport_core::context::remaining());
            Ok(())
        }
    })
}

fn env(vars: &[(&str, &str)]) -> Env {
    Env::builder()
        .provider(Memory::new())
        .fallback_scheme("mem")
        .vars(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())))
        .build()
}

#[cfg(feature = "azure-functions")]
async fn invoke(router: axum::Router) -> u16 {
    let payload = json!({
        "Data": { "message": "\"hello\"" },
        "Metadata": { "DequeueCount": "1", "Id": "\"m-1\"",
                      "sys": { "MethodName": "queue-orders", "UtcNow": "2026-11-26T03:00:01Z", "RandGuid": "g" } }
    });
    let request = axum::http::Request::post("/queue-orders")
        .header("content-type", "application/json")
        .header("x-azure-functions-invocationid", "inv-1")
        .body(axum::body::Body::from(payload.to_string()))
        .unwrap();
    router.oneshot(request).await.unwrap().status().as_u16()
}

#[cfg(feature = "azure-functions")]
#[tokio::test]
async fn azure_invocations_end_at_the_function_timeout() {
    for (vars, expected) in [
        (vec![], azure::DEFAULT_FUNCTION_TIMEOUT),
        (
            vec![(azure::FUNCTION_TIMEOUT_VAR, "00:10:00")],
            Duration::from_secs(600),
        ),
        (
            vec![(azure::FUNCTION_TIMEOUT_VAR, "42")],
            Duration::from_secs(42),
        ),
    ] {
        let seen = Seen::default();
        let router = azure::router(app(&seen), env(&vars)).unwrap();
        assert_eq!(invoke(router).await, 200);
        let left = seen.lock().unwrap()[0].expect("the invocation has a deadline");
        assert!(
            left <= expected && left > expected - Duration::from_secs(5),
            "{vars:?}: {left:?} left of {expected:?}"
        );
    }
    // The manifest writes the same timeout as host.json's functionTimeout, so the Functions host
    // and the deadline agree whatever the plan's default.
    let vars = |k: &str| {
        [
            (azure::FUNCTION_TIMEOUT_VAR, "600"),
            ("CLOUDPORT_QUEUE_ORDERS", "azqueue://acct/orders"),
        ]
        .into_iter()
        .find(|(name, _)| *name == k)
        .map(|(_, v)| v.to_owned())
    };
    let options = cloudport_cli::azure::ManifestOptions::from_vars("handler", vars).unwrap();
    let manifest =
        cloudport_cli::azure::manifest(&app(&Seen::default()).describe(), &options, vars).unwrap();
    assert_eq!(manifest.host_json()["functionTimeout"], "00:10:00");
    for bad in ["0", "soon", "1:2", "00:61:00"] {
        let err = azure::router(
            app(&Seen::default()),
            env(&[(azure::FUNCTION_TIMEOUT_VAR, bad)]),
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{bad}: {err}");
        assert!(err.message().contains(azure::FUNCTION_TIMEOUT_VAR));
    }
}

/// A Pub/Sub push of one message to queue `orders`, as Cloud Run delivers it.
#[cfg(feature = "cloudrun")]
async fn push(router: axum::Router) -> u16 {
    let envelope = json!({
        "message": { "data": "aGVsbG8=", "messageId": "m-1", "publishTime": "2026-11-26T03:00:00Z" },
        "subscription": "projects/shop/subscriptions/orders-push",
    });
    let request = axum::http::Request::post("/_cloudport/queue/orders")
        .header("content-type", "application/json")
        .body(axum::body::Body::from(envelope.to_string()))
        .unwrap();
    router.oneshot(request).await.unwrap().status().as_u16()
}

#[cfg(feature = "cloudrun")]
#[tokio::test]
async fn cloud_run_invocations_end_at_the_request_timeout() {
    use cloudport_adapters::cloudrun;
    // Unsigned requests: the caller check is left to the platform here (tests/cloudrun_auth.rs).
    let platform = (cloudrun::auth::EVENT_AUTH_VAR, "platform");
    for (timeout, expected) in [
        (None, cloudrun::DEFAULT_REQUEST_TIMEOUT),
        (Some("600"), Duration::from_secs(600)),
        (Some("00:10:00"), Duration::from_secs(600)),
    ] {
        let mut vars = vec![platform];
        vars.extend(timeout.map(|t| (cloudrun::REQUEST_TIMEOUT_VAR, t)));
        let seen = Seen::default();
        let router = cloudrun::router(app(&seen), env(&vars)).unwrap();
        assert_eq!(push(router).await, 204);
        let left = seen.lock().unwrap()[0].expect("the invocation has a deadline");
        assert!(
            left <= expected && left > expected - Duration::from_secs(5),
            "{timeout:?}: {left:?} left of {expected:?}"
        );
    }
    for bad in ["0", "", "soon", "1:2", "00:61:00", "-5", "90000"] {
        let err = cloudrun::router(
            app(&Seen::default()),
            env(&[platform, (cloudrun::REQUEST_TIMEOUT_VAR, bad)]),
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{bad:?}: {err}");
        assert!(
            err.message().contains(cloudrun::REQUEST_TIMEOUT_VAR),
            "{err}"
        );
    }
}
