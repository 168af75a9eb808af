//! The description checked for Azure: the deployment options, every resource with its native
//! name (queue, container and table names follow Azure's rules, which are narrower than
//! cloudport's logical names) and whether a trigger fires on it.

use std::collections::BTreeMap;

use cloudport_core::app::{Description, TriggerDescription};
use cloudport_core::platform::azure::{DEFAULT_FUNCTION_TIMEOUT, DEFAULT_ROUTE_PREFIX};

use super::roles;
use crate::{Error, Result};

/// The app setting prefix of the identity-based storage connection the queue and blob triggers
/// use (`CloudportStorage__queueServiceUri`, `__blobServiceUri`, `__credential`, `__clientId`):
/// the data account, apart from the host's `AzureWebJobsStorage`.
pub const CONNECTION: &str = "CloudportStorage";

/// The custom handler executable in the app package.
pub const EXECUTABLE: &str = "handler";

/// The tag on every taggable resource, `cloudport-function = <app name>`, which the budget
/// filters by. (Azure tag names may not hold `/`, so not AWS's `cloudport:function`.)
pub const TAG_KEY: &str = "cloudport-function";

/// Deployment choices.
///
/// ```
/// use cloudport_cli::azure::AzureOptions;
/// let o = AzureOptions::new("quickstart");
/// assert_eq!(o.route_prefix, "api");
/// assert!(AzureOptions::new("Not OK").check().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AzureOptions {
    /// The app's name: the default of the template's `appName` parameter, the tag value, the
    /// prefix of the function app's name.
    pub app_name: String,
    /// The HTTP route prefix (`extensions.http.routePrefix`, and the host's
    /// `CLOUDPORT_AZURE_ROUTE_PREFIX`); never empty when the app serves HTTP and has other
    /// functions (`check_route_prefix`).
    pub route_prefix: String,
}

impl AzureOptions {
    /// Options for app `app_name`, route prefix `api`.
    pub fn new(app_name: impl Into<String>) -> Self {
        Self {
            app_name: app_name.into(),
            route_prefix: DEFAULT_ROUTE_PREFIX.to_owned(),
        }
    }

    /// Checks the app name: 2-32 lowercase letters, digits and single hyphens, starting with a
    /// letter (the function app's name adds `-` and 13 characters, within the 60 a site name may
    /// have; [`Error::Usage`] otherwise).
    pub fn check(&self) -> Result<()> {
        let n = self.app_name.as_bytes();
        let ok = (2..=32).contains(&n.len())
            && n[0].is_ascii_lowercase()
            && n.iter()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
            && n[n.len() - 1] != b'-'
            && !self.app_name.contains("--");
        if ok {
            Ok(())
        } else {
            Err(Error::Usage(format!(
                "{:?} cannot name an Azure function app: use 2-32 lowercase letters, digits and single hyphens, starting with a letter",
                self.app_name
            )))
        }
    }
}

/// A declared resource and its native name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AzResource {
    /// The logical name.
    pub name: String,
    /// The queue, container or table name.
    pub native: String,
    /// The description's access words, plus `trigger` when a trigger fires on it.
    pub access: Vec<String>,
    /// The declaration, for role assignment descriptions.
    pub declaration: String,
    /// Queues: the declared deliveries before a message is dead-lettered.
    pub max_deliveries: Option<u32>,
}

impl AzResource {
    /// Whether the app (or the Functions host for it) takes messages off this queue, so it
    /// dead-letters into `<queue>-poison`.
    pub fn consumed(&self) -> bool {
        self.access.iter().any(|a| a == "consume" || a == "trigger")
    }
}

/// The checked description.
#[derive(Debug)]
pub struct Model<'a> {
    /// The description.
    pub d: &'a Description,
    /// The options.
    pub o: &'a AzureOptions,
    /// Queues, by logical name.
    pub queues: Vec<AzResource>,
    /// Blob containers, by logical name.
    pub containers: Vec<AzResource>,
    /// Tables, by logical name.
    pub tables: Vec<AzResource>,
}

/// A queue or container name: the logical name lowercased, `_` as `-` (3-63 lowercase letters,
/// digits and single hyphens, starting and ending with a letter or digit).
pub fn dns_name(kind: &str, logical: &str, max: usize) -> Result<String> {
    let n = logical.to_ascii_lowercase().replace('_', "-");
    let b = n.as_bytes();
    let ok = (3..=max).contains(&b.len())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && !n.contains("--");
    if ok {
        Ok(n)
    } else {
        Err(Error::unsupported(
            format!("{kind} {logical:?}"),
            format!(
                "its Azure name {n:?} is not 3-{max} lowercase letters, digits and single hyphens starting and ending with a letter or digit; rename it"
            ),
        ))
    }
}

/// A table name: the logical name without `-` and `_` (3-63 letters and digits, starting with a
/// letter).
pub fn table_name(logical: &str) -> Result<String> {
    let n: String = logical
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    let ok = (3..=63).contains(&n.len()) && n.starts_with(|c: char| c.is_ascii_alphabetic());
    if ok {
        Ok(n)
    } else {
        Err(Error::unsupported(
            format!("kv {logical:?}"),
            format!(
                "its Azure table name {n:?} is not 3-63 letters and digits starting with a letter; rename it"
            ),
        ))
    }
}

impl<'a> Model<'a> {
    /// Checks the description: known kinds and accesses, every trigger on a declared resource,
    /// names Azure accepts and that stay distinct, no blob trigger (Flex Consumption runs blob
    /// triggers only from Event Grid, which this generator does not set up yet).
    pub fn new(d: &'a Description, o: &'a AzureOptions) -> Result<Self> {
        o.check()?;
        let mut triggered = BTreeMap::new();
        for t in &d.triggers {
            match t {
                TriggerDescription::Queue { name } => {
                    triggered.insert(("queue", name.clone()), ());
                }
                TriggerDescription::Blob { name } => {
                    return Err(Error::unsupported(
                        format!("the blob trigger {name:?}"),
                        "the Flex Consumption plan runs blob triggers only from Event Grid (source: EventGrid, an Event Grid subscription to the blobs extension's webhook), which this cargo-cloudport does not generate yet; trigger from a queue the uploader sends to instead",
                    ));
                }
                TriggerDescription::Schedule { .. } => {}
                other => {
                    return Err(Error::unsupported(
                        format!("trigger {other:?}"),
                        "this cargo-cloudport does not know this kind of trigger; update it",
                    ));
                }
            }
        }
        let (mut queues, mut containers, mut tables) = (Vec::new(), Vec::new(), Vec::new());
        for r in &d.resources {
            let kind = r.kind.as_str();
            let mut access = r.access.clone();
            if triggered.remove(&(kind, r.name.clone())).is_some() {
                access.push("trigger".to_owned());
            }
            let words: Vec<&str> = access.iter().map(String::as_str).collect();
            roles::roles_for(kind, &words)?;
            let native = match kind {
                // Room for `-poison`.
                "queue" => dns_name("queue", &r.name, 63 - "-poison".len())?,
                "bucket" => dns_name("bucket", &r.name, 63)?,
                "kv" => table_name(&r.name)?,
                other => {
                    return Err(Error::unsupported(
                        format!("resource {:?} of kind {other:?}", r.name),
                        "unknown resource kind; update cargo-cloudport",
                    ));
                }
            };
            let res = AzResource {
                name: r.name.clone(),
                native,
                access,
                declaration: r.declaration.clone(),
                max_deliveries: r.dead_letter.as_ref().map(|dl| dl.max_deliveries.max(1)),
            };
            match kind {
                "queue" => queues.push(res),
                "bucket" => containers.push(res),
                _ => tables.push(res),
            }
        }
        if let Some(((kind, name), ())) = triggered.into_iter().next() {
            return Err(Error::Description(format!(
                "the {kind} trigger {name:?} has no resource entry"
            )));
        }
        for (kind, list) in [
            ("queue", &mut queues),
            ("bucket", &mut containers),
            ("kv", &mut tables),
        ] {
            list.sort_by(|a, b| a.name.cmp(&b.name));
            distinct(kind, list)?;
        }
        let poisons: Vec<String> = queues
            .iter()
            .map(|q| format!("{}-poison", q.native))
            .collect();
        if let Some(q) = queues.iter().find(|q| poisons.contains(&q.native)) {
            return Err(Error::unsupported(
                format!("queue {:?}", q.name),
                format!(
                    "its Azure name {:?} is another queue's poison queue; rename it",
                    q.native
                ),
            ));
        }
        Ok(Self {
            d,
            o,
            queues,
            containers,
            tables,
        })
    }

    /// Memory of one instance (MiB): the Flex Consumption size that holds the code's
    /// `memory_mb` — 512, 2048 (Azure's default, when unset) or 4096
    /// (<https://learn.microsoft.com/azure/azure-functions/flex-consumption-plan#instance-memory>).
    pub fn instance_memory_mb(&self) -> Result<u32> {
        match self.d.limits.memory_mb {
            None => Ok(2048),
            Some(m) if m <= 512 => Ok(512),
            Some(m) if m <= 2048 => Ok(2048),
            Some(m) if m <= 4096 => Ok(4096),
            Some(m) => Err(Error::unsupported(
                format!("memory_mb {m}"),
                "Flex Consumption instances have at most 4096 MB",
            )),
        }
    }

    /// The function timeout: the code's `timeout_seconds`, else [`DEFAULT_FUNCTION_TIMEOUT`].
    pub fn timeout(&self) -> std::time::Duration {
        self.d
            .limits
            .timeout_seconds
            .map_or(DEFAULT_FUNCTION_TIMEOUT, |s| {
                std::time::Duration::from_secs(u64::from(s))
            })
    }
}

fn distinct(kind: &str, list: &[AzResource]) -> Result<()> {
    for (i, a) in list.iter().enumerate() {
        if let Some(b) = list[i + 1..].iter().find(|b| b.native == a.native) {
            return Err(Error::unsupported(
                format!("{kind} {:?} and {:?}", a.name, b.name),
                format!("both map to the Azure name {:?}; rename one", a.native),
            ));
        }
    }
    Ok(())
}
