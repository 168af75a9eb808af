//! Opening GCP resources from `gcppubsub://`, `gcptopic://`, `gs://` and `firestore://` URLs.
//!
//! A Pub/Sub topic bound as a *topic* (`env.topic`) has its own scheme, `gcptopic://`, not the
//! queue's `gcppubsub://`: the two publish different wire forms (a queue message with cloudport's
//! portable attributes; a binary-mode CloudEvent with `ce-` attributes), and a scheme names one
//! kind (`KNOWN_SCHEMES`), so a binding can never make a queue consumer misread events.

use std::sync::Arc;

use cloudport_core::{Bucket, Error, KvStore, Provider, Queue, ResourceUrl, Result, Topic};

use crate::{FirestoreKv, Gcp, GcsBucket, PubSubQueue, PubSubTopic};

fn check(ok: bool, what: &str, name: &str, rule: &str) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!("{name:?} is not a {what} ({rule})")))
    }
}

/// Topics and subscriptions: 3–255 letters, digits, `- _ . ~ + %`, starting with a letter, not
/// starting with `goog`.
fn check_pubsub_name(name: &str, what: &str) -> Result<()> {
    let ok = (3..=255).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && !name.starts_with("goog")
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.~+%".contains(&b));
    check(
        ok,
        what,
        name,
        "3-255 letters, digits, '-_.~+%', starting with a letter, not with 'goog'",
    )
}

/// Buckets: 3–63 lowercase letters, digits, `-`, `_` or `.`, starting and ending with a letter
/// or digit.
fn check_bucket_name(name: &str) -> Result<()> {
    let b = name.as_bytes();
    let ok = (3..=63).contains(&b.len())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"-_.".contains(c))
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && !name.starts_with("goog");
    check(
        ok,
        "Cloud Storage bucket name",
        name,
        "3-63 lowercase letters, digits, '-', '_' or '.'",
    )
}

/// Projects: lowercase letters, digits, `-`, and `.`/`:` for domain-scoped projects.
fn check_project(name: &str) -> Result<()> {
    let ok = (1..=100).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-.:".contains(&b));
    check(
        ok,
        "GCP project id",
        name,
        "lowercase letters, digits and '-'",
    )
}

/// Collections and partitions: letters, digits, `-` and `_` (a subset of what Firestore
/// allows, free of `/`, `~` and the reserved `__…__` names).
fn check_simple(name: &str, what: &str) -> Result<()> {
    let ok = (1..=100).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && !(name.starts_with("__") && name.ends_with("__"));
    check(ok, what, name, "1-100 letters, digits, '-' or '_'")
}

impl Gcp {
    /// The topic `topic` of `project`, receiving from `subscription` when given.
    pub fn pubsub_queue(
        &self,
        project: &str,
        topic: &str,
        subscription: Option<&str>,
    ) -> Result<PubSubQueue> {
        check_project(project)?;
        check_pubsub_name(topic, "Pub/Sub topic name")?;
        if let Some(s) = subscription {
            check_pubsub_name(s, "Pub/Sub subscription name")?;
        }
        Ok(PubSubQueue::new(
            self.clone(),
            project.to_owned(),
            topic.to_owned(),
            subscription.map(str::to_owned),
        ))
    }

    /// The Pub/Sub topic `topic` of `project`, to publish CloudEvents to. Topic ids follow
    /// Pub/Sub's rule (<https://cloud.google.com/pubsub/docs/pubsub-basics#resource_names>): 3-255
    /// letters, digits, `-_.~+%`, starting with a letter, not with `goog`.
    pub fn pubsub_topic(&self, project: &str, topic: &str) -> Result<PubSubTopic> {
        let queue = self.pubsub_queue(project, topic, None)?;
        Ok(PubSubTopic::new(queue, topic.to_owned()))
    }

    /// The Cloud Storage bucket `name`.
    pub fn gcs_bucket(&self, name: &str) -> Result<GcsBucket> {
        check_bucket_name(name)?;
        Ok(GcsBucket::new(self.clone(), name.to_owned()))
    }

    /// The store `partition` of the Firestore collection `collection` (database `(default)`
    /// unless `database` names another).
    pub fn firestore_kv(
        &self,
        project: &str,
        collection: &str,
        partition: &str,
        database: Option<&str>,
    ) -> Result<FirestoreKv> {
        check_project(project)?;
        check_simple(collection, "Firestore collection id")?;
        check_simple(partition, "partition name")?;
        Ok(FirestoreKv::new(
            project.to_owned(),
            database.unwrap_or("(default)").to_owned(),
            collection.to_owned(),
            partition.to_owned(),
        ))
    }
}

fn with_context(url: &ResourceUrl, e: Error) -> Error {
    e.with_provider("gcp").with_resource(url.to_string())
}

fn scheme(url: &ResourceUrl, expected: &str) -> Result<()> {
    if url.scheme() == expected {
        Ok(())
    } else {
        Err(Error::invalid(format!("{url} is not a {expected}:// URL")))
    }
}

impl Provider for Gcp {
    fn name(&self) -> &'static str {
        "gcp"
    }

    fn schemes(&self) -> &'static [&'static str] {
        &["gcppubsub", "gcptopic", "gs", "firestore"]
    }

    /// `gcppubsub://projects/P/topics/T[?subscription=S]` (`P` = `_`: `GOOGLE_CLOUD_PROJECT`).
    fn open_queue(&self, url: &ResourceUrl) -> Result<Queue> {
        let open = || -> Result<Queue> {
            scheme(url, "gcppubsub")?;
            url.reject_unknown_params(&["subscription"])?;
            let path = url.path();
            let parts: Vec<&str> = path.split('/').collect();
            let (project, topic) = match (url.host().as_str(), parts.as_slice()) {
                ("projects", [project, "topics", topic]) => (*project, *topic),
                _ => {
                    return Err(Error::invalid(format!(
                        "{url}: expected gcppubsub://projects/PROJECT/topics/TOPIC[?subscription=SUB]"
                    )));
                }
            };
            let project = self.project(project)?;
            let queue = self.pubsub_queue(&project, topic, url.param("subscription"))?;
            Ok(Queue::from_driver(Arc::new(queue)))
        };
        open().map_err(|e| with_context(url, e))
    }

    /// `gs://BUCKET`.
    fn open_topic(&self, url: &ResourceUrl) -> Result<Topic> {
        let open = || -> Result<Topic> {
            scheme(url, "gcptopic")?;
            url.reject_unknown_params(&[])?;
            let path = url.path();
            let parts: Vec<&str> = path.split('/').collect();
            let (project, topic) = match (url.host().as_str(), parts.as_slice()) {
                ("projects", [project, "topics", topic]) => (*project, *topic),
                _ => {
                    return Err(Error::invalid(format!(
                        "{url}: expected gcptopic://projects/PROJECT/topics/TOPIC"
                    )));
                }
            };
            let project = self.project(project)?;
            Ok(Topic::new(self.pubsub_topic(&project, topic)?))
        };
        open().map_err(|e| with_context(url, e))
    }

    fn open_bucket(&self, url: &ResourceUrl) -> Result<Bucket> {
        let open = || -> Result<Bucket> {
            scheme(url, "gs")?;
            url.reject_unknown_params(&[])?;
            if !url.path().is_empty() {
                return Err(Error::invalid(format!("{url}: expected gs://BUCKET")));
            }
            Ok(Bucket::new(self.gcs_bucket(&url.host())?))
        };
        open().map_err(|e| with_context(url, e))
    }

    /// `firestore://PROJECT/COLLECTION[?database=D&partition=NS]` (`PROJECT` = `_`:
    /// `GOOGLE_CLOUD_PROJECT`).
    fn open_kv(&self, url: &ResourceUrl) -> Result<KvStore> {
        let open = || -> Result<KvStore> {
            scheme(url, "firestore")?;
            url.reject_unknown_params(&["database", "partition"])?;
            let collection = url.path();
            if collection.is_empty() || collection.contains('/') {
                return Err(Error::invalid(format!(
                    "{url}: expected firestore://PROJECT/COLLECTION"
                )));
            }
            Ok(KvStore::new(self.firestore_kv(
                &self.project(&url.host())?,
                &collection,
                url.param("partition").unwrap_or("default"),
                url.param("database"),
            )?))
        };
        open().map_err(|e| with_context(url, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloudport_core::ErrorKind;

    fn kind(url: &str) -> Option<ErrorKind> {
        let gcp = Gcp::with_settings(crate::Settings::default());
        let url = ResourceUrl::parse(url).unwrap();
        let r = match url.scheme() {
            "gcppubsub" => gcp.open_queue(&url).map(drop),
            "gcptopic" => gcp.open_topic(&url).map(drop),
            "gs" => gcp.open_bucket(&url).map(drop),
            _ => gcp.open_kv(&url).map(drop),
        };
        r.err().map(|e| e.kind())
    }

    #[test]
    fn urls_open_without_any_call_and_bad_names_fail() {
        assert_eq!(
            kind("gcppubsub://projects/p1/topics/orders?subscription=orders-sub"),
            None
        );
        assert_eq!(kind("gs://my-bucket"), None);
        assert_eq!(kind("gcptopic://projects/p1/topics/orders.v2~eu"), None);
        assert_eq!(kind("firestore://p1/state?partition=orders"), None);
        for bad in [
            "gcppubsub://projects/p1/orders",
            "gcppubsub://projects/p1/topics/goog-x",
            "gcppubsub://projects/p1/topics/1abc",
            "gcppubsub://projects/p1/topics/ok?subscription=x",
            "gcppubsub://projects/p1/topics/ok?bogus=1",
            "gcptopic://projects/p1/topics/goog-x",
            "gcptopic://projects/p1/topics/ab",
            "gcptopic://projects/p1/topics/1abc",
            "gcptopic://projects/p1/subscriptions/orders",
            "gcptopic://projects/p1/topics/ok?subscription=x",
            "gs://UPPER",
            "gs://b/with/path",
            "firestore://p1/a/b",
            "firestore://p1/__x__",
            "firestore://p1/state?partition=a~b",
        ] {
            assert_eq!(kind(bad), Some(ErrorKind::InvalidArgument), "{bad}");
        }
    }
}
