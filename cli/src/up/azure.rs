//! Azure on Azurite: a storage queue per declared queue (and `<queue>-poison` for each one the
//! app consumes: the queue the Functions host and the provider move poison messages to), a blob
//! container per bucket, a table per KV store — named as `cargo cloudport package --cloud azure`
//! names them ([`crate::azure::model`]), created with the provider's own `create` calls.
//!
//! The connection comes from `AzureWebJobsStorage`, else `AZURE_STORAGE_CONNECTION_STRING`
//! ([`cloudport_azure::DEFAULT_CONNECTION_SETTINGS`]): `UseDevelopmentStorage=true`, or a
//! connection string whose `BlobEndpoint` / `QueueEndpoint` / `TableEndpoint` (each one the app
//! needs) are on this machine — as the provider's own parser reads them
//! ([`cloudport_azure::connection_endpoints`]). A string without explicit endpoints would reach
//! `<account>.<service>.core.windows.net`, and is refused.

use cloudport_azure::{Azure, DEFAULT_CONNECTION_SETTINGS, DEFAULT_MAX_DEQUEUE_COUNT};
use cloudport_core::ResourceKind;
use cloudport_core::env::binding_var;

use super::local::{Lookup, check_loopback};
use super::{Bindings, Error, Made, Outcome, Up, prefixed};
use crate::azure::model::{dns_name, table_name};
use crate::model::Model;

/// A queue and its poison queue.
#[derive(Debug)]
struct AzQueue {
    name: String,
    native: String,
    poison: Option<String>,
    max_deliveries: Option<u32>,
}

/// What `up` creates on Azurite.
#[derive(Debug)]
pub(super) struct Plan {
    setting: &'static str,
    connection: String,
    secret: bool,
    account: String,
    queues: Vec<AzQueue>,
    containers: Vec<(String, String)>,
    tables: Vec<(String, String)>,
}

impl Plan {
    /// Reads and checks the connection and names every resource.
    pub(super) fn new(d: &Model<'_>, prefix: Option<&str>, env: Lookup<'_>) -> Result<Self, Error> {
        let (setting, connection) = DEFAULT_CONNECTION_SETTINGS
            .iter()
            .find_map(|var| env(var).map(|v| (*var, v)))
            .ok_or_else(|| Error::MissingEndpoint {
                var: DEFAULT_CONNECTION_SETTINGS.join(" or "),
                emulator: "Azurite".into(),
                hint: "UseDevelopmentStorage=true for Azurite on its default ports, else a connection string with BlobEndpoint, QueueEndpoint and TableEndpoint on 127.0.0.1".into(),
            })?;
        // Where the provider would go, by the provider's own parser: a string that repeats a
        // setting reads as the provider reads it (the last wins), not as a second parser might.
        let resolved =
            cloudport_azure::connection_endpoints(&connection).map_err(|e| Error::BadEndpoint {
                var: setting.to_owned(),
                detail: e.message().to_owned(),
            })?;
        for (endpoint, url, needed) in [
            ("QueueEndpoint", &resolved.queue, !d.queues.is_empty()),
            ("BlobEndpoint", &resolved.blob, !d.buckets.is_empty()),
            ("TableEndpoint", &resolved.table, !d.stores.is_empty()),
        ] {
            if needed {
                check_loopback(&format!("{setting} ({endpoint})"), url.as_str())?;
            }
        }
        let (account, secret) = (resolved.account, resolved.has_secret);
        let name = |kind: &str, logical: &str, max: usize| {
            dns_name(kind, &prefixed(prefix, logical), max).map_err(Error::Cli)
        };
        let mut queues = Vec::new();
        for q in &d.queues {
            // Room for `-poison`, as the package generator leaves it.
            let native = name("queue", &q.name, 63 - "-poison".len())?;
            queues.push(AzQueue {
                name: q.name.clone(),
                poison: (q.triggered || q.can("consume")).then(|| format!("{native}-poison")),
                native,
                max_deliveries: q.dead_letter.as_ref().map(|dl| dl.max_deliveries.max(1)),
            });
        }
        let containers = d
            .buckets
            .iter()
            .map(|b| Ok((b.name.clone(), name("bucket", &b.name, 63)?)))
            .collect::<Result<_, Error>>()?;
        let tables = d
            .stores
            .iter()
            .map(|s| {
                Ok((
                    s.name.clone(),
                    table_name(&prefixed(prefix, &s.name)).map_err(Error::Cli)?,
                ))
            })
            .collect::<Result<_, Error>>()?;
        Ok(Self {
            setting,
            connection,
            secret,
            account,
            queues,
            containers,
            tables,
        })
    }

    /// The bindings: `azqueue://<account>/<queue>` (with `?max_dequeue_count=N` when the code
    /// declares other than the host's 5 deliveries), `azblob://<account>/<container>`,
    /// `aztable://<account>/<table>`, as the package generator binds them, and the connection
    /// setting they were created with.
    pub(super) fn bindings(&self) -> Bindings {
        let mut b = Bindings::default();
        let a = &self.account;
        for q in &self.queues {
            let params = match q.max_deliveries {
                Some(n) if n != DEFAULT_MAX_DEQUEUE_COUNT => format!("?max_dequeue_count={n}"),
                _ => String::new(),
            };
            b.set(
                binding_var(ResourceKind::Queue, &q.name),
                format!("azqueue://{a}/{}{params}", q.native),
            );
        }
        for (logical, native) in &self.containers {
            b.set(
                binding_var(ResourceKind::Bucket, logical),
                format!("azblob://{a}/{native}"),
            );
        }
        for (logical, native) in &self.tables {
            b.set(
                binding_var(ResourceKind::Kv, logical),
                format!("aztable://{a}/{native}"),
            );
        }
        if self.secret {
            b.set_secret(self.setting, &self.connection);
        } else {
            b.set(self.setting, &self.connection);
        }
        b
    }

    /// Creates what is missing (the provider's `create` calls take an existing resource as
    /// success, so each is reported [`Outcome::Ready`]).
    pub(super) async fn create(self) -> Result<Up, Error> {
        let azure = Azure::from_connection_string(&self.connection);
        let a = &self.account;
        let mut made = Vec::new();
        let mut ready = |what: String| {
            made.push(Made {
                what,
                outcome: Outcome::Ready,
            });
        };
        for q in &self.queues {
            for native in std::iter::once(&q.native).chain(q.poison.as_ref()) {
                let what = format!("storage queue {native} (queue {:?})", q.name);
                let queue = azure
                    .queue(a, native, None)
                    .map_err(Error::emulator(&what))?;
                queue.create().await.map_err(Error::emulator(&what))?;
                ready(what);
            }
        }
        for (logical, native) in &self.containers {
            let what = format!("blob container {native} (bucket {logical:?})");
            let c = azure
                .container(a, native, None)
                .map_err(Error::emulator(&what))?;
            c.create().await.map_err(Error::emulator(&what))?;
            ready(what);
        }
        for (logical, native) in &self.tables {
            let what = format!("table {native} (kv {logical:?})");
            let t = azure
                .table(a, native, "default", None)
                .map_err(Error::emulator(&what))?;
            t.create_table().await.map_err(Error::emulator(&what))?;
            ready(what);
        }
        Ok(Up {
            bindings: self.bindings(),
            made,
            notes: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::up::quickstart;

    fn env(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |var| {
            vars.iter()
                .find(|(k, _)| *k == var)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn the_quickstart_on_azurite() {
        let plan = Plan::new(
            &quickstart(),
            Some("t1"),
            &env(&[("AzureWebJobsStorage", "UseDevelopmentStorage=true")]),
        )
        .expect("plan");
        assert_eq!(plan.queues[0].poison.as_deref(), Some("t1-orders-poison"));
        assert_eq!(
            plan.bindings().dotenv(),
            "AzureWebJobsStorage='UseDevelopmentStorage=true'\n\
             CLOUDPORT_BUCKET_RECEIPTS=azblob://devstoreaccount1/t1-receipts\n\
             CLOUDPORT_KV_ORDERS=aztable://devstoreaccount1/t1orders\n\
             CLOUDPORT_QUEUE_ORDERS=azqueue://devstoreaccount1/t1-orders\n"
        );
    }

    #[test]
    fn only_endpoints_on_this_machine_pass() {
        let cloud = env(&[(
            "AZURE_STORAGE_CONNECTION_STRING",
            "DefaultEndpointsProtocol=https;AccountName=prod;AccountKey=c2VjcmV0c2VjcmV0;EndpointSuffix=core.windows.net",
        )]);
        let e = Plan::new(&quickstart(), None, &cloud).expect_err("no local endpoints");
        // Without explicit endpoints the account's public ones are where the provider would go.
        assert!(
            matches!(e, Error::NotLoopback { ref host, .. } if host == "prod.queue.core.windows.net"),
            "{e}"
        );
        assert!(!e.to_string().contains("c2VjcmV0"), "{e}");
        let remote = env(&[(
            "AzureWebJobsStorage",
            "AccountName=prod;AccountKey=c2VjcmV0c2VjcmV0;QueueEndpoint=https://prod.queue.core.windows.net;BlobEndpoint=http://127.0.0.1:10000/prod;TableEndpoint=http://127.0.0.1:10002/prod",
        )]);
        let e = Plan::new(&quickstart(), None, &remote).expect_err("remote queue endpoint");
        assert!(
            matches!(e, Error::NotLoopback { ref host, .. } if host == "prod.queue.core.windows.net"),
            "{e}"
        );
        let unset = env(&[]);
        assert!(matches!(
            Plan::new(&quickstart(), None, &unset),
            Err(Error::MissingEndpoint { .. })
        ));
    }

    #[test]
    fn a_key_other_than_azurites_is_not_printed() {
        let custom = env(&[(
            "AzureWebJobsStorage",
            "AccountName=dev2;AccountKey=c2VjcmV0c2VjcmV0;QueueEndpoint=http://127.0.0.1:1/dev2;BlobEndpoint=http://127.0.0.1:2/dev2;TableEndpoint=http://127.0.0.1:3/dev2",
        )]);
        let b = Plan::new(&quickstart(), None, &custom)
            .expect("plan")
            .bindings();
        assert!(!b.printed().contains("c2VjcmV0"));
        assert!(b.dotenv().contains("c2VjcmV0"));
        assert_eq!(
            b.get("CLOUDPORT_QUEUE_ORDERS"),
            Some("azqueue://dev2/orders")
        );
    }
}
