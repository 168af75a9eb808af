//! Building the app: which package has the example or binary and its features (`cargo
//! metadata`), the cloud build (`cargo zigbuild --release --target <triple>.2.34`, for Lambda,
//! Azure Functions and Cloud Run alike), a host build when that binary cannot run here, and the
//! executable cargo reports (its JSON messages, never a guessed path).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::args::Arch;
use crate::describe::tail;
use crate::{Error, Result};

/// The glibc version cloud builds link against: Lambda's `provided.al2023` has 2.34, the newest
/// of the three platforms' floors (Azure's Functions image and the Cloud Run image,
/// `gcr.io/distroless/cc-debian12`, have 2.36), so one build runs on all of them.
pub const TARGET_GLIBC: &str = "2.34";

/// What to build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppTarget {
    /// `--example NAME`.
    Example(String),
    /// `--bin NAME`.
    Bin(String),
}

impl AppTarget {
    /// The target's name.
    pub fn name(&self) -> &str {
        match self {
            AppTarget::Example(n) | AppTarget::Bin(n) => n,
        }
    }

    /// Cargo's kind word: `example` or `bin`.
    pub fn kind(&self) -> &'static str {
        match self {
            AppTarget::Example(_) => "example",
            AppTarget::Bin(_) => "bin",
        }
    }
}

/// A build, resolved against the workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Build {
    /// The package that has the target.
    pub package: String,
    /// The target.
    pub app: AppTarget,
    /// `--features` to pass, if any.
    pub features: Option<String>,
    /// The workspace root (cargo runs there).
    pub workspace_root: PathBuf,
}

fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Resolves the package and features of `app` with `cargo metadata --no-deps` (run in the
/// current directory).
pub fn resolve(app: AppTarget, package: Option<&str>, features: Option<&str>) -> Result<Build> {
    resolve_for(app, package, features, "aws")
}

/// [`resolve`], with `default_feature` (the cloud's: `aws`, `gcp`, `azure`) instead of `aws`
/// when no features are given and the package defines it.
pub fn resolve_for(
    app: AppTarget,
    package: Option<&str>,
    features: Option<&str>,
    default_feature: &str,
) -> Result<Build> {
    let out = cargo()
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .stderr(Stdio::inherit())
        .output()
        .map_err(Error::io("running cargo metadata"))?;
    if !out.status.success() {
        return Err(Error::Command {
            command: "cargo metadata --no-deps --format-version 1".into(),
            detail: out.status.to_string(),
        });
    }
    let metadata: serde_json::Value =
        serde_json::from_slice(&out.stdout).map_err(|e| Error::Command {
            command: "cargo metadata".into(),
            detail: format!("unreadable output: {e}"),
        })?;
    let mut build = resolve_in(&metadata, app, package, features)?;
    if features.is_none() && default_feature != "aws" {
        build.features = metadata["packages"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["name"] == build.package.as_str()))
            .and_then(|p| p["features"].get(default_feature))
            .map(|_| default_feature.to_owned());
    }
    Ok(build)
}

/// [`resolve`] on `cargo metadata` output: the package (the one named, or the only one that has
/// the target) and its features (those given, else `aws` when the package defines it).
///
/// ```
/// use cloudport_cli::build::{resolve_in, AppTarget};
/// let metadata = serde_json::json!({"workspace_root": "/w", "packages": [
///     {"name": "cloudport", "features": {"aws": [], "gcp": []},
///      "targets": [{"name": "quickstart", "kind": ["example"]}]},
///     {"name": "other", "features": {}, "targets": [{"name": "other", "kind": ["bin"]}]}]});
/// let b = resolve_in(&metadata, AppTarget::Example("quickstart".into()), None, None).unwrap();
/// assert_eq!((b.package.as_str(), b.features.as_deref()), ("cloudport", Some("aws")));
/// let b = resolve_in(&metadata, AppTarget::Bin("other".into()), None, None).unwrap();
/// assert_eq!(b.features, None);
/// assert!(resolve_in(&metadata, AppTarget::Bin("nope".into()), None, None).is_err());
/// ```
pub fn resolve_in(
    metadata: &serde_json::Value,
    app: AppTarget,
    package: Option<&str>,
    features: Option<&str>,
) -> Result<Build> {
    let packages = metadata["packages"].as_array().cloned().unwrap_or_default();
    let has_target = |p: &serde_json::Value| {
        p["targets"].as_array().is_some_and(|ts| {
            ts.iter().any(|t| {
                t["name"] == app.name()
                    && t["kind"]
                        .as_array()
                        .is_some_and(|k| k.iter().any(|k| k == app.kind()))
            })
        })
    };
    let candidates: Vec<&serde_json::Value> = packages
        .iter()
        .filter(|p| package.is_none_or(|name| p["name"] == name))
        .filter(|p| has_target(p))
        .collect();
    let chosen = match candidates.as_slice() {
        [one] => *one,
        [] => {
            return Err(Error::Usage(format!(
                "no workspace package{} has {} `{}`",
                package.map(|p| format!(" named {p:?}")).unwrap_or_default(),
                if app.kind() == "bin" {
                    "a binary"
                } else {
                    "an example"
                },
                app.name()
            )));
        }
        many => {
            let names: Vec<&str> = many.iter().filter_map(|p| p["name"].as_str()).collect();
            return Err(Error::Usage(format!(
                "{} `{}` is in several packages ({}): choose one with --package",
                app.kind(),
                app.name(),
                names.join(", ")
            )));
        }
    };
    let features = match features {
        Some(f) => Some(f.to_owned()),
        None => chosen["features"].get("aws").map(|_| "aws".to_owned()),
    };
    Ok(Build {
        package: chosen["name"].as_str().unwrap_or_default().to_owned(),
        app,
        features,
        workspace_root: PathBuf::from(metadata["workspace_root"].as_str().unwrap_or(".")),
    })
}

/// Fails with what to install when the standard library for `target` is missing from the
/// toolchain (`<sysroot>/lib/rustlib/<target>/lib`).
pub fn check_target_installed(target: &str) -> Result<()> {
    let out = Command::new(std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into()))
        .args(["--print", "sysroot"])
        .output()
        .map_err(Error::io("running rustc --print sysroot"))?;
    let sysroot = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let lib = sysroot.join("lib").join("rustlib").join(target).join("lib");
    if lib.is_dir() {
        Ok(())
    } else {
        Err(Error::TargetMissing {
            target: target.to_owned(),
            path: lib,
        })
    }
}

/// The `cargo-zigbuild` executable: `$CLOUDPORT_CARGO_ZIGBUILD`, else `cargo-zigbuild` on
/// `PATH`, else the project's tool cache (`$CLOUDPORT_TOOLS_DIR/bin`, default
/// `~/.cache/cloudport-tools/bin`, filled by `scripts/tools.sh`).
pub fn find_zigbuild() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("CLOUDPORT_CARGO_ZIGBUILD") {
        return Ok(PathBuf::from(p));
    }
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    let tools = std::env::var_os("CLOUDPORT_TOOLS_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/cloudport-tools")))
        .map(|d| d.join("bin"));
    on_path
        .into_iter()
        .chain(tools)
        .map(|dir| dir.join("cargo-zigbuild"))
        .find(|p| p.is_file())
        .ok_or_else(|| Error::ToolMissing {
            tool: "cargo zigbuild".into(),
            hint: "cloud builds link against glibc 2.34 with cargo-zigbuild and zig: `pip install cargo-zigbuild ziglang` (or, in this repository, `source scripts/tools.sh && tools_zigbuild`)".into(),
        })
}

/// Builds the cloud binary with `cargo zigbuild --release --target <triple>.2.34` and returns
/// its path: the Lambda bootstrap, the Azure custom handler and the Cloud Run image's binary
/// (each platform has glibc 2.34 or newer; the callers check the binary's needs against their
/// platform's). The artifacts land in `target/<triple>/release`, shared by the clouds whose
/// features agree.
pub fn zig_build(build: &Build, arch: Arch) -> Result<PathBuf> {
    check_target_installed(arch.rust_target())?;
    let zigbuild = find_zigbuild()?;
    let mut cmd = Command::new(&zigbuild);
    cmd.arg("zigbuild")
        .arg("--release")
        .arg("--target")
        .arg(format!("{}.{TARGET_GLIBC}", arch.rust_target()));
    // cargo-zigbuild finds zig on PATH or in CARGO_ZIGBUILD_ZIG_PATH: the tool cache keeps a
    // `zig` next to its `cargo-zigbuild`.
    let sibling_zig = zigbuild.with_file_name("zig");
    if std::env::var_os("CARGO_ZIGBUILD_ZIG_PATH").is_none() && sibling_zig.is_file() {
        cmd.env("CARGO_ZIGBUILD_ZIG_PATH", sibling_zig);
    }
    run_cargo(cmd, build, &format!("{} zigbuild", zigbuild.display()))
}

/// Builds `build` for this machine (`cargo build`), for reading the description of an app whose
/// cloud binary cannot run here (another architecture).
pub fn host_build(build: &Build) -> Result<PathBuf> {
    let mut cmd = cargo();
    cmd.arg("build");
    run_cargo(cmd, build, "cargo build")
}

fn run_cargo(mut cmd: Command, build: &Build, shown: &str) -> Result<PathBuf> {
    cmd.arg("--package")
        .arg(&build.package)
        .arg(format!("--{}", build.app.kind()))
        .arg(build.app.name());
    if let Some(f) = &build.features {
        cmd.arg("--features").arg(f);
    }
    cmd.arg("--message-format=json-render-diagnostics")
        .current_dir(&build.workspace_root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let shown = format!(
        "{shown} --package {} --{} {}{}",
        build.package,
        build.app.kind(),
        build.app.name(),
        build
            .features
            .as_ref()
            .map(|f| format!(" --features {f}"))
            .unwrap_or_default()
    );
    eprintln!("cloudport: {shown}");
    let mut child = cmd.spawn().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::ToolMissing {
            tool: shown.clone(),
            hint: "is cargo (or cargo-zigbuild) installed?".into(),
        },
        _ => Error::io(format!("running {shown}"))(e),
    })?;
    let mut executable = None;
    let mut last_lines = Vec::new();
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines() {
            let line = line.map_err(Error::io(format!("reading the output of {shown}")))?;
            if let Some(p) = artifact_executable(&line, &build.app) {
                executable = Some(p);
            } else if !line.starts_with('{') {
                last_lines.push(line);
            }
        }
    }
    let status = child
        .wait()
        .map_err(Error::io(format!("waiting for {shown}")))?;
    if !status.success() {
        return Err(Error::Command {
            command: shown,
            detail: format!("{status} {}", tail(last_lines.join("\n").as_bytes())),
        });
    }
    executable.ok_or_else(|| Error::Command {
        command: shown,
        detail: format!(
            "cargo reported no executable for {} `{}`",
            build.app.kind(),
            build.app.name()
        ),
    })
}

/// The executable of `app` if `line` is cargo's `compiler-artifact` message for it.
///
/// ```
/// use cloudport_cli::build::{artifact_executable, AppTarget};
/// let line = r#"{"reason":"compiler-artifact","target":{"name":"quickstart","kind":["example"]},"executable":"/t/release/examples/quickstart"}"#;
/// let app = AppTarget::Example("quickstart".into());
/// assert_eq!(artifact_executable(line, &app).unwrap().to_str(), Some("/t/release/examples/quickstart"));
/// assert_eq!(artifact_executable(line, &AppTarget::Bin("quickstart".into())), None);
/// assert_eq!(artifact_executable(r#"{"reason":"build-finished","success":true}"#, &app), None);
/// ```
pub fn artifact_executable(line: &str, app: &AppTarget) -> Option<PathBuf> {
    let msg: serde_json::Value = serde_json::from_str(line).ok()?;
    let target = &msg["target"];
    let kind_matches = target["kind"]
        .as_array()
        .is_some_and(|k| k.iter().any(|k| k == app.kind()));
    (msg["reason"] == "compiler-artifact" && target["name"] == app.name() && kind_matches)
        .then(|| msg["executable"].as_str().map(PathBuf::from))
        .flatten()
}
