//! Native Pub/Sub and Cloud Storage names → the app's logical queue, topic and bucket names
//! ([`Bindings`]), from the app's `gcppubsub://`, `gcptopic://` and `gs://` bindings.

use std::collections::BTreeMap;

use cloudport_core::redact::Redacted;
use cloudport_core::{App, Env, ResourceKind, ResourceUrl};

/// Native Pub/Sub and Cloud Storage names → the app's logical queue and bucket names, from the
/// bindings of the app's queue and blob triggers (`gcppubsub://projects/P/topics/T?subscription=S`,
/// `gs://BUCKET`). A message is matched on its subscription first, then on its topic.
///
/// ```
/// use cloudport_adapters::cloudrun::Bindings;
/// use cloudport_core::{App, Env};
/// let app = App::new()
///     .on_queue("orders", |_m, _env| async { Ok(()) })
///     .on_blob("uploads", |_b, _env| async { Ok(()) });
/// let env = Env::builder().vars([
///     ("CLOUDPORT_QUEUE_ORDERS", "gcppubsub://projects/shop/topics/orders?subscription=orders-push"),
///     ("CLOUDPORT_BUCKET_UPLOADS", "gs://shop-uploads"),
/// ]).build();
/// let b = Bindings::new(&app, &env);
/// assert_eq!(b.queue_for(Some("projects/shop/subscriptions/orders-push"), None), Some("orders"));
/// assert_eq!(b.queue_for(Some("projects/shop/subscriptions/other"), Some("projects/shop/topics/orders")), Some("orders"));
/// assert_eq!(b.queue_for(Some("projects/x/subscriptions/orders-push"), None), None);
/// assert_eq!(b.bucket_for("shop-uploads"), Some("uploads"));
/// ```
#[derive(Debug, Clone, Default)]
pub struct Bindings {
    subscriptions: BTreeMap<String, String>,
    topics: BTreeMap<String, String>,
    buckets: BTreeMap<String, String>,
    /// Subscriptions and topics of the app's topic triggers (`gcptopic://`).
    topic_subscriptions: BTreeMap<String, String>,
    topic_topics: BTreeMap<String, String>,
}

/// The variables naming the default project, which a URL's project `_` stands for (as in the GCP
/// provider).
const PROJECT_VARS: [&str; 3] = ["GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT", "GCP_PROJECT"];

/// `gcppubsub://projects/P/topics/T?subscription=S` → (`projects/P/topics/T`, the subscription's
/// full name if given); project `_` is `default_project` when known.
fn pubsub_names(
    url: &ResourceUrl,
    default_project: Option<&str>,
) -> Option<(String, Option<String>)> {
    let path = url.path();
    let mut parts = path.split('/');
    let (project, kind, topic) = (parts.next()?, parts.next()?, parts.next()?);
    let project = match (project, default_project) {
        ("_", Some(p)) if !p.is_empty() => p,
        (p, _) => p,
    };
    if url.host() != "projects" || kind != "topics" || project.is_empty() || topic.is_empty() {
        return None;
    }
    if parts.next().is_some() {
        return None;
    }
    let subscription = url
        .param("subscription")
        .filter(|s| !s.is_empty())
        .map(|s| {
            if s.contains('/') {
                s.trim_start_matches('/').to_owned()
            } else {
                format!("projects/{project}/subscriptions/{s}")
            }
        });
    Some((format!("projects/{project}/topics/{topic}"), subscription))
}

impl Bindings {
    /// The native names bound to the app's queue and blob triggers in `env`; bindings of other
    /// schemes are left out.
    pub fn new(app: &App, env: &Env) -> Self {
        let mut bindings = Self::default();
        let default_project = PROJECT_VARS.iter().find_map(|v| env.var(v));
        for trigger in app.triggers() {
            let Some((kind, url)) = crate::binding::trigger_binding(env, &trigger) else {
                continue;
            };
            let logical = trigger.name().to_owned();
            match (kind, url.scheme()) {
                (ResourceKind::Queue, "gcppubsub") => {
                    if let Some((topic, subscription)) =
                        pubsub_names(&url, default_project.as_deref())
                    {
                        if let Some(s) = subscription {
                            bindings.subscriptions.insert(s, logical.clone());
                        }
                        bindings.topics.entry(topic).or_insert(logical);
                    } else {
                        tracing::warn!(queue = %logical, url = %Redacted(&url), "a gcppubsub binding not of the form gcppubsub://projects/P/topics/T?subscription=S; its messages cannot be matched");
                    }
                }
                (ResourceKind::Topic, "gcptopic") => {
                    if let Some((topic, subscription)) =
                        pubsub_names(&url, default_project.as_deref())
                    {
                        if let Some(s) = subscription {
                            bindings.topic_subscriptions.insert(s, logical.clone());
                        }
                        bindings.topic_topics.entry(topic).or_insert(logical);
                    } else {
                        tracing::warn!(topic = %logical, url = %Redacted(&url), "a gcptopic binding not of the form gcptopic://projects/P/topics/T[?subscription=S]; its messages cannot be matched");
                    }
                }
                (ResourceKind::Bucket, "gs") => {
                    bindings.buckets.insert(url.host(), logical);
                }
                _ => {}
            }
        }
        bindings
    }

    /// The logical queue of a message: the one bound to its subscription
    /// (`projects/P/subscriptions/S`), else the first bound to its topic (`projects/P/topics/T`).
    /// A binding whose project is `_` and no default project is known matches any project.
    pub fn queue_for(&self, subscription: Option<&str>, topic: Option<&str>) -> Option<&str> {
        find_name(&self.subscriptions, subscription)
            .or_else(|| find_name(&self.topics, topic))
            .map(String::as_str)
    }

    /// The logical topic of a message: the one whose binding
    /// (`gcptopic://projects/P/topics/T?subscription=S`) names its subscription, else the first
    /// whose binding names its topic. Matched like [`queue_for`](Self::queue_for).
    ///
    /// ```
    /// use cloudport_adapters::cloudrun::Bindings;
    /// use cloudport_core::{App, Env};
    /// let app = App::new().on_topic("audit", |_e, _env| async { Ok(()) });
    /// let env = Env::builder().vars([
    ///     ("CLOUDPORT_TOPIC_AUDIT", "gcptopic://projects/shop/topics/audit?subscription=audit-push"),
    /// ]).build();
    /// let b = Bindings::new(&app, &env);
    /// assert_eq!(b.topic_for(Some("projects/shop/subscriptions/audit-push"), None), Some("audit"));
    /// assert_eq!(b.topic_for(None, Some("projects/shop/topics/audit")), Some("audit"));
    /// assert_eq!(b.queue_for(Some("projects/shop/subscriptions/audit-push"), None), None);
    /// ```
    pub fn topic_for(&self, subscription: Option<&str>, topic: Option<&str>) -> Option<&str> {
        find_name(&self.topic_subscriptions, subscription)
            .or_else(|| find_name(&self.topic_topics, topic))
            .map(String::as_str)
    }

    /// What a Pub/Sub message is for: a binding naming its subscription first (queue, then
    /// topic), then one naming its topic (queue, then topic).
    pub(super) fn message_target(
        &self,
        subscription: Option<&str>,
        topic: Option<&str>,
    ) -> Option<MessageTarget<'_>> {
        let by = |subscription, topic| {
            self.queue_for(subscription, topic)
                .map(MessageTarget::Queue)
                .or_else(|| {
                    self.topic_for(subscription, topic)
                        .map(MessageTarget::Topic)
                })
        };
        by(subscription, None).or_else(|| by(None, topic))
    }

    /// The logical bucket bound to a native bucket.
    pub fn bucket_for(&self, bucket: &str) -> Option<&str> {
        self.buckets.get(bucket).map(String::as_str)
    }
}

/// The trigger a Pub/Sub message reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum MessageTarget<'a> {
    /// A queue trigger: the message as a portable queue message.
    Queue(&'a str),
    /// A topic trigger: the CloudEvent the message carries.
    Topic(&'a str),
}

/// The logical name bound to a full Pub/Sub name, or to the same name in project `_`.
fn find_name<'a>(map: &'a BTreeMap<String, String>, name: Option<&str>) -> Option<&'a String> {
    let name = name?;
    map.get(name).or_else(|| {
        let rest = name.strip_prefix("projects/")?.split_once('/')?.1;
        map.get(&format!("projects/_/{rest}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pubsub_binding_urls() {
        let parse = |s: &str| pubsub_names(&ResourceUrl::parse(s).unwrap(), None);
        assert_eq!(
            parse("gcppubsub://projects/p/topics/t?subscription=s"),
            Some((
                "projects/p/topics/t".to_owned(),
                Some("projects/p/subscriptions/s".to_owned())
            ))
        );
        assert_eq!(
            parse("gcppubsub://projects/p/topics/t?subscription=projects/q/subscriptions/s"),
            Some((
                "projects/p/topics/t".to_owned(),
                Some("projects/q/subscriptions/s".to_owned())
            ))
        );
        assert_eq!(
            parse("gcppubsub://projects/p/topics/t"),
            Some(("projects/p/topics/t".to_owned(), None))
        );
        assert_eq!(
            pubsub_names(
                &ResourceUrl::parse("gcppubsub://projects/_/topics/t?subscription=s").unwrap(),
                Some("shop")
            ),
            Some((
                "projects/shop/topics/t".to_owned(),
                Some("projects/shop/subscriptions/s".to_owned())
            ))
        );
        assert_eq!(parse("gcppubsub://t"), None);
        assert_eq!(parse("gcppubsub://projects/p/subscriptions/s"), None);
    }

    #[test]
    fn a_subscription_binding_beats_a_topic_binding_and_queues_come_first() {
        let app = App::new()
            .on_queue("q", |_m, _env| async { Ok(()) })
            .on_topic("t", |_e, _env| async { Ok(()) });
        let env = Env::builder()
            .vars([
                ("CLOUDPORT_QUEUE_Q", "gcppubsub://projects/p/topics/shared"),
                (
                    "CLOUDPORT_TOPIC_T",
                    "gcptopic://projects/p/topics/shared?subscription=t-push",
                ),
            ])
            .build();
        let b = Bindings::new(&app, &env);
        let topic = Some("projects/p/topics/shared");
        assert_eq!(
            b.message_target(Some("projects/p/subscriptions/t-push"), topic),
            Some(MessageTarget::Topic("t"))
        );
        assert_eq!(
            b.message_target(Some("projects/p/subscriptions/other"), topic),
            Some(MessageTarget::Queue("q"))
        );
        assert_eq!(b.message_target(None, Some("projects/p/topics/x")), None);
    }

    #[test]
    fn the_default_project() {
        let app = App::new()
            .on_queue("a", |_m, _env| async { Ok(()) })
            .on_queue("b", |_m, _env| async { Ok(()) });
        let vars = |project: Option<&str>| {
            let mut v = vec![
                (
                    "CLOUDPORT_QUEUE_A",
                    "gcppubsub://projects/_/topics/ta?subscription=sa",
                ),
                ("CLOUDPORT_QUEUE_B", "gcppubsub://projects/_/topics/tb"),
            ];
            v.extend(project.map(|p| ("GOOGLE_CLOUD_PROJECT", p)));
            Env::builder().vars(v).build()
        };
        let known = Bindings::new(&app, &vars(Some("shop")));
        assert_eq!(
            known.queue_for(Some("projects/shop/subscriptions/sa"), None),
            Some("a")
        );
        assert_eq!(
            known.queue_for(Some("projects/other/subscriptions/sa"), None),
            None
        );
        assert_eq!(
            known.queue_for(None, Some("projects/shop/topics/tb")),
            Some("b")
        );
        // Unknown default project: any project matches.
        let unknown = Bindings::new(&app, &vars(None));
        assert_eq!(
            unknown.queue_for(Some("projects/x/subscriptions/sa"), None),
            Some("a")
        );
        assert_eq!(
            unknown.queue_for(None, Some("projects/x/topics/tb")),
            Some("b")
        );
    }

    /// A binding the host cannot match is logged, without the password its URL may carry.
    #[test]
    fn a_malformed_binding_is_logged_without_its_password() {
        #[derive(Clone, Default)]
        struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
        impl std::io::Write for Captured {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .finish();
        let app = App::new().on_queue("orders", |_m, _env| async { Ok(()) });
        let env = Env::builder()
            .vars([(
                "CLOUDPORT_QUEUE_ORDERS",
                "gcppubsub://pusher:hunter2-topsecret@topics/orders?subscription=s",
            )])
            .build();
        let bindings = tracing::subscriber::with_default(subscriber, || Bindings::new(&app, &env));
        assert_eq!(
            bindings.queue_for(None, Some("projects/p/topics/orders")),
            None
        );
        let logged = String::from_utf8_lossy(
            &captured
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
        .into_owned();
        assert!(
            logged.contains("its messages cannot be matched"),
            "{logged}"
        );
        assert!(logged.contains("orders"), "{logged}");
        assert!(!logged.contains("hunter2-topsecret"), "{logged}");
    }
}
