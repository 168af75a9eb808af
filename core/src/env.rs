//! The environment function code runs in: resources bound by name.
//!
//! Function code names logical resources (`env.queue("orders")`); deployment binds each name to a
//! URL, usually through an environment variable `CLOUDPORT_<KIND>_<NAME>` (`CLOUDPORT_QUEUE_ORDERS=
//! sqs://orders`, `CLOUDPORT_BUCKET_RECEIPTS=gs://receipts`, `CLOUDPORT_KV_ORDERS=mem://orders`).
//! Moving clouds changes bindings and cargo features, never function code.
//!
//! A queue URL may carry the portable dead-letter policy: `?dead_letter=<name or URL>&max_deliveries=5`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use crate::access::AccessPolicy;
use crate::provider::unknown_scheme;
use crate::topic::Topic;
use crate::validate;
use crate::{
    Bucket, Error, ErrorKind, KvStore, Provider, Queue, ResourceKind, ResourceUrl, Result,
};

/// Deliveries allowed before a message is dead-lettered, when a URL names a dead-letter queue but
/// no `max_deliveries`.
pub const DEFAULT_MAX_DELIVERIES: u32 = 5;

#[derive(Clone)]
enum Resource {
    Queue(Queue),
    Bucket(Bucket),
    Kv(KvStore),
    Topic(Topic),
}

/// Resources by logical name, opened on first use and shared by every invocation of the process.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> cloudport_core::Result<()> {
/// use cloudport_core::Env;
/// let memory = cloudport_memory::Memory::new();
/// let env = Env::builder()
///     .provider(memory.clone())
///     .bind_queue("orders", "mem://orders-v2")
///     .build();
/// env.queue("orders")?.send("hello").await?;
/// assert_eq!(memory.queue_driver("orders-v2").len(), 1);
///
/// let missing = env.bucket("receipts").unwrap_err();
/// assert!(missing.message().contains("CLOUDPORT_BUCKET_RECEIPTS"));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Env {
    inner: Arc<Inner>,
    /// The access policy of the app whose handlers use this environment (`App::handler_env`):
    /// each resource opened through it carries its grant.
    access: Option<Arc<AccessPolicy>>,
}

struct Inner {
    providers: Vec<Arc<dyn Provider>>,
    urls: HashMap<(ResourceKind, String), String>,
    vars: Vars,
    fallback_scheme: Option<String>,
    opened: Mutex<HashMap<(ResourceKind, String), Resource>>,
    clock: Option<VirtualClock>,
}

/// A clock that is not the system's: a test's, moved by hand.
type VirtualClock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

#[derive(Clone)]
enum Vars {
    Process,
    Fixed(HashMap<String, String>),
}

impl Vars {
    fn get(&self, name: &str) -> Option<String> {
        match self {
            Vars::Process => std::env::var(name).ok(),
            Vars::Fixed(map) => map.get(name).cloned(),
        }
    }
}

impl std::fmt::Debug for Env {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Env")
            .field(
                "providers",
                &self
                    .inner
                    .providers
                    .iter()
                    .map(|p| p.name())
                    .collect::<Vec<_>>(),
            )
            .field("fallback_scheme", &self.inner.fallback_scheme)
            .finish_non_exhaustive()
    }
}

/// The variable that binds a logical name: `CLOUDPORT_QUEUE_ORDERS` for queue `orders`.
///
/// ```
/// use cloudport_core::{env::binding_var, ResourceKind};
/// assert_eq!(binding_var(ResourceKind::Bucket, "user-uploads"), "CLOUDPORT_BUCKET_USER_UPLOADS");
/// ```
pub fn binding_var(kind: ResourceKind, name: &str) -> String {
    let name: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("CLOUDPORT_{}_{name}", kind.env_word())
}

impl Env {
    /// Starts building an environment.
    pub fn builder() -> EnvBuilder {
        EnvBuilder::default()
    }

    /// The queue bound to `name`.
    pub fn queue(&self, name: &str) -> Result<Queue> {
        match self.resolve(ResourceKind::Queue, name)? {
            Resource::Queue(q) => Ok(match &self.access {
                Some(policy) => q.with_grant(policy.grant(ResourceKind::Queue, name)),
                None => q,
            }),
            _ => Err(Error::new(
                ErrorKind::Other,
                "binding resolved to another kind",
            )),
        }
    }

    /// The bucket bound to `name`.
    pub fn bucket(&self, name: &str) -> Result<Bucket> {
        match self.resolve(ResourceKind::Bucket, name)? {
            Resource::Bucket(b) => Ok(match &self.access {
                Some(policy) => b.with_grant(policy.grant(ResourceKind::Bucket, name)),
                None => b,
            }),
            _ => Err(Error::new(
                ErrorKind::Other,
                "binding resolved to another kind",
            )),
        }
    }

    /// The key-value store bound to `name`.
    pub fn kv(&self, name: &str) -> Result<KvStore> {
        match self.resolve(ResourceKind::Kv, name)? {
            Resource::Kv(k) => Ok(match &self.access {
                Some(policy) => k.with_grant(policy.grant(ResourceKind::Kv, name)),
                None => k,
            }),
            _ => Err(Error::new(
                ErrorKind::Other,
                "binding resolved to another kind",
            )),
        }
    }

    /// The topic bound to `name` (`CLOUDPORT_TOPIC_<NAME>`: `sns://audit`,
    /// `gcptopic://projects/P/topics/audit`, `mem://audit`).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> cloudport_core::Result<()> {
    /// use cloudport_core::Env;
    /// use cloudport_core::export::cloudevents::{EventBuilder, EventBuilderV10};
    /// let memory = cloudport_memory::Memory::new();
    /// let audit = memory.subscribe("audit", "archive");
    /// let env = Env::builder().provider(memory).bind_topic("audit", "mem://audit").build();
    /// let event = EventBuilderV10::new().id("1").source("shop").ty("order.placed").build().unwrap();
    /// env.topic("audit")?.publish(&event).await?;
    /// assert_eq!(audit.receive(Default::default()).await?.len(), 1);
    /// # Ok(()) }
    /// ```
    pub fn topic(&self, name: &str) -> Result<Topic> {
        match self.resolve(ResourceKind::Topic, name)? {
            Resource::Topic(t) => Ok(match &self.access {
                Some(policy) => t.with_grant(policy.grant(ResourceKind::Topic, name)),
                None => t,
            }),
            _ => Err(Error::new(
                ErrorKind::Other,
                "binding resolved to another kind",
            )),
        }
    }

    /// This environment with an app's access policy: every resource opened through it carries
    /// its grant, and operations outside it fail with `PermissionDenied` before any driver
    /// call. The resources themselves are shared with `self`. Hosts use it through
    /// [`App::handler_env`](crate::App::handler_env).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> cloudport_core::Result<()> {
    /// use std::sync::Arc;
    /// use cloudport_core::{Env, ErrorKind, access::{AccessPolicy, queue}};
    /// let env = Env::builder().provider(cloudport_memory::Memory::new()).fallback_scheme("mem").build();
    /// let limited = env.with_access(Arc::new(AccessPolicy::from_uses([queue("audit").send().into()])));
    /// limited.queue("audit")?.send("ok").await?;
    /// let denied = limited.queue("audit")?.receive(Default::default()).await.unwrap_err();
    /// assert_eq!(denied.kind(), ErrorKind::PermissionDenied);
    /// assert_eq!(env.queue("audit")?.receive(Default::default()).await?.len(), 1);
    /// # Ok(()) }
    /// ```
    pub fn with_access(&self, policy: Arc<AccessPolicy>) -> Env {
        Env {
            inner: self.inner.clone(),
            access: Some(policy),
        }
    }

    /// The names bound explicitly by the builder (URLs and resources), by kind then name.
    pub fn bound_names(&self) -> Vec<(ResourceKind, String)> {
        let mut names: Vec<(ResourceKind, String)> = self
            .inner
            .urls
            .keys()
            .cloned()
            .chain(self.opened().keys().cloned())
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// Opens a queue from its URL with this environment's providers — with the portable
    /// dead-letter policy its parameters name — without binding it to a name. Hosts use it for
    /// queues they derive (a local default dead-letter queue).
    ///
    /// ```
    /// use cloudport_core::Env;
    /// let env = Env::builder().provider(cloudport_memory::Memory::new()).build();
    /// let dlq = env.open_queue("mem://audit-dlq")?;
    /// assert_eq!(dlq.name(), "audit-dlq");
    /// # Ok::<(), cloudport_core::Error>(())
    /// ```
    pub fn open_queue(&self, url: &str) -> Result<Queue> {
        self.open_queue_url(url, 0)
    }

    /// The current time: the system clock's, or the virtual clock the environment was built with
    /// ([`EnvBuilder::virtual_clock`]; `Env::on_memory` uses the memory world's, so age-based
    /// logic is tested without sleeping). Hosts take schedule ticks and event times from it.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use cloudport_core::Env;
    /// let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    /// let env = Env::builder().virtual_clock(move || t0).build();
    /// assert_eq!(env.now().timestamp(), 1_800_000_000);
    /// assert!(env.has_virtual_clock());
    /// assert!(!Env::builder().build().has_virtual_clock());
    /// ```
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.inner
            .clock
            .as_ref()
            .map_or_else(SystemTime::now, |c| c())
            .into()
    }

    /// Whether [`Env::now`] follows a virtual clock (time that moves only when a test moves it):
    /// hosts then watch the clock instead of sleeping.
    pub fn has_virtual_clock(&self) -> bool {
        self.inner.clock.is_some()
    }

    /// A configuration variable of the environment (the process environment, or the fixed set the
    /// builder was given).
    pub fn var(&self, name: &str) -> Option<String> {
        self.inner.vars.get(name)
    }

    /// The URL `name` is bound to, if any (after the fallback scheme).
    pub fn binding_url(&self, kind: ResourceKind, name: &str) -> Option<String> {
        self.inner
            .urls
            .get(&(kind, name.to_owned()))
            .cloned()
            .or_else(|| self.inner.vars.get(&binding_var(kind, name)))
            .or_else(|| {
                self.inner
                    .fallback_scheme
                    .as_ref()
                    .map(|scheme| format!("{scheme}://{name}"))
            })
    }

    /// The bucket a queue's `claim_check=` names, opened without the app's grant: the claim
    /// check's use of it follows from the queue's own access (ADR 0013).
    fn claim_check_bucket(&self, name: &str) -> Result<Bucket> {
        match self.resolve(ResourceKind::Bucket, name)? {
            Resource::Bucket(b) => Ok(b),
            _ => Err(Error::new(
                ErrorKind::Other,
                "binding resolved to another kind",
            )),
        }
    }

    fn resolve(&self, kind: ResourceKind, name: &str) -> Result<Resource> {
        self.resolve_at(kind, name, 0)
    }

    /// `depth` counts dead-letter queues opened on the way here, so a loop of them is an error.
    fn resolve_at(&self, kind: ResourceKind, name: &str, depth: u8) -> Result<Resource> {
        let key = (kind, name.to_owned());
        if let Some(r) = self.opened().get(&key) {
            return Ok(r.clone());
        }
        let context = |e: Error| e.with_operation("env.bind").with_resource(name.to_owned());
        validate::logical_name(name).map_err(context)?;
        let Some(url) = self.binding_url(kind, name) else {
            return Err(context(Error::new(
                ErrorKind::NotFound,
                format!(
                    "{} {name:?} is not bound: set {} to its URL (for example {})",
                    kind.as_str(),
                    binding_var(kind, name),
                    example_url(kind, name)
                ),
            )));
        };
        let resource = self.open_url(kind, &url, depth).map_err(|e| {
            context(e.prefixed(format_args!("{} {name:?} bound to {url:?}", kind.as_str())))
        })?;
        // Two invocations may race to open the same name; both get a working resource and the
        // first one stored is kept.
        Ok(self.opened().entry(key).or_insert(resource).clone())
    }

    fn opened(&self) -> std::sync::MutexGuard<'_, HashMap<(ResourceKind, String), Resource>> {
        self.inner
            .opened
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn provider_for(&self, url: &ResourceUrl) -> Result<&Arc<dyn Provider>> {
        self.inner
            .providers
            .iter()
            .find(|p| p.schemes().contains(&url.scheme()))
            .ok_or_else(|| unknown_scheme(url))
    }

    /// Opens a resource from a URL with the providers of this environment.
    fn open_url(&self, kind: ResourceKind, url: &str, depth: u8) -> Result<Resource> {
        Ok(match kind {
            ResourceKind::Queue => Resource::Queue(self.open_queue_url(url, depth)?),
            ResourceKind::Bucket => {
                let parsed = ResourceUrl::parse(url)?;
                Resource::Bucket(self.provider_for(&parsed)?.open_bucket(&parsed)?)
            }
            ResourceKind::Kv => {
                let parsed = ResourceUrl::parse(url)?;
                Resource::Kv(self.provider_for(&parsed)?.open_kv(&parsed)?)
            }
            ResourceKind::Topic => {
                let parsed = ResourceUrl::parse(url)?;
                Resource::Topic(self.provider_for(&parsed)?.open_topic(&parsed)?)
            }
        })
    }

    /// Opens a queue URL, with the portable dead-letter policy its parameters name.
    fn open_queue_url(&self, url: &str, depth: u8) -> Result<Queue> {
        const MAX_DEPTH: u8 = 4;
        let mut parsed = ResourceUrl::parse(url)?;
        let claim_check = crate::claim_check::take_param(&mut parsed)?;
        let dead_letter = parsed.take_param("dead_letter");
        let max = parsed
            .take_param("max_deliveries")
            .map(|m| {
                m.parse::<u32>().ok().filter(|n| *n > 0).ok_or_else(|| {
                    Error::invalid(format!(
                        "max_deliveries must be a positive integer, got {m:?}"
                    ))
                })
            })
            .transpose()?;
        let queue = self.provider_for(&parsed)?.open_queue(&parsed)?;
        let queue = match claim_check {
            Some(bucket) => {
                crate::claim_check::wrap_bound(queue, &bucket, self.claim_check_bucket(&bucket))?
            }
            None => queue,
        };
        match (dead_letter, max) {
            (Some(_), _) if depth >= MAX_DEPTH => Err(Error::invalid(format!(
                "dead-letter queues chain more than {MAX_DEPTH} deep: is there a loop?"
            ))),
            (Some(dl), max) => {
                let dlq = if dl.contains("://") {
                    self.open_queue_url(&dl, depth + 1)?
                } else {
                    match self.resolve_at(ResourceKind::Queue, &dl, depth + 1)? {
                        Resource::Queue(q) => q,
                        _ => {
                            return Err(Error::new(
                                ErrorKind::Other,
                                "binding resolved to another kind",
                            ));
                        }
                    }
                };
                if !dlq.capabilities().attributes && !queue.capabilities().attributes {
                    // Nothing to lose in the move.
                } else if !dlq.capabilities().attributes {
                    return Err(Error::unsupported(format!(
                        "dead-letter queue {dl:?} cannot carry message attributes; messages moved there would lose them"
                    )));
                }
                Ok(queue.with_dead_letter(dlq, max.unwrap_or(DEFAULT_MAX_DELIVERIES)))
            }
            (None, Some(_)) => Err(Error::invalid(
                "max_deliveries needs a dead_letter queue in the same URL",
            )),
            (None, None) => Ok(queue),
        }
    }
}

fn example_url(kind: ResourceKind, name: &str) -> String {
    match kind {
        ResourceKind::Queue => format!("mem://{name}, sqs://{name}, azqueue://ACCOUNT/{name}"),
        ResourceKind::Bucket => format!("mem://{name}, s3://{name}, gs://{name}"),
        ResourceKind::Kv => format!("mem://{name}, dynamodb://{name}, firestore://PROJECT/{name}"),
        ResourceKind::Topic => {
            format!("mem://{name}, sns://{name}, gcptopic://projects/PROJECT/topics/{name}")
        }
    }
}

/// Function code in an HTTP handler takes the [`Env`] as an axum extractor; every host adds it to
/// the requests of the app's HTTP service.
///
/// ```
/// use axum::{Router, routing::post};
/// use cloudport_core::Env;
///
/// async fn enqueue(env: Env, body: String) -> Result<&'static str, String> {
///     let queue = env.queue("orders").map_err(|e| e.to_string())?;
///     queue.send(body).await.map_err(|e| e.to_string())?;
///     Ok("queued")
/// }
/// let router: Router = Router::new().route("/orders", post(enqueue));
/// ```
impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Env {
    type Rejection = (http::StatusCode, &'static str);

    async fn from_request_parts(
        parts: &mut http::request::Parts,
        _state: &S,
    ) -> std::result::Result<Self, Self::Rejection> {
        parts.extensions.get::<Env>().cloned().ok_or((
            http::StatusCode::INTERNAL_SERVER_ERROR,
            "no cloudport Env on this request: serve the router through a cloudport host",
        ))
    }
}

/// Builds an [`Env`].
#[derive(Default)]
pub struct EnvBuilder {
    providers: Vec<Arc<dyn Provider>>,
    urls: HashMap<(ResourceKind, String), String>,
    resources: HashMap<(ResourceKind, String), Resource>,
    vars: Option<HashMap<String, String>>,
    fallback_scheme: Option<String>,
    clock: Option<VirtualClock>,
}

impl EnvBuilder {
    /// Adds a provider (the first one serving a scheme wins).
    pub fn provider(mut self, provider: impl Provider) -> Self {
        self.providers.push(Arc::new(provider));
        self
    }

    /// Adds a shared provider.
    pub fn provider_arc(mut self, provider: Arc<dyn Provider>) -> Self {
        self.providers.push(provider);
        self
    }

    /// Binds a logical name to a URL, overriding the environment variable.
    pub fn bind(
        mut self,
        kind: ResourceKind,
        name: impl Into<String>,
        url: impl Into<String>,
    ) -> Self {
        self.urls.insert((kind, name.into()), url.into());
        self
    }

    /// Binds a queue name to a URL.
    pub fn bind_queue(self, name: impl Into<String>, url: impl Into<String>) -> Self {
        self.bind(ResourceKind::Queue, name, url)
    }

    /// Binds a bucket name to a URL.
    pub fn bind_bucket(self, name: impl Into<String>, url: impl Into<String>) -> Self {
        self.bind(ResourceKind::Bucket, name, url)
    }

    /// Binds a key-value store name to a URL.
    pub fn bind_kv(self, name: impl Into<String>, url: impl Into<String>) -> Self {
        self.bind(ResourceKind::Kv, name, url)
    }

    /// Binds a topic name to a URL.
    pub fn bind_topic(self, name: impl Into<String>, url: impl Into<String>) -> Self {
        self.bind(ResourceKind::Topic, name, url)
    }

    /// Binds a topic name to a topic you built (a mock, say).
    pub fn topic(mut self, name: impl Into<String>, topic: Topic) -> Self {
        self.resources
            .insert((ResourceKind::Topic, name.into()), Resource::Topic(topic));
        self
    }

    /// Binds a queue name to a queue you built (a mock, say).
    pub fn queue(mut self, name: impl Into<String>, queue: Queue) -> Self {
        self.resources
            .insert((ResourceKind::Queue, name.into()), Resource::Queue(queue));
        self
    }

    /// Binds a bucket name to a bucket you built.
    pub fn bucket(mut self, name: impl Into<String>, bucket: Bucket) -> Self {
        self.resources.insert(
            (ResourceKind::Bucket, name.into()),
            Resource::Bucket(bucket),
        );
        self
    }

    /// Binds a store name to a store you built.
    pub fn kv(mut self, name: impl Into<String>, kv: KvStore) -> Self {
        self.resources
            .insert((ResourceKind::Kv, name.into()), Resource::Kv(kv));
        self
    }

    /// Uses these variables instead of the process environment (for tests).
    pub fn vars<K: Into<String>, V: Into<String>>(
        mut self,
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.vars = Some(
            vars.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        );
        self
    }

    /// Takes time from `now` instead of the system clock ([`Env::now`]).
    pub fn virtual_clock(mut self, now: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        self.clock = Some(Arc::new(now));
        self
    }

    /// Names left unbound open as `<scheme>://<name>` (`"mem"` for local development).
    pub fn fallback_scheme(mut self, scheme: impl Into<String>) -> Self {
        self.fallback_scheme = Some(scheme.into());
        self
    }

    /// Builds the environment.
    pub fn build(self) -> Env {
        Env {
            inner: Arc::new(Inner {
                providers: self.providers,
                urls: self.urls,
                vars: self.vars.map_or(Vars::Process, Vars::Fixed),
                fallback_scheme: self.fallback_scheme,
                opened: Mutex::new(self.resources),
                clock: self.clock,
            }),
            access: None,
        }
    }
}
