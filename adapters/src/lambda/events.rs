//! The Lambda host's event invocations other than SQS batches: S3 notifications, SNS
//! notifications and EventBridge events (schedules aside). Each event goes to its trigger's
//! handler; every event of an invocation is attempted, and the invocation fails if any failed —
//! malformed, taken by no handler, or failed by its handler — so Lambda retries it and then hands
//! it to the function's on-failure destination or dead-letter queue, if one is configured
//! (<https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html>). Nothing
//! is acknowledged unhandled.

use cloudevents::AttributesReader;
use cloudport_core::{Error, ErrorKind, Result, Trigger};

use super::LambdaHost;
use super::decode;

impl LambdaHost {
    /// S3 notifications: each record to its trigger ([`decode::s3_event`]) — writes and removals
    /// to the bucket's blob trigger, other kinds to the app's event handlers.
    pub(super) async fn s3(&self, notification: decode::S3Notification) -> Result<()> {
        let events = notification
            .records()
            .map(|record| decode::s3_event(record, &self.names));
        self.dispatch_each("S3", events).await
    }

    /// SNS notifications: each record to its topic's trigger when an app's topic trigger is bound
    /// to it, else to the app's event handlers ([`decode::sns_event`]).
    pub(super) async fn sns(&self, notification: decode::SnsNotification) -> Result<()> {
        let events = notification
            .records()
            .map(|record| decode::sns_event(record, &self.names));
        self.dispatch_each("SNS", events).await
    }

    /// An EventBridge event (not a schedule): to a bucket's blob trigger or the app's event
    /// handlers ([`decode::eventbridge_event`]).
    pub(super) async fn eventbridge(
        &self,
        event: aws_lambda_events::eventbridge::EventBridgeEvent<serde_json::Value>,
    ) -> Result<()> {
        let event = decode::eventbridge_event(event, &self.names);
        self.dispatch_each("EventBridge", std::iter::once(event))
            .await
    }

    /// Dispatches each event to its trigger, in order; every one is attempted, and the first
    /// failure is the invocation's.
    async fn dispatch_each(
        &self,
        what: &str,
        events: impl Iterator<Item = Result<(Trigger, cloudevents::Event)>>,
    ) -> Result<()> {
        let mut first_error = None;
        for event in events {
            let result = match event {
                Ok((trigger, event)) if self.app.handles(&trigger) => {
                    self.app.dispatch(&self.env, &trigger, event).await
                }
                Ok((trigger, event)) => Err(unhandled(what, &trigger, &event)),
                Err(e) => Err(e),
            };
            if let Err(e) = result {
                tracing::error!(error = %e, "{what} event not handled; the invocation fails");
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// The error of an event no handler takes.
fn unhandled(what: &str, trigger: &Trigger, event: &cloudevents::Event) -> Error {
    let register = match trigger {
        Trigger::Event(ty) => format!("register App::on_event({ty:?}, …) or on_any_event"),
        Trigger::Topic(name) => format!("register App::on_topic({name:?}, …)"),
        other => format!("register a handler for {other}, or on_any_event"),
    };
    Error::new(
        ErrorKind::NotFound,
        format!(
            "a {what} event (type {:?}, source {:?}, subject {:?}) that no handler takes: {register}",
            event.ty(),
            event.source().as_str(),
            event.subject().unwrap_or_default()
        ),
    )
}
