//! The budget: `google_billing_budget` on the billing account given as `var.billing_account`
//! (created only when it is set — `count` — since creating a budget needs
//! `billing.budgets.create` on the billing account, which deployers often lack), monthly, in US
//! dollars, filtered to the project and to the resources labelled `cloudport-function =
//! <service>`; alerts at 80 % of the forecast and 100 % of the actual spend, to the billing
//! account's admins and the budget's e-mails (as Monitoring notification channels). Source:
//! <https://cloud.google.com/billing/docs/how-to/budgets> and the provider's
//! `google_billing_budget` (`budget_filter.labels`, `threshold_rules`, `all_updates_rule`).
//!
//! The budget's currency must be the billing account's: for an account billed in another
//! currency, change `currency_code` (Cloud Billing refuses a mismatch).

use serde_json::json;

use super::{LABEL_KEY, Model, Tf};
use crate::Result;

/// Adds the budget when the app sets one.
pub fn add(m: &Model<'_>, t: &mut Tf) -> Result<()> {
    let Some(budget) = &m.app.d.budget else {
        return Ok(());
    };
    t.resource(
        "google_billing_budget",
        "budget",
        json!({
            "count": "${var.billing_account == \"\" ? 0 : 1}",
            "billing_account": "${var.billing_account}",
            "display_name": format!("cloudport {}", m.service),
            "budget_filter": {
                "projects": ["projects/${data.google_project.project.number}"],
                "labels": { LABEL_KEY: m.service },
                "calendar_period": "MONTH",
                "credit_types_treatment": "INCLUDE_ALL_CREDITS"
            },
            "amount": { "specified_amount": {
                "currency_code": "USD",
                "units": budget.monthly_usd.to_string()
            }},
            "threshold_rules": [
                { "threshold_percent": 0.8, "spend_basis": "FORECASTED_SPEND" },
                { "threshold_percent": 1.0, "spend_basis": "CURRENT_SPEND" }
            ],
            "all_updates_rule": {
                "monitoring_notification_channels": "${google_monitoring_notification_channel.email[*].id}",
                "disable_default_iam_recipients": false
            }
        }),
    );
    Ok(())
}
