//! cloudport quickstart: an HTTP endpoint that enqueues orders, a queue consumer that writes KV
//! state and a blob receipt, and a schedule that reports.
//!
//! `cargo run --example quickstart` runs it end to end on the local host — on the memory provider,
//! or on whatever `CLOUDPORT_*` variables bind — prints what happened, and exits.
//! `cargo run --example quickstart -- --serve` keeps serving locally. On Lambda, Azure Functions or
//! Cloud Run the same binary serves its platform.
#![allow(clippy::print_stdout)]

mod app;

use std::time::Duration;

use app::{Order, OrderRecord, Report};
use cloudport::hosts::{HostKind, detect_host, local::LocalHost};
use cloudport::prelude::*;

#[tokio::main]
async fn main() -> Result<()> {
    let host = detect_host(|v| std::env::var(v).ok());
    if host != HostKind::Local
        || std::env::args().any(|a| a == "--serve")
        || cloudport::describe_requested()
    {
        return app::app().run().await;
    }
    demo().await
}

async fn demo() -> Result<()> {
    let env = cloudport::default_env(HostKind::Local);
    let running = LocalHost::new()
        .http_addr(([127, 0, 0, 1], 0).into())
        .receive_wait(Duration::from_millis(200))
        .start(app::app(), env.clone())
        .await?;
    let base = format!(
        "http://{}",
        running
            .http_addr()
            .ok_or_else(|| Error::handler("no HTTP"))?
    );
    println!("quickstart: serving on {base}");
    let client = reqwest::Client::new();
    let request_error = |e: reqwest::Error| Error::new(ErrorKind::Unavailable, e.to_string());

    let orders = [
        Order {
            id: "o-1001".into(),
            customer: "ada".into(),
            total_cents: 1250,
        },
        Order {
            id: "o-1002".into(),
            customer: "grace".into(),
            total_cents: 4999,
        },
        Order {
            id: "o-1003".into(),
            customer: "linus".into(),
            total_cents: 300,
        },
    ];
    for order in &orders {
        let resp = client
            .post(format!("{base}/orders"))
            .json(order)
            .send()
            .await
            .map_err(request_error)?;
        println!("POST /orders {} -> {}", order.id, resp.status());
    }
    let bad = client
        .post(format!("{base}/orders"))
        .json(&serde_json::json!({"id": "", "customer": "x", "total_cents": 0}))
        .send()
        .await
        .map_err(request_error)?;
    println!(
        "POST /orders (invalid) -> {} {}",
        bad.status(),
        bad.text().await.unwrap_or_default()
    );

    for order in &orders {
        let record = wait_for_order(&client, &base, &order.id).await?;
        println!(
            "GET /orders/{} -> status {:?}, total {}",
            order.id, record.status, record.order.total_cents
        );
    }

    running.trigger_schedule("nightly-report").await?;
    let receipts = env.bucket("receipts")?;
    for object in receipts.list_all("receipts/").await? {
        println!("receipt {} ({} bytes)", object.key, object.size);
    }
    let reports = receipts.list_all("reports/").await?;
    let report_key = &reports
        .first()
        .ok_or_else(|| Error::handler("no report written"))?
        .key;
    let report: Report = receipts.get_json(report_key).await?;
    println!(
        "report {report_key}: {} orders, {} cents",
        report.orders, report.total_cents
    );

    running.shutdown().await?;
    if report.orders != orders.len() {
        return Err(Error::handler(format!(
            "expected {} orders in the report",
            orders.len()
        )));
    }
    println!("quickstart: done");
    Ok(())
}

async fn wait_for_order(client: &reqwest::Client, base: &str, id: &str) -> Result<OrderRecord> {
    for _ in 0..100 {
        let resp = client
            .get(format!("{base}/orders/{id}"))
            .send()
            .await
            .map_err(|e| Error::new(ErrorKind::Unavailable, e.to_string()))?;
        if resp.status().is_success() {
            return resp
                .json()
                .await
                .map_err(|e| Error::new(ErrorKind::Malformed, e.to_string()));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(Error::new(
        ErrorKind::Timeout,
        format!("order {id} was not processed in 10 s"),
    ))
}
