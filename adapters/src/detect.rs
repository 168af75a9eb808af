//! Which platform is this process running on?

/// A serverless platform, as detected from the process environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostKind {
    /// AWS Lambda (`AWS_LAMBDA_RUNTIME_API` is set).
    Lambda,
    /// Azure Functions with a custom handler (`FUNCTIONS_CUSTOMHANDLER_PORT` is set).
    AzureFunctions,
    /// Google Cloud Functions gen2, Cloud Run or Knative (`K_SERVICE` is set).
    CloudRun,
    /// None of them: local development.
    Local,
}

impl HostKind {
    /// The cargo feature of the `cloudport` crate that carries this host.
    pub fn feature(self) -> Option<&'static str> {
        match self {
            Self::Lambda => Some("aws"),
            Self::AzureFunctions => Some("azure"),
            Self::CloudRun => Some("gcp"),
            Self::Local => None,
        }
    }
}

/// Detects the platform from the variables each one sets, with `var` reading them.
///
/// ```
/// use cloudport_adapters::{HostKind, detect_host};
/// assert_eq!(detect_host(|v| (v == "K_SERVICE").then(|| "svc".to_owned())), HostKind::CloudRun);
/// assert_eq!(detect_host(|_| None), HostKind::Local);
/// ```
pub fn detect_host(var: impl Fn(&str) -> Option<String>) -> HostKind {
    let set = |name: &str| var(name).is_some_and(|v| !v.is_empty());
    if set("AWS_LAMBDA_RUNTIME_API") {
        HostKind::Lambda
    } else if set("FUNCTIONS_CUSTOMHANDLER_PORT") {
        HostKind::AzureFunctions
    } else if set("K_SERVICE") {
        HostKind::CloudRun
    } else {
        HostKind::Local
    }
}
