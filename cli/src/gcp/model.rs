//! The description, checked and indexed for the Google Cloud generators.

use std::collections::{BTreeMap, BTreeSet};

use cloudport_core::app::{Description, TriggerDescription};

use super::names::{check_logical, check_service_name, local};
use super::{GcpOptions, iam};
use crate::{Error, Result};

/// Memory when the code sets none (MiB).
pub const DEFAULT_MEMORY_MB: u32 = 128;
/// Timeout when the code sets none (s).
pub const DEFAULT_TIMEOUT_SECONDS: u32 = 30;
/// Cloud Run's longest request timeout, 3600 s (source:
/// <https://cloud.google.com/run/docs/configuring/request-timeout>).
pub const MAX_TIMEOUT_SECONDS: u32 = 3600;
/// Pub/Sub's range of `maxDeliveryAttempts` (source:
/// <https://cloud.google.com/pubsub/docs/handling-failures#dead_letter_topic>: "between 5 and 100").
pub const DELIVERY_ATTEMPTS: std::ops::RangeInclusive<u32> = 5..=100;

/// A declared resource.
#[derive(Debug, Clone)]
pub struct Resource {
    /// The logical name.
    pub name: String,
    /// Its access words.
    pub access: Vec<String>,
    /// Queues: the dead-letter queue's logical name and the delivery attempts before a message
    /// moves there.
    pub dead_letter: Option<(String, u32)>,
    /// Whether a trigger of the app fires on it.
    pub triggered: bool,
}

impl Resource {
    /// Whether the code has `access` on it.
    pub fn can(&self, access: &str) -> bool {
        self.access.iter().any(|a| a == access)
    }
}

/// A schedule: name, six-field cron or interval in seconds.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ScheduleSpec {
    /// The schedule's name.
    pub name: String,
    /// `sec min hour day-of-month month day-of-week`.
    pub cron: Option<String>,
    /// The interval.
    pub every_seconds: Option<u64>,
}

/// The description, checked.
#[derive(Debug)]
pub struct Model<'a> {
    /// The description.
    pub d: &'a Description,
    /// The options.
    pub o: &'a GcpOptions,
    /// The service name.
    pub service: String,
    /// Declared queues, by name.
    pub queues: Vec<Resource>,
    /// Dead-letter queues no declaration names (created with a subscription that keeps them).
    pub dead_letter_only: Vec<String>,
    /// Declared buckets, by name.
    pub buckets: Vec<Resource>,
    /// Declared KV stores, by name.
    pub stores: Vec<Resource>,
    /// Schedules, by name.
    pub schedules: Vec<ScheduleSpec>,
}

impl<'a> Model<'a> {
    /// Checks the description: known kinds and access words, one entry per resource, every
    /// queue and blob trigger on a declared resource, names that fit, dead-letter attempts that
    /// Pub/Sub takes, no dead-letter cycle, limits Cloud Run has.
    pub fn new(d: &'a Description, o: &'a GcpOptions) -> Result<Self> {
        check_service_name(&o.service_name)?;
        let mut triggered = BTreeSet::new();
        let mut schedules = Vec::new();
        for t in &d.triggers {
            match t {
                TriggerDescription::Queue { name } => {
                    triggered.insert(("queue", name.clone()));
                }
                TriggerDescription::Blob { name } => {
                    triggered.insert(("bucket", name.clone()));
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
                            "its interval has a fraction of a second; Cloud Scheduler fires on whole minutes",
                        ));
                    }
                    schedules.push(ScheduleSpec {
                        name: name.clone(),
                        cron: cron.clone(),
                        every_seconds: *every_seconds,
                    });
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
            let kind = match r.kind.as_str() {
                "queue" => "queue",
                "bucket" => "bucket",
                "kv" => "kv",
                other => {
                    return Err(Error::unsupported(
                        format!("resource {:?} of kind {other:?}", r.name),
                        "unknown resource kind; update cargo-cloudport",
                    ));
                }
            };
            check_logical(kind, &r.name)?;
            if !seen.insert((kind, r.name.clone())) {
                return Err(Error::Description(format!(
                    "{kind} {:?} is listed twice",
                    r.name
                )));
            }
            for a in &r.access {
                iam::role(kind, a)?;
            }
            let dead_letter = match (&r.dead_letter, kind) {
                (Some(dl), "queue") => {
                    check_logical("queue", &dl.queue)?;
                    if !DELIVERY_ATTEMPTS.contains(&dl.max_deliveries) {
                        return Err(Error::unsupported(
                            format!("queue {:?}: max_deliveries {}", r.name, dl.max_deliveries),
                            format!(
                                "Pub/Sub's dead-letter policy takes {}-{} delivery attempts; set .max_deliveries(n) within that range (refused rather than changed: the code's number would not hold)",
                                DELIVERY_ATTEMPTS.start(),
                                DELIVERY_ATTEMPTS.end()
                            ),
                        ));
                    }
                    Some((dl.queue.clone(), dl.max_deliveries))
                }
                _ => None,
            };
            let res = Resource {
                name: r.name.clone(),
                access: r.access.clone(),
                dead_letter,
                triggered: triggered.remove(&(kind, r.name.clone())),
            };
            match kind {
                "queue" => queues.push(res),
                "bucket" => buckets.push(res),
                _ => stores.push(res),
            }
        }
        if let Some((kind, name)) = triggered.into_iter().next() {
            return Err(Error::Description(format!(
                "the {kind} trigger {name:?} has no resource entry"
            )));
        }
        for list in [&mut queues, &mut buckets, &mut stores] {
            list.sort_by(|a, b| a.name.cmp(&b.name));
        }
        let mut dead_letter_only: Vec<String> = queues
            .iter()
            .filter_map(|q| q.dead_letter.as_ref().map(|(dl, _)| dl.clone()))
            .filter(|dl| !queues.iter().any(|q| &q.name == dl))
            .collect();
        dead_letter_only.sort();
        dead_letter_only.dedup();
        check_no_dead_letter_cycle(&queues)?;
        let m = Self {
            d,
            o,
            service: o.service_name.clone(),
            queues,
            dead_letter_only,
            buckets,
            stores,
            schedules,
        };
        m.cpu()?;
        if m.timeout_seconds() > MAX_TIMEOUT_SECONDS || m.timeout_seconds() == 0 {
            return Err(Error::unsupported(
                format!("timeout {} s", m.timeout_seconds()),
                format!("Cloud Run's request timeout is 1-{MAX_TIMEOUT_SECONDS} s"),
            ));
        }
        Ok(m)
    }

    /// Memory (MiB): the code's limit, default 128.
    pub fn memory_mb(&self) -> u32 {
        self.d.limits.memory_mb.unwrap_or(DEFAULT_MEMORY_MB)
    }

    /// Timeout (s): the code's limit, default 30.
    pub fn timeout_seconds(&self) -> u32 {
        self.d
            .limits
            .timeout_seconds
            .unwrap_or(DEFAULT_TIMEOUT_SECONDS)
    }

    /// The CPUs the memory needs: Cloud Run requires at least 2 CPUs over 4 GiB, 4 over 8 GiB,
    /// 6 over 16 GiB, 8 over 24 GiB, and takes at most 32 GiB, at least 128 MiB (source:
    /// <https://cloud.google.com/run/docs/configuring/services/memory-limits>).
    pub fn cpu(&self) -> Result<&'static str> {
        Ok(match self.memory_mb() {
            128..=4096 => "1",
            4097..=8192 => "2",
            8193..=16384 => "4",
            16385..=24576 => "6",
            24577..=32768 => "8",
            mb => {
                return Err(Error::unsupported(
                    format!("memory {mb} MiB"),
                    "Cloud Run instances have 128 MiB to 32 GiB",
                ));
            }
        })
    }

    /// The Terraform local name of the app's Firestore database, when it has KV stores.
    pub fn database_local(&self) -> Option<String> {
        (!self.stores.is_empty()).then(|| "database".to_owned())
    }

    /// Every queue's name with its topic's local name: declared ones, then dead-letter-only ones.
    pub fn topics(&self) -> Vec<(String, String)> {
        self.queues
            .iter()
            .map(|q| q.name.clone())
            .chain(self.dead_letter_only.iter().cloned())
            .map(|n| {
                let l = local("queue", &n);
                (n, l)
            })
            .collect()
    }
}

/// Refuses a dead-letter chain that comes back to a queue it left.
fn check_no_dead_letter_cycle(queues: &[Resource]) -> Result<()> {
    let next: BTreeMap<&str, &str> = queues
        .iter()
        .filter_map(|q| {
            q.dead_letter
                .as_ref()
                .map(|(d, _)| (q.name.as_str(), d.as_str()))
        })
        .collect();
    for start in next.keys() {
        let mut at = *start;
        let mut seen = BTreeSet::new();
        while let Some(n) = next.get(at) {
            if !seen.insert(at) || *n == *start {
                return Err(Error::unsupported(
                    format!("queue {start:?}"),
                    "its dead-letter chain comes back to it; a dead-letter queue must not dead-letter into its source",
                ));
            }
            at = n;
        }
    }
    Ok(())
}
