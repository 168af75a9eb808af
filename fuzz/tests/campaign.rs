//! The short campaign CI runs with `cargo test --workspace`: a few thousand generated inputs per
//! target, in the debug profile, none of which may panic or break a promised property.
//! `CLOUDPORT_FUZZ_SEED` and `CLOUDPORT_FUZZ_EXECS` change the seed (default 0) and the number
//! of executions (default per target below); the long campaign is the binary (`fuzz/README.md`).

use cloudport_fuzz::{Config, describe, run, targets};

/// Runs `execs` inputs through `target` on a thread with a large stack (debug frames are several
/// times the release ones; the release campaign runs on a Tokio worker's 2 MiB).
fn campaign(target: &'static str, execs: u64) {
    let seed = std::env::var("CLOUDPORT_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let execs = std::env::var("CLOUDPORT_FUZZ_EXECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(execs);
    let report = std::thread::Builder::new()
        .stack_size(16 * 1024 * 1024)
        .spawn(move || {
            let mut t = targets::build(target).expect("a known target");
            run(
                t.as_mut(),
                &Config {
                    seed,
                    execs,
                    crash_dir: None,
                    max_failures: 3,
                    ..Config::default()
                },
            )
        })
        .expect("a thread")
        .join()
        .expect("the campaign thread panicked outside an execution");
    eprintln!("{}", report.summary());
    assert!(
        report.failures.is_empty(),
        "{}\n{}",
        report.summary(),
        report
            .failures
            .iter()
            .map(|f| format!(
                "{}\nregression test:\n{}",
                describe(f),
                f.minimized.to_rust(f.target, "regression")
            ))
            .collect::<Vec<_>>()
            .join("\n\n")
    );
    assert_eq!(report.execs, execs);
    assert!(
        report.outcomes.len() >= 2,
        "{target}: every input came to the same outcome ({:?}); is the target wired up?",
        report.outcomes
    );
}

#[test]
fn lambda() {
    campaign("lambda", 5_000);
}

#[test]
fn azure() {
    campaign("azure", 5_000);
}

#[test]
fn cloudrun() {
    campaign("cloudrun", 5_000);
}

#[test]
fn cloudrun_auth() {
    campaign("cloudrun-auth", 5_000);
}

#[test]
fn queue_wire() {
    campaign("queue-wire", 5_000);
}

#[test]
fn trace_headers() {
    campaign("trace-headers", 20_000);
}

#[test]
fn resource_url() {
    campaign("resource-url", 10_000);
}

#[test]
fn redact() {
    campaign("redact", 10_000);
}

#[test]
fn azure_connection_string() {
    campaign("azure-connection-string", 5_000);
}

#[test]
fn every_target_is_tested() {
    let here = include_str!("campaign.rs");
    for (name, _) in targets::TARGETS {
        assert!(
            here.contains(&format!("campaign({name:?}")),
            "no short campaign for target {name}"
        );
    }
}

#[test]
fn an_iteration_is_reproducible_from_its_seed() {
    for (name, _) in targets::TARGETS {
        if *name == "cloudrun-auth" {
            // Its seeds are signed with a key made at start-up.
            continue;
        }
        let target = targets::build(name).expect("a known target");
        let a = cloudport_fuzz::Generator::new(target.as_ref());
        let b = cloudport_fuzz::Generator::new(target.as_ref());
        for i in [0, 1, 77, 123_456_789] {
            assert_eq!(
                a.case(target.as_ref(), 42, i),
                b.case(target.as_ref(), 42, i),
                "{name} {i}"
            );
        }
        assert_ne!(
            a.case(target.as_ref(), 42, 5),
            a.case(target.as_ref(), 43, 5)
        );
    }
}
