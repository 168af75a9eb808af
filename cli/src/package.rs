//! The commands: `package` (build, describe, check, archive, template, instructions) and
//! `template` (a description file to a template).

use std::path::{Path, PathBuf};

use cloudport_core::app::Description;

use crate::args::{
    Cli, Cloud, Command, DeployArgs, PackageArgs, TemplateArgs, stack_name_for, valid_stack_name,
};
use crate::aws::deploy::{DeployInfo, budget_note, commands, markdown};
use crate::aws::{AwsOptions, template};
use crate::build::{self, AppTarget};
use crate::elf::{GlibcVersion, LAMBDA_AL2023_GLIBC};
use crate::{Error, Result, archive, describe, elf};

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Package(args) => match args.cloud {
            Cloud::Aws => package(&args).map(|p| print_package(&p)),
            Cloud::Gcp => crate::gcp::package::package(&args).map(|p| print_gcp(&p)),
            Cloud::Azure => crate::azure::command::package(&args).map(|p| print_azure(&p)),
        },
        Command::Template(args) => template_command(&args),
        Command::Cost(args) => crate::cost::args::cost_command(&args),
        Command::Adr(args) => crate::cost::args::adr_command(&args),
        Command::Up(args) => crate::up::command(&args).map_err(|e| Error::Local(Box::new(e))),
    }
}

/// What `package` wrote.
#[derive(Debug)]
pub struct Packaged {
    /// The output directory.
    pub out: PathBuf,
    /// The stack name the instructions use.
    pub stack_name: String,
    /// The newest glibc the binary needs.
    pub glibc: Option<GlibcVersion>,
    /// The deploy commands.
    pub commands: String,
    /// The budget note, when the app has a budget.
    pub budget_note: Option<String>,
    /// The CI/CD workflow written (`--ci`).
    pub workflow: Option<PathBuf>,
}

fn options(deploy: &DeployArgs, app_name: &str) -> Result<AwsOptions> {
    let stack_name = match &deploy.stack_name {
        Some(s) if valid_stack_name(s) => s.clone(),
        Some(s) => {
            return Err(Error::Usage(format!(
                "--stack-name {s:?}: a CloudFormation stack name is 1-128 letters, digits and '-', starting with a letter"
            )));
        }
        None => stack_name_for(app_name),
    };
    Ok(AwsOptions {
        arch: deploy.arch,
        public_url: deploy.public_url,
        stack_name,
    })
}

/// The app's binary, built for a Linux cloud (or `--prebuilt`), and its description.
pub struct Built {
    /// The binary to ship.
    pub binary: PathBuf,
    /// Its description (`CLOUDPORT_DESCRIBE=1`), declared.
    pub description: Description,
    /// The app's name (the example's or binary's).
    pub app_name: String,
}

/// Builds the app of `args` with `cargo zigbuild --release` against glibc 2.34 (unless `--prebuilt`; every cloud's build, ADR 0011), with the cloud's cargo feature
/// `default_feature` unless `--features` is given, checks its architecture, and reads its
/// description (refusing an app that declares no access).
pub fn build_and_describe(args: &PackageArgs, default_feature: &str) -> Result<Built> {
    let arch = args.deploy.arch;
    let (binary, describe_binary, app_name) = match (&args.prebuilt, &args.example, &args.bin) {
        (Some(path), _, _) => {
            let name = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "app".into());
            if arch.host_name() != std::env::consts::ARCH {
                return Err(Error::Usage(format!(
                    "a prebuilt {} binary cannot run on this {} machine to print its description; package it with --example/--bin, or write the template with `cargo cloudport template --description`",
                    arch.lambda_name(),
                    std::env::consts::ARCH
                )));
            }
            (path.clone(), path.clone(), name)
        }
        (None, example, bin) => {
            let app = match (example, bin) {
                (Some(e), _) => AppTarget::Example(e.clone()),
                (None, Some(b)) => AppTarget::Bin(b.clone()),
                (None, None) => {
                    return Err(Error::Usage("give --example, --bin or --prebuilt".into()));
                }
            };
            let build = build::resolve_for(
                app,
                args.package.as_deref(),
                args.features.as_deref(),
                default_feature,
            )?;
            let cloud_binary = build::zig_build(&build, arch)?;
            let describe_binary = if arch.host_name() == std::env::consts::ARCH {
                cloud_binary.clone()
            } else {
                build::host_build(&build)?
            };
            (cloud_binary, describe_binary, build.app.name().to_owned())
        }
    };
    elf::check_machine(&binary, arch)?;
    let description = describe::run(&describe_binary)?;
    describe::check_declared(&description)?;
    if let Some(note) = describe::unwired(&description) {
        eprintln!("cloudport: note: {note}");
    }
    Ok(Built {
        binary,
        description,
        app_name,
    })
}

/// `--ci`: the workflow for `cloud`, into `args.out`.
pub fn write_ci(
    args: &PackageArgs,
    cloud: crate::ci::CiCloud,
    description: &Description,
    name: &str,
) -> Result<Option<PathBuf>> {
    match args.ci {
        Some(crate::args::Ci::Github) => {
            let target = crate::ci::CiTarget::from_package_args(cloud, args, name)?;
            crate::ci::write_workflow(&args.out, description, &target).map(Some)
        }
        None => Ok(None),
    }
}

/// `--cloud aws`: builds (unless `--prebuilt`), describes, checks and writes the package.
pub fn package(args: &PackageArgs) -> Result<Packaged> {
    let built = build_and_describe(args, "aws")?;
    let options = options(&args.deploy, &built.app_name)?;
    let max = GlibcVersion::new(LAMBDA_AL2023_GLIBC.0, LAMBDA_AL2023_GLIBC.1);
    let glibc = elf::check_glibc(&built.binary, &max)?;
    let (commands, note) = write_package(&args.out, &built.binary, &built.description, &options)?;
    let workflow = write_ci(
        args,
        crate::ci::CiCloud::Aws,
        &built.description,
        &options.stack_name,
    )?;
    Ok(Packaged {
        out: args.out.clone(),
        stack_name: options.stack_name.clone(),
        glibc,
        commands,
        budget_note: note,
        workflow,
    })
}

/// Writes `function.zip`, `template.json`, `description.json` and `DEPLOY.md` into `out`;
/// returns the deploy commands and the budget note.
pub fn write_package(
    out: &Path,
    binary: &Path,
    description: &Description,
    options: &AwsOptions,
) -> Result<(String, Option<String>)> {
    let template = template(description, options)?;
    std::fs::create_dir_all(out).map_err(Error::io(format!("creating {}", out.display())))?;
    let zip = out.join("function.zip");
    archive::write_lambda_zip(binary, &zip)?;
    let digest = {
        use sha2::Digest;
        let bytes = std::fs::read(&zip).map_err(Error::io(format!("reading {}", zip.display())))?;
        let hash = sha2::Sha256::digest(&bytes);
        hash.iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let code_key = format!("{}/function-{digest}.zip", options.stack_name);
    write_json(&out.join("template.json"), &template)?;
    let described = serde_json::to_value(description)
        .map_err(|e| Error::Description(format!("re-serialising: {e}")))?;
    write_json(&out.join("description.json"), &described)?;
    let info = DeployInfo {
        stack_name: &options.stack_name,
        code_key: &code_key,
        description,
        public_url: options.public_url,
    };
    let md = out.join("DEPLOY.md");
    std::fs::write(&md, markdown(&info)).map_err(Error::io(format!("writing {}", md.display())))?;
    Ok((
        commands(&info),
        description
            .budget
            .as_ref()
            .map(|_| budget_note(&options.stack_name)),
    ))
}

fn write_json(path: &Path, value: &serde_json::Value) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value)
        .map_err(|e| Error::Description(format!("serialising {}: {e}", path.display())))?;
    text.push('\n');
    std::fs::write(path, text).map_err(Error::io(format!("writing {}", path.display())))
}

#[allow(clippy::print_stdout)]
fn print_package(p: &Packaged) {
    println!(
        "Packaged into {} (glibc needed: {}).\n\nDeploy (from {}):\n\n{}",
        p.out.display(),
        p.glibc
            .as_ref()
            .map_or_else(|| "none".to_owned(), |v| format!("{v} ≤ 2.34")),
        p.out.display(),
        p.commands
    );
    if let Some(note) = &p.budget_note {
        println!("{note}");
    }
    print_workflow(p.workflow.as_deref());
}

#[allow(clippy::print_stdout)]
fn print_workflow(workflow: Option<&Path>) {
    if let Some(path) = workflow {
        println!(
            "Workflow: {} (copy it to .github/workflows/; the one-time setup is in its header)",
            path.display()
        );
    }
}

#[allow(clippy::print_stdout)]
fn print_azure(p: &crate::azure::command::AzurePackaged) {
    print_written(
        &p.out,
        &p.commands,
        p.budget_note.as_deref(),
        p.workflow.as_deref(),
    );
}

fn print_gcp(p: &crate::gcp::package::GcpPackaged) {
    let out = &p.packaged.out;
    print_written(out, &p.packaged.commands, None, p.workflow.as_deref());
}

/// Where the package went, its deploy commands, the budget note and the workflow.
#[allow(clippy::print_stdout)]
fn print_written(out: &Path, commands: &str, note: Option<&str>, workflow: Option<&Path>) {
    println!(
        "Packaged into {}.\n\nDeploy (from {}):\n\n{commands}",
        out.display(),
        out.display()
    );
    if let Some(note) = note {
        println!("{note}");
    }
    print_workflow(workflow);
}

/// `cargo cloudport template`: a description file (or standard input) to a template.
#[allow(clippy::print_stdout)]
pub fn template_command(args: &TemplateArgs) -> Result<()> {
    let description = describe::read_file(&args.description)?;
    describe::check_declared(&description)?;
    if let Some(note) = describe::unwired(&description) {
        eprintln!("cloudport: note: {note}");
    }
    let template = match args.cloud {
        Cloud::Aws => template(&description, &options(&args.deploy, "cloudport-app")?)?,
        Cloud::Gcp => {
            let options = crate::gcp::package::options(&args.deploy, "cloudport-app")?;
            crate::gcp::terraform(&description, &options)?.main
        }
        Cloud::Azure => {
            let options = crate::azure::command::options(&args.deploy, "cloudport-app")?;
            crate::azure::template(&description, &options)?
        }
    };
    match &args.out {
        Some(path) => write_json(path, &template),
        None => {
            let text = serde_json::to_string_pretty(&template)
                .map_err(|e| Error::Description(e.to_string()))?;
            println!("{text}");
            Ok(())
        }
    }
}
