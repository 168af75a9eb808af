//! The `inspect` example as a Cloud Run service (`K_SERVICE` set) whose callers are checked: an
//! unsigned `POST /_cloudport/schedule/inspect` is refused `401` and runs nothing; with an ID token
//! from a local test issuer (standing in for Google, trusted through `CLOUDPORT_OIDC_JWKS_URL`
//! and `CLOUDPORT_OIDC_ISSUERS`) the schedule runs.
#![cfg(feature = "gcp")]
#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};

use cloudport::hosts::cloudrun::auth::TestIssuer;
use serde_json::Value;
use support::inspect::Inspect;

/// The scheduler job's service account, the only caller allowed.
const SCHEDULER: &str = "scheduler@cloudport-test.iam.gserviceaccount.com";

const TICK: &str = "io.cloudport.schedule.tick.v1";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built examples: ./scripts/test.sh"]
async fn inspect_on_cloud_run_runs_a_schedule_only_for_a_verified_caller() {
    let issuer = TestIssuer::start().await.unwrap();
    let port = support::inspect::free_port();
    let [jwks, issuers] = issuer.env_vars();
    let service = Inspect::spawn([
        ("PORT", port.to_string()),
        ("K_SERVICE", "inspect".to_owned()),
        ("K_REVISION", "inspect-00001".to_owned()),
        ("GOOGLE_CLOUD_PROJECT", "cloudport-test".to_owned()),
        jwks,
        issuers,
        ("CLOUDPORT_OIDC_ALLOWED_EMAILS", SCHEDULER.to_owned()),
    ]);
    service.wait_port(port).await;
    let path = "/_cloudport/schedule/inspect";
    let url = format!("http://127.0.0.1:{port}{path}");
    let client = reqwest::Client::new();
    let schedule = |token: Option<&str>| {
        let mut request = client.post(&url).header("x-cloudscheduler", "true").header(
            "x-cloudscheduler-jobname",
            "projects/cloudport-test/locations/europe-west1/jobs/inspect",
        );
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        request.send()
    };

    // Unsigned: refused, nothing runs, no key fetched.
    let unsigned = schedule(None).await.unwrap();
    assert_eq!(unsigned.status(), 401);
    assert_eq!(unsigned.headers()["www-authenticate"], "Bearer");
    let body: Value = unsigned.json().await.unwrap();
    assert_eq!(body["error"]["kind"], "unauthenticated", "{body}");
    assert_eq!(issuer.fetches(), 0);

    // Signed for this endpoint, by a caller not allowed: forbidden.
    let audience = format!("https://127.0.0.1:{port}{path}");
    let stranger = issuer
        .token(&audience, "someone@other-project.iam.gserviceaccount.com")
        .unwrap();
    let forbidden = schedule(Some(&stranger)).await.unwrap();
    assert_eq!(forbidden.status(), 403);

    // Signed for another endpoint: refused, naming the audience expected.
    let elsewhere = issuer
        .token("https://billing-abc-uc.a.run.app/", SCHEDULER)
        .unwrap();
    let wrong = schedule(Some(&elsewhere)).await.unwrap();
    assert_eq!(wrong.status(), 401);
    let body: Value = wrong.json().await.unwrap();
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains(&audience), "{message}");
    assert!(!message.contains(&elsewhere), "never the token: {message}");

    // The scheduler job's token: the schedule runs.
    let token = issuer.token(&audience, SCHEDULER).unwrap();
    let ran = schedule(Some(&token)).await.unwrap();
    assert_eq!(ran.status(), 204);
    let deadline = Instant::now() + Duration::from_secs(10);
    while service.count(|e| e["type"] == TICK) < 1 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let events = service.take_events();
    assert_eq!(
        events.len(),
        1,
        "only the verified call ran a handler: {events:#?}"
    );
    assert_eq!(events[0]["type"], TICK);
    assert_eq!(events[0]["subject"], "inspect");
    assert_eq!(issuer.fetches(), 1, "the keys were fetched once");

    // No token needed: the warm-up ping, the app's own routes.
    let warm = client
        .get(format!("http://127.0.0.1:{port}/_cloudport/warmup"))
        .send()
        .await
        .unwrap();
    assert_eq!(warm.status(), 200);
    let own = client
        .get(format!("http://127.0.0.1:{port}/hello?x=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), 200);
    let described: Value = own.json().await.unwrap();
    assert_eq!(described["path"], "/hello");
}
