//! Pub/Sub messages of a topic bound to an `on_topic` trigger → the CloudEvent their publisher
//! sent, rebuilt from binary mode ([`cloudport_core::topic::wire::from_binary`]: `ce-`
//! attributes, the data as the payload), as the GCP topic driver publishes it (source: the
//! CloudEvents Pub/Sub protocol binding, binary content mode,
//! <https://github.com/googleapis/google-cloudevents/blob/main/docs/spec/pubsub.md>).
//!
//! A message on a bound topic that is not a binary-mode CloudEvent (published by another tool,
//! without `ce-` attributes) is not rejected — Pub/Sub would redeliver it until it expires — nor
//! dropped: the handler gets the Pub/Sub message itself, as the
//! `google.cloud.pubsub.topic.v1.messagePublished` CloudEvent Eventarc delivers (from Eventarc:
//! that event, unchanged; from a push subscription: data the push envelope, source the
//! subscription), so it can tell the two apart by `type`.

use axum::response::Response;
use cloudevents::{AttributesReader, EventBuilder, EventBuilderV10};
use cloudport_core::export::cloudevents;
use cloudport_core::trace::TraceContext;
use cloudport_core::{Error, ErrorKind, Trigger};

use super::decode::{self, PUBSUB_MESSAGE_PUBLISHED, PubsubMessage};
use super::host::CloudRunHost;
use super::responses::rejected;

/// The `messagePublished` event the handler gets when a message carries no CloudEvent.
pub(super) enum AsPublished<'a> {
    /// From Eventarc: its event.
    Eventarc(Box<cloudevents::Event>),
    /// From a push subscription: the envelope (JSON) and the source naming the subscription.
    Push {
        envelope: serde_json::Value,
        source: &'a str,
    },
}

impl AsPublished<'_> {
    fn into_event(self, id: &str) -> Result<cloudevents::Event, Error> {
        match self {
            Self::Eventarc(event) => Ok(*event),
            Self::Push { envelope, source } => EventBuilderV10::new()
                .id(id)
                .source(source)
                .ty(PUBSUB_MESSAGE_PUBLISHED)
                .data("application/json", envelope)
                .build()
                .map_err(|e| {
                    Error::new(
                        ErrorKind::Malformed,
                        format!("Pub/Sub message {id} does not make a CloudEvent: {e}"),
                    )
                }),
        }
    }
}

/// The event a topic handler gets for `message`: the CloudEvent it carries in binary mode, else
/// the `messagePublished` event (module docs). A message without an id or whose data is not
/// base64 is `Malformed`, one over [`decode::MAX_MESSAGE_BYTES`] `TooLarge`.
pub(super) fn topic_event(
    topic: &str,
    message: &PubsubMessage,
    as_published: AsPublished<'_>,
) -> Result<cloudevents::Event, Error> {
    let id = message
        .id()
        .ok_or_else(|| Error::new(ErrorKind::Malformed, "the Pub/Sub message has no messageId"))?;
    let payload = decode::message_data(message, id)?;
    // The attributes as published (`ce-` names are matched as they are sent, not normalized).
    let attributes = message.attributes.clone().unwrap_or_default();
    match cloudport_core::topic::wire::from_binary(&attributes, &payload) {
        Ok(event) => Ok(event),
        Err(e) => {
            tracing::info!(topic, message_id = id, reason = %e,
                "a message of the topic carries no binary-mode CloudEvent; the handler gets it as a messagePublished event");
            as_published.into_event(id)
        }
    }
}

impl CloudRunHost {
    /// One Pub/Sub message to the handler of logical topic `topic`.
    pub(super) async fn deliver_topic_message(
        &self,
        topic: &str,
        message: &PubsubMessage,
        as_published: AsPublished<'_>,
        trace: Option<TraceContext>,
    ) -> Response {
        match topic_event(topic, message, as_published) {
            Ok(event) => {
                tracing::debug!(topic, event_id = event.id(), "topic event");
                self.dispatch(Trigger::Topic(topic.to_owned()), event, trace)
                    .await
            }
            Err(e) => rejected(&e),
        }
    }
}
