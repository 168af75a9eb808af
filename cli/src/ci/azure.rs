//! The Azure deploy steps: sign in by OIDC (`azure/login` with the app registration's client id,
//! no secret), deploy the ARM template to a resource group, then zip-deploy the function app.

use cloudport_core::app::Description;

use super::CiTarget;
use super::actions::AZURE_LOGIN;
use super::github::{Deploy, run_step, uses_step, var, with_id};
use crate::Result;

/// The ARM template `package --cloud azure` writes into `dist/`.
pub const TEMPLATE: &str = "template.json";
/// The function app's zip package `package --cloud azure` writes into `dist/`.
pub const APP_ZIP: &str = "app.zip";
/// The template output that names the function app.
pub const FUNCTION_APP_OUTPUT: &str = "functionAppName";

/// The variable holding the budget's start month, read when the app has a budget.
pub const BUDGET_VARIABLE: &str = "AZURE_BUDGET_START_DATE";

/// The repository variables the deploy job reads.
pub const VARIABLES: [(&str, &str); 4] = [
    (
        "AZURE_CLIENT_ID",
        "the application (client) id of the app registration or user-assigned managed identity",
    ),
    ("AZURE_TENANT_ID", "the directory (tenant) id"),
    ("AZURE_SUBSCRIPTION_ID", "the subscription to deploy to"),
    ("AZURE_RESOURCE_GROUP", "the resource group to deploy into"),
];

/// The ARM deployment (parameter `appName`, as `DEPLOY.md` has it), named after the app and the
/// run (within the 64 characters a deployment name may have) so the group's deployment history
/// reads as the workflow's; its output names the function
/// app for the code step. With a budget, `budgetStartDate` comes from the variable
/// `AZURE_BUDGET_START_DATE`: the template's default is the current month, and a budget's start
/// date is fixed once it exists.
///
/// ```
/// let s = cloudport_cli::ci::azure::resources_script("quickstart", false);
/// assert!(s.contains("az deployment group create --resource-group \"$AZURE_RESOURCE_GROUP\""));
/// assert!(s.contains("--template-file dist/template.json"));
/// assert!(s.contains("--parameters appName=quickstart"));
/// ```
pub fn resources_script(name: &str, budget: bool) -> String {
    let budget = if budget {
        " budgetStartDate=\"$AZURE_BUDGET_START_DATE\""
    } else {
        ""
    };
    format!(
        "app=$(az deployment group create --resource-group \"$AZURE_RESOURCE_GROUP\" \\\n  \
         --name \"{name:.40}-$GITHUB_RUN_ID\" --template-file dist/{TEMPLATE} \\\n  \
         --parameters appName={name}{budget} \\\n  \
         --query properties.outputs.{FUNCTION_APP_OUTPUT}.value --output tsv)\n\
         test -n \"$app\"\n\
         echo \"function_app=$app\" >> \"$GITHUB_OUTPUT\"\n"
    )
}

/// The code deployment (zip deploy of the function app package).
///
/// ```
/// let s = cloudport_cli::ci::azure::code_script();
/// assert!(s.contains("--src dist/app.zip"));
/// ```
pub fn code_script() -> String {
    format!(
        "az functionapp deployment source config-zip --resource-group \"$AZURE_RESOURCE_GROUP\" \\\n  \
         --name \"$FUNCTION_APP\" --src dist/{APP_ZIP}\n"
    )
}

/// The deploy job's Azure part.
pub fn deploy(description: &Description, t: &CiTarget) -> Result<Deploy> {
    let budget = description.budget.is_some();
    let mut setup = vec![
        "Setup, once (https://learn.microsoft.com/en-us/azure/developer/github/connect-from-azure-openid-connect):".to_owned(),
        "  1. a Microsoft Entra app registration (or user-assigned managed identity) with a federated".into(),
        "     credential: issuer https://token.actions.githubusercontent.com, audience api://AzureADTokenExchange,".into(),
        format!("     subject repo:<owner>/<repo>:environment:{};", t.environment),
        "  2. a role on the resource group that may deploy the template (Contributor; the template's".into(),
        "     role assignments also need User Access Administrator, or Role Based Access Control".into(),
        "     Administrator constrained to the template's roles: see DEPLOY.md);".into(),
        "  3. repository or environment variables (Settings > Secrets and variables > Actions > Variables):".into(),
    ];
    setup.extend(
        VARIABLES
            .iter()
            .map(|(n, what)| format!("     {n}: {what}")),
    );
    let mut env = vec![(
        "AZURE_RESOURCE_GROUP".to_owned(),
        var("AZURE_RESOURCE_GROUP"),
    )];
    if budget {
        setup.push(format!(
            "     {BUDGET_VARIABLE}: the budget's first month, yyyy-MM-01 (a budget's start date is fixed once it exists)"
        ));
        env.push((BUDGET_VARIABLE.into(), var(BUDGET_VARIABLE)));
    }
    Ok(Deploy {
        env,
        steps: vec![
            uses_step(
                "Azure sign-in (OIDC, no secret)",
                AZURE_LOGIN,
                vec![
                    ("client-id", var("AZURE_CLIENT_ID")),
                    ("tenant-id", var("AZURE_TENANT_ID")),
                    ("subscription-id", var("AZURE_SUBSCRIPTION_ID")),
                ],
            ),
            with_id(
                run_step(
                    "deploy the resources (ARM)",
                    &resources_script(&t.name, budget),
                    vec![],
                ),
                "arm",
            ),
            run_step(
                "deploy the code (zip deploy)",
                &code_script(),
                vec![(
                    "FUNCTION_APP",
                    "${{ steps.arm.outputs.function_app }}".into(),
                )],
            ),
        ],
        setup,
    })
}
