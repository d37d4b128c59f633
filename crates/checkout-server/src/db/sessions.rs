//! Checkout sessions. A status change is a compare-and-set on the
//! stored state together with its event ([`set_status`]); the checkout module asks the
//! core's state machine before it calls it (`checkout::transition`), so no code path can
//! make an illegal transition or one without its event.

use checkout_core::{
    changes::ChangeItem,
    lifecycle::LiveSession,
    numbering::OrderClass,
    snapshot::{PricingInput, Snapshot},
    verdict::effective_status,
    Change, Event, SessionStatus, SessionView,
};
use chrono::{DateTime, Utc};

use super::payment_actions::PaymentAction;
use super::{
    events::{record_event, Actor},
    query, Conn, DbError, DbRow,
};
use crate::clock::{from_ms, to_ms};

pub use super::purge::{purge_ended, purge_selection};

/// A stored session with what the checks need.
#[derive(Debug, Clone)]
pub struct SessionRow {
    pub id: String,
    pub user_id: String,
    pub seq: i64,
    pub number: String,
    pub status: SessionStatus,
    pub managed: bool,
    pub started_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    /// When the latest login that acted on it ends (CONTRACT §19).
    pub login_expires_at: Option<DateTime<Utc>>,
    /// That login's OpenID Connect session id (`sid`), when it had one.
    pub login_sid: Option<String>,
    pub generation: u32,
    /// What the snapshot was priced from, as stored (JSON): read by
    /// [`SessionRow::pricing_input`] only where it is needed (a change re-prices), so a
    /// read of the session does not parse it.
    pub pricing_input_json: String,
    pub snapshot: Snapshot,
    pub started_by_admin: Option<String>,
    pub payment_key: Option<String>,
    pub payment_idem_key: Option<String>,
    pub payment_started_at: Option<DateTime<Utc>>,
    /// Where the shopper confirms the payment it waits for, and until when (§20).
    pub payment_action: Option<PaymentAction>,
    pub is_latest: bool,
    pub order_id: Option<String>,
    /// When it was last changed (a sign-out is the last change of a signed-out session).
    pub updated_at: DateTime<Utc>,
    /// The ended checkout this one restored, if any.
    pub restored_from: Option<String>,
    /// The checkout that restored this one: its recovery link was used.
    pub restored_to: Option<String>,
    /// For a restored checkout: what changed from the ended one (shown before ordering).
    pub changes: Vec<ChangeItem>,
    /// For a checkout the shop's backend made from its priced cart (CONTRACT §24): the
    /// shop's metadata, a JSON object as stored. `None` for a checkout of our cart.
    pub metadata: Option<String>,
}

impl SessionRow {
    /// What the snapshot was priced from.
    pub fn pricing_input(&self) -> Result<PricingInput, DbError> {
        serde_json::from_str(&self.pricing_input_json).map_err(|_| corrupt("pricing input"))
    }

    /// The shop's metadata of a checkout its backend made, as an object.
    pub fn metadata(&self) -> Option<serde_json::Map<String, serde_json::Value>> {
        self.metadata
            .as_deref()
            .and_then(|json| serde_json::from_str(json).ok())
    }

    /// Whether the shop's backend made it from its priced cart (CONTRACT §24): such a
    /// checkout always has metadata, `{}` at least.
    pub fn made_by_shop(&self) -> bool {
        self.metadata.is_some()
    }

    /// The methods a checkout made from the shop's priced cart offers. Read only for
    /// such a checkout (the pricing input is not parsed for a checkout of our cart).
    pub fn own_offer(&self) -> Option<checkout_core::snapshot::OwnOffer> {
        if !self.made_by_shop() {
            return None;
        }
        self.pricing_input().ok()?.own_offer
    }

    /// The core's view of it.
    pub fn view(&self) -> SessionView {
        SessionView {
            id: self.id.clone(),
            user_id: self.user_id.clone(),
            status: self.status,
            managed: self.managed,
            expires_at: self.expires_at,
            login_expires_at: self.login_expires_at,
            is_latest: self.is_latest,
            digest: self.snapshot.digest.clone(),
            generation: self.generation,
        }
    }

    /// Its state at `now` (expiry and supersession applied).
    pub fn effective(&self, now: DateTime<Utc>) -> SessionStatus {
        effective_status(&self.view(), now)
    }
}

const SELECT_SESSION: &str =
    "SELECT s.id, s.user_id, s.seq, s.number, s.status, s.reason, s.managed, \
    s.started_at, s.expires_at, s.login_expires_at, s.login_sid, s.generation, s.pricing_input, s.snapshot, s.started_by_admin, \
    s.payment_key, s.payment_idem_key, s.payment_started_at, \
    s.payment_action_url, s.payment_action_deadline, \
    s.updated_at, s.restored_from, s.restored_to, s.changes, s.metadata, \
    (SELECT MAX(l.seq) FROM checkout_sessions l WHERE l.user_id = s.user_id) AS latest_seq, \
    (SELECT o.id FROM orders o WHERE o.session_id = s.id) AS order_id \
    FROM checkout_sessions s";

/// A stored session field that does not read back.
pub(super) fn corrupt(what: &str) -> DbError {
    DbError::Corrupt(format!("session {what}"))
}

fn decode(row: &DbRow) -> Result<SessionRow, DbError> {
    let status: String = row.try_get("status")?;
    let reason: Option<String> = row.try_get("reason")?;
    let seq: i64 = row.try_get("seq")?;
    let latest: Option<i64> = row.try_get("latest_seq")?;
    let input: String = row.try_get("pricing_input")?;
    let snapshot: String = row.try_get("snapshot")?;
    Ok(SessionRow {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        seq,
        number: row.try_get("number")?,
        status: SessionStatus::from_parts(&status, reason.as_deref())
            .ok_or_else(|| corrupt("status"))?,
        managed: row.try_get::<i64>("managed")? != 0,
        started_at: from_ms(row.try_get("started_at")?),
        expires_at: row.try_get::<Option<i64>>("expires_at")?.map(from_ms),
        login_expires_at: row.try_get::<Option<i64>>("login_expires_at")?.map(from_ms),
        login_sid: row.try_get("login_sid")?,
        generation: u32::try_from(row.try_get::<i64>("generation")?).unwrap_or(u32::MAX),
        pricing_input_json: input,
        snapshot: serde_json::from_str(&snapshot).map_err(|_| corrupt("snapshot"))?,
        started_by_admin: row.try_get("started_by_admin")?,
        payment_key: row.try_get("payment_key")?,
        payment_idem_key: row.try_get("payment_idem_key")?,
        payment_started_at: row
            .try_get::<Option<i64>>("payment_started_at")?
            .map(from_ms),
        payment_action: super::payment_actions::decode(row)?,
        is_latest: latest == Some(seq),
        order_id: row.try_get("order_id")?,
        updated_at: from_ms(row.try_get("updated_at")?),
        restored_from: row.try_get("restored_from")?,
        restored_to: row.try_get("restored_to")?,
        changes: match row.try_get::<Option<String>>("changes")? {
            Some(json) => serde_json::from_str(&json).map_err(|_| corrupt("changes"))?,
            None => Vec::new(),
        },
        metadata: row.try_get("metadata")?,
    })
}

/// The session with this id, whoever owns it.
pub async fn load(conn: impl Into<Conn<'_>>, id: &str) -> Result<Option<SessionRow>, DbError> {
    let row = query(&format!("{SELECT_SESSION} WHERE s.id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(decode).transpose()
}

/// The shopper's most recent session.
pub async fn latest_for_user(
    conn: impl Into<Conn<'_>>,
    user_id: &str,
) -> Result<Option<SessionRow>, DbError> {
    let row = query(&format!(
        "{SELECT_SESSION} WHERE s.user_id = $1 ORDER BY s.seq DESC LIMIT 1"
    ))
    .bind(user_id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(decode).transpose()
}

/// The shopper's live sessions (stored `ACTIVE` or `PAYMENT_PENDING`).
pub async fn live_for_user(
    conn: impl Into<Conn<'_>>,
    user_id: &str,
) -> Result<Vec<LiveSession>, DbError> {
    let rows = query(
        "SELECT id, status, expires_at, login_expires_at, managed FROM checkout_sessions \
         WHERE user_id = $1 AND status IN ('ACTIVE', 'PAYMENT_PENDING')",
    )
    .bind(user_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            let status: String = r.try_get("status")?;
            Ok(LiveSession {
                id: r.try_get("id")?,
                status: SessionStatus::from_parts(&status, None)
                    .ok_or_else(|| corrupt("status"))?,
                managed: r.try_get::<i64>("managed")? != 0,
                expires_at: r.try_get::<Option<i64>>("expires_at")?.map(from_ms),
                login_expires_at: r.try_get::<Option<i64>>("login_expires_at")?.map(from_ms),
            })
        })
        .collect()
}

/// Moves the session from `from` to `to` if it is still stored in `from`
/// (compare-and-set), and records the event. Returns whether it moved: `false` means
/// the stored state was not `from`.
pub async fn set_status(
    conn: impl Into<Conn<'_>>,
    session_id: &str,
    from: SessionStatus,
    to: SessionStatus,
    event: Event,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    let mut conn = conn.into();
    let done = query(
        "UPDATE checkout_sessions SET status = $1, reason = $2, updated_at = $3 \
         WHERE id = $4 AND status = $5 AND COALESCE(reason, '') = $6",
    )
    .bind(to.name())
    .bind(to.reason())
    .bind(to_ms(now))
    .bind(session_id)
    .bind(from.name())
    .bind(from.reason().unwrap_or(""))
    .execute(&mut conn)
    .await?;
    if done != 1 {
        return Ok(false);
    }
    record_event(conn, session_id, Some(from), to, event, actor, now).await?;
    Ok(true)
}

/// Takes the next checkout number, in the caller's transaction: a rollback gives it
/// back, so numbers have no gaps; the row lock (or SQLite's write lock) makes them
/// unique across instances. Returns the number and the class to render it with.
pub async fn allocate_number(conn: impl Into<Conn<'_>>) -> Result<(i64, OrderClass), DbError> {
    let row = query(
        "UPDATE order_classes SET next_number = next_number + 1 WHERE name = 'checkout' \
         RETURNING next_number - 1 AS seq, format, digit_length, time_zone",
    )
    .fetch_one(conn)
    .await?;
    let seq: i64 = row.try_get("seq")?;
    let class = OrderClass {
        format: row.try_get("format")?,
        digit_length: u8::try_from(row.try_get::<i64>("digit_length")?).unwrap_or(6),
        next_number: seq,
        time_zone: row.try_get("time_zone")?,
    };
    Ok((seq, class))
}

/// Inserts a new session (stored as `ACTIVE`, generation 0) and its first event.
pub async fn insert(
    conn: impl Into<Conn<'_>>,
    s: &SessionRow,
    actor: &Actor,
) -> Result<(), DbError> {
    let mut conn = conn.into();
    query(
        "INSERT INTO checkout_sessions (id, user_id, seq, number, status, reason, managed, started_at, expires_at, \
         generation, pricing_input, snapshot, digest, started_by_admin, updated_at, restored_from, changes, \
         login_expires_at, login_sid, metadata) \
         VALUES ($1, $2, $3, $4, 'ACTIVE', NULL, $5, $6, $7, 0, $8, $9, $10, $11, $6, $12, $13, $14, $15, $16)",
    )
    .bind(&s.id)
    .bind(&s.user_id)
    .bind(s.seq)
    .bind(&s.number)
    .bind(i64::from(s.managed))
    .bind(to_ms(s.started_at))
    .bind(s.expires_at.map(to_ms))
    .bind(&s.pricing_input_json)
    .bind(serde_json::to_string(&s.snapshot).unwrap_or_default())
    .bind(&s.snapshot.digest)
    .bind(&s.started_by_admin)
    .bind(&s.restored_from)
    .bind((!s.changes.is_empty()).then(|| serde_json::to_string(&s.changes).unwrap_or_default()))
    .bind(s.login_expires_at.map(to_ms))
    .bind(&s.login_sid)
    .bind(&s.metadata)
    .execute(&mut conn)
    .await?;
    record_event(
        conn,
        &s.id,
        None,
        SessionStatus::Active,
        Event::Changed(Change::Initiate),
        actor,
        s.started_at,
    )
    .await
}

/// Replaces the session's snapshot (a change of shipping, payment, voucher or lines),
/// keeping the one it replaces by digest for [`confirmed_snapshot`].
pub async fn replace_snapshot(
    conn: impl Into<Conn<'_>>,
    row: &SessionRow,
    input: &PricingInput,
    snapshot: &Snapshot,
    change: Change,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    let mut conn = conn.into();
    query(
        "INSERT INTO session_snapshots (session_id, digest, snapshot) VALUES ($1, $2, $3) \
         ON CONFLICT (session_id, digest) DO NOTHING",
    )
    .bind(&row.id)
    .bind(&row.snapshot.digest)
    .bind(serde_json::to_string(&row.snapshot).unwrap_or_default())
    .execute(&mut conn)
    .await?;
    query(
        "UPDATE checkout_sessions SET pricing_input = $1, snapshot = $2, digest = $3, updated_at = $4 WHERE id = $5",
    )
    .bind(serde_json::to_string(input).unwrap_or_default())
    .bind(serde_json::to_string(snapshot).unwrap_or_default())
    .bind(&snapshot.digest)
    .bind(to_ms(now))
    .bind(&row.id)
    .execute(&mut conn)
    .await?;
    record_event(
        conn,
        &row.id,
        Some(row.status),
        row.status,
        Event::Changed(change),
        actor,
        now,
    )
    .await
}

/// Stores the payment just begun on the session: the server's payment key (sent to the
/// gateway) and the idempotency key of the request that began it.
pub async fn begin_payment(
    conn: impl Into<Conn<'_>>,
    session_id: &str,
    payment_key: &str,
    idem_key: &str,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    query(
        "UPDATE checkout_sessions SET payment_key = $1, payment_idem_key = $2, \
         payment_started_at = $3, payment_action_url = NULL, payment_action_deadline = NULL \
         WHERE id = $4",
    )
    .bind(payment_key)
    .bind(idem_key)
    .bind(to_ms(now))
    .bind(session_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// The shopper who owns a session.
pub async fn owner(conn: impl Into<Conn<'_>>, session_id: &str) -> Result<Option<String>, DbError> {
    query("SELECT user_id FROM checkout_sessions WHERE id = $1")
        .bind(session_id)
        .fetch_optional(conn)
        .await?
        .map(|r| r.try_get("user_id"))
        .transpose()
}

/// Redeems generation `generation` of the session's recovery token (compare-and-set on
/// the generation); returns whether it was still current. The caller records the
/// `Recover` event.
pub async fn next_generation(
    conn: impl Into<Conn<'_>>,
    session_id: &str,
    generation: u32,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    let rotated = query(
        "UPDATE checkout_sessions SET generation = generation + 1, updated_at = $3 \
         WHERE id = $1 AND generation = $2",
    )
    .bind(session_id)
    .bind(i64::from(generation))
    .bind(to_ms(now))
    .execute(conn)
    .await?;
    Ok(rotated == 1)
}

/// Up to `limit` sessions stored `ACTIVE` and managed whose window closed by `now`:
/// (session id, shopper), for the sweeper.
pub async fn lapsed(
    conn: impl Into<Conn<'_>>,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<(String, String)>, DbError> {
    // Two selections, each served by its own partial index (an OR would scan).
    query(
        "SELECT id, user_id FROM checkout_sessions \
         WHERE status = 'ACTIVE' AND managed = 1 AND expires_at <= $1 \
         UNION SELECT id, user_id FROM checkout_sessions \
         WHERE status = 'ACTIVE' AND managed = 1 AND login_expires_at <= $1 LIMIT $2",
    )
    .bind(to_ms(now))
    .bind(limit)
    .fetch_all(conn)
    .await?
    .iter()
    .map(|r| Ok((r.try_get("id")?, r.try_get("user_id")?)))
    .collect()
}
