//! The function app's `host.json` and one `<function>/function.json` per trigger, generated from
//! the app's [`Description`] (what `CLOUDPORT_DESCRIBE=1 ./app` prints) and the deployment's
//! bindings and settings, so a user deploys with the standard Functions tooling (`func azure
//! functionapp publish`, zip deploy, …). Nothing of it is linked into the function binary.
//!
//! Formats follow the custom handlers article (`customHandler.description.defaultExecutablePath`,
//! `enableForwardingHttpRequest`, `extensionBundle`;
//! <https://learn.microsoft.com/azure/azure-functions/functions-custom-handlers>), the `host.json`
//! reference (`extensions.queues.maxDequeueCount` / `messageEncoding`,
//! `extensions.http.routePrefix`; <https://learn.microsoft.com/azure/azure-functions/functions-host-json>)
//! and the trigger references (queue: `queueName`, `connection`; blob: `path`, `connection`;
//! timer: a six-field NCRONTAB `schedule`; HTTP: `route`, `methods`, `authLevel` and an `http`
//! output binding).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use cloudport_core::app::{Description, TriggerDescription};
use cloudport_core::env::{DEFAULT_MAX_DELIVERIES, binding_var};
use cloudport_core::platform::azure::{
    BLOB_BINDING, DEFAULT_FUNCTION_TIMEOUT, DEFAULT_ROUTE_PREFIX, EVENT_GRID_BINDING,
    EVENTS_FUNCTION, FUNCTION_TIMEOUT_VAR, HTTP_BINDING, HTTP_FUNCTION, HTTP_OUTPUT_BINDING,
    QUEUE_BINDING, ROUTE_PREFIX_VAR, TIMER_BINDING, WARMUP_BINDING, WARMUP_FUNCTION,
    check_route_prefix, function_name,
};
use cloudport_core::platform::parse_timeout;
use cloudport_core::{ResourceKind, ResourceUrl, Schedule, Trigger};
use serde_json::{Value, json};

use crate::{Error, Result};

/// The variable naming the custom handler executable in `host.json`
/// ([`ManifestOptions::from_vars`]).
pub const EXECUTABLE_VAR: &str = "CLOUDPORT_AZURE_EXECUTABLE";

/// The variable naming the app setting that holds the storage connection of queue and blob
/// triggers (default `AzureWebJobsStorage`).
pub const CONNECTION_VAR: &str = "CLOUDPORT_AZURE_CONNECTION";

/// The variable that leaves the warm-up function out of the manifest (`off`).
pub const WARMUP_VAR: &str = "CLOUDPORT_AZURE_WARMUP";

/// Dequeues before the Functions host moves a failing message to `<queue>-poison` (its default).
pub const MAX_DEQUEUE_COUNT: u32 = 5;

/// The extension bundle range the storage triggers come from.
pub const EXTENSION_BUNDLE_VERSION: &str = "[4.*, 5.0.0)";

/// Where the blob trigger learns of new blobs: its binding's `source`
/// (<https://learn.microsoft.com/azure/azure-functions/functions-bindings-storage-blob-trigger#configuration>).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BlobSource {
    /// Scanning the container and the storage logs (`LogsAndContainerScan`, the binding's
    /// default, written as no `source`): every plan but Flex Consumption.
    #[default]
    LogsAndContainerScan,
    /// Blob-created events an Event Grid subscription delivers to the blobs extension's webhook
    /// (`"source": "EventGrid"`): the only source the Flex Consumption plan runs
    /// (<https://learn.microsoft.com/azure/azure-functions/functions-event-grid-blob-trigger>).
    EventGrid,
}

/// Settings of the generated manifest; [`ManifestOptions::from_vars`] reads them from
/// deployment variables.
///
/// ```
/// use cloudport_cli::azure::ManifestOptions;
/// let options = ManifestOptions::new("handler").route_prefix("").connection("OrdersStorage");
/// assert_eq!(options.executable_path(), "handler");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestOptions {
    executable: String,
    connection: String,
    route_prefix: String,
    auth_level: String,
    warmup: bool,
    function_timeout: Duration,
    blob_source: BlobSource,
}

impl ManifestOptions {
    /// Options for the custom handler executable at `executable` (relative to the app root):
    /// connection `AzureWebJobsStorage`, route prefix `api`, HTTP `authLevel` `anonymous`,
    /// function timeout [`DEFAULT_FUNCTION_TIMEOUT`], with the warm-up function.
    pub fn new(executable: impl Into<String>) -> Self {
        Self {
            executable: executable.into(),
            connection: "AzureWebJobsStorage".to_owned(),
            route_prefix: DEFAULT_ROUTE_PREFIX.to_owned(),
            auth_level: "anonymous".to_owned(),
            warmup: true,
            function_timeout: DEFAULT_FUNCTION_TIMEOUT,
            blob_source: BlobSource::default(),
        }
    }

    /// [`new`](Self::new)`(executable)` with what the deployment's variables set, as the host
    /// reads the same ones: [`EXECUTABLE_VAR`] (instead of `executable`), [`CONNECTION_VAR`],
    /// [`WARMUP_VAR`], the route prefix [`ROUTE_PREFIX_VAR`] and the function timeout
    /// [`FUNCTION_TIMEOUT_VAR`] (a value that is no timeout is [`Error::Usage`]). `vars` looks a
    /// variable up (`|k| std::env::var(k).ok()`, or a map's `get`).
    ///
    /// ```
    /// use cloudport_cli::azure::ManifestOptions;
    /// let vars = |k: &str| (k == "CLOUDPORT_FUNCTION_TIMEOUT").then(|| "00:10:00".to_owned());
    /// let options = ManifestOptions::from_vars("handler", vars).unwrap();
    /// let ten_minutes = std::time::Duration::from_secs(600);
    /// assert_eq!(options, ManifestOptions::new("handler").function_timeout(ten_minutes));
    /// assert!(ManifestOptions::from_vars("handler", |_| Some("soon".to_owned())).is_err());
    /// ```
    pub fn from_vars(
        executable: impl Into<String>,
        vars: impl Fn(&str) -> Option<String>,
    ) -> Result<Self> {
        let mut options = Self::new(vars(EXECUTABLE_VAR).unwrap_or_else(|| executable.into()));
        if let Some(c) = vars(CONNECTION_VAR).filter(|c| !c.is_empty()) {
            options.connection = c;
        }
        if let Some(p) = vars(ROUTE_PREFIX_VAR) {
            options.route_prefix = p;
        }
        options.warmup = vars(WARMUP_VAR).is_none_or(|v| v != "off");
        if let Some(t) = vars(FUNCTION_TIMEOUT_VAR) {
            options.function_timeout = parse_timeout(FUNCTION_TIMEOUT_VAR, &t)
                .map_err(|e| Error::Usage(e.message().to_owned()))?;
        }
        Ok(options)
    }

    /// How long one invocation may run: `host.json`'s `functionTimeout`, which the host also
    /// gives each invocation as its deadline (it reads [`FUNCTION_TIMEOUT_VAR`]; default
    /// [`DEFAULT_FUNCTION_TIMEOUT`]). Written always, so the plan's own default (5 or 30
    /// minutes) never differs from the deadline the host assumes.
    pub fn function_timeout(mut self, timeout: Duration) -> Self {
        self.function_timeout = timeout;
        self
    }

    /// Whether to generate the function [`WARMUP_FUNCTION`] (`warmup`, a `warmupTrigger`): the
    /// platform calls it when it adds an instance — on the Premium and Dedicated plans; other
    /// plans never do — and the host answers it without running any handler.
    pub fn warmup(mut self, on: bool) -> Self {
        self.warmup = on;
        self
    }

    /// Where blob triggers learn of new blobs (default [`BlobSource::LogsAndContainerScan`]).
    ///
    /// ```
    /// use cloudport_cli::azure::{BlobSource, ManifestOptions, manifest};
    /// let d = cloudport_cli::describe::parse(br#"{"cloudport_description": 1, "sdk_version": "0.1.0",
    ///   "http": false, "any_event": false, "triggers": [{"kind": "blob", "name": "uploads"}],
    ///   "declared": true, "resources": [], "limits": {}}"#).unwrap();
    /// let options = ManifestOptions::new("handler").blob_source(BlobSource::EventGrid);
    /// let m = manifest(&d, &options, |_| None).unwrap();
    /// assert_eq!(m.function_json("blob-uploads").unwrap()["bindings"][0]["source"], "EventGrid");
    /// ```
    pub fn blob_source(mut self, source: BlobSource) -> Self {
        self.blob_source = source;
        self
    }

    /// The app setting holding the storage connection of every queue and blob trigger.
    pub fn connection(mut self, setting: impl Into<String>) -> Self {
        self.connection = setting.into();
        self
    }

    /// The HTTP route prefix (`extensions.http.routePrefix`). The host must run with the same
    /// one ([`ROUTE_PREFIX_VAR`]).
    pub fn route_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.route_prefix = prefix.into();
        self
    }

    /// The HTTP trigger's `authLevel` (`anonymous`, `function` or `admin`).
    pub fn auth_level(mut self, level: impl Into<String>) -> Self {
        self.auth_level = level.into();
        self
    }

    /// The executable path written to `host.json`.
    pub fn executable_path(&self) -> &str {
        &self.executable
    }
}

/// The generated files: `host.json` and `function.json` by function name.
///
/// ```
/// use cloudport_cli::azure::{ManifestOptions, manifest};
/// let description = cloudport_cli::describe::parse(br#"{
///     "cloudport_description": 1, "sdk_version": "0.1.0", "http": false, "any_event": false,
///     "triggers": [{"kind": "queue", "name": "orders"},
///                  {"kind": "schedule", "name": "nightly", "cron": "0 0 3 * * *"}],
///     "declared": true, "resources": [], "limits": {}
/// }"#).unwrap();
/// let bindings = |var: &str| {
///     (var == "CLOUDPORT_QUEUE_ORDERS").then(|| "azqueue://acct/orders-v2".to_owned())
/// };
/// let manifest = manifest(&description, &ManifestOptions::new("handler"), bindings).unwrap();
/// assert_eq!(manifest.host_json()["customHandler"]["description"]["defaultExecutablePath"], "handler");
/// let queue = &manifest.function_json("queue-orders").unwrap()["bindings"][0];
/// assert_eq!(queue["type"], "queueTrigger");
/// assert_eq!(queue["queueName"], "orders-v2");
/// assert_eq!(manifest.function_json("schedule-nightly").unwrap()["bindings"][0]["schedule"], "0 0 3 * * *");
///
/// let dir = std::env::temp_dir().join(format!("cloudport-doc-manifest-{}", std::process::id()));
/// manifest.write_to(&dir).unwrap();
/// assert!(dir.join("queue-orders/function.json").is_file());
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    host: Value,
    functions: BTreeMap<String, Value>,
}

impl Manifest {
    /// The contents of `host.json`.
    pub fn host_json(&self) -> &Value {
        &self.host
    }

    /// The contents of `<name>/function.json`.
    pub fn function_json(&self, name: &str) -> Option<&Value> {
        self.functions.get(name)
    }

    /// The function names, in order.
    pub fn function_names(&self) -> impl Iterator<Item = &str> {
        self.functions.keys().map(String::as_str)
    }

    /// Writes `host.json` and `<function>/function.json` into `dir` (created if missing),
    /// replacing files of the same names and leaving others alone.
    pub fn write_to(&self, dir: impl AsRef<Path>) -> Result<()> {
        let dir = dir.as_ref();
        let write = |path: &Path, value: &Value| -> Result<()> {
            let mut text = serde_json::to_string_pretty(value)
                .map_err(|e| Error::Description(format!("{}: {e}", path.display())))?;
            text.push('\n');
            std::fs::write(path, text).map_err(Error::io(format!("writing {}", path.display())))
        };
        let mkdir = |path: &Path| {
            std::fs::create_dir_all(path).map_err(Error::io(format!("creating {}", path.display())))
        };
        mkdir(dir)?;
        write(&dir.join("host.json"), &self.host)?;
        for (name, function) in &self.functions {
            let folder = dir.join(name);
            mkdir(&folder)?;
            write(&folder.join("function.json"), function)?;
        }
        Ok(())
    }
}

/// The native name a trigger's binding URL gives (`azqueue://account/queue` → `queue`,
/// `azblob://account/container` → `container`), the logical name when unbound.
fn native_name(
    bindings: &impl Fn(&str) -> Option<String>,
    kind: ResourceKind,
    name: &str,
    scheme: &str,
) -> Result<(String, Option<ResourceUrl>)> {
    let var = binding_var(kind, name);
    let Some(url) = bindings(&var) else {
        return Ok((name.to_owned(), None));
    };
    let what = || format!("{} {name:?}", kind.as_str());
    let parsed = ResourceUrl::parse(&url).map_err(|e| {
        Error::unsupported(what(), format!("{var}={url:?} is no URL: {}", e.message()))
    })?;
    if parsed.scheme() != scheme {
        return Err(Error::unsupported(
            what(),
            format!(
                "bound to {url:?} ({var}): an Azure Functions trigger needs a {scheme}://ACCOUNT/NAME binding"
            ),
        ));
    }
    let native = parsed.path();
    if native.is_empty() || native.contains('/') {
        return Err(Error::unsupported(
            what(),
            format!("bound to {url:?} ({var}): expected {scheme}://ACCOUNT/NAME"),
        ));
    }
    Ok((native, Some(parsed)))
}

/// The portable `max_deliveries` of a queue binding that names a `dead_letter` queue.
fn max_deliveries(name: &str, url: Option<&ResourceUrl>) -> Result<Option<u32>> {
    let Some(url) = url.filter(|u| u.param("dead_letter").is_some()) else {
        return Ok(None);
    };
    match url.param("max_deliveries") {
        None => Ok(Some(DEFAULT_MAX_DELIVERIES)),
        Some(m) => m.parse::<u32>().map(Some).map_err(|_| {
            Error::unsupported(
                format!("queue {name:?}"),
                format!("max_deliveries {m:?} is not a number"),
            )
        }),
    }
}

/// The [`Schedule`] a description's schedule trigger states.
fn schedule(
    name: &str,
    cron: Option<&String>,
    every_seconds: Option<u64>,
    every_subsec_nanos: Option<u32>,
) -> Result<Schedule> {
    match (cron, every_seconds) {
        (Some(expr), _) => Ok(Schedule::cron(expr.clone())),
        (None, Some(secs)) => Ok(Schedule::every(Duration::new(
            secs,
            every_subsec_nanos.unwrap_or(0),
        ))),
        (None, None) => Err(Error::Description(format!(
            "schedule {name:?} has neither a cron expression nor an interval"
        ))),
    }
}

/// The manifest of the app `description` states: one function per trigger, named by
/// [`function_name`], plus the function [`HTTP_FUNCTION`] when the app serves HTTP and
/// [`WARMUP_FUNCTION`] unless [`ManifestOptions::warmup`] is off, and [`EVENTS_FUNCTION`] (an
/// `eventGridTrigger`) when the app takes events by type (`on_event`) or any event
/// (`on_any_event`): point Event Grid subscriptions at it.
///
/// Queue and container names come from the `azqueue://` / `azblob://` bindings `bindings` looks
/// up by variable (`CLOUDPORT_QUEUE_<NAME>`, `CLOUDPORT_BUCKET_<NAME>`, as the function will be
/// bound; the logical name when unbound; another scheme is [`Error::Unsupported`]).
/// `extensions.queues.maxDequeueCount` is [`MAX_DEQUEUE_COUNT`], raised above any queue binding's
/// portable `max_deliveries` so the portable dead-letter policy acts first. A route prefix that
/// would expose invocation paths ([`cloudport_core::platform::azure::check_route_prefix`]) is
/// [`Error::Usage`], as are two triggers whose function names differ only in case
/// ([`Error::Unsupported`]: Azure compares function names ignoring case).
pub fn manifest(
    description: &Description,
    options: &ManifestOptions,
    bindings: impl Fn(&str) -> Option<String>,
) -> Result<Manifest> {
    let mut functions = BTreeMap::new();
    let mut storage = false;
    let mut queues = false;
    let mut max_dequeue = MAX_DEQUEUE_COUNT;
    for described in &description.triggers {
        if let TriggerDescription::Queue { name }
        | TriggerDescription::Blob { name }
        | TriggerDescription::Schedule { name, .. } = described
        {
            cloudport_core::validate::logical_name(name)
                .map_err(|e| Error::Description(e.message().to_owned()))?;
        }
        let (trigger, binding) = match described {
            TriggerDescription::Queue { name } => {
                let (queue, url) = native_name(&bindings, ResourceKind::Queue, name, "azqueue")?;
                if let Some(max) = max_deliveries(name, url.as_ref())? {
                    max_dequeue = max_dequeue.max(max.saturating_add(1));
                }
                storage = true;
                queues = true;
                // `dataType: binary`: the host binds the (Base64-decoded) message as `byte[]`
                // (`GeneralScriptBindingProvider.ParseDataType`; the storage extension's
                // `StorageQueueMessageToByteArrayConverter`: `Body.ToArray()`), which reaches the
                // custom handler Base64-encoded (`ScriptInvocationContextExtensions.
                // GetHttpScriptInvocationContextValue`, serialized by Newtonsoft.Json): every body
                // byte for byte. Without it the message is bound as a string
                // (`Body.ToValidUTF8String()`), and bytes that are not UTF-8 are replaced.
                // Azure/azure-functions-host `src/WebJobs.Script/Binding/`,
                // `src/WebJobs.Script/Workers/MessageExtensions/`; Azure/azure-sdk-for-net
                // `sdk/storage/Microsoft.Azure.WebJobs.Extensions.Storage.Queues/src/Triggers/`.
                let binding = json!({
                    "name": QUEUE_BINDING,
                    "type": "queueTrigger",
                    "direction": "in",
                    "queueName": queue,
                    "connection": options.connection,
                    "dataType": "binary",
                });
                (Trigger::Queue(name.clone()), binding)
            }
            TriggerDescription::Blob { name } => {
                let (container, _) = native_name(&bindings, ResourceKind::Bucket, name, "azblob")?;
                storage = true;
                let mut binding = json!({
                    "name": BLOB_BINDING,
                    "type": "blobTrigger",
                    "direction": "in",
                    "path": format!("{container}/{{name}}"),
                    "connection": options.connection,
                    "dataType": "binary",
                });
                if options.blob_source == BlobSource::EventGrid {
                    binding["source"] = json!("EventGrid");
                }
                (Trigger::Blob(name.clone()), binding)
            }
            TriggerDescription::Schedule {
                name,
                cron,
                every_seconds,
                every_subsec_nanos,
            } => {
                let schedule = schedule(name, cron.as_ref(), *every_seconds, *every_subsec_nanos)?;
                let ncrontab = ncrontab_of(&schedule)
                    .map_err(|detail| Error::unsupported(format!("schedule {name:?}"), detail))?;
                let binding = json!({
                    "name": TIMER_BINDING,
                    "type": "timerTrigger",
                    "direction": "in",
                    "schedule": ncrontab,
                });
                (Trigger::Schedule(name.clone()), binding)
            }
            other => {
                return Err(Error::unsupported(
                    format!("{other:?}"),
                    "this cargo-cloudport knows no Azure Functions trigger for it; update cargo-cloudport",
                ));
            }
        };
        let name = function_name(&trigger);
        let key = name.to_ascii_lowercase();
        if let Some(other) = functions
            .keys()
            .find(|n: &&String| n.to_ascii_lowercase() == key)
        {
            return Err(Error::unsupported(
                trigger.to_string(),
                format!(
                    "it and the trigger of function {other:?} map to the same Azure function name (names ignore case)"
                ),
            ));
        }
        functions.insert(name, json!({ "bindings": [binding] }));
    }
    // Event Grid events for `on_event` / `on_any_event`: one eventGridTrigger function; the app
    // routes by type. Subscriptions point at it (the Functions host answers their handshakes).
    let events = description.any_event || !description.event_types.is_empty();
    if events {
        functions.insert(
            EVENTS_FUNCTION.to_owned(),
            json!({ "bindings": [
                { "name": EVENT_GRID_BINDING, "type": "eventGridTrigger", "direction": "in" },
            ] }),
        );
    }
    if description.http {
        check_route_prefix(&options.route_prefix, functions.keys().map(String::as_str))
            .map_err(|e| Error::Usage(e.message().to_owned()))?;
        functions.insert(
            HTTP_FUNCTION.to_owned(),
            json!({ "bindings": [
                {
                    "name": HTTP_BINDING,
                    "type": "httpTrigger",
                    "direction": "in",
                    "authLevel": options.auth_level,
                    "methods": ["get", "post", "put", "patch", "delete", "head", "options"],
                    "route": "{*route}",
                },
                { "name": HTTP_OUTPUT_BINDING, "type": "http", "direction": "out" },
            ] }),
        );
    }
    if options.warmup {
        functions.insert(
            WARMUP_FUNCTION.to_owned(),
            json!({ "bindings": [
                { "name": WARMUP_BINDING, "type": "warmupTrigger", "direction": "in" },
            ] }),
        );
    }
    let timeout = options.function_timeout.as_secs();
    let mut host = json!({
        "version": "2.0",
        "functionTimeout": format!("{:02}:{:02}:{:02}", timeout / 3600, timeout / 60 % 60, timeout % 60),
        "customHandler": {
            "description": { "defaultExecutablePath": options.executable },
        },
    });
    if description.http {
        host["customHandler"]["enableForwardingHttpRequest"] = json!(true);
        host["extensions"]["http"] = json!({ "routePrefix": options.route_prefix });
    }
    // The storage, Event Grid and warm-up triggers come from the extension bundle.
    if storage || events || options.warmup {
        host["extensionBundle"] = json!({
            "id": "Microsoft.Azure.Functions.ExtensionBundle",
            "version": EXTENSION_BUNDLE_VERSION,
        });
    }
    if queues {
        host["extensions"]["queues"] = json!({
            "maxDequeueCount": max_dequeue,
            "messageEncoding": "base64",
        });
    }
    Ok(Manifest { host, functions })
}

/// A [`Schedule`] as a six-field NCRONTAB expression (`sec min hour day month weekday`), as the
/// timer trigger reads it. Cron schedules keep their fields, with numeric weekdays (the `cron`
/// crate counts `1` = Sunday, NCRONTAB `0` = Sunday) written as names; intervals become a step of
/// the unit they divide evenly (`every(5 min)` → `0 */5 * * * *`), and an interval that divides
/// no unit is `InvalidArgument`.
///
/// ```
/// use cloudport_cli::azure::ncrontab;
/// use cloudport_core::Schedule;
/// use std::time::Duration;
/// assert_eq!(ncrontab(&Schedule::every(Duration::from_secs(300))).unwrap(), "0 */5 * * * *");
/// assert_eq!(ncrontab(&Schedule::every(Duration::from_secs(86400))).unwrap(), "0 0 0 * * *");
/// assert_eq!(ncrontab(&Schedule::cron("*/15 * * * *")).unwrap(), "0 */15 * * * *");
/// assert_eq!(ncrontab(&Schedule::cron("0 30 9 * * 2-6")).unwrap(), "0 30 9 * * MON-FRI");
/// assert!(ncrontab(&Schedule::every(Duration::from_secs(7 * 60))).is_err());
/// ```
pub fn ncrontab(schedule: &Schedule) -> Result<String> {
    ncrontab_of(schedule).map_err(|detail| Error::unsupported("the schedule", detail))
}

/// [`ncrontab`], failing with the reason.
fn ncrontab_of(schedule: &Schedule) -> std::result::Result<String, String> {
    schedule.validate().map_err(|e| e.message().to_owned())?;
    match schedule {
        Schedule::Cron(_) => {
            let expr = schedule.cron_expression().unwrap_or_default();
            let mut fields: Vec<String> = expr.split(' ').map(str::to_owned).collect();
            if let Some(weekday) = fields.get_mut(5) {
                *weekday = weekday_names(weekday);
            }
            Ok(fields.join(" "))
        }
        Schedule::Every(d) => every(*d),
    }
}

fn weekday_names(field: &str) -> String {
    const NAMES: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
    let mut out = String::new();
    let mut digits = String::new();
    let mut after_slash = false;
    let flush = |digits: &mut String, out: &mut String, after_slash: bool| {
        if digits.is_empty() {
            return;
        }
        match digits.parse::<usize>() {
            Ok(n @ 1..=7) if !after_slash => out.push_str(NAMES[n - 1]),
            _ => out.push_str(digits),
        }
        digits.clear();
    };
    for c in field.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else {
            flush(&mut digits, &mut out, after_slash);
            after_slash = c == '/';
            out.push(c);
        }
    }
    flush(&mut digits, &mut out, after_slash);
    out
}

fn every(d: Duration) -> std::result::Result<String, String> {
    let secs = d.as_secs();
    let whole = d.subsec_nanos() == 0;
    let step = |n: u64, unit: u64| whole && secs == n * unit && n > 0;
    let expr = if secs < 60 && whole && 60 % secs == 0 {
        format!("*/{secs} * * * * *")
    } else if secs == 60 && whole {
        "0 * * * * *".to_owned()
    } else if secs < 3600 && step(secs / 60, 60) && 60 % (secs / 60) == 0 {
        format!("0 */{} * * * *", secs / 60)
    } else if secs == 3600 && whole {
        "0 0 * * * *".to_owned()
    } else if secs < 86_400 && step(secs / 3600, 3600) && 24 % (secs / 3600) == 0 {
        format!("0 0 */{} * * *", secs / 3600)
    } else if secs == 86_400 && whole {
        "0 0 0 * * *".to_owned()
    } else {
        return Err(format!(
            "the interval {d:?} divides no second, minute, hour or day evenly, so no NCRONTAB expression fires at it; use Schedule::cron"
        ));
    };
    Ok(expr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_map_to_even_steps() {
        let e = |s| every(Duration::from_secs(s));
        assert_eq!(e(1).unwrap(), "*/1 * * * * *");
        assert_eq!(e(15).unwrap(), "*/15 * * * * *");
        assert_eq!(e(60).unwrap(), "0 * * * * *");
        assert_eq!(e(1800).unwrap(), "0 */30 * * * *");
        assert_eq!(e(3600).unwrap(), "0 0 * * * *");
        assert_eq!(e(6 * 3600).unwrap(), "0 0 */6 * * *");
        assert!(e(7).is_err());
        assert!(e(90).is_err());
        assert!(e(5 * 3600).is_err());
        assert!(e(2 * 86_400).is_err());
        assert!(every(Duration::from_millis(1500)).is_err());
    }

    fn description(json: serde_json::Value) -> Description {
        let mut d = json!({"cloudport_description": 1, "sdk_version": "0.1.0", "http": false,
            "any_event": false, "triggers": [], "declared": true, "resources": [], "limits": {}});
        if let (Some(d), Some(extra)) = (d.as_object_mut(), json.as_object()) {
            d.extend(extra.clone());
        }
        crate::describe::parse(d.to_string().as_bytes()).unwrap()
    }

    #[test]
    fn the_manifest_follows_the_description_and_the_settings() {
        let d = description(json!({"http": true, "any_event": true, "triggers": [
            {"kind": "queue", "name": "orders"},
            {"kind": "schedule", "name": "tick", "every_seconds": 300}]}));
        let vars = |k: &str| match k {
            "CLOUDPORT_QUEUE_ORDERS" => {
                Some("azqueue://acct/orders-v2?dead_letter=orders-dlq&max_deliveries=9".to_owned())
            }
            "CLOUDPORT_FUNCTION_TIMEOUT" => Some("00:10:00".to_owned()),
            "CLOUDPORT_AZURE_WARMUP" => Some("off".to_owned()),
            _ => None,
        };
        let options = ManifestOptions::from_vars("handler", vars).unwrap();
        let m = manifest(&d, &options, vars).unwrap();
        assert_eq!(
            m.function_names().collect::<Vec<_>>(),
            ["cloudport-events", "http", "queue-orders", "schedule-tick"]
        );
        // `on_any_event`: Event Grid events reach the app through one eventGridTrigger.
        assert_eq!(
            m.function_json("cloudport-events").unwrap()["bindings"][0],
            json!({"name": "event", "type": "eventGridTrigger", "direction": "in"})
        );
        let host = m.host_json();
        assert!(host["extensionBundle"]["id"].is_string());
        assert_eq!(host["functionTimeout"], "00:10:00");
        assert_eq!(host["extensions"]["queues"]["maxDequeueCount"], 10);
        assert_eq!(host["extensions"]["http"]["routePrefix"], "api");
        assert_eq!(host["customHandler"]["enableForwardingHttpRequest"], true);
        assert_eq!(
            m.function_json("schedule-tick").unwrap()["bindings"][0]["schedule"],
            "0 */5 * * * *"
        );

        // Without HTTP, no route prefix is public; with it, one that exposes invocations is refused.
        let events = description(json!({"triggers": [{"kind": "queue", "name": "orders"}]}));
        let open = ManifestOptions::new("handler").route_prefix("");
        assert!(manifest(&events, &open, |_| None).is_ok());
        assert!(matches!(
            manifest(&d, &open, |_| None),
            Err(Error::Usage(_))
        ));
        // Events by type only: the events function, and no other.
        let typed = description(json!({"event_types": ["Contoso.Items.*"]}));
        let no_warmup = ManifestOptions::new("handler").warmup(false);
        let m = manifest(&typed, &no_warmup, |_| None).unwrap();
        assert_eq!(m.function_names().collect::<Vec<_>>(), ["cloudport-events"]);
        // A fraction of a second no NCRONTAB step fires at.
        let odd = description(json!({"triggers": [
            {"kind": "schedule", "name": "odd", "every_seconds": 1, "every_subsec_nanos": 500_000_000}]}));
        assert!(matches!(
            manifest(&odd, &ManifestOptions::new("handler"), |_| None),
            Err(Error::Unsupported { .. })
        ));
        // A name the app could not have is refused.
        let bad = description(json!({"triggers": [{"kind": "queue", "name": "no/slash"}]}));
        assert!(manifest(&bad, &ManifestOptions::new("handler"), |_| None).is_err());
    }

    #[test]
    fn numeric_weekdays_become_names() {
        assert_eq!(weekday_names("*"), "*");
        assert_eq!(weekday_names("1"), "SUN");
        assert_eq!(weekday_names("2,4,7"), "MON,WED,SAT");
        assert_eq!(weekday_names("*/2"), "*/2");
        assert_eq!(weekday_names("Mon-Fri"), "Mon-Fri");
    }
}
