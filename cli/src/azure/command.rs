//! `cargo cloudport package --cloud azure`: the build and checks of a Functions package, around
//! [`write_package`](super::write_package).

use crate::args::{Arch, DeployArgs, PackageArgs, stack_name_for};
use crate::elf::{self, GlibcVersion, LAMBDA_AL2023_GLIBC};
use crate::package::{build_and_describe, write_ci};
use crate::{Error, Result};

use super::{AzureOptions, ROUTE_PREFIX_VAR};

/// What `package --cloud azure` wrote.
#[derive(Debug)]
pub struct AzurePackaged {
    /// The output directory.
    pub out: std::path::PathBuf,
    /// The deploy commands.
    pub commands: String,
    /// The budget note, when the app has a budget.
    pub budget_note: Option<String>,
    /// The CI/CD workflow written (`--ci`).
    pub workflow: Option<std::path::PathBuf>,
}

/// The options of `deploy` for an app named `app_name`: `--stack-name` (lower-cased) names the
/// app; the route prefix is `CLOUDPORT_AZURE_ROUTE_PREFIX`, else `api`.
///
/// ```
/// use clap::Parser;
/// let cli = cloudport_cli::args::Cli::parse_from(["cargo-cloudport", "template", "--cloud", "azure", "--description", "d.json"]);
/// let cloudport_cli::args::Command::Template(t) = cli.command else { unreachable!() };
/// let o = cloudport_cli::azure::command::options(&t.deploy, "quickstart").unwrap();
/// assert_eq!(o.app_name, "quickstart");
/// ```
pub fn options(deploy: &DeployArgs, app_name: &str) -> Result<AzureOptions> {
    let name = deploy
        .stack_name
        .clone()
        .unwrap_or_else(|| stack_name_for(app_name))
        .to_ascii_lowercase();
    let mut options = AzureOptions::new(name);
    if let Ok(prefix) = std::env::var(ROUTE_PREFIX_VAR) {
        options.route_prefix = prefix;
    }
    options.check()?;
    Ok(options)
}

/// Builds (unless `--prebuilt`) with the `azure` feature against glibc 2.34, describes, checks
/// and writes the package.
pub fn package(args: &PackageArgs) -> Result<AzurePackaged> {
    if args.deploy.arch != Arch::X86_64 {
        return Err(Error::Usage(
            "Flex Consumption runs Linux x64: package for Azure with --arch x86_64".into(),
        ));
    }
    let built = build_and_describe(args, "azure")?;
    let options = options(&args.deploy, &built.app_name)?;
    let max = GlibcVersion::new(LAMBDA_AL2023_GLIBC.0, LAMBDA_AL2023_GLIBC.1);
    elf::check_glibc(&built.binary, &max)?;
    let (commands, budget_note) =
        super::write_package(&args.out, &built.binary, &built.description, &options)?;
    let workflow = write_ci(
        args,
        crate::ci::CiCloud::Azure,
        &built.description,
        &options.app_name,
    )?;
    Ok(AzurePackaged {
        out: args.out.clone(),
        commands,
        budget_note,
        workflow,
    })
}
