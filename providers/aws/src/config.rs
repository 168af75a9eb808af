//! Shared AWS configuration, loaded once, and per-resource settings from the URL.

use std::sync::Arc;

use aws_config::{BehaviorVersion, SdkConfig};
use cloudport_core::redact::Redacted;
use tokio::sync::OnceCell;

/// The AWS provider: opens `sqs://`, `s3://` and `dynamodb://` URLs. Cloning shares the loaded
/// configuration.
#[derive(Clone)]
pub struct Aws {
    config: Arc<OnceCell<SdkConfig>>,
}

/// The loaded configuration, redacted ([`cloudport_core::redact`]).
impl std::fmt::Debug for Aws {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Aws")
            .field("config", &Redacted(self.config.get()))
            .finish()
    }
}

/// Settings a resource URL gives on top of the shared configuration. The SDK's own retry is
/// switched off: the portable types retry once, by their `RetryPolicy` (ADR 0003).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// Region, overriding `AWS_REGION`.
    pub region: Option<String>,
    /// Endpoint, for emulators and VPC endpoints (`http://127.0.0.1:5000`).
    pub endpoint: Option<String>,
}

impl Default for Aws {
    fn default() -> Self {
        Self::from_env()
    }
}

impl Aws {
    /// Configuration from the standard AWS environment, loaded on first use.
    pub fn from_env() -> Self {
        Self {
            config: Arc::new(OnceCell::new()),
        }
    }

    /// This configuration (static credentials for tests, say).
    pub fn with_config(config: SdkConfig) -> Self {
        Self {
            config: Arc::new(OnceCell::new_with(Some(config))),
        }
    }

    /// A configuration for a local emulator (moto, LocalStack): static dummy credentials, region
    /// `us-east-1`, every client sent to `endpoint`. Never for AWS itself.
    ///
    /// ```
    /// let aws = cloudport_aws::Aws::for_emulator("http://127.0.0.1:5000");
    /// # let _ = aws;
    /// ```
    pub fn for_emulator(endpoint: impl Into<String>) -> Self {
        Self::with_config(
            SdkConfig::builder()
                .behavior_version(BehaviorVersion::latest())
                .region(aws_config::Region::new("us-east-1"))
                .credentials_provider(
                    aws_credential_types::provider::SharedCredentialsProvider::new(
                        aws_credential_types::Credentials::new(
                            "emulator",
                            "emulator",
                            None,
                            None,
                            "cloudport-emulator",
                        ),
                    ),
                )
                .endpoint_url(endpoint)
                .build(),
        )
    }

    /// The shared configuration, loading it on first call. The secret key and session token of
    /// the environment are registered as secrets ([`cloudport_core::redact`]).
    pub async fn sdk_config(&self) -> &SdkConfig {
        self.config
            .get_or_init(|| {
                for var in ["AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"] {
                    if let Ok(value) = std::env::var(var) {
                        cloudport_core::redact::register_secret(&value);
                    }
                }
                aws_config::defaults(BehaviorVersion::latest()).load()
            })
            .await
    }
}

/// The endpoint shown redacted (an endpoint URL may carry a password).
impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("region", &self.region)
            .field("endpoint", &self.endpoint.as_deref().map(Redacted))
            .finish()
    }
}

impl Settings {
    pub(crate) fn apply_sqs(&self, base: &SdkConfig) -> aws_sdk_sqs::Config {
        let mut b = aws_sdk_sqs::config::Builder::from(base)
            .retry_config(aws_sdk_sqs::config::retry::RetryConfig::disabled());
        if let Some(r) = &self.region {
            b = b.region(aws_sdk_sqs::config::Region::new(r.clone()));
        }
        if let Some(e) = &self.endpoint {
            b = b.endpoint_url(e.clone());
        }
        b.build()
    }

    pub(crate) fn apply_s3(&self, base: &SdkConfig, path_style: bool) -> aws_sdk_s3::Config {
        let mut b = aws_sdk_s3::config::Builder::from(base)
            .retry_config(aws_sdk_s3::config::retry::RetryConfig::disabled())
            .force_path_style(path_style);
        if let Some(r) = &self.region {
            b = b.region(aws_sdk_s3::config::Region::new(r.clone()));
        }
        if let Some(e) = &self.endpoint {
            b = b.endpoint_url(e.clone());
        }
        b.build()
    }

    pub(crate) fn apply_dynamodb(&self, base: &SdkConfig) -> aws_sdk_dynamodb::Config {
        let mut b = aws_sdk_dynamodb::config::Builder::from(base)
            .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled());
        if let Some(r) = &self.region {
            b = b.region(aws_sdk_dynamodb::config::Region::new(r.clone()));
        }
        if let Some(e) = &self.endpoint {
            b = b.endpoint_url(e.clone());
        }
        b.build()
    }
}
