//! Google Cloud on the emulators: per queue a Pub/Sub topic and one subscription — a **push**
//! subscription `<topic>-push` to `--push-endpoint` + `/_cloudport/queue/<name>` for a queue a
//! trigger fires on (what `cargo cloudport package --cloud gcp` creates for Cloud Run,
//! [`crate::gcp::pubsub`]), else a **pull** subscription named as the topic, which the local
//! host or the app's own receive calls read — with the declared dead-letter policy
//! (`max_delivery_attempts` = `max_deliveries`, refused outside Pub/Sub's 5-100 as the package
//! generator refuses it); a dead-letter topic no declaration names gets a pull subscription that
//! keeps what arrives. Buckets on fake-gcs-server. Firestore needs nothing: a collection exists
//! once written to.
//!
//! Endpoints: `PUBSUB_EMULATOR_HOST`, `STORAGE_EMULATOR_HOST`, `FIRESTORE_EMULATOR_HOST` (each
//! required when the app has that kind of resource), the project from `GOOGLE_CLOUD_PROJECT`.

use cloudport_core::env::binding_var;
use cloudport_core::{ErrorKind, ResourceKind};
use cloudport_gcp::sdk::googleapis::pubsub::v1::{DeadLetterPolicy, PushConfig};
use cloudport_gcp::sdk::pubsub::client::Client;
use cloudport_gcp::sdk::pubsub::subscription::SubscriptionConfig;
use cloudport_gcp::{Gcp, Settings};

use super::local::{Lookup, require};
use super::pubsub::{subscribe, topic};
use super::{Bindings, Error, Made, Outcome, Up, prefixed};
use crate::gcp::model::DELIVERY_ATTEMPTS;
use crate::gcp::pubsub::push_path;
use crate::model::Model;

/// A pull subscription's ack deadline: the package generator's (the driver sets each lease).
const PULL_ACK_DEADLINE: i32 = 60;

#[derive(Debug)]
struct PsQueue {
    name: String,
    triggered: bool,
    topic: String,
    subscription: String,
    push: Option<String>,
    dead_letter: Option<(String, u32)>,
}

/// What `up` creates on the Google Cloud emulators.
#[derive(Debug)]
pub(super) struct Plan {
    project: String,
    pubsub: Option<String>,
    storage: Option<String>,
    firestore: Option<String>,
    queues: Vec<PsQueue>,
    dead_letter_only: Vec<String>,
    buckets: Vec<(String, String)>,
    stores: Vec<(String, String)>,
    push_ack_deadline: i32,
}

impl Plan {
    /// Checks the endpoints and names every resource.
    pub(super) fn new(
        d: &Model<'_>,
        prefix: Option<&str>,
        push_endpoint: Option<&str>,
        env: Lookup<'_>,
    ) -> Result<Self, Error> {
        let project = ["GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT", "GCP_PROJECT"]
            .iter()
            .find_map(|v| env(v))
            .ok_or_else(|| Error::MissingEndpoint {
                var: "GOOGLE_CLOUD_PROJECT".into(),
                emulator: "the project the emulators keep resources in".into(),
                hint: "any project id, e.g. cloudport-local".into(),
            })?;
        let has_queues = !d.queues.is_empty() || !d.dead_letter_only.is_empty();
        let pubsub = has_queues
            .then(|| {
                require(
                    env,
                    "PUBSUB_EMULATOR_HOST",
                    "the Pub/Sub emulator",
                    "127.0.0.1:8085",
                )
            })
            .transpose()?;
        let storage = (!d.buckets.is_empty())
            .then(|| {
                require(
                    env,
                    "STORAGE_EMULATOR_HOST",
                    "fake-gcs-server",
                    "http://127.0.0.1:4443",
                )
            })
            .transpose()?;
        let firestore = (!d.stores.is_empty())
            .then(|| {
                require(
                    env,
                    "FIRESTORE_EMULATOR_HOST",
                    "the Firestore emulator",
                    "127.0.0.1:8086",
                )
            })
            .transpose()?;
        let push_base = push_endpoint
            .map(|p| {
                let url = url::Url::parse(p)
                    .map_err(|e| Error::Usage(format!("--push-endpoint: {e}")))?;
                if !matches!(url.scheme(), "http" | "https") {
                    return Err(Error::Usage(
                        "--push-endpoint: give an http or https URL".into(),
                    ));
                }
                // The bindings turn the host's token check off (CLOUDPORT_EVENT_AUTH=platform:
                // the emulator signs nothing), which is safe only for an app on this machine.
                super::local::check_loopback("--push-endpoint", p)?;
                Ok(p.trim_end_matches('/').to_owned())
            })
            .transpose()?;
        let mut queues = Vec::new();
        for q in &d.queues {
            if let Some(n) = q.dead_letter.as_ref().map(|dl| dl.max_deliveries)
                && !DELIVERY_ATTEMPTS.contains(&n)
            {
                return Err(Error::Cli(crate::Error::unsupported(
                    format!("queue {:?}", q.name),
                    format!(
                        "max_deliveries({n}): Pub/Sub takes {}-{} delivery attempts before dead-lettering (https://cloud.google.com/pubsub/docs/handling-failures#dead_letter_topic)",
                        DELIVERY_ATTEMPTS.start(),
                        DELIVERY_ATTEMPTS.end()
                    ),
                )));
            }
            let topic = prefixed(prefix, &q.name);
            let push = match (&push_base, q.triggered) {
                (Some(base), true) => Some(format!("{base}{}", push_path(&q.name))),
                _ => None,
            };
            queues.push(PsQueue {
                name: q.name.clone(),
                triggered: q.triggered,
                subscription: if push.is_some() {
                    format!("{topic}-push")
                } else {
                    topic.clone()
                },
                topic,
                push,
                dead_letter: q
                    .dead_letter
                    .as_ref()
                    .map(|dl| (prefixed(prefix, &dl.queue), dl.max_deliveries)),
            });
        }
        let dead_letter_only = d
            .dead_letter_only
            .iter()
            .map(|n| prefixed(prefix, n))
            .collect();
        let buckets = d
            .buckets
            .iter()
            .map(|b| {
                (
                    b.name.clone(),
                    prefixed(prefix, &b.name).to_ascii_lowercase(),
                )
            })
            .collect();
        let stores = d
            .stores
            .iter()
            .map(|s| (s.name.clone(), prefixed(prefix, &s.name)))
            .collect();
        Ok(Self {
            project,
            pubsub,
            storage,
            firestore,
            queues,
            dead_letter_only,
            buckets,
            stores,
            push_ack_deadline: d.d.limits.timeout_seconds.unwrap_or(30).clamp(10, 600) as i32,
        })
    }

    /// The bindings: `gcppubsub://projects/<p>/topics/<topic>?subscription=<sub>`,
    /// `gs://<bucket>`, `firestore://<p>/<collection>`; the project and the emulator hosts;
    /// `CLOUDPORT_EVENT_AUTH=platform` with push subscriptions (the Pub/Sub emulator signs no
    /// token for the Cloud Run host to verify).
    pub(super) fn bindings(&self) -> Bindings {
        let mut b = Bindings::default();
        let p = &self.project;
        for q in &self.queues {
            b.set(
                binding_var(ResourceKind::Queue, &q.name),
                format!(
                    "gcppubsub://projects/{p}/topics/{}?subscription={}",
                    q.topic, q.subscription
                ),
            );
        }
        for (logical, native) in &self.buckets {
            b.set(
                binding_var(ResourceKind::Bucket, logical),
                format!("gs://{native}"),
            );
        }
        for (logical, collection) in &self.stores {
            b.set(
                binding_var(ResourceKind::Kv, logical),
                format!("firestore://{p}/{collection}"),
            );
        }
        b.set("GOOGLE_CLOUD_PROJECT", p);
        for (var, value) in [
            ("PUBSUB_EMULATOR_HOST", &self.pubsub),
            ("STORAGE_EMULATOR_HOST", &self.storage),
            ("FIRESTORE_EMULATOR_HOST", &self.firestore),
        ] {
            if let Some(v) = value {
                b.set(var, v);
            }
        }
        if self.queues.iter().any(|q| q.push.is_some()) {
            b.set("CLOUDPORT_EVENT_AUTH", "platform");
        }
        b
    }

    fn gcp(&self) -> Gcp {
        Gcp::with_settings(Settings {
            project: Some(self.project.clone()),
            pubsub_emulator: self.pubsub.clone(),
            storage_emulator: self.storage.as_ref().map(|s| {
                if s.contains("://") {
                    s.trim_end_matches('/').to_owned()
                } else {
                    format!("http://{}", s.trim_end_matches('/'))
                }
            }),
        })
    }

    /// Creates what is missing, topics before the subscriptions that dead-letter into them.
    pub(super) async fn create(self) -> Result<Up, Error> {
        let gcp = self.gcp();
        let mut made = Vec::new();
        let mut notes = Vec::new();
        if let Some(q) = self
            .queues
            .first()
            .map(|q| &q.topic)
            .or(self.dead_letter_only.first())
        {
            let client = gcp
                .pubsub_queue(&self.project, q, None)
                .map_err(Error::emulator(format!("Pub/Sub topic {q}")))?
                .client()
                .await
                .map_err(Error::emulator("the Pub/Sub client"))?
                .clone();
            for q in &self.queues {
                made.push(topic(&client, &q.topic, &format!("queue {:?}", q.name)).await?);
            }
            for dl in &self.dead_letter_only {
                made.push(topic(&client, dl, "dead-letter queue").await?);
            }
            for q in &self.queues {
                made.push(self.subscription(&client, q).await?);
            }
            for dl in &self.dead_letter_only {
                let config = SubscriptionConfig {
                    ack_deadline_seconds: PULL_ACK_DEADLINE,
                    ..Default::default()
                };
                let what = format!("pull subscription {dl} (keeps the dead letters of topic {dl})");
                made.push(subscribe(&client, dl, dl, config, None, what).await?);
            }
            if self.queues.iter().any(|q| q.push.is_some()) {
                notes.push("push subscriptions carry no OIDC token on the emulator: run the app with CLOUDPORT_EVENT_AUTH=platform (printed), never on a reachable port".into());
            } else if self.queues.iter().any(|q| q.triggered) {
                notes.push("every queue has a pull subscription (the local host reads it); give --push-endpoint URL to push a triggered queue to the app served as on Cloud Run".into());
            }
        }
        for (logical, native) in &self.buckets {
            made.push(self.bucket(&gcp, logical, native).await?);
        }
        if !self.stores.is_empty() {
            notes.push(
                "Firestore needs nothing: a collection exists once a document is written to it"
                    .into(),
            );
        }
        Ok(Up {
            bindings: self.bindings(),
            made,
            notes,
        })
    }

    async fn subscription(&self, client: &Client, q: &PsQueue) -> Result<Made, Error> {
        let config = SubscriptionConfig {
            push_config: q.push.as_ref().map(|endpoint| PushConfig {
                push_endpoint: endpoint.clone(),
                ..Default::default()
            }),
            ack_deadline_seconds: if q.push.is_some() {
                self.push_ack_deadline
            } else {
                PULL_ACK_DEADLINE
            },
            dead_letter_policy: q.dead_letter.as_ref().map(|(topic, n)| DeadLetterPolicy {
                dead_letter_topic: format!("projects/{}/topics/{topic}", self.project),
                max_delivery_attempts: i32::try_from(*n).unwrap_or(i32::MAX),
            }),
            ..Default::default()
        };
        let kind = match &q.push {
            Some(endpoint) => format!("push subscription {} → {endpoint}", q.subscription),
            None => format!("pull subscription {}", q.subscription),
        };
        let dl = match &q.dead_letter {
            Some((topic, n)) => format!(", dead letters to {topic} after {n} deliveries"),
            None => String::new(),
        };
        let what = format!("{kind} (queue {:?}{dl})", q.name);
        subscribe(
            client,
            &q.subscription,
            &q.topic,
            config,
            Some(q.push.clone()),
            what,
        )
        .await
    }

    async fn bucket(&self, gcp: &Gcp, logical: &str, native: &str) -> Result<Made, Error> {
        use cloudport_gcp::sdk::storage::http::Error as E;
        use cloudport_gcp::sdk::storage::http::buckets::insert::{
            InsertBucketParam, InsertBucketRequest,
        };
        let what = format!("bucket {native} (bucket {logical:?})");
        let bucket = gcp.gcs_bucket(native).map_err(Error::emulator(&what))?;
        let client = bucket.client().await.map_err(Error::emulator(&what))?;
        let request = InsertBucketRequest {
            name: native.to_owned(),
            param: InsertBucketParam {
                project: self.project.clone(),
                ..Default::default()
            },
            ..Default::default()
        };
        let outcome = match client.insert_bucket(&request).await {
            Ok(_) => Outcome::Created,
            Err(E::Response(r)) if r.code == 409 => Outcome::Existed,
            Err(e) => {
                let kind = match &e {
                    E::Response(r) => ErrorKind::from_http_status(r.code),
                    _ => ErrorKind::Unavailable,
                };
                let message = cloudport_core::redact::redact(&e.to_string()).into_owned();
                return Err(Error::emulator(what)(cloudport_core::Error::new(
                    kind, message,
                )));
            }
        };
        Ok(Made { what, outcome })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::up::quickstart;

    fn emulators(var: &str) -> Option<String> {
        match var {
            "GOOGLE_CLOUD_PROJECT" => Some("p1".into()),
            "PUBSUB_EMULATOR_HOST" => Some("127.0.0.1:8085".into()),
            "STORAGE_EMULATOR_HOST" => Some("http://127.0.0.1:4443".into()),
            "FIRESTORE_EMULATOR_HOST" => Some("127.0.0.1:8086".into()),
            _ => None,
        }
    }

    #[test]
    fn the_quickstart_pulls_without_a_push_endpoint_and_is_pushed_with_one() {
        let pull = Plan::new(&quickstart(), Some("t1"), None, &emulators).expect("plan");
        assert_eq!(
            pull.bindings().dotenv(),
            "CLOUDPORT_BUCKET_RECEIPTS=gs://t1-receipts\n\
             CLOUDPORT_KV_ORDERS=firestore://p1/t1-orders\n\
             CLOUDPORT_QUEUE_ORDERS='gcppubsub://projects/p1/topics/t1-orders?subscription=t1-orders'\n\
             FIRESTORE_EMULATOR_HOST=127.0.0.1:8086\n\
             GOOGLE_CLOUD_PROJECT=p1\n\
             PUBSUB_EMULATOR_HOST=127.0.0.1:8085\n\
             STORAGE_EMULATOR_HOST=http://127.0.0.1:4443\n"
        );
        assert_eq!(pull.dead_letter_only, ["t1-orders-dlq"]);
        let push = Plan::new(
            &quickstart(),
            None,
            Some("http://127.0.0.1:8080/"),
            &emulators,
        )
        .expect("plan");
        assert_eq!(
            push.queues[0].push.as_deref(),
            Some("http://127.0.0.1:8080/_cloudport/queue/orders")
        );
        assert_eq!(push.queues[0].dead_letter, Some(("orders-dlq".into(), 5)));
        assert_eq!(push.push_ack_deadline, 30);
        let b = push.bindings();
        assert_eq!(
            b.get("CLOUDPORT_QUEUE_ORDERS"),
            Some("gcppubsub://projects/p1/topics/orders?subscription=orders-push")
        );
        assert_eq!(b.get("CLOUDPORT_EVENT_AUTH"), Some("platform"));
    }

    #[test]
    fn every_emulator_the_app_needs_is_required_on_this_machine() {
        for (var, value) in [
            ("PUBSUB_EMULATOR_HOST", None),
            (
                "STORAGE_EMULATOR_HOST",
                Some("https://storage.googleapis.com"),
            ),
            (
                "FIRESTORE_EMULATOR_HOST",
                Some("firestore.googleapis.com:443"),
            ),
            ("GOOGLE_CLOUD_PROJECT", None),
        ] {
            let env = |v: &str| {
                if v == var {
                    value.map(str::to_owned)
                } else {
                    emulators(v)
                }
            };
            let e = Plan::new(&quickstart(), None, None, &env).expect_err(var);
            assert!(e.to_string().contains(var), "{e}");
        }
    }
}
