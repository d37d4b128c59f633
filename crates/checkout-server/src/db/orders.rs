//! Orders. A session yields at most one (`orders.session_id` is unique), and the order is
//! written together with everything that goes with it — the session's compare-and-set
//! transition and its event, the ordered quantities out of the cart, the answer stored
//! under the request's key — by [`place`], on either backend.

use checkout_core::{cart, snapshot::Snapshot, Event, SessionStatus, Transition};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    events::{insert_event, Actor},
    idempotency::KeyRef,
    query,
    sessions::{set_status, SessionRow},
    Conn, DbError, Query, WriteTx,
};
use crate::clock::{from_ms, to_ms};

/// An order.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(as = OrderBody)]
pub struct Order {
    /// Order id.
    pub id: String,
    /// Who ordered (CONTRACT §18): the shopper's id here, the shop's own id for the
    /// customer (a signed token's `sub`) and e-mail when known.
    #[serde(default)]
    pub customer: OrderCustomer,
    /// The checkout it came from.
    pub checkout_id: String,
    /// The checkout number.
    pub checkout_number: String,
    /// `ORDER_PLACED`, `PAID` or `SUBMITTED_FOR_APPROVAL`.
    pub kind: String,
    /// `PLACED`, `PAID` or `PENDING_APPROVAL`.
    pub status: String,
    /// What was bought.
    #[schema(value_type = Object)]
    pub snapshot: Snapshot,
    /// Total in minor units.
    pub grand_total: i64,
    /// Currency.
    pub currency: String,
    /// Gateway reference, when paid.
    pub payment_reference: Option<String>,
    /// Admin who acted for the shopper, if any.
    pub acting_admin: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// For a submitted order: who approved or rejected it (`admin` or the approver's
    /// username).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    /// When it was decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<DateTime<Utc>>,
    /// Why it was rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_reason: Option<String>,
    /// The shop's metadata of a checkout its backend made (CONTRACT §24).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
}

/// The customer of an order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OrderCustomer {
    /// The shopper's id in Checkout Guard.
    pub id: String,
    /// The shop's own id of the customer (the identity provider's `sub`), for customers
    /// signed in with the shop's tokens; `null` for built-in accounts.
    pub external_id: Option<String>,
    /// The customer's e-mail, when the shop's token carried one.
    pub email: Option<String>,
}

/// The customer `user_id` as an order names it.
pub async fn customer(conn: impl Into<Conn<'_>>, user_id: &str) -> Result<OrderCustomer, DbError> {
    let row = query("SELECT external_id, email FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(conn)
        .await?;
    Ok(OrderCustomer {
        id: user_id.to_owned(),
        external_id: row
            .as_ref()
            .map(|r| r.try_get("external_id"))
            .transpose()?
            .flatten(),
        email: row
            .as_ref()
            .map(|r| r.try_get("email"))
            .transpose()?
            .flatten(),
    })
}

/// An order action's whole effect.
#[derive(Debug)]
pub struct Placement<'a> {
    /// The session, as read under the shopper's lock.
    pub session: &'a SessionRow,
    /// The transition out of the session's state (the core said it is legal)…
    pub step: Transition,
    /// …and the state it leads to.
    pub to: SessionStatus,
    /// The order.
    pub order: &'a Order,
    /// Who acted.
    pub actor: &'a Actor,
    /// The answer to store under the key of the request that made the effect, with its
    /// status: the order's JSON, written once and also carried by the event.
    pub answer: (KeyRef<'a>, u16, &'a str),
    /// The order's event for downstream systems (CONTRACT §14), written with it.
    pub event: &'a super::outbox::NewEvent<'a>,
}

/// How [`place`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placed {
    /// Everything was written.
    Done,
    /// The session was not in the state it was read in (impossible under the
    /// shopper's lock): the caller rolls the transaction back, which undoes what was
    /// written of the effect.
    StateChanged,
    /// The session already has its order: nothing was written.
    AlreadyOrdered,
}

/// Writes an order action's effect in `tx`. On PostgreSQL it is one statement (one
/// round trip instead of five or more); on SQLite, whose statements run in process where
/// a round trip costs nothing and which has no data-modifying `WITH`, it is the same
/// steps one by one. Either way every part depends on the compare-and-set.
pub async fn place(tx: &mut WriteTx, p: &Placement<'_>) -> Result<Placed, DbError> {
    let written = match tx {
        WriteTx::Postgres(_) => place_at_once(tx, p).await,
        WriteTx::Sqlite(_) => place_step_by_step(tx, p).await,
    };
    match written {
        Err(e) if e.is_unique_violation() => Ok(Placed::AlreadyOrdered),
        other => other,
    }
}

/// The order insert and its columns (bound by [`bind_order`]).
macro_rules! insert_order {
    () => {
        "INSERT INTO orders (id, session_id, user_id, checkout_number, kind, status, \
         snapshot, grand_total, currency, payment_reference, acting_admin, created_at, metadata)"
    };
}

/// Binds an order's columns in the order of [`insert_order!`].
fn bind_order<'q>(query: Query<'q>, row: &'q SessionRow, order: &'q Order) -> Query<'q> {
    query
        .bind(&order.id)
        .bind(&row.id)
        .bind(&row.user_id)
        .bind(&row.number)
        .bind(&order.kind)
        .bind(&order.status)
        .bind(serde_json::to_string(&row.snapshot).unwrap_or_default())
        .bind(order.grand_total)
        .bind(&order.currency)
        .bind(order.payment_reference.as_deref())
        .bind(order.acting_admin.as_deref())
        .bind(to_ms(order.created_at))
        .bind(row.metadata.as_deref())
}

/// An ordered checkout's earlier summaries go: they explain a `SNAPSHOT_MISMATCH` to a
/// tab that shows one of them, which an ordered checkout never answers again (and a
/// restore starts from an ended checkout, never from an ordered one). About a kilobyte
/// per change the shopper made, kept for as long as the checkout.
const FORGET_SUMMARIES: &str = "DELETE FROM session_snapshots WHERE session_id = $1";

async fn place_step_by_step(tx: &mut WriteTx, p: &Placement<'_>) -> Result<Placed, DbError> {
    let row = p.session;
    let now = p.order.created_at;
    // The order first: a second order for the session fails here, before anything else
    // of the effect is written.
    let sql = concat!(
        insert_order!(),
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
    );
    bind_order(query(sql), row, p.order)
        .execute(tx.conn())
        .await?;
    let event = Event::Moved(p.step);
    if !set_status(tx.conn(), &row.id, row.status, p.to, event, p.actor, now).await? {
        return Ok(Placed::StateChanged);
    }
    query(FORGET_SUMMARIES)
        .bind(&row.id)
        .execute(tx.conn())
        .await?;
    for line in &row.snapshot.lines {
        let in_cart: Option<i64> =
            query("SELECT quantity FROM cart_items WHERE user_id = $1 AND sku = $2")
                .bind(&row.user_id)
                .bind(&line.sku)
                .fetch_optional(tx.conn())
                .await?
                .map(|r| r.try_get("quantity"))
                .transpose()?;
        let Some(in_cart) = in_cart else { continue };
        let in_cart = u32::try_from(in_cart).unwrap_or(0);
        let (sql, left) = match cart::left_after_order(in_cart, line.quantity) {
            None => (
                "DELETE FROM cart_items WHERE user_id = $1 AND sku = $2",
                None,
            ),
            Some(left) => (
                "UPDATE cart_items SET quantity = $3 WHERE user_id = $1 AND sku = $2",
                Some(i64::from(left)),
            ),
        };
        let mut statement = query(sql).bind(&row.user_id).bind(&line.sku);
        if let Some(left) = left {
            statement = statement.bind(left);
        }
        statement.execute(tx.conn()).await?;
    }
    let (key, status, body) = p.answer;
    super::idempotency::complete(tx.conn(), key, status, body).await?;
    super::outbox::record(tx.conn(), p.event).await?;
    Ok(Placed::Done)
}

/// PostgreSQL's one statement. The cart part is `cart::left_after_order` written in SQL:
/// a line the order took entirely leaves, a larger one keeps what was added since.
async fn place_at_once(tx: &mut WriteTx, p: &Placement<'_>) -> Result<Placed, DbError> {
    let row = p.session;
    // $1–$13 the order ($12 is also the time of the change); $14–$21 the transition and
    // its event; $22–$26 the key's answer; $27–$30 the outbox event; then two per cart
    // line.
    let lines = (0..row.snapshot.lines.len())
        .map(|i| format!("(${}, ${}::BIGINT)", 31 + 2 * i, 32 + 2 * i))
        .collect::<Vec<_>>();
    let cart = if lines.is_empty() {
        String::new()
    } else {
        format!(
            ", ordered (sku, quantity) AS (VALUES {}), \
             emptied AS (DELETE FROM cart_items c USING ordered o, s \
                WHERE c.user_id = $3 AND c.sku = o.sku AND c.quantity <= o.quantity), \
             reduced AS (UPDATE cart_items c SET quantity = c.quantity - o.quantity FROM ordered o, s \
                WHERE c.user_id = $3 AND c.sku = o.sku AND c.quantity > o.quantity)",
            lines.join(", ")
        )
    };
    let sql = format!(
        "WITH s AS (UPDATE checkout_sessions SET status = $14, reason = $15, updated_at = $12 \
            WHERE id = $2 AND status = $16 AND COALESCE(reason, '') = COALESCE($17, '') RETURNING id), \
         event AS ({insert_event} SELECT id, $16, $17, $14, $15, $18, $19, $20, $12, $21 FROM s), \
         placed AS ({insert_order} SELECT $1, id, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13 FROM s), \
         answered AS (UPDATE idempotency_keys k SET state = 'completed', response_status = $22, \
            response_body = $23 FROM s WHERE k.user_id = $24 AND k.endpoint = $25 AND k.idem_key = $26), \
         outboxed AS (INSERT INTO outbox_events (id, checkout_id, order_id, type, payload, created_at, \
            traceparent) SELECT $27, id, $1, $28, $29, $12, $30 FROM s RETURNING seq), \
         forgot AS (DELETE FROM session_snapshots k USING s WHERE k.session_id = s.id), \
         fanned AS (INSERT INTO outbox_deliveries (event_seq, endpoint_id, checkout_id, state, attempts, \
            next_attempt_at, created_at) SELECT o.seq, w.id, $2, 'pending', 0, $12, $12 \
            FROM outboxed o, webhook_endpoints w WHERE {subscribed}){cart} \
         SELECT COUNT(*) AS moved FROM s",
        insert_event = insert_event!(),
        insert_order = insert_order!(),
        subscribed = super::endpoints::subscribed("$28"),
    );
    let (key, status, body) = p.answer;
    let mut statement = bind_order(query(&sql), row, p.order)
        .bind(p.to.name())
        .bind(p.to.reason())
        .bind(row.status.name())
        .bind(row.status.reason())
        .bind(p.step.name())
        .bind(p.actor.user_id.as_deref())
        .bind(p.actor.admin.as_deref())
        .bind(p.actor.request_id.as_deref())
        .bind(i64::from(status))
        .bind(body)
        .bind(key.user_id)
        .bind(key.endpoint)
        .bind(key.key)
        .bind(&p.event.id)
        .bind(p.event.event_type)
        .bind(&p.event.payload)
        .bind(p.event.trace.as_deref());
    for line in &row.snapshot.lines {
        statement = statement.bind(&line.sku).bind(i64::from(line.quantity));
    }
    let moved: i64 = statement.fetch_one(tx.conn()).await?.try_get("moved")?;
    Ok(if moved == 1 {
        Placed::Done
    } else {
        Placed::StateChanged
    })
}

/// An order of `user_id`.
pub async fn find(
    conn: impl Into<Conn<'_>>,
    order_id: &str,
    user_id: &str,
) -> Result<Option<Order>, DbError> {
    let Some(row) = query(
        "SELECT o.id, o.session_id, o.checkout_number, o.kind, o.status, o.snapshot, \
         o.grand_total, o.currency, o.payment_reference, o.acting_admin, o.created_at, \
         o.decided_by, o.decided_at, o.decision_reason, o.metadata, u.external_id, u.email \
         FROM orders o JOIN users u ON u.id = o.user_id WHERE o.id = $1 AND o.user_id = $2",
    )
    .bind(order_id)
    .bind(user_id)
    .fetch_optional(conn)
    .await?
    else {
        return Ok(None);
    };
    let snapshot: String = row.try_get("snapshot")?;
    Ok(Some(Order {
        id: row.try_get("id")?,
        customer: OrderCustomer {
            id: user_id.to_owned(),
            external_id: row.try_get("external_id")?,
            email: row.try_get("email")?,
        },
        checkout_id: row.try_get("session_id")?,
        checkout_number: row.try_get("checkout_number")?,
        kind: row.try_get("kind")?,
        status: row.try_get("status")?,
        snapshot: serde_json::from_str(&snapshot)
            .map_err(|_| DbError::Corrupt("order snapshot".into()))?,
        grand_total: row.try_get("grand_total")?,
        currency: row.try_get("currency")?,
        payment_reference: row.try_get("payment_reference")?,
        acting_admin: row.try_get("acting_admin")?,
        created_at: from_ms(row.try_get("created_at")?),
        decided_by: row.try_get("decided_by")?,
        decided_at: row.try_get::<Option<i64>>("decided_at")?.map(from_ms),
        decision_reason: row.try_get("decision_reason")?,
        metadata: row
            .try_get::<Option<String>>("metadata")?
            .and_then(|json| serde_json::from_str(&json).ok()),
    }))
}

/// The shopper who owns an order.
pub async fn owner(conn: impl Into<Conn<'_>>, order_id: &str) -> Result<Option<String>, DbError> {
    query("SELECT user_id FROM orders WHERE id = $1")
        .bind(order_id)
        .fetch_optional(conn)
        .await?
        .map(|r| r.try_get("user_id"))
        .transpose()
}

/// Stores an approver's decision on a submitted order, if it is still waiting
/// (compare-and-set); returns whether it was.
pub async fn record_decision(
    conn: impl Into<Conn<'_>>,
    order_id: &str,
    status: &str,
    decided_by: &str,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    let done = query(
        "UPDATE orders SET status = $1, decided_by = $2, decided_at = $3, decision_reason = $4 \
         WHERE id = $5 AND status = $6",
    )
    .bind(status)
    .bind(decided_by)
    .bind(to_ms(now))
    .bind(reason)
    .bind(order_id)
    .bind(checkout_core::approval::PENDING)
    .execute(conn)
    .await?;
    Ok(done == 1)
}

/// An order waiting for an approver.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PendingOrder {
    /// Order id.
    pub id: String,
    /// The checkout number.
    pub checkout_number: String,
    /// Who submitted it.
    pub username: String,
    /// What was submitted.
    #[schema(value_type = Object)]
    pub snapshot: Snapshot,
    /// The digest of the submitted snapshot (send it to approve).
    pub digest: String,
    /// Total in minor units.
    pub grand_total: i64,
    /// Currency.
    pub currency: String,
    /// When it was submitted.
    pub created_at: DateTime<Utc>,
}

/// Up to `limit` orders waiting for approval, oldest first, but those of `except`.
pub async fn pending_approval(
    conn: impl Into<Conn<'_>>,
    except: Option<&str>,
    limit: i64,
) -> Result<Vec<PendingOrder>, DbError> {
    query(
        "SELECT o.id, o.checkout_number, u.username, o.snapshot, o.grand_total, o.currency, \
         o.created_at FROM orders o JOIN users u ON u.id = o.user_id \
         WHERE o.status = $1 AND o.user_id <> $3 ORDER BY o.created_at, o.id LIMIT $2",
    )
    .bind(checkout_core::approval::PENDING)
    .bind(limit)
    .bind(except.unwrap_or(""))
    .fetch_all(conn)
    .await?
    .iter()
    .map(|r| {
        let snapshot: Snapshot = serde_json::from_str(&r.try_get::<String>("snapshot")?)
            .map_err(|_| DbError::Corrupt("order snapshot".into()))?;
        Ok(PendingOrder {
            id: r.try_get("id")?,
            checkout_number: r.try_get("checkout_number")?,
            username: r.try_get("username")?,
            digest: snapshot.digest.clone(),
            snapshot,
            grand_total: r.try_get("grand_total")?,
            currency: r.try_get("currency")?,
            created_at: from_ms(r.try_get("created_at")?),
        })
    })
    .collect()
}
