//! `cargo cloudport up --local`: creates, on the local emulators, every resource an app
//! declares, and prints the bindings that run the app on them.
//!
//! | cloud | emulator (variable the providers read) | created |
//! |---|---|---|
//! | `azure` | Azurite (`AzureWebJobsStorage`, else `AZURE_STORAGE_CONNECTION_STRING`) | queues, `<queue>-poison` for each consumed queue, blob containers, tables |
//! | `gcp` | Pub/Sub emulator (`PUBSUB_EMULATOR_HOST`), fake-gcs-server (`STORAGE_EMULATOR_HOST`), Firestore emulator (`FIRESTORE_EMULATOR_HOST`), project `GOOGLE_CLOUD_PROJECT` | topics, a subscription per queue (push to `--push-endpoint` for a triggered queue, else pull) with the dead-letter policy, dead-letter topics, buckets; Firestore needs nothing |
//! | `aws` | moto or LocalStack (`AWS_ENDPOINT_URL`) | SQS queues with their redrive policy and dead-letter queues, S3 buckets, DynamoDB tables (`pk`/`sk`) |
//!
//! Every endpoint must be set and on this machine before anything is called ([`local`]):
//! `--local` never reaches a cloud. Running it again is fine: what exists is kept (and a push
//! subscription's endpoint moved to the new `--push-endpoint`). Names are the logical ones, or
//! `<prefix>-<name>` with `--prefix` (a namespace per developer or test run in a shared
//! emulator), in each service's alphabet.
//!
//! Standard output is the bindings, one dotenv line per variable, sorted ([`Bindings`]);
//! standard error says what was created. The plan is a pure function of the description and the
//! environment:
//!
//! ```
//! use cloudport_cli::{model::Model, up::plan_bindings};
//! let description = cloudport_cli::describe::parse(br#"{
//!     "cloudport_description": 1, "sdk_version": "0.1.0", "http": false, "any_event": false,
//!     "triggers": [{"kind": "queue", "name": "jobs"}], "declared": true,
//!     "resources": [{"kind": "queue", "name": "jobs", "access": ["consume"],
//!                    "declaration": "queue(\"jobs\").consume()"}],
//!     "limits": {}
//! }"#).unwrap();
//! let model = Model::new(&description).unwrap();
//! let env = |var: &str| (var == "AzureWebJobsStorage").then(|| "UseDevelopmentStorage=true".to_owned());
//! let b = plan_bindings(cloudport_cli::up::LocalCloud::Azure, &model, Some("dev"), None, &env).unwrap();
//! assert_eq!(b.get("CLOUDPORT_QUEUE_JOBS"), Some("azqueue://devstoreaccount1/dev-jobs"));
//! assert_eq!(b.get("AzureWebJobsStorage"), Some("UseDevelopmentStorage=true"));
//! ```

mod aws;
mod azure;
pub mod bindings;
mod error;
mod gcp;
pub mod local;
mod pubsub;

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::cost::args::{AppArgs, description_for};
use crate::model::Model;
pub use bindings::Bindings;
pub use error::Error;
use local::Lookup;

/// `cargo cloudport up`.
#[derive(Debug, Clone, Args)]
pub struct UpArgs {
    /// Create the resources on local emulators: required (no other target yet), so a command
    /// line never reaches a cloud by accident.
    #[arg(long, required = true)]
    pub local: bool,
    /// Whose emulators.
    #[arg(long, value_enum)]
    pub cloud: LocalCloud,
    /// The app.
    #[command(flatten)]
    pub app: AppArgs,
    /// Name every resource `<prefix>-<name>` (tables without the `-` on Azure): a namespace of
    /// its own in a shared emulator. 1-20 lower-case letters, digits and `-`, starting with a
    /// letter.
    #[arg(long, value_name = "PREFIX")]
    pub prefix: Option<String>,
    /// gcp: the base URL of the app served as on Cloud Run (`cargo run --example NAME` with
    /// `K_SERVICE` and `PORT` set); each triggered queue gets a push subscription to
    /// `URL/_cloudport/queue/<name>`. Without it every queue gets a pull subscription, which
    /// the local host consumes.
    #[arg(long, value_name = "URL")]
    pub push_endpoint: Option<String>,
    /// Write the bindings to FILE as a dotenv file (mode 0600, credentials included) instead of
    /// printing them.
    #[arg(long, value_name = "FILE")]
    pub env_file: Option<PathBuf>,
}

/// The clouds whose emulators `up --local` creates resources on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LocalCloud {
    /// Azurite: storage queues, blob containers, tables.
    Azure,
    /// The Pub/Sub emulator and fake-gcs-server (the Firestore emulator needs nothing).
    Gcp,
    /// moto or LocalStack: SQS queues, S3 buckets, DynamoDB tables.
    Aws,
}

/// What happened to one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It was created.
    Created,
    /// It existed already and was kept.
    Existed,
    /// It existed and was changed to match (a push subscription's endpoint).
    Updated,
    /// It is there: created or kept (Azure's create calls do not say which).
    Ready,
}

/// One resource `up` made sure of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Made {
    /// What it is, in words (`SQS queue up-orders (queue "orders")`).
    pub what: String,
    /// What happened.
    pub outcome: Outcome,
}

/// What `up --local` did.
#[derive(Debug, Clone)]
pub struct Up {
    /// The settings that run the app on what was created.
    pub bindings: Bindings,
    /// Every resource, in the order it was made sure of.
    pub made: Vec<Made>,
    /// What else to know (Firestore needs nothing; pull subscriptions without `--push-endpoint`).
    pub notes: Vec<String>,
}

/// Checks a `--prefix`: 1-20 lower-case letters, digits and `-`, starting with a letter, not
/// ending with `-`, so that `<prefix>-<name>` stays within every service's alphabet.
///
/// ```
/// use cloudport_cli::up::check_prefix;
/// assert!(check_prefix("ci-42").is_ok());
/// assert!(check_prefix("CI").is_err());
/// assert!(check_prefix("42").is_err());
/// ```
pub fn check_prefix(prefix: &str) -> Result<(), Error> {
    if crate::gcp::names::is_lower_label(prefix, 20) {
        Ok(())
    } else {
        Err(Error::Usage(format!(
            "--prefix {prefix:?}: give 1-20 lower-case letters, digits and '-', starting with a letter and not ending with '-'"
        )))
    }
}

/// `<prefix>-<name>`, or `name`.
pub(crate) fn prefixed(prefix: Option<&str>, name: &str) -> String {
    match prefix {
        Some(p) => format!("{p}-{name}"),
        None => name.to_owned(),
    }
}

fn check_args(args: &UpArgs) -> Result<(), Error> {
    if !args.local {
        return Err(Error::Usage(
            "give --local: `cargo cloudport up` creates resources on local emulators only; `cargo cloudport package` writes what deploys to a cloud".into(),
        ));
    }
    if let Some(p) = &args.prefix {
        check_prefix(p)?;
    }
    if args.push_endpoint.is_some() && args.cloud != LocalCloud::Gcp {
        return Err(Error::Usage(
            "--push-endpoint is for --cloud gcp (Pub/Sub push subscriptions)".into(),
        ));
    }
    Ok(())
}

/// The bindings `up` would print for the app `model` describes on `cloud`, from the environment `env` (checked
/// as `up` checks it), without calling anything.
pub fn plan_bindings(
    cloud: LocalCloud,
    model: &Model<'_>,
    prefix: Option<&str>,
    push_endpoint: Option<&str>,
    env: Lookup<'_>,
) -> Result<Bindings, Error> {
    Ok(match cloud {
        LocalCloud::Azure => azure::Plan::new(model, prefix, env)?.bindings(),
        LocalCloud::Gcp => gcp::Plan::new(model, prefix, push_endpoint, env)?.bindings(),
        LocalCloud::Aws => aws::Plan::new(model, prefix, env)?.bindings(),
    })
}

/// Runs `up` with the environment `env`: reads the app's description, checks every endpoint,
/// then creates what is missing.
pub fn run_with(args: &UpArgs, env: Lookup<'_>) -> Result<Up, Error> {
    check_args(args)?;
    let (description, _) = description_for(&args.app)?;
    crate::describe::check_declared(&description)?;
    let model = Model::new(&description)?;
    let prefix = args.prefix.as_deref();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            Error::Cli(crate::Error::Io {
                context: "starting the async runtime".into(),
                source: e,
            })
        })?;
    match args.cloud {
        LocalCloud::Azure => {
            let plan = azure::Plan::new(&model, prefix, env)?;
            runtime.block_on(plan.create())
        }
        LocalCloud::Gcp => {
            let plan = gcp::Plan::new(&model, prefix, args.push_endpoint.as_deref(), env)?;
            runtime.block_on(plan.create())
        }
        LocalCloud::Aws => {
            let plan = aws::Plan::new(&model, prefix, env)?;
            runtime.block_on(plan.create())
        }
    }
}

/// The whole command: [`run_with`] on the process environment, the report on standard error,
/// the bindings on standard output (or into `--env-file`).
#[allow(clippy::print_stdout, clippy::print_stderr)]
pub fn command(args: &UpArgs) -> Result<(), Error> {
    let up = run_with(args, &local::process_env)?;
    for m in &up.made {
        let word = match m.outcome {
            Outcome::Created => "created",
            Outcome::Existed => "exists ",
            Outcome::Updated => "updated",
            Outcome::Ready => "ready  ",
        };
        eprintln!("{word} {}", m.what);
    }
    for note in &up.notes {
        eprintln!("note: {note}");
    }
    match &args.env_file {
        Some(path) => {
            up.bindings.write_env_file(path)?;
            eprintln!("bindings written to {}", path.display());
        }
        None => print!("{}", up.bindings.printed()),
    }
    Ok(())
}

/// The quickstart's model (`cli/tests/fixtures`), for the planners' tests.
#[cfg(test)]
pub(crate) fn quickstart() -> Model<'static> {
    let d = crate::describe::parse(include_bytes!(
        "../../tests/fixtures/quickstart.description.json"
    ))
    .expect("fixture");
    Model::new(Box::leak(Box::new(d))).expect("model")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::{Cli, Command};
    use clap::Parser;

    fn parse(line: &str) -> Result<UpArgs, clap::Error> {
        match Cli::try_parse_from(line.split(' '))?.command {
            Command::Up(a) => Ok(a),
            _ => panic!("not up"),
        }
    }

    #[test]
    fn parses_and_refuses_what_it_cannot_do() {
        let a = parse("cargo-cloudport up --local --cloud gcp --example quickstart --prefix t1 --push-endpoint http://127.0.0.1:8080").expect("parses");
        assert!(a.local);
        assert_eq!(a.cloud, LocalCloud::Gcp);
        assert!(check_args(&a).is_ok());
        assert!(
            parse("cargo-cloudport up --local --cloud aws").is_err(),
            "no app"
        );
        assert!(
            parse("cargo-cloudport up --cloud aws --bin b").is_err(),
            "no --local"
        );
        let push_aws =
            parse("cargo-cloudport up --local --cloud aws --bin b --push-endpoint http://x")
                .expect("parses");
        assert!(check_args(&push_aws).is_err());
        let bad_prefix =
            parse("cargo-cloudport up --local --cloud aws --bin b --prefix Up").expect("parses");
        assert!(check_args(&bad_prefix).is_err());
    }
}
