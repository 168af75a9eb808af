//! The AWS deploy steps: assume a role by OIDC, upload `function.zip` under the key packaging
//! computes, and deploy `template.json` with CloudFormation — the commands of `DEPLOY.md`
//! ([`crate::aws::deploy::commands`]) run from the repository root against `dist/`.

use cloudport_core::app::Description;

use super::CiTarget;
use super::actions::AWS_CREDENTIALS;
use super::github::{Deploy, run_step, uses_step, var};
use crate::args::valid_stack_name;
use crate::{Error, Result};

/// The repository variables the deploy job reads.
pub const VARIABLES: [(&str, &str); 3] = [
    (
        "AWS_DEPLOY_ROLE_ARN",
        "the IAM role the deploy job assumes (arn:aws:iam::<account>:role/<name>)",
    ),
    ("AWS_REGION", "the region to deploy to"),
    (
        "CODE_BUCKET",
        "an S3 bucket of yours in that region for function.zip and the template",
    ),
];

/// The upload and `aws cloudformation deploy` script. The code key is the one `package` writes
/// into `DEPLOY.md`: `<stack>/function-<first 16 hex digits of the archive's SHA-256>.zip`, so
/// a new build changes the key and with it the function, and an unchanged build changes nothing
/// (`--no-fail-on-empty-changeset`). `--s3-bucket` uploads the template too: templates over
/// 51,200 bytes cannot be passed inline
/// (<https://docs.aws.amazon.com/cli/latest/reference/cloudformation/deploy/>).
///
/// ```
/// let s = cloudport_cli::ci::aws::script("quickstart");
/// assert!(s.contains("--capabilities CAPABILITY_IAM"));
/// assert!(s.contains("CodeBucket=\"$CODE_BUCKET\" CodeKey=\"$code_key\""));
/// ```
pub fn script(stack: &str) -> String {
    format!(
        "code_key=\"{stack}/function-$(sha256sum dist/function.zip | cut -c1-16).zip\"\n\
         aws s3 cp dist/function.zip \"s3://$CODE_BUCKET/$code_key\"\n\
         aws cloudformation deploy --template-file dist/template.json --stack-name {stack} \\\n  \
         --s3-bucket \"$CODE_BUCKET\" --s3-prefix {stack}/templates \\\n  \
         --capabilities CAPABILITY_IAM --no-fail-on-empty-changeset \\\n  \
         --parameter-overrides CodeBucket=\"$CODE_BUCKET\" CodeKey=\"$code_key\"\n\
         aws cloudformation describe-stacks --stack-name {stack} --query 'Stacks[0].Outputs' --output table\n"
    )
}

/// The deploy job's AWS part.
pub fn deploy(description: &Description, t: &CiTarget) -> Result<Deploy> {
    if !valid_stack_name(&t.name) {
        return Err(Error::Usage(format!(
            "{:?} is not a CloudFormation stack name (1-128 letters, digits and '-', starting with a letter)",
            t.name
        )));
    }
    let mut setup = vec![
        "Setup, once (https://docs.github.com/en/actions/security-for-github-actions/security-hardening-your-deployments/configuring-openid-connect-in-amazon-web-services):".to_owned(),
        "  1. an IAM OIDC identity provider for https://token.actions.githubusercontent.com, audience sts.amazonaws.com;".into(),
        "  2. a role it may assume (sts:AssumeRoleWithWebIdentity) with the trust conditions".into(),
        "     token.actions.githubusercontent.com:aud = sts.amazonaws.com and".into(),
        format!(
            "     token.actions.githubusercontent.com:sub = repo:<owner>/<repo>:environment:{},",
            t.environment
        ),
        "     allowed to deploy the stack's resources (CloudFormation, IAM roles, Lambda, SQS, S3,".into(),
        "     DynamoDB, EventBridge, CloudWatch, Logs, Budgets) and to put objects in CODE_BUCKET;".into(),
        "  3. repository or environment variables (Settings > Secrets and variables > Actions > Variables):".into(),
    ];
    setup.extend(
        VARIABLES
            .iter()
            .map(|(n, what)| format!("     {n}: {what}")),
    );
    if description.budget.is_some() {
        setup.push(String::new());
        setup.push(
            "The budget counts only once the tag cloudport:function is an active cost-allocation tag (see DEPLOY.md)."
                .into(),
        );
    }
    Ok(Deploy {
        env: vec![
            ("AWS_REGION".into(), var("AWS_REGION")),
            ("CODE_BUCKET".into(), var("CODE_BUCKET")),
        ],
        steps: vec![
            uses_step(
                "AWS credentials (OIDC, no keys)",
                AWS_CREDENTIALS,
                vec![
                    ("role-to-assume", var("AWS_DEPLOY_ROLE_ARN")),
                    ("aws-region", var("AWS_REGION")),
                ],
            ),
            run_step(
                "upload function.zip and deploy the stack",
                &script(&t.name),
                vec![],
            ),
        ],
        setup,
    })
}
