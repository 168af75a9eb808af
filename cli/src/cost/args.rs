//! The command lines of `cargo cloudport cost` and `cargo cloudport adr`, and what they run: the
//! app's description (from a file, or a host build of an example or binary run with
//! `CLOUDPORT_DESCRIBE=1`), the projection, the decision record.

use std::path::{Path, PathBuf};

use clap::{ArgGroup, Args, ValueEnum};
use cloudport_core::app::Description;

use super::{Cloud, Estimate, Usage, estimate, render};
use crate::args::Arch;
use crate::build::{self, AppTarget};
use crate::{Error, Result, describe};

/// Which app: `--example`, `--bin` (built for this machine and described) or `--description`.
#[derive(Debug, Clone, Args)]
#[command(group(ArgGroup::new("app").required(true).args(["example", "bin", "description"])))]
pub struct AppArgs {
    /// This example of the package (built for this machine with `cargo build`).
    #[arg(long, value_name = "NAME")]
    pub example: Option<String>,
    /// This binary of the package (built for this machine with `cargo build`).
    #[arg(long, value_name = "NAME")]
    pub bin: Option<String>,
    /// A description file (what `CLOUDPORT_DESCRIBE=1 ./app` prints); `-` reads standard input.
    #[arg(long, value_name = "FILE")]
    pub description: Option<PathBuf>,
    /// The package that has the example or binary (default: the one that has it).
    #[arg(long, short = 'p', value_name = "PACKAGE")]
    pub package: Option<String>,
    /// Cargo features to build with (default: `aws` when the package has such a feature).
    #[arg(long, short = 'F', value_name = "FEATURES")]
    pub features: Option<String>,
    /// The app's name in the output (default: the example's or binary's name, or the
    /// description file's name without `.description.json`).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
}

/// The clouds to project: one, or all three.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum CloudChoice {
    /// AWS.
    Aws,
    /// Azure.
    Azure,
    /// Google Cloud.
    Gcp,
    /// All three, side by side.
    #[default]
    All,
}

impl CloudChoice {
    /// The clouds chosen.
    pub fn clouds(self) -> Vec<Cloud> {
        match self {
            CloudChoice::Aws => vec![Cloud::Aws],
            CloudChoice::Azure => vec![Cloud::Azure],
            CloudChoice::Gcp => vec![Cloud::Gcp],
            CloudChoice::All => Cloud::ALL.to_vec(),
        }
    }
}

/// The workload (a month); volumes not given are derived from the description (see
/// [`usage`](super::usage)).
#[derive(Debug, Clone, Args)]
pub struct WorkloadArgs {
    /// Invocations a month, every trigger and HTTP request together.
    #[arg(long, value_name = "N")]
    pub invocations: Option<u64>,
    /// Average billed duration of an invocation (ms).
    #[arg(long, value_name = "MS")]
    pub duration_ms: Option<u64>,
    /// Memory (MB; default: the code's Limits::memory_mb, else 128).
    #[arg(long, value_name = "MB")]
    pub memory_mb: Option<u32>,
    /// Lambda architecture.
    #[arg(long, value_enum, default_value_t = Arch::X86_64)]
    pub arch: Arch,
    /// Cloud Run vCPUs (default: what the GCP generator gives the memory: 1 up to 4 GiB).
    #[arg(long, value_name = "N")]
    pub vcpu: Option<f64>,
    /// Messages a month, all queues together (each sent once and delivered once).
    #[arg(long, value_name = "N")]
    pub messages: Option<u64>,
    /// Average message size (bytes).
    #[arg(long, value_name = "BYTES", default_value_t = 1024)]
    pub message_bytes: u64,
    /// Objects written a month.
    #[arg(long, value_name = "N")]
    pub objects_written: Option<u64>,
    /// Objects read a month.
    #[arg(long, value_name = "N")]
    pub objects_read: Option<u64>,
    /// Average object size (bytes), for the default storage.
    #[arg(long, value_name = "BYTES", default_value_t = 16 * 1024)]
    pub object_bytes: u64,
    /// Object storage kept (GB-months).
    #[arg(long, value_name = "GB")]
    pub object_storage_gb: Option<f64>,
    /// KV reads a month.
    #[arg(long, value_name = "N")]
    pub kv_reads: Option<u64>,
    /// KV writes a month.
    #[arg(long, value_name = "N")]
    pub kv_writes: Option<u64>,
    /// Average KV item size (bytes).
    #[arg(long, value_name = "BYTES", default_value_t = 1024)]
    pub item_bytes: u64,
    /// KV storage kept (GB-months).
    #[arg(long, value_name = "GB")]
    pub kv_storage_gb: Option<f64>,
}

/// The reference workload of an ADR whose command line gives none.
pub const REFERENCE_INVOCATIONS: u64 = 1_000_000;
/// Its duration (ms).
pub const REFERENCE_DURATION_MS: u64 = 100;

impl WorkloadArgs {
    /// The [`Usage`], with `invocations` and `duration_ms` when the flags give none.
    pub fn usage_or(&self, invocations: u64, duration_ms: u64) -> Result<Usage> {
        if let Some(v) = self.vcpu.filter(|v| !(*v > 0.0 && v.is_finite())) {
            return Err(Error::Usage(format!("--vcpu {v}: give a positive number")));
        }
        for (flag, gb) in [
            ("--object-storage-gb", self.object_storage_gb),
            ("--kv-storage-gb", self.kv_storage_gb),
        ] {
            if gb.is_some_and(|g| !(g >= 0.0 && g.is_finite())) {
                return Err(Error::Usage(format!("{flag}: give a number ≥ 0")));
            }
        }
        Ok(Usage {
            invocations_per_month: self.invocations.unwrap_or(invocations),
            duration_ms: self.duration_ms.unwrap_or(duration_ms),
            memory_mb: self.memory_mb,
            arch: self.arch,
            vcpu: self.vcpu,
            messages_per_month: self.messages,
            message_bytes: self.message_bytes,
            objects_written: self.objects_written,
            objects_read: self.objects_read,
            object_bytes: self.object_bytes,
            object_storage_gb: self.object_storage_gb,
            kv_reads: self.kv_reads,
            kv_writes: self.kv_writes,
            item_bytes: self.item_bytes,
            kv_storage_gb: self.kv_storage_gb,
        })
    }
}

/// `cargo cloudport cost`.
#[derive(Debug, Clone, Args)]
pub struct CostArgs {
    /// The cloud to project, or all.
    #[arg(long, value_enum, default_value_t = CloudChoice::All)]
    pub cloud: CloudChoice,
    /// The app.
    #[command(flatten)]
    pub app: AppArgs,
    /// The workload.
    #[command(flatten)]
    pub workload: WorkloadArgs,
    /// Where to write the projection (default: standard output).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// `cargo cloudport adr`.
#[derive(Debug, Clone, Args)]
pub struct AdrArgs {
    /// The app.
    #[command(flatten)]
    pub app: AppArgs,
    /// The workload of the cost section (default: 1,000,000 invocations a month of 100 ms).
    #[command(flatten)]
    pub workload: WorkloadArgs,
    /// Where to write the record (default: standard output).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// The app's description and name: the file given, or the example or binary built for this
/// machine (`cargo build`) and run once with `CLOUDPORT_DESCRIBE=1`.
pub fn description_for(app: &AppArgs) -> Result<(Description, String)> {
    let (description, name) = match (&app.description, &app.example, &app.bin) {
        (Some(path), _, _) => (describe::read_file(path)?, name_of_file(path)),
        (None, example, bin) => {
            let target = match (example, bin) {
                (Some(e), _) => AppTarget::Example(e.clone()),
                (None, Some(b)) => AppTarget::Bin(b.clone()),
                (None, None) => {
                    return Err(Error::Usage(
                        "give --example, --bin or --description".into(),
                    ));
                }
            };
            let build = build::resolve(target, app.package.as_deref(), app.features.as_deref())?;
            let binary = build::host_build(&build)?;
            (describe::run(&binary)?, build.app.name().to_owned())
        }
    };
    Ok((description, app.name.clone().unwrap_or(name)))
}

/// `quickstart.description.json` → `quickstart`; standard input → `app`.
///
/// ```
/// use cloudport_cli::cost::args::name_of_file;
/// assert_eq!(name_of_file("dist/quickstart.description.json".as_ref()), "quickstart");
/// assert_eq!(name_of_file("description.json".as_ref()), "app");
/// ```
pub fn name_of_file(path: &Path) -> String {
    let file = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = file.strip_suffix(".json").unwrap_or(&file);
    let stem = stem.strip_suffix(".description").unwrap_or(stem);
    if stem.is_empty() || stem == "-" || stem == "description" {
        "app".to_owned()
    } else {
        stem.to_owned()
    }
}

/// The projections `args` ask for, on `description`.
pub fn estimates(args: &CostArgs, description: &Description) -> Result<Vec<Estimate>> {
    let (Some(invocations), Some(duration)) =
        (args.workload.invocations, args.workload.duration_ms)
    else {
        return Err(Error::Usage(
            "give the workload: --invocations N (a month) and --duration-ms D (average)".into(),
        ));
    };
    let usage = args.workload.usage_or(invocations, duration)?;
    args.cloud
        .clouds()
        .into_iter()
        .map(|c| estimate(description, &usage, c))
        .collect()
}

/// `cargo cloudport cost`, once the description is read: the projection as Markdown.
pub fn run_cost(args: &CostArgs, description: &Description) -> Result<String> {
    Ok(render(&estimates(args, description)?))
}

/// `cargo cloudport adr`, once the description is read: the decision record as Markdown.
pub fn run_adr(args: &AdrArgs, description: &Description, app_name: &str) -> Result<String> {
    let usage = args
        .workload
        .usage_or(REFERENCE_INVOCATIONS, REFERENCE_DURATION_MS)?;
    let estimates = Cloud::ALL
        .into_iter()
        .map(|c| estimate(description, &usage, c))
        .collect::<Result<Vec<_>>>()?;
    Ok(crate::adr::render(description, &estimates, app_name))
}

/// Writes `text` to `out`, or prints it.
#[allow(clippy::print_stdout)]
pub fn emit(out: Option<&Path>, text: &str) -> Result<()> {
    match out {
        Some(path) => {
            std::fs::write(path, text).map_err(Error::io(format!("writing {}", path.display())))
        }
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

/// The whole `cargo cloudport cost` command.
pub fn cost_command(args: &CostArgs) -> Result<()> {
    let (description, _) = description_for(&args.app)?;
    emit(args.out.as_deref(), &run_cost(args, &description)?)
}

/// The whole `cargo cloudport adr` command.
pub fn adr_command(args: &AdrArgs) -> Result<()> {
    let (description, name) = description_for(&args.app)?;
    emit(args.out.as_deref(), &run_adr(args, &description, &name)?)
}
