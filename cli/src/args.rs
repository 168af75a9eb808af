//! The command line: `cargo cloudport package …`, `template`, `cost`, `adr` and `up --local`.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};

/// `cargo cloudport`.
#[derive(Debug, Parser)]
#[command(
    name = "cargo-cloudport",
    bin_name = "cargo cloudport",
    version,
    about = "Package a cloudport app for a cloud: the function archive and a least-privilege template from what the code declares; create its resources on local emulators."
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build the app for the cloud, read its description, check the binary, and write the
    /// package into --out (AWS: function.zip and template.json; Azure: app/, app.zip and
    /// template.json; GCP: the binary, Dockerfile and *.tf.json), description.json and DEPLOY.md.
    Package(PackageArgs),
    /// Write the template of a description read from a file (no build, no archive): the fast way
    /// to look at or lint what `package` would generate.
    Template(TemplateArgs),
    /// Project what a month of the app costs on AWS, Azure and Google Cloud, from list prices.
    Cost(crate::cost::args::CostArgs),
    /// Write the app's architecture decision record (Markdown).
    Adr(crate::cost::args::AdrArgs),
    /// Create every resource the app declares on the local emulators (--local: Azurite; the
    /// Pub/Sub emulator and fake-gcs-server; moto) and print the CLOUDPORT_* bindings that run
    /// it on them.
    Up(crate::up::UpArgs),
}

/// The CI/CD systems `--ci` writes a workflow for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Ci {
    /// GitHub Actions: `.github/workflows/deploy-<name>.yml` (test, package, deploy by OIDC).
    Github,
}

/// The clouds packaging supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Cloud {
    /// AWS Lambda (provided.al2023) with a CloudFormation template.
    Aws,
    /// Google Cloud Run (a container image) with Terraform JSON.
    Gcp,
    /// Azure Functions (Flex Consumption, custom handler) with an ARM template.
    Azure,
}

/// The function's processor architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Arch {
    /// x86_64 (`x86_64-unknown-linux-gnu`).
    #[default]
    #[value(name = "x86_64", alias = "x86-64", alias = "amd64")]
    X86_64,
    /// arm64 / Graviton (`aarch64-unknown-linux-gnu`).
    #[value(name = "arm64", alias = "aarch64")]
    Arm64,
}

impl Arch {
    /// The Rust target triple.
    ///
    /// ```
    /// assert_eq!(cloudport_cli::args::Arch::Arm64.rust_target(), "aarch64-unknown-linux-gnu");
    /// ```
    pub fn rust_target(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64-unknown-linux-gnu",
            Arch::Arm64 => "aarch64-unknown-linux-gnu",
        }
    }

    /// Lambda's name for it (`Architectures`).
    pub fn lambda_name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Arm64 => "arm64",
        }
    }

    /// `std::env::consts::ARCH` of a host of this architecture.
    pub fn host_name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Arm64 => "aarch64",
        }
    }
}

/// `cargo cloudport package`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("app").required(true).args(["example", "bin", "prebuilt"])))]
pub struct PackageArgs {
    /// The cloud to package for.
    #[arg(long, value_enum)]
    pub cloud: Cloud,
    /// Package this example of the package.
    #[arg(long, value_name = "NAME")]
    pub example: Option<String>,
    /// Package this binary of the package.
    #[arg(long, value_name = "NAME")]
    pub bin: Option<String>,
    /// Skip the build and package this already-built Linux binary (it is still described and
    /// checked): for builds made another way, and for tests.
    #[arg(long, value_name = "PATH")]
    pub prebuilt: Option<PathBuf>,
    /// The directory to write into (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// The package that has the example or binary (default: the one that has it).
    #[arg(long, short = 'p', value_name = "PACKAGE")]
    pub package: Option<String>,
    /// Cargo features to build with (default: `aws` when the package has such a feature).
    #[arg(long, short = 'F', value_name = "FEATURES")]
    pub features: Option<String>,
    /// How to deploy it.
    #[command(flatten)]
    pub deploy: DeployArgs,
    /// Also write a CI/CD workflow that tests, packages and deploys the app on pushes to main
    /// (into DIR/.github/workflows/; copy it into the repository).
    #[arg(long, value_enum, value_name = "SYSTEM", conflicts_with = "prebuilt")]
    pub ci: Option<Ci>,
}

/// `cargo cloudport template`.
#[derive(Debug, Args)]
pub struct TemplateArgs {
    /// The cloud to generate for.
    #[arg(long, value_enum)]
    pub cloud: Cloud,
    /// The description (what `CLOUDPORT_DESCRIBE=1 ./app` prints); `-` reads standard input.
    #[arg(long, value_name = "FILE")]
    pub description: PathBuf,
    /// Where to write the template (default: standard output).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// How to deploy it.
    #[command(flatten)]
    pub deploy: DeployArgs,
}

/// Deployment choices shared by `package` and `template`.
#[derive(Debug, Clone, Args)]
pub struct DeployArgs {
    /// The function's architecture.
    #[arg(long, value_enum, default_value_t = Arch::X86_64)]
    pub arch: Arch,
    /// The CloudFormation stack name the deploy commands use (default: the app's name). Schedule
    /// rules are named `<stack>-<schedule>`, checked against EventBridge's 64 characters.
    #[arg(long, value_name = "NAME")]
    pub stack_name: Option<String>,
    /// Make the Function URL public (auth type NONE) instead of requiring signed (IAM) requests.
    #[arg(long)]
    pub public_url: bool,
}

/// The arguments without the subcommand name cargo passes: `cargo cloudport package …` runs
/// `cargo-cloudport cloudport package …`; run directly, the binary gets `package …`.
///
/// ```
/// use cloudport_cli::args::normalize;
/// let args = |v: &[&str]| v.iter().map(|s| s.into()).collect::<Vec<std::ffi::OsString>>();
/// assert_eq!(normalize(args(&["cargo-cloudport", "cloudport", "package"])), args(&["cargo-cloudport", "package"]));
/// assert_eq!(normalize(args(&["cargo-cloudport", "package"])), args(&["cargo-cloudport", "package"]));
/// ```
pub fn normalize(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    let mut args: Vec<OsString> = args.into_iter().collect();
    if args.get(1).is_some_and(|a| a == "cloudport") {
        args.remove(1);
    }
    args
}

/// A CloudFormation stack name made from an app's name: letters, digits and `-`, starting with a
/// letter, at most 128 characters.
///
/// ```
/// assert_eq!(cloudport_cli::args::stack_name_for("my_app"), "my-app");
/// assert_eq!(cloudport_cli::args::stack_name_for("9lives"), "app-9lives");
/// ```
pub fn stack_name_for(app: &str) -> String {
    let mut name: String = app
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        name = format!("app-{name}");
    }
    name.truncate(128);
    name
}

/// Whether `name` is a valid CloudFormation stack name.
///
/// ```
/// assert!(cloudport_cli::args::valid_stack_name("quickstart-prod"));
/// assert!(!cloudport_cli::args::valid_stack_name("quick_start"));
/// ```
pub fn valid_stack_name(name: &str) -> bool {
    (1..=128).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_package_with_and_without_the_cargo_subcommand_name() {
        for argv in [
            &[
                "cargo-cloudport",
                "cloudport",
                "package",
                "--cloud",
                "aws",
                "--example",
                "quickstart",
                "--out",
                "/tmp/qs",
            ][..],
            &[
                "cargo-cloudport",
                "package",
                "--cloud",
                "aws",
                "--example",
                "quickstart",
                "--out",
                "/tmp/qs",
            ][..],
        ] {
            let cli =
                Cli::try_parse_from(normalize(argv.iter().map(OsString::from))).expect("parses");
            let Command::Package(p) = cli.command else {
                panic!("not package")
            };
            assert_eq!(p.example.as_deref(), Some("quickstart"));
            assert_eq!(p.deploy.arch, Arch::X86_64);
            assert!(!p.deploy.public_url);
        }
    }

    #[test]
    fn needs_exactly_one_app() {
        let none = ["cargo-cloudport", "package", "--cloud", "aws", "--out", "d"];
        assert!(Cli::try_parse_from(none).is_err());
        let args = |line: &'static str| line.split(' ');
        let two = args("cargo-cloudport package --cloud aws --out d --bin a --example b");
        assert!(Cli::try_parse_from(two).is_err());
        let arm = args("cargo-cloudport package --cloud aws --out d --bin a --arch arm64");
        let Command::Package(p) = Cli::try_parse_from(arm).expect("parses").command else {
            panic!("not package")
        };
        assert_eq!(p.deploy.arch, Arch::Arm64);
    }
}
