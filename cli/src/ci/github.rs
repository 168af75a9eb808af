//! The workflow's frame: triggers, the test and package jobs, the deploy job's head (environment,
//! concurrency, OIDC permission, the artifact), and the actions it uses. The clouds' modules add
//! the deploy steps.

use cloudport_core::app::Description;

pub use super::actions::Action;
use super::actions::{CACHE, CHECKOUT, DOWNLOAD_ARTIFACT, SETUP_PYTHON, UPLOAD_ARTIFACT};
use super::yaml::Yaml;
use super::{CiCloud, CiTarget, Install, aws, azure, gcp, shell_quote};
use crate::Result;
use crate::args::Arch;

/// cargo-zigbuild and zig for the package job, the versions `scripts/tools.sh` checks.
pub const ZIGBUILD_REQUIREMENTS: [&str; 2] =
    ["cargo-zigbuild>=0.24.1,<0.25", "ziglang>=0.17.1,<0.18"];

/// What a cloud adds to the deploy job.
#[derive(Debug, Clone, Default)]
pub struct Deploy {
    /// The job's environment variables (the `vars.*` the steps read).
    pub env: Vec<(String, Yaml)>,
    /// The steps after the package is unpacked into `dist/`.
    pub steps: Vec<Yaml>,
    /// The one-time setup, as comment lines at the top of the file.
    pub setup: Vec<String>,
}

/// `${{ vars.NAME }}`.
pub fn var(name: &str) -> Yaml {
    Yaml::Str(format!("${{{{ vars.{name} }}}}"))
}

/// A step that runs `script` (with `env`, when not empty).
pub fn run_step(name: &str, script: &str, env: Vec<(&str, Yaml)>) -> Yaml {
    let mut step = vec![("name".to_owned(), Yaml::from(name))];
    if !env.is_empty() {
        step.push(("env".into(), Yaml::map(env)));
    }
    step.push(("run".into(), Yaml::block(script)));
    Yaml::Map(step)
}

/// A step that uses `action` (with `with`, when not empty).
pub fn uses_step(name: &str, action: Action, with: Vec<(&str, Yaml)>) -> Yaml {
    let mut step = vec![
        ("name".to_owned(), Yaml::from(name)),
        ("uses".to_owned(), Yaml::Str(action.uses())),
    ];
    if !with.is_empty() {
        step.push(("with".into(), Yaml::map(with)));
    }
    Yaml::Map(step)
}

/// `step` with an `id` (its outputs are then `steps.<id>.outputs.*`), after its name.
pub fn with_id(step: Yaml, id: &str) -> Yaml {
    match step {
        Yaml::Map(mut entries) => {
            let at = entries.len().min(1);
            entries.insert(at, ("id".into(), id.into()));
            Yaml::Map(entries)
        }
        other => other,
    }
}

fn toolchain(arch: Arch) -> Yaml {
    let mut script = String::from(
        "rustup toolchain install stable --profile minimal --no-self-update\nrustup default stable\n",
    );
    if arch == Arch::Arm64 {
        script.push_str(&format!("rustup target add {}\n", arch.rust_target()));
    }
    run_step(
        "Rust toolchain (rustup; a rust-toolchain.toml wins)",
        &script,
        vec![],
    )
}

fn checkout() -> Yaml {
    uses_step(
        "checkout",
        CHECKOUT,
        vec![("persist-credentials", false.into())],
    )
}

fn cache(job: &str) -> Yaml {
    uses_step(
        "cargo cache",
        CACHE,
        vec![
            (
                "path",
                Yaml::block("~/.cargo/registry\n~/.cargo/git\ntarget\n"),
            ),
            (
                "key",
                Yaml::Str(format!(
                    "cargo-{job}-${{{{ runner.os }}}}-${{{{ hashFiles('**/Cargo.lock') }}}}"
                )),
            ),
            (
                "restore-keys",
                Yaml::Str(format!("cargo-{job}-${{{{ runner.os }}}}-")),
            ),
        ],
    )
}

/// The `cargo cloudport package` command line the package job runs.
///
/// ```
/// use cloudport_cli::{build::AppTarget, ci::{CiCloud, CiTarget, github::package_command}};
/// let t = CiTarget::new(CiCloud::Aws, AppTarget::Example("quickstart".into()));
/// assert_eq!(package_command(&t),
///     "cargo cloudport package --cloud aws --example quickstart --stack-name quickstart --out dist");
/// ```
pub fn package_command(t: &CiTarget) -> String {
    let mut words = vec![
        "cargo cloudport package --cloud".to_owned(),
        t.cloud.word().to_owned(),
        format!("--{}", t.app.kind()),
        shell_quote(t.app.name()),
    ];
    if let Some(p) = &t.package {
        words.extend(["--package".into(), shell_quote(p)]);
    }
    if let Some(f) = &t.features {
        words.extend(["--features".into(), shell_quote(f)]);
    }
    if t.arch != Arch::X86_64 {
        words.extend(["--arch".into(), t.arch.lambda_name().into()]);
    }
    // The deployment name packaging bakes in (schedule rule names, resource prefixes) is the
    // one the deploy step uses.
    words.extend(["--stack-name".into(), shell_quote(&t.name)]);
    if t.cloud == CiCloud::Aws && t.public_url {
        words.push("--public-url".into());
    }
    words.extend(["--out".into(), "dist".into()]);
    words.join(" ")
}

fn install_command(install: &Install) -> String {
    match install {
        Install::Path(path) => format!("cargo install --locked --path {}", shell_quote(path)),
        Install::Crate { version } => format!(
            "cargo install --locked cargo-cloudport --version {}",
            shell_quote(version)
        ),
    }
}

fn artifact(t: &CiTarget) -> String {
    format!("deploy-{}", t.name)
}

fn test_job(t: &CiTarget) -> Yaml {
    Yaml::map([
        ("name", "test".into()),
        ("runs-on", t.runner.as_str().into()),
        ("timeout-minutes", 60i64.into()),
        (
            "steps",
            Yaml::Seq(vec![
                checkout(),
                toolchain(Arch::X86_64),
                cache("test"),
                run_step("cargo test", "cargo test --workspace --locked\n", vec![]),
            ]),
        ),
    ])
}

fn package_job(t: &CiTarget) -> Yaml {
    let pip = format!(
        "python -m pip install --disable-pip-version-check --no-input {}\n",
        ZIGBUILD_REQUIREMENTS.map(shell_quote).join(" ")
    );
    Yaml::map([
        ("name", "package".into()),
        ("needs", "test".into()),
        ("runs-on", t.runner.as_str().into()),
        ("timeout-minutes", 60i64.into()),
        (
            "steps",
            Yaml::Seq(vec![
                checkout(),
                toolchain(t.arch),
                cache("package"),
                uses_step(
                    "Python (for cargo-zigbuild and zig)",
                    SETUP_PYTHON,
                    vec![("python-version", "3.12".into())],
                ),
                run_step("cargo-zigbuild and zig (PyPI)", &pip, vec![]),
                run_step(
                    "cargo-cloudport",
                    &format!("{}\n", install_command(&t.install)),
                    vec![],
                ),
                run_step("package", &format!("{}\n", package_command(t)), vec![]),
                run_step(
                    "archive dist (an artifact would drop the file modes)",
                    "tar -cf dist.tar dist\n",
                    vec![],
                ),
                uses_step(
                    "upload the package",
                    UPLOAD_ARTIFACT,
                    vec![
                        ("name", Yaml::Str(artifact(t))),
                        ("path", "dist.tar".into()),
                        ("if-no-files-found", "error".into()),
                        ("retention-days", 7i64.into()),
                    ],
                ),
            ]),
        ),
    ])
}

fn deploy_job(t: &CiTarget, deploy: Deploy) -> Yaml {
    let mut steps = vec![
        uses_step(
            "download the package",
            DOWNLOAD_ARTIFACT,
            vec![("name", Yaml::Str(artifact(t)))],
        ),
        run_step("unpack", "tar -xf dist.tar\n", vec![]),
    ];
    steps.extend(deploy.steps);
    let mut job = vec![
        ("name".to_owned(), Yaml::from("deploy")),
        ("needs".to_owned(), "package".into()),
        (
            "if".to_owned(),
            Yaml::Str(format!("github.ref == 'refs/heads/{}'", t.branch)),
        ),
        ("runs-on".to_owned(), t.runner.as_str().into()),
        ("timeout-minutes".to_owned(), 30i64.into()),
        ("environment".to_owned(), t.environment.as_str().into()),
        (
            "concurrency".to_owned(),
            Yaml::map([
                (
                    "group",
                    Yaml::Str(format!("deploy-{}-{}", t.name, t.cloud.word())),
                ),
                ("cancel-in-progress", false.into()),
            ]),
        ),
        (
            "permissions".to_owned(),
            Yaml::map([("id-token", "write".into()), ("contents", "read".into())]),
        ),
    ];
    if !deploy.env.is_empty() {
        job.push(("env".into(), Yaml::Map(deploy.env)));
    }
    job.push(("steps".into(), Yaml::Seq(steps)));
    Yaml::Map(job)
}

fn cloud_deploy(description: &Description, t: &CiTarget) -> Result<Deploy> {
    match t.cloud {
        CiCloud::Aws => aws::deploy(description, t),
        CiCloud::Azure => azure::deploy(description, t),
        CiCloud::Gcp => gcp::deploy(description, t),
    }
}

/// The workflow as a document (for tests that check structure) and its setup comment lines.
pub fn workflow(description: &Description, t: &CiTarget) -> Result<(Yaml, Vec<String>)> {
    t.check()?;
    let mut deploy = cloud_deploy(description, t)?;
    let setup = std::mem::take(&mut deploy.setup);
    let doc = Yaml::map([
        (
            "name",
            Yaml::Str(format!("deploy {} ({})", t.name, t.cloud.word())),
        ),
        (
            "on",
            Yaml::map([
                (
                    "push",
                    Yaml::map([("branches", Yaml::seq([t.branch.as_str()]))]),
                ),
                ("workflow_dispatch", Yaml::Null),
            ]),
        ),
        ("permissions", Yaml::map([("contents", "read".into())])),
        (
            "defaults",
            Yaml::map([("run", Yaml::map([("shell", "bash".into())]))]),
        ),
        (
            "jobs",
            Yaml::map([
                ("test", test_job(t)),
                ("package", package_job(t)),
                ("deploy", deploy_job(t, deploy)),
            ]),
        ),
    ]);
    Ok((doc, setup))
}

/// The text of `.github/workflows/deploy-<name>.yml`: a header saying where it comes from and
/// the one-time setup, then the workflow.
pub fn github_workflow(description: &Description, t: &CiTarget) -> Result<String> {
    let (doc, setup) = workflow(description, t)?;
    let mut text = format!(
        "# Generated by cargo-cloudport {} from the app's description; regenerate it rather than\n\
         # edit it: cargo cloudport package --cloud {} --{} {} --ci github --out DIR\n\
         #\n\
         # test -> package -> deploy on every push to {}; the deploy job runs in the GitHub\n\
         # environment {:?} (add protection rules there) and authenticates by OIDC: no stored keys.\n\
         # Actions are pinned to major tags; pin them to commit SHAs for a stronger guarantee.\n\
         #\n",
        env!("CARGO_PKG_VERSION"),
        t.cloud.word(),
        t.app.kind(),
        t.app.name(),
        t.branch,
        t.environment,
    );
    for line in setup {
        text.push_str(if line.is_empty() { "#" } else { "# " });
        text.push_str(&line);
        text.push('\n');
    }
    text.push('\n');
    text.push_str(&doc.to_string());
    Ok(text)
}
