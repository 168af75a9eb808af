//! The built example binaries, for end-to-end tests that run them as processes.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::path::PathBuf;

/// The path of a built example (`cargo build --examples --features …` builds them;
/// `./scripts/test.sh` does so before running these tests).
pub fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>");
    let path = profile_dir.join("examples").join(name);
    assert!(
        path.exists(),
        "{} is not built: run `cargo build --examples --all-features` (./scripts/test.sh does)",
        path.display()
    );
    path
}
