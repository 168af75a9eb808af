//! Unit tests of the token checks, the key-set parsing and the configuration; the host's answers
//! over HTTP are tested in `adapters/tests/cloudrun_auth.rs`.

use std::time::Duration;

use axum::http::{HeaderMap, Uri};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cloudport_core::{Env, ErrorKind};
use jsonwebtoken::Algorithm;

use super::keys::{max_age, parse_jwks};
use super::verify::{TokenHeader, bearer_token};
use super::*;

fn headers(pairs: &[(&str, &[u8])]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(
            axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            axum::http::HeaderValue::from_bytes(v).unwrap(),
        );
    }
    h
}

#[test]
fn bearer_tokens_are_checked_for_shape_only_and_never_echoed() {
    let secret = "eyJhbGciOiJSUzI1NiJ9.c2VjcmV0LXBheWxvYWQ.c2ln";
    type Headers<'a> = Vec<(&'a str, &'a [u8])>;
    let cases: Vec<(Headers<'_>, &str)> = vec![
        (vec![], "no Authorization header"),
        (
            vec![("authorization", b"Basic dXNlcjpwdw==")],
            "not of the form",
        ),
        (vec![("authorization", b"Bearer")], "empty bearer token"),
        (vec![("authorization", b"Bearer    ")], "empty bearer token"),
        (
            vec![
                ("authorization", b"Bearer a"),
                ("authorization", b"Bearer b"),
            ],
            "more than one",
        ),
        (
            vec![("authorization", b"Bearer \xff\xfe")],
            "not visible ASCII",
        ),
    ];
    for (pairs, expected) in cases {
        let err = bearer_token(&headers(&pairs)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unauthenticated);
        assert!(err.message().contains(expected), "{err} for {pairs:?}");
    }
    let huge = format!("Bearer {}", "a".repeat(MAX_TOKEN_BYTES + 1));
    let err = bearer_token(&headers(&[("authorization", huge.as_bytes())])).unwrap_err();
    assert!(err.message().contains("longer than"), "{err}");
    let ok = format!("bearer  {secret} ");
    assert_eq!(
        bearer_token(&headers(&[("authorization", ok.as_bytes())])).unwrap(),
        secret
    );
}

#[test]
fn token_headers_refuse_what_is_not_rs256_or_es256() {
    let enc = |json: &str| URL_SAFE_NO_PAD.encode(json);
    let token = |header: &str, sig: &str| format!("{}.{}.{sig}", enc(header), enc("{}"));
    let refused = [
        (token(r#"{"alg":"none","kid":"k"}"#, ""), "unsigned"),
        (token(r#"{"alg":"NONE","kid":"k"}"#, "x"), "unsigned"),
        (token(r#"{"alg":"HS256","kid":"k"}"#, "x"), "shared secret"),
        (token(r#"{"alg":"RS512","kid":"k"}"#, "x"), "not accepted"),
        (token(r#"{"alg":7,"kid":"k"}"#, "x"), "not accepted"),
        (token(r#"{"kid":"k"}"#, "x"), "no algorithm"),
        (token(r#"{"alg":"RS256"}"#, "x"), "no signing key"),
        (token(r#"{"alg":"RS256","kid":""}"#, "x"), "no signing key"),
        (
            token(r#"{"alg":"RS256","kid":"k","crit":["b64"]}"#, "x"),
            "crit",
        ),
        (token(r#"{"alg":"RS256","kid":"k"}"#, ""), "no signature"),
        (token(r#"["alg"]"#, "x"), "not base64url-encoded JSON"),
        (format!("{}.x", enc("{}")), "three"),
        ("a.b.c.d".to_owned(), "three"),
        ("a.b+/.c".to_owned(), "base64url"),
        ("a.b.c=".to_owned(), "base64url"),
        (".b.c".to_owned(), "base64url"),
        ("!!!.b.c".to_owned(), "base64url"),
        ("YQ.b.c".to_owned(), "not base64url-encoded JSON"),
        ("A.b.c".to_owned(), "not base64url-encoded JSON"),
    ];
    for (t, expected) in refused {
        let err = TokenHeader::parse(&t).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unauthenticated);
        assert!(err.message().contains(expected), "{err} for {t}");
    }
    let ok = TokenHeader::parse(&token(r#"{"alg":"ES256","kid":"k1","typ":"JWT"}"#, "x")).unwrap();
    assert_eq!((ok.algorithm, ok.kid.as_str()), (Algorithm::ES256, "k1"));
}

#[test]
fn cache_control_max_age_is_honoured_within_bounds() {
    let age = |v: &str| max_age(&headers(&[("cache-control", v.as_bytes())]));
    assert_eq!(
        age("public, max-age=19958, must-revalidate, no-transform"),
        Duration::from_secs(19958)
    );
    assert_eq!(age("MAX-AGE = 120"), Duration::from_secs(120));
    assert_eq!(age("max-age=0"), KEYS_MAX_AGE_RANGE.0);
    assert_eq!(age("max-age=99999999"), KEYS_MAX_AGE_RANGE.1);
    assert_eq!(age("max-age=soon"), DEFAULT_KEYS_MAX_AGE);
    assert_eq!(max_age(&HeaderMap::new()), DEFAULT_KEYS_MAX_AGE);
}

#[test]
fn key_sets_keep_only_signing_keys_of_accepted_algorithms() {
    let rsa = r#"{"kty":"RSA","kid":"r","alg":"RS256","use":"sig","n":"sXch","e":"AQAB"}"#;
    let body = format!(
        r#"{{"keys":[{rsa},
          {{"kty":"RSA","kid":"enc","use":"enc","n":"sXch","e":"AQAB"}},
          {{"kty":"RSA","kid":"rs512","alg":"RS512","n":"sXch","e":"AQAB"}},
          {{"kty":"oct","kid":"h","alg":"HS256","k":"c2VjcmV0"}},
          {{"kty":"RSA","n":"sXch","e":"AQAB"}},
          {{"kty":"EC","kid":"p384","crv":"P-384","x":"AA","y":"AA"}},
          {{"what":"ever"}}, 42]}}"#
    );
    let keys = parse_jwks(body.as_bytes()).unwrap();
    assert_eq!(keys.keys().collect::<Vec<_>>(), vec!["r"]);
    assert!(parse_jwks(br#"{"keys":[]}"#).is_err());
    assert!(parse_jwks(b"<html>").is_err());
}

#[test]
fn configuration_errors_are_invalid_arguments() {
    let env = |pairs: &[(&str, &str)]| {
        Env::builder()
            .vars(pairs.iter().map(|(k, v)| (*k, *v)))
            .build()
    };
    for pairs in [
        vec![(EVENT_AUTH_VAR, "off")],
        vec![(AUDIENCES_VAR, " , ")],
        vec![(ALLOWED_EMAILS_VAR, "not-an-email")],
        vec![(ALLOWED_EMAILS_VAR, "a@b, c d@e")],
        vec![(ISSUERS_VAR, "")],
        vec![(JWKS_URL_VAR, "http://keys.example.com/certs")],
        vec![(JWKS_URL_VAR, "ftp://127.0.0.1/certs")],
        vec![(JWKS_URL_VAR, "not a url")],
    ] {
        let err = EventAuth::from_env(&env(&pairs)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{pairs:?}");
    }
    let ok = OidcConfig::from_env(&env(&[
        (EVENT_AUTH_VAR, "OIDC"),
        (JWKS_URL_VAR, "http://localhost:8080/certs"),
        (ISSUERS_VAR, "https://issuer.test"),
        (AUDIENCES_VAR, "https://a.test/, https://b.test"),
    ]))
    .unwrap();
    assert_eq!(ok.issuers, vec!["https://issuer.test"]);
    assert_eq!(ok.audiences, vec!["https://a.test/", "https://b.test"]);
    assert!(
        EventAuth::from_env(&env(&[(EVENT_AUTH_VAR, " Platform ")]))
            .unwrap()
            .is_platform()
    );
}

/// Every truncation and many one-character changes of a valid token: refused as
/// unauthenticated (or, for changes that keep it valid, accepted), never a panic.
#[cfg(feature = "oidc-test-issuer")]
#[tokio::test]
async fn mangled_tokens_are_refused_never_a_panic() {
    let issuer = TestIssuer::start().await.unwrap();
    let verifier = OidcVerifier::new(OidcConfig {
        issuers: vec![issuer.issuer()],
        jwks_url: issuer.jwks_url(),
        ..OidcConfig::default()
    })
    .unwrap();
    let audience = vec!["https://svc.a.run.app".to_owned()];
    let token = issuer
        .token(&audience[0], "a@b.iam.gserviceaccount.com")
        .unwrap();
    assert!(verifier.verify_token(&token, &audience).await.is_ok());
    let check = |result: Result<Caller>, mangled: &str| match result {
        Ok(_) => {}
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::Unauthenticated, "{e} for {mangled}");
            for part in mangled.split('.').filter(|p| p.len() >= 8) {
                assert!(!e.to_string().contains(part), "{e} echoes the token");
            }
        }
    };
    for end in 0..token.len() {
        let cut = &token[..end];
        check(verifier.verify_token(cut, &audience).await, cut);
    }
    for (i, _) in token.char_indices().step_by(3) {
        for c in ['A', '-', '.', '=', ' ', '\u{e9}'] {
            let mut mangled = token.clone();
            mangled.replace_range(i..=i, &c.to_string());
            check(verifier.verify_token(&mangled, &audience).await, &mangled);
        }
    }
    assert!(issuer.fetches() <= 2, "{} fetches", issuer.fetches());
}

#[test]
fn audiences_with_a_query() {
    let uri: Uri = "/_cloudport/events?token=abc".parse().unwrap();
    let h = headers(&[("host", b"svc.a.run.app")]);
    assert_eq!(
        request_audiences(&h, &uri).last().map(String::as_str),
        Some("https://svc.a.run.app/_cloudport/events?token=abc")
    );
    let bad = headers(&[("host", b"a b")]);
    assert!(request_audiences(&bad, &uri).is_empty());
}
