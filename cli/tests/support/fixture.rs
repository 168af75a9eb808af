//! The quickstart's description, as `CLOUDPORT_DESCRIBE=1` prints it (`tests/access.rs` checks
//! the fixture equals the binary's output): the one loader of it for the CLI's tests.

use cloudport_core::app::Description;

/// The quickstart fixture, parsed.
pub(crate) fn quickstart() -> Description {
    cloudport_cli::describe::parse(include_bytes!("../fixtures/quickstart.description.json"))
        .expect("the quickstart fixture parses")
}
