//! The quickstart as `./scripts/test.sh` packages it for Google Cloud (`cargo cloudport package
//! --cloud gcp --example quickstart --ci github --out "$CLOUDPORT_DEPLOY_GCP_OUT"`), checked on
//! those very files: the binary (the zig build: glibc ≤ 2.34, no OpenSSL, only the image's
//! libraries), the `Dockerfile` that ships it, the Terraform JSON (the generator's output for the
//! package's own description; checkov; every reference resolves; exactly the declared grants),
//! `description.json`, `DEPLOY.md`, and the workflow (action-validator).

use std::collections::BTreeSet;
use std::path::PathBuf;

use cloudport_cli::gcp::{GcpOptions, Terraform, dockerfile, terraform};

mod support {
    pub(crate) mod action_validator;
    pub(crate) mod checkov;
    pub(crate) mod packaged;
    pub(crate) mod terraform_checks;
}
use support::packaged::{self, json};

fn out() -> PathBuf {
    packaged::dir("CLOUDPORT_DEPLOY_GCP_OUT")
}

fn packaged_terraform(out: &std::path::Path) -> Terraform {
    Terraform {
        main: json(&out.join("main.tf.json")),
        variables: json(&out.join("variables.tf.json")),
        outputs: json(&out.join("outputs.tf.json")),
    }
}

#[test]
#[ignore = "needs the packaged quickstart and the deploy tools: ./scripts/test.sh"]
fn the_package_holds_the_image_build_the_terraform_and_the_instructions() {
    let out = out();
    let mut names: BTreeSet<String> = std::fs::read_dir(&out)
        .expect("the package directory")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    // The binary is the one file the Dockerfile copies in and runs.
    let docker = std::fs::read_to_string(out.join("Dockerfile")).expect("the Dockerfile");
    let binary = docker
        .lines()
        .find_map(|l| l.strip_prefix("COPY "))
        .and_then(|l| l.split(' ').next())
        .expect("a COPY line")
        .to_owned();
    assert_eq!(docker, dockerfile::dockerfile(&binary));
    assert!(names.remove(&binary), "{binary} is not in the package");
    let expected: BTreeSet<String> = [
        ".dockerignore",
        ".gcloudignore",
        ".github",
        "DEPLOY.md",
        "Dockerfile",
        "description.json",
        "main.tf.json",
        "outputs.tf.json",
        "variables.tf.json",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    assert_eq!(names, expected);
    let needed = packaged::assert_cloud_binary(&out.join(&binary));
    assert_eq!(
        dockerfile::check_libraries(&out.join(&binary)).expect("only the image's libraries"),
        needed
    );
    let ignore = std::fs::read_to_string(out.join(".dockerignore")).expect(".dockerignore");
    assert_eq!(ignore, dockerfile::ignore_file(&binary));
    let md = std::fs::read_to_string(out.join("DEPLOY.md")).expect("DEPLOY.md");
    assert!(md.contains("terraform"), "{md}");
}

#[test]
#[ignore = "needs the packaged quickstart and the deploy tools: ./scripts/test.sh"]
fn the_terraform_is_the_descriptions_and_grants_exactly_the_declared_access() {
    let out = out();
    let d = packaged::description(&out);
    let tf = packaged_terraform(&out);
    let service = tf.main["resource"]["google_cloud_run_v2_service"]["service"]["name"]
        .as_str()
        .expect("the service's name");
    assert_eq!(
        tf,
        terraform(&d, &GcpOptions::new(service)).expect("terraform"),
        "the *.tf.json are not the generator's output for description.json"
    );
    support::terraform_checks::assert_references_resolve(&tf);
    support::terraform_checks::assert_grants_follow(&tf, &d);
}

#[test]
#[ignore = "needs the packaged quickstart and the deploy tools: ./scripts/test.sh"]
fn checkov_passes_the_packaged_terraform_and_dockerfile_with_recorded_reasons_only() {
    support::checkov::assert_terraform_json_passes(&out());
}

#[test]
#[ignore = "needs the packaged quickstart and the deploy tools: ./scripts/test.sh"]
fn action_validator_and_checkov_accept_the_packaged_workflow() {
    packaged::assert_workflow_passes(&out());
}
