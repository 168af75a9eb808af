//! Shared by the adapters' host tests.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::net::SocketAddr;

/// One HTTP/1.1 exchange with a host under test: status, headers (lowercase names), body.
pub async fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = reqwest::Client::new()
        .request(method, format!("http://{addr}{path}"))
        .body(body.to_vec());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = response.bytes().await.unwrap().to_vec();
    (status, headers, body)
}

/// What the handlers of a host test saw: (event type, data view as JSON).
pub type Seen = std::sync::Arc<std::sync::Mutex<Vec<(String, serde_json::Value)>>>;

/// Takes what the handlers saw so far.
pub fn take(seen: &Seen) -> Vec<(String, serde_json::Value)> {
    std::mem::take(&mut *seen.lock().unwrap())
}

/// Adds the handlers every host test shares: blob trigger `uploads` and schedule `nightly`
/// (03:00 daily), each recording its event's type and a JSON view of its data in `seen`.
pub fn with_blob_and_schedule_recorders(
    app: cloudport_core::App,
    seen: &Seen,
) -> cloudport_core::App {
    use cloudport_core::event::{BlobEvent, ScheduleTick};
    use serde_json::json;
    let (b, s) = (seen.clone(), seen.clone());
    app.on_blob("uploads", move |event, _env| {
        let seen = b.clone();
        async move {
            let e: &BlobEvent = event.data();
            let view = json!({"bucket": e.bucket, "key": e.key, "size": e.size, "etag": e.etag,
                "contentType": e.content_type});
            seen.lock().unwrap().push((event.ty().to_owned(), view));
            Ok(())
        }
    })
    .on_schedule(
        "nightly",
        cloudport_core::Schedule::cron("0 0 3 * * *"),
        move |event, _env| {
            let seen = s.clone();
            async move {
                let t: &ScheduleTick = event.data();
                let view = json!({"schedule": t.schedule, "at": t.scheduled_time.to_rfc3339()});
                seen.lock().unwrap().push((event.ty().to_owned(), view));
                Ok(())
            }
        },
    )
}

/// A host serving on a free local port until [`Running::stop`].
pub struct Running {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<cloudport_core::Result<()>>,
}

impl Running {
    /// Starts `serve` (a host's `serve_with_shutdown`) on a free port of 127.0.0.1.
    pub async fn start<F, Fut>(serve: F) -> Self
    where
        F: FnOnce(
            tokio::net::TcpListener,
            std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>,
        ) -> Fut,
        Fut: std::future::Future<Output = cloudport_core::Result<()>> + Send + 'static,
    {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(serve(
            listener,
            Box::pin(async move {
                let _ = stopped.await;
            }),
        ));
        Self {
            addr,
            stop: Some(stop),
            task,
        }
    }

    /// Stops the host and checks it stopped cleanly.
    pub async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.task.await.unwrap().unwrap();
    }
}
