//! A local OIDC issuer for tests: an RSA key generated when it starts (never stored), its JSON Web
//! Key Set served on `127.0.0.1`, and ID tokens signed with it.
//!
//! The host trusts it only when told to: [`TestIssuer::env_vars`] are the
//! `CLOUDPORT_OIDC_JWKS_URL` and `CLOUDPORT_OIDC_ISSUERS` that point a host at it. Nothing else
//! accepts its tokens — its issuer is its own `http://127.0.0.1:PORT` URL, never Google's.
//!
//! Compiled only with the feature `oidc-test-issuer` (tests, never a function binary).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cloudport_core::{Error, ErrorKind, Result};
use serde_json::{Value, json};

use super::{ISSUERS_VAR, JWKS_URL_VAR};

/// The path the key set is served on (Google's, on another host).
const JWKS_PATH: &str = "/oauth2/v3/certs";

/// A local OIDC issuer: its key set on `http://127.0.0.1:PORT/oauth2/v3/certs`, and tokens signed
/// with its key (RS256). Stops serving when dropped. Needs a Tokio runtime.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> cloudport_core::Result<()> {
/// use cloudport_adapters::cloudrun::auth::TestIssuer;
///
/// let issuer = TestIssuer::start().await?;
/// let [(jwks_var, jwks_url), (issuers_var, issuer_url)] = issuer.env_vars();
/// assert_eq!((jwks_var, issuers_var), ("CLOUDPORT_OIDC_JWKS_URL", "CLOUDPORT_OIDC_ISSUERS"));
/// assert!(jwks_url.starts_with("http://127.0.0.1:"));
/// assert_eq!(issuer_url, issuer.issuer());
///
/// let token = issuer.token("https://orders-abc-uc.a.run.app", "push@shop.iam.gserviceaccount.com")?;
/// assert_eq!(token.split('.').count(), 3);
/// assert_eq!(issuer.fetches(), 0, "nobody asked for the keys yet");
/// # Ok(()) }
/// ```
pub struct TestIssuer {
    shared: Arc<Shared>,
    addr: SocketAddr,
    server: tokio::task::JoinHandle<()>,
}

struct Shared {
    key: KeyPair,
    kid: String,
    jwks: String,
    fetches: AtomicUsize,
    available: AtomicBool,
}

impl std::fmt::Debug for TestIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestIssuer")
            .field("addr", &self.addr)
            .field("kid", &self.shared.kid)
            .finish_non_exhaustive()
    }
}

fn failed(what: &str) -> Error {
    Error::new(ErrorKind::Other, format!("test issuer: {what}"))
        .with_operation("cloudrun.auth.test_issuer")
}

impl TestIssuer {
    /// Generates a key (RSA 2048) and serves its key set on a free port of `127.0.0.1`.
    pub async fn start() -> Result<Self> {
        let rng = SystemRandom::new();
        let key = KeyPair::generate(KeySize::Rsa2048)
            .map_err(|_| failed("the RSA key could not be generated"))?;
        let mut id = [0u8; 8];
        rng.fill(&mut id).map_err(|_| failed("no random key id"))?;
        let kid: String = id.iter().map(|b| format!("{b:02x}")).collect();
        let public = key.public_key();
        let jwks = json!({"keys": [{
            "kty": "RSA",
            "alg": "RS256",
            "use": "sig",
            "kid": kid,
            "n": URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()),
            "e": URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero()),
        }]})
        .to_string();
        let shared = Arc::new(Shared {
            key,
            kid,
            jwks,
            fetches: AtomicUsize::new(0),
            available: AtomicBool::new(true),
        });
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let served = shared.clone();
        let router = axum::Router::new().route(
            JWKS_PATH,
            axum::routing::get(move || {
                let shared = served.clone();
                async move {
                    if !shared.available.load(Ordering::SeqCst) {
                        return StatusCode::SERVICE_UNAVAILABLE.into_response();
                    }
                    shared.fetches.fetch_add(1, Ordering::SeqCst);
                    (
                        [
                            (header::CONTENT_TYPE, "application/json"),
                            (header::CACHE_CONTROL, "public, max-age=3600"),
                        ],
                        shared.jwks.clone(),
                    )
                        .into_response()
                }
            }),
        );
        let server = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router).await {
                tracing::warn!(error = %e, "the test issuer stopped serving");
            }
        });
        Ok(Self {
            shared,
            addr,
            server,
        })
    }

    /// The issuer (`iss`) of its tokens: `http://127.0.0.1:PORT`.
    pub fn issuer(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The URL of its JSON Web Key Set.
    pub fn jwks_url(&self) -> String {
        format!("http://{}{JWKS_PATH}", self.addr)
    }

    /// The id (`kid`) of its key.
    pub fn key_id(&self) -> &str {
        &self.shared.kid
    }

    /// The variables that make a Cloud Run host trust this issuer: `CLOUDPORT_OIDC_JWKS_URL` and
    /// `CLOUDPORT_OIDC_ISSUERS`.
    pub fn env_vars(&self) -> [(&'static str, String); 2] {
        [
            (JWKS_URL_VAR, self.jwks_url()),
            (ISSUERS_VAR, self.issuer()),
        ]
    }

    /// A token as Pub/Sub or Cloud Scheduler would send it: for `audience`, of the service
    /// account `email` (verified), issued now, valid for an hour.
    pub fn token(&self, audience: &str, email: &str) -> Result<String> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        self.sign(&json!({
            "iss": self.issuer(),
            "aud": audience,
            "sub": "112233445566778899000",
            "azp": "112233445566778899000",
            "email": email,
            "email_verified": true,
            "iat": now,
            "exp": now + 3600,
        }))
    }

    /// A token of these claims exactly, signed (RS256) with its key and named by its `kid`.
    pub fn sign(&self, claims: &Value) -> Result<String> {
        self.sign_with_key_id(&self.shared.kid, claims)
    }

    /// A token of these claims signed with its key but naming key `kid` (to test unknown keys).
    pub fn sign_with_key_id(&self, kid: &str, claims: &Value) -> Result<String> {
        let header = json!({"alg": "RS256", "typ": "JWT", "kid": kid});
        let message = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0u8; self.shared.key.public_modulus_len()];
        self.shared
            .key
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                message.as_bytes(),
                &mut signature,
            )
            .map_err(|_| failed("signing failed"))?;
        Ok(format!("{message}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }

    /// How many times its key set was fetched.
    pub fn fetches(&self) -> usize {
        self.shared.fetches.load(Ordering::SeqCst)
    }

    /// Whether its key set is served: when not, it answers `503`.
    pub fn set_available(&self, available: bool) {
        self.shared.available.store(available, Ordering::SeqCst);
    }
}

impl Drop for TestIssuer {
    fn drop(&mut self) {
        self.server.abort();
    }
}
