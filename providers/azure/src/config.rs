//! Storage-account configuration: connection strings (`AzureWebJobsStorage` style, including
//! `UseDevelopmentStorage=true`), service endpoints, and the account SAS the GA clients carry.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use azure_core::credentials::{Secret, TokenCredential};
use cloudport_core::redact::{Redacted, redact, register_secret};
use cloudport_core::{Error, ErrorKind, Result};
use url::Url;

use crate::identity::Settings;

/// The connection settings tried, in order, when a URL names none (`?connection=SETTING`).
pub const DEFAULT_CONNECTION_SETTINGS: [&str; 2] =
    ["AzureWebJobsStorage", "AZURE_STORAGE_CONNECTION_STRING"];

/// Azurite's (and the Storage Emulator's) well-known development account.
pub const DEVELOPMENT_ACCOUNT: &str = "devstoreaccount1";
const DEVELOPMENT_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// The service version an account SAS is signed for (`sv`): old enough for Azurite, new enough
/// for every operation cloudport makes.
const SAS_VERSION: &str = "2022-11-02";
/// How long a computed SAS is valid; clients are rebuilt with a fresh one after half of it.
const SAS_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// The Azure provider: opens `azqueue://`, `azblob://` and `aztable://` URLs. Cloning is cheap.
///
/// Credentials come from a storage connection string: the one given to
/// [`Azure::from_connection_string`], or the setting a URL names with `?connection=SETTING`, or
/// else `AzureWebJobsStorage` / `AZURE_STORAGE_CONNECTION_STRING` from the environment. Where
/// that setting is not set, its identity-based settings (`SETTING__accountName`,
/// `SETTING__queueServiceUri`, `SETTING__credential`, `SETTING__clientId`, …, as the Functions
/// host reads them) give an Entra ID connection: managed identity, workload identity, or a
/// developer's login, from `azure_identity` ([`Azure::with_credential`] takes any other).
///
/// ```
/// let azure = cloudport_azure::Azure::from_connection_string("UseDevelopmentStorage=true");
/// # let _ = azure;
/// ```
#[derive(Clone)]
pub struct Azure {
    source: Arc<Source>,
}

enum Source {
    Env,
    Fixed(String),
    Credential(Arc<dyn TokenCredential>),
}

/// Shows where credentials come from, never the secrets of a fixed connection string.
///
/// ```
/// let azure = cloudport_azure::Azure::from_connection_string(
///     "AccountName=acme;AccountKey=c2VjcmV0;EndpointSuffix=core.windows.net",
/// );
/// assert_eq!(
///     format!("{azure:?}"),
///     r#"Azure { connection_string: "AccountName=acme;AccountKey=[REDACTED];EndpointSuffix=core.windows.net" }"#
/// );
/// ```
impl std::fmt::Debug for Azure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("Azure");
        match &*self.source {
            Source::Env => d.field("connection_string", &"from the environment"),
            Source::Fixed(s) => d.field("connection_string", &redact(s)),
            Source::Credential(_) => d.field("credential", &"token credential"),
        };
        d.finish()
    }
}

/// The three services of a storage account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Service {
    Blob,
    Queue,
    Table,
}

impl Service {
    fn label(self) -> &'static str {
        match self {
            Self::Blob => "blob",
            Self::Queue => "queue",
            Self::Table => "table",
        }
    }

    fn dev_port(self) -> u16 {
        match self {
            Self::Blob => 10000,
            Self::Queue => 10001,
            Self::Table => 10002,
        }
    }
}

/// A storage account resolved from a connection string or from identity-based settings.
#[derive(Clone)]
pub(crate) struct Account {
    /// The account name.
    pub(crate) name: String,
    auth: Auth,
    blob: Endpoint,
    queue: Endpoint,
    table: Endpoint,
}

/// How requests to the account are authorized.
#[derive(Clone)]
pub(crate) enum Auth {
    /// Shared key: an account SAS is signed with it for the GA clients.
    Key(Secret),
    /// The connection string's SAS (without `?`).
    Sas(String),
    /// Entra ID tokens (managed identity, workload identity, …): the identity-based connection.
    Token(Arc<dyn TokenCredential>),
}

/// A service endpoint, or why the settings give none.
pub(crate) type Endpoint = std::result::Result<Url, String>;

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let endpoint = |e: &Endpoint| e.as_ref().map(|u| Redacted(u.as_str()).to_string()).ok();
        let auth = match self.auth {
            Auth::Key(_) => "key <redacted>",
            Auth::Sas(_) => "sas <redacted>",
            Auth::Token(_) => "token credential",
        };
        f.debug_struct("Account")
            .field("name", &self.name)
            .field("auth", &auth)
            .field("blob", &endpoint(&self.blob))
            .field("queue", &endpoint(&self.queue))
            .field("table", &endpoint(&self.table))
            .finish()
    }
}

impl Default for Azure {
    fn default() -> Self {
        Self::from_env()
    }
}

impl Azure {
    /// Credentials from the environment, read when a resource opens.
    pub fn from_env() -> Self {
        Self {
            source: Arc::new(Source::Env),
        }
    }

    /// Credentials from this connection string, whatever the environment says.
    pub fn from_connection_string(connection_string: impl Into<String>) -> Self {
        Self {
            source: Arc::new(Source::Fixed(connection_string.into())),
        }
    }

    /// Identity-based connections with this token credential (any `azure_identity` credential,
    /// or your own): endpoints from the identity-based settings of the URL's `?connection=`
    /// prefix (or `AzureWebJobsStorage__…`), else the public cloud's for the URL's account.
    ///
    /// ```no_run
    /// let credential = cloudport_azure::sdk::azure_identity::DeveloperToolsCredential::new(None)?;
    /// let azure = cloudport_azure::Azure::with_credential(credential);
    /// # let _ = azure;
    /// # Ok::<(), cloudport_azure::sdk::azure_core::Error>(())
    /// ```
    pub fn with_credential(credential: Arc<dyn TokenCredential>) -> Self {
        Self {
            source: Arc::new(Source::Credential(credential)),
        }
    }

    /// The account `name`, from the connection string or identity-based settings of `setting`
    /// (or the defaults).
    pub(crate) fn account(&self, name: &str, setting: Option<&str>) -> Result<Account> {
        let env = |var: &str| std::env::var(var).ok();
        let (origin, account) = match (&*self.source, setting) {
            (Source::Fixed(s), _) => (
                "the configured connection string".to_owned(),
                parse(s, "the configured connection string")?,
            ),
            (Source::Credential(c), _) => {
                let prefix = setting.unwrap_or(DEFAULT_CONNECTION_SETTINGS[0]);
                let settings = Settings::new(prefix, env);
                let account = if settings.present() {
                    settings.account(Some(c.clone()))?
                } else {
                    let account_name = format!("{prefix}__accountName");
                    Settings::new(prefix, |var: &str| {
                        (var == account_name).then(|| name.to_owned())
                    })
                    .account(Some(c.clone()))?
                };
                (format!("{prefix}__*"), account)
            }
            (Source::Env, Some(var)) => {
                match std::env::var(var).map_err(drop).and_then(non_blank) {
                    Ok(text) => (format!("${var}"), parse(&text, &format!("${var}"))?),
                    Err(_) => {
                        let settings = Settings::new(var, env);
                        if !settings.present() {
                            return Err(Error::invalid(format!(
                                "the URL names connection setting {var}, which is not set (neither a connection string nor {var}__accountName / {var}__queueServiceUri / … for an identity-based connection)"
                            )));
                        }
                        (format!("{var}__*"), settings.account(None)?)
                    }
                }
            }
            (Source::Env, None) => {
                let [jobs, conn] = DEFAULT_CONNECTION_SETTINGS;
                if let Ok(text) = std::env::var(jobs).map_err(drop).and_then(non_blank) {
                    (format!("${jobs}"), parse(&text, &format!("${jobs}"))?)
                } else if Settings::new(jobs, env).present() {
                    (
                        format!("{jobs}__*"),
                        Settings::new(jobs, env).account(None)?,
                    )
                } else if let Ok(text) = std::env::var(conn).map_err(drop).and_then(non_blank) {
                    (format!("${conn}"), parse(&text, &format!("${conn}"))?)
                } else {
                    return Err(Error::new(
                        ErrorKind::Unauthenticated,
                        format!(
                            "no storage connection: set {jobs} or {conn} to a connection string (UseDevelopmentStorage=true for Azurite), {jobs}__accountName for an identity-based connection, or name a setting with ?connection="
                        ),
                    ));
                }
            }
        };
        if account.name != name {
            return Err(Error::invalid(format!(
                "the URL names storage account {name:?} but {origin} is for {:?}",
                account.name
            )));
        }
        Ok(account)
    }
}

/// Where a storage connection string leads: its account, the three service endpoints the
/// provider would reach, and whether it carries a secret (a key other than Azurite's published
/// development key, or a SAS). Parsed by the very parser the provider uses (duplicate settings:
/// the last wins, as there), so a tool can check where a connection goes before anything uses it
/// — `cargo cloudport up --local` refuses any endpoint off this machine with it. Errors never
/// quote the string.
///
/// ```
/// let e = cloudport_azure::connection_endpoints("UseDevelopmentStorage=true").unwrap();
/// assert_eq!(e.account, "devstoreaccount1");
/// assert_eq!(e.queue.as_str(), "http://127.0.0.1:10001/devstoreaccount1");
/// assert!(!e.has_secret);
/// let e = cloudport_azure::connection_endpoints(
///     "UseDevelopmentStorage=true;UseDevelopmentStorage=false;AccountName=acme;AccountKey=a2V5",
/// )
/// .unwrap();
/// assert_eq!(e.queue.as_str(), "https://acme.queue.core.windows.net/");
/// assert!(e.has_secret);
/// ```
pub fn connection_endpoints(connection_string: &str) -> Result<ConnectionEndpoints> {
    let account = parse_connection_string(connection_string)?;
    let has_secret = match &account.auth {
        Auth::Key(key) => key.secret() != DEVELOPMENT_KEY,
        Auth::Sas(_) | Auth::Token(_) => true,
    };
    let endpoint = |s: Service| account.endpoint(s).cloned();
    Ok(ConnectionEndpoints {
        blob: endpoint(Service::Blob)?,
        queue: endpoint(Service::Queue)?,
        table: endpoint(Service::Table)?,
        has_secret,
        account: account.name,
    })
}

/// What [`connection_endpoints`] finds in a connection string.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnectionEndpoints {
    /// The storage account.
    pub account: String,
    /// The Blob service endpoint.
    pub blob: Url,
    /// The Queue service endpoint.
    pub queue: Url,
    /// The Table service endpoint.
    pub table: Url,
    /// Whether the string carries a secret: a key other than Azurite's published one, or a SAS.
    pub has_secret: bool,
}

/// A setting's value, unless blank (a blank connection setting counts as unset, so that its
/// identity-based settings apply).
fn non_blank(value: String) -> std::result::Result<String, ()> {
    if value.trim().is_empty() {
        Err(())
    } else {
        Ok(value)
    }
}

/// [`parse_connection_string`], its errors prefixed with where the string came from.
fn parse(text: &str, origin: &str) -> Result<Account> {
    parse_connection_string(text)
        .map_err(|e| Error::new(e.kind(), format!("{origin}: {}", e.message())))
}

/// Parses an `AzureWebJobsStorage`-style connection string (with `azure_storage`'s parser). Its
/// key and SAS are registered as secrets ([`cloudport_core::redact`]); errors never quote it.
pub(crate) fn parse_connection_string(text: &str) -> Result<Account> {
    // The parser's own errors quote the whole string, key included: described here instead.
    let cs = azure_storage::ConnectionString::new(text).map_err(|_| {
        Error::invalid(format!(
            "not a storage connection string: {}",
            what_is_wrong(text)
        ))
    })?;
    if let Some(key) = cs.account_key {
        register_secret(key);
    }
    if let Some(sas) = cs.sas {
        register_secret(sas);
        for (name, value) in url::form_urlencoded::parse(sas.trim_start_matches('?').as_bytes()) {
            if name == "sig" {
                register_secret(&value);
            }
        }
    }
    if cs.use_development_storage == Some(true) {
        let base = cs
            .development_storage_proxy_uri
            .unwrap_or("http://127.0.0.1")
            .trim_end_matches('/');
        let endpoint =
            |s: Service| parse_url(&format!("{base}:{}/{DEVELOPMENT_ACCOUNT}", s.dev_port()));
        return Ok(Account {
            name: DEVELOPMENT_ACCOUNT.to_owned(),
            auth: Auth::Key(Secret::new(DEVELOPMENT_KEY)),
            blob: Ok(endpoint(Service::Blob)?),
            queue: Ok(endpoint(Service::Queue)?),
            table: Ok(endpoint(Service::Table)?),
        });
    }
    let name = cs
        .account_name
        .ok_or_else(|| Error::invalid("the connection string has no AccountName"))?;
    let protocol = cs
        .default_endpoints_protocol
        .map_or_else(|| "https".to_owned(), |p| p.to_string());
    let suffix = cs.endpoint_suffix.unwrap_or("core.windows.net");
    let endpoint = |explicit: Option<&str>, s: Service| match explicit {
        Some(e) => parse_url(e.trim_end_matches('/')),
        None => parse_url(&format!("{protocol}://{name}.{}.{suffix}", s.label())),
    };
    let auth = match (cs.sas, cs.account_key) {
        (Some(sas), _) => Auth::Sas(sas.trim_start_matches('?').to_owned()),
        (None, Some(key)) => Auth::Key(Secret::new(key.to_owned())),
        (None, None) => {
            return Err(Error::new(
                ErrorKind::Unauthenticated,
                "the connection string has neither AccountKey nor SharedAccessSignature",
            ));
        }
    };
    Ok(Account {
        name: name.to_owned(),
        auth,
        blob: Ok(endpoint(cs.blob_endpoint, Service::Blob)?),
        queue: Ok(endpoint(cs.queue_endpoint, Service::Queue)?),
        table: Ok(endpoint(cs.table_endpoint, Service::Table)?),
    })
}

/// What makes `text` no connection string, naming settings but never quoting a value.
fn what_is_wrong(text: &str) -> String {
    const KNOWN: [&str; 10] = [
        "DefaultEndpointsProtocol",
        "AccountName",
        "AccountKey",
        "SharedAccessSignature",
        "EndpointSuffix",
        "BlobEndpoint",
        "QueueEndpoint",
        "TableEndpoint",
        "FileEndpoint",
        "UseDevelopmentStorage",
    ];
    for (n, part) in text.split(';').filter(|p| !p.trim().is_empty()).enumerate() {
        let Some((key, value)) = part.split_once('=') else {
            return format!("part {} is not KEY=VALUE", n + 1);
        };
        let key = key.trim();
        if !KNOWN.iter().any(|k| k.eq_ignore_ascii_case(key)) && key != "DevelopmentStorageProxyUri"
        {
            return format!("part {} names an unknown setting", n + 1);
        }
        if value.trim().is_empty() {
            return format!("setting {key} has no value");
        }
    }
    "settings of the form KEY=VALUE;… expected (DefaultEndpointsProtocol, AccountName, AccountKey or SharedAccessSignature, EndpointSuffix; or UseDevelopmentStorage=true)".to_owned()
}

fn parse_url(s: &str) -> Result<Url> {
    Url::parse(s).map_err(|e| Error::invalid(format!("bad endpoint {s:?}: {e}")))
}

impl Account {
    /// An account authorized by `auth` at these endpoints.
    pub(crate) fn new(
        name: String,
        auth: Auth,
        blob: Endpoint,
        queue: Endpoint,
        table: Endpoint,
    ) -> Self {
        Self {
            name,
            auth,
            blob,
            queue,
            table,
        }
    }

    /// The service's endpoint (`https://acct.queue.core.windows.net`, or Azurite's
    /// `http://127.0.0.1:10001/devstoreaccount1`), without a trailing slash.
    pub(crate) fn endpoint(&self, service: Service) -> Result<&Url> {
        let endpoint = match service {
            Service::Blob => &self.blob,
            Service::Queue => &self.queue,
            Service::Table => &self.table,
        };
        endpoint.as_ref().map_err(|why| Error::invalid(why.clone()))
    }

    /// How requests are authorized.
    pub(crate) fn auth(&self) -> &Auth {
        &self.auth
    }

    /// `endpoint/segment…` and the credential a GA client needs for it: with a key or SAS, the
    /// URL carries a SAS (the connection string's, or an account SAS signed with the key, valid
    /// for a day) and there is no credential; with identity, the plain URL and the token
    /// credential.
    pub(crate) fn client_url(
        &self,
        service: Service,
        segments: &[&str],
    ) -> Result<(Url, Option<Arc<dyn TokenCredential>>)> {
        let mut url = self.endpoint(service)?.clone();
        let text = url.to_string();
        url.path_segments_mut()
            .map_err(|()| Error::invalid(format!("{text} cannot be a base URL")))?
            .pop_if_empty()
            .extend(segments);
        match &self.auth {
            Auth::Sas(sas) => url.set_query(Some(sas)),
            Auth::Key(key) => {
                url.set_query(Some(&account_sas(&self.name, key, chrono::Utc::now())?))
            }
            Auth::Token(credential) => return Ok((url, Some(credential.clone()))),
        }
        Ok((url, None))
    }
}

/// An account SAS for blob and queue (`ss=bq`), every resource type and permission, valid from
/// five minutes ago (clock skew) for [`SAS_LIFETIME`]. Signed as the "Create an account SAS"
/// REST document specifies for versions from 2020-12-06 (with the encryption-scope line).
fn account_sas(account: &str, key: &Secret, now: chrono::DateTime<chrono::Utc>) -> Result<String> {
    const FORMAT: &str = "%Y-%m-%dT%H:%M:%SZ";
    let start = (now - chrono::Duration::minutes(5))
        .format(FORMAT)
        .to_string();
    let expiry = (now
        + chrono::Duration::from_std(SAS_LIFETIME).unwrap_or_else(|_| chrono::Duration::hours(24)))
    .format(FORMAT)
    .to_string();
    let (permissions, services, types) = ("rwdlacup", "bq", "sco");
    let to_sign = format!(
        "{account}\n{permissions}\n{services}\n{types}\n{start}\n{expiry}\n\n\n{SAS_VERSION}\n\n"
    );
    let signature = azure_core::hmac::hmac_sha256(&to_sign, key).map_err(|e| {
        Error::new(
            ErrorKind::Unauthenticated,
            format!("signing the account SAS failed (is AccountKey base64?): {e}"),
        )
    })?;
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query
        .append_pair("sv", SAS_VERSION)
        .append_pair("ss", services)
        .append_pair("srt", types)
        .append_pair("sp", permissions)
        .append_pair("st", &start)
        .append_pair("se", &expiry)
        .append_pair("sig", &signature);
    Ok(query.finish())
}

/// GA client options: the SDK's own retries off, since the portable types retry by their
/// `RetryPolicy` (ADR 0003); the SDK's default service version (Azurite runs with
/// `--skipApiVersionCheck`).
fn client_options() -> azure_core::http::ClientOptions {
    azure_core::http::ClientOptions {
        retry: azure_core::http::RetryOptions::none(),
        ..Default::default()
    }
}

pub(crate) fn queue_options() -> azure_storage_queue::QueueClientOptions {
    azure_storage_queue::QueueClientOptions {
        client_options: client_options(),
        ..Default::default()
    }
}

pub(crate) fn blob_options() -> azure_storage_blob::BlobContainerClientOptions {
    azure_storage_blob::BlobContainerClientOptions {
        client_options: client_options(),
        ..Default::default()
    }
}

/// A client built from a signed URL, rebuilt once its SAS is half-way to expiry.
pub(crate) struct Refreshing<T> {
    slot: Mutex<Option<(Instant, Arc<T>)>>,
}

impl<T> std::fmt::Debug for Refreshing<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Refreshing")
    }
}

impl<T> Refreshing<T> {
    pub(crate) fn new() -> Self {
        Self {
            slot: Mutex::new(None),
        }
    }

    /// The current client, building one with `build` when there is none or it is stale.
    pub(crate) fn get(&self, build: impl FnOnce() -> Result<T>) -> Result<Arc<T>> {
        let mut slot = self
            .slot
            .lock()
            .map_err(|_| Error::new(ErrorKind::Other, "client cache poisoned"))?;
        if let Some((built, client)) = &*slot
            && built.elapsed() < SAS_LIFETIME / 2
        {
            return Ok(client.clone());
        }
        let client = Arc::new(build()?);
        *slot = Some((Instant::now(), client.clone()));
        Ok(client)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn development_storage_uses_azurite_ports() {
        let a = parse_connection_string("UseDevelopmentStorage=true").unwrap();
        assert_eq!(a.name, DEVELOPMENT_ACCOUNT);
        assert_eq!(
            a.endpoint(Service::Queue).unwrap().as_str(),
            "http://127.0.0.1:10001/devstoreaccount1"
        );
        let (url, credential) = a.client_url(Service::Queue, &["orders"]).unwrap();
        assert!(credential.is_none());
        assert!(
            url.as_str()
                .starts_with("http://127.0.0.1:10001/devstoreaccount1/orders?sv=")
        );
    }

    #[test]
    fn explicit_endpoints_and_suffix() {
        let a = parse_connection_string(
            "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=a2V5;EndpointSuffix=core.chinacloudapi.cn",
        )
        .unwrap();
        assert_eq!(
            a.endpoint(Service::Blob).unwrap().as_str(),
            "https://acme.blob.core.chinacloudapi.cn/"
        );
        let b = parse_connection_string(
            "AccountName=acme;SharedAccessSignature=sv=2022&sig=x;QueueEndpoint=http://127.0.0.1:9/acme/",
        )
        .unwrap();
        assert_eq!(
            b.client_url(Service::Queue, &["q"]).unwrap().0.as_str(),
            "http://127.0.0.1:9/acme/q?sv=2022&sig=x"
        );
    }

    #[test]
    fn bad_connection_strings_are_typed_errors() {
        assert_eq!(
            parse_connection_string("nonsense").unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
        assert_eq!(
            parse_connection_string("AccountName=acme")
                .unwrap_err()
                .kind(),
            ErrorKind::Unauthenticated
        );
        let azure = Azure::from_connection_string("UseDevelopmentStorage=true");
        assert_eq!(
            azure.account("other", None).unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
    }

    #[test]
    fn a_malformed_connection_string_is_never_quoted() {
        // The issue's case: a setting without a value, after the key.
        let key = "bWFsZm9ybWVkLWNhbmFyeS1rZXk=";
        let text = format!(
            "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey={key};EndpointSuffix="
        );
        let err = parse_connection_string(&text).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        assert!(
            err.message().contains("EndpointSuffix has no value"),
            "{err}"
        );
        for shown in [err.to_string(), format!("{err:?}")] {
            assert!(
                !shown.contains(key) && !shown.contains("bWFsZm9y"),
                "{shown}"
            );
        }
        let err = Azure::from_connection_string(text.clone())
            .account("acme", None)
            .unwrap_err();
        assert!(!err.to_string().contains(key), "{err}");
        assert!(!format!("{:?}", Azure::from_connection_string(text)).contains(key));
        assert_eq!(
            what_is_wrong("AccountName=acme;oops"),
            "part 2 is not KEY=VALUE"
        );
    }

    #[test]
    fn sas_signature_matches_the_documented_string_to_sign() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let sas = account_sas("acme", &Secret::new("a2V5"), now).unwrap();
        assert!(sas.starts_with("sv=2022-11-02&ss=bq&srt=sco&sp=rwdlacup&st=2025-12-31T23%3A55%3A00Z&se=2026-01-02T00%3A00%3A00Z&sig="));
    }
}
