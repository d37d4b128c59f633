//! The outbox events of orders (CONTRACT §14): the JSON body a downstream system
//! receives, written in the transaction of the order's effect.

use checkout_core::outbox::EventType;
use chrono::{DateTime, Utc};
use serde_json::json;

use crate::{
    checkout::body::OrderBody,
    db::{self, outbox::NewEvent, Conn, DbError},
};

/// The event of `event_type` for `order` at `now`: a stable id (`evt_…`, sent on every
/// attempt), the type, the time and the order as the shop stores it.
pub fn new_event(order: &OrderBody, event_type: EventType, now: DateTime<Utc>) -> NewEvent<'_> {
    let id = format!("evt_{}", uuid::Uuid::now_v7().simple());
    let payload = json!({
        "id": id,
        "type": event_type.as_str(),
        "created_at": now,
        "data": { "order": order },
    })
    .to_string();
    NewEvent {
        id,
        checkout_id: &order.checkout_id,
        order_id: &order.id,
        event_type: event_type.as_str(),
        payload,
        at: now,
    }
}

/// Writes the event of `event_type` for `order` in `conn`'s transaction.
pub async fn record(
    conn: impl Into<Conn<'_>>,
    order: &OrderBody,
    event_type: EventType,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    db::outbox::record(conn, &new_event(order, event_type, now)).await
}
