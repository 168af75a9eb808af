//! What the hosts that map native resource names to triggers share: a trigger's binding URL.

use cloudport_core::redact::Redacted;
use cloudport_core::{Env, ResourceKind, ResourceUrl, Trigger};

/// The kind and parsed binding URL of a queue, blob or topic trigger, if it is bound. A binding that is
/// not a valid URL is logged — the host cannot match its events — and treated as unbound (opening
/// the resource reports the same error to the handler that uses it).
pub(crate) fn trigger_binding(env: &Env, trigger: &Trigger) -> Option<(ResourceKind, ResourceUrl)> {
    let kind = match trigger {
        Trigger::Queue(_) => ResourceKind::Queue,
        Trigger::Blob(_) => ResourceKind::Bucket,
        Trigger::Topic(_) => ResourceKind::Topic,
        _ => return None,
    };
    let url = env.binding_url(kind, trigger.name())?;
    match ResourceUrl::parse(&url) {
        Ok(parsed) => Some((kind, parsed)),
        Err(e) => {
            tracing::warn!(trigger = %trigger, url = %Redacted(&url), error = %e,
                "the trigger's binding is not a valid resource URL; its events cannot be matched");
            None
        }
    }
}
