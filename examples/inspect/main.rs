//! cloudport inspect: a function that answers every trigger with the CloudEvent it received, to see
//! what your function gets on each cloud. See `app.rs`.
//!
//! Locally: `cargo run --example inspect`, then for example
//! `curl -s localhost:8080/hello?x=1` or
//! `curl -s localhost:8080 -H 'ce-specversion: 1.0' -H 'ce-id: 1' -H 'ce-type: demo' -H 'ce-source: /me' -d hi`.
//! It consumes queue `inspect`, watches bucket `inspect` and ticks schedule `inspect` every minute.

mod app;

use cloudport::prelude::*;

#[tokio::main]
async fn main() -> Result<()> {
    app::app().run().await
}
