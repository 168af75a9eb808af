//! The token checks ([`OidcVerifier`]): the bearer token's shape, its header (algorithm and key),
//! the signature and the claims — issuer, audience ([`request_audiences`]), times — and the
//! allowed callers; refusals that say what failed, never the token.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::{HeaderMap, Uri, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cloudport_core::{Error, ErrorKind, Result};
use jsonwebtoken::errors::ErrorKind as JwtErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde::Deserialize;
use serde_json::Value;

use super::keys::KeyCache;
use super::{
    ALLOWED_EMAILS_VAR, AUDIENCES_VAR, Caller, EVENT_AUTH_VAR, ISSUERS_VAR, OPERATION, OidcConfig,
    unauthenticated,
};

/// The longest token accepted (16 KiB); Google's ID tokens are about 1 KiB.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;
/// Leeway for `exp`, `nbf` and `iat`: clocks differ.
pub const CLOCK_SKEW: Duration = Duration::from_secs(60);

/// The audiences a token sent to this request may name when none are configured: the request's
/// own URL as a caller would have written it — `https://HOST` and `https://HOST/` (a service's
/// URL, the default audience of callers of a service and of Eventarc), `https://HOST/PATH` and
/// `https://HOST/PATH?QUERY` (the endpoint, the default audience of Pub/Sub push subscriptions and
/// Cloud Scheduler jobs). `HOST` is the `Host` header (else the URI's authority); Cloud Run only
/// routes a request to the service its host names.
///
/// ```
/// use axum::http::{HeaderMap, Uri};
/// use cloudport_adapters::cloudrun::auth::request_audiences;
///
/// let mut headers = HeaderMap::new();
/// headers.insert("host", "orders-abc-uc.a.run.app".parse().unwrap());
/// let uri: Uri = "/_cloudport/schedule/nightly".parse().unwrap();
/// assert_eq!(request_audiences(&headers, &uri), vec![
///     "https://orders-abc-uc.a.run.app",
///     "https://orders-abc-uc.a.run.app/",
///     "https://orders-abc-uc.a.run.app/_cloudport/schedule/nightly",
/// ]);
/// assert!(request_audiences(&HeaderMap::new(), &uri).is_empty(), "no host, no audience");
/// ```
pub fn request_audiences(headers: &HeaderMap, uri: &Uri) -> Vec<String> {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| uri.authority().map(|a| a.as_str()))
        .map(str::trim)
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 300
                && !h.contains(|c: char| c.is_whitespace() || c.is_control() || c == '/')
        });
    let Some(host) = host else {
        return Vec::new();
    };
    let mut audiences = vec![format!("https://{host}"), format!("https://{host}/")];
    let path = uri.path();
    if !path.is_empty() && path != "/" {
        audiences.push(format!("https://{host}{path}"));
    }
    if let Some(query) = uri.query() {
        audiences.push(format!("https://{host}{path}?{query}"));
    }
    audiences
}

/// Verifies Google-signed (or, configured, another issuer's) OIDC ID tokens. Cheap to clone: the
/// keys are shared.
///
/// The example has a local issuer stand in for Google (`TestIssuer`, feature `oidc-test-issuer`):
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> cloudport_core::Result<()> {
/// # #[cfg(feature = "oidc-test-issuer")] {
/// use cloudport_adapters::cloudrun::auth::{OidcConfig, OidcVerifier, TestIssuer};
/// use cloudport_core::ErrorKind;
///
/// let issuer = TestIssuer::start().await?;
/// let verifier = OidcVerifier::new(OidcConfig {
///     issuers: vec![issuer.issuer().to_owned()],
///     jwks_url: issuer.jwks_url(),
///     ..OidcConfig::default()
/// })?;
/// let audience = "https://orders-abc-uc.a.run.app".to_owned();
/// let token = issuer.token(&audience, "cron@shop.iam.gserviceaccount.com")?;
/// let caller = verifier.verify_token(&token, &[audience]).await?;
/// assert_eq!(caller.email.as_deref(), Some("cron@shop.iam.gserviceaccount.com"));
///
/// let other = ["https://billing-abc-uc.a.run.app".to_owned()];
/// let refused = verifier.verify_token(&token, &other).await.unwrap_err();
/// assert_eq!(refused.kind(), ErrorKind::Unauthenticated);
/// assert!(refused.message().contains("https://billing-abc-uc.a.run.app"), "names the expected audiences");
/// assert!(!refused.to_string().contains(&token), "never the token");
/// assert_eq!(issuer.fetches(), 1, "the keys were fetched once");
/// # }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct OidcVerifier {
    inner: Arc<Verifier>,
}

struct Verifier {
    config: OidcConfig,
    keys: KeyCache,
}

impl std::fmt::Debug for OidcVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcVerifier")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl OidcVerifier {
    /// A verifier for `config`; `InvalidArgument` if it cannot be used. Fetches nothing: the keys
    /// are fetched by the first verification.
    pub fn new(config: OidcConfig) -> Result<Self> {
        config.validate()?;
        // jsonwebtoken picks its crypto backend from its cargo features; should another crate
        // enable a second one, none would be the default and verification would panic. Installing
        // aws-lc-rs (the one this crate enables) settles it; if a backend is installed already,
        // that one stays.
        let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
        let keys = KeyCache::new(config.jwks_url.clone());
        Ok(Self {
            inner: Arc::new(Verifier { config, keys }),
        })
    }

    /// What this verifier accepts.
    pub fn config(&self) -> &OidcConfig {
        &self.inner.config
    }

    /// Verifies the bearer token of a request with these headers and URI, against the configured
    /// audiences or else the request's own URL ([`request_audiences`]).
    ///
    /// Errors: `Unauthenticated` (no token or an invalid one), `PermissionDenied` (a valid token
    /// of a caller not allowed), `Unavailable` (the keys could not be fetched; temporary).
    pub async fn verify(&self, headers: &HeaderMap, uri: &Uri) -> Result<Caller> {
        let token = bearer_token(headers)?;
        if self.inner.config.audiences.is_empty() {
            let audiences = request_audiences(headers, uri);
            if audiences.is_empty() {
                return Err(unauthenticated(format!(
                    "the request has no usable Host header to tell the audience the token must name; set {AUDIENCES_VAR}"
                )));
            }
            self.verify_token(token, &audiences).await
        } else {
            self.verify_token(token, &self.inner.config.audiences).await
        }
    }

    /// Verifies `token` (a compact JWT, without `Bearer `) for one of `audiences`; errors as
    /// [`OidcVerifier::verify`].
    pub async fn verify_token(&self, token: &str, audiences: &[String]) -> Result<Caller> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(unauthenticated(format!(
                "the bearer token is longer than {MAX_TOKEN_BYTES} bytes"
            )));
        }
        let header = TokenHeader::parse(token)?;
        let key = self.inner.keys.key(&header.kid).await?;
        if key.algorithm != header.algorithm {
            return Err(unauthenticated(format!(
                "the token's algorithm ({:?}) is not the one of its signing key ({:?})",
                header.algorithm, key.algorithm
            )));
        }
        let config = &self.inner.config;
        let mut validation = Validation::new(key.algorithm);
        validation.leeway = CLOCK_SKEW.as_secs();
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.set_issuer(&config.issuers);
        validation.set_audience(audiences);
        let claims = jsonwebtoken::decode::<Claims>(token, &key.key, &validation)
            .map_err(|e| claims_error(e.kind(), audiences, &config.issuers))?
            .claims;
        claims.check_issued_at()?;
        let email = claims.verified_email();
        if !config.allowed_emails.is_empty() {
            let allowed = email.as_deref().is_some_and(|e| {
                config
                    .allowed_emails
                    .iter()
                    .any(|a| a.eq_ignore_ascii_case(e))
            });
            if !allowed {
                let why = match (&claims.email, &email) {
                    (None, _) => "the token names no email",
                    (Some(_), None) => "the token's email is not verified (email_verified)",
                    (Some(_), Some(_)) => "the caller's email is not allowed",
                };
                return Err(Error::new(
                    ErrorKind::PermissionDenied,
                    format!("{why}: only the callers listed in {ALLOWED_EMAILS_VAR} may call the event paths"),
                )
                .with_operation(OPERATION));
            }
        }
        Ok(Caller {
            subject: claims
                .sub
                .and_then(|s| s.as_str().map(str::to_owned))
                .unwrap_or_default(),
            email,
        })
    }
}

/// The bearer token of `Authorization`, checked for size and shape only.
pub(super) fn bearer_token(headers: &HeaderMap) -> Result<&str> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Err(unauthenticated(format!(
            "no Authorization header: an event request must carry a Google-signed OIDC ID token with the Bearer scheme (give the push subscription or the scheduler job a service account), or the service must leave the check to Cloud Run ({EVENT_AUTH_VAR}=platform)"
        )));
    };
    if values.next().is_some() {
        return Err(unauthenticated("more than one Authorization header"));
    }
    if value.len() > MAX_TOKEN_BYTES + "Bearer ".len() + 2 {
        return Err(unauthenticated(format!(
            "the Authorization header is longer than a bearer token of {MAX_TOKEN_BYTES} bytes"
        )));
    }
    let value = value
        .to_str()
        .map_err(|_| unauthenticated("the Authorization header is not visible ASCII"))?
        .trim();
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(unauthenticated(
            "the Authorization header is not of the form `Bearer` and an ID token",
        ));
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(unauthenticated(
            "the Authorization header has an empty bearer token",
        ));
    }
    if token.len() > MAX_TOKEN_BYTES {
        return Err(unauthenticated(format!(
            "the bearer token is longer than {MAX_TOKEN_BYTES} bytes"
        )));
    }
    Ok(token)
}

/// What the token's (unverified) header says: the algorithm and key to verify it with.
#[derive(Debug)]
pub(super) struct TokenHeader {
    pub(super) algorithm: Algorithm,
    pub(super) kid: String,
}

impl TokenHeader {
    pub(super) fn parse(token: &str) -> Result<Self> {
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(unauthenticated(
                "the bearer token is not a JWT (three dot-separated parts)",
            ));
        };
        let base64url = |s: &str| {
            s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        if header.is_empty()
            || payload.is_empty()
            || !base64url(header)
            || !base64url(payload)
            || !base64url(signature)
        {
            return Err(unauthenticated(
                "the bearer token is not a JWT (its parts are not base64url)",
            ));
        }
        let raw: serde_json::Map<String, Value> = URL_SAFE_NO_PAD
            .decode(header)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or_else(|| {
                unauthenticated("the token's header is not base64url-encoded JSON of a JWT header")
            })?;
        let alg = match raw.get("alg") {
            None | Some(Value::Null) => None,
            Some(Value::String(a)) => Some(a.as_str()),
            Some(_) => Some("?"),
        };
        let algorithm = match alg {
            Some("RS256") => Algorithm::RS256,
            Some("ES256") => Algorithm::ES256,
            Some(a) if a.eq_ignore_ascii_case("none") => {
                return Err(unauthenticated(
                    "the token is unsigned (alg none): only RS256 and ES256 tokens are accepted",
                ));
            }
            Some(a) if a.starts_with("HS") => {
                return Err(unauthenticated(
                    "the token is signed with a shared secret (alg HS*): only RS256 and ES256 tokens are accepted",
                ));
            }
            Some(_) => {
                return Err(unauthenticated(
                    "the token's algorithm is not accepted: only RS256 and ES256 are",
                ));
            }
            None => {
                return Err(unauthenticated(
                    "the token's header names no algorithm (alg)",
                ));
            }
        };
        if raw.contains_key("crit") {
            return Err(unauthenticated(
                "the token's header has critical extensions (crit), which are not supported",
            ));
        }
        if signature.is_empty() {
            return Err(unauthenticated("the token has no signature"));
        }
        let kid = raw
            .get("kid")
            .and_then(Value::as_str)
            .filter(|k| !k.is_empty())
            .ok_or_else(|| unauthenticated("the token's header names no signing key (kid)"))?;
        Ok(Self {
            algorithm,
            kid: kid.to_owned(),
        })
    }
}

/// The claims read after verification (`exp`, `nbf`, `iss` and `aud` are jsonwebtoken's).
#[derive(Deserialize)]
struct Claims {
    #[serde(default)]
    sub: Option<Value>,
    #[serde(default)]
    email: Option<Value>,
    #[serde(default)]
    email_verified: Option<Value>,
    #[serde(default)]
    iat: Option<Value>,
}

impl Claims {
    fn check_issued_at(&self) -> Result<()> {
        let Some(iat) = self.iat.as_ref().and_then(Value::as_f64) else {
            return Err(unauthenticated(
                "the token has no issue time (iat) or not a number",
            ));
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        if iat > now + CLOCK_SKEW.as_secs_f64() {
            return Err(unauthenticated("the token was issued in the future (iat)"));
        }
        Ok(())
    }

    /// The email, if verified: `email_verified` is `true` (or, as some issuers write it, `"true"`).
    fn verified_email(&self) -> Option<String> {
        let verified = matches!(&self.email_verified, Some(Value::Bool(true)))
            || matches!(&self.email_verified, Some(Value::String(s)) if s == "true");
        self.email
            .as_ref()
            .and_then(Value::as_str)
            .filter(|_| verified)
            .map(str::to_owned)
    }
}

/// A failed signature or claim check as the caller is told it: what failed, never the token.
fn claims_error(kind: &JwtErrorKind, audiences: &[String], issuers: &[String]) -> Error {
    let message = match kind {
        JwtErrorKind::InvalidSignature => {
            "bad signature (not made by the issuer's key the token names)".to_owned()
        }
        JwtErrorKind::ExpiredSignature => "the token has expired (exp)".to_owned(),
        JwtErrorKind::ImmatureSignature => "the token is not valid yet (nbf)".to_owned(),
        JwtErrorKind::InvalidAudience => format!(
            "wrong audience (the token is not meant for this endpoint); expected one of {audiences:?} (or set {AUDIENCES_VAR})"
        ),
        JwtErrorKind::InvalidIssuer => {
            format!("wrong issuer; expected one of {issuers:?} (or set {ISSUERS_VAR})")
        }
        JwtErrorKind::MissingRequiredClaim(claim) => {
            format!("the token lacks the {} claim", known_claim(claim))
        }
        JwtErrorKind::InvalidClaimFormat(claim) => {
            format!("the token's {} claim is malformed", known_claim(claim))
        }
        JwtErrorKind::InvalidAlgorithm => {
            "the token's algorithm does not match its signing key".to_owned()
        }
        JwtErrorKind::InvalidRsaKey(_)
        | JwtErrorKind::InvalidEcdsaKey
        | JwtErrorKind::InvalidKeyFormat => {
            "the issuer's key the token names cannot verify it".to_owned()
        }
        JwtErrorKind::Base64(_) => {
            "the token is malformed (a part is not valid base64url)".to_owned()
        }
        JwtErrorKind::InvalidToken | JwtErrorKind::Json(_) | JwtErrorKind::Utf8(_) => {
            "the token is malformed (its claims are not a JSON object)".to_owned()
        }
        _ => "the token is not valid".to_owned(),
    };
    unauthenticated(message)
}

/// A claim name from jsonwebtoken's own list (never text from the token).
fn known_claim(claim: &str) -> &'static str {
    ["exp", "nbf", "iss", "aud", "sub", "iat"]
        .into_iter()
        .find(|c| *c == claim)
        .unwrap_or("required")
}
