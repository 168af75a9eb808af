//! The identity side of the identity-based connection tests: Azurite checks tokens (`--oauth
//! basic`: issuer, audience, lifetime; not the signature), and this stands in for the one thing
//! no emulator provides, the platform's managed-identity endpoint.
//!
//! It speaks App Service's managed-identity protocol (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER`,
//! <https://learn.microsoft.com/azure/app-service/overview-managed-identity#rest-endpoint-reference>),
//! so the provider's production path — `azure_identity::ManagedIdentityCredential` picking the App
//! Service source — is what the tests run. scripts/emulators.sh sets the variables; the endpoint
//! starts once per test process, on the port `IDENTITY_ENDPOINT` names.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::Query;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use cloudport_azure::sdk::azure_core;
use cloudport_azure::sdk::azure_core::credentials::{
    AccessToken, TokenCredential, TokenRequestOptions,
};
use serde_json::{Value, json};

/// The client id scripts/emulators.sh gives the identity-based settings.
pub const CLIENT_ID: &str = "00000000-0000-4000-8000-00000000c1d0";
/// A client id for which the endpoint issues a token for another audience (Azurite refuses it).
pub const WRONG_AUDIENCE_CLIENT_ID: &str = "00000000-0000-4000-8000-0000000bad00";

/// The identity-based settings' prefix the emulator tests use (`CLOUDPORT_TEST_AZURITE_OAUTH`).
pub fn setting() -> String {
    std::env::var("CLOUDPORT_TEST_AZURITE_OAUTH").expect(
        "CLOUDPORT_TEST_AZURITE_OAUTH is not set: run ./scripts/test.sh (it starts Azurite with --oauth basic over https and sets the identity-based settings)",
    )
}

/// A token credential that counts what it is asked, around a real one: shows that a request was
/// authorized by a token of this credential (Azurite with OAuth still accepts keys too).
#[derive(Debug)]
pub struct Counting {
    inner: std::sync::Arc<dyn TokenCredential>,
    scopes: Mutex<Vec<String>>,
}

impl Counting {
    pub fn new(inner: std::sync::Arc<dyn TokenCredential>) -> std::sync::Arc<Self> {
        std::sync::Arc::new(Self {
            inner,
            scopes: Mutex::default(),
        })
    }

    /// The scopes of every `get_token` call so far.
    pub fn scopes(&self) -> Vec<String> {
        self.scopes.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

#[async_trait::async_trait]
impl TokenCredential for Counting {
    async fn get_token(
        &self,
        scopes: &[&str],
        options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        if let Ok(mut s) = self.scopes.lock() {
            s.extend(scopes.iter().map(|s| (*s).to_owned()));
        }
        self.inner.get_token(scopes, options).await
    }
}

/// Every token request the endpoint answered: (client id, resource).
pub fn requests() -> Vec<(String, String)> {
    log().lock().map(|l| l.clone()).unwrap_or_default()
}

fn log() -> &'static Mutex<Vec<(String, String)>> {
    static LOG: OnceLock<Mutex<Vec<(String, String)>>> = OnceLock::new();
    LOG.get_or_init(Default::default)
}

/// Starts the managed-identity endpoint on `IDENTITY_ENDPOINT`'s port (once per process).
pub fn start() {
    static STARTED: OnceLock<()> = OnceLock::new();
    STARTED.get_or_init(|| {
        let endpoint = std::env::var("IDENTITY_ENDPOINT")
            .expect("IDENTITY_ENDPOINT is not set: run ./scripts/test.sh");
        let url = url::Url::parse(&endpoint).expect("IDENTITY_ENDPOINT is a URL");
        let addr = format!(
            "{}:{}",
            url.host_str().expect("a host"),
            url.port().expect("a port")
        );
        let listener = std::net::TcpListener::bind(&addr)
            .unwrap_or_else(|e| panic!("the identity endpoint cannot listen on {addr}: {e}"));
        listener.set_nonblocking(true).expect("non-blocking");
        let path = url.path().to_owned();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let app = Router::new().route(&path, get(token));
                axum::serve(listener, app).await.expect("serve");
            });
        });
    });
}

/// `GET IDENTITY_ENDPOINT?resource=…&api-version=2019-08-01&client_id=…` with the
/// `X-IDENTITY-HEADER`: a token as App Service returns it (`expires_on` a string of seconds).
async fn token(
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> (StatusCode, Json<Value>) {
    let expected = std::env::var("IDENTITY_HEADER").unwrap_or_default();
    let header = headers
        .get("x-identity-header")
        .and_then(|v| v.to_str().ok());
    if expected.is_empty() || header != Some(expected.as_str()) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "error": "missing or wrong X-IDENTITY-HEADER" })),
        );
    }
    let (Some(resource), Some(client_id)) = (query.get("resource"), query.get("client_id")) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": "resource and client_id are required" })),
        );
    };
    if let Ok(mut l) = log().lock() {
        l.push((client_id.clone(), resource.clone()));
    }
    let audience = if client_id == WRONG_AUDIENCE_CLIENT_ID {
        "https://vault.azure.net"
    } else {
        resource.as_str()
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let exp = now + 3600;
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let jwt = format!(
        "{}.{}.{}",
        b64(&json!({ "alg": "RS256", "typ": "JWT" })),
        b64(&json!({
            "aud": audience,
            "iss": "https://sts.windows.net/72f988bf-0000-4000-8000-000000000000/",
            "iat": now - 60,
            "nbf": now - 60,
            "exp": exp,
            "appid": client_id,
            "oid": client_id,
            "tid": "72f988bf-0000-4000-8000-000000000000",
        })),
        "dW5zaWduZWQ"
    );
    (
        StatusCode::OK,
        Json(json!({
            "access_token": jwt,
            "expires_on": exp.to_string(),
            "resource": resource,
            "token_type": "Bearer",
            "client_id": client_id,
        })),
    )
}
