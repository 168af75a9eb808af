//! The issuer's signing keys: its JSON Web Key Set fetched on first use (never at start-up),
//! cached for the answer's `Cache-Control: max-age`, fetched again on expiry or an unknown `kid`
//! (rate-limited), one fetch at a time; the previous set used for a while when a fetch fails.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, header};
use cloudport_core::{Error, ErrorKind, Result};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use reqwest013 as reqwest;
use serde::Deserialize;
use serde_json::Value;

use super::{OPERATION, unauthenticated};

/// How long fetched keys are used when the answer has no `Cache-Control: max-age`.
pub const DEFAULT_KEYS_MAX_AGE: Duration = Duration::from_secs(60 * 60);
/// The shortest and longest a `max-age` is honoured: below, a key set would be fetched for
/// nearly every request; above, a rotation would go unnoticed for too long.
pub const KEYS_MAX_AGE_RANGE: (Duration, Duration) =
    (Duration::from_secs(60), Duration::from_secs(24 * 60 * 60));
/// An unknown `kid` makes the host fetch the keys again, at most this often.
pub const MIN_REFETCH_INTERVAL: Duration = Duration::from_secs(60);

/// How long one key-set fetch may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest key set read (Google's is about 2 KiB).
const MAX_JWKS_BYTES: usize = 256 * 1024;
/// Keys past their `max-age` still verify tokens while the key set cannot be fetched, for this
/// long: Google keeps a key published long after it stops signing with it.
const STALE_KEYS_GRACE: Duration = Duration::from_secs(24 * 60 * 60);

/// A verification key from the key set.
pub(super) struct VerifyingKey {
    pub(super) algorithm: Algorithm,
    pub(super) key: DecodingKey,
}

/// One fetched key set.
struct KeySet {
    keys: HashMap<String, Arc<VerifyingKey>>,
    expires_at: Instant,
}

/// The last fetch: when it ended and how.
struct Attempt {
    ended: Instant,
    error: Option<Error>,
}

/// The issuer's keys, fetched on first use, cached, fetched again when they expire or a token
/// names an unknown key (at most once per [`MIN_REFETCH_INTERVAL`]); one fetch at a time, whose
/// result the requests that waited for it share.
pub(super) struct KeyCache {
    url: String,
    client: tokio::sync::OnceCell<reqwest::Client>,
    current: RwLock<Option<Arc<KeySet>>>,
    fetching: tokio::sync::Mutex<Option<Attempt>>,
    /// When an unknown `kid` last made the host fetch the keys again.
    unknown_key_refetch: Mutex<Option<Instant>>,
}

impl KeyCache {
    pub(super) fn new(url: String) -> Self {
        Self {
            url,
            client: tokio::sync::OnceCell::new(),
            current: RwLock::new(None),
            fetching: tokio::sync::Mutex::new(None),
            unknown_key_refetch: Mutex::new(None),
        }
    }

    fn current(&self) -> Option<Arc<KeySet>> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The key `kid`, fetching the key set if needed.
    pub(super) async fn key(&self, kid: &str) -> Result<Arc<VerifyingKey>> {
        let asked = Instant::now();
        let current = self.current();
        if let Some(set) = &current
            && asked < set.expires_at
        {
            if let Some(key) = set.keys.get(kid) {
                return Ok(key.clone());
            }
            // An unknown key: the issuer may have rotated its keys. Fetch them again, but at most
            // once per interval, so tokens naming made-up keys cannot make the host hammer it.
            let mut refetched = self
                .unknown_key_refetch
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if refetched.is_some_and(|at| asked.duration_since(at) < MIN_REFETCH_INTERVAL) {
                return Err(self.unknown_key());
            }
            *refetched = Some(asked);
        }
        let mut last = self.fetching.lock().await;
        // A fetch that ended while this request waited answers it too.
        if let Some(attempt) = last.as_ref()
            && attempt.ended >= asked
        {
            return match &attempt.error {
                None => self.find(kid),
                Some(e) => self.stale(kid, e.clone_without_source()),
            };
        }
        let fetched = self.fetch().await.map(Arc::new);
        // The keys are in place before the requests waiting for this fetch look for them.
        if let Ok(set) = &fetched {
            *self.current.write().unwrap_or_else(PoisonError::into_inner) = Some(set.clone());
        }
        *last = Some(Attempt {
            ended: Instant::now(),
            error: fetched.as_ref().err().map(Error::clone_without_source),
        });
        drop(last);
        match fetched {
            Ok(set) => set.keys.get(kid).cloned().ok_or_else(|| self.unknown_key()),
            Err(e) => self.stale(kid, e),
        }
    }

    fn find(&self, kid: &str) -> Result<Arc<VerifyingKey>> {
        self.current()
            .and_then(|set| set.keys.get(kid).cloned())
            .ok_or_else(|| self.unknown_key())
    }

    /// After a failed fetch: the key from the expired set, if it has it and expired recently;
    /// else the fetch's error.
    fn stale(&self, kid: &str, error: Error) -> Result<Arc<VerifyingKey>> {
        let key = self.current().and_then(|set| {
            (Instant::now().saturating_duration_since(set.expires_at) < STALE_KEYS_GRACE)
                .then(|| set.keys.get(kid).cloned())
                .flatten()
        });
        match key {
            Some(key) => {
                tracing::warn!(error = %error, "the signing keys could not be fetched again; using the ones fetched before");
                Ok(key)
            }
            None => Err(error),
        }
    }

    fn unknown_key(&self) -> Error {
        unauthenticated(format!(
            "unknown signing key (the token's kid is not in the issuer's key set at {})",
            self.url
        ))
    }

    async fn fetch(&self) -> Result<KeySet> {
        let unavailable = |what: String| {
            Error::new(
                ErrorKind::Unavailable,
                format!(
                    "the issuer's signing keys could not be fetched from {}: {what}",
                    self.url
                ),
            )
            .with_operation(OPERATION)
        };
        let client = self
            .client
            .get_or_try_init(|| async {
                reqwest::Client::builder()
                    .timeout(FETCH_TIMEOUT)
                    .connect_timeout(FETCH_TIMEOUT)
                    .build()
            })
            .await
            .map_err(|e| unavailable(format!("no HTTP client: {}", chain(&e))))?;
        let mut response = client
            .get(&self.url)
            .header(header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| unavailable(chain(&e)))?;
        let status = response.status();
        if !status.is_success() {
            return Err(unavailable(format!("the server answered {status}")));
        }
        let max_age = max_age(response.headers());
        if response
            .content_length()
            .is_some_and(|n| n > MAX_JWKS_BYTES as u64)
        {
            return Err(unavailable(format!(
                "the key set is over {MAX_JWKS_BYTES} bytes"
            )));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| unavailable(chain(&e)))? {
            if body.len() + chunk.len() > MAX_JWKS_BYTES {
                return Err(unavailable(format!(
                    "the key set is over {MAX_JWKS_BYTES} bytes"
                )));
            }
            body.extend_from_slice(&chunk);
        }
        let keys = parse_jwks(&body).map_err(unavailable)?;
        tracing::debug!(url = %self.url, keys = keys.len(), max_age_secs = max_age.as_secs(), "fetched the issuer's signing keys");
        Ok(KeySet {
            keys,
            expires_at: Instant::now() + max_age,
        })
    }
}

/// The usable keys of a JSON Web Key Set, by `kid`: RSA keys (RS256) and P-256 keys (ES256) meant
/// for signatures; other keys are skipped.
pub(super) fn parse_jwks(
    body: &[u8],
) -> std::result::Result<HashMap<String, Arc<VerifyingKey>>, String> {
    #[derive(Deserialize)]
    struct RawSet {
        keys: Vec<Value>,
    }
    let set: RawSet = serde_json::from_slice(body)
        .map_err(|e| format!("the answer is not a JSON Web Key Set: {e}"))?;
    let mut keys = HashMap::new();
    for raw in set.keys {
        let Ok(jwk) = serde_json::from_value::<Jwk>(raw) else {
            continue;
        };
        let Some(kid) = jwk.common.key_id.clone().filter(|k| !k.is_empty()) else {
            continue;
        };
        if matches!(&jwk.common.public_key_use, Some(u) if *u != PublicKeyUse::Signature) {
            continue;
        }
        let algorithm = match (&jwk.algorithm, jwk.common.key_algorithm) {
            (AlgorithmParameters::RSA(_), None | Some(KeyAlgorithm::RS256)) => Algorithm::RS256,
            (AlgorithmParameters::EllipticCurve(p), None | Some(KeyAlgorithm::ES256))
                if p.curve == EllipticCurve::P256 =>
            {
                Algorithm::ES256
            }
            _ => continue,
        };
        let Ok(key) = DecodingKey::from_jwk(&jwk) else {
            continue;
        };
        keys.insert(kid, Arc::new(VerifyingKey { algorithm, key }));
    }
    if keys.is_empty() {
        return Err("the key set has no RS256 or ES256 signing key with a kid".to_owned());
    }
    Ok(keys)
}

/// How long an answer may be cached: its `Cache-Control: max-age`, within
/// [`KEYS_MAX_AGE_RANGE`]; [`DEFAULT_KEYS_MAX_AGE`] without one.
pub(super) fn max_age(headers: &HeaderMap) -> Duration {
    headers
        .get_all(header::CACHE_CONTROL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|directive| {
            let (name, value) = directive.trim().split_once('=')?;
            if !name.trim().eq_ignore_ascii_case("max-age") {
                return None;
            }
            value.trim().trim_matches('"').parse::<u64>().ok()
        })
        .map_or(DEFAULT_KEYS_MAX_AGE, Duration::from_secs)
        .clamp(KEYS_MAX_AGE_RANGE.0, KEYS_MAX_AGE_RANGE.1)
}

/// An error and its sources, as one line.
fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let next = s.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = s.source();
    }
    text
}
