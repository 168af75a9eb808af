//! cloudport pipeline: HTTP upload → blob trigger → idempotent send → a consumer that fails on
//! some inputs → a schedule. See `app.rs`.
//!
//! `cargo run --example pipeline`, then
//! `curl -X PUT --data-binary @Cargo.toml localhost:8080/uploads/good.toml` and
//! `curl -X PUT -d oops localhost:8080/uploads/bad.txt`: the terminal shows each step, the bad
//! upload delivered five times and moved to `work-dlq`.

mod app;

use cloudport::prelude::*;

#[tokio::main]
async fn main() -> Result<()> {
    app::app().run().await
}
