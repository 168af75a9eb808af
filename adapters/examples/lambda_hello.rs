//! The baseline of the cold-start benchmark: a bare `lambda_runtime` function that echoes its
//! payload, with nothing of cloudport. `cargo build --release -p cloudport-adapters --example
//! lambda_hello --features lambda`.

use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(
        |event: LambdaEvent<serde_json::Value>| async move { Ok::<_, Error>(event.payload) },
    ))
    .await
}
