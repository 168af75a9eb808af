//! `cargo cloudport up --local`, run as users run it (the built `cargo-cloudport` binary), then
//! the quickstart binary, unchanged, on exactly the settings it printed: on Azurite, on the
//! Google Cloud emulators (pulled by the local host, and pushed to the app served as on Cloud
//! Run), on moto.
//!
//! Every run names its resources with a `--prefix` of its own (`up<pid>-…`): the emulators are
//! shared with the other emulator tests, which run in parallel, and the quickstart's logical
//! names (`orders`, `receipts`) are fixed by its code. Each `up` runs twice: the second run must
//! succeed and print the same bindings.
#![cfg(all(feature = "azure", feature = "gcp", feature = "aws"))]
#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use cloudport::{Bucket, Provider, ResourceUrl};

/// The built `cargo-cloudport` (`cargo test --workspace` builds it for the CLI's own tests;
/// `cargo build -p cargo-cloudport` otherwise).
fn cli() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile = exe.parent().and_then(Path::parent).unwrap();
    let path = profile.join("cargo-cloudport");
    assert!(
        path.exists(),
        "{} is not built: run `cargo build -p cargo-cloudport` (./scripts/test.sh builds it)",
        path.display()
    );
    path
}

/// `var`, which the test command exports; a clear failure when it does not.
fn required(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!(
            "{var} is not set: start the emulators with ./scripts/test.sh (scripts/emulators.sh)"
        )
    })
}

/// The quickstart's description, as the built binary prints it, in a file of this run.
fn quickstart_description() -> PathBuf {
    let out = std::process::Command::new(support::binaries::example("quickstart"))
        .env_clear()
        .env("CLOUDPORT_DESCRIBE", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = std::env::temp_dir().join(format!("cloudport-up-local-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("quickstart-{:x}.description.json", nanos()));
    std::fs::write(&path, out.stdout).unwrap();
    path
}

fn nanos() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos()
}

/// A `--prefix` no other run uses.
fn prefix() -> String {
    format!("up{:x}", std::process::id())
}

/// `dotenv` lines (`VAR=value`, `VAR='value'`; `#` comments skipped) as pairs.
fn parse_dotenv(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (k, v) = l
                .split_once('=')
                .unwrap_or_else(|| panic!("not VAR=value: {l}"));
            let v = match v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
                Some(quoted) => quoted.replace(r"'\''", "'"),
                None => v.to_owned(),
            };
            (k.to_owned(), v)
        })
        .collect()
}

/// `cargo cloudport up --local --cloud <cloud> --description <description>`, to add to.
fn up_command(cloud: &str, description: &std::path::Path) -> std::process::Command {
    let mut command = std::process::Command::new(cli());
    command
        .args([
            "cloudport",
            "up",
            "--local",
            "--cloud",
            cloud,
            "--description",
        ])
        .arg(description);
    command
}

/// Runs `cargo cloudport up --local --cloud <cloud> --description <quickstart> <extra>` with only
/// `env` (and `PATH`) in its environment, twice; returns the bindings it printed.
fn up(cloud: &str, env: &[(&str, String)], extra: &[&str]) -> Vec<(String, String)> {
    let description = quickstart_description();
    let run = || {
        let out = up_command(cloud, &description)
            .args(["--prefix", &prefix()])
            .args(extra)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .envs(env.iter().map(|(k, v)| (*k, v)))
            .output()
            .unwrap();
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        );
        assert!(
            out.status.success(),
            "up --local --cloud {cloud} failed:\n{stderr}"
        );
        (stdout, stderr)
    };
    let (first, report) = run();
    assert!(report.contains("orders"), "{report}");
    let (second, again) = run();
    assert_eq!(first, second, "a second run prints the same bindings");
    assert!(
        !again.contains("created"),
        "the second run creates nothing:\n{again}"
    );
    parse_dotenv(&first)
}

fn binding<'a>(bindings: &'a [(String, String)], var: &str) -> &'a str {
    bindings
        .iter()
        .find(|(k, _)| k == var)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {var} in {bindings:?}"))
}

fn as_refs(bindings: &[(String, String)]) -> Vec<(&str, String)> {
    bindings
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect()
}

#[tokio::test]
#[ignore = "needs emulators: ./scripts/test.sh"]
async fn up_creates_the_quickstarts_resources_on_azurite() {
    let connection = required("CLOUDPORT_TEST_AZURITE");
    let bindings = up("azure", &[("AzureWebJobsStorage", connection.clone())], &[]);
    let p = prefix();
    assert_eq!(
        binding(&bindings, "CLOUDPORT_QUEUE_ORDERS"),
        format!("azqueue://devstoreaccount1/{p}-orders")
    );
    assert_eq!(binding(&bindings, "AzureWebJobsStorage"), connection);

    support::quickstart::run(&as_refs(&bindings)).await;
    let azure = cloudport::azure::Azure::from_connection_string(connection);
    let receipts = ResourceUrl::parse(binding(&bindings, "CLOUDPORT_BUCKET_RECEIPTS")).unwrap();
    support::quickstart::assert_receipts(azure.open_bucket(&receipts).unwrap(), "Blob Storage")
        .await;
    let poison =
        cloudport::azure::Azure::from_connection_string(required("CLOUDPORT_TEST_AZURITE"))
            .queue("devstoreaccount1", &format!("{p}-orders-poison"), None)
            .unwrap();
    assert!(
        poison.client().unwrap().exists().await.unwrap(),
        "the poison queue the provider dead-letters into exists"
    );
}

fn gcp_emulators() -> Vec<(&'static str, String)> {
    vec![
        ("GOOGLE_CLOUD_PROJECT", "cloudport-test".to_owned()),
        ("PUBSUB_EMULATOR_HOST", required("PUBSUB_EMULATOR_HOST")),
        ("STORAGE_EMULATOR_HOST", required("STORAGE_EMULATOR_HOST")),
        (
            "FIRESTORE_EMULATOR_HOST",
            required("FIRESTORE_EMULATOR_HOST"),
        ),
    ]
}

fn gcs_receipts(bindings: &[(String, String)]) -> Bucket {
    let gcp = cloudport::gcp::Gcp::with_settings(cloudport::gcp::Settings {
        project: Some("cloudport-test".into()),
        pubsub_emulator: None,
        storage_emulator: Some(required("STORAGE_EMULATOR_HOST")),
    });
    let url = ResourceUrl::parse(binding(bindings, "CLOUDPORT_BUCKET_RECEIPTS")).unwrap();
    gcp.open_bucket(&url).unwrap()
}

/// Without `--push-endpoint`: pull subscriptions, which the quickstart's local host reads.
#[tokio::test]
#[ignore = "needs emulators: ./scripts/test.sh"]
async fn up_creates_the_quickstarts_resources_on_the_gcp_emulators() {
    let bindings = up("gcp", &gcp_emulators(), &[]);
    let p = prefix();
    assert_eq!(
        binding(&bindings, "CLOUDPORT_QUEUE_ORDERS"),
        format!("gcppubsub://projects/cloudport-test/topics/{p}-orders?subscription={p}-orders")
    );
    support::quickstart::run(&as_refs(&bindings)).await;
    support::quickstart::assert_receipts(gcs_receipts(&bindings), "Cloud Storage").await;
}

/// With `--push-endpoint`: the orders queue is a push subscription to the quickstart served as on
/// Cloud Run (`K_SERVICE`), which the Pub/Sub emulator POSTs each message to; orders go in over
/// HTTP, come back through the push, and the schedule writes the report.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs emulators: ./scripts/test.sh"]
async fn the_quickstart_served_as_on_cloud_run_is_pushed_its_orders() {
    let port = support::inspect::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let p = format!("{}p", prefix());
    let description = quickstart_description();
    let out = up_command("gcp", &description)
        .args(["--prefix", &p, "--push-endpoint", &base])
        .env_clear()
        .envs(gcp_emulators())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bindings = parse_dotenv(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(binding(&bindings, "CLOUDPORT_EVENT_AUTH"), "platform");
    assert!(
        binding(&bindings, "CLOUDPORT_QUEUE_ORDERS")
            .ends_with(&format!("subscription={p}-orders-push"))
    );

    let mut app = tokio::process::Command::new(support::binaries::example("quickstart"))
        .env_clear()
        .envs(as_refs(&bindings))
        .env("K_SERVICE", "quickstart")
        .env("K_REVISION", "quickstart-00001")
        .env("PORT", port.to_string())
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while http
        .get(format!("{base}/orders/none"))
        .send()
        .await
        .is_err()
    {
        assert!(
            Instant::now() < deadline,
            "the quickstart did not listen on {port}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let orders = [("o-1", 1250u64), ("o-2", 4999), ("o-3", 300)];
    for (id, cents) in orders {
        let resp = http
            .post(format!("{base}/orders"))
            .json(&serde_json::json!({"id": id, "customer": "ada", "total_cents": cents}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 202, "POST /orders {id}");
    }
    // Each order is recorded by the queue handler, which only a push can have run.
    for (id, _) in orders {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let resp = http
                .get(format!("{base}/orders/{id}"))
                .send()
                .await
                .unwrap();
            if resp.status() == 200 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "order {id} was not pushed to the app in 30 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let tick = http
        .post(format!("{base}/_cloudport/schedule/nightly-report"))
        .send()
        .await
        .unwrap();
    assert!(tick.status().is_success(), "schedule: {}", tick.status());
    support::quickstart::assert_receipts(gcs_receipts(&bindings), "Cloud Storage").await;
    app.kill().await.unwrap();
}

#[tokio::test]
#[ignore = "needs emulators: ./scripts/test.sh"]
async fn up_creates_the_quickstarts_resources_on_moto() {
    let endpoint = required("CLOUDPORT_TEST_MOTO");
    let bindings = up("aws", &[("AWS_ENDPOINT_URL", endpoint.clone())], &[]);
    assert_eq!(
        binding(&bindings, "CLOUDPORT_QUEUE_ORDERS"),
        format!("sqs://{}-orders?endpoint={endpoint}", prefix())
    );
    support::quickstart::run(&as_refs(&bindings)).await;
    let aws = cloudport::aws::Aws::for_emulator(&endpoint);
    let receipts = ResourceUrl::parse(binding(&bindings, "CLOUDPORT_BUCKET_RECEIPTS")).unwrap();
    support::quickstart::assert_receipts(aws.open_bucket(&receipts).unwrap(), "S3").await;
}

/// Pointed at anything but this machine, `up` refuses before any call.
#[test]
#[ignore = "needs the built cargo-cloudport: ./scripts/test.sh"]
fn up_refuses_a_real_cloud() {
    let description = quickstart_description();
    for (cloud, var, value) in [
        (
            "aws",
            "AWS_ENDPOINT_URL",
            "https://sqs.us-east-1.amazonaws.com",
        ),
        ("gcp", "PUBSUB_EMULATOR_HOST", "pubsub.googleapis.com:443"),
        (
            "azure",
            "AzureWebJobsStorage",
            "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=c2VjcmV0c2VjcmV0;EndpointSuffix=core.windows.net",
        ),
        // A repeated setting reads as the provider reads it (the last wins): neither a first
        // `UseDevelopmentStorage=true` nor a first local endpoint lets a real account through.
        (
            "azure",
            "AzureWebJobsStorage",
            "UseDevelopmentStorage=true;UseDevelopmentStorage=false;AccountName=acme;AccountKey=c2VjcmV0c2VjcmV0",
        ),
        (
            "azure",
            "AzureWebJobsStorage",
            "AccountName=acme;AccountKey=c2VjcmV0c2VjcmV0;BlobEndpoint=http://127.0.0.1:10000/acme;QueueEndpoint=http://127.0.0.1:10001/acme;QueueEndpoint=https://acme.queue.core.windows.net;TableEndpoint=http://127.0.0.1:10002/acme",
        ),
    ] {
        let out = up_command(cloud, &description)
            .env_clear()
            .env("GOOGLE_CLOUD_PROJECT", "p")
            .env(var, value)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{cloud}: {stderr}");
        assert!(stderr.contains(var), "{cloud}: {stderr}");
        assert!(!stderr.contains("c2VjcmV0"), "{cloud}: {stderr}");
        assert!(out.stdout.is_empty(), "{cloud}: nothing printed");
    }
}
