//! Opening memory resources from `mem://NAME` URLs, optionally under a cloud's limits:
//! `mem://NAME?profile=aws|azure|gcp|strictest` (see [`Profile`]).

use cloudport_core::{
    Bucket, Error, KvStore, Provider, Queue, ResourceUrl, Result, Topic, validate,
};

use crate::{Memory, Profile};

/// The resource name and the profile, if any, of a `mem://NAME[?profile=PROFILE]` URL (else
/// `default`).
fn parse(url: &ResourceUrl, default: Option<Profile>) -> Result<(String, Option<Profile>)> {
    url.reject_unknown_params(&["profile"])?;
    let host = url.host();
    let path = url.path();
    if !path.is_empty() {
        return Err(Error::invalid(format!(
            "{url}: a memory URL is mem://NAME, without a path"
        )));
    }
    validate::logical_name(&host).map_err(|e| e.with_resource(url.to_string()))?;
    let profile = url
        .param("profile")
        .map(|p| p.parse::<Profile>())
        .transpose()
        .map_err(|e| e.with_resource(url.to_string()))?;
    Ok((host, profile.or(default)))
}

impl Provider for Memory {
    fn name(&self) -> &'static str {
        "memory"
    }

    fn schemes(&self) -> &'static [&'static str] {
        &["mem"]
    }

    fn open_queue(&self, url: &ResourceUrl) -> Result<Queue> {
        Ok(match parse(url, self.default_profile())? {
            (name, None) => Queue::new(self.queue_driver(&name)),
            (name, Some(profile)) => self.queue_with_profile(&name, profile),
        })
    }

    fn open_bucket(&self, url: &ResourceUrl) -> Result<Bucket> {
        Ok(match parse(url, self.default_profile())? {
            (name, None) => Bucket::new(self.bucket_driver(&name)),
            (name, Some(profile)) => self.bucket_with_profile(&name, profile),
        })
    }

    fn open_topic(&self, url: &ResourceUrl) -> Result<Topic> {
        let (name, profile) = parse(url, self.default_profile())?;
        Ok(Topic::new(self.topic_driver_with(&name, profile)))
    }

    fn open_kv(&self, url: &ResourceUrl) -> Result<KvStore> {
        Ok(match parse(url, self.default_profile())? {
            (name, None) => KvStore::new(self.kv_driver(&name)),
            (name, Some(profile)) => self.kv_with_profile(&name, profile),
        })
    }
}
