//! Declared access: each logical resource the function code uses, and for what.
//!
//! An app declares its resources next to its triggers with [`App::uses`](crate::App::uses):
//!
//! ```
//! use cloudport_core::App;
//! use cloudport_core::access::{bucket, kv, queue};
//!
//! let app = App::new()
//!     .on_queue("orders", |_event, _env| async { Ok(()) }) // implies queue("orders").consume()
//!     .uses(queue("audit").send())
//!     .uses(bucket("receipts").read().write())
//!     .uses(kv("orders").read().write());
//! # let _ = app;
//! ```
//!
//! With declarations present, every portable operation outside them fails with
//! [`ErrorKind::PermissionDenied`] before any driver call, on every provider — so a unit test on
//! the memory provider proves that the policy generated from the same declarations is enough. An
//! app that declares nothing is not checked (and the deploy tool refuses it). The check is one
//! bit test per operation (`benches/memory_provider.rs` measures it).
//!
//! The escape hatches ([`Queue::driver`](crate::Queue::driver), `native`) are not checked: code
//! that uses them declares what they do by hand.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::env::DEFAULT_MAX_DELIVERIES;
use crate::{Error, ErrorKind, ResourceKind, Result};

/// A set of access rights on one resource. The bits mean different things per [`ResourceKind`]:
/// the constants say which kind they belong to.
///
/// ```
/// use cloudport_core::access::Access;
/// let rw = Access::BUCKET_READ | Access::BUCKET_WRITE;
/// assert!(rw.contains(Access::BUCKET_READ));
/// assert!(!rw.contains(Access::BUCKET_DELETE));
/// assert_eq!(rw.names(cloudport_core::ResourceKind::Bucket), ["read", "write"]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Access(u8);

impl Access {
    /// Nothing.
    pub const NONE: Access = Access(0);
    /// Queue: send messages.
    pub const QUEUE_SEND: Access = Access(1);
    /// Queue: receive, ack, nack, extend leases and dead-letter messages.
    pub const QUEUE_CONSUME: Access = Access(2);
    /// Bucket: get, head and check objects.
    pub const BUCKET_READ: Access = Access(1);
    /// Bucket: put objects (single or multi-part).
    pub const BUCKET_WRITE: Access = Access(2);
    /// Bucket: delete objects.
    pub const BUCKET_DELETE: Access = Access(4);
    /// Bucket: list objects.
    pub const BUCKET_LIST: Access = Access(8);
    /// KV store: get and scan entries.
    pub const KV_READ: Access = Access(1);
    /// KV store: put, update and delete entries.
    pub const KV_WRITE: Access = Access(2);
    /// Topic: publish events.
    pub const TOPIC_PUBLISH: Access = Access(1);
    /// Topic: receive its events through a subscription (implied by a topic trigger).
    pub const TOPIC_SUBSCRIBE: Access = Access(2);

    /// Whether every right of `other` is in `self`.
    pub const fn contains(self, other: Access) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether no right is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The rights of `self` and `other`.
    pub const fn union(self, other: Access) -> Access {
        Access(self.0 | other.0)
    }

    /// The rights a resource of `kind` can have, by name, in a fixed order.
    pub fn all_names(kind: ResourceKind) -> &'static [(&'static str, Access)] {
        match kind {
            ResourceKind::Queue => &[("send", Self::QUEUE_SEND), ("consume", Self::QUEUE_CONSUME)],
            ResourceKind::Bucket => &[
                ("read", Self::BUCKET_READ),
                ("write", Self::BUCKET_WRITE),
                ("delete", Self::BUCKET_DELETE),
                ("list", Self::BUCKET_LIST),
            ],
            ResourceKind::Kv => &[("read", Self::KV_READ), ("write", Self::KV_WRITE)],
            ResourceKind::Topic => &[
                ("publish", Self::TOPIC_PUBLISH),
                ("subscribe", Self::TOPIC_SUBSCRIBE),
            ],
        }
    }

    /// The names of the rights set, for a resource of `kind` (`["read", "write"]`).
    pub fn names(self, kind: ResourceKind) -> Vec<&'static str> {
        Self::all_names(kind)
            .iter()
            .filter(|(_, a)| self.contains(*a))
            .map(|(n, _)| *n)
            .collect()
    }

    /// The right named `name` on a resource of `kind`.
    ///
    /// ```
    /// use cloudport_core::{access::Access, ResourceKind};
    /// assert_eq!(Access::from_name(ResourceKind::Queue, "send"), Some(Access::QUEUE_SEND));
    /// assert_eq!(Access::from_name(ResourceKind::Queue, "read"), None);
    /// ```
    pub fn from_name(kind: ResourceKind, name: &str) -> Option<Access> {
        Self::all_names(kind)
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, a)| *a)
    }
}

impl std::ops::BitOr for Access {
    type Output = Access;
    fn bitor(self, rhs: Access) -> Access {
        self.union(rhs)
    }
}

impl std::ops::BitOrAssign for Access {
    fn bitor_assign(&mut self, rhs: Access) {
        *self = self.union(rhs);
    }
}

/// One declaration: a logical resource, the access the code needs, and (queues) its
/// dead-letter policy. Made by [`queue`], [`bucket`], [`kv`] and [`topic`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Use {
    kind: ResourceKind,
    name: String,
    access: Access,
    dead_letter: Option<String>,
    max_deliveries: Option<u32>,
}

impl Use {
    fn new(kind: ResourceKind, name: impl Into<String>) -> Self {
        Self {
            kind,
            name: name.into(),
            access: Access::NONE,
            dead_letter: None,
            max_deliveries: None,
        }
    }

    /// A use with these rights, for descriptions.
    pub(crate) fn described(kind: ResourceKind, name: &str, access: Access) -> Self {
        let mut u = Self::new(kind, name);
        u.access = access;
        u
    }

    /// Checks the declaration: a logical name, at least one right, a dead-letter queue with a
    /// logical name, at least one delivery before dead-lettering. `App::uses` reports what fails
    /// when the app is validated, instead of declaring nothing (every operation denied) or a
    /// policy deployment would change silently.
    ///
    /// ```
    /// use cloudport_core::access::queue;
    /// assert!(queue("audit").send().into_use().check().is_ok());
    /// let none = queue("audit").into_use().check().unwrap_err();
    /// assert!(none.message().contains(r#"queue("audit").send()"#), "{none}");
    /// assert!(queue("audit").send().max_deliveries(0).into_use().check().is_err());
    /// assert!(queue("audit").send().dead_letter("bad name").into_use().check().is_err());
    /// ```
    pub fn check(&self) -> Result<()> {
        crate::validate::logical_name(&self.name)?;
        if self.access.is_empty() {
            let rights: Vec<String> = Access::all_names(self.kind)
                .iter()
                .map(|(n, _)| format!(".{n}()"))
                .collect();
            return Err(Error::invalid(format!(
                "{}({:?}) declares no access: add what the handlers do with it, one or more of {} (for example {}.{}())",
                crate::app::kind_word(self.kind),
                self.name,
                rights.join(", "),
                self.to_code(),
                Access::all_names(self.kind)[0].0
            )));
        }
        if let Some(dead_letter) = &self.dead_letter {
            crate::validate::logical_name(dead_letter)
                .map_err(|e| e.prefixed(format_args!("dead-letter queue of {:?}", self.name)))?;
        }
        if self.max_deliveries == Some(0) {
            return Err(Error::invalid(format!(
                "queue {:?}: max_deliveries must be at least 1 (the first delivery counts)",
                self.name
            )));
        }
        Ok(())
    }

    /// The resource's kind.
    pub fn kind(&self) -> ResourceKind {
        self.kind
    }

    /// The resource's logical name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The access declared.
    pub fn access(&self) -> Access {
        self.access
    }

    /// The Rust expression that declares this use: `queue("audit").send()`.
    ///
    /// ```
    /// use cloudport_core::access::bucket;
    /// assert_eq!(bucket("receipts").read().list().into_use().to_code(), r#"bucket("receipts").read().list()"#);
    /// ```
    pub fn to_code(&self) -> String {
        let mut code = format!("{}({:?})", crate::app::kind_word(self.kind), self.name);
        for name in self.access.names(self.kind) {
            code.push_str(&format!(".{name}()"));
        }
        code
    }
}

/// Declares a queue: `queue("audit").send()`. A queue trigger implies `consume` on its queue.
///
/// ```
/// use cloudport_core::access::queue;
/// let audit = queue("audit").send().consume().max_deliveries(3);
/// assert_eq!(audit.into_use().to_code(), r#"queue("audit").send().consume()"#);
/// ```
pub fn queue(name: impl Into<String>) -> QueueUse {
    QueueUse(Use::new(ResourceKind::Queue, name))
}

/// Declares a bucket: `bucket("receipts").read().write()`. A blob trigger implies `read`.
///
/// ```
/// use cloudport_core::access::bucket;
/// let receipts = bucket("receipts").read().write().delete().list();
/// assert_eq!(receipts.into_use().access().names(cloudport_core::ResourceKind::Bucket).len(), 4);
/// ```
pub fn bucket(name: impl Into<String>) -> BucketUse {
    BucketUse(Use::new(ResourceKind::Bucket, name))
}

/// Declares a key-value store: `kv("orders").read().write()`.
///
/// ```
/// use cloudport_core::access::kv;
/// assert_eq!(kv("orders").read().into_use().to_code(), r#"kv("orders").read()"#);
/// ```
pub fn kv(name: impl Into<String>) -> KvUse {
    KvUse(Use::new(ResourceKind::Kv, name))
}

/// Declares a topic: `topic("audit").publish()`. A topic trigger implies `subscribe`.
///
/// ```
/// use cloudport_core::access::topic;
/// assert_eq!(topic("audit").publish().into_use().to_code(), r#"topic("audit").publish()"#);
/// ```
pub fn topic(name: impl Into<String>) -> TopicUse {
    TopicUse(Use::new(ResourceKind::Topic, name))
}

/// A topic declaration being built ([`topic`]).
#[derive(Debug, Clone)]
#[must_use = "pass it to App::uses"]
pub struct TopicUse(Use);

impl TopicUse {
    /// Publishes events.
    pub fn publish(mut self) -> Self {
        self.0.access |= Access::TOPIC_PUBLISH;
        self
    }

    /// Receives the topic's events through a subscription (implied by a topic trigger).
    pub fn subscribe(mut self) -> Self {
        self.0.access |= Access::TOPIC_SUBSCRIBE;
        self
    }

    /// The declaration.
    pub fn into_use(self) -> Use {
        self.0
    }
}

impl From<TopicUse> for Use {
    fn from(u: TopicUse) -> Use {
        u.0
    }
}

/// A queue declaration being built ([`queue`]).
#[derive(Debug, Clone)]
#[must_use = "pass it to App::uses"]
pub struct QueueUse(Use);

impl QueueUse {
    /// Sends messages.
    pub fn send(mut self) -> Self {
        self.0.access |= Access::QUEUE_SEND;
        self
    }

    /// Receives and settles messages (implied by a queue trigger).
    pub fn consume(mut self) -> Self {
        self.0.access |= Access::QUEUE_CONSUME;
        self
    }

    /// The dead-letter queue's logical name (default `<name>-dlq`).
    pub fn dead_letter(mut self, name: impl Into<String>) -> Self {
        self.0.dead_letter = Some(name.into());
        self
    }

    /// Deliveries before a message is dead-lettered (default
    /// [`DEFAULT_MAX_DELIVERIES`]); deployment writes it into the queue's redrive policy.
    pub fn max_deliveries(mut self, n: u32) -> Self {
        self.0.max_deliveries = Some(n);
        self
    }

    /// The declaration.
    pub fn into_use(self) -> Use {
        self.0
    }
}

/// A bucket declaration being built ([`bucket`]).
#[derive(Debug, Clone)]
#[must_use = "pass it to App::uses"]
pub struct BucketUse(Use);

impl BucketUse {
    /// Gets objects and their metadata (implied by a blob trigger).
    pub fn read(mut self) -> Self {
        self.0.access |= Access::BUCKET_READ;
        self
    }

    /// Puts objects.
    pub fn write(mut self) -> Self {
        self.0.access |= Access::BUCKET_WRITE;
        self
    }

    /// Deletes objects.
    pub fn delete(mut self) -> Self {
        self.0.access |= Access::BUCKET_DELETE;
        self
    }

    /// Lists objects.
    pub fn list(mut self) -> Self {
        self.0.access |= Access::BUCKET_LIST;
        self
    }

    /// The declaration.
    pub fn into_use(self) -> Use {
        self.0
    }
}

/// A key-value store declaration being built ([`kv`]).
#[derive(Debug, Clone)]
#[must_use = "pass it to App::uses"]
pub struct KvUse(Use);

impl KvUse {
    /// Gets and scans entries.
    pub fn read(mut self) -> Self {
        self.0.access |= Access::KV_READ;
        self
    }

    /// Puts, updates and deletes entries.
    pub fn write(mut self) -> Self {
        self.0.access |= Access::KV_WRITE;
        self
    }

    /// The declaration.
    pub fn into_use(self) -> Use {
        self.0
    }
}

impl From<QueueUse> for Use {
    fn from(u: QueueUse) -> Use {
        u.0
    }
}

impl From<BucketUse> for Use {
    fn from(u: BucketUse) -> Use {
        u.0
    }
}

impl From<KvUse> for Use {
    fn from(u: KvUse) -> Use {
        u.0
    }
}

/// What one resource may do, as the portable types carry it: checked on every operation.
#[derive(Debug)]
pub struct Grant {
    kind: ResourceKind,
    name: String,
    access: Access,
}

impl Grant {
    /// The access granted.
    pub fn access(&self) -> Access {
        self.access
    }

    /// The logical name of the resource.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// The grant methods of a portable type with a `grant: Option<Arc<Grant>>` field (`Queue`,
/// `Bucket`, `KvStore`): attaching it, reading it, and checking an operation against it.
macro_rules! granted {
    ($ty:ty) => {
        impl $ty {
            /// This handle with an app's grant: operations outside it fail with
            /// `PermissionDenied` before any driver call ([`crate::access`]). `Env` attaches it.
            pub(crate) fn with_grant(mut self, grant: Arc<crate::access::Grant>) -> Self {
                self.grant = Some(grant);
                self
            }

            /// The grant this handle carries, if the app declares its access.
            pub fn grant(&self) -> Option<&crate::access::Grant> {
                self.grant.as_deref()
            }

            #[inline]
            fn allow(&self, need: crate::access::Access, operation: &'static str) -> Result<()> {
                crate::access::check(self.grant.as_deref(), need, operation)
            }
        }
    };
}
pub(crate) use granted;

/// Checks one operation against a resource's grant: `Ok` without a grant (no declarations) or
/// with the right; else `PermissionDenied` naming the resource, the operation and the
/// declaration to add.
#[inline]
pub(crate) fn check(grant: Option<&Grant>, need: Access, operation: &'static str) -> Result<()> {
    match grant {
        Some(g) if !g.access.contains(need) => Err(denied(g, need, operation)),
        _ => Ok(()),
    }
}

#[cold]
fn denied(grant: &Grant, need: Access, operation: &'static str) -> Error {
    let wanted = Use {
        kind: grant.kind,
        name: grant.name.clone(),
        access: grant.access | need,
        dead_letter: None,
        max_deliveries: None,
    };
    let right = need.names(grant.kind).join(", ");
    let declared = if grant.access.is_empty() {
        "the app does not declare it".to_owned()
    } else {
        format!(
            "the app declares only {}",
            grant.access.names(grant.kind).join(", ")
        )
    };
    Error::new(
        ErrorKind::PermissionDenied,
        format!(
            "{} {:?}: {operation} needs {right} access, and {declared}: add .uses({}) to the App",
            grant.kind.as_str(),
            grant.name,
            wanted.to_code()
        ),
    )
    .with_operation(operation)
    .with_resource(grant.name.clone())
}

/// A dead-letter policy declared (or implied) for a queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetterPolicy {
    /// The dead-letter queue's logical name.
    pub queue: String,
    /// Deliveries before a message moves there.
    pub max_deliveries: u32,
}

/// A resource's declarations, merged.
#[derive(Debug, Clone)]
pub struct Declared {
    /// The access, declared or implied by a trigger.
    pub access: Access,
    /// For queues: where messages go after `max_deliveries`.
    pub dead_letter: Option<DeadLetterPolicy>,
    grant: Arc<Grant>,
}

/// Every resource an app declares, with its access: what [`Env`](crate::Env) hands the portable
/// types it opens for the app's handlers.
///
/// ```
/// use cloudport_core::access::{AccessPolicy, queue};
/// use cloudport_core::ResourceKind;
/// let policy = AccessPolicy::from_uses([queue("audit").send().into()]);
/// assert!(policy.declared(ResourceKind::Queue, "audit").is_some());
/// assert!(policy.declared(ResourceKind::Queue, "orders").is_none());
/// ```
#[derive(Debug, Clone, Default)]
pub struct AccessPolicy {
    resources: BTreeMap<(ResourceKind, String), Declared>,
}

impl AccessPolicy {
    /// Merges declarations (the same resource twice: the union of the rights; the last
    /// dead-letter settings given win).
    pub fn from_uses(uses: impl IntoIterator<Item = Use>) -> Self {
        // Merged per resource: the union of the rights; the last dead-letter settings given.
        let mut merged: BTreeMap<(ResourceKind, String), Use> = BTreeMap::new();
        for u in uses {
            let entry = merged
                .entry((u.kind, u.name.clone()))
                .or_insert_with(|| Use::new(u.kind, u.name.clone()));
            entry.access |= u.access;
            if u.dead_letter.is_some() {
                entry.dead_letter = u.dead_letter;
            }
            if u.max_deliveries.is_some() {
                entry.max_deliveries = u.max_deliveries;
            }
        }
        let resources = merged
            .into_iter()
            .map(|((kind, name), u)| {
                let (access, dead_letter, max) = (u.access, u.dead_letter, u.max_deliveries);
                let dead_letter = (kind == ResourceKind::Queue).then(|| DeadLetterPolicy {
                    queue: dead_letter.unwrap_or_else(|| format!("{name}-dlq")),
                    max_deliveries: max.unwrap_or(DEFAULT_MAX_DELIVERIES).max(1),
                });
                let grant = Arc::new(Grant {
                    kind,
                    name: name.clone(),
                    access,
                });
                (
                    (kind, name),
                    Declared {
                        access,
                        dead_letter,
                        grant,
                    },
                )
            })
            .collect();
        Self { resources }
    }

    /// Whether nothing is declared.
    pub fn is_empty(&self) -> bool {
        self.resources.is_empty()
    }

    /// The declarations of one resource.
    pub fn declared(&self, kind: ResourceKind, name: &str) -> Option<&Declared> {
        self.resources.get(&(kind, name.to_owned()))
    }

    /// Every declared resource, by kind then name.
    pub fn iter(&self) -> impl Iterator<Item = (ResourceKind, &str, &Declared)> {
        self.resources
            .iter()
            .map(|((kind, name), d)| (*kind, name.as_str(), d))
    }

    /// What the portable type of `name` carries: its grant, or an empty one for a resource the
    /// app does not declare (every operation on it is denied, naming the declaration to add).
    pub(crate) fn grant(&self, kind: ResourceKind, name: &str) -> Arc<Grant> {
        match self.resources.get(&(kind, name.to_owned())) {
            Some(d) => d.grant.clone(),
            None => Arc::new(Grant {
                kind,
                name: name.to_owned(),
                access: Access::NONE,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_denial_names_the_resource_the_operation_and_the_declaration() {
        let policy = AccessPolicy::from_uses([bucket("receipts").read().into()]);
        let grant = policy.grant(ResourceKind::Bucket, "receipts");
        let err = check(Some(&grant), Access::BUCKET_WRITE, "blob.put").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::PermissionDenied);
        assert_eq!(
            err.message(),
            r#"bucket "receipts": blob.put needs write access, and the app declares only read: add .uses(bucket("receipts").read().write()) to the App"#
        );
        let none = policy.grant(ResourceKind::Queue, "audit");
        let err = check(Some(&none), Access::QUEUE_SEND, "queue.send").unwrap_err();
        assert!(
            err.message().contains("the app does not declare it"),
            "{err}"
        );
        assert!(
            err.message().contains(r#".uses(queue("audit").send())"#),
            "{err}"
        );
        assert!(check(Some(&grant), Access::BUCKET_READ, "blob.get").is_ok());
        assert!(check(None, Access::BUCKET_DELETE, "blob.delete").is_ok());
    }

    #[test]
    fn an_app_with_an_empty_or_impossible_declaration_fails_validation() {
        let empty = crate::App::new().uses(kv("orders"));
        let err = empty.validate().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        assert!(err.message().contains("declares no access"), "{err}");
        let zero = crate::App::new().uses(queue("orders").send().max_deliveries(0));
        assert!(zero.validate().is_err());
        assert!(
            crate::App::new()
                .uses(kv("orders").read())
                .validate()
                .is_ok()
        );
    }

    #[test]
    fn declarations_merge_and_queues_get_a_dead_letter_policy() {
        let policy = AccessPolicy::from_uses([
            queue("orders").send().into(),
            queue("orders").consume().max_deliveries(3).into(),
            kv("orders").read().into(),
        ]);
        let orders = policy.declared(ResourceKind::Queue, "orders").unwrap();
        assert_eq!(orders.access, Access::QUEUE_SEND | Access::QUEUE_CONSUME);
        assert_eq!(
            orders.dead_letter,
            Some(DeadLetterPolicy {
                queue: "orders-dlq".into(),
                max_deliveries: 3
            })
        );
        assert!(
            policy
                .declared(ResourceKind::Kv, "orders")
                .unwrap()
                .dead_letter
                .is_none()
        );
    }
}
