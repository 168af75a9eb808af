//! The app's description of itself: what deployment needs to know, as versioned JSON.
//!
//! Run an app binary with `CLOUDPORT_DESCRIBE=1` ([`DESCRIBE_VAR`]) and `App::run` prints its
//! [`Description`] on stdout and exits without opening anything. The deploy tool
//! (`cargo cloudport package`) reads it; no generator is linked into a function binary.

use serde::{Deserialize, Serialize};

use super::{App, Budget, Limits, Schedule};
use crate::ResourceKind;
use crate::access::{Access, AccessPolicy, Use};

/// The variable that makes `App::run` print the description and exit.
pub const DESCRIBE_VAR: &str = "CLOUDPORT_DESCRIBE";

/// The version of the description's format; a reader refuses a version it does not know.
pub const DESCRIPTION_VERSION: u32 = 1;

/// What an app is, for deployment: triggers, resources with their access and dead-letter
/// policies, limits and budget.
///
/// ```
/// use cloudport_core::{App, access::{kv, queue}};
/// let app = App::new()
///     .on_queue("orders", |_e, _env| async { Ok(()) })
///     .uses(kv("orders").read().write());
/// let d = app.describe();
/// assert!(d.declared);
/// let json = serde_json::to_value(&d).unwrap();
/// assert_eq!(json["cloudport_description"], 1);
/// assert_eq!(json["resources"][0]["kind"], "queue");
/// assert_eq!(json["resources"][0]["access"][0], "consume");
/// assert_eq!(json["resources"][0]["dead_letter"]["queue"], "orders-dlq");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Description {
    /// [`DESCRIPTION_VERSION`].
    pub cloudport_description: u32,
    /// The cloudport version that wrote it.
    pub sdk_version: String,
    /// Whether the app serves HTTP.
    pub http: bool,
    /// Whether the app takes every event no named trigger takes (`on_any_event`).
    pub any_event: bool,
    /// The [`App::on_event`](super::App::on_event) type patterns, exact types first (absent when
    /// none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub event_types: Vec<String>,
    /// The named triggers.
    pub triggers: Vec<TriggerDescription>,
    /// Whether the app declares its access ([`App::uses`]). When not, `resources` holds what its
    /// triggers and bindings suggest, and the deploy tool refuses to package it.
    pub declared: bool,
    /// Every resource, by kind then name, with its access (a trigger's included).
    pub resources: Vec<ResourceDescription>,
    /// Limits the code set.
    pub limits: Limits,
    /// The budget the code set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<Budget>,
}

/// A named trigger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum TriggerDescription {
    /// Messages of a queue.
    Queue {
        /// The queue's logical name.
        name: String,
    },
    /// Changes to a bucket.
    Blob {
        /// The bucket's logical name.
        name: String,
    },
    /// Events published to a topic (a subscription of this app's).
    Topic {
        /// The topic's logical name.
        name: String,
    },
    /// Ticks of a schedule: a six-field cron expression (seconds first, UTC) or an interval.
    Schedule {
        /// The schedule's name.
        name: String,
        /// `sec min hour day-of-month month day-of-week`, normalised.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cron: Option<String>,
        /// The interval, in seconds.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        every_seconds: Option<u64>,
        /// The interval's fraction of a second, in nanoseconds, when it has one (`every_seconds`
        /// holds the whole seconds), so a generator that needs a whole interval can refuse it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        every_subsec_nanos: Option<u32>,
    },
}

/// A resource and what the code does with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceDescription {
    /// `queue`, `bucket`, `kv` or `topic`.
    pub kind: String,
    /// The logical name (`CLOUDPORT_<KIND>_<NAME>` binds it).
    pub name: String,
    /// The rights: queue `send` / `consume`; bucket `read` / `write` / `delete` / `list`; KV
    /// `read` / `write`; topic `publish` / `subscribe`.
    pub access: Vec<String>,
    /// For queues: the dead-letter queue and deliveries before a message moves there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dead_letter: Option<DeadLetterDescription>,
    /// The Rust declaration (`queue("audit").send()`), for messages.
    pub declaration: String,
}

/// A queue's dead-letter policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetterDescription {
    /// The dead-letter queue's logical name.
    pub queue: String,
    /// Deliveries before a message moves there.
    pub max_deliveries: u32,
}

/// The word a description uses for a resource kind: `queue`, `bucket`, `kv`.
///
/// ```
/// use cloudport_core::{app::kind_word, ResourceKind};
/// assert_eq!(kind_word(ResourceKind::Kv), "kv");
/// ```
pub fn kind_word(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::Queue => "queue",
        ResourceKind::Bucket => "bucket",
        ResourceKind::Kv => "kv",
        ResourceKind::Topic => "topic",
    }
}

impl App {
    /// The access policy the app's handlers run under: its declarations, plus what each trigger
    /// implies (`consume` on a triggering queue, `read` on a triggering bucket). `None` when the
    /// app declares nothing (nothing is checked).
    pub fn access_policy(&self) -> Option<&std::sync::Arc<AccessPolicy>> {
        self.access
            .get_or_init(|| {
                (!self.uses.is_empty())
                    .then(|| std::sync::Arc::new(AccessPolicy::from_uses(self.all_uses())))
            })
            .as_ref()
    }

    /// The dead-letter policy of queue `name` for the hosts that dead-letter themselves (local,
    /// tests): the declared one ([`QueueUse::dead_letter`](crate::access::QueueUse::dead_letter),
    /// [`max_deliveries`](crate::access::QueueUse::max_deliveries)), else `<name>-dlq` after
    /// [`DEFAULT_MAX_DELIVERIES`](crate::env::DEFAULT_MAX_DELIVERIES) deliveries.
    ///
    /// ```
    /// use cloudport_core::{App, access::queue};
    /// let app = App::new().uses(queue("orders").send().max_deliveries(2));
    /// assert_eq!(app.dead_letter_policy("orders").max_deliveries, 2);
    /// assert_eq!(app.dead_letter_policy("audit").queue, "audit-dlq");
    /// ```
    pub fn dead_letter_policy(&self, name: &str) -> crate::access::DeadLetterPolicy {
        self.access_policy()
            .and_then(|p| p.declared(ResourceKind::Queue, name))
            .and_then(|d| d.dead_letter.clone())
            .unwrap_or_else(|| crate::access::DeadLetterPolicy {
                queue: format!("{name}-dlq"),
                max_deliveries: crate::env::DEFAULT_MAX_DELIVERIES,
            })
    }

    /// Declarations and what the triggers imply.
    fn all_uses(&self) -> Vec<Use> {
        let implied = self
            .queues
            .keys()
            .map(|q| crate::access::queue(q.clone()).consume().into_use())
            .chain(
                self.blobs
                    .keys()
                    .map(|b| crate::access::bucket(b.clone()).read().into_use()),
            )
            .chain(
                self.topics
                    .keys()
                    .map(|t| crate::access::topic(t.clone()).subscribe().into_use()),
            );
        implied.chain(self.uses.iter().cloned()).collect()
    }

    /// What deployment needs to know about this app ([`Description`]). An app that declares
    /// nothing is described with the resources its triggers and explicit bindings suggest,
    /// `declared: false`.
    pub fn describe(&self) -> Description {
        let suggested;
        let policy = match self.access_policy() {
            Some(p) => p.as_ref(),
            None => {
                suggested = AccessPolicy::from_uses(self.suggested_uses());
                &suggested
            }
        };
        let resources = policy
            .iter()
            .map(|(kind, name, declared)| ResourceDescription {
                kind: kind_word(kind).to_owned(),
                name: name.to_owned(),
                access: declared
                    .access
                    .names(kind)
                    .into_iter()
                    .map(str::to_owned)
                    .collect(),
                dead_letter: declared
                    .dead_letter
                    .as_ref()
                    .map(|d| DeadLetterDescription {
                        queue: d.queue.clone(),
                        max_deliveries: d.max_deliveries,
                    }),
                declaration: Use::described(kind, name, declared.access).to_code(),
            })
            .collect();
        let triggers = self
            .queues
            .keys()
            .map(|name| TriggerDescription::Queue { name: name.clone() })
            .chain(
                self.blobs
                    .keys()
                    .map(|name| TriggerDescription::Blob { name: name.clone() }),
            )
            .chain(
                self.topics
                    .keys()
                    .map(|name| TriggerDescription::Topic { name: name.clone() }),
            )
            .chain(self.schedules.iter().map(|(name, (schedule, _))| {
                TriggerDescription::Schedule {
                    name: name.clone(),
                    cron: schedule.cron_expression(),
                    every_seconds: match schedule {
                        Schedule::Every(d) => Some(d.as_secs()),
                        Schedule::Cron(_) => None,
                    },
                    every_subsec_nanos: match schedule {
                        Schedule::Every(d) if d.subsec_nanos() != 0 => Some(d.subsec_nanos()),
                        _ => None,
                    },
                }
            }))
            .collect();
        Description {
            cloudport_description: DESCRIPTION_VERSION,
            sdk_version: env!("CARGO_PKG_VERSION").to_owned(),
            http: self.http.is_some(),
            any_event: self.fallback.is_some(),
            event_types: self.events.patterns().collect(),
            triggers,
            declared: self.access_policy().is_some(),
            resources,
            limits: self.limits.clone(),
            budget: self.budget.clone(),
        }
    }

    /// For an app that declares nothing: its triggers' implied access, and every resource its
    /// environment binds explicitly, with every right of its kind (to be narrowed).
    fn suggested_uses(&self) -> Vec<Use> {
        let mut uses = self.all_uses();
        if let Some(env) = &self.env {
            for (kind, name) in env.bound_names() {
                let all = Access::all_names(kind)
                    .iter()
                    .fold(Access::NONE, |a, (_, b)| a | *b);
                uses.push(Use::described(kind, &name, all));
            }
        }
        uses
    }
}
