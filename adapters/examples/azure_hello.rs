//! A minimal cloudport app as an Azure Functions custom handler: an HTTP route and a queue
//! trigger, on the memory provider unless `CLOUDPORT_QUEUE_ORDERS` binds the queue.
//!
//! ```sh
//! cargo build --release -p cloudport-adapters --example azure_hello --features azure-functions
//! # host.json and one function.json per function, next to the binary:
//! CLOUDPORT_EMIT_AZURE_MANIFEST=deploy CLOUDPORT_QUEUE_ORDERS=azqueue://ACCOUNT/orders \
//!     target/release/examples/azure_hello
//! cp target/release/examples/azure_hello deploy/ && cd deploy && func start   # or: func azure functionapp publish APP
//! ```

use axum::routing::get;
use cloudport_core::{App, Env};

#[tokio::main]
async fn main() -> cloudport_core::Result<()> {
    let app = App::new()
        .http(axum::Router::new().route("/hello", get(|| async { "hello from Azure Functions" })))
        .on_queue("orders", |message, _env| async move {
            tracing::info!(id = %message.id(), body = %message.data().text()?, "order");
            Ok(())
        });
    let env = Env::builder()
        .provider(cloudport_memory::Memory::new())
        .fallback_scheme("mem")
        .build();
    if cloudport_adapters::azure::emit_manifest_if_requested(&app, &env)? {
        return Ok(());
    }
    cloudport_adapters::azure::run(app, env).await
}
