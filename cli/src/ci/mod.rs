//! CI/CD: a GitHub Actions workflow that tests, packages and deploys the app on every push to
//! the main branch, authenticating to the cloud by OpenID Connect federation — no stored keys.
//!
//! `cargo cloudport package --cloud aws --example quickstart --ci github --out dist` writes
//! `dist/.github/workflows/deploy-quickstart.yml` ([`write_workflow`]); copy it to the
//! repository's `.github/workflows/`. The workflow is a pure function of the app's
//! [`Description`] and a [`CiTarget`] ([`github_workflow`]), in three jobs:
//!
//! 1. **test**: checkout, the Rust toolchain through rustup (preinstalled on GitHub's runners,
//!    so no third-party toolchain action), `cargo test --workspace --locked`;
//! 2. **package**: cargo-cloudport ([`Install`]: `cargo install --locked --path cli` by
//!    default), cargo-zigbuild and ziglang from PyPI, `cargo cloudport package … --out dist`;
//!    `dist` travels to the next job as a tar archive (artifacts drop file modes:
//!    <https://github.com/actions/upload-artifact#permission-loss>);
//! 3. **deploy**: in a GitHub `environment` (its protection rules gate the deploy; its name is
//!    in the OIDC token's subject, which the cloud's trust condition should match), one deploy
//!    at a time (`concurrency`, never cancelled mid-way), `id-token: write` on this job only:
//!    AWS ([`aws`]), Azure ([`azure`]) or Google Cloud ([`gcp`]).
//!
//! Everything account-specific is a repository or environment **variable** (`vars.*`), never a
//! secret: with OIDC there is no credential to store. Variables reach scripts through `env:`,
//! never by `${{ }}` inside a script (GitHub's script-injection advice:
//! <https://docs.github.com/en/actions/security-for-github-actions/security-guides/security-hardening-for-github-actions#using-an-intermediate-environment-variable>).
//!
//! Actions are pinned to a major version tag ([`actions::ACTIONS`]); pinning each to a full
//! commit SHA is stronger (a tag can be moved) — replace `@vN` with `@<sha> # vN` after checking
//! the SHA on the action's release page, and let Dependabot (`package-ecosystem:
//! github-actions`) keep them current.
//!
//! ```
//! use cloudport_cli::build::AppTarget;
//! use cloudport_cli::ci::{CiCloud, CiTarget, github_workflow};
//! let description = cloudport_cli::describe::parse(br#"{
//!     "cloudport_description": 1, "sdk_version": "0.1.0", "http": false, "any_event": false,
//!     "triggers": [{"kind": "queue", "name": "jobs"}], "declared": true,
//!     "resources": [{"kind": "queue", "name": "jobs", "access": ["consume"],
//!                    "declaration": "queue(\"jobs\").consume()"}],
//!     "limits": {}
//! }"#).unwrap();
//! let target = CiTarget::new(CiCloud::Aws, AppTarget::Example("jobs".into()));
//! let yaml = github_workflow(&description, &target).unwrap();
//! assert!(yaml.contains("id-token: write"));
//! assert!(yaml.contains("role-to-assume: \"${{ vars.AWS_DEPLOY_ROLE_ARN }}\""));
//! assert!(!yaml.contains("secrets."));
//! ```

pub mod actions;
pub mod aws;
pub mod azure;
pub mod gcp;
pub mod github;
pub mod yaml;

use std::path::{Path, PathBuf};

use cloudport_core::app::Description;

use crate::args::{Arch, PackageArgs, stack_name_for};
use crate::build::AppTarget;
use crate::{Error, Result, describe};

pub use github::{github_workflow, workflow};

/// The cloud the workflow deploys to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CiCloud {
    /// AWS Lambda with CloudFormation.
    Aws,
    /// Azure Functions with an ARM template.
    Azure,
    /// Google Cloud Run with Terraform.
    Gcp,
}

impl CiCloud {
    /// The `--cloud` word of `cargo cloudport package`.
    ///
    /// ```
    /// assert_eq!(cloudport_cli::ci::CiCloud::Gcp.word(), "gcp");
    /// ```
    pub fn word(self) -> &'static str {
        match self {
            CiCloud::Aws => "aws",
            CiCloud::Azure => "azure",
            CiCloud::Gcp => "gcp",
        }
    }
}

/// How the workflow gets cargo-cloudport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Install {
    /// `cargo install --locked --path <dir>`: the tool's source in the repository (this
    /// repository keeps it in `cli`).
    Path(String),
    /// `cargo install --locked cargo-cloudport --version <version>` from crates.io.
    Crate {
        /// The exact version (default: this cargo-cloudport's).
        version: String,
    },
}

impl Default for Install {
    fn default() -> Self {
        Install::Path("cli".into())
    }
}

impl Install {
    /// From crates.io, at this cargo-cloudport's own version.
    pub fn this_version() -> Self {
        Install::Crate {
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }
}

/// What the workflow builds and where it deploys it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CiTarget {
    /// The cloud.
    pub cloud: CiCloud,
    /// The example or binary to package.
    pub app: AppTarget,
    /// `--package` for the package step.
    pub package: Option<String>,
    /// `--features` for the package step.
    pub features: Option<String>,
    /// The function's architecture (arm64 adds the aarch64 standard library to the runner).
    pub arch: Arch,
    /// AWS: the Function URL is public (`--public-url`).
    pub public_url: bool,
    /// The deployment's name: the workflow file (`deploy-<name>.yml`), the concurrency group,
    /// the artifact, `package --stack-name`, the CloudFormation stack, Azure's `appName`, the
    /// image and the Terraform state prefix. Default: the app's name as a stack name ([`stack_name_for`]).
    pub name: String,
    /// The branch whose pushes deploy (default `main`).
    pub branch: String,
    /// The GitHub environment of the deploy job (default `production`).
    pub environment: String,
    /// The runner image (default `ubuntu-24.04`: a fixed image rather than `ubuntu-latest`,
    /// which moves to a new release under the workflow).
    pub runner: String,
    /// Where cargo-cloudport comes from.
    pub install: Install,
}

impl CiTarget {
    /// Defaults for `app` on `cloud`: x86_64, private URL, branch `main`, environment
    /// `production`, cargo-cloudport from `cli/`.
    pub fn new(cloud: CiCloud, app: AppTarget) -> Self {
        Self {
            cloud,
            name: stack_name_for(app.name()),
            app,
            package: None,
            features: None,
            arch: Arch::X86_64,
            public_url: false,
            branch: "main".into(),
            environment: "production".into(),
            runner: "ubuntu-24.04".into(),
            install: Install::default(),
        }
    }

    /// The target of `cargo cloudport package … --ci github`: the same app, package, features,
    /// architecture and URL choice as the package being made, deployed under `name` (the stack
    /// name packaging uses). A `--prebuilt` binary cannot be rebuilt by the workflow, so it is
    /// refused.
    ///
    /// ```
    /// use clap::Parser;
    /// use cloudport_cli::args::{Cli, Command};
    /// use cloudport_cli::ci::{CiCloud, CiTarget};
    /// let cli = Cli::parse_from(["cargo-cloudport", "package", "--cloud", "aws", "--bin", "api",
    ///     "--features", "aws", "--out", "dist"]);
    /// let Command::Package(args) = cli.command else { unreachable!() };
    /// let t = CiTarget::from_package_args(CiCloud::Aws, &args, "api-prod").unwrap();
    /// assert_eq!((t.name.as_str(), t.features.as_deref()), ("api-prod", Some("aws")));
    /// ```
    pub fn from_package_args(cloud: CiCloud, args: &PackageArgs, name: &str) -> Result<Self> {
        let app = match (&args.example, &args.bin) {
            (Some(e), _) => AppTarget::Example(e.clone()),
            (None, Some(b)) => AppTarget::Bin(b.clone()),
            (None, None) => {
                return Err(Error::Usage(
                    "--ci needs --example or --bin: the workflow builds the app from source, not a --prebuilt binary".into(),
                ));
            }
        };
        let target = Self {
            package: args.package.clone(),
            features: args.features.clone(),
            arch: args.deploy.arch,
            public_url: args.deploy.public_url,
            name: name.to_owned(),
            ..Self::new(cloud, app)
        };
        target.check()?;
        Ok(target)
    }

    /// Checks the names that end up in file names, YAML and shell commands.
    pub fn check(&self) -> Result<()> {
        let name_ok = |s: &str| {
            !s.is_empty()
                && s.len() <= 128
                && s.starts_with(|c: char| c.is_ascii_alphanumeric())
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        };
        for (what, value) in [
            ("the deployment name", self.name.as_str()),
            ("the app", self.app.name()),
            ("the environment", self.environment.as_str()),
            ("the runner", self.runner.as_str()),
        ] {
            if !name_ok(value) {
                return Err(Error::Usage(format!(
                    "{what} {value:?}: use letters, digits, '-', '_' and '.', starting with a letter or digit"
                )));
            }
        }
        if self.branch.is_empty()
            || self
                .branch
                .contains(|c: char| c.is_whitespace() || "~^:?*[\\".contains(c))
        {
            return Err(Error::Usage(format!(
                "the branch {:?} is not a git branch name",
                self.branch
            )));
        }
        Ok(())
    }

    /// The workflow's path in a repository: `.github/workflows/deploy-<name>.yml`.
    ///
    /// ```
    /// use cloudport_cli::{build::AppTarget, ci::{CiCloud, CiTarget}};
    /// let t = CiTarget::new(CiCloud::Aws, AppTarget::Bin("my_app".into()));
    /// assert_eq!(t.workflow_path(), std::path::Path::new(".github/workflows/deploy-my-app.yml"));
    /// ```
    pub fn workflow_path(&self) -> PathBuf {
        Path::new(".github")
            .join("workflows")
            .join(format!("deploy-{}.yml", self.name))
    }
}

/// Writes the workflow to `out/.github/workflows/deploy-<name>.yml` (directories created) and
/// returns its path. Refuses an app that declares no access, as packaging does.
pub fn write_workflow(out: &Path, description: &Description, target: &CiTarget) -> Result<PathBuf> {
    describe::check_declared(description)?;
    let text = github_workflow(description, target)?;
    let path = out.join(target.workflow_path());
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(Error::io(format!("creating {}", dir.display())))?;
    }
    std::fs::write(&path, text).map_err(Error::io(format!("writing {}", path.display())))?;
    Ok(path)
}

/// `s` quoted for a POSIX shell when it has anything but `[A-Za-z0-9_./=:@,+-]`.
///
/// ```
/// assert_eq!(cloudport_cli::ci::shell_quote("quickstart"), "quickstart");
/// assert_eq!(cloudport_cli::ci::shell_quote("a b'c"), r#"'a b'\''c'"#);
/// ```
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./=:@,+-".contains(c))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}
