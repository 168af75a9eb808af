//! Opening memory resources from `mem://NAME` URLs.

use cloudport_core::{Bucket, Error, KvStore, Provider, Queue, ResourceUrl, Result, validate};

use crate::Memory;

fn name(url: &ResourceUrl) -> Result<String> {
    url.reject_unknown_params(&[])?;
    let host = url.host();
    let path = url.path();
    if !path.is_empty() {
        return Err(Error::invalid(format!(
            "{url}: a memory URL is mem://NAME, without a path"
        )));
    }
    validate::logical_name(&host).map_err(|e| e.with_resource(url.to_string()))?;
    Ok(host)
}

impl Provider for Memory {
    fn name(&self) -> &'static str {
        "memory"
    }

    fn schemes(&self) -> &'static [&'static str] {
        &["mem"]
    }

    fn open_queue(&self, url: &ResourceUrl) -> Result<Queue> {
        Ok(self.queue(&name(url)?))
    }

    fn open_bucket(&self, url: &ResourceUrl) -> Result<Bucket> {
        Ok(self.bucket(&name(url)?))
    }

    fn open_kv(&self, url: &ResourceUrl) -> Result<KvStore> {
        Ok(self.kv(&name(url)?))
    }
}
