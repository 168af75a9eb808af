//! Sending a batch with ordering keys: chunks go out one after another, no message is re-sent
//! after later ones, and once a message of a key failed — refused by the checks or by the
//! provider — the key's later messages in the batch are not sent (reported failed), so none
//! overtakes it. Pub/Sub's client libraries pause a key after a failed publish the same way
//! (<https://cloud.google.com/pubsub/docs/publisher#using-ordering-keys>). Messages of one chunk
//! go to the provider in one call, so within a chunk the provider decides.

use std::collections::HashMap;
use std::ops::Range;

use tracing::Instrument;

use super::{Message, Queue};
use crate::{Error, ErrorKind, Result};

/// The error of a message not sent because an earlier one of its key failed.
fn held_back(key: &str, failed: usize) -> Error {
    Error::new(
        ErrorKind::InvalidArgument,
        format!(
            "not sent: message {failed} of this batch, of the same ordering key {key:?}, failed \
             first; sending this one would put it ahead of that one"
        ),
    )
}

/// Records that message `i` of `key` failed (the first failure of a key counts).
fn note_failure<'a>(failed_at: &mut HashMap<&'a str, usize>, key: Option<&'a str>, i: usize) {
    if let Some(key) = key {
        let at = failed_at.entry(key).or_insert(i);
        *at = (*at).min(i);
    }
}

impl Queue {
    /// Sends `chunks` (ranges of `pending`, indexes into `messages`) in order, filling `results`.
    pub(super) async fn send_keyed_chunks(
        &self,
        messages: &[Message],
        pending: &[usize],
        chunks: Vec<Range<usize>>,
        results: &mut [Option<Result<String>>],
        span: &tracing::Span,
    ) {
        const OP: &str = "queue.send_batch";
        // Each key's first failed message, by position in the batch.
        let mut failed_at: HashMap<&str, usize> = HashMap::new();
        for (i, r) in results.iter().enumerate() {
            if matches!(r, Some(Err(_))) {
                note_failure(&mut failed_at, messages[i].ordering_key(), i);
            }
        }
        for range in chunks {
            let mut send = Vec::with_capacity(range.len());
            for &i in &pending[range] {
                let key = messages[i].ordering_key();
                match key.and_then(|k| failed_at.get(k).map(|&at| (k, at))) {
                    Some((k, at)) if at < i => {
                        results[i] = Some(Err(self.context(OP, held_back(k, at))));
                    }
                    _ => send.push(i),
                }
            }
            if send.is_empty() {
                continue;
            }
            let chunk: Vec<Message> = send.iter().map(|&i| messages[i].clone()).collect();
            let sent = self
                .retry
                .run_batch_with(chunk, false, |batch: Vec<Message>| async move {
                    self.driver.send_batch(&batch).await
                })
                .instrument(span.clone())
                .await;
            for (&i, r) in send.iter().zip(sent) {
                if r.is_err() {
                    note_failure(&mut failed_at, messages[i].ordering_key(), i);
                }
                results[i] = Some(r.map_err(|e| self.context(OP, e)));
            }
        }
    }
}
