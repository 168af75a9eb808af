//! action-validator (the workflow schema check) on a written workflow: `$CLOUDPORT_ACTION_VALIDATOR`
//! (`scripts/tools.sh` sets it), else `action-validator` on `PATH`.
#![allow(dead_code)] // each test crate uses a part

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The action-validator executable.
pub(crate) fn validator() -> PathBuf {
    std::env::var_os("CLOUDPORT_ACTION_VALIDATOR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("action-validator"))
}

/// action-validator's run on `file`.
pub(crate) fn validate(file: &Path) -> Output {
    Command::new(validator()).arg(file).output().unwrap_or_else(|e| {
        panic!(
            "running {} ({e}); install it with `source scripts/tools.sh && tools_action_validator`",
            validator().display()
        )
    })
}

/// action-validator accepts `file`.
pub(crate) fn assert_valid(file: &Path) {
    let run = validate(file);
    assert!(
        run.status.success(),
        "action-validator failed on {}:\n{}{}",
        file.display(),
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
}
