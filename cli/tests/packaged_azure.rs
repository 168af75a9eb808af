//! The quickstart as `./scripts/test.sh` packages it for Azure (`cargo cloudport package --cloud
//! azure --example quickstart --ci github --out "$CLOUDPORT_DEPLOY_AZURE_OUT"`), checked on those
//! very files: the app folder (the handler, `host.json`, one `function.json` per function) and
//! its zip, the ARM template (the generator's output for the package's own description; checkov;
//! every reference resolves; exactly the declared roles), `description.json`, `DEPLOY.md`, and
//! the workflow (action-validator).

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};

use cloudport_cli::azure::{AzureOptions, template};

mod support {
    pub(crate) mod action_validator;
    pub(crate) mod arm;
    pub(crate) mod checkov;
    pub(crate) mod packaged;
}
use support::packaged::{self, json, read};

fn out() -> PathBuf {
    packaged::dir("CLOUDPORT_DEPLOY_AZURE_OUT")
}

/// Every file under `dir`, as `/`-separated paths relative to it.
fn files(dir: &Path, under: &str, found: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir.join(under)).expect("a readable directory") {
        let entry = entry.expect("a directory entry");
        let name = entry.file_name().to_string_lossy().into_owned();
        let rel = if under.is_empty() {
            name
        } else {
            format!("{under}/{name}")
        };
        if entry.file_type().expect("a file type").is_dir() {
            files(dir, &rel, found);
        } else {
            found.insert(rel);
        }
    }
}

#[test]
#[ignore = "needs the packaged quickstart and the deploy tools: ./scripts/test.sh"]
fn the_app_folder_and_its_zip_hold_the_handler_and_one_function_per_trigger() {
    let out = out();
    let d = packaged::description(&out);
    let app = out.join("app");
    packaged::assert_cloud_binary(&app.join("handler"));
    let host = json(&app.join("host.json"));
    assert_eq!(
        host["customHandler"]["description"]["defaultExecutablePath"],
        "handler"
    );
    let mut on_disk = BTreeSet::new();
    files(&app, "", &mut on_disk);
    let functions: Vec<&String> = on_disk
        .iter()
        .filter(|f| f.ends_with("/function.json"))
        .collect();
    // One function per trigger, plus the HTTP one when the app serves HTTP.
    assert_eq!(
        functions.len(),
        d.triggers.len() + usize::from(d.http),
        "{functions:?}"
    );
    for f in &functions {
        let bindings = &json(&app.join(f))["bindings"];
        assert!(
            bindings[0]["type"]
                .as_str()
                .is_some_and(|t| t.ends_with("Trigger")),
            "{f}: {bindings}"
        );
    }
    let expected: BTreeSet<String> = ["handler", "host.json"]
        .into_iter()
        .map(str::to_owned)
        .chain(functions.iter().map(|f| (*f).clone()))
        .collect();
    assert_eq!(on_disk, expected, "the app folder holds more than the app");

    // The zip for zip deploy: the same files, byte for byte, the handler executable.
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(read(&out.join("app.zip"))))
        .expect("app.zip is a zip");
    let names: BTreeSet<String> = zip.file_names().map(str::to_owned).collect();
    assert_eq!(names, expected);
    for name in &names {
        let mut entry = zip.by_name(name).expect("an entry");
        let mode = entry.unix_mode().map(|m| m & 0o777);
        assert_eq!(
            mode,
            Some(if name == "handler" { 0o755 } else { 0o644 }),
            "{name}"
        );
        let mut content = Vec::new();
        entry.read_to_end(&mut content).expect("readable");
        assert!(
            content == read(&app.join(name)),
            "{name} differs from app/{name}"
        );
    }
}

#[test]
#[ignore = "needs the packaged quickstart and the deploy tools: ./scripts/test.sh"]
fn the_template_is_the_descriptions_and_grants_exactly_the_declared_roles() {
    let out = out();
    let d = packaged::description(&out);
    let t = json(&out.join("template.json"));
    let app = t["parameters"]["appName"]["defaultValue"]
        .as_str()
        .expect("the appName parameter's default");
    assert_eq!(
        t,
        template(&d, &AzureOptions::new(app)).expect("a template"),
        "template.json is not the generator's output for description.json"
    );
    support::arm::assert_references_resolve(&t);
    assert_eq!(
        support::arm::assignments(&t),
        support::arm::expected_assignments(&d)
    );
    let md = std::fs::read_to_string(out.join("DEPLOY.md")).expect("DEPLOY.md");
    assert!(md.contains("az deployment group create"), "{md}");
}

#[test]
#[ignore = "needs the packaged quickstart and the deploy tools: ./scripts/test.sh"]
fn checkov_passes_the_packaged_template_with_reasoned_skips_only() {
    support::checkov::assert_arm_passes(&out().join("template.json"));
}

#[test]
#[ignore = "needs the packaged quickstart and the deploy tools: ./scripts/test.sh"]
fn action_validator_and_checkov_accept_the_packaged_workflow() {
    packaged::assert_workflow_passes(&out());
}
