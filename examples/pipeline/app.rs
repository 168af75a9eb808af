//! The pipeline app: what a new user writes in the first hour, in function code that names no
//! provider.
//!
//! - `PUT /uploads/{name}` stores the body in bucket `uploads` (`?` on cloudport calls: a bad name
//!   answers 400, a store that is down 503).
//! - The `uploads` blob trigger sends one `work` message per upload — once, even when the event is
//!   delivered twice (`Idempotency`, keyed by the event id, stable per object version).
//! - The `work` queue consumer records the upload in KV store `processed`; a file whose name
//!   starts with `bad` fails every time and ends in the dead-letter queue.
//! - The `report` schedule counts what was processed.

use cloudport::axum::Router;
use cloudport::axum::extract::Path;
use cloudport::axum::http::StatusCode;
use cloudport::axum::routing::put;
use cloudport::bytes::Bytes;
use cloudport::prelude::*;

/// The message the blob trigger sends for each upload.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
pub(crate) struct Work {
    pub(crate) key: String,
    pub(crate) size: u64,
}

pub(crate) fn app() -> App {
    App::new()
        .http(Router::new().route("/uploads/{name}", put(upload)))
        .on_blob("uploads", on_upload)
        .on_queue("work", on_work)
        .on_schedule(
            "report",
            Schedule::every(std::time::Duration::from_secs(60)),
            report,
        )
}

async fn upload(env: Env, Path(name): Path<String>, body: Bytes) -> Result<StatusCode> {
    let size = body.len();
    env.bucket("uploads")?.put(&name, body).await?;
    tracing::info!(%name, size, "stored an upload");
    Ok(StatusCode::CREATED)
}

async fn on_upload(event: Event<BlobEvent>, env: Env) -> Result<()> {
    let blob = event.data();
    if blob.kind != BlobEventKind::Created {
        return Ok(());
    }
    let work = Work {
        key: blob.key.clone(),
        size: blob.size.unwrap_or_default(),
    };
    let once = Idempotency::new(env.kv("idempotency")?);
    let queue = env.queue("work")?;
    let id: String = once
        .run(event.id(), &work, || async { queue.send_json(&work).await })
        .await?;
    tracing::info!(key = %work.key, message_id = %id, "sent work for an upload");
    Ok(())
}

async fn on_work(message: Event<QueueMessage>, env: Env) -> Result<()> {
    let work: Work = message.data().json()?;
    if work.key.starts_with("bad") {
        return Err(Error::handler(format!("cannot process {}", work.key)));
    }
    env.kv("processed")?
        .put_json(&work.key, &work, Precondition::None)
        .await?;
    tracing::info!(key = %work.key, "processed an upload");
    Ok(())
}

async fn report(tick: Event<ScheduleTick>, env: Env) -> Result<()> {
    let processed = env.kv("processed")?.scan_all("").await?.len();
    tracing::info!(at = %tick.data().scheduled_time, processed, "report");
    Ok(())
}
