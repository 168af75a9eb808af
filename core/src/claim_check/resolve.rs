//! The hosts' side: a queue event that carries a reference becomes the message it stands for,
//! in one place for every host (`App::dispatch`).

use cloudevents::AttributesReader;

use super::reference::Reference;
use crate::env::binding_var;
use crate::{Bucket, Env, Error, ErrorKind, ResourceKind, Result};

/// What [`resolve`] made of a queue event.
#[derive(Debug)]
#[must_use = "a claimed message's object is deleted only by Claim::release after the handler succeeds"]
#[non_exhaustive]
pub enum Resolved {
    /// Hand this event to the handler; when it succeeds, [`Claim::release`] the claim, if any.
    Deliver {
        /// The event: the original message when it was claimed, else the event as it came.
        event: cloudevents::Event,
        /// The stored object to delete after the handler succeeded.
        claim: Option<Claim>,
    },
}

/// A claimed message's stored object, to delete once the message is handled.
#[derive(Debug)]
pub struct Claim {
    bucket: Bucket,
    key: String,
}

impl Claim {
    /// The object's key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Deletes the object: call after the handler succeeded. A failure is logged and left to the
    /// bucket's lifecycle rule. A redelivery after a lost ack then fails (its object is gone) and
    /// ends in the dead-letter queue: a visible duplicate, never a silent drop.
    pub async fn release(self) {
        super::delete_quietly(&self.bucket, &self.key).await;
    }
}

/// For hosts, whose platform delivers queue messages and acks them after the handler returns: a
/// queue event for the logical queue `queue` that carries a claim-check reference is fetched from
/// the bucket of `queue`'s binding (`claim_check=`) and returned as the original message, with the
/// [`Claim`] to release after the handler succeeds; any other event is returned as it is.
///
/// Errors (the host reports a failure, so the platform delivers the message again and its
/// dead-letter policy applies): a reference on a queue whose binding has no `claim_check`
/// (`Unsupported`, naming the variable), one naming another bucket or a key outside
/// [`KEY_PREFIX`](super::KEY_PREFIX) (`PermissionDenied`), a malformed one or an object that does
/// not match it (`Malformed`), an object that is gone (`NotFound`: never taken as handled), a
/// failed fetch (as the bucket reports it).
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use cloudport_core::{Env, event::QueueMessage, claim_check::{resolve, Resolved}};
/// let env = Env::builder().provider(cloudport_memory::Memory::new()).fallback_scheme("mem").build();
/// let plain = QueueMessage::new("orders", "m-1", "hello").to_cloudevent("test");
/// let Resolved::Deliver { event, claim } = resolve(&env, "orders", plain.clone()).await? else {
///     unreachable!()
/// };
/// assert_eq!((event, claim.is_none()), (plain, true));
/// # Ok::<(), cloudport_core::Error>(()) }).unwrap();
/// ```
pub async fn resolve(env: &Env, queue: &str, event: cloudevents::Event) -> Result<Resolved> {
    if event.datacontenttype() != Some(super::CONTENT_TYPE) {
        return Ok(Resolved::Deliver { event, claim: None });
    }
    let context = |e: Error| {
        e.with_operation("queue.claim_check")
            .with_resource(queue.to_owned())
    };
    let body = crate::event::data_bytes(&event).map_err(context)?;
    let Some(reference) = Reference::read(Some(super::CONTENT_TYPE), &body).map_err(context)?
    else {
        return Ok(Resolved::Deliver { event, claim: None });
    };
    let opened = env.queue(queue).map_err(context)?;
    let Some(driver) = super::driver_of(&opened) else {
        return Err(context(Error::new(
            ErrorKind::Unsupported,
            format!(
                "queue {queue:?} delivered a claim-check reference, but its binding has no \
                 {}=<bucket>: add it to {} (the bucket the senders use, {:?})",
                super::URL_PARAM,
                binding_var(ResourceKind::Queue, queue),
                reference.bucket
            ),
        )));
    };
    reference
        .check_bucket(driver.bucket_name())
        .map_err(context)?;
    let bucket = driver.bucket().clone();
    let message = super::fetch(&bucket, &reference).await.map_err(context)?;
    let mut event = event;
    let content_type = reference
        .content_type
        .clone()
        .unwrap_or_else(|| "application/octet-stream".to_owned());
    let data = match String::from_utf8(Vec::from(message)) {
        Ok(s) => cloudevents::Data::String(s),
        Err(e) => cloudevents::Data::Binary(e.into_bytes()),
    };
    event.set_data(content_type, data);
    Ok(Resolved::Deliver {
        event,
        claim: Some(Claim {
            bucket,
            key: reference.key,
        }),
    })
}
