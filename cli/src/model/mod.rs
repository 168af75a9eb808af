//! The app's description, checked once for every cloud and indexed for the generators.
//!
//! [`Model::new`] holds the checks that mean the same on AWS, Azure and Google Cloud: known
//! trigger and resource kinds, logical names the SDK accepts, one entry per resource, every queue
//! and blob trigger on a declared resource, no schedule interval with a fraction of a second (no
//! cloud's scheduler fires at one), no dead-letter chain that comes back to its queue. It indexes
//! what every generator walks: queues (access, dead-letter policy, whether a trigger fires on
//! them), the dead-letter queues no declaration names, buckets, KV stores and schedules, each
//! list sorted by name.
//!
//! What is a cloud's own — its names, ids and limits, and which access words its permission
//! table maps ([`Model::check_access`] walks them for it) — each cloud's `Model` adds on top:
//! [`crate::aws::Model`], [`crate::gcp::Model`], [`crate::azure::model::Model`].
//!
//! ```
//! use cloudport_cli::model::Model;
//! let d = cloudport_cli::describe::parse(br#"{
//!     "cloudport_description": 1, "sdk_version": "0.1.0", "http": false, "any_event": false,
//!     "triggers": [{"kind": "queue", "name": "jobs"}], "declared": true,
//!     "resources": [{"kind": "queue", "name": "jobs", "access": ["consume"],
//!                    "dead_letter": {"queue": "jobs-dlq", "max_deliveries": 3},
//!                    "declaration": "queue(\"jobs\").consume()"}],
//!     "limits": {}
//! }"#).unwrap();
//! let m = Model::new(&d).unwrap();
//! assert!(m.queues[0].triggered);
//! assert_eq!(m.dead_letter_only, ["jobs-dlq"]);
//! ```

use std::collections::{BTreeMap, BTreeSet};

use cloudport_core::ResourceKind;
use cloudport_core::app::{DeadLetterDescription, Description, TriggerDescription, kind_word};

use crate::{Error, Result};

/// A declared resource, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    /// The logical name.
    pub name: String,
    /// Its access words, as the description lists them.
    pub access: Vec<String>,
    /// Queues: the dead-letter queue and the deliveries before a message moves there, as
    /// declared (each cloud maps the number to its own setting and range).
    pub dead_letter: Option<DeadLetterDescription>,
    /// Whether a trigger of the app fires on it.
    pub triggered: bool,
    /// The Rust declaration (`queue("audit").send()`), for descriptions and messages.
    pub declaration: String,
}

impl Resource {
    /// Whether the code has `access` on it.
    ///
    /// ```
    /// # let d = cloudport_cli::describe::parse(br#"{"cloudport_description": 1, "sdk_version": "0.1.0",
    /// #   "http": false, "any_event": false, "triggers": [], "declared": true, "limits": {},
    /// #   "resources": [{"kind": "kv", "name": "carts", "access": ["read"], "declaration": ""}]}"#).unwrap();
    /// let m = cloudport_cli::model::Model::new(&d).unwrap();
    /// assert!(m.stores[0].can("read") && !m.stores[0].can("write"));
    /// ```
    pub fn can(&self, access: &str) -> bool {
        self.access.iter().any(|a| a == access)
    }
}

/// A schedule: its name and a six-field cron expression or an interval in whole seconds.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ScheduleSpec {
    /// The schedule's name.
    pub name: String,
    /// `sec min hour day-of-month month day-of-week`.
    pub cron: Option<String>,
    /// The interval.
    pub every_seconds: Option<u64>,
}

/// The description, checked and indexed for the generators.
#[derive(Debug)]
pub struct Model<'a> {
    /// The description.
    pub d: &'a Description,
    /// Declared queues, by name.
    pub queues: Vec<Resource>,
    /// Dead-letter queues no declaration names, by name (sorted, once each).
    pub dead_letter_only: Vec<String>,
    /// Declared buckets, by name.
    pub buckets: Vec<Resource>,
    /// Declared KV stores, by name.
    pub stores: Vec<Resource>,
    /// Schedules, by name.
    pub schedules: Vec<ScheduleSpec>,
}

impl<'a> Model<'a> {
    /// Checks `d` (see the [module](self) for what) and indexes it.
    ///
    /// Fails with [`Error::Description`] for what no valid description has (a resource listed
    /// twice, a trigger without its resource, a name the SDK refuses) and
    /// [`Error::Unsupported`] for what this cargo-cloudport or no cloud can do.
    pub fn new(d: &'a Description) -> Result<Self> {
        let mut triggered = BTreeSet::new();
        let mut schedules = Vec::new();
        for t in &d.triggers {
            match t {
                TriggerDescription::Queue { name } => {
                    triggered.insert((ResourceKind::Queue, name.as_str()));
                }
                TriggerDescription::Blob { name } => {
                    triggered.insert((ResourceKind::Bucket, name.as_str()));
                }
                TriggerDescription::Schedule {
                    name,
                    cron,
                    every_seconds,
                    every_subsec_nanos,
                } => {
                    check_logical("schedule", name)?;
                    if every_subsec_nanos.is_some_and(|n| n != 0) {
                        return Err(Error::unsupported(
                            format!("schedule {name:?}"),
                            "its interval has a fraction of a second; no cloud scheduler fires at one (EventBridge and Cloud Scheduler fire on whole minutes, Azure's timer on whole seconds)",
                        ));
                    }
                    schedules.push(ScheduleSpec {
                        name: name.clone(),
                        cron: cron.clone(),
                        every_seconds: *every_seconds,
                    });
                }
                TriggerDescription::Topic { name } => {
                    return Err(topics_not_deployed(name));
                }
                other => {
                    return Err(Error::unsupported(
                        format!("trigger {other:?}"),
                        "this cargo-cloudport does not know this kind of trigger; update it",
                    ));
                }
            }
        }
        schedules.sort();
        let (mut queues, mut buckets, mut stores) = (Vec::new(), Vec::new(), Vec::new());
        let mut seen = BTreeSet::new();
        for r in &d.resources {
            let kind = kind_of(&r.kind).ok_or_else(|| {
                Error::unsupported(
                    format!("resource {:?} of kind {:?}", r.name, r.kind),
                    "unknown resource kind; update cargo-cloudport",
                )
            })?;
            check_logical(kind_word(kind), &r.name)?;
            if !seen.insert((kind, r.name.as_str())) {
                return Err(Error::Description(format!(
                    "{} {:?} is listed twice",
                    kind_word(kind),
                    r.name
                )));
            }
            let dead_letter = match (&r.dead_letter, kind) {
                (Some(dl), ResourceKind::Queue) => {
                    check_logical("queue", &dl.queue)?;
                    Some(dl.clone())
                }
                _ => None,
            };
            let res = Resource {
                name: r.name.clone(),
                access: r.access.clone(),
                dead_letter,
                triggered: triggered.remove(&(kind, r.name.as_str())),
                declaration: r.declaration.clone(),
            };
            match kind {
                ResourceKind::Queue => queues.push(res),
                ResourceKind::Bucket => buckets.push(res),
                ResourceKind::Kv => stores.push(res),
                ResourceKind::Topic => return Err(topics_not_deployed(&r.name)),
            }
        }
        if let Some((kind, name)) = triggered.into_iter().next() {
            return Err(Error::Description(format!(
                "the {} trigger {name:?} has no resource entry",
                kind_word(kind)
            )));
        }
        for list in [&mut queues, &mut buckets, &mut stores] {
            list.sort_by(|a, b| a.name.cmp(&b.name));
        }
        let mut dead_letter_only: Vec<String> = queues
            .iter()
            .filter_map(|q| q.dead_letter.as_ref().map(|dl| dl.queue.clone()))
            .filter(|dl| !queues.iter().any(|q| &q.name == dl))
            .collect();
        dead_letter_only.sort();
        dead_letter_only.dedup();
        check_no_dead_letter_cycle(&queues)?;
        Ok(Self {
            d,
            queues,
            dead_letter_only,
            buckets,
            stores,
            schedules,
        })
    }

    /// Every declared resource with its kind: queues, buckets, then stores, each by name.
    pub fn resources(&self) -> impl Iterator<Item = (ResourceKind, &Resource)> {
        fn of(
            kind: ResourceKind,
            list: &[Resource],
        ) -> impl Iterator<Item = (ResourceKind, &Resource)> {
            list.iter().map(move |r| (kind, r))
        }
        of(ResourceKind::Queue, &self.queues)
            .chain(of(ResourceKind::Bucket, &self.buckets))
            .chain(of(ResourceKind::Kv, &self.stores))
    }

    /// Runs a cloud's permission table over every (kind word, access word) the description
    /// declares — `lookup` fails for a pair the cloud has no mapping for, with the cloud's own
    /// message — so an access word is "known" exactly when every generator can grant it.
    ///
    /// ```
    /// # let d = cloudport_cli::describe::parse(br#"{"cloudport_description": 1, "sdk_version": "0.1.0",
    /// #   "http": false, "any_event": false, "triggers": [], "declared": true, "limits": {},
    /// #   "resources": [{"kind": "kv", "name": "carts", "access": ["admin"], "declaration": ""}]}"#).unwrap();
    /// let m = cloudport_cli::model::Model::new(&d).unwrap();
    /// assert!(m.check_access(cloudport_cli::aws::iam::grants).is_err());
    /// ```
    pub fn check_access<T>(&self, lookup: impl Fn(&str, &str) -> Result<T>) -> Result<()> {
        for (kind, r) in self.resources() {
            for a in &r.access {
                lookup(kind_word(kind), a)?;
            }
        }
        Ok(())
    }
}

/// The kind of a description's kind word (`queue`, `bucket`, `kv`).
pub fn kind_of(word: &str) -> Option<ResourceKind> {
    [
        ResourceKind::Queue,
        ResourceKind::Bucket,
        ResourceKind::Kv,
        ResourceKind::Topic,
    ]
    .into_iter()
    .find(|k| kind_word(*k) == word)
}

/// Topics (`App::on_topic`, `topic(..)` declarations) run on every host but no generator
/// creates them yet: refused by name, never dropped from a deployment.
fn topics_not_deployed(name: &str) -> Error {
    Error::unsupported(
        format!("topic {name:?}"),
        "topics are not deployed yet by cargo-cloudport: create the topic and its subscriptions yourself and bind it with CLOUDPORT_TOPIC_<NAME>",
    )
}

/// Checks a logical name the way the SDK does ([`cloudport_core::validate::logical_name`]:
/// 1-63 ASCII letters, digits, `-` and `_`, starting with a letter or digit), naming its `kind`
/// in the [`Error::Description`].
///
/// ```
/// use cloudport_cli::model::check_logical;
/// assert!(check_logical("queue", "orders-dlq").is_ok());
/// assert!(check_logical("queue", "a/b").is_err());
/// ```
pub fn check_logical(kind: &str, name: &str) -> Result<()> {
    cloudport_core::validate::logical_name(name)
        .map_err(|e| Error::Description(format!("{kind} {}", e.message())))
}

/// Refuses a dead-letter chain that comes back to a queue it left (no cloud could create the
/// queues, and messages would circle).
pub fn check_no_dead_letter_cycle(queues: &[Resource]) -> Result<()> {
    let next: BTreeMap<&str, &str> = queues
        .iter()
        .filter_map(|q| {
            q.dead_letter
                .as_ref()
                .map(|dl| (q.name.as_str(), dl.queue.as_str()))
        })
        .collect();
    for start in next.keys() {
        let mut at = *start;
        let mut seen = BTreeSet::new();
        while let Some(n) = next.get(at) {
            if !seen.insert(at) || n == start {
                return Err(Error::unsupported(
                    format!("queue {start:?}"),
                    "its dead-letter queues lead back to it; give the last one a dead-letter queue of its own",
                ));
            }
            at = n;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
