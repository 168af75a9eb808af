//! Pub/Sub topics and subscriptions on the emulator, through the provider's own client
//! (`gcloud-pubsub`): an existing one is kept, a push subscription's endpoint moved.

use cloudport_core::ErrorKind;
use cloudport_gcp::sdk::gax::grpc::{Code, Status};
use cloudport_gcp::sdk::googleapis::pubsub::v1::PushConfig;
use cloudport_gcp::sdk::pubsub::client::Client;
use cloudport_gcp::sdk::pubsub::subscription::{SubscriptionConfig, SubscriptionConfigToUpdate};

use super::{Error, Made, Outcome};

/// A gRPC status as a provider error (the emulator's messages carry no credential).
fn status(what: &str, s: &Status) -> cloudport_core::Error {
    let kind = match s.code() {
        Code::Unavailable | Code::DeadlineExceeded => ErrorKind::Unavailable,
        Code::InvalidArgument => ErrorKind::InvalidArgument,
        _ => ErrorKind::Other,
    };
    cloudport_core::Error::new(kind, format!("{what}: {:?}: {}", s.code(), s.message()))
        .with_provider("gcp")
}

/// Creates topic `name` (`of`: what it is for, in words).
pub(super) async fn topic(client: &Client, name: &str, of: &str) -> Result<Made, Error> {
    let what = format!("Pub/Sub topic {name} ({of})");
    let outcome = match client.create_topic(name, None, None).await {
        Ok(_) => Outcome::Created,
        Err(s) if s.code() == Code::AlreadyExists => Outcome::Existed,
        Err(s) => return Err(Error::emulator(&what)(status("CreateTopic", &s))),
    };
    Ok(Made { what, outcome })
}

/// Creates subscription `name` on `topic`; an existing one is kept. `push` enforces the delivery
/// of an existing one — `Some(Some(endpoint))` push there (a new `--push-endpoint`, the app on
/// another port), `Some(None)` pull — and `None` leaves it as it is.
pub(super) async fn subscribe(
    client: &Client,
    name: &str,
    topic: &str,
    config: SubscriptionConfig,
    push: Option<Option<String>>,
    what: String,
) -> Result<Made, Error> {
    let outcome = match client.create_subscription(name, topic, config, None).await {
        Ok(_) => Outcome::Created,
        Err(s) if s.code() == Code::AlreadyExists => {
            let sub = client.subscription(name);
            let (_, current) = sub
                .config(None)
                .await
                .map_err(|s| Error::emulator(&what)(status("GetSubscription", &s)))?;
            let endpoint = |c: &Option<PushConfig>| {
                c.as_ref()
                    .map(|p| p.push_endpoint.clone())
                    .filter(|e| !e.is_empty())
            };
            match push {
                Some(wanted) if endpoint(&current.push_config) != wanted => {
                    let update = SubscriptionConfigToUpdate {
                        push_config: Some(PushConfig {
                            push_endpoint: wanted.unwrap_or_default(),
                            ..Default::default()
                        }),
                        ..Default::default()
                    };
                    sub.update(update, None)
                        .await
                        .map_err(|s| Error::emulator(&what)(status("UpdateSubscription", &s)))?;
                    Outcome::Updated
                }
                _ => Outcome::Existed,
            }
        }
        Err(s) => return Err(Error::emulator(&what)(status("CreateSubscription", &s))),
    };
    Ok(Made { what, outcome })
}
