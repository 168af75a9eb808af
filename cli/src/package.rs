//! The commands: `package` (build, describe, check, archive, template, instructions) and
//! `template` (a description file to a template).

use std::io::Read;
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
        Command::Package(args) => package(&args).map(|p| print_package(&p)),
        Command::Template(args) => template_command(&args),
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

/// Builds (unless `--prebuilt`), describes, checks and writes the package.
pub fn package(args: &PackageArgs) -> Result<Packaged> {
    let Cloud::Aws = args.cloud;
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
            let build = build::resolve(app, args.package.as_deref(), args.features.as_deref())?;
            let lambda = build::lambda_build(&build, arch)?;
            let describe_binary = if arch.host_name() == std::env::consts::ARCH {
                lambda.clone()
            } else {
                build::host_build(&build)?
            };
            (lambda, describe_binary, build.app.name().to_owned())
        }
    };
    let options = options(&args.deploy, &app_name)?;
    elf::check_machine(&binary, arch)?;
    let description = describe::run(&describe_binary)?;
    describe::check_declared(&description)?;
    let max = GlibcVersion::new(LAMBDA_AL2023_GLIBC.0, LAMBDA_AL2023_GLIBC.1);
    let glibc = elf::check_glibc(&binary, &max)?;
    write_package(&args.out, &binary, &description, &options).map(|(commands, note)| Packaged {
        out: args.out.clone(),
        stack_name: options.stack_name.clone(),
        glibc,
        commands,
        budget_note: note,
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
}

/// `cargo cloudport template`: a description file (or standard input) to a template.
#[allow(clippy::print_stdout)]
pub fn template_command(args: &TemplateArgs) -> Result<()> {
    let Cloud::Aws = args.cloud;
    let json = if args.description.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(Error::io("reading the description from standard input"))?;
        buf
    } else {
        std::fs::read(&args.description)
            .map_err(Error::io(format!("reading {}", args.description.display())))?
    };
    let description = describe::parse(&json)?;
    describe::check_declared(&description)?;
    let options = options(&args.deploy, "cloudport-app")?;
    let template = template(&description, &options)?;
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
