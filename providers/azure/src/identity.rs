//! Identity-based connections: Entra ID tokens instead of account keys, so that a function's
//! identity holds only the data-plane roles its declared access needs (the deploy tool assigns
//! them by role id, per resource).
//!
//! The settings are the Azure Functions host's own for identity-based connections
//! (<https://learn.microsoft.com/azure/azure-functions/functions-reference#configure-an-identity-based-connection>),
//! so the host's triggers and the handlers' resources share one configuration. For a prefix
//! `P` (`AzureWebJobsStorage`, or the setting a URL names with `?connection=P`), when the setting
//! `P` itself (a connection string) is not set:
//!
//! | setting | meaning |
//! |---|---|
//! | `P__accountName` | the account; endpoints `https://ACCOUNT.{blob,queue,table}.core.windows.net` |
//! | `P__blobServiceUri` (or `P__serviceUri`), `P__queueServiceUri`, `P__tableServiceUri` | explicit endpoints (https only); the account is the host's first label, or the first path segment of a path-style endpoint (Azurite) |
//! | `P__credential` | `managedidentity`, or `workloadidentity` (AKS); unset: see below |
//! | `P__clientId` | the user-assigned identity's client id (managed or workload identity, client secret) |
//! | `P__managedIdentityResourceId` | the user-assigned identity by resource id (managed identity, not on App Service) |
//! | `P__tenantId`, `P__clientSecret` | a service principal's secret (local development only) |
//!
//! Without `P__credential`: a tenant, client id and secret mean that service principal; else
//! `AZURE_FEDERATED_TOKEN_FILE` means workload identity; else `IDENTITY_ENDPOINT` (App Service,
//! Functions) means managed identity; else, on a developer's machine, the Azure CLI's or
//! Developer CLI's login (`DeveloperToolsCredential`). A VM has no such variable: set
//! `P__credential=managedidentity` there (its IMDS endpoint is then used).
//!
//! Every credential comes from the official `azure_identity` crate and is made once per process
//! and identity, so all resources share its token cache.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use azure_core::credentials::TokenCredential;
use azure_identity::{
    ClientAssertionCredentialOptions, ClientSecretCredential, ClientSecretCredentialOptions,
    DeveloperToolsCredential, ManagedIdentityCredential, ManagedIdentityCredentialOptions,
    UserAssignedId, WorkloadIdentityCredential, WorkloadIdentityCredentialOptions,
};
use cloudport_core::redact::register_secret;
use cloudport_core::{Error, ErrorKind, Result};
use url::Url;

use crate::config::{Account, Auth, Endpoint, Service};

/// Which credential an identity-based connection uses.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum CredentialChoice {
    /// A managed identity: system-assigned, or user-assigned by client id or resource id.
    Managed {
        client_id: Option<String>,
        resource_id: Option<String>,
    },
    /// Entra Workload ID (Kubernetes): `AZURE_FEDERATED_TOKEN_FILE`, the tenant and client id.
    Workload {
        client_id: Option<String>,
        tenant_id: Option<String>,
    },
    /// A service principal with a client secret (the secret is in `P__clientSecret`; `setting`
    /// is `P`, so that two prefixes with different secrets never share a credential).
    Secret {
        tenant_id: String,
        client_id: String,
        setting: String,
    },
    /// The Azure CLI's or Developer CLI's login.
    DeveloperTools,
}

/// The identity-based settings of prefix `prefix`, read through `lookup` (the environment in
/// production); `None` when there are none.
pub(crate) struct Settings<'a, F: Fn(&str) -> Option<String>> {
    prefix: &'a str,
    lookup: F,
}

impl<'a, F: Fn(&str) -> Option<String>> Settings<'a, F> {
    pub(crate) fn new(prefix: &'a str, lookup: F) -> Self {
        Self { prefix, lookup }
    }

    fn get(&self, name: &str) -> Option<String> {
        (self.lookup)(&format!("{}__{name}", self.prefix)).filter(|v| !v.trim().is_empty())
    }

    fn name(&self, name: &str) -> String {
        format!("{}__{name}", self.prefix)
    }

    /// Whether any identity-based setting of the prefix is set.
    pub(crate) fn present(&self) -> bool {
        [
            "accountName",
            "serviceUri",
            "blobServiceUri",
            "queueServiceUri",
            "tableServiceUri",
        ]
        .iter()
        .any(|n| self.get(n).is_some())
    }

    /// The account: its name, its three endpoints (or why one is missing), and the credential
    /// to use. `credential` overrides the settings' choice ([`crate::Azure::with_credential`]).
    pub(crate) fn account(&self, credential: Option<Arc<dyn TokenCredential>>) -> Result<Account> {
        let explicit = |service: Service| -> Result<Option<Url>> {
            let names: &[&str] = match service {
                Service::Blob => &["serviceUri", "blobServiceUri"],
                Service::Queue => &["queueServiceUri"],
                Service::Table => &["tableServiceUri"],
            };
            for name in names {
                if let Some(text) = self.get(name) {
                    return https_endpoint(&self.name(name), &text).map(Some);
                }
            }
            Ok(None)
        };
        let given = [
            (Service::Blob, explicit(Service::Blob)?),
            (Service::Queue, explicit(Service::Queue)?),
            (Service::Table, explicit(Service::Table)?),
        ];
        let name = match self.get("accountName") {
            Some(name) => {
                // It goes into host names: only what a storage account name can be (the rule
                // URLs are checked by), named by its setting.
                crate::open::check_account(&name).map_err(|_| {
                    Error::invalid(format!(
                        "{} is not a storage account name (3-24 lowercase letters and digits)",
                        self.name("accountName")
                    ))
                })?;
                name
            }
            None => given
                .iter()
                .find_map(|(_, url)| url.as_ref().and_then(account_of))
                .ok_or_else(|| {
                    Error::invalid(format!(
                        "{} names no storage account: set {} or a service URI whose host is ACCOUNT.blob|queue|table.SUFFIX",
                        self.prefix,
                        self.name("accountName")
                    ))
                })?,
        };
        let endpoint = |service: Service| -> Endpoint {
            if let Some((_, Some(url))) = given.iter().find(|(s, _)| *s == service) {
                return Ok(url.clone());
            }
            derived(&name, service, &given).ok_or_else(|| {
                format!(
                    "{} gives no {} endpoint: set {}",
                    self.prefix,
                    label(service),
                    self.name(match service {
                        Service::Blob => "blobServiceUri",
                        Service::Queue => "queueServiceUri",
                        Service::Table => "tableServiceUri",
                    })
                )
            })
        };
        let credential = match credential {
            Some(c) => c,
            None => shared_credential(&self.choice()?, || self.get("clientSecret"))?,
        };
        let (blob, queue, table) = (
            endpoint(Service::Blob),
            endpoint(Service::Queue),
            endpoint(Service::Table),
        );
        Ok(Account::new(
            name,
            Auth::Token(credential),
            blob,
            queue,
            table,
        ))
    }

    /// The credential the settings (and the platform's variables) choose.
    pub(crate) fn choice(&self) -> Result<CredentialChoice> {
        let client_id = self.get("clientId");
        if client_id.is_some() && self.get("managedIdentityResourceId").is_some() {
            return Err(Error::invalid(format!(
                "{} and {} name the identity twice: set one",
                self.name("clientId"),
                self.name("managedIdentityResourceId")
            )));
        }
        let tenant_id = self.get("tenantId");
        let env = |name: &str| (self.lookup)(name).filter(|v| !v.is_empty());
        match self
            .get("credential")
            .map(|c| c.to_ascii_lowercase())
            .as_deref()
        {
            Some("managedidentity") => Ok(CredentialChoice::Managed {
                client_id,
                resource_id: self.get("managedIdentityResourceId"),
            }),
            Some("workloadidentity") => Ok(CredentialChoice::Workload {
                client_id,
                tenant_id,
            }),
            Some(_) => Err(Error::invalid(format!(
                "{} must be managedidentity or workloadidentity (or unset)",
                self.name("credential")
            ))),
            None => Ok(match (tenant_id, client_id, self.get("clientSecret")) {
                (Some(tenant_id), Some(client_id), Some(_)) => CredentialChoice::Secret {
                    tenant_id,
                    client_id,
                    setting: self.prefix.to_owned(),
                },
                (tenant_id, client_id, _) if env("AZURE_FEDERATED_TOKEN_FILE").is_some() => {
                    CredentialChoice::Workload {
                        client_id,
                        tenant_id,
                    }
                }
                (_, client_id, _) if env("IDENTITY_ENDPOINT").is_some() => {
                    CredentialChoice::Managed {
                        client_id,
                        resource_id: self.get("managedIdentityResourceId"),
                    }
                }
                _ => CredentialChoice::DeveloperTools,
            }),
        }
    }
}

fn label(service: Service) -> &'static str {
    match service {
        Service::Blob => "blob",
        Service::Queue => "queue",
        Service::Table => "table",
    }
}

/// A service URI setting, which must be https: tokens are never sent in the clear (the SDK
/// refuses them on http, with a vaguer error, at the first request).
fn https_endpoint(setting: &str, text: &str) -> Result<Url> {
    let url = Url::parse(text.trim_end_matches('/'))
        .map_err(|e| Error::invalid(format!("{setting} is not a URL: {e}")))?;
    if url.scheme() != "https" {
        return Err(Error::invalid(format!(
            "{setting} must be an https URL: an identity-based connection sends Entra ID tokens, never in the clear"
        )));
    }
    Ok(url)
}

/// The account of a service endpoint: `ACCOUNT.queue.core.windows.net`, or the first path
/// segment of a path-style endpoint (`https://127.0.0.1:10001/devstoreaccount1`).
fn account_of(url: &Url) -> Option<String> {
    match url.host()? {
        // `acct.queue.core.windows.net`; a host without a dot (`localhost`, a container's name
        // such as `azurite`) is path-style.
        url::Host::Domain(host) if host.contains('.') => host.split('.').next().map(str::to_owned),
        _ => url
            .path_segments()?
            .next()
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
    }
}

/// The endpoint of `service` for `account`: from another given host-style endpoint
/// (`acct.queue.SUFFIX` → `acct.table.SUFFIX`), else the public cloud's.
fn derived(account: &str, service: Service, given: &[(Service, Option<Url>); 3]) -> Option<Url> {
    for (other, url) in given {
        let Some(url) = url else { continue };
        if let Some(url::Host::Domain(host)) = url.host() {
            let mut labels = host.splitn(3, '.');
            let (Some(acct), Some(svc), Some(suffix)) =
                (labels.next(), labels.next(), labels.next())
            else {
                continue;
            };
            if acct == account && svc == label(*other) {
                return Url::parse(&format!("https://{acct}.{}.{suffix}", label(service))).ok();
            }
        }
    }
    if given.iter().any(|(_, url)| url.is_some()) {
        // Path-style (Azurite) or custom domains: nothing to derive from.
        return None;
    }
    Url::parse(&format!(
        "https://{account}.{}.core.windows.net",
        label(service)
    ))
    .ok()
}

/// One credential per identity per process, so that every resource shares its token cache.
fn shared_credential(
    choice: &CredentialChoice,
    secret: impl FnOnce() -> Option<String>,
) -> Result<Arc<dyn TokenCredential>> {
    static CREDENTIALS: OnceLock<Mutex<HashMap<CredentialChoice, Arc<dyn TokenCredential>>>> =
        OnceLock::new();
    let mut map = CREDENTIALS
        .get_or_init(Default::default)
        .lock()
        .map_err(|_| Error::new(ErrorKind::Other, "credential cache poisoned"))?;
    if let Some(c) = map.get(choice) {
        return Ok(c.clone());
    }
    let credential = make_credential(choice, secret)?;
    map.insert(choice.clone(), credential.clone());
    Ok(credential)
}

/// The credentials' HTTP options: three retries 500 ms apart, within 3 s. Managed-identity
/// endpoints ask callers to retry (IMDS: "Retry guidance",
/// <https://learn.microsoft.com/entra/identity/managed-identities-azure-resources/how-to-use-vm-token#error-handling>),
/// but the SDK's default (8 retries, a minute) would hold an invocation on a dead endpoint; the
/// operation itself is retried by cloudport's `RetryPolicy`, as for every storage call (ADR 0003).
fn credential_options() -> azure_core::http::ClientOptions {
    azure_core::http::ClientOptions {
        retry: azure_core::http::RetryOptions::fixed(azure_core::http::FixedRetryOptions {
            delay: azure_core::time::Duration::milliseconds(500),
            max_retries: 3,
            max_total_elapsed: azure_core::time::Duration::seconds(3),
        }),
        ..Default::default()
    }
}

fn make_credential(
    choice: &CredentialChoice,
    secret: impl FnOnce() -> Option<String>,
) -> Result<Arc<dyn TokenCredential>> {
    let failed = |what: &str, e: azure_core::Error| {
        Error::new(
            ErrorKind::Unauthenticated,
            format!("{what} is not available here: {e}"),
        )
    };
    Ok(match choice {
        CredentialChoice::Managed {
            client_id,
            resource_id,
        } => {
            let user_assigned_id = match (client_id, resource_id) {
                (Some(id), _) => Some(UserAssignedId::ClientId(id.clone())),
                (None, Some(id)) => Some(UserAssignedId::ResourceId(id.clone())),
                (None, None) => None,
            };
            ManagedIdentityCredential::new(Some(ManagedIdentityCredentialOptions {
                user_assigned_id,
                client_options: credential_options(),
            }))
            .map_err(|e| failed("the managed identity", e))?
        }
        CredentialChoice::Workload {
            client_id,
            tenant_id,
        } => WorkloadIdentityCredential::new(Some(WorkloadIdentityCredentialOptions {
            client_id: client_id.clone(),
            tenant_id: tenant_id.clone(),
            credential_options: ClientAssertionCredentialOptions {
                client_options: credential_options(),
            },
            ..Default::default()
        }))
        .map_err(|e| failed("workload identity", e))?,
        CredentialChoice::Secret {
            tenant_id,
            client_id,
            ..
        } => {
            let secret = secret().unwrap_or_default();
            register_secret(&secret);
            ClientSecretCredential::new(
                tenant_id,
                client_id.clone(),
                secret.into(),
                Some(ClientSecretCredentialOptions {
                    client_options: credential_options(),
                }),
            )
            .map_err(|e| failed("the service principal", e))?
        }
        CredentialChoice::DeveloperTools => DeveloperToolsCredential::new(None)
            .map_err(|e| failed("a developer login (az login / azd auth login)", e))?,
    })
}

/// The GA SDK's credential as the legacy Table client's (`azure_core` 0.21): the same tokens and
/// cache for tables as for queues and blobs.
#[derive(Debug)]
pub(crate) struct LegacyCredential(pub(crate) Arc<dyn TokenCredential>);

#[async_trait::async_trait]
impl azure_core_legacy::auth::TokenCredential for LegacyCredential {
    async fn get_token(
        &self,
        scopes: &[&str],
    ) -> azure_core_legacy::Result<azure_core_legacy::auth::AccessToken> {
        let token = self.0.get_token(scopes, None).await.map_err(|e| {
            azure_core_legacy::Error::full(
                azure_core_legacy::error::ErrorKind::Credential,
                e,
                "getting a token for Table storage",
            )
        })?;
        Ok(azure_core_legacy::auth::AccessToken::new(
            token.token.secret().to_owned(),
            token.expires_on,
        ))
    }

    /// Nothing to clear here: the GA credential keeps the cache, and refreshes a token before
    /// it expires.
    async fn clear_cache(&self) -> azure_core_legacy::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k: &str| map.get(k).cloned()
    }

    fn endpoints(a: &Account) -> [String; 3] {
        [Service::Blob, Service::Queue, Service::Table].map(|s| match a.endpoint(s) {
            Ok(u) => u.to_string(),
            Err(e) => format!("error: {}", e.message()),
        })
    }

    fn fixed() -> Option<Arc<dyn TokenCredential>> {
        // Any credential: these tests never ask it for a token.
        Some(
            ManagedIdentityCredential::new(None)
                .expect("a managed identity credential is made lazily"),
        )
    }

    #[test]
    fn account_name_gives_the_public_cloud_endpoints() {
        let s = settings(&[("S__accountName", "acme")]);
        let a = Settings::new("S", s).account(fixed()).unwrap();
        assert_eq!(a.name, "acme");
        assert_eq!(
            endpoints(&a),
            [
                "https://acme.blob.core.windows.net/",
                "https://acme.queue.core.windows.net/",
                "https://acme.table.core.windows.net/"
            ]
        );
    }

    #[test]
    fn one_host_style_uri_gives_the_others_in_its_cloud() {
        let s = settings(&[(
            "S__queueServiceUri",
            "https://acme.queue.core.chinacloudapi.cn/",
        )]);
        let a = Settings::new("S", s).account(fixed()).unwrap();
        assert_eq!(a.name, "acme");
        assert_eq!(
            endpoints(&a)[2],
            "https://acme.table.core.chinacloudapi.cn/"
        );
    }

    #[test]
    fn path_style_endpoints_name_the_account_and_missing_ones_say_which_setting() {
        let s = settings(&[(
            "S__queueServiceUri",
            "https://127.0.0.1:10011/devstoreaccount1",
        )]);
        let a = Settings::new("S", s).account(fixed()).unwrap();
        assert_eq!(a.name, "devstoreaccount1");
        let e = endpoints(&a);
        assert_eq!(e[1], "https://127.0.0.1:10011/devstoreaccount1");
        assert_eq!(
            e[2],
            "error: S gives no table endpoint: set S__tableServiceUri"
        );
    }

    #[test]
    fn http_endpoints_and_unknown_credentials_are_refused_before_any_call() {
        let s = settings(&[(
            "S__queueServiceUri",
            "http://127.0.0.1:10001/devstoreaccount1",
        )]);
        let e = Settings::new("S", s).account(fixed()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert!(
            e.message()
                .contains("S__queueServiceUri must be an https URL"),
            "{e}"
        );
        let s = settings(&[("S__accountName", "acme"), ("S__credential", "password")]);
        let e = Settings::new("S", s).choice().unwrap_err();
        assert!(
            e.message().contains("managedidentity or workloadidentity"),
            "{e}"
        );
        assert!(!Settings::new("S", settings(&[("S", "x")])).present());
        // An account name goes into host names: nothing else gets through.
        let s = settings(&[("S__accountName", "evil.example#")]);
        let e = Settings::new("S", s).account(fixed()).unwrap_err();
        assert!(
            e.message()
                .contains("S__accountName is not a storage account name"),
            "{e}"
        );
        // One identity, named once.
        let s = settings(&[
            ("S__credential", "managedidentity"),
            ("S__clientId", "c"),
            ("S__managedIdentityResourceId", "/subscriptions/x"),
        ]);
        let e = Settings::new("S", s).choice().unwrap_err();
        assert!(e.message().contains("name the identity twice"), "{e}");
    }

    #[test]
    fn a_host_without_a_dot_is_path_style() {
        let s = settings(&[(
            "S__queueServiceUri",
            "https://azurite:10001/devstoreaccount1",
        )]);
        let a = Settings::new("S", s).account(fixed()).unwrap();
        assert_eq!(a.name, "devstoreaccount1");
    }

    #[test]
    fn the_credential_follows_the_settings_and_the_platform() {
        let choice = |pairs: &[(&str, &str)]| Settings::new("S", settings(pairs)).choice().unwrap();
        assert_eq!(
            choice(&[("S__credential", "ManagedIdentity"), ("S__clientId", "c1")]),
            CredentialChoice::Managed {
                client_id: Some("c1".into()),
                resource_id: None
            }
        );
        assert_eq!(
            choice(&[("IDENTITY_ENDPOINT", "http://127.0.0.1:1/msi")]),
            CredentialChoice::Managed {
                client_id: None,
                resource_id: None
            }
        );
        assert_eq!(
            choice(&[
                ("AZURE_FEDERATED_TOKEN_FILE", "/var/run/token"),
                ("S__clientId", "c")
            ]),
            CredentialChoice::Workload {
                client_id: Some("c".into()),
                tenant_id: None
            }
        );
        assert_eq!(
            choice(&[
                ("S__tenantId", "t"),
                ("S__clientId", "c"),
                ("S__clientSecret", "s")
            ]),
            CredentialChoice::Secret {
                tenant_id: "t".into(),
                client_id: "c".into(),
                setting: "S".into()
            }
        );
        assert_eq!(choice(&[]), CredentialChoice::DeveloperTools);
    }
}
