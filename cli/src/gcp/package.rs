//! `cargo cloudport package --cloud gcp`: the build and checks of a Cloud Run package, around
//! [`write_package`](super::write_package).

use crate::args::{Arch, DeployArgs, PackageArgs};
use crate::elf::{self, GlibcVersion};
use crate::package::{build_and_describe, write_ci};
use crate::{Error, Result};

use super::{GcpOptions, IMAGE_GLIBC, Packaged, dockerfile, names};

/// What `package --cloud gcp` wrote.
#[derive(Debug)]
pub struct GcpPackaged {
    /// The package.
    pub packaged: Packaged,
    /// The CI/CD workflow written (`--ci`).
    pub workflow: Option<std::path::PathBuf>,
}

/// The service options of `deploy` for an app named `app_name`: `--stack-name` is the service's
/// name (checked), `--public-url` makes it public.
///
/// ```
/// use clap::Parser;
/// let cli = cloudport_cli::args::Cli::parse_from(["cargo-cloudport", "template", "--cloud", "gcp", "--description", "d.json"]);
/// let cloudport_cli::args::Command::Template(t) = cli.command else { unreachable!() };
/// let o = cloudport_cli::gcp::package::options(&t.deploy, "quickstart").unwrap();
/// assert_eq!(o.service_name, "quickstart");
/// ```
pub fn options(deploy: &DeployArgs, app_name: &str) -> Result<GcpOptions> {
    let service_name = deploy
        .stack_name
        .clone()
        .unwrap_or_else(|| names::service_name_for(app_name));
    names::check_service_name(&service_name)?;
    Ok(GcpOptions {
        service_name,
        public: deploy.public_url,
    })
}

/// Builds (unless `--prebuilt`) with the `gcp` feature with `cargo zigbuild` against glibc 2.34
/// (as for Lambda: the provider links no OpenSSL), describes, checks that the binary runs on the
/// image (glibc ≤ 2.36, only the image's shared libraries) and writes the package.
pub fn package(args: &PackageArgs) -> Result<GcpPackaged> {
    if args.deploy.arch != Arch::X86_64 {
        return Err(Error::Usage(
            "Cloud Run runs linux/amd64 images: package for GCP with --arch x86_64".into(),
        ));
    }
    // Built against glibc 2.34 (the Lambda build); checked against the image's 2.36, which also
    // covers a `--prebuilt` binary built elsewhere.
    let built = build_and_describe(args, "gcp")?;
    let options = options(&args.deploy, &built.app_name)?;
    let (major, minor) = IMAGE_GLIBC;
    elf::check_glibc(&built.binary, &GlibcVersion::new(major, minor))?;
    dockerfile::check_libraries(&built.binary)?;
    let packaged = super::write_package(&args.out, &built.binary, &built.description, &options)?;
    let workflow = write_ci(
        args,
        crate::ci::CiCloud::Gcp,
        &built.description,
        &options.service_name,
    )?;
    Ok(GcpPackaged { packaged, workflow })
}
