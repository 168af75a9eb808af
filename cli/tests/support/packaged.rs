//! The quickstart as `./scripts/test.sh` packages it (`cargo cloudport package --example
//! quickstart --ci github --out "$CLOUDPORT_DEPLOY_<CLOUD>_OUT"`): where it is, its files, and
//! the binary it ships. Needs the `action_validator` and `checkov` support modules beside it.
#![allow(dead_code)] // each test crate uses a part

use std::path::{Path, PathBuf};

use cloudport_core::app::Description;
use serde_json::Value;

/// The package directory in `$var`; panics, saying how to make it, when unset.
pub(crate) fn dir(var: &str) -> PathBuf {
    let dir = std::env::var_os(var).map(PathBuf::from).unwrap_or_else(|| {
        panic!(
            "{var} is not set: run ./scripts/test.sh, which packages the quickstart into it \
             (cargo cloudport package --example quickstart --ci github --out \"${var}\")"
        )
    });
    assert!(dir.is_dir(), "{var}={} is no directory", dir.display());
    dir
}

/// The bytes of `path`.
pub(crate) fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// `path` as JSON.
pub(crate) fn json(path: &Path) -> Value {
    serde_json::from_slice(&read(path))
        .unwrap_or_else(|e| panic!("{} is no JSON: {e}", path.display()))
}

/// The package's `description.json`.
pub(crate) fn description(dir: &Path) -> Description {
    cloudport_cli::describe::read_file(&dir.join("description.json"))
        .expect("the package's description.json")
}

/// The one workflow under `dir/.github/workflows`.
pub(crate) fn workflow(dir: &Path) -> PathBuf {
    let workflows = dir.join(".github/workflows");
    let files: Vec<PathBuf> = std::fs::read_dir(&workflows)
        .unwrap_or_else(|e| {
            panic!(
                "{} ({e}): packaged without --ci github?",
                workflows.display()
            )
        })
        .map(|e| e.expect("a directory entry").path())
        .collect();
    match files.as_slice() {
        [one] if one.extension().is_some_and(|e| e == "yml") => one.clone(),
        other => panic!(
            "one workflow expected in {}: {other:?}",
            workflows.display()
        ),
    }
}

/// The shipped binary is an executable x86-64 ELF (mode 0755) needing glibc 2.34 at most (the
/// zig build's) and no OpenSSL; returns the shared libraries it links.
pub(crate) fn assert_cloud_binary(path: &Path) -> Vec<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755, "{}", path.display());
    }
    cloudport_cli::elf::check_machine(path, cloudport_cli::args::Arch::X86_64)
        .expect("an x86-64 ELF executable");
    let glibc =
        cloudport_cli::elf::check_glibc(path, &cloudport_cli::elf::GlibcVersion::new(2, 34))
            .expect("glibc 2.34 at most");
    assert!(glibc.is_some(), "a glibc build, not a static one");
    let needed =
        cloudport_cli::gcp::dockerfile::needed_libraries(&read(path)).expect("its dynamic section");
    assert!(
        !needed
            .iter()
            .any(|l| l.starts_with("libssl") || l.starts_with("libcrypto")),
        "{} links OpenSSL: {needed:?}",
        path.display()
    );
    needed
}

/// action-validator and checkov's `github_actions` checks accept the package's workflow.
pub(crate) fn assert_workflow_passes(dir: &Path) {
    super::action_validator::assert_valid(&workflow(dir));
    super::checkov::assert_github_actions_passes(dir);
}
