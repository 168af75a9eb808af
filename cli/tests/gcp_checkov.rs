//! checkov on the quickstart's Google Cloud package: no failed check that is not recorded, with
//! its reason, in the failing block's `//` comment (`checkov:skip=ID:reason`; checkov's
//! `terraform_json` runner reads no skips from JSON, so this test does), no recorded skip that
//! nothing needs, and the Dockerfile passes with its skip comments.
//!
//! checkov comes from `CLOUDPORT_CHECKOV` (`scripts/tools.sh` sets it), else
//! `checkov` on `PATH`; the test fails without it (it is ignored in a plain `cargo test` and run
//! by `./scripts/test.sh`, which installs it).

use cloudport_cli::describe;
use cloudport_cli::gcp::{GcpOptions, write_package};

mod support {
    pub(crate) mod checkov;
}

const QUICKSTART: &[u8] = include_bytes!("fixtures/quickstart.description.json");
const SHAPES: &[u8] = include_bytes!("gcp_shapes.description.json");

#[test]
#[ignore = "needs the deploy tools (checkov): ./scripts/test.sh"]
fn checkov_passes_with_recorded_reasons_only() {
    for (name, json) in [("quickstart", QUICKSTART), ("shapes", SHAPES)] {
        let d = describe::parse(json).expect("the fixture parses");
        let dir = std::env::temp_dir().join(format!(
            "cloudport-gcp-checkov-{name}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let binary = dir.join("quickstart.bin");
        std::fs::write(&binary, b"\x7fELF not really").expect("a stand-in binary");
        let out = dir.join("pkg");
        write_package(&out, &binary, &d, &GcpOptions::new(name)).expect("package");
        support::checkov::assert_terraform_json_passes(&out);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
