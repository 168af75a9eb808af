//! The Google Cloud deploy steps: workload identity federation (`google-github-actions/auth`),
//! the image built from `dist/` and pushed to Artifact Registry, then Terraform applies the
//! package's configuration with the image's digest, its state in a Cloud Storage bucket.

use cloudport_core::app::Description;

use super::CiTarget;
use super::actions::{GCP_AUTH, SETUP_GCLOUD, SETUP_TERRAFORM};
use super::github::{Deploy, run_step, uses_step, var, with_id};
use super::yaml::Yaml;
use crate::Result;

/// The Terraform configuration `package --cloud gcp` writes into `dist/` (JSON syntax).
pub const TERRAFORM: &str = "main.tf.json";
/// The container build file `package --cloud gcp` writes into `dist/` (the build context).
pub const DOCKERFILE: &str = "Dockerfile";
/// The file the workflow adds next to the configuration to keep Terraform's state in Cloud
/// Storage (a partial `gcs` backend; bucket and prefix come from `terraform init`).
pub const BACKEND_FILE: &str = "backend.tf.json";

/// The variable holding the billing account for the budget, read when the app has a budget.
pub const BILLING_VARIABLE: &str = "GCP_BILLING_ACCOUNT";

/// The repository variables the deploy job reads.
pub const VARIABLES: [(&str, &str); 6] = [
    (
        "GCP_WORKLOAD_IDENTITY_PROVIDER",
        "projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>",
    ),
    (
        "GCP_SERVICE_ACCOUNT",
        "the service account the workflow impersonates (<name>@<project>.iam.gserviceaccount.com)",
    ),
    ("GCP_PROJECT", "the project to deploy to"),
    ("GCP_REGION", "the region of the service and the registry"),
    (
        "GCP_ARTIFACT_REPOSITORY",
        "an Artifact Registry Docker repository in that region",
    ),
    (
        "TF_STATE_BUCKET",
        "a Cloud Storage bucket for Terraform's state (versioned)",
    ),
];

/// Builds and pushes the image; outputs its digest reference (`…@sha256:…`), so Terraform
/// deploys exactly what was pushed, whatever happens to the tag. The build context is `dist/`,
/// so the credentials file `google-github-actions/auth` writes into the workspace root never
/// enters the image.
///
/// ```
/// let s = cloudport_cli::ci::gcp::image_script("quickstart");
/// assert!(s.contains("docker build --tag \"$image\" dist"));
/// assert!(s.contains("/quickstart:$GITHUB_SHA"));
/// ```
pub fn image_script(name: &str) -> String {
    let image = name.to_ascii_lowercase();
    format!(
        "registry=\"$GCP_REGION-docker.pkg.dev\"\n\
         image=\"$registry/$GCP_PROJECT/$GCP_ARTIFACT_REPOSITORY/{image}:$GITHUB_SHA\"\n\
         gcloud auth configure-docker \"$registry\" --quiet\n\
         docker build --tag \"$image\" dist\n\
         docker push \"$image\"\n\
         echo \"image=$(docker inspect --format '{{{{index .RepoDigests 0}}}}' \"$image\")\" >> \"$GITHUB_OUTPUT\"\n"
    )
}

/// `terraform init` with the state in `TF_STATE_BUCKET` under `cloudport/<name>`, then
/// `apply` with the variables of `variables.tf.json`: project, region, image and, for an app
/// with a budget, `billing_account` (from `GCP_BILLING_ACCOUNT`; empty means no budget).
///
/// ```
/// let s = cloudport_cli::ci::gcp::terraform_script("quickstart", false);
/// assert!(s.contains("terraform -chdir=dist apply -input=false -auto-approve"));
/// assert!(s.contains("-var \"image=$IMAGE\""));
/// ```
pub fn terraform_script(name: &str, budget: bool) -> String {
    let budget = if budget {
        " -var \"billing_account=$GCP_BILLING_ACCOUNT\""
    } else {
        ""
    };
    format!(
        "printf '%s\\n' '{{\"terraform\": {{\"backend\": {{\"gcs\": {{}}}}}}}}' > dist/{BACKEND_FILE}\n\
         terraform -chdir=dist init -input=false \\\n  \
         -backend-config=\"bucket=$TF_STATE_BUCKET\" -backend-config=\"prefix=cloudport/{name}\"\n\
         terraform -chdir=dist apply -input=false -auto-approve \\\n  \
         -var \"project=$GCP_PROJECT\" -var \"region=$GCP_REGION\" -var \"image=$IMAGE\"{budget}\n"
    )
}

/// The deploy job's Google Cloud part.
pub fn deploy(description: &Description, t: &CiTarget) -> Result<Deploy> {
    let budget = description.budget.is_some();
    let mut setup = vec![
        "Setup, once (https://github.com/google-github-actions/auth#workload-identity-federation-through-a-service-account):".to_owned(),
        "  1. a workload identity pool and an OIDC provider for https://token.actions.githubusercontent.com".into(),
        "     with an attribute condition on assertion.repository (and assertion.environment ==".into(),
        format!("     '{}');", t.environment),
        "  2. a service account the pool may impersonate (roles/iam.workloadIdentityUser for".into(),
        "     principalSet://iam.googleapis.com/<pool>/attribute.repository/<owner>/<repo>), with".into(),
        "     roles/artifactregistry.writer on the repository, objects in TF_STATE_BUCKET, and the".into(),
        "     roles the Terraform configuration's resources need; the APIs DEPLOY.md lists enabled;".into(),
        "  3. repository or environment variables (Settings > Secrets and variables > Actions > Variables):".into(),
    ];
    setup.extend(
        VARIABLES
            .iter()
            .map(|(n, what)| format!("     {n}: {what}")),
    );
    let mut env: Vec<(String, Yaml)> = [
        "GCP_PROJECT",
        "GCP_REGION",
        "GCP_ARTIFACT_REPOSITORY",
        "TF_STATE_BUCKET",
    ]
    .into_iter()
    .map(|v| (v.to_owned(), var(v)))
    .collect();
    if budget {
        setup.push(format!(
            "     {BILLING_VARIABLE}: the billing account (XXXXXX-XXXXXX-XXXXXX) for the budget, or empty for none"
        ));
        setup
            .push("       (creating a budget needs billing.budgets.create on that account)".into());
        env.push((BILLING_VARIABLE.into(), var(BILLING_VARIABLE)));
    }
    Ok(Deploy {
        env,
        steps: vec![
            uses_step(
                "Google Cloud auth (workload identity federation, no key)",
                GCP_AUTH,
                vec![
                    (
                        "workload_identity_provider",
                        var("GCP_WORKLOAD_IDENTITY_PROVIDER"),
                    ),
                    ("service_account", var("GCP_SERVICE_ACCOUNT")),
                ],
            ),
            uses_step("gcloud", SETUP_GCLOUD, vec![]),
            with_id(
                run_step(
                    "build and push the image (Artifact Registry)",
                    &image_script(&t.name),
                    vec![],
                ),
                "image",
            ),
            uses_step(
                "Terraform",
                SETUP_TERRAFORM,
                vec![("terraform_wrapper", false.into())],
            ),
            run_step(
                "apply (Terraform, state in TF_STATE_BUCKET)",
                &terraform_script(&t.name, budget),
                vec![("IMAGE", "${{ steps.image.outputs.image }}".into())],
            ),
        ],
        setup,
    })
}
