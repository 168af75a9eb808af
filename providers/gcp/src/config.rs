//! Shared GCP configuration from the standard Google environment: the project
//! (`GOOGLE_CLOUD_PROJECT`), Application Default Credentials, and the emulator variables
//! (`PUBSUB_EMULATOR_HOST`, `FIRESTORE_EMULATOR_HOST`, `STORAGE_EMULATOR_HOST`).

use std::sync::Arc;

use cloudport_core::{Error, ErrorKind, Result};

/// The GCP provider: opens `gcppubsub://`, `gs://` and `firestore://` URLs. Cloning is cheap.
///
/// With an emulator variable set, that service's clients go to the emulator without
/// credentials; otherwise they authenticate with Application Default Credentials (the metadata
/// server on Cloud Run and Cloud Functions, `GOOGLE_APPLICATION_CREDENTIALS` elsewhere).
///
/// ```
/// let gcp = cloudport_gcp::Gcp::from_env();
/// # let _ = gcp;
/// ```
#[derive(Clone, Debug)]
pub struct Gcp {
    settings: Arc<Settings>,
}

/// Where each service is, for emulators; `None` means the real service.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// The default project, for URLs that name none (`GOOGLE_CLOUD_PROJECT`).
    pub project: Option<String>,
    /// The Pub/Sub emulator's `host:port` (`PUBSUB_EMULATOR_HOST`).
    pub pubsub_emulator: Option<String>,
    /// The Cloud Storage emulator's base URL (`STORAGE_EMULATOR_HOST`, e.g.
    /// `http://127.0.0.1:4443`).
    pub storage_emulator: Option<String>,
}

impl Default for Gcp {
    fn default() -> Self {
        Self::from_env()
    }
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl Settings {
    /// The settings the process environment gives.
    pub fn from_env() -> Self {
        Self {
            project: ["GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT", "GCP_PROJECT"]
                .iter()
                .find_map(|v| var(v)),
            pubsub_emulator: var("PUBSUB_EMULATOR_HOST"),
            storage_emulator: var("STORAGE_EMULATOR_HOST").map(|h| {
                if h.contains("://") {
                    h.trim_end_matches('/').to_owned()
                } else {
                    format!("http://{}", h.trim_end_matches('/'))
                }
            }),
        }
    }
}

impl Gcp {
    /// Configuration from the standard Google environment.
    pub fn from_env() -> Self {
        Self::with_settings(Settings::from_env())
    }

    /// This configuration (emulators in tests, say). Firestore's emulator is always taken from
    /// `FIRESTORE_EMULATOR_HOST`, which its client reads itself.
    pub fn with_settings(settings: Settings) -> Self {
        Self {
            settings: Arc::new(settings),
        }
    }

    /// The settings in use.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The project a URL names; `_` means the default one (`GOOGLE_CLOUD_PROJECT`).
    pub(crate) fn project(&self, named: &str) -> Result<String> {
        Some(named)
            .filter(|p| *p != "_")
            .map(str::to_owned)
            .or_else(|| self.settings.project.clone())
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::InvalidArgument,
                    "the URL names project `_` (the default) but GOOGLE_CLOUD_PROJECT is not set",
                )
            })
    }
}

/// The emulator addresses shown redacted (they may carry a password).
impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use cloudport_core::redact::Redacted;
        f.debug_struct("Settings")
            .field("project", &self.project)
            .field(
                "pubsub_emulator",
                &self.pubsub_emulator.as_deref().map(Redacted),
            )
            .field(
                "storage_emulator",
                &self.storage_emulator.as_deref().map(Redacted),
            )
            .finish()
    }
}

/// Installs aws-lc-rs as the process's rustls crypto provider unless one is installed already.
/// The Google crates enable both of rustls's providers (ring and aws-lc-rs), and then rustls
/// cannot choose one by itself: the first TLS connection (Firestore's, with real credentials)
/// would panic with "Could not automatically determine the process-level CryptoProvider".
/// Called before any client is built.
pub(crate) fn ensure_crypto_provider() {
    // An error means a provider is installed already (the application's): it stays.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}
