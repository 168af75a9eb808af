//! The soak campaign ("nothing lost, nothing run twice that was promised once, no panic"): per
//! provider, thousands of messages through the function's host the way the platform drives it,
//! with 20 % of deliveries failing, a handler panic now and then, the consumer killed mid-batch
//! and restarted, and the emulator restarted once mid-run. Each prints its figures: sent,
//! handled, dead-lettered, expected dead-lettered, lost (must be 0), handled twice (each with
//! the redelivery that caused it). See tests/support/soak/mod.rs.
//!
//! - short (CI: `./scripts/test.sh` runs it with the other tests): 500 messages on memory, 300 per
//!   cloud;
//! - full: `CLOUDPORT_SOAK=full cargo test --all-features --test soak -- --include-ignored` —
//!   10,000 messages per provider, one provider after another. Each cloud soak starts, restarts and
//!   stops its own emulator on free ports: moto (`moto_server`), Azurite's queue service and the
//!   Pub/Sub emulator's jar, found as `scripts/emulators.sh` installs them (it exports their paths).
//!
//! The figures go straight to stderr, so they show without `--nocapture`.
#![allow(clippy::unwrap_used)]

#[path = "support/soak/mod.rs"]
mod soak;

/// Not a test: the function process of the cloud soaks is this binary re-executed with only this
/// test selected and `CLOUDPORT_SOAK_JOURNAL` set; without it, it returns at once.
#[test]
fn soak_function_process() {
    soak::app::function_process();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_memory_local_host() {
    let _one_at_a_time = soak::SERIAL.lock().await;
    let size = soak::Size::from_env(10_000, None, 500);
    let platform = soak::memory::MemoryPlatform::start().await;
    soak::run(platform, &size).await;
}

#[cfg(feature = "aws")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs emulators: ./scripts/test.sh"]
async fn soak_aws_lambda_on_moto() {
    let _one_at_a_time = soak::SERIAL.lock().await;
    let size = soak::Size::from_env(10_000, None, 300);
    let platform = soak::lambda::LambdaPlatform::start().await;
    soak::run(platform, &size).await;
}

#[cfg(feature = "azure")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs emulators: ./scripts/test.sh"]
async fn soak_azure_functions_on_azurite() {
    let _one_at_a_time = soak::SERIAL.lock().await;
    let size = soak::Size::from_env(10_000, None, 300);
    let platform = soak::functions::FunctionsPlatform::start().await;
    soak::run(platform, &size).await;
}

#[cfg(feature = "gcp")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs emulators: ./scripts/test.sh"]
async fn soak_gcp_cloud_run_on_the_pubsub_emulator() {
    let _one_at_a_time = soak::SERIAL.lock().await;
    let size = soak::Size::from_env(10_000, None, 300);
    let platform = soak::cloudrun::CloudRunPlatform::start().await;
    soak::run(platform, &size).await;
}
