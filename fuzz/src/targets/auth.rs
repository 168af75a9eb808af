//! The Cloud Run host's caller check: `OidcVerifier::verify` (variant 0) and the whole host with
//! OIDC verification on (variant 1), the `Authorization` header (and `Host`, the audience) as
//! the input. A local issuer ([`TestIssuer`]) stands in for Google: its key set is served on
//! `127.0.0.1` and fetched by the verifier as Google's would be; the seeds are tokens it signs —
//! valid ones and every kind the tests refuse.
//!
//! The issuer's key is generated when the target starts, and the seeds are signed then (valid
//! for a day), so `(seed, iteration)` reproduces the mutations but not the signature bytes: a
//! saved failure holds the exact input.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cloudport_adapters::cloudrun::CloudRunHost;
use cloudport_adapters::cloudrun::auth::{OidcConfig, OidcVerifier, TestIssuer};
use serde_json::{Value, json};

use crate::{Case, Shape, Target};

const HOST: &str = "orders-abc-uc.a.run.app";
const PATH: &str = "/_cloudport/schedule/nightly";
const ALLOWED: &str = "push@shop.iam.gserviceaccount.com";

pub(super) struct Auth {
    rt: tokio::runtime::Runtime,
    issuer: TestIssuer,
    verifier: OidcVerifier,
    host: CloudRunHost,
}

fn verifier(issuer: &TestIssuer) -> OidcVerifier {
    OidcVerifier::new(OidcConfig {
        issuers: vec![issuer.issuer()],
        jwks_url: issuer.jwks_url(),
        allowed_emails: vec![ALLOWED.to_owned()],
        ..OidcConfig::default()
    })
    .unwrap_or_else(|e| panic!("the verifier could not be built: {e}"))
}

fn host(issuer: &TestIssuer) -> CloudRunHost {
    let mut vars: Vec<(&str, String)> = issuer.env_vars().to_vec();
    vars.push(("CLOUDPORT_OIDC_ALLOWED_EMAILS", ALLOWED.to_owned()));
    vars.push(("CLOUDPORT_EVENT_AUTH", "oidc".to_owned()));
    CloudRunHost::new(super::quiet_app(true, true), super::cloudrun::env(&vars))
        .unwrap_or_else(|e| panic!("the Cloud Run host could not be built: {e}"))
}

impl Auth {
    pub(super) fn new() -> Self {
        let rt = super::runtime();
        let issuer = rt
            .block_on(TestIssuer::start())
            .unwrap_or_else(|e| panic!("the test issuer could not start: {e}"));
        let verifier = verifier(&issuer);
        let host = host(&issuer);
        Self {
            rt,
            issuer,
            verifier,
            host,
        }
    }

    fn claims(&self, aud: &str) -> Value {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        json!({
            "iss": self.issuer.issuer(), "aud": aud, "sub": "112233445566778899000",
            "azp": "112233445566778899000", "email": ALLOWED, "email_verified": true,
            "iat": now, "exp": now + 86_400,
        })
    }

    fn sign(&self, claims: &Value) -> String {
        self.issuer.sign(claims).unwrap_or_default()
    }
}

/// The verifier's answer as an outcome: the kind and the first words of the message (which
/// names the check that failed, never the token).
fn verdict(result: cloudport_core::Result<impl Sized>) -> String {
    match result {
        Ok(_) => "ok".to_owned(),
        Err(e) => {
            let words: Vec<&str> = e.message().split_whitespace().take(5).collect();
            format!("{} {}", e.kind(), words.join(" "))
        }
    }
}

impl Target for Auth {
    fn name(&self) -> &'static str {
        "cloudrun-auth"
    }

    fn shape(&self) -> Shape {
        Shape {
            header_weight: 8,
            request_line_weight: 1,
            variants: 2,
        }
    }

    fn seeds(&self) -> Vec<Case> {
        let service = format!("https://{HOST}");
        let endpoint = format!("https://{HOST}{PATH}");
        let with = |patch: Value| {
            let mut c = self.claims(&service);
            if let (Some(c), Some(p)) = (c.as_object_mut(), patch.as_object()) {
                for (k, v) in p {
                    if v.is_null() {
                        c.remove(k);
                    } else {
                        c.insert(k.clone(), v.clone());
                    }
                }
            }
            c
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let kid = self.issuer.key_id().to_owned();
        let unsigned = |header: Value, claims: &Value, signature: &str| {
            format!(
                "{}.{}.{signature}",
                URL_SAFE_NO_PAD.encode(header.to_string()),
                URL_SAFE_NO_PAD.encode(claims.to_string())
            )
        };
        let good = self.sign(&self.claims(&service));
        let good_signature = good.rsplit('.').next().unwrap_or_default().to_owned();
        let mut tokens = vec![
            good.clone(),
            self.sign(&self.claims(&endpoint)),
            self.sign(&with(
                json!({"aud": ["https://billing.example.com", service]}),
            )),
            self.sign(&with(json!({"iat": now - 7200, "exp": now - 3600}))),
            self.sign(&with(json!({"nbf": now + 3600}))),
            self.sign(&with(json!({"iat": now + 3600, "exp": now + 7200}))),
            self.sign(&with(json!({"iat": null}))),
            self.sign(&with(json!({"exp": null}))),
            self.sign(&with(json!({"aud": "https://billing.example.com"}))),
            self.sign(&with(json!({"aud": null}))),
            self.sign(&with(json!({"iss": "https://accounts.google.com"}))),
            self.sign(&with(json!({"email_verified": false}))),
            self.sign(&with(json!({"email_verified": "true"}))),
            self.sign(&with(
                json!({"email": "other@shop.iam.gserviceaccount.com"}),
            )),
            self.sign(&with(json!({"email": null}))),
            self.sign(&with(json!({"exp": 1e20, "iat": -1}))),
            self.sign(&with(json!({"exp": "tomorrow", "iat": "now"}))),
            self.sign(&with(json!({"exp": u64::MAX, "nbf": i64::MIN}))),
            self.sign(&with(json!({"sub": 5, "email": ["a", "b"]}))),
            self.issuer
                .sign_with_key_id("not-the-key", &self.claims(&service))
                .unwrap_or_default(),
            unsigned(
                json!({"alg": "none", "typ": "JWT", "kid": kid}),
                &self.claims(&service),
                "",
            ),
            unsigned(
                json!({"alg": "HS256", "typ": "JWT", "kid": kid}),
                &self.claims(&service),
                "c2lnbmF0dXJl",
            ),
            unsigned(
                json!({"alg": "ES256", "typ": "JWT", "kid": kid}),
                &self.claims(&service),
                &good_signature,
            ),
            unsigned(
                json!({"alg": "RS256", "typ": "JWT", "kid": kid, "crit": ["exp"]}),
                &self.claims(&service),
                &good_signature,
            ),
            unsigned(
                json!({"alg": "RS256", "typ": "JWT"}),
                &self.claims(&service),
                &good_signature,
            ),
            unsigned(
                json!({"alg": "RS256", "typ": "JWT", "kid": kid}),
                &with(json!({"email": "root@example.com"})),
                &good_signature,
            ),
        ];
        tokens.push(format!("{good}.extra"));
        tokens.push(good.replacen('.', "..", 1));
        let mut seeds: Vec<Case> = tokens
            .iter()
            .enumerate()
            .map(|(i, token)| {
                let authorization = format!("Bearer {token}");
                Case::request(
                    "POST",
                    PATH,
                    &[
                        ("host", HOST),
                        ("authorization", authorization.as_str()),
                        ("x-cloudscheduler", "true"),
                        ("x-cloudscheduler-scheduletime", "2026-11-26T03:00:00Z"),
                    ],
                    Vec::new(),
                )
                .with_variant(u8::from(i % 3 == 0))
            })
            .collect();
        let with_auth = |value: &str| {
            Case::request(
                "POST",
                PATH,
                &[("host", HOST), ("authorization", value)],
                Vec::new(),
            )
        };
        seeds.push(with_auth("Basic dXNlcjpwYXNz"));
        seeds.push(with_auth("Bearer"));
        seeds.push(with_auth("Bearer "));
        seeds.push(with_auth(&format!("bearer  {good}")));
        seeds.push(with_auth(&format!("Bearer {}", "a".repeat(17 * 1024))));
        seeds.push(Case::request("POST", PATH, &[("host", HOST)], Vec::new()));
        seeds.push(Case::request(
            "POST",
            PATH,
            &[
                ("host", HOST),
                ("authorization", &format!("Bearer {good}")),
                ("authorization", &format!("Bearer {good}")),
            ],
            Vec::new(),
        ));
        seeds.push(
            Case::request(
                "POST",
                "/_cloudport/events",
                &[
                    ("host", HOST),
                    ("authorization", &format!("Bearer {}", self.sign(&self.claims(&format!("https://{HOST}/_cloudport/events"))))),
                    ("content-type", "application/json"),
                ],
                br#"{"message":{"data":"dHdvIHBpenphcw==","messageId":"m-1"},"subscription":"projects/shop/subscriptions/orders-push"}"#.to_vec(),
            )
            .with_variant(1),
        );
        seeds
    }

    fn dictionary(&self) -> &'static [&'static str] {
        DICTIONARY
    }

    fn headers(&self) -> &'static [(&'static str, &'static str)] {
        HEADERS
    }

    fn paths(&self) -> &'static [&'static str] {
        super::cloudrun::PATHS
    }

    fn exec(&mut self, case: &Case) -> Result<String, String> {
        if case.variant % 2 == 1 {
            return Ok(super::exec_http(&self.rt, &self.host, case));
        }
        let uri: http::Uri = case
            .path
            .parse()
            .unwrap_or_else(|_| http::Uri::from_static(PATH));
        let mut headers = http::HeaderMap::new();
        let mut unsendable = None;
        for (name, value) in &case.headers {
            let Ok(name) = http::HeaderName::from_bytes(name.as_bytes()) else {
                continue;
            };
            match http::HeaderValue::from_bytes(value) {
                Ok(v) => {
                    headers.append(name, v);
                }
                Err(_) if name == http::header::AUTHORIZATION => unsendable = Some(value),
                Err(_) => {}
            }
        }
        let verifier = &self.verifier;
        Ok(self.rt.block_on(async {
            match unsendable {
                // A value no HTTP request could carry: its token straight to verify_token.
                Some(value) => {
                    let text = String::from_utf8_lossy(value);
                    let token = text.split_once(' ').map_or(text.as_ref(), |(_, t)| t);
                    let audiences = [format!("https://{HOST}")];
                    format!(
                        "raw {}",
                        verdict(verifier.verify_token(token, &audiences).await)
                    )
                }
                None => verdict(verifier.verify(&headers, &uri).await),
            }
        }))
    }

    fn reset(&mut self) {
        self.verifier = verifier(&self.issuer);
        self.host = host(&self.issuer);
    }
}

const HEADERS: &[(&str, &str)] = &[
    ("host", HOST),
    ("host", "orders-abc-uc.a.run.app:443"),
    ("host", "evil.example.com"),
    ("host", ""),
    ("host", "a b"),
    ("host", "[::1]:8080"),
    ("authorization", "Bearer e30.e30.e30"),
    ("authorization", "Bearer ..."),
    ("authorization", "Basic dXNlcjpwYXNz"),
    ("authorization", "Bearer eyJhbGciOiJub25lIn0.e30."),
    ("x-cloudscheduler", "true"),
    ("content-type", "application/json"),
    ("x-serverless-authorization", "Bearer e30.e30.e30"),
];

const DICTIONARY: &[&str] = &[
    "alg",
    "RS256",
    "ES256",
    "HS256",
    "none",
    "PS256",
    "kid",
    "typ",
    "JWT",
    "crit",
    "jku",
    "x5u",
    "iss",
    "aud",
    "sub",
    "azp",
    "email",
    "email_verified",
    "iat",
    "exp",
    "nbf",
    "https://accounts.google.com",
    "accounts.google.com",
    "push@shop.iam.gserviceaccount.com",
    "https://orders-abc-uc.a.run.app",
    "https://orders-abc-uc.a.run.app/_cloudport/schedule/nightly",
    "Bearer ",
    ".",
    "=",
];
