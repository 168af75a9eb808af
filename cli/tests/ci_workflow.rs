//! The generated GitHub Actions workflows for the quickstart (`fixtures/quickstart.description.json`)
//! on each cloud: OIDC only, test → package → deploy, the right commands; and (ignored, run by
//! `./scripts/test.sh`) each checked against the workflow schema by action-validator and by
//! checkov's `github_actions` checks.

use std::path::{Path, PathBuf};

use cloudport_cli::build::AppTarget;
use cloudport_cli::ci::actions::ACTIONS;
use cloudport_cli::ci::{CiCloud, CiTarget, Install, github_workflow, workflow, write_workflow};
use cloudport_cli::{Error, args::Arch, describe};
use cloudport_core::app::Description;
use serde_json::{Value, json};

mod support {
    pub(crate) mod action_validator;
    pub(crate) mod checkov;
}
use support::{action_validator, checkov};

const QUICKSTART: &[u8] = include_bytes!("fixtures/quickstart.description.json");
const CLOUDS: [CiCloud; 3] = [CiCloud::Aws, CiCloud::Azure, CiCloud::Gcp];

fn quickstart() -> Description {
    describe::parse(QUICKSTART).expect("the fixture parses")
}

fn target(cloud: CiCloud) -> CiTarget {
    CiTarget::new(cloud, AppTarget::Example("quickstart".into()))
}

fn text(cloud: CiCloud) -> String {
    github_workflow(&quickstart(), &target(cloud)).expect("a workflow")
}

fn doc(t: &CiTarget) -> Value {
    workflow(&quickstart(), t).expect("a workflow").0.to_json()
}

fn steps<'a>(doc: &'a Value, job: &str) -> &'a Vec<Value> {
    doc["jobs"][job]["steps"].as_array().expect("steps")
}

fn step<'a>(doc: &'a Value, job: &str, uses_prefix: &str) -> &'a Value {
    steps(doc, job)
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with(uses_prefix))
        })
        .unwrap_or_else(|| panic!("no {uses_prefix} step in {job}"))
}

/// Every `run` script of a job, joined.
fn scripts(doc: &Value, job: &str) -> String {
    steps(doc, job)
        .iter()
        .filter_map(|s| s["run"].as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_cloud_deploys_by_oidc_with_no_stored_credential() {
    for cloud in CLOUDS {
        let text = text(cloud);
        let doc = doc(&target(cloud));
        assert!(text.contains("id-token: write"), "{cloud:?}");
        assert_eq!(
            doc["permissions"],
            json!({ "contents": "read" }),
            "{cloud:?}"
        );
        assert_eq!(
            doc["jobs"]["deploy"]["permissions"],
            json!({ "id-token": "write", "contents": "read" }),
            "{cloud:?}"
        );
        for job in ["test", "package"] {
            assert!(
                doc["jobs"][job].get("permissions").is_none(),
                "{cloud:?} {job} gets no token"
            );
        }
        for stored in [
            "secrets.",
            "AWS_SECRET_ACCESS_KEY",
            "aws-access-key-id",
            "aws-secret-access-key",
            "client-secret",
            "creds:",
            "credentials_json",
            "AZURE_CREDENTIALS",
        ] {
            assert!(!text.contains(stored), "{cloud:?} mentions {stored}");
        }
    }
}

#[test]
fn test_then_package_then_deploy_on_pushes_to_main() {
    for cloud in CLOUDS {
        let doc = doc(&target(cloud));
        assert_eq!(doc["on"]["push"]["branches"], json!(["main"]));
        assert_eq!(doc["on"]["workflow_dispatch"], Value::Null);
        assert!(doc["on"].get("workflow_dispatch").is_some());
        let jobs = &doc["jobs"];
        assert_eq!(jobs["package"]["needs"], "test");
        assert_eq!(jobs["deploy"]["needs"], "package");
        assert_eq!(jobs["deploy"]["if"], "github.ref == 'refs/heads/main'");
        assert_eq!(jobs["deploy"]["environment"], "production");
        assert_eq!(
            jobs["deploy"]["concurrency"],
            json!({ "group": format!("deploy-quickstart-{}", cloud.word()), "cancel-in-progress": false })
        );
        assert!(scripts(&doc, "test").contains("cargo test --workspace --locked"));
        let package = scripts(&doc, "package");
        assert!(
            package.contains("cargo install --locked --path cli"),
            "{package}"
        );
        assert!(package.contains("python -m pip install"), "{package}");
        assert!(package.contains("'cargo-zigbuild>=0.24.1,<0.25' 'ziglang>=0.17.1,<0.18'"));
        assert!(package.contains(&format!(
            "cargo cloudport package --cloud {} --example quickstart",
            cloud.word()
        )));
        assert!(package.contains("--out dist"));
        let upload = step(&doc, "package", "actions/upload-artifact@");
        let download = step(&doc, "deploy", "actions/download-artifact@");
        assert_eq!(upload["with"]["name"], "deploy-quickstart");
        assert_eq!(download["with"]["name"], upload["with"]["name"]);
        assert_eq!(upload["with"]["if-no-files-found"], "error");
    }
}

#[test]
fn variables_reach_scripts_through_env_never_inline() {
    // GitHub's script-injection advice: `${{ }}` is expanded into the script's text before the
    // shell runs it, so scripts read intermediate environment variables instead.
    for cloud in CLOUDS {
        let doc = doc(&target(cloud));
        for job in ["test", "package", "deploy"] {
            let s = scripts(&doc, job);
            assert!(!s.contains("${{"), "{cloud:?} {job}: {s}");
        }
    }
}

#[test]
fn every_action_is_a_listed_one_pinned_to_a_major_tag() {
    for cloud in CLOUDS {
        let doc = doc(&target(cloud));
        for job in ["test", "package", "deploy"] {
            for s in steps(&doc, job) {
                let Some(uses) = s["uses"].as_str() else {
                    continue;
                };
                assert!(
                    ACTIONS.iter().any(|a| a.uses() == uses),
                    "{uses} is not in ACTIONS"
                );
                let (_, tag) = uses.split_once('@').expect("a ref");
                assert!(
                    tag.strip_prefix('v')
                        .is_some_and(|n| n.chars().all(|c| c.is_ascii_digit())),
                    "{uses}"
                );
            }
        }
    }
}

#[test]
fn aws_assumes_a_role_and_deploys_the_stack() {
    let doc = doc(&target(CiCloud::Aws));
    let creds = step(&doc, "deploy", "aws-actions/configure-aws-credentials@");
    assert_eq!(
        creds["with"],
        json!({
            "role-to-assume": "${{ vars.AWS_DEPLOY_ROLE_ARN }}",
            "aws-region": "${{ vars.AWS_REGION }}"
        })
    );
    assert_eq!(
        doc["jobs"]["deploy"]["env"]["CODE_BUCKET"],
        "${{ vars.CODE_BUCKET }}"
    );
    let s = scripts(&doc, "deploy");
    for expected in [
        "code_key=\"quickstart/function-$(sha256sum dist/function.zip | cut -c1-16).zip\"",
        "aws s3 cp dist/function.zip \"s3://$CODE_BUCKET/$code_key\"",
        "aws cloudformation deploy --template-file dist/template.json --stack-name quickstart",
        "--capabilities CAPABILITY_IAM --no-fail-on-empty-changeset",
        "--parameter-overrides CodeBucket=\"$CODE_BUCKET\" CodeKey=\"$code_key\"",
    ] {
        assert!(s.contains(expected), "missing {expected:?} in\n{s}");
    }
    assert!(scripts(&doc, "package").contains("--stack-name quickstart --out dist"));
    let text = text(CiCloud::Aws);
    assert!(text.contains("repo:<owner>/<repo>:environment:production"));
    assert!(
        text.contains("cost-allocation tag"),
        "the fixture has a budget"
    );
}

#[test]
fn azure_signs_in_by_oidc_and_deploys_template_and_zip() {
    let doc = doc(&target(CiCloud::Azure));
    let login = step(&doc, "deploy", "azure/login@");
    assert_eq!(
        login["with"],
        json!({
            "client-id": "${{ vars.AZURE_CLIENT_ID }}",
            "tenant-id": "${{ vars.AZURE_TENANT_ID }}",
            "subscription-id": "${{ vars.AZURE_SUBSCRIPTION_ID }}"
        })
    );
    let s = scripts(&doc, "deploy");
    for expected in [
        "az deployment group create --resource-group \"$AZURE_RESOURCE_GROUP\"",
        "--template-file dist/template.json",
        "--parameters appName=quickstart budgetStartDate",
        "budgetStartDate=\"$AZURE_BUDGET_START_DATE\"",
        "--query properties.outputs.functionAppName.value --output tsv",
        "az functionapp deployment source config-zip --resource-group \"$AZURE_RESOURCE_GROUP\"",
        "--name \"$FUNCTION_APP\" --src dist/app.zip",
    ] {
        assert!(s.contains(expected), "missing {expected:?} in\n{s}");
    }
    let code = steps(&doc, "deploy").last().expect("a code step");
    assert_eq!(
        code["env"]["FUNCTION_APP"],
        "${{ steps.arm.outputs.function_app }}"
    );
    assert!(steps(&doc, "deploy").iter().any(|s| s["id"] == "arm"));
}

#[test]
fn gcp_federates_pushes_the_image_and_applies_terraform() {
    let doc = doc(&target(CiCloud::Gcp));
    let auth = step(&doc, "deploy", "google-github-actions/auth@");
    assert_eq!(
        auth["with"],
        json!({
            "workload_identity_provider": "${{ vars.GCP_WORKLOAD_IDENTITY_PROVIDER }}",
            "service_account": "${{ vars.GCP_SERVICE_ACCOUNT }}"
        })
    );
    step(&doc, "deploy", "google-github-actions/setup-gcloud@");
    let terraform = step(&doc, "deploy", "hashicorp/setup-terraform@");
    assert_eq!(terraform["with"]["terraform_wrapper"], false);
    let s = scripts(&doc, "deploy");
    for expected in [
        "gcloud auth configure-docker \"$registry\" --quiet",
        "docker build --tag \"$image\" dist",
        "docker push \"$image\"",
        "> dist/backend.tf.json",
        "terraform -chdir=dist init -input=false",
        "-backend-config=\"bucket=$TF_STATE_BUCKET\" -backend-config=\"prefix=cloudport/quickstart\"",
        "terraform -chdir=dist apply -input=false -auto-approve",
        "-var \"project=$GCP_PROJECT\" -var \"region=$GCP_REGION\" -var \"image=$IMAGE\"",
        "-var \"billing_account=$GCP_BILLING_ACCOUNT\"",
    ] {
        assert!(s.contains(expected), "missing {expected:?} in\n{s}");
    }
    let apply = steps(&doc, "deploy").last().expect("an apply step");
    assert_eq!(apply["env"]["IMAGE"], "${{ steps.image.outputs.image }}");
}

#[test]
fn options_change_the_package_and_install_steps() {
    let mut t = target(CiCloud::Aws);
    t.install = Install::Crate {
        version: "0.1.0".into(),
    };
    t.arch = Arch::Arm64;
    t.features = Some("aws otel".into());
    t.public_url = true;
    t.branch = "release".into();
    t.environment = "prod-eu".into();
    let doc = doc(&t);
    let package = scripts(&doc, "package");
    assert!(package.contains("cargo install --locked cargo-cloudport --version 0.1.0"));
    assert!(package.contains("rustup target add aarch64-unknown-linux-gnu"));
    assert!(package.contains(
        "--features 'aws otel' --arch arm64 --stack-name quickstart --public-url --out dist"
    ));
    assert_eq!(doc["on"]["push"]["branches"], json!(["release"]));
    assert_eq!(doc["jobs"]["deploy"]["environment"], "prod-eu");
    assert_eq!(
        doc["jobs"]["deploy"]["if"],
        "github.ref == 'refs/heads/release'"
    );

    let mut bad = target(CiCloud::Gcp);
    bad.name = "two words".into();
    let err = github_workflow(&quickstart(), &bad).expect_err("refused");
    assert!(matches!(err, Error::Usage(_)), "{err}");
    let mut bad = target(CiCloud::Aws);
    bad.name = "under_score".into();
    assert!(matches!(
        github_workflow(&quickstart(), &bad),
        Err(Error::Usage(_))
    ));
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cloudport-ci-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn writes_the_workflow_under_github_workflows_and_refuses_undeclared_apps() {
    let out = scratch("write");
    let path = write_workflow(&out, &quickstart(), &target(CiCloud::Aws)).expect("written");
    assert_eq!(path, out.join(".github/workflows/deploy-quickstart.yml"));
    let written = std::fs::read_to_string(&path).expect("readable");
    assert_eq!(written, text(CiCloud::Aws));
    assert!(written.starts_with("# Generated by cargo-cloudport"));

    let undeclared = describe::parse(
        br#"{"cloudport_description": 1, "sdk_version": "0.1.0", "http": false, "any_event": false,
            "triggers": [{"kind": "queue", "name": "jobs"}], "declared": false,
            "resources": [{"kind": "queue", "name": "jobs", "access": ["consume"],
                           "declaration": "queue(\"jobs\").consume()"}], "limits": {}}"#,
    )
    .expect("parses");
    let err = write_workflow(&out, &undeclared, &target(CiCloud::Aws)).expect_err("refused");
    assert!(matches!(err, Error::Undeclared { .. }), "{err}");
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
#[ignore = "needs the deploy tools: ./scripts/test.sh"]
fn action_validator_and_checkov_accept_every_clouds_workflow() {
    let out = scratch("validate");
    for cloud in CLOUDS {
        let dir = out.join(cloud.word());
        let path = write_workflow(&dir, &quickstart(), &target(cloud)).expect("written");
        action_validator::assert_valid(&path);
        checkov::assert_github_actions_passes(&dir);
        // The check has teeth: the same file with a misspelt key fails.
        let broken = dir.join("broken.yml");
        let text = std::fs::read_to_string(&path).expect("readable");
        std::fs::write(&broken, text.replacen("runs-on:", "runs-onn:", 1)).expect("written");
        assert!(
            !action_validator::validate(&broken).status.success(),
            "{cloud:?}: broken accepted"
        );
    }
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn package_args_give_the_target_and_a_prebuilt_binary_is_refused() {
    use clap::Parser;
    use cloudport_cli::args::{Cli, Command};
    let parse = |line: &str| {
        let Command::Package(args) = Cli::try_parse_from(line.split(' '))
            .expect("parses")
            .command
        else {
            panic!("not package")
        };
        args
    };
    let args = parse(
        "cargo-cloudport package --cloud aws --example quickstart -p app --arch arm64 --public-url --out d",
    );
    let t = CiTarget::from_package_args(CiCloud::Aws, &args, "qs-prod").expect("a target");
    assert_eq!(t.app, AppTarget::Example("quickstart".into()));
    assert_eq!(
        (t.package.as_deref(), t.arch, t.public_url, t.name.as_str()),
        (Some("app"), Arch::Arm64, true, "qs-prod")
    );
    let prebuilt = parse("cargo-cloudport package --cloud aws --prebuilt ./app --out d");
    let err = CiTarget::from_package_args(CiCloud::Aws, &prebuilt, "app").expect_err("refused");
    assert!(
        err.to_string().contains("--ci needs --example or --bin"),
        "{err}"
    );
}

#[test]
fn the_package_job_installs_the_zigbuild_versions_tools_sh_checks() {
    let tools =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/tools.sh"))
            .expect("scripts/tools.sh");
    let line = tools
        .lines()
        .find_map(|l| l.strip_prefix("CLOUDPORT_ZIGBUILD_REQ="))
        .expect("the zigbuild requirement line");
    assert_eq!(
        line.trim_matches('\''),
        cloudport_cli::ci::github::ZIGBUILD_REQUIREMENTS.join(" ")
    );
}
