//! Cold starts pay for nothing before first use: opening a provider's resources makes no network
//! call. [`ConnectionCounter`] is a local listener that counts who connects to it, for providers'
//! tests to point their endpoints at.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A listener on `127.0.0.1` that accepts, counts and drops every connection.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use cloudport_core::conformance::ConnectionCounter;
/// let counter = ConnectionCounter::start().await;
/// assert_eq!(counter.connections(), 0);
/// let _ = tokio::net::TcpStream::connect(counter.addr()).await.unwrap();
/// counter.settle().await;
/// assert_eq!(counter.connections(), 1);
/// # }
/// ```
#[derive(Debug)]
pub struct ConnectionCounter {
    addr: SocketAddr,
    count: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl ConnectionCounter {
    /// Starts listening on a free port.
    ///
    /// # Panics
    /// When no local port can be bound (a test fixture).
    #[allow(clippy::expect_used, reason = "a test fixture")]
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a local port");
        let addr = listener.local_addr().expect("its address");
        let count = Arc::new(AtomicUsize::new(0));
        let counter = count.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                drop(stream);
            }
        });
        Self { addr, count, task }
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }

    /// Gives connections in flight time to be accepted (50 ms).
    pub async fn settle(&self) {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

impl Drop for ConnectionCounter {
    fn drop(&mut self) {
        self.task.abort();
    }
}
