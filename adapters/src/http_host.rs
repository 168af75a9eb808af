//! What the HTTP hosts (Azure Functions custom handler, Cloud Run) share: binding the port the
//! platform names, serving a router until the platform's stop signal, then draining.

use std::future::Future;

use axum::Router;
use cloudport_core::{Error, Result};
use tokio::net::TcpListener;

/// A host that answers every request itself.
pub(crate) trait AnswersAll: Send + Sync + 'static {
    /// Answers one request.
    fn answer(
        &self,
        request: axum::extract::Request,
    ) -> impl Future<Output = axum::response::Response> + Send;
}

/// `host` as a router that gives it every path.
pub(crate) fn fallback_router<H: AnswersAll>(host: H) -> Router {
    let host = std::sync::Arc::new(host);
    Router::new().fallback(move |request: axum::extract::Request| {
        let host = host.clone();
        async move { host.answer(request).await }
    })
}

/// The port in `value` (from the variable `var`), or an error naming both.
pub(crate) fn parse_port(var: &str, value: &str) -> Result<u16> {
    value
        .trim()
        .parse()
        .map_err(|e| Error::invalid(format!("{var} {value:?} is not a port: {e}")))
}

/// How long the platform lets one invocation run, from `var` in `env` (whole seconds, or
/// `hh:mm:ss` as Azure's `functionTimeout` is written), else `default`: the deadline the HTTP
/// hosts give each invocation, so retries, long polls and idempotency claims end with it.
pub(crate) fn invocation_timeout(
    env: &cloudport_core::Env,
    var: &str,
    default: std::time::Duration,
) -> Result<std::time::Duration> {
    match env.var(var) {
        Some(value) => cloudport_core::platform::parse_timeout(var, &value),
        None => Ok(default),
    }
}

/// A listener on `host:port`; a failure names the address and `operation`.
pub(crate) async fn bind(host: &str, port: u16, operation: &'static str) -> Result<TcpListener> {
    TcpListener::bind((host, port)).await.map_err(|e| {
        Error::from(e)
            .with_operation(operation)
            .with_resource(format!("{host}:{port}"))
    })
}

/// Serves `router` on `listener` until `shutdown` completes, then lets in-flight requests
/// finish. `what` names the traffic in the log line, `operation` a failure.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    what: &'static str,
    operation: &'static str,
) -> Result<()> {
    let addr = listener.local_addr().map_err(Error::from)?;
    tracing::info!(%addr, "serving {what}");
    let served = axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|e| Error::from(e).with_operation(operation));
    // The instance is stopping: export the spans still buffered.
    #[cfg(feature = "otel")]
    crate::otel::shutdown().await;
    served
}

/// Completes on SIGTERM (how both platforms stop an instance) or Ctrl-C.
pub(crate) async fn shutdown_signal() {
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
    tracing::info!("stopping: finishing in-flight requests");
}
