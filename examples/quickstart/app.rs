//! The quickstart app: function code that names no provider.
//!
//! - `POST /orders` checks an order and enqueues it on queue `orders`;
//!   `GET /orders/{id}` reads its state.
//! - The `orders` queue consumer records the order in KV store `orders` (once, even if the
//!   message is delivered twice) and writes a receipt to bucket `receipts`.
//! - The `nightly-report` schedule totals the orders into `receipts/reports/…`.

use cloudport::axum::extract::Path;
use cloudport::axum::http::StatusCode;
use cloudport::axum::routing::{get, post};
use cloudport::axum::{Json, Router};
use cloudport::prelude::*;
use std::time::Duration;

/// An order as clients send it.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
pub(crate) struct Order {
    pub(crate) id: String,
    pub(crate) customer: String,
    pub(crate) total_cents: u64,
}

/// What the app keeps about an order.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
pub(crate) struct OrderRecord {
    pub(crate) order: Order,
    pub(crate) status: String,
}

/// The nightly report.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
pub(crate) struct Report {
    pub(crate) orders: usize,
    pub(crate) total_cents: u64,
}

pub(crate) fn app() -> App {
    App::new()
        .http(
            Router::new()
                .route("/orders", post(create_order))
                .route("/orders/{id}", get(get_order)),
        )
        .on_queue("orders", on_order)
        .on_schedule("nightly-report", Schedule::cron("0 0 3 * * *"), report)
        // What the handlers touch, and for what: deployment grants exactly this, and every other
        // operation fails with PermissionDenied, on memory as on the clouds.
        .uses(queue("orders").send().max_deliveries(5))
        .uses(kv("orders").read().write())
        .uses(bucket("receipts").write())
        .limits(
            Limits::new()
                .memory_mb(256)
                .timeout(Duration::from_secs(30))
                .max_concurrency(10),
        )
        .budget(Budget::monthly_usd(10))
}

type HttpResult<T> = std::result::Result<T, (StatusCode, Json<serde_json::Value>)>;

fn http_error(
    status: StatusCode,
    err: impl std::fmt::Display,
) -> (StatusCode, Json<serde_json::Value>) {
    (
        status,
        Json(serde_json::json!({ "error": err.to_string() })),
    )
}

fn internal(err: Error) -> (StatusCode, Json<serde_json::Value>) {
    let status = if err.is_temporary() {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    };
    http_error(status, err)
}

async fn create_order(
    env: Env,
    Json(order): Json<Order>,
) -> HttpResult<(StatusCode, Json<serde_json::Value>)> {
    if order.total_cents == 0 {
        return Err(http_error(
            StatusCode::BAD_REQUEST,
            "an order needs a positive total",
        ));
    }
    // The id becomes a key: reject what no store would take here, not in the consumer.
    if let Err(e) = cloudport::validate::key(&order.id, 200) {
        return Err(http_error(
            StatusCode::BAD_REQUEST,
            format!("order id: {e}"),
        ));
    }
    let queue = env.queue("orders").map_err(internal)?;
    let message_id = queue.send_json(&order).await.map_err(internal)?;
    Ok((
        StatusCode::ACCEPTED,
        Json(serde_json::json!({ "order": order.id, "message": message_id })),
    ))
}

async fn get_order(env: Env, Path(id): Path<String>) -> HttpResult<Json<OrderRecord>> {
    let kv = env.kv("orders").map_err(internal)?;
    match kv.get_json::<OrderRecord>(&id).await {
        Ok(Some((record, _))) => Ok(Json(record)),
        Ok(None) => Err(http_error(
            StatusCode::NOT_FOUND,
            format!("no order {id:?}"),
        )),
        Err(e) if e.kind() == ErrorKind::InvalidArgument => {
            Err(http_error(StatusCode::BAD_REQUEST, e))
        }
        Err(e) => Err(internal(e)),
    }
}

/// Records the order once and writes its receipt. A redelivered message finds the record and
/// only rewrites the receipt, so the handler is safe to run twice.
pub(crate) async fn on_order(event: Event<QueueMessage>, env: Env) -> Result<()> {
    let order: Order = event.data().json()?;
    let record = OrderRecord {
        order: order.clone(),
        status: "accepted".into(),
    };
    match env
        .kv("orders")?
        .put_json(&order.id, &record, Precondition::IfAbsent)
        .await
    {
        Ok(_) => {}
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    let receipt = serde_json::json!({
        "order": order.id,
        "customer": order.customer,
        "total_cents": order.total_cents,
        "message": event.id(),
    });
    env.bucket("receipts")?
        .put_json(format!("receipts/{}.json", order.id), &receipt)
        .await?;
    Ok(())
}

/// Totals every recorded order into a report object.
pub(crate) async fn report(event: Event<ScheduleTick>, env: Env) -> Result<()> {
    let mut report = Report {
        orders: 0,
        total_cents: 0,
    };
    for entry in env.kv("orders")?.scan_all("").await? {
        let record: OrderRecord = entry.json()?;
        report.orders += 1;
        report.total_cents = report.total_cents.saturating_add(record.order.total_cents);
    }
    let day = event.data().scheduled_time.format("%Y-%m-%d");
    env.bucket("receipts")?
        .put_json(format!("reports/{day}.json"), &report)
        .await?;
    Ok(())
}
