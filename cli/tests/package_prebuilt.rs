//! `cargo cloudport package --prebuilt`, end to end through the binary, without a build: this
//! test binary doubles as the app. Run with `CLOUDPORT_DESCRIBE=1` (as the packager runs it) it
//! prints a description chosen by its file name, like an app's `App::run` would.

// A test runner of its own (harness = false): it prints its results.
#![allow(clippy::print_stdout)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use cloudport_cli::aws::{AwsOptions, template};

const QUICKSTART: &str = include_str!("fixtures/quickstart.description.json");
const UNDECLARED: &str = r#"{"cloudport_description": 1, "sdk_version": "0.1.0", "http": false,
  "any_event": false, "triggers": [{"kind": "queue", "name": "orders"}], "declared": false,
  "resources": [{"kind": "queue", "name": "orders", "access": ["consume"],
                 "declaration": "queue(\"orders\").consume()"}], "limits": {}}"#;
const V2: &str = r#"{"cloudport_description": 2, "whatever": true}"#;

/// A test: its name and body (given a directory of its own).
type Test = (&'static str, fn(&Path));

fn main() {
    if std::env::var_os("CLOUDPORT_DESCRIBE").is_some() {
        play_the_app();
        return;
    }
    let tests: [Test; 4] = [
        ("packages_a_declared_app", packages_a_declared_app),
        ("refuses_an_undeclared_app", refuses_an_undeclared_app),
        (
            "refuses_an_unknown_description_version",
            refuses_an_unknown_version,
        ),
        (
            "refuses_an_arm64_prebuilt_it_cannot_run",
            refuses_foreign_arch,
        ),
    ];
    let dir = std::env::temp_dir().join(format!("cloudport-cli-package-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    for (name, test) in tests {
        let here = dir.join(name);
        std::fs::create_dir_all(&here).expect("a test directory");
        test(&here);
        println!("test {name} ... ok");
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!("{} passed, 0 failed", tests.len());
}

/// Prints the description its name asks for, as `App::run` does with `CLOUDPORT_DESCRIBE=1`.
fn play_the_app() {
    assert!(
        std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_none(),
        "the packager clears the environment"
    );
    let exe = std::env::current_exe().expect("its path");
    let name = exe.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let json = if name.contains("undeclared") {
        UNDECLARED
    } else if name.contains("v2") {
        V2
    } else {
        QUICKSTART
    };
    println!("{json}");
}

/// A copy of this binary named `name` in `dir`: an "app".
fn app(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::copy(std::env::current_exe().expect("its path"), &path).expect("copied");
    path
}

fn package(app: &Path, out: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cargo-cloudport"))
        .args(["cloudport", "package", "--cloud", "aws", "--prebuilt"])
        .arg(app)
        .arg("--out")
        .arg(out)
        .args(extra)
        .env("AWS_LAMBDA_FUNCTION_NAME", "must-not-reach-the-app")
        .output()
        .expect("cargo-cloudport runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn packages_a_declared_app(dir: &Path) {
    let app = app(dir, "quickstart");
    let out = dir.join("out");
    let run = package(&app, &out, &["--stack-name", "qs"]);
    let (stdout, stderr) = (text(&run.stdout), text(&run.stderr));
    assert!(run.status.success(), "package failed: {stderr}");
    assert!(
        stdout.contains("aws s3 cp function.zip \"s3://$CODE_BUCKET/qs/function-"),
        "{stdout}"
    );
    assert!(
        stdout.contains("aws cloudformation deploy --template-file template.json --stack-name qs"),
        "{stdout}"
    );
    assert!(stdout.contains("--capabilities CAPABILITY_IAM"), "{stdout}");
    assert!(
        stdout.contains("update-cost-allocation-tags-status"),
        "the budget note: {stdout}"
    );
    assert!(stdout.contains("glibc needed: 2."), "{stdout}");

    let zip = std::fs::File::open(out.join("function.zip")).expect("function.zip");
    let mut archive = zip::ZipArchive::new(zip).expect("a zip");
    assert_eq!(archive.len(), 1);
    let mut entry = archive.by_name("bootstrap").expect("bootstrap");
    assert_eq!(entry.unix_mode().map(|m| m & 0o777), Some(0o755));
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut entry, &mut bytes).expect("inflates");
    assert_eq!(
        bytes,
        std::fs::read(&app).expect("the app"),
        "bootstrap is the binary"
    );

    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("template.json")).expect("template.json"))
            .expect("JSON");
    let description = cloudport_cli::describe::parse(QUICKSTART.as_bytes()).expect("fixture");
    let expected = template(&description, &AwsOptions::new("qs")).expect("template");
    assert_eq!(written, expected);
    let described: serde_json::Value = serde_json::from_slice(
        &std::fs::read(out.join("description.json")).expect("description.json"),
    )
    .expect("JSON");
    let fixture: serde_json::Value = serde_json::from_str(QUICKSTART).expect("JSON");
    assert_eq!(described, fixture);
    let md = std::fs::read_to_string(out.join("DEPLOY.md")).expect("DEPLOY.md");
    assert!(
        md.contains("CodeKey=qs/function-") && md.contains("CLOUDPORT_QUEUE_ORDERS"),
        "{md}"
    );

    // The same binary gives the same archive.
    let again = dir.join("again");
    assert!(
        package(&app, &again, &["--stack-name", "qs"])
            .status
            .success()
    );
    assert_eq!(
        std::fs::read(out.join("function.zip")).expect("first"),
        std::fs::read(again.join("function.zip")).expect("second")
    );
}

fn refuses_an_undeclared_app(dir: &Path) {
    let out = dir.join("out");
    let run = package(&app(dir, "undeclared-app"), &out, &[]);
    let stderr = text(&run.stderr);
    assert!(!run.status.success());
    assert!(stderr.contains("declares no access"), "{stderr}");
    assert!(
        stderr.contains(r#"    .uses(queue("orders").consume())"#),
        "{stderr}"
    );
    assert!(!out.join("function.zip").exists(), "nothing is written");
}

fn refuses_an_unknown_version(dir: &Path) {
    let run = package(&app(dir, "v2-app"), &dir.join("out"), &[]);
    let stderr = text(&run.stderr);
    assert!(!run.status.success());
    assert!(stderr.contains("format version 2"), "{stderr}");
}

fn refuses_foreign_arch(dir: &Path) {
    let foreign = if std::env::consts::ARCH == "aarch64" {
        "x86_64"
    } else {
        "arm64"
    };
    let run = package(
        &app(dir, "quickstart"),
        &dir.join("out"),
        &["--arch", foreign],
    );
    let stderr = text(&run.stderr);
    assert!(!run.status.success());
    assert!(stderr.contains("cannot run on this"), "{stderr}");
}
