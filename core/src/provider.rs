//! Providers open resources from URLs: `mem://orders`, `sqs://…`, `gs://…`.

use std::collections::BTreeMap;

use url::Url;

use crate::topic::Topic;
use crate::{Bucket, Error, ErrorKind, KvStore, Queue, Result};

/// The kind of a bound resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResourceKind {
    /// A [`Queue`].
    Queue,
    /// A [`Bucket`].
    Bucket,
    /// A [`KvStore`].
    Kv,
    /// A [`Topic`].
    Topic,
}

impl ResourceKind {
    /// The word used in binding variables: `QUEUE`, `BUCKET`, `KV`, `TOPIC`.
    pub fn env_word(self) -> &'static str {
        match self {
            Self::Queue => "QUEUE",
            Self::Bucket => "BUCKET",
            Self::Kv => "KV",
            Self::Topic => "TOPIC",
        }
    }

    /// A lowercase name for messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queue => "queue",
            Self::Bucket => "bucket",
            Self::Kv => "kv store",
            Self::Topic => "topic",
        }
    }
}

/// Every URL scheme cloudport knows, the provider that serves it, the cargo feature of the
/// `cloudport` crate that compiles that provider in (none for the memory provider, always
/// compiled in), and the kind of resource it opens.
pub const KNOWN_SCHEMES: &[(&str, &str, &str, ResourceKind)] = &[
    ("mem", "memory", "", ResourceKind::Queue),
    ("sqs", "aws", "aws", ResourceKind::Queue),
    ("s3", "aws", "aws", ResourceKind::Bucket),
    ("dynamodb", "aws", "aws", ResourceKind::Kv),
    ("azqueue", "azure", "azure", ResourceKind::Queue),
    ("azblob", "azure", "azure", ResourceKind::Bucket),
    ("aztable", "azure", "azure", ResourceKind::Kv),
    ("sns", "aws", "aws", ResourceKind::Topic),
    ("gcppubsub", "gcp", "gcp", ResourceKind::Queue),
    ("gcptopic", "gcp", "gcp", ResourceKind::Topic),
    ("gs", "gcp", "gcp", ResourceKind::Bucket),
    ("firestore", "gcp", "gcp", ResourceKind::Kv),
];

/// A parsed resource URL.
///
/// ```
/// use cloudport_core::ResourceUrl;
/// let url = ResourceUrl::parse("sqs://orders?region=eu-west-1").unwrap();
/// assert_eq!(url.scheme(), "sqs");
/// assert_eq!(url.host(), "orders");
/// assert_eq!(url.param("region"), Some("eu-west-1"));
/// assert!(ResourceUrl::parse("not a url").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceUrl {
    url: Url,
    params: BTreeMap<String, String>,
}

impl ResourceUrl {
    /// Parses a URL; a malformed one is `InvalidArgument`.
    pub fn parse(s: &str) -> Result<Self> {
        let url = Url::parse(s).map_err(|e| {
            Error::invalid(format!("{s:?} is not a resource URL: {e}")).with_resource(s.to_owned())
        })?;
        let mut params = BTreeMap::new();
        for (k, v) in url.query_pairs() {
            if params.insert(k.to_string(), v.to_string()).is_some() {
                return Err(Error::invalid(format!(
                    "URL {s:?} repeats the parameter {k:?}"
                )));
            }
        }
        Ok(Self { url, params })
    }

    /// The scheme (`mem`, `sqs`, …).
    pub fn scheme(&self) -> &str {
        self.url.scheme()
    }

    /// The host part (a queue, bucket or account name), percent-decoded.
    pub fn host(&self) -> String {
        let raw = self.url.host_str().unwrap_or_default();
        percent_encoding::percent_decode_str(raw)
            .decode_utf8_lossy()
            .into_owned()
    }

    /// The path without its leading `/`, percent-decoded.
    pub fn path(&self) -> String {
        let raw = self.url.path().trim_start_matches('/');
        percent_encoding::percent_decode_str(raw)
            .decode_utf8_lossy()
            .into_owned()
    }

    /// A query parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }

    /// All query parameters.
    pub fn params(&self) -> &BTreeMap<String, String> {
        &self.params
    }

    /// Removes and returns a query parameter (providers take theirs, then reject what is left).
    pub fn take_param(&mut self, name: &str) -> Option<String> {
        self.params.remove(name)
    }

    /// Fails with `InvalidArgument` naming any parameter not in `known`.
    pub fn reject_unknown_params(&self, known: &[&str]) -> Result<()> {
        match self.params.keys().find(|k| !known.contains(&k.as_str())) {
            Some(k) => Err(Error::invalid(format!(
                "URL {} has unknown parameter {k:?}; known: {known:?}",
                self.url
            ))),
            None => Ok(()),
        }
    }

    /// The URL as given.
    pub fn as_str(&self) -> &str {
        self.url.as_str()
    }
}

impl std::fmt::Display for ResourceUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.url.as_str())
    }
}

/// A provider opens resources for its URL schemes. Opening checks the URL and builds the driver;
/// clients connect lazily on first use, so opening makes no network call.
///
/// ```
/// use cloudport_core::{Provider, ResourceUrl, ResourceKind};
/// let memory = cloudport_memory::Memory::new();
/// let url = ResourceUrl::parse("mem://orders").unwrap();
/// let queue = memory.open_queue(&url).unwrap();
/// assert_eq!(queue.name(), "orders");
/// assert!(memory.schemes().contains(&"mem"));
/// ```
pub trait Provider: Send + Sync + 'static {
    /// The provider's name.
    fn name(&self) -> &'static str;

    /// The URL schemes it serves.
    fn schemes(&self) -> &'static [&'static str];

    /// Opens a queue.
    fn open_queue(&self, url: &ResourceUrl) -> Result<Queue> {
        Err(wrong_kind(self.name(), url, ResourceKind::Queue))
    }

    /// Opens a bucket.
    fn open_bucket(&self, url: &ResourceUrl) -> Result<Bucket> {
        Err(wrong_kind(self.name(), url, ResourceKind::Bucket))
    }

    /// Opens a key-value store.
    fn open_kv(&self, url: &ResourceUrl) -> Result<KvStore> {
        Err(wrong_kind(self.name(), url, ResourceKind::Kv))
    }

    /// Opens a topic.
    fn open_topic(&self, url: &ResourceUrl) -> Result<Topic> {
        Err(wrong_kind(self.name(), url, ResourceKind::Topic))
    }
}

fn wrong_kind(provider: &'static str, url: &ResourceUrl, kind: ResourceKind) -> Error {
    Error::new(
        ErrorKind::InvalidArgument,
        format!(
            "{} does not name a {} (scheme {:?})",
            url,
            kind.as_str(),
            url.scheme()
        ),
    )
    .with_provider(provider)
    .with_resource(url.to_string())
}

/// The error for a URL whose scheme no compiled-in provider serves: it names the cargo feature
/// that would serve it.
pub(crate) fn unknown_scheme(url: &ResourceUrl) -> Error {
    let scheme = url.scheme();
    match KNOWN_SCHEMES.iter().find(|(s, ..)| *s == scheme) {
        Some((_, "memory", ..)) => Error::unsupported(format!(
            "{url} needs the memory provider, which this environment was built without: add `.provider(cloudport::memory::Memory::new())` to `Env::builder()`, or use `Env::memory()` or `cloudport::default_env`"
        )),
        Some((_, provider, feature, _)) => Error::unsupported(format!(
            "{url} needs the {provider} provider, which this environment was built without: enable the cargo feature \"{feature}\" of the cloudport crate and build the environment with `cloudport::default_env` (or add the provider to `Env::builder()`)"
        )),
        None => Error::invalid(format!(
            "{url} has unknown scheme {scheme:?}; known: {}",
            KNOWN_SCHEMES
                .iter()
                .map(|(s, ..)| format!("{s}://"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
    .with_resource(url.to_string())
}
