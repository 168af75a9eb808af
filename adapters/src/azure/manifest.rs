//! The function app's `host.json` and one `<function>/function.json` per trigger, generated from
//! the [`App`], so a user deploys with the standard Functions tooling (`func azure functionapp
//! publish`, zip deploy, …).
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

use cloudport_core::{
    App, Env, Error, ErrorKind, ResourceKind, ResourceUrl, Result, Schedule, Trigger,
};
use serde_json::{Value, json};

use super::{
    BLOB_BINDING, DEFAULT_ROUTE_PREFIX, HTTP_BINDING, HTTP_FUNCTION, HTTP_OUTPUT_BINDING,
    QUEUE_BINDING, ROUTE_PREFIX_VAR, TIMER_BINDING, WARMUP_BINDING, WARMUP_FUNCTION, function_name,
};

/// The variable that makes [`emit_manifest_if_requested`] write the manifest into a directory.
pub const EMIT_MANIFEST_VAR: &str = "CLOUDPORT_EMIT_AZURE_MANIFEST";

/// The variable naming the custom handler executable in `host.json` (default: the running
/// binary's file name).
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

/// Settings of the generated manifest; [`ManifestOptions::from_env`] reads them from the
/// environment.
///
/// ```
/// use cloudport_adapters::azure::ManifestOptions;
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
    function_timeout: std::time::Duration,
}

impl ManifestOptions {
    /// Options for the custom handler executable at `executable` (relative to the app root):
    /// connection `AzureWebJobsStorage`, route prefix `api`, HTTP `authLevel` `anonymous`, with
    /// the warm-up function.
    pub fn new(executable: impl Into<String>) -> Self {
        Self {
            executable: executable.into(),
            connection: "AzureWebJobsStorage".to_owned(),
            route_prefix: DEFAULT_ROUTE_PREFIX.to_owned(),
            auth_level: "anonymous".to_owned(),
            warmup: true,
            function_timeout: super::DEFAULT_FUNCTION_TIMEOUT,
        }
    }

    /// From `env`: [`EXECUTABLE_VAR`] (else the running binary's file name, else `handler`),
    /// [`CONNECTION_VAR`], [`WARMUP_VAR`] and the route prefix variable
    /// `CLOUDPORT_AZURE_ROUTE_PREFIX`, which the host reads too.
    pub fn from_env(env: &Env) -> Self {
        let executable = env.var(EXECUTABLE_VAR).unwrap_or_else(|| {
            std::env::current_exe()
                .ok()
                .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                .unwrap_or_else(|| "handler".to_owned())
        });
        let mut options = Self::new(executable);
        if let Some(c) = env.var(CONNECTION_VAR).filter(|c| !c.is_empty()) {
            options.connection = c;
        }
        if let Some(p) = env.var(ROUTE_PREFIX_VAR) {
            options.route_prefix = p;
        }
        options.warmup = env.var(WARMUP_VAR).is_none_or(|v| v != "off");
        // A bad value is refused by `manifest`, which reads it again.
        if let Ok(t) = crate::http_host::invocation_timeout(
            env,
            super::FUNCTION_TIMEOUT_VAR,
            super::DEFAULT_FUNCTION_TIMEOUT,
        ) {
            options.function_timeout = t;
        }
        options
    }

    /// How long one invocation may run: `host.json`'s `functionTimeout`, which the host also
    /// gives each invocation as its deadline (from [`super::FUNCTION_TIMEOUT_VAR`]; default
    /// [`super::DEFAULT_FUNCTION_TIMEOUT`]). Written always, so the plan's own default (5 or 30
    /// minutes) never differs from the deadline the host assumes.
    pub fn function_timeout(mut self, timeout: std::time::Duration) -> Self {
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

    /// The app setting holding the storage connection of every queue and blob trigger.
    pub fn connection(mut self, setting: impl Into<String>) -> Self {
        self.connection = setting.into();
        self
    }

    /// The HTTP route prefix (`extensions.http.routePrefix`). The host must run with the same
    /// one (`CLOUDPORT_AZURE_ROUTE_PREFIX`); see the module docs of [`crate::azure`].
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
/// use cloudport_adapters::azure::{ManifestOptions, manifest_with};
/// use cloudport_core::{App, Env, Schedule};
///
/// let app = App::new()
///     .on_queue("orders", |_m, _env| async { Ok(()) })
///     .on_schedule("nightly", Schedule::cron("0 0 3 * * *"), |_t, _env| async { Ok(()) });
/// let env = Env::builder()
///     .vars([("CLOUDPORT_QUEUE_ORDERS", "azqueue://acct/orders-v2")])
///     .build();
/// let manifest = manifest_with(&app, &env, &ManifestOptions::new("handler")).unwrap();
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
            let mut text = serde_json::to_string_pretty(value)?;
            text.push('\n');
            std::fs::write(path, text).map_err(|e| {
                Error::from(e)
                    .with_operation("azure.manifest.write")
                    .with_resource(path.display().to_string())
            })
        };
        let mkdir = |path: &Path| {
            std::fs::create_dir_all(path).map_err(|e| {
                Error::from(e)
                    .with_operation("azure.manifest.write")
                    .with_resource(path.display().to_string())
            })
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

/// The manifest of `app` with [`ManifestOptions::from_env`].
pub fn manifest(app: &App, env: &Env) -> Result<Manifest> {
    crate::http_host::invocation_timeout(
        env,
        super::FUNCTION_TIMEOUT_VAR,
        super::DEFAULT_FUNCTION_TIMEOUT,
    )?;
    manifest_with(app, env, &ManifestOptions::from_env(env))
}

/// The native name a trigger's binding URL gives (`azqueue://account/queue` → `queue`,
/// `azblob://account/container` → `container`), the logical name when unbound.
fn native_name(
    env: &Env,
    kind: ResourceKind,
    name: &str,
    scheme: &str,
) -> Result<(String, Option<ResourceUrl>)> {
    let Some(url) = env.binding_url(kind, name) else {
        return Ok((name.to_owned(), None));
    };
    let parsed = ResourceUrl::parse(&url)?;
    if parsed.scheme() != scheme {
        return Err(Error::invalid(format!(
            "{} {name:?} is bound to {url:?}: an Azure Functions trigger needs a {scheme}://ACCOUNT/NAME binding",
            kind.as_str()
        )));
    }
    let native = parsed.path();
    if native.is_empty() || native.contains('/') {
        return Err(Error::invalid(format!(
            "{} {name:?} is bound to {url:?}: expected {scheme}://ACCOUNT/NAME",
            kind.as_str()
        )));
    }
    Ok((native, Some(parsed)))
}

/// The manifest of `app`: one function per trigger, named by [`function_name`], plus the
/// function [`HTTP_FUNCTION`] when the app serves HTTP and [`WARMUP_FUNCTION`] unless
/// [`ManifestOptions::warmup`] is off. [`App::on_any_event`] has no function: no Azure trigger
/// delivers arbitrary events. Queue and container names come from the
/// `azqueue://` / `azblob://` bindings in `env` (the logical name when unbound; another scheme is
/// an error). `extensions.queues.maxDequeueCount` is [`MAX_DEQUEUE_COUNT`], raised above any
/// queue's portable `max_deliveries` so the portable dead-letter policy acts first.
pub fn manifest_with(app: &App, env: &Env, options: &ManifestOptions) -> Result<Manifest> {
    app.validate()?;
    let mut functions = BTreeMap::new();
    let mut storage = false;
    let mut queues = false;
    let mut max_dequeue = MAX_DEQUEUE_COUNT;
    for trigger in app.triggers() {
        let name = function_name(&trigger);
        let binding = match &trigger {
            Trigger::Queue(logical) => {
                let (queue, url) = native_name(env, ResourceKind::Queue, logical, "azqueue")?;
                if let Some(max) = url
                    .as_ref()
                    .filter(|u| u.param("dead_letter").is_some())
                    .map(|u| {
                        u.param("max_deliveries").map_or(
                            Ok(cloudport_core::env::DEFAULT_MAX_DELIVERIES),
                            |m| {
                                m.parse::<u32>().map_err(|_| {
                                    Error::invalid(format!("max_deliveries {m:?} is not a number"))
                                })
                            },
                        )
                    })
                    .transpose()?
                {
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
                json!({
                    "name": QUEUE_BINDING,
                    "type": "queueTrigger",
                    "direction": "in",
                    "queueName": queue,
                    "connection": options.connection,
                    "dataType": "binary",
                })
            }
            Trigger::Blob(logical) => {
                let (container, _) = native_name(env, ResourceKind::Bucket, logical, "azblob")?;
                storage = true;
                json!({
                    "name": BLOB_BINDING,
                    "type": "blobTrigger",
                    "direction": "in",
                    "path": format!("{container}/{{name}}"),
                    "connection": options.connection,
                    "dataType": "binary",
                })
            }
            Trigger::Schedule(logical) => {
                let schedule = app.schedule(logical).ok_or_else(|| {
                    Error::new(ErrorKind::NotFound, format!("no schedule {logical:?}"))
                })?;
                let ncrontab = ncrontab(schedule).map_err(|e| e.with_resource(logical.clone()))?;
                json!({
                    "name": TIMER_BINDING,
                    "type": "timerTrigger",
                    "direction": "in",
                    "schedule": ncrontab,
                })
            }
            _ => continue,
        };
        let key = name.to_ascii_lowercase();
        if let Some(other) = functions
            .keys()
            .find(|n: &&String| n.to_ascii_lowercase() == key)
        {
            return Err(Error::invalid(format!(
                "triggers {trigger} and the one of function {other:?} map to the same Azure function name (names ignore case)"
            )));
        }
        functions.insert(name, json!({ "bindings": [binding] }));
    }
    let http = app.http_router(env).is_some();
    if http {
        super::check_route_prefix(&options.route_prefix, functions.keys().map(String::as_str))?;
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
    if http {
        host["customHandler"]["enableForwardingHttpRequest"] = json!(true);
        host["extensions"]["http"] = json!({ "routePrefix": options.route_prefix });
    }
    // The storage and warm-up triggers come from the extension bundle.
    if storage || options.warmup {
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

/// Writes the manifest of `app` into the directory named by [`EMIT_MANIFEST_VAR`]
/// (`CLOUDPORT_EMIT_AZURE_MANIFEST`), if `env` sets it, and says whether it did. Call it first
/// in `main`, so the deployable binary is also the tool that describes it:
///
/// ```no_run
/// # async fn run() -> cloudport_core::Result<()> {
/// use cloudport_adapters::azure;
/// use cloudport_core::{App, Env};
/// let app = App::new().on_queue("orders", |_m, _env| async { Ok(()) });
/// let env = Env::builder().build();
/// // CLOUDPORT_EMIT_AZURE_MANIFEST=deploy ./my-app   writes deploy/host.json, deploy/queue-orders/…
/// if azure::emit_manifest_if_requested(&app, &env)? {
///     return Ok(());
/// }
/// # Ok(()) }
/// ```
pub fn emit_manifest_if_requested(app: &App, env: &Env) -> Result<bool> {
    let Some(dir) = env.var(EMIT_MANIFEST_VAR).filter(|d| !d.is_empty()) else {
        return Ok(false);
    };
    manifest(app, env)?.write_to(&dir)?;
    tracing::info!(dir = %dir, "wrote the Azure Functions manifest");
    Ok(true)
}

/// A [`Schedule`] as a six-field NCRONTAB expression (`sec min hour day month weekday`), as the
/// timer trigger reads it. Cron schedules keep their fields, with numeric weekdays (the `cron`
/// crate counts `1` = Sunday, NCRONTAB `0` = Sunday) written as names; intervals become a step of
/// the unit they divide evenly (`every(5 min)` → `0 */5 * * * *`), and an interval that divides
/// no unit is `InvalidArgument`.
///
/// ```
/// use cloudport_adapters::azure::ncrontab;
/// use cloudport_core::Schedule;
/// use std::time::Duration;
/// assert_eq!(ncrontab(&Schedule::every(Duration::from_secs(300))).unwrap(), "0 */5 * * * *");
/// assert_eq!(ncrontab(&Schedule::every(Duration::from_secs(86400))).unwrap(), "0 0 0 * * *");
/// assert_eq!(ncrontab(&Schedule::cron("*/15 * * * *")).unwrap(), "0 */15 * * * *");
/// assert_eq!(ncrontab(&Schedule::cron("0 30 9 * * 2-6")).unwrap(), "0 30 9 * * MON-FRI");
/// assert!(ncrontab(&Schedule::every(Duration::from_secs(7 * 60))).is_err());
/// ```
pub fn ncrontab(schedule: &Schedule) -> Result<String> {
    schedule.validate()?;
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

fn every(d: Duration) -> Result<String> {
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
        return Err(Error::invalid(format!(
            "the interval {d:?} divides no second, minute, hour or day evenly, so no NCRONTAB expression fires at it; use Schedule::cron"
        )));
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

    #[test]
    fn numeric_weekdays_become_names() {
        assert_eq!(weekday_names("*"), "*");
        assert_eq!(weekday_names("1"), "SUN");
        assert_eq!(weekday_names("2,4,7"), "MON,WED,SAT");
        assert_eq!(weekday_names("*/2"), "*/2");
        assert_eq!(weekday_names("Mon-Fri"), "Mon-Fri");
    }
}
