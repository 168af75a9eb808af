//! Who may call the Cloud Run host's event paths: the caller of every event request proves who it
//! is with a **Google-signed OpenID Connect ID token**, verified here.
//!
//! Pub/Sub push subscriptions, Cloud Scheduler jobs, Eventarc triggers and other Google services
//! send `Authorization: Bearer <ID token>` when they are given a service account to act as. The
//! token is a JWT signed by Google; [`OidcVerifier`] checks, in this order:
//!
//! 1. the header: `Authorization: Bearer <jwt>`, at most [`MAX_TOKEN_BYTES`], three base64url
//!    parts; the algorithm is `RS256` (or `ES256` when the key says so) — never `none` or `HS*`;
//! 2. the signature, against the key named by the token's `kid` in the issuer's JSON Web Key Set
//!    (Google's: [`GOOGLE_JWKS_URL`]), fetched on the first event request — never at start-up, so a
//!    cold start does not pay for it — and cached for the `Cache-Control: max-age` of the answer
//!    (default [`DEFAULT_KEYS_MAX_AGE`]). A token whose `kid` is not in the set makes the host
//!    fetch it again, at most once every [`MIN_REFETCH_INTERVAL`]; concurrent requests share one
//!    fetch;
//! 3. the claims: `exp`, `nbf` and `iat` (with [`CLOCK_SKEW`] of leeway), `iss` (default
//!    [`GOOGLE_ISSUERS`]) and `aud`: the configured audiences, or by default the request's own URL —
//!    `https://HOST`, `https://HOST/` or `https://HOST/PATH` — see [`request_audiences`];
//! 4. optionally, the caller: its `email` claim must be in an allow-list, with `email_verified`.
//!
//! Any Google account can mint an ID token for any audience, so the audience check alone only
//! proves that the token was meant for this service. **Set the allowed emails** to the service
//! accounts of the push subscription and the scheduler job.
//!
//! # Configuration
//!
//! Read once, when the host is built ([`EventAuth::from_env`]); a bad value fails
//! [`CloudRunHost::new`](super::CloudRunHost::new) with `InvalidArgument`.
//!
//! | variable | meaning |
//! |---|---|
//! | [`CLOUDPORT_EVENT_AUTH`](EVENT_AUTH_VAR) | `oidc` (default): verify here; `platform`: no check here — only for a private service whose callers Cloud Run's IAM check (`roles/run.invoker`) already verified |
//! | [`CLOUDPORT_OIDC_AUDIENCES`](AUDIENCES_VAR) | comma-separated audiences accepted instead of the request's own URL |
//! | [`CLOUDPORT_OIDC_ALLOWED_EMAILS`](ALLOWED_EMAILS_VAR) | comma-separated service-account emails allowed to call; unset: any verified caller |
//! | [`CLOUDPORT_OIDC_ISSUERS`](ISSUERS_VAR) | comma-separated issuers instead of Google's (for tests and other issuers) |
//! | [`CLOUDPORT_OIDC_JWKS_URL`](JWKS_URL_VAR) | the key set's URL instead of Google's (for tests and other issuers); `https://`, or `http://` to a loopback address |
//!
//! # Answers
//!
//! | outcome | status |
//! |---|---|
//! | no token, or an invalid one (malformed, expired, not yet valid, wrong audience or issuer, bad signature, unknown key) | `401` with `WWW-Authenticate: Bearer` |
//! | a valid token of a caller not in the allowed emails | `403` |
//! | the key set could not be fetched | `503` — Pub/Sub and Cloud Scheduler retry |
//!
//! The error messages say what failed but never contain the token or any part of it.
//!
//! # Sources
//!
//! "Verify the integrity of the ID token" (<https://developers.google.com/identity/sign-in/web/backend-auth>):
//! the checks, the issuers and the `Cache-Control` rule; "Authentication for push subscriptions"
//! (<https://cloud.google.com/pubsub/docs/authenticate-push-subscriptions>): the claims a push
//! request carries (`email`, `email_verified`, `aud`); the `OidcToken` of the Pub/Sub and Cloud
//! Scheduler APIs: the audience defaults to the endpoint URL (Pub/Sub) or the target URI (Cloud
//! Scheduler); "Use authentication with HTTP targets"
//! (<https://cloud.google.com/scheduler/docs/http-target-auth>); ADR 0008.
//!
//! # Testing
//!
//! `TestIssuer` (feature `oidc-test-issuer`) is a local issuer that stands in for Google: a key
//! generated when it starts, its key set served on `127.0.0.1`, tokens signed with it, and the two
//! variables that make a host trust it. It is for tests only, so it is compiled only with that
//! feature (which adds the one dependency it alone uses, `aws-lc-rs` directly), never into a
//! function binary built with `cloudrun`; the example below runs with the feature.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> cloudport_core::Result<()> {
//! # #[cfg(feature = "oidc-test-issuer")] {
//! use axum::http::{HeaderMap, Uri};
//! use cloudport_adapters::cloudrun::auth::{OidcConfig, OidcVerifier, TestIssuer};
//!
//! // A local issuer stands in for Google.
//! let issuer = TestIssuer::start().await?;
//! let verifier = OidcVerifier::new(OidcConfig {
//!     issuers: vec![issuer.issuer().to_owned()],
//!     jwks_url: issuer.jwks_url(),
//!     allowed_emails: vec!["push@shop.iam.gserviceaccount.com".into()],
//!     ..OidcConfig::default()
//! })?;
//! let token = issuer.token(
//!     "https://orders-abc-uc.a.run.app/_cloudport/events",
//!     "push@shop.iam.gserviceaccount.com",
//! )?;
//! let mut headers = HeaderMap::new();
//! headers.insert("host", "orders-abc-uc.a.run.app".parse().unwrap());
//! headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
//! let uri: Uri = "/_cloudport/events".parse().unwrap();
//! let caller = verifier.verify(&headers, &uri).await?;
//! assert_eq!(caller.email.as_deref(), Some("push@shop.iam.gserviceaccount.com"));
//!
//! headers.remove("authorization");
//! let refused = verifier.verify(&headers, &uri).await.unwrap_err();
//! assert_eq!(refused.kind(), cloudport_core::ErrorKind::Unauthenticated);
//! # }
//! # Ok(()) }
//! ```

// By concern: this file (the documentation, the variables, who checks: `EventAuth`, the verified
// `Caller`); `config.rs` (what is accepted: `OidcConfig`, from the environment); `verify.rs` (the
// token checks: `OidcVerifier`); `keys.rs` (the issuer's key set: fetch, cache, parse);
// `test_issuer.rs` (feature `oidc-test-issuer`); `tests.rs` (unit tests).

mod config;
mod keys;
#[cfg(feature = "oidc-test-issuer")]
pub mod test_issuer;
#[cfg(test)]
mod tests;
mod verify;

pub use config::{GOOGLE_ISSUERS, GOOGLE_JWKS_URL, OidcConfig};
pub use keys::{DEFAULT_KEYS_MAX_AGE, KEYS_MAX_AGE_RANGE, MIN_REFETCH_INTERVAL};
#[cfg(feature = "oidc-test-issuer")]
pub use test_issuer::TestIssuer;
pub use verify::{CLOCK_SKEW, MAX_TOKEN_BYTES, OidcVerifier, request_audiences};

use axum::http::{HeaderMap, Uri};
use cloudport_core::{Env, Error, ErrorKind, Result};

/// `oidc` (the default) or `platform`: who checks the callers of the event paths.
pub const EVENT_AUTH_VAR: &str = "CLOUDPORT_EVENT_AUTH";
/// Comma-separated audiences accepted instead of the request's own URL.
pub const AUDIENCES_VAR: &str = "CLOUDPORT_OIDC_AUDIENCES";
/// Comma-separated emails (service accounts) allowed to call the event paths.
pub const ALLOWED_EMAILS_VAR: &str = "CLOUDPORT_OIDC_ALLOWED_EMAILS";
/// Comma-separated issuers accepted instead of Google's (tests, other issuers).
pub const ISSUERS_VAR: &str = "CLOUDPORT_OIDC_ISSUERS";
/// The URL of the issuer's JSON Web Key Set instead of Google's (tests, other issuers).
pub const JWKS_URL_VAR: &str = "CLOUDPORT_OIDC_JWKS_URL";

/// The operation named in this module's errors.
const OPERATION: &str = "cloudrun.auth";

/// Who checks the callers of the event paths.
///
/// ```
/// use cloudport_adapters::cloudrun::auth::EventAuth;
/// use cloudport_core::Env;
///
/// let default = EventAuth::from_env(&Env::builder().vars([("K_SERVICE", "orders")]).build())?;
/// assert!(matches!(default, EventAuth::Oidc(_)));
/// let platform = EventAuth::from_env(&Env::builder().vars([("CLOUDPORT_EVENT_AUTH", "platform")]).build())?;
/// assert!(platform.is_platform());
/// let bad = EventAuth::from_env(&Env::builder().vars([("CLOUDPORT_EVENT_AUTH", "none")]).build());
/// assert_eq!(bad.unwrap_err().kind(), cloudport_core::ErrorKind::InvalidArgument);
/// # Ok::<(), cloudport_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub enum EventAuth {
    /// Google-signed OIDC ID tokens, verified by the host (the default).
    Oidc(OidcVerifier),
    /// No check by the host: Cloud Run's IAM check (`roles/run.invoker` on a private service)
    /// verified the caller before the request reached the container.
    Platform,
}

impl EventAuth {
    /// The check configured by [`EVENT_AUTH_VAR`] and the `CLOUDPORT_OIDC_*` variables of `env`;
    /// `InvalidArgument` for a value it cannot use.
    pub fn from_env(env: &Env) -> Result<Self> {
        let mode = env.var(EVENT_AUTH_VAR);
        match mode.as_deref().map(str::trim) {
            None | Some("") => Ok(Self::Oidc(OidcVerifier::new(OidcConfig::from_env(env)?)?)),
            Some(m) if m.eq_ignore_ascii_case("oidc") => {
                Ok(Self::Oidc(OidcVerifier::new(OidcConfig::from_env(env)?)?))
            }
            Some(m) if m.eq_ignore_ascii_case("platform") => {
                let ignored: Vec<&str> =
                    [AUDIENCES_VAR, ALLOWED_EMAILS_VAR, ISSUERS_VAR, JWKS_URL_VAR]
                        .into_iter()
                        .filter(|v| env.var(v).is_some())
                        .collect();
                if !ignored.is_empty() {
                    tracing::warn!(ignored = ?ignored, "{EVENT_AUTH_VAR}=platform: the host verifies no token, so these variables have no effect");
                }
                Ok(Self::Platform)
            }
            Some(other) => Err(invalid(format!(
                "{EVENT_AUTH_VAR}={other:?} is not a mode: use `oidc` (the default: the host verifies the Google-signed ID token of every event request) or `platform` (a private service whose callers Cloud Run's IAM check, roles/run.invoker, already verified)"
            ))),
        }
    }

    /// Whether the host leaves the check to the platform.
    pub fn is_platform(&self) -> bool {
        matches!(self, Self::Platform)
    }

    /// Verifies the caller of a request with these headers and URI: `Ok(None)` when the platform
    /// checks callers, the verified [`Caller`] otherwise; errors as [`OidcVerifier::verify`].
    pub async fn verify(&self, headers: &HeaderMap, uri: &Uri) -> Result<Option<Caller>> {
        match self {
            Self::Platform => Ok(None),
            Self::Oidc(verifier) => verifier.verify(headers, uri).await.map(Some),
        }
    }
}

/// A verified caller: the token's subject and, when it has one, its email.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Caller {
    /// The `sub` claim: the caller's unique id (a service account's numeric id).
    pub subject: String,
    /// The `email` claim, when present and verified (`email_verified: true`).
    pub email: Option<String>,
}

/// A configuration error: `InvalidArgument`.
fn invalid(message: String) -> Error {
    Error::new(ErrorKind::InvalidArgument, message).with_operation(OPERATION)
}

/// A token refused: `Unauthenticated`, with what failed (never the token).
fn unauthenticated(message: impl Into<std::borrow::Cow<'static, str>>) -> Error {
    Error::new(ErrorKind::Unauthenticated, message).with_operation(OPERATION)
}
