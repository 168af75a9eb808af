//! checkov on generated files, one runner for every test that uses it: the ARM template
//! (`--framework arm`), the Terraform JSON (`terraform_json`, skips recorded in each block's `//`
//! comment because that runner reads none), the Dockerfile and the GitHub workflow. A check may
//! be skipped only where the file records it with a reason, and a recorded skip nothing needs
//! fails too.
//!
//! checkov is `$CLOUDPORT_CHECKOV` (`scripts/tools.sh` sets it), else `checkov` on `PATH`; a
//! test that needs it is ignored in a plain `cargo test` and fails, saying so, without it.
#![allow(dead_code)] // each test crate uses a part

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// The checkov executable.
pub(crate) fn checkov() -> PathBuf {
    std::env::var_os("CLOUDPORT_CHECKOV").map_or_else(|| PathBuf::from("checkov"), PathBuf::from)
}

/// checkov's reports (one per framework) for `args`, run in `dir`.
pub(crate) fn run(args: &[&str], dir: &Path) -> Vec<Value> {
    let checkov = checkov();
    let output = Command::new(&checkov)
        .args(args)
        .args(["--output", "json", "--compact"])
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "running {} ({e}): install it with `source scripts/tools.sh && tools_checkov`",
                checkov.display()
            )
        });
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

/// How many checks passed.
pub(crate) fn passed(reports: &[Value]) -> u64 {
    reports
        .iter()
        .map(|r| r["summary"]["passed"].as_u64().unwrap_or(0))
        .sum()
}

fn checks<'a>(reports: &'a [Value], outcome: &str) -> impl Iterator<Item = &'a Value> {
    reports
        .iter()
        .flat_map(move |r| r["results"][outcome].as_array().into_iter().flatten())
}

/// (check id, resource) of every failed check.
pub(crate) fn failed(reports: &[Value]) -> BTreeSet<(String, String)> {
    checks(reports, "failed_checks")
        .map(|c| {
            (
                c["check_id"].as_str().unwrap_or_default().to_owned(),
                c["resource"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// The ids of the checks checkov skipped, each asserted to carry a reason (the file's
/// `checkov:skip=ID:reason`, or an ARM resource's `metadata.checkov` entry).
pub(crate) fn skipped_with_reasons(reports: &[Value]) -> BTreeSet<String> {
    checks(reports, "skipped_checks")
        .map(|c| {
            let reason = c["check_result"]["suppress_comment"]
                .as_str()
                .unwrap_or_default();
            assert!(
                reason.len() > 10 && reason != "No comment provided",
                "checkov check {} skipped on {} without a reason",
                c["check_id"],
                c["resource"]
            );
            c["check_id"].as_str().unwrap_or_default().to_owned()
        })
        .collect()
}

fn read_json(path: &Path) -> Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is no JSON: {e}", path.display()))
}

/// An ARM template passes: no failed check, enough checks ran, every skip has its reason and
/// is exactly one a resource records in `metadata.checkov` (`"CKV_…: reason"`).
pub(crate) fn assert_arm_passes(template: &Path) {
    let dir = template.parent().expect("the template's directory");
    let file = template
        .file_name()
        .and_then(|f| f.to_str())
        .expect("a file name");
    let reports = run(&["--framework", "arm", "--file", file], dir);
    let failures = failed(&reports);
    assert!(
        failures.is_empty(),
        "checkov failed on {}: {failures:?}",
        template.display()
    );
    assert!(
        passed(&reports) > 10,
        "checkov checked too little: {reports:?}"
    );
    let skipped = skipped_with_reasons(&reports);
    let recorded: BTreeSet<String> = read_json(template)["resources"]
        .as_array()
        .expect("the template's resources")
        .iter()
        .flat_map(|r| {
            r["metadata"]["checkov"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .map(|s| {
            let s = s.as_str().expect("a `CKV_…: reason` string");
            let (id, reason) = s.split_once(':').expect("`CKV_…: reason`");
            assert!(reason.trim().len() > 10, "{id}: no real reason");
            id.to_owned()
        })
        .collect();
    assert!(
        !recorded.is_empty(),
        "no skip recorded: is metadata.checkov still read?"
    );
    assert_eq!(
        recorded, skipped,
        "skips recorded in metadata.checkov vs skipped by checkov"
    );
}

/// A Terraform JSON directory passes: every failed check is one the failing block records in
/// its `//` comment with a reason ([`cloudport_cli::gcp::skips`]), every recorded skip is
/// needed, and the Dockerfile (if any) passes with its skip comments.
pub(crate) fn assert_terraform_json_passes(dir: &Path) {
    let reports = run(&["--framework", "terraform_json", "-d", "."], dir);
    assert!(
        passed(&reports) >= 10,
        "checkov checked too little: {reports:?}"
    );
    // checkov names a block `resource.<local name>`.
    let main = read_json(&dir.join("main.tf.json"));
    let mut recorded = BTreeSet::new();
    for blocks in main["resource"].as_object().expect("resources").values() {
        for (name, body) in blocks.as_object().expect("blocks") {
            for (id, reason) in cloudport_cli::gcp::skips(body) {
                assert!(reason.len() > 20, "{id} on {name}: no real reason");
                recorded.insert((id, format!("resource.{name}")));
            }
        }
    }
    let failures = failed(&reports);
    let unexplained: Vec<_> = failures.difference(&recorded).collect();
    assert!(unexplained.is_empty(), "checkov failed: {unexplained:?}");
    let unused: Vec<_> = recorded.difference(&failures).collect();
    assert!(
        unused.is_empty(),
        "recorded skips nothing needs: {unused:?}"
    );
    for (id, on) in &failures {
        eprintln!("checkov: {id} on {on} skipped (reason in its `//` comment)");
    }
    if dir.join("Dockerfile").is_file() {
        let reports = run(&["--framework", "dockerfile", "-f", "Dockerfile"], dir);
        assert_eq!(failed(&reports), BTreeSet::new(), "Dockerfile");
        skipped_with_reasons(&reports);
    }
}

/// checkov's `github_actions` checks (injection, permissions, unpinned images…) on the
/// workflows under `dir/.github/workflows`: none fails, and enough ran to mean something.
pub(crate) fn assert_github_actions_passes(dir: &Path) {
    let reports = run(&["--framework", "github_actions", "-d", "."], dir);
    assert_eq!(
        failed(&reports),
        BTreeSet::new(),
        "checkov failed on the workflow"
    );
    assert!(
        passed(&reports) >= 50,
        "checkov checked too little: {reports:?}"
    );
}
