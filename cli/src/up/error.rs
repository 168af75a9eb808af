//! What `up --local` refuses, and what the emulators answered.

/// An `up --local` failure. Every refusal of the environment comes before any call to an
/// emulator; no text of it carries a credential (endpoints are shown by host only, provider
/// errors are redacted by [`cloudport_core::Error`]).
///
/// ```
/// use cloudport_cli::up::Error;
/// let e = Error::NotLoopback { var: "AWS_ENDPOINT_URL".into(), host: "sqs.eu-west-1.amazonaws.com".into() };
/// assert!(e.to_string().contains("not this machine"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading the app's description (building it, running it, parsing it) failed.
    #[error(transparent)]
    Cli(#[from] crate::Error),
    /// Bad command-line input.
    #[error("{0}")]
    Usage(String),
    /// The variable that says where an emulator listens is not set: without it the providers
    /// would reach the real cloud.
    #[error(
        "{var} is not set: `up --local` creates resources on local emulators only, and {var} says where {emulator} listens ({hint})"
    )]
    MissingEndpoint {
        /// The environment variable.
        var: String,
        /// The emulator it locates.
        emulator: String,
        /// What to set it to.
        hint: String,
    },
    /// An endpoint points at another machine: `--local` never touches a real cloud.
    #[error(
        "{var} points at {host}, not this machine: `up --local` creates resources on local emulators only (127.0.0.1, ::1 or localhost); deploy to a cloud with `cargo cloudport package`"
    )]
    NotLoopback {
        /// The environment variable (or connection-string field).
        var: String,
        /// The host it names (never the whole value: it may carry a credential).
        host: String,
    },
    /// An endpoint or connection string that cannot be read.
    #[error("{var}: {detail}")]
    BadEndpoint {
        /// The environment variable.
        var: String,
        /// What is wrong (never the value itself).
        detail: String,
    },
    /// An emulator refused or failed a call.
    #[error("creating {what}: {source}")]
    Emulator {
        /// The resource being created (`queue "orders" (SQS queue up-orders)`).
        what: String,
        /// The provider's error, redacted.
        #[source]
        source: Box<cloudport_core::Error>,
    },
}

impl Error {
    /// An [`Error::Emulator`] for `what`.
    pub(crate) fn emulator(what: impl Into<String>) -> impl FnOnce(cloudport_core::Error) -> Error {
        let what = what.into();
        move |source| Error::Emulator {
            what,
            source: Box::new(source),
        }
    }
}
