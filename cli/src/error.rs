//! The one error type of the tool: what went wrong, with the context needed to fix it.

use std::path::PathBuf;

/// A `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything `cargo cloudport` can fail with. Each message says what to do next.
///
/// ```
/// use cloudport_cli::Error;
/// let e = Error::Undeclared { suggestions: vec![r#".uses(queue("orders").consume())"#.into()] };
/// assert!(e.to_string().contains(r#".uses(queue("orders").consume())"#));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A program the tool runs is not installed.
    #[error("`{tool}` was not found: {hint}")]
    ToolMissing {
        /// The program.
        tool: String,
        /// How to install it.
        hint: String,
    },
    /// The Rust standard library for a target is not installed.
    #[error(
        "the Rust standard library for {target} is not installed (no {}); run `rustup target add {target}`",
        path.display()
    )]
    TargetMissing {
        /// The target triple.
        target: String,
        /// Where it was looked for.
        path: PathBuf,
    },
    /// A program the tool ran failed.
    #[error("`{command}` failed: {detail}")]
    Command {
        /// The command line.
        command: String,
        /// Its exit status and the end of its error output.
        detail: String,
    },
    /// Reading or writing a file failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The app's description could not be read or makes no sense.
    #[error("the app's description: {0}")]
    Description(String),
    /// The description is of a format version this tool does not read.
    #[error(
        "the app describes itself in format version {found}; this cargo-cloudport reads version {supported} (update cargo-cloudport or the cloudport dependency so they match)"
    )]
    DescriptionVersion {
        /// The version found.
        found: u64,
        /// The version this tool reads.
        supported: u32,
    },
    /// The app declares no access: nothing to derive a least-privilege policy from.
    #[error(
        "the app declares no access, so there is no least-privilege policy to generate; add these declarations to the App (next to its triggers) and package again:\n{}",
        suggestions.iter().map(|s| format!("    {s}")).collect::<Vec<_>>().join("\n")
    )]
    Undeclared {
        /// The `.uses(...)` lines its triggers and bindings suggest.
        suggestions: Vec<String>,
    },
    /// The binary needs a newer glibc than the platform has.
    #[error(
        "{} needs glibc {found}, newer than the {max} the platform has; build with `cargo zigbuild --target <triple>.{max}`",
        binary.display()
    )]
    Glibc {
        /// The binary.
        binary: PathBuf,
        /// The highest version it needs.
        found: String,
        /// The highest the platform has.
        max: String,
    },
    /// A file that should be an ELF executable is not one this tool can read.
    #[error("{}: not an ELF executable this tool can read: {detail}", path.display())]
    Elf {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        detail: String,
    },
    /// Something in the description cannot be expressed on the cloud.
    #[error("{what}: {detail}")]
    Unsupported {
        /// The trigger, resource or setting.
        what: String,
        /// Why, and what would work.
        detail: String,
    },
    /// Writing the function archive failed.
    #[error("writing {}: {detail}", path.display())]
    Archive {
        /// The archive.
        path: PathBuf,
        /// What the zip writer said.
        detail: String,
    },
    /// Bad command-line input.
    #[error("{0}")]
    Usage(String),
    /// `up --local` failed (a missing or non-local emulator endpoint, an emulator's refusal).
    #[error(transparent)]
    Local(Box<crate::up::Error>),
}

impl Error {
    /// An [`Error::Io`] with `context`.
    pub fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
        let context = context.into();
        move |source| Error::Io { context, source }
    }

    /// An [`Error::Unsupported`].
    pub fn unsupported(what: impl Into<String>, detail: impl Into<String>) -> Error {
        Error::Unsupported {
            what: what.into(),
            detail: detail.into(),
        }
    }
}
