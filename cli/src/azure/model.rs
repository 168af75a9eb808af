//! The description checked for Azure: the deployment options, every resource with its native
//! name (queue, container and table names follow Azure's rules, which are narrower than
//! cloudport's logical names) and whether a trigger fires on it.

use std::collections::BTreeMap;

use cloudport_core::ResourceKind;
use cloudport_core::app::{Description, kind_word};
use cloudport_core::platform::azure::{DEFAULT_FUNCTION_TIMEOUT, DEFAULT_ROUTE_PREFIX};

use super::roles;
use crate::model::Resource;
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

/// A declared resource with its Azure name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AzResource<'m> {
    /// The resource, as every cloud checks it.
    pub r: &'m Resource,
    /// The queue, container or table name.
    pub native: &'m str,
}

impl AzResource<'_> {
    /// The description's access words, plus `trigger` when a trigger fires on it: the rows of
    /// [`roles::GRANTS`] it needs.
    pub fn accesses(&self) -> Vec<&str> {
        access_words(self.r)
    }

    /// Whether the app (or the Functions host for it) takes messages off this queue, so it
    /// dead-letters into `<queue>-poison`.
    pub fn consumed(&self) -> bool {
        self.r.triggered || self.r.can("consume")
    }

    /// Queues: the declared deliveries before a message is dead-lettered.
    pub fn max_deliveries(&self) -> Option<u32> {
        self.r
            .dead_letter
            .as_ref()
            .map(|dl| dl.max_deliveries.max(1))
    }
}

/// The checked description.
#[derive(Debug)]
pub struct Model<'a> {
    /// The description, checked and indexed the same way for every cloud.
    pub app: crate::model::Model<'a>,
    /// The options.
    pub o: &'a AzureOptions,
    /// The Azure name of each resource, by kind and logical name.
    natives: BTreeMap<(ResourceKind, String), String>,
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
    /// Checks the options and the description ([`crate::model::Model::new`]), then what is
    /// Azure's own: every access has its roles ([`roles::roles_for`]), names Azure accepts that
    /// stay distinct (and no queue named like another's poison queue).
    pub fn new(d: &'a Description, o: &'a AzureOptions) -> Result<Self> {
        o.check()?;
        let app = crate::model::Model::new(d)?;
        let mut natives: BTreeMap<(ResourceKind, String), String> = BTreeMap::new();
        for (kind, r) in app.resources() {
            let word = kind_word(kind);
            roles::roles_for(word, &access_words(r))?;
            let native = native_name(kind, &r.name)?;
            if let Some(((_, other), _)) = natives
                .iter()
                .find(|((k, _), n)| *k == kind && **n == native)
            {
                return Err(Error::unsupported(
                    format!("{word} {other:?} and {:?}", r.name),
                    format!("both map to the Azure name {native:?}; rename one"),
                ));
            }
            natives.insert((kind, r.name.clone()), native);
        }
        let blob_triggers = app.buckets.iter().any(|b| b.triggered);
        check_queue_names(&natives, blob_triggers)?;
        Ok(Self { app, o, natives })
    }

    /// The declared resources of `kind` with their Azure names, by logical name.
    pub fn resources(&self, kind: ResourceKind) -> Vec<AzResource<'_>> {
        let list = match kind {
            ResourceKind::Queue => &self.app.queues,
            ResourceKind::Bucket => &self.app.buckets,
            ResourceKind::Kv => &self.app.stores,
            // The model refuses topics before any generator runs.
            ResourceKind::Topic => return Vec::new(),
        };
        list.iter()
            .filter_map(|r| {
                let native = self.natives.get(&(kind, r.name.clone()))?;
                Some(AzResource { r, native })
            })
            .collect()
    }

    /// The queues with their Azure names.
    pub fn queues(&self) -> Vec<AzResource<'_>> {
        self.resources(ResourceKind::Queue)
    }

    /// The blob containers with their Azure names.
    pub fn containers(&self) -> Vec<AzResource<'_>> {
        self.resources(ResourceKind::Bucket)
    }

    /// The containers a blob trigger fires on, with their Azure names.
    pub fn blob_triggers(&self) -> Vec<AzResource<'_>> {
        self.containers()
            .into_iter()
            .filter(|c| c.r.triggered)
            .collect()
    }

    /// The tables with their Azure names.
    pub fn tables(&self) -> Vec<AzResource<'_>> {
        self.resources(ResourceKind::Kv)
    }

    /// Memory of one instance (MiB): the Flex Consumption size that holds the code's
    /// `memory_mb` — 512, 2048 (Azure's default, when unset) or 4096
    /// (<https://learn.microsoft.com/azure/azure-functions/flex-consumption-plan#instance-memory>).
    pub fn instance_memory_mb(&self) -> Result<u32> {
        match self.app.d.limits.memory_mb {
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
        self.app
            .d
            .limits
            .timeout_seconds
            .map_or(DEFAULT_FUNCTION_TIMEOUT, |s| {
                std::time::Duration::from_secs(u64::from(s))
            })
    }
}

/// The access words of `r`, plus `trigger` when a trigger fires on it.
fn access_words(r: &Resource) -> Vec<&str> {
    let mut words: Vec<&str> = r.access.iter().map(String::as_str).collect();
    if r.triggered {
        words.push("trigger");
    }
    words
}

/// The Azure name of a resource: queues leave room for `-poison`.
fn native_name(kind: ResourceKind, logical: &str) -> Result<String> {
    match kind {
        ResourceKind::Queue => dns_name("queue", logical, 63 - "-poison".len()),
        ResourceKind::Bucket => dns_name("bucket", logical, 63),
        ResourceKind::Kv => table_name(logical),
        ResourceKind::Topic => Err(Error::unsupported(
            format!("topic {logical:?}"),
            "topics are not deployed yet by cargo-cloudport",
        )),
    }
}

/// Refuses a queue named like another queue's `<queue>-poison`, or like the blob trigger's
/// poison queue when the app has a blob trigger: the template creates those.
fn check_queue_names(
    natives: &BTreeMap<(ResourceKind, String), String>,
    blob_triggers: bool,
) -> Result<()> {
    let queues: Vec<(&str, &str)> = natives
        .iter()
        .filter(|((k, _), _)| *k == ResourceKind::Queue)
        .map(|((_, name), native)| (name.as_str(), native.as_str()))
        .collect();
    let poisons: Vec<String> = queues.iter().map(|(_, n)| format!("{n}-poison")).collect();
    for (name, native) in &queues {
        let taken = if poisons.iter().any(|p| p == native) {
            "another queue's poison queue"
        } else if blob_triggers && *native == roles::BLOB_TRIGGER_POISON_QUEUE {
            "the blob trigger's poison queue"
        } else {
            continue;
        };
        return Err(Error::unsupported(
            format!("queue {name:?}"),
            format!("its Azure name {native:?} is {taken}; rename it"),
        ));
    }
    Ok(())
}
