//! A minimal cloudport app as an Azure Functions custom handler: an HTTP route and a queue
//! trigger, on the memory provider unless `CLOUDPORT_QUEUE_ORDERS` binds the queue.
//!
//! ```sh
//! cargo build --release -p cloudport-adapters --example azure_hello --features azure-functions
//! # What the deploy tool reads; it writes host.json and one function.json per function into
//! # deploy/ from it and the bindings (cloudport_cli::azure::manifest, package cargo-cloudport):
//! CLOUDPORT_DESCRIBE=1 target/release/examples/azure_hello > description.json
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
    // `CLOUDPORT_DESCRIBE=1`: the app's description, for the deploy tool (the facade's
    // `App::run` does this itself).
    if std::env::var(cloudport_core::app::DESCRIBE_VAR).is_ok_and(|v| v == "1") {
        app.validate()?;
        let json = serde_json::to_string_pretty(&app.describe())?;
        #[allow(
            clippy::print_stdout,
            reason = "the description is the process's output"
        )]
        {
            println!("{json}");
        }
        return Ok(());
    }
    cloudport_adapters::azure::run(app, env).await
}
