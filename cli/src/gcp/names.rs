//! Names on Google Cloud: the service name, physical names of topics, subscriptions, buckets,
//! service accounts, jobs and triggers (each within its service's rules), Terraform local names,
//! and `${…}` references.

use crate::{Error, Result};

/// The longest Cloud Run service name (source: "Deploying container images",
/// <https://cloud.google.com/run/docs/deploying#service>: "up to 49 characters").
pub const MAX_SERVICE_NAME: usize = 49;

/// Whether `name` is 1–`max` lower-case letters, digits and `-`, starting with a letter and not
/// ending with `-`: the label rule of Cloud Run services, which resource prefixes follow too.
///
/// ```
/// use cloudport_cli::gcp::names::is_lower_label;
/// assert!(is_lower_label("ci-42", 20));
/// assert!(!is_lower_label("ci-", 20));
/// assert!(!is_lower_label("4x", 20));
/// ```
pub fn is_lower_label(name: &str, max: usize) -> bool {
    (1..=max).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Checks a Cloud Run service name: 1–49 lower-case letters, digits and `-`, starting with a
/// letter, not ending with `-`.
///
/// ```
/// use cloudport_cli::gcp::names::check_service_name;
/// assert!(check_service_name("quickstart").is_ok());
/// assert!(check_service_name("Quickstart").is_err());
/// assert!(check_service_name("9lives").is_err());
/// ```
pub fn check_service_name(name: &str) -> Result<()> {
    if is_lower_label(name, MAX_SERVICE_NAME) {
        Ok(())
    } else {
        Err(Error::Usage(format!(
            "{name:?} is not a Cloud Run service name: 1-{MAX_SERVICE_NAME} lower-case letters, digits and '-', starting with a letter, not ending with '-'"
        )))
    }
}

/// The service name for an app name: lower-case letters, digits and `-` (`_` and other
/// characters become `-`), starting with a letter (`app-` is put in front otherwise), at most
/// [`MAX_SERVICE_NAME`] characters.
///
/// ```
/// use cloudport_cli::gcp::names::service_name_for;
/// assert_eq!(service_name_for("Order_Worker"), "order-worker");
/// assert_eq!(service_name_for("2fa"), "app-2fa");
/// ```
pub fn service_name_for(app: &str) -> String {
    let mut name = dashed(app);
    if name.is_empty() {
        name = "app".into();
    } else if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        name = format!("app-{name}");
    }
    cut(&name, MAX_SERVICE_NAME)
}

/// Lower-case letters and digits, every other run of characters one `-`, no `-` at either end.
pub fn dashed(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_owned()
}

/// FNV-1a, 32 bits: a short stable suffix for names that must be cut.
pub fn fnv1a(text: &str) -> u32 {
    text.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// `name` if it has at most `max` characters, else its start and an 8-hex-digit hash of the
/// whole, at most `max` characters in all (the start never ends with `-`).
///
/// ```
/// use cloudport_cli::gcp::names::cut;
/// assert_eq!(cut("short", 10), "short");
/// let long = cut("a-very-long-name-indeed", 16);
/// assert!(long.len() <= 16);
/// assert!(long.starts_with("a-very-"));
/// ```
pub fn cut(name: &str, max: usize) -> String {
    if name.len() <= max {
        return name.to_owned();
    }
    let hash = format!("{:08x}", fnv1a(name));
    let keep = max.saturating_sub(hash.len() + 1);
    let head: String = name.chars().take(keep).collect();
    format!("{}-{hash}", head.trim_end_matches('-'))
}

/// A service account id (`<prefix>-<role>`): 6–30 lower-case letters, digits and `-`, starting
/// with a letter (source: <https://cloud.google.com/iam/docs/service-accounts-create>: "6 to 30
/// characters … lowercase alphanumeric characters and dashes").
///
/// ```
/// use cloudport_cli::gcp::names::account_id;
/// assert_eq!(account_id("quickstart", "run"), "quickstart-run");
/// assert_eq!(account_id("a", "run"), "cp-a-run");
/// assert_eq!(account_id(&"x".repeat(40), "push").len(), 30);
/// ```
pub fn account_id(service: &str, role: &str) -> String {
    let id = format!("{service}-{role}");
    let id = if id.len() < 6 { format!("cp-{id}") } else { id };
    if id.len() <= 30 {
        return id;
    }
    // Keep the role visible: cut the service part.
    let head = cut(service, 30 - role.len() - 1);
    format!("{head}-{role}")
}

/// The Terraform local name of a logical resource of `kind` (`queue_orders`,
/// `bucket_user-uploads`): logical names are letters, digits, `-` and `_`, which Terraform
/// identifiers allow after the kind's prefix.
pub fn local(kind: &str, name: &str) -> String {
    format!("{kind}_{name}")
}

/// `${<type>.<name>.<attribute>}`.
pub fn reference(ty: &str, name: &str, attribute: &str) -> String {
    format!("${{{ty}.{name}.{attribute}}}")
}

/// A service account's member string: `serviceAccount:${google_service_account.<name>.email}`.
pub fn account_member(name: &str) -> String {
    format!(
        "serviceAccount:{}",
        reference("google_service_account", name, "email")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_keep_to_their_rules() {
        assert_eq!(dashed("--A__b--"), "a-b");
        assert_eq!(service_name_for(""), "app");
        assert!(check_service_name(&service_name_for("x".repeat(80).as_str())).is_ok());
        for role in ["run", "push", "cron", "events"] {
            for service in ["a", "quickstart", &"y".repeat(49)] {
                let id = account_id(service, role);
                assert!((6..=30).contains(&id.len()), "{id}");
                assert!(id.ends_with(role), "{id}");
                assert!(id.starts_with(|c: char| c.is_ascii_lowercase()), "{id}");
            }
        }
    }
}
