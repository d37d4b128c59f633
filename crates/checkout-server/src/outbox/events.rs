//! The outbox events of orders (CONTRACT §14, §21): the JSON body a downstream system
//! receives, `{type, timestamp, data}` as Standard Webhooks shape it, written in the
//! transaction of the order's effect.

use checkout_core::outbox::EventType;
use chrono::{DateTime, Utc};
use serde_json::json;

use crate::{
    checkout::body::OrderBody,
    db::{self, outbox::NewEvent, payments::RefundRow, Conn, DbError},
};

/// The event of `event_type` for `order` at `now`: a stable id (`evt_…`, sent on every
/// attempt), the type, the time and the order as the shop stores it.
pub fn new_event(order: &OrderBody, event_type: EventType, now: DateTime<Utc>) -> NewEvent<'_> {
    event(
        &order.checkout_id,
        &order.id,
        event_type,
        json!({ "order": order }),
        now,
    )
}

/// The `payment.refunded` event of a refund the provider confirmed as `refund_id`.
pub fn refund_event<'a>(owed: &'a RefundRow, refund_id: &str, now: DateTime<Utc>) -> NewEvent<'a> {
    let data = json!({ "refund": {
        "id": refund_id,
        "payment_id": owed.payment_id,
        "checkout_id": owed.session_id,
        "order_id": owed.order_id,
        "amount": owed.amount,
        "currency": owed.currency,
        "reason": owed.reason,
    }});
    let order_id = owed.order_id.as_deref().unwrap_or_default();
    event(
        &owed.session_id,
        order_id,
        EventType::PaymentRefunded,
        data,
        now,
    )
}

/// An event of `event_type` about a checkout (and its order, when it has one) with
/// `data`: a stable id (`evt_…`, sent on every attempt), the type and the time.
fn event<'a>(
    checkout_id: &'a str,
    order_id: &'a str,
    event_type: EventType,
    data: serde_json::Value,
    now: DateTime<Utc>,
) -> NewEvent<'a> {
    let id = format!("evt_{}", uuid::Uuid::now_v7().simple());
    // Standard Webhooks' payload: the id travels in the `webhook-id` header.
    let payload = json!({
        "type": event_type.as_str(),
        "timestamp": now,
        "data": data,
    })
    .to_string();
    NewEvent {
        id,
        checkout_id,
        order_id,
        event_type: event_type.as_str(),
        payload,
        at: now,
        trace: crate::ops::telemetry::traceparent(),
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
