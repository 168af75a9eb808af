//! The actions a generated workflow uses, each pinned to a major version tag, with the page that
//! documents its inputs. Pinning to a full commit SHA is stronger (a tag can be moved): after
//! checking the SHA on the action's release page, `uses: owner/name@<sha> # vN`; Dependabot's
//! `github-actions` ecosystem keeps either form current.

/// A third-party action, pinned to a major version tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Action {
    /// `owner/name`.
    pub repo: &'static str,
    /// The tag (`v5`).
    pub tag: &'static str,
    /// Where its inputs and releases are documented.
    pub source: &'static str,
}

impl Action {
    /// `owner/name@tag`, for `uses:`.
    pub fn uses(&self) -> String {
        format!("{}@{}", self.repo, self.tag)
    }
}

/// `actions/checkout`.
pub const CHECKOUT: Action = Action {
    repo: "actions/checkout",
    tag: "v5",
    source: "https://github.com/actions/checkout",
};
/// `actions/cache`.
pub const CACHE: Action = Action {
    repo: "actions/cache",
    tag: "v4",
    source: "https://github.com/actions/cache",
};
/// `actions/setup-python` (a Python whose pip may install: the runner's system Python is
/// externally managed, PEP 668).
pub const SETUP_PYTHON: Action = Action {
    repo: "actions/setup-python",
    tag: "v5",
    source: "https://github.com/actions/setup-python",
};
/// `actions/upload-artifact`.
pub const UPLOAD_ARTIFACT: Action = Action {
    repo: "actions/upload-artifact",
    tag: "v4",
    source: "https://github.com/actions/upload-artifact",
};
/// `actions/download-artifact` (the same major version as the upload: v4 artifacts are not
/// readable by v3).
pub const DOWNLOAD_ARTIFACT: Action = Action {
    repo: "actions/download-artifact",
    tag: "v4",
    source: "https://github.com/actions/download-artifact",
};
/// `aws-actions/configure-aws-credentials` (OIDC: `role-to-assume` without keys).
pub const AWS_CREDENTIALS: Action = Action {
    repo: "aws-actions/configure-aws-credentials",
    tag: "v6",
    source: "https://github.com/aws-actions/configure-aws-credentials#quick-start-oidc-recommended",
};
/// `azure/login` (OIDC: client, tenant and subscription ids, no secret).
pub const AZURE_LOGIN: Action = Action {
    repo: "azure/login",
    tag: "v2",
    source: "https://github.com/Azure/login#login-with-openid-connect-oidc-recommended",
};
/// `google-github-actions/auth` (workload identity federation).
pub const GCP_AUTH: Action = Action {
    repo: "google-github-actions/auth",
    tag: "v2",
    source: "https://github.com/google-github-actions/auth#workload-identity-federation-through-a-service-account",
};
/// `google-github-actions/setup-gcloud`.
pub const SETUP_GCLOUD: Action = Action {
    repo: "google-github-actions/setup-gcloud",
    tag: "v2",
    source: "https://github.com/google-github-actions/setup-gcloud",
};
/// `hashicorp/setup-terraform`.
pub const SETUP_TERRAFORM: Action = Action {
    repo: "hashicorp/setup-terraform",
    tag: "v3",
    source: "https://github.com/hashicorp/setup-terraform",
};

/// Every action a generated workflow may use: the list to review, and to pin by SHA.
pub const ACTIONS: [Action; 10] = [
    CHECKOUT,
    CACHE,
    SETUP_PYTHON,
    UPLOAD_ARTIFACT,
    DOWNLOAD_ARTIFACT,
    AWS_CREDENTIALS,
    AZURE_LOGIN,
    GCP_AUTH,
    SETUP_GCLOUD,
    SETUP_TERRAFORM,
];
