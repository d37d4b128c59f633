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
/// attempt), the type, the time and the order as the shop stores it, `order_json` (the
/// order serialized once, for its stored answer and this event alike).
pub fn new_event<'a>(
    order: &'a OrderBody,
    order_json: &str,
    event_type: EventType,
    now: DateTime<Utc>,
) -> NewEvent<'a> {
    event(
        &order.checkout_id,
        &order.id,
        event_type,
        &format!("{{\"order\":{order_json}}}"),
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
        &data.to_string(),
        now,
    )
}

/// An event of `event_type` about a checkout (and its order, when it has one) with
/// `data` (a JSON object's text): a stable id (`evt_…`, sent on every attempt), the type
/// and the time.
fn event<'a>(
    checkout_id: &'a str,
    order_id: &'a str,
    event_type: EventType,
    data: &str,
    now: DateTime<Utc>,
) -> NewEvent<'a> {
    let id = format!("evt_{}", uuid::Uuid::now_v7().simple());
    // Standard Webhooks' payload: the id travels in the `webhook-id` header. Written
    // around `data` rather than through a JSON tree: `data` is already JSON, and the type
    // and time need no escaping (a type's wire name, an RFC 3339 time).
    let payload = format!(
        r#"{{"type":"{}","timestamp":"{}","data":{data}}}"#,
        event_type.as_str(),
        checkout_core::time::Rfc3339(&now)
    );
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
    let order_json = serde_json::to_string(order).map_err(|e| DbError::Corrupt(e.to_string()))?;
    db::outbox::record(conn, &new_event(order, &order_json, event_type, now)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The payload is written around the data's text, not through a JSON tree: it must
    /// still be the JSON `{type, timestamp, data}` a receiver parses.
    #[test]
    fn the_payload_is_json_with_the_type_the_time_and_the_data() {
        let now = checkout_core::time::parse("2026-12-06T10:00:00.250Z").unwrap();
        let data = r#"{"order":{"id":"o-1","note":"a \"quoted\" line\nand more"}}"#;
        let event = event("c-1", "o-1", EventType::OrderPlaced, data, now);
        let payload: serde_json::Value = serde_json::from_str(&event.payload).unwrap();
        assert_eq!(
            payload,
            json!({
                "type": "order.placed",
                "timestamp": "2026-12-06T10:00:00.250Z",
                "data": serde_json::from_str::<serde_json::Value>(data).unwrap(),
            })
        );
        assert!(event.id.starts_with("evt_"));
        assert_eq!(event.event_type, "order.placed");
    }
}
