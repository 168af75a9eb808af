//! Azure Functions (custom handler): what the host (`cloudport_adapters::azure`) and the manifest
//! generator (`cloudport_cli::azure`, which writes `host.json` and one `function.json` per
//! function) agree on — the function of each trigger, the binding names the invocation payload
//! carries, the route prefix and its check, the function timeout.
//!
//! Each trigger of the app is one function, named by [`function_name`]: `queue-<name>`,
//! `blob-<name>`, `schedule-<name>` — the trigger kind, `-`, and the logical name. Logical names
//! are 1-63 ASCII letters, digits, `-` and `_`, so every function name starts with a letter and is
//! valid for Azure (letters, digits, `_`, `-`, at most 127 characters). The app's HTTP service is
//! the function [`HTTP_FUNCTION`]; the warm-up trigger is [`WARMUP_FUNCTION`].

use std::time::Duration;

use crate::{Error, Result, Trigger};

/// The variable holding how long one invocation may run (whole seconds or `hh:mm:ss`,
/// [`super::parse_timeout`]), which the manifest writes as `host.json`'s `functionTimeout` and the
/// host gives every invocation as its deadline (default [`DEFAULT_FUNCTION_TIMEOUT`]).
pub const FUNCTION_TIMEOUT_VAR: &str = "CLOUDPORT_FUNCTION_TIMEOUT";
/// The Consumption plan's default `functionTimeout` (source: "Function app timeout duration",
/// <https://learn.microsoft.com/azure/azure-functions/functions-scale#timeout>).
pub const DEFAULT_FUNCTION_TIMEOUT: Duration = Duration::from_secs(300);

/// The variable holding the HTTP route prefix (default [`DEFAULT_ROUTE_PREFIX`]), read by the
/// host and by the manifest generator: both must see the same one.
pub const ROUTE_PREFIX_VAR: &str = "CLOUDPORT_AZURE_ROUTE_PREFIX";
/// Azure's default HTTP route prefix.
pub const DEFAULT_ROUTE_PREFIX: &str = "api";
/// The function that carries the app's HTTP service.
pub const HTTP_FUNCTION: &str = "http";
/// The warm-up function: Azure calls the function of this name (a `warmupTrigger`) when it adds
/// an instance; the host answers without running any handler.
pub const WARMUP_FUNCTION: &str = "warmup";
/// The function that receives Azure Event Grid events (an `eventGridTrigger`): generated and
/// served when the app registered `on_event` or `on_any_event`; the app routes events by type.
pub const EVENTS_FUNCTION: &str = "cloudport-events";
/// Binding name of the Event Grid trigger's event in `Data`.
pub const EVENT_GRID_BINDING: &str = "event";
/// Binding name of a queue trigger's message in `Data`.
pub const QUEUE_BINDING: &str = "message";
/// Binding name of a blob trigger's content in `Data`.
pub const BLOB_BINDING: &str = "blob";
/// Binding name of a timer trigger's `TimerInfo` in `Data`.
pub const TIMER_BINDING: &str = "timer";
/// Binding name of the HTTP trigger's request in `Data`.
pub const HTTP_BINDING: &str = "req";
/// Binding name of the HTTP output in `Outputs`.
pub const HTTP_OUTPUT_BINDING: &str = "res";
/// The binding name of the warm-up trigger.
pub const WARMUP_BINDING: &str = "warmupContext";

/// The Azure function of a trigger: `queue-<name>`, `blob-<name>` or `schedule-<name>`.
///
/// ```
/// use cloudport_core::platform::azure::function_name;
/// use cloudport_core::Trigger;
/// assert_eq!(function_name(&Trigger::Queue("orders".into())), "queue-orders");
/// assert_eq!(function_name(&Trigger::Schedule("nightly".into())), "schedule-nightly");
/// assert_eq!(function_name(&Trigger::Topic("audit".into())), "topic-audit");
/// ```
pub fn function_name(trigger: &Trigger) -> String {
    match trigger {
        Trigger::Queue(n) => format!("queue-{n}"),
        Trigger::Blob(n) => format!("blob-{n}"),
        Trigger::Schedule(n) => format!("schedule-{n}"),
        Trigger::Topic(n) => format!("topic-{n}"),
        Trigger::Http => HTTP_FUNCTION.to_owned(),
        other => format!(
            "event-{}",
            other
                .name()
                .replace(|c: char| !c.is_ascii_alphanumeric(), "-")
        ),
    }
}

/// Refuses a route prefix under which a public request could reach a function's invocation path.
///
/// The Functions host calls a function at `/<FunctionName>`, and forwards a public HTTP request on
/// its own path, `/<prefix>/<route>`; the HTTP function's route `{*route}` also matches an empty
/// rest. So a public `POST /queue-orders` reaches the invocation endpoint of `queue-orders` — with
/// the caller's data — when the prefix is empty (the path is any function's) or when the prefix's
/// first segment is a function's name (ignoring case, as Azure does). The manifest is never
/// generated, and the host never starts, with such a prefix. `functions` are the app's function
/// names besides [`HTTP_FUNCTION`], [`WARMUP_FUNCTION`] and [`EVENTS_FUNCTION`], which this checks
/// too.
///
/// ```
/// use cloudport_core::platform::azure::check_route_prefix;
/// assert!(check_route_prefix("api", ["queue-orders"]).is_ok());
/// assert!(check_route_prefix("", ["queue-orders"]).is_err());
/// assert!(check_route_prefix("Queue-Orders/v1", ["queue-orders"]).is_err());
/// assert!(check_route_prefix("http", []).is_err());
/// // Only HTTP: nothing to reach.
/// assert!(check_route_prefix("", []).is_ok());
/// ```
pub fn check_route_prefix<'a>(
    prefix: &str,
    functions: impl IntoIterator<Item = &'a str>,
) -> Result<()> {
    let first = prefix
        .trim_matches('/')
        .split('/')
        .next()
        .unwrap_or_default();
    let mut functions = functions.into_iter().peekable();
    if first.is_empty() {
        return match functions.peek() {
            None => Ok(()),
            Some(f) => Err(Error::invalid(format!(
                "the HTTP route prefix is empty, so every function's invocation path is public: a request to https://<app>/{f} would reach the handler of function {f:?} with the caller's data. Set {ROUTE_PREFIX_VAR} to a prefix (Azure's default is {DEFAULT_ROUTE_PREFIX:?}) when generating the manifest and when running"
            ))),
        };
    }
    match functions
        .chain([HTTP_FUNCTION, WARMUP_FUNCTION, EVENTS_FUNCTION])
        .find(|f| f.eq_ignore_ascii_case(first))
    {
        Some(f) => Err(Error::invalid(format!(
            "the HTTP route prefix {prefix:?} starts with the function name {f:?}, so a public request to https://<app>/{first} would reach that function's invocation path. Set {ROUTE_PREFIX_VAR} to a prefix that is no function name (Azure's default is {DEFAULT_ROUTE_PREFIX:?})"
        ))),
        None => Ok(()),
    }
}
