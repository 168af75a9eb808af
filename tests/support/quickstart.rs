//! The quickstart binary, unchanged, run against a cloud's emulators.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

/// Runs the quickstart example with only `vars` in its environment; asserts that it succeeded and
/// reported the three orders, their total and a receipt. Returns its standard output.
pub async fn run(vars: &[(&str, String)]) -> String {
    let output = tokio::process::Command::new(super::binaries::example("quickstart"))
        .env_clear()
        .envs(vars.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .await
        .expect("run quickstart");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "quickstart failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("3 orders, 6549 cents"), "{stdout}");
    assert!(stdout.contains("receipt receipts/o-1003.json"), "{stdout}");
    stdout
}

/// Asserts that `bucket` (in `service`) holds what the quickstart writes: three receipts and a
/// report.
pub async fn assert_receipts(bucket: cloudport::Bucket, service: &str) {
    let listed = bucket
        .list(cloudport::ListOptions::default())
        .await
        .expect("list");
    assert_eq!(
        listed.objects.len(),
        4,
        "three receipts and a report in {service}"
    );
}
