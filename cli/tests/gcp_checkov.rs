//! checkov on the quickstart's Google Cloud package: no failed check that is not recorded, with
//! its reason, in the failing block's `//` comment (`checkov:skip=ID:reason`; checkov's
//! `terraform_json` runner reads no skips from JSON, so this test does), no recorded skip that
//! nothing needs, and the Dockerfile passes with its skip comments.
//!
//! checkov comes from `CLOUDPORT_CHECKOV` (`scripts/tools.sh` sets it), else
//! `checkov` on `PATH`; the test fails without it (it is ignored in a plain `cargo test` and run
//! by `./scripts/test.sh`, which installs it).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use cloudport_cli::describe;
use cloudport_cli::gcp::{GcpOptions, skips, write_package};
use serde_json::Value;

const QUICKSTART: &[u8] = include_bytes!("fixtures/quickstart.description.json");
const SHAPES: &[u8] = include_bytes!("gcp_shapes.description.json");

fn checkov() -> PathBuf {
    std::env::var_os("CLOUDPORT_CHECKOV").map_or_else(|| PathBuf::from("checkov"), PathBuf::from)
}

fn run(checkov: &Path, args: &[&str], dir: &Path) -> Vec<Value> {
    let output = Command::new(checkov)
        .args(args)
        .args(["--output", "json", "--quiet", "--compact"])
        .current_dir(dir)
        .output()
        .expect("run checkov");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "checkov printed no JSON ({e}):\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    match report {
        Value::Array(all) => all,
        one => vec![one],
    }
}

fn failures(reports: &[Value]) -> Vec<(String, String)> {
    reports
        .iter()
        .flat_map(|r| {
            r["results"]["failed_checks"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .map(|c| {
            (
                c["check_id"].as_str().unwrap_or_default().to_owned(),
                c["resource"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[test]
#[ignore = "needs the deploy tools (checkov): ./scripts/test.sh"]
fn checkov_passes_with_recorded_reasons_only() {
    let checkov = checkov();
    for (name, json) in [("quickstart", QUICKSTART), ("shapes", SHAPES)] {
        check(&checkov, name, json);
    }
}

fn check(checkov: &Path, name: &str, json: &[u8]) {
    let d = describe::parse(json).expect("the fixture parses");
    let dir = std::env::temp_dir().join(format!(
        "cloudport-gcp-checkov-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let binary = dir.join("quickstart.bin");
    std::fs::write(&binary, b"\x7fELF not really").expect("a stand-in binary");
    let out = dir.join("pkg");
    write_package(&out, &binary, &d, &GcpOptions::new(name)).expect("package");

    let reports = run(checkov, &["--framework", "terraform_json", "-d", "."], &out);
    let resources: u64 = reports
        .iter()
        .map(|r| r["summary"]["passed"].as_u64().unwrap_or(0))
        .sum();
    assert!(resources >= 10, "checkov checked too little: {reports:?}");
    // checkov names a block `resource.<local name>`.
    let main: Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("main.tf.json")).expect("main.tf.json"),
    )
    .expect("JSON");
    let mut recorded = BTreeSet::new();
    for (_, blocks) in main["resource"].as_object().expect("resources") {
        for (name, body) in blocks.as_object().expect("blocks") {
            for (id, reason) in skips(body) {
                assert!(reason.len() > 20, "{id} on {name}: no real reason");
                recorded.insert((id, format!("resource.{name}")));
            }
        }
    }
    let failed: BTreeSet<_> = failures(&reports).into_iter().collect();
    let unexplained: Vec<_> = failed.difference(&recorded).collect();
    assert!(unexplained.is_empty(), "checkov failed: {unexplained:?}");
    let unused: Vec<_> = recorded.difference(&failed).collect();
    assert!(
        unused.is_empty(),
        "recorded skips nothing needs: {unused:?}"
    );
    for (id, on) in &failed {
        eprintln!("checkov: {id} on {on} skipped (reason in its `//` comment)");
    }

    let reports = run(
        checkov,
        &["--framework", "dockerfile", "-f", "Dockerfile"],
        &out,
    );
    assert_eq!(failures(&reports), [], "Dockerfile");
    for r in &reports {
        for c in r["results"]["skipped_checks"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let reason = c["suppress_comment"].as_str().unwrap_or_default();
            assert!(
                reason.len() > 10,
                "{} skipped without a reason",
                c["check_id"]
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
