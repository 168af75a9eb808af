//! What the host accepts — issuers, audiences, callers and where the keys are ([`OidcConfig`]) —
//! read from the `CLOUDPORT_OIDC_*` variables and checked.

use cloudport_core::{Env, Result};
use reqwest013 as reqwest;

use super::{ALLOWED_EMAILS_VAR, AUDIENCES_VAR, ISSUERS_VAR, JWKS_URL_VAR, invalid};

/// Google's OAuth 2.0 / OpenID Connect signing keys, as a JSON Web Key Set.
pub const GOOGLE_JWKS_URL: &str = "https://www.googleapis.com/oauth2/v3/certs";
/// The `iss` of Google-signed ID tokens (both spellings occur).
pub const GOOGLE_ISSUERS: [&str; 2] = ["https://accounts.google.com", "accounts.google.com"];

/// What the host accepts: issuers, audiences, callers and where the keys are.
///
/// ```
/// use cloudport_adapters::cloudrun::auth::{GOOGLE_JWKS_URL, OidcConfig};
/// use cloudport_core::Env;
///
/// let env = Env::builder().vars([
///     ("CLOUDPORT_OIDC_ALLOWED_EMAILS", "push@shop.iam.gserviceaccount.com, cron@shop.iam.gserviceaccount.com"),
/// ]).build();
/// let config = OidcConfig::from_env(&env)?;
/// assert_eq!(config.allowed_emails.len(), 2);
/// assert!(config.audiences.is_empty(), "the request's own URL");
/// assert_eq!(config.jwks_url, GOOGLE_JWKS_URL);
/// # Ok::<(), cloudport_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcConfig {
    /// The accepted `aud` values; empty: the request's own URL
    /// ([`request_audiences`](super::request_audiences)).
    pub audiences: Vec<String>,
    /// The accepted `iss` values.
    pub issuers: Vec<String>,
    /// The callers (`email` claim, verified) allowed; empty: any caller with a valid token.
    pub allowed_emails: Vec<String>,
    /// The issuer's JSON Web Key Set.
    pub jwks_url: String,
}

impl Default for OidcConfig {
    /// Google's issuer and keys, the request's own URL as the audience, any caller.
    fn default() -> Self {
        Self {
            audiences: Vec::new(),
            issuers: GOOGLE_ISSUERS.iter().map(|s| (*s).to_owned()).collect(),
            allowed_emails: Vec::new(),
            jwks_url: GOOGLE_JWKS_URL.to_owned(),
        }
    }
}

impl OidcConfig {
    /// The defaults, changed by the `CLOUDPORT_OIDC_*` variables of `env`. A variable that is set
    /// must list something (unset it for the default); emails must look like emails; the key set's
    /// URL must be `https://` (or `http://` to a loopback address, for tests).
    pub fn from_env(env: &Env) -> Result<Self> {
        let mut config = Self::default();
        if let Some(audiences) = list_var(env, AUDIENCES_VAR)? {
            config.audiences = audiences;
        }
        if let Some(emails) = list_var(env, ALLOWED_EMAILS_VAR)? {
            config.allowed_emails = emails;
        }
        if let Some(issuers) = list_var(env, ISSUERS_VAR)? {
            config.issuers = issuers;
        }
        if let Some(url) = env.var(JWKS_URL_VAR) {
            config.jwks_url = url.trim().to_owned();
        }
        config.validate()?;
        Ok(config)
    }

    /// Whether it can be used: `InvalidArgument` (naming the variable) if not.
    pub(super) fn validate(&self) -> Result<()> {
        if self.issuers.is_empty() || self.issuers.iter().any(|i| i.trim().is_empty()) {
            return Err(invalid(format!(
                "no issuer to accept: {ISSUERS_VAR} must list at least one, without empty entries"
            )));
        }
        if self.audiences.iter().any(|a| a.trim().is_empty()) {
            return Err(invalid(format!("{AUDIENCES_VAR} has an empty audience")));
        }
        for email in &self.allowed_emails {
            let looks_like_email =
                email.split_once('@').is_some_and(|(user, domain)| {
                    !user.is_empty() && !domain.is_empty() && !domain.contains('@')
                }) && !email.chars().any(|c| c.is_whitespace() || c.is_control());
            if !looks_like_email {
                return Err(invalid(format!(
                    "{ALLOWED_EMAILS_VAR}: {email:?} is not an email address (a service account is NAME@PROJECT.iam.gserviceaccount.com)"
                )));
            }
        }
        let url = reqwest::Url::parse(&self.jwks_url).map_err(|e| {
            invalid(format!(
                "{JWKS_URL_VAR}: {:?} is not a URL: {e}",
                self.jwks_url
            ))
        })?;
        let host = url.host_str().unwrap_or_default();
        let loopback = host.eq_ignore_ascii_case("localhost")
            || host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        match url.scheme() {
            "https" if !host.is_empty() => Ok(()),
            "http" if loopback => Ok(()),
            _ => Err(invalid(format!(
                "{JWKS_URL_VAR}: {:?} must be an https:// URL (http:// only to a loopback address, for tests): the keys decide whom the host trusts",
                self.jwks_url
            ))),
        }
    }
}

/// A comma-separated list variable: `None` when unset, an error when it lists nothing.
fn list_var(env: &Env, name: &str) -> Result<Option<Vec<String>>> {
    let Some(value) = env.var(name) else {
        return Ok(None);
    };
    let items: Vec<String> = value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if items.is_empty() {
        return Err(invalid(format!(
            "{name} is set but lists nothing (comma-separated values); unset it for the default"
        )));
    }
    Ok(Some(items))
}
