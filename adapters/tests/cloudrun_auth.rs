//! Who may call the Cloud Run host's event paths: Google-signed OIDC ID tokens, verified against a
//! local JSON Web Key Set server (axum on 127.0.0.1:0, keys generated when the test runs: no key
//! is stored) standing in for Google's, over real HTTP.
#![cfg(feature = "oidc-test-issuer")]
// Test helpers outside `#[test]` functions unwrap too.
#![allow(clippy::unwrap_used)]

mod support;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _, RSA_PKCS1_SHA256,
};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cloudport_adapters::cloudrun::{self, CloudRunHost};
use cloudport_core::{App, Env, ErrorKind, Schedule};
use cloudport_memory::Memory;
use serde_json::{Value, json};

use support::Seen;

const ISSUER: &str = "https://issuer.test";
const PUSHER: &str = "push@shop.iam.gserviceaccount.com";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A signing key generated for the test run.
enum TestKey {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

impl TestKey {
    fn rsa() -> Self {
        Self::Rsa(RsaKeyPair::generate(KeySize::Rsa2048).unwrap())
    }

    fn ec() -> Self {
        Self::Ec(EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap())
    }

    /// Its public key as a JWK named `kid`.
    fn jwk(&self, kid: &str) -> Value {
        match self {
            Self::Rsa(k) => {
                let public = k.public_key();
                json!({"kty": "RSA", "alg": "RS256", "use": "sig", "kid": kid,
                    "n": b64(public.modulus().big_endian_without_leading_zero()),
                    "e": b64(public.exponent().big_endian_without_leading_zero())})
            }
            Self::Ec(k) => {
                // An uncompressed point: 0x04 || x || y.
                let point = k.public_key().as_ref();
                json!({"kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": kid,
                    "x": b64(&point[1..33]), "y": b64(&point[33..65])})
            }
        }
    }

    /// A valid token for `aud`, signed as `k1`.
    fn k1(&self, aud: &str) -> String {
        self.sign("k1", &claims(aud))
    }

    fn alg(&self) -> &'static str {
        match self {
            Self::Rsa(_) => "RS256",
            Self::Ec(_) => "ES256",
        }
    }

    /// A compact JWT of these claims, signed, its header naming `kid`.
    fn sign(&self, kid: &str, claims: &Value) -> String {
        let header = json!({"alg": self.alg(), "typ": "JWT", "kid": kid});
        self.sign_raw(&format!(
            "{}.{}",
            b64(header.to_string()),
            b64(claims.to_string())
        ))
    }

    /// `message` (`header.payload`, base64url) with its signature appended.
    fn sign_raw(&self, message: &str) -> String {
        let signature = match self {
            Self::Rsa(k) => {
                let mut sig = vec![0; k.public_modulus_len()];
                k.sign(
                    &RSA_PKCS1_SHA256,
                    &SystemRandom::new(),
                    message.as_bytes(),
                    &mut sig,
                )
                .unwrap();
                sig
            }
            Self::Ec(k) => k
                .sign(&SystemRandom::new(), message.as_bytes())
                .unwrap()
                .as_ref()
                .to_vec(),
        };
        format!("{message}.{}", b64(signature))
    }
}

/// The claims of a Pub/Sub push or Cloud Scheduler token for `aud`.
fn claims(aud: &str) -> Value {
    let now = now();
    json!({"iss": ISSUER, "aud": aud, "sub": "1234567890", "azp": "1234567890",
        "email": PUSHER, "email_verified": true, "iat": now, "exp": now + 3600})
}

/// What most tests start with: the logs captured ([`logs`]), an RSA key `k1` and a key set
/// server serving it.
async fn one_key() -> (TestKey, Jwks) {
    let key = TestKey::rsa();
    let jwks = key_set(&[(&key, "k1")]).await;
    (key, jwks)
}

/// The logs captured ([`logs`]) and a key set server serving these keys, each under its `kid`.
async fn key_set(keys: &[(&TestKey, &str)]) -> Jwks {
    logs();
    let keys: Vec<Value> = keys.iter().map(|(key, kid)| key.jwk(kid)).collect();
    Jwks::start(json!({ "keys": keys })).await
}

/// The key set server: serves `keys` on `/certs`, counts every request, can be down (503).
struct Jwks {
    addr: SocketAddr,
    keys: Arc<Mutex<Value>>,
    hits: Arc<AtomicUsize>,
    up: Arc<AtomicBool>,
}

impl Jwks {
    async fn start(keys: Value) -> Self {
        let keys = Arc::new(Mutex::new(keys));
        let hits = Arc::new(AtomicUsize::new(0));
        let up = Arc::new(AtomicBool::new(true));
        let (k, h, u) = (keys.clone(), hits.clone(), up.clone());
        let router = axum::Router::new().route(
            "/certs",
            axum::routing::get(move || {
                let (k, h, u) = (k.clone(), h.clone(), u.clone());
                async move {
                    h.fetch_add(1, Ordering::SeqCst);
                    if !u.load(Ordering::SeqCst) {
                        return StatusCode::SERVICE_UNAVAILABLE.into_response();
                    }
                    let body = k.lock().unwrap().to_string();
                    (
                        [
                            (header::CONTENT_TYPE, "application/json"),
                            (header::CACHE_CONTROL, "public, max-age=19958"),
                        ],
                        body,
                    )
                        .into_response()
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Self {
            addr,
            keys,
            hits,
            up,
        }
    }

    fn url(&self) -> String {
        format!("http://{}/certs", self.addr)
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

/// The app: an HTTP route of its own, queue `orders`, schedule `nightly` (and blob `uploads`),
/// `on_any_event`; every event recorded in `seen`.
fn test_app(seen: &Seen) -> App {
    let (q, a) = (seen.clone(), seen.clone());
    let app = App::new()
        .http(axum::Router::new().route("/hello", axum::routing::get(|| async { "hello" })))
        .on_queue("orders", move |event, _env| {
            let seen = q.clone();
            async move {
                let body = event.data().text()?.to_owned();
                seen.lock()
                    .unwrap()
                    .push((event.ty().to_owned(), json!({"body": body})));
                Ok(())
            }
        })
        .on_any_event(move |event, _env| {
            let seen = a.clone();
            async move {
                seen.lock()
                    .unwrap()
                    .push((event.ty().to_owned(), json!({})));
                Ok(())
            }
        });
    support::with_blob_and_schedule_recorders(app, seen)
}

fn env(vars: Vec<(&str, String)>) -> Env {
    Env::builder()
        .provider(Memory::new())
        .vars(vars)
        .bind_queue("orders", "mem://orders")
        .bind_bucket("uploads", "mem://uploads")
        .build()
}

/// A host that trusts the test issuer at `jwks`, with these extra variables.
struct Host {
    running: support::Running,
    seen: Seen,
}

impl Host {
    /// The test app, trusting the key set of `jwks`.
    async fn start(jwks: &Jwks, extra: &[(&str, &str)]) -> Self {
        let seen = Seen::default();
        Self::serve(test_app(&seen), seen, jwks.url(), extra).await
    }

    /// `app`, trusting the test issuer's key set at `jwks_url`, with these extra variables.
    async fn serve(app: App, seen: Seen, jwks_url: String, extra: &[(&str, &str)]) -> Self {
        let mut vars = vec![
            ("CLOUDPORT_OIDC_JWKS_URL", jwks_url),
            ("CLOUDPORT_OIDC_ISSUERS", ISSUER.to_owned()),
        ];
        vars.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
        let env = env(vars);
        let running = support::Running::start(move |listener, shutdown| {
            cloudrun::serve_with_shutdown(listener, app, env, shutdown)
        })
        .await;
        Self { running, seen }
    }

    /// The audience a caller of `path` on this host writes by default.
    fn url(&self, path: &str) -> String {
        format!("https://{}{path}", self.running.addr)
    }

    async fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
        let (status, headers, body) =
            support::send(self.running.addr, method, path, headers, body).await;
        Reply {
            status,
            headers,
            body,
        }
    }

    /// `POST path` with `Authorization: Bearer <token>` (none when `token` is `None`).
    async fn call(&self, path: &str, token: Option<&str>) -> Reply {
        let auth = token.map(|t| format!("Bearer {t}"));
        let mut headers = vec![];
        if let Some(a) = &auth {
            headers.push(("authorization", a.as_str()));
        }
        self.send("POST", path, &headers, b"").await
    }

    fn seen(&self) -> Vec<(String, Value)> {
        support::take(&self.seen)
    }

    async fn stop(self) {
        self.running.stop().await;
    }
}

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn message(&self) -> String {
        self.json()["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// A 401 refusal ([`Self::assert_refused`]) saying `expected`.
    #[track_caller]
    fn assert_unauthenticated(&self, expected: &str, token: Option<&str>) {
        self.assert_refused(401, "unauthenticated", expected, token);
    }

    /// The 401 refusal of a request without a token.
    #[track_caller]
    fn assert_no_authorization(&self) {
        self.assert_unauthenticated("no Authorization header", None);
    }

    /// A refusal: the status, the host's JSON error body of `kind`, a message containing
    /// `expected`, and nothing of `token`.
    #[track_caller]
    fn assert_refused(&self, status: u16, kind: &str, expected: &str, token: Option<&str>) {
        let text = String::from_utf8_lossy(&self.body);
        assert_eq!(self.status, status, "{text}");
        assert_eq!(self.json()["error"]["kind"], kind, "{text}");
        assert!(self.message().contains(expected), "{expected:?} in {text}");
        if status == 401 {
            assert!(
                self.header("www-authenticate")
                    .is_some_and(|v| v.starts_with("Bearer")),
                "{:?}",
                self.headers
            );
        }
        if let Some(token) = token {
            for part in token.split('.').filter(|p| p.len() >= 8) {
                assert!(!text.contains(part), "the answer echoes the token: {text}");
            }
        }
    }
}

const NIGHTLY: &str = "/_cloudport/schedule/nightly";

#[tokio::test]
async fn a_valid_token_runs_the_handler() {
    let (key, jwks) = one_key().await;
    let host = Host::start(&jwks, &[]).await;
    assert_eq!(jwks.hits(), 0, "no key fetch at start-up");

    // Cloud Scheduler's default audience: the job's URI.
    let token = key.k1(&host.url(NIGHTLY));
    assert_eq!(host.call(NIGHTLY, Some(&token)).await.status, 204);
    let seen = host.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].0, "io.cloudport.schedule.tick.v1");

    // A caller of the service: the service URL, with or without its slash.
    for aud in [host.url(""), host.url("/")] {
        let token = key.k1(&aud);
        assert_eq!(host.call(NIGHTLY, Some(&token)).await.status, 204, "{aud}");
    }

    // A Pub/Sub push: the endpoint URL.
    let data = base64::engine::general_purpose::STANDARD.encode("two pizzas");
    let envelope = json!({"message": {"data": data, "messageId": "m-1"},
        "subscription": "projects/shop/subscriptions/orders-push"});
    let token = key.k1(&host.url("/_cloudport/queue/orders"));
    let auth = format!("Bearer {token}");
    let reply = host
        .send(
            "POST",
            "/_cloudport/queue/orders",
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
            ],
            envelope.to_string().as_bytes(),
        )
        .await;
    assert_eq!(reply.status, 204, "{}", reply.message());
    assert!(host.seen().iter().any(|(_, v)| v["body"] == "two pizzas"));
    assert_eq!(jwks.hits(), 1, "the keys are fetched once and cached");
    host.stop().await;
}

#[tokio::test]
async fn an_es256_key_verifies_es256_tokens() {
    let (rsa, ec) = (TestKey::rsa(), TestKey::ec());
    let jwks = key_set(&[(&rsa, "r"), (&ec, "e")]).await;
    let host = Host::start(&jwks, &[]).await;
    let token = ec.sign("e", &claims(&host.url(NIGHTLY)));
    assert_eq!(host.call(NIGHTLY, Some(&token)).await.status, 204);
    // An ES256 token naming the RSA key: the key decides the algorithm.
    let confused = ec.sign("r", &claims(&host.url(NIGHTLY)));
    host.call(NIGHTLY, Some(&confused))
        .await
        .assert_unauthenticated("algorithm", Some(&confused));
    host.stop().await;
}

#[tokio::test]
async fn invalid_tokens_are_refused_with_what_failed() {
    let (key, jwks) = one_key().await;
    let host = Host::start(&jwks, &[]).await;
    let aud = host.url(NIGHTLY);
    let now = now();
    let with = |patch: Value| {
        let mut c = claims(&aud);
        for (k, v) in patch.as_object().unwrap() {
            if v.is_null() {
                c.as_object_mut().unwrap().remove(k);
            } else {
                c[k] = v.clone();
            }
        }
        c
    };
    let other_key = TestKey::rsa();
    let cases = [
        (
            "expired",
            key.sign("k1", &with(json!({"iat": now - 7200, "exp": now - 3600}))),
            "expired",
        ),
        (
            "not yet valid",
            key.sign("k1", &with(json!({"nbf": now + 3600}))),
            "not valid yet",
        ),
        (
            "issued in the future",
            key.sign("k1", &with(json!({"iat": now + 3600, "exp": now + 7200}))),
            "issued in the future",
        ),
        (
            "no iat",
            key.sign("k1", &with(json!({"iat": null}))),
            "issue time",
        ),
        (
            "no exp",
            key.sign("k1", &with(json!({"exp": null}))),
            "lacks the exp claim",
        ),
        (
            "wrong audience",
            key.sign("k1", &with(json!({"aud": "https://billing.example.com"}))),
            &format!("expected one of [\"https://{}\"", host.running.addr),
        ),
        (
            "no audience",
            key.sign("k1", &with(json!({"aud": null}))),
            "lacks the aud claim",
        ),
        (
            "wrong issuer",
            key.sign("k1", &with(json!({"iss": "https://accounts.google.com"}))),
            "wrong issuer",
        ),
        (
            "bad signature: another key, the same kid",
            other_key.k1(&aud),
            "bad signature",
        ),
        (
            "a signature of other claims",
            {
                let good = key.k1(&aud);
                let forged = b64(with(json!({"email": "root@example.com"})).to_string());
                let parts: Vec<&str> = good.split('.').collect();
                format!("{}.{forged}.{}", parts[0], parts[2])
            },
            "bad signature",
        ),
        (
            "a cut signature",
            {
                let good = key.k1(&aud);
                good[..good.len() - 10].to_owned()
            },
            "the token",
        ),
        (
            "signed claims that are not JSON",
            {
                let good = key.k1(&aud);
                let header = good.split('.').next().unwrap().to_owned();
                key.sign_raw(&format!("{header}.{}", b64("not json")))
            },
            "not a JSON object",
        ),
        (
            "alg none",
            format!(
                "{}.{}.",
                b64(r#"{"alg":"none","typ":"JWT","kid":"k1"}"#),
                b64(claims(&aud).to_string())
            ),
            "unsigned",
        ),
        (
            "alg HS256 with the public key as secret",
            format!(
                "{}.{}.{}",
                b64(r#"{"alg":"HS256","typ":"JWT","kid":"k1"}"#),
                b64(claims(&aud).to_string()),
                b64("0123456789abcdef0123456789abcdef")
            ),
            "shared secret",
        ),
    ];
    for (what, token, expected) in &cases {
        let reply = host.call(NIGHTLY, Some(token)).await;
        reply.assert_unauthenticated(expected, Some(token));
        assert_eq!(
            reply.header("www-authenticate"),
            Some(r#"Bearer error="invalid_token""#),
            "{what}"
        );
    }
    assert!(host.seen().is_empty(), "no handler ran");
    host.stop().await;
}

#[tokio::test]
async fn missing_and_malformed_authorization_headers_are_refused() {
    let (_key, jwks) = one_key().await;
    let host = Host::start(&jwks, &[]).await;

    let reply = host.call(NIGHTLY, None).await;
    reply.assert_no_authorization();
    assert_eq!(reply.header("www-authenticate"), Some("Bearer"));
    assert_eq!(
        reply.header("content-type"),
        Some("application/json"),
        "the host's usual error body"
    );

    let huge = format!("Bearer {}", "a".repeat(20 * 1024));
    for (value, expected) in [
        ("Basic dXNlcjpwYXNz", "not of the form"),
        ("Bearer", "empty bearer token"),
        ("Bearer not-a-jwt", "three dot-separated parts"),
        ("Bearer a.b.c", "not base64url-encoded JSON"),
        ("Bearer !!.??.**", "not base64url"),
        ("Bearer ..", "not base64url"),
        (huge.as_str(), "longer than"),
    ] {
        let reply = host
            .send("POST", NIGHTLY, &[("authorization", value)], b"")
            .await;
        reply.assert_unauthenticated(expected, None);
    }

    // Not UTF-8, sent as raw bytes.
    let response = reqwest::Client::new()
        .post(format!("http://{}{NIGHTLY}", host.running.addr))
        .header(
            "authorization",
            reqwest::header::HeaderValue::from_bytes(b"Bearer \xff\xfe.\xc3\x28.x").unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);

    assert!(host.seen().is_empty(), "no handler ran");
    assert_eq!(jwks.hits(), 0, "malformed requests fetch no keys");
    host.stop().await;
}

#[tokio::test]
async fn unknown_keys_are_fetched_again_once_then_refused() {
    let (old, new) = (TestKey::rsa(), TestKey::rsa());
    let jwks = key_set(&[(&old, "old")]).await;
    let host = Host::start(&jwks, &[]).await;
    let aud = host.url(NIGHTLY);
    assert_eq!(
        host.call(NIGHTLY, Some(&old.sign("old", &claims(&aud))))
            .await
            .status,
        204
    );
    assert_eq!(jwks.hits(), 1);

    // Unknown: fetched again once, still unknown: refused; within a minute, not fetched again.
    let stray = new.sign("stray", &claims(&aud));
    for _ in 0..3 {
        host.call(NIGHTLY, Some(&stray))
            .await
            .assert_unauthenticated("unknown signing key", Some(&stray));
    }
    assert_eq!(jwks.hits(), 2, "one re-fetch for unknown keys per minute");
    assert_eq!(host.seen().len(), 1);
    host.stop().await;

    // The issuer rotates its keys: the new one is found by the re-fetch.
    let jwks = key_set(&[(&old, "old")]).await;
    let host = Host::start(&jwks, &[]).await;
    let aud = host.url(NIGHTLY);
    assert_eq!(
        host.call(NIGHTLY, Some(&old.sign("old", &claims(&aud))))
            .await
            .status,
        204
    );
    *jwks.keys.lock().unwrap() = json!({"keys": [old.jwk("old"), new.jwk("new")]});
    let rotated = new.sign("new", &claims(&aud));
    assert_eq!(host.call(NIGHTLY, Some(&rotated)).await.status, 204);
    assert_eq!(jwks.hits(), 2);
    host.stop().await;
}

#[tokio::test]
async fn callers_not_in_the_allow_list_are_forbidden() {
    let (key, jwks) = one_key().await;
    let allowed = format!("{PUSHER}, cron@shop.iam.gserviceaccount.com");
    let host = Host::start(&jwks, &[("CLOUDPORT_OIDC_ALLOWED_EMAILS", &allowed)]).await;
    let aud = host.url(NIGHTLY);

    assert_eq!(host.call(NIGHTLY, Some(&key.k1(&aud))).await.status, 204);
    let mut other = claims(&aud);
    other["email"] = json!("someone@gmail.com");
    let mut unverified = claims(&aud);
    unverified["email_verified"] = json!(false);
    let mut anonymous = claims(&aud);
    anonymous.as_object_mut().unwrap().remove("email");
    for (c, expected) in [
        (other, "not allowed"),
        (unverified, "not verified"),
        (anonymous, "names no email"),
    ] {
        let token = key.sign("k1", &c);
        let reply = host.call(NIGHTLY, Some(&token)).await;
        reply.assert_refused(403, "permission_denied", expected, Some(&token));
        assert!(
            !String::from_utf8_lossy(&reply.body).contains("someone@gmail.com"),
            "the caller's claims are not echoed"
        );
    }
    assert_eq!(host.seen().len(), 1);
    host.stop().await;
}

#[tokio::test]
async fn an_unreachable_key_set_is_a_temporary_503() {
    let (key, jwks) = one_key().await;
    jwks.up.store(false, Ordering::SeqCst);
    let host = Host::start(&jwks, &[]).await;
    let token = key.k1(&host.url(NIGHTLY));
    host.call(NIGHTLY, Some(&token)).await.assert_refused(
        503,
        "unavailable",
        "could not be fetched",
        Some(&token),
    );
    // Back: the next request fetches them.
    jwks.up.store(true, Ordering::SeqCst);
    assert_eq!(host.call(NIGHTLY, Some(&token)).await.status, 204);
    host.stop().await;

    // Nobody listening at all.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let seen = Seen::default();
    let unreachable = format!("http://127.0.0.1:{port}/certs");
    let host = Host::serve(test_app(&seen), seen, unreachable, &[]).await;
    let token = key.k1(&host.url(NIGHTLY));
    host.call(NIGHTLY, Some(&token)).await.assert_refused(
        503,
        "unavailable",
        &format!("127.0.0.1:{port}"),
        Some(&token),
    );
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_fetched_once_across_many_requests() {
    let (key, jwks) = one_key().await;
    let host = Arc::new(Host::start(&jwks, &[]).await);
    let token = Arc::new(key.k1(&host.url(NIGHTLY)));
    // Concurrent first requests share one fetch.
    let calls: Vec<_> = (0..16)
        .map(|_| {
            let (host, token) = (host.clone(), token.clone());
            tokio::spawn(async move {
                let reply = host.call(NIGHTLY, Some(&token)).await;
                (reply.status, reply.message())
            })
        })
        .collect();
    for call in calls {
        let (status, message) = call.await.unwrap();
        assert_eq!(status, 204, "{message}");
    }
    for _ in 0..16 {
        assert_eq!(host.call(NIGHTLY, Some(&token)).await.status, 204);
    }
    assert_eq!(jwks.hits(), 1);
    assert_eq!(host.seen().len(), 32);
    Arc::try_unwrap(host).ok().unwrap().stop().await;
}

#[tokio::test]
async fn platform_mode_checks_nothing() {
    let (_key, jwks) = one_key().await;
    let host = Host::start(&jwks, &[("CLOUDPORT_EVENT_AUTH", "platform")]).await;
    assert_eq!(host.call(NIGHTLY, None).await.status, 204);
    // Even a token that would not verify: Cloud Run checked the caller.
    assert_eq!(host.call(NIGHTLY, Some("not.a.token")).await.status, 204);
    assert_eq!(host.seen().len(), 2);
    assert_eq!(jwks.hits(), 0);
    host.stop().await;
}

#[test]
fn bad_configuration_fails_the_host() {
    logs();
    for vars in [
        vec![("CLOUDPORT_EVENT_AUTH", "off")],
        vec![("CLOUDPORT_EVENT_AUTH", "none")],
        vec![("CLOUDPORT_OIDC_JWKS_URL", "http://keys.example.com/certs")],
        vec![("CLOUDPORT_OIDC_ALLOWED_EMAILS", " , ")],
        vec![("CLOUDPORT_OIDC_ALLOWED_EMAILS", "push-sa")],
    ] {
        let env = Env::builder()
            .provider(Memory::new())
            .vars(vars.clone())
            .build();
        let err = CloudRunHost::new(test_app(&Seen::default()), env).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{vars:?}");
        assert!(
            err.message().contains(vars[0].0),
            "names the variable: {err}"
        );
    }
    let ok = Env::builder()
        .provider(Memory::new())
        .vars([("CLOUDPORT_EVENT_AUTH", "oidc")])
        .build();
    let host = CloudRunHost::new(test_app(&Seen::default()), ok).unwrap();
    assert!(!host.event_auth().is_platform());
}

#[tokio::test]
async fn warmup_and_the_apps_own_routes_need_no_token() {
    let (_key, jwks) = one_key().await;
    let host = Host::start(&jwks, &[]).await;
    let warm = host.send("GET", "/_cloudport/warmup", &[], b"").await;
    assert_eq!(warm.status, 200);
    assert_eq!(warm.json()["warm"], true);
    let hello = host.send("GET", "/hello", &[], b"").await;
    assert_eq!((hello.status, hello.body.as_slice()), (200, &b"hello"[..]));
    // A scheduler job aimed at one of the app's own routes reaches it: the app's to guard.
    let own = host
        .send("GET", "/hello", &[("x-cloudscheduler", "true")], b"")
        .await;
    assert_eq!(own.status, 200);
    assert_eq!(jwks.hits(), 0, "no key fetched for them");

    // Paths of the host that run nothing are not found, token or not; event paths need one,
    // before they tell anything (such as the app's queue names).
    assert_eq!(
        host.send("GET", "/_cloudport/nothing", &[], b"")
            .await
            .status,
        404
    );
    for path in [
        "/_cloudport/events",
        "/_cloudport/queue/unknown",
        "/_cloudport/schedule",
        "/_cloudport/schedule/unknown",
    ] {
        let reply = host.call(path, None).await;
        reply.assert_no_authorization();
        assert!(!reply.message().contains("orders"), "{}", reply.message());
    }
    host.stop().await;
}

#[tokio::test]
async fn a_cloudevent_on_any_path_needs_a_token() {
    let (key, jwks) = one_key().await;
    let host = Host::start(&jwks, &[]).await;
    let ce = [
        ("ce-specversion", "1.0"),
        ("ce-id", "e-1"),
        ("ce-type", "com.example.demo"),
        ("ce-source", "/tests"),
        ("content-type", "application/json"),
    ];
    let reply = host.send("POST", "/", &ce, br#"{"hello":"world"}"#).await;
    reply.assert_no_authorization();
    let structured = host
        .send(
            "POST",
            "/hello",
            &[("content-type", "application/cloudevents+json")],
            br#"{"specversion":"1.0","id":"7","type":"t","source":"/s"}"#,
        )
        .await;
    structured.assert_no_authorization();
    assert!(host.seen().is_empty());

    // Eventarc's audience: the service URL.
    let auth = format!("Bearer {}", key.k1(&host.url("/")));
    let mut headers = ce.to_vec();
    headers.push(("authorization", &auth));
    let reply = host
        .send("POST", "/", &headers, br#"{"hello":"world"}"#)
        .await;
    assert_eq!(reply.status, 204, "{}", reply.message());
    assert_eq!(host.seen()[0].0, "com.example.demo");
    host.stop().await;
}

#[tokio::test]
async fn without_http_every_json_request_is_an_event_and_needs_a_token() {
    let (key, jwks) = one_key().await;
    let seen = Seen::default();
    let app = support::with_blob_and_schedule_recorders(App::new(), &seen).on_schedule(
        "other",
        Schedule::cron("0 0 4 * * *"),
        |_e, _env| async { Ok(()) },
    );
    let host = Host::serve(app, seen.clone(), jwks.url(), &[]).await;
    let scheduler = [
        ("x-cloudscheduler", "true"),
        (
            "x-cloudscheduler-jobname",
            "projects/p/locations/l/jobs/nightly",
        ),
    ];
    host.send("POST", "/anything", &scheduler, b"")
        .await
        .assert_no_authorization();
    let auth = format!("Bearer {}", key.k1(&host.url("/anything")));
    let mut headers = scheduler.to_vec();
    headers.push(("authorization", &auth));
    assert_eq!(
        host.send("POST", "/anything", &headers, b"").await.status,
        204
    );
    assert_eq!(host.seen().len(), 1);
    // Not JSON and no scheduler call: not found, with or without a token.
    assert_eq!(host.send("GET", "/page", &[], b"").await.status, 404);
    host.stop().await;
}

/// What `tracing` wrote in this test binary: a global subscriber, installed by the first test
/// that runs (every test calls this first, so it is in place before anything logs; a per-thread
/// subscriber misses events whose callsites other threads registered first).
fn logs() -> &'static Mutex<Vec<u8>> {
    static LOGS: std::sync::OnceLock<&'static Mutex<Vec<u8>>> = std::sync::OnceLock::new();
    LOGS.get_or_init(|| {
        let logs: &'static Mutex<Vec<u8>> = Box::leak(Box::new(Mutex::new(Vec::new())));
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || Captured(logs))
            .with_ansi(false)
            .with_max_level(tracing::Level::WARN)
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
        logs
    })
}

struct Captured(&'static Mutex<Vec<u8>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn one_warning_per_refusal_without_the_token() {
    let (key, jwks) = one_key().await;
    let logs = logs();
    let host = Host::start(&jwks, &[]).await;
    // A path of this test only, to find its lines among the other tests'.
    let path = "/_cloudport/schedule/log-test";
    let expired = {
        let mut c = claims(&host.url(path));
        c["exp"] = json!(now() - 3600);
        key.sign("k1", &c)
    };
    assert_eq!(host.call(path, Some(&expired)).await.status, 401);
    assert_eq!(host.call(path, None).await.status, 401);
    host.stop().await;

    let logs = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
    let warnings: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("WARN") && l.contains(path))
        .collect();
    assert_eq!(warnings.len(), 2, "{logs}");
    assert!(
        warnings
            .iter()
            .all(|l| l.contains("refused an event request")),
        "{logs}"
    );
    assert!(warnings[0].contains("expired"), "{logs}");
    for part in expired.split('.') {
        assert!(!logs.contains(part), "the log holds the token: {logs}");
    }
}
