-- Checkout Guard schema (SQLite). Times are Unix milliseconds (INTEGER); money is
-- integer minor units; JSON documents are TEXT. Kept column-for-column identical to
-- migrations/postgres so that one set of queries serves both backends.

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);

-- Login sessions: only the SHA-256 of the cookie value is stored.
CREATE TABLE logins (
    token_hash   TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id),
    impersonator TEXT,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX logins_user ON logins(user_id);

CREATE TABLE cart_items (
    user_id  TEXT NOT NULL REFERENCES users(id),
    sku      TEXT NOT NULL,
    quantity INTEGER NOT NULL CHECK (quantity > 0),
    added_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, sku)
);

-- The "Checkout Session Settings" group: exactly one row.
CREATE TABLE settings (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    enabled         INTEGER NOT NULL,
    timeout_minutes INTEGER NOT NULL CHECK (timeout_minutes BETWEEN 5 AND 300),
    updated_at      INTEGER NOT NULL
);
INSERT INTO settings (id, enabled, timeout_minutes, updated_at) VALUES (1, 1, 10, 0);

CREATE TABLE order_classes (
    name         TEXT PRIMARY KEY,
    format       TEXT NOT NULL,
    digit_length INTEGER NOT NULL,
    next_number  INTEGER NOT NULL CHECK (next_number >= 1),
    time_zone    TEXT NOT NULL
);
INSERT INTO order_classes (name, format, digit_length, next_number, time_zone)
VALUES ('checkout', 'CO-<DD><MM><YYYY>-<Number>', 6, 1, 'UTC');

CREATE TABLE checkout_sessions (
    id                 TEXT PRIMARY KEY,
    user_id            TEXT NOT NULL REFERENCES users(id),
    seq                INTEGER NOT NULL UNIQUE,
    number             TEXT NOT NULL UNIQUE,
    status             TEXT NOT NULL,
    reason             TEXT,
    managed            INTEGER NOT NULL,
    started_at         INTEGER NOT NULL,
    expires_at         INTEGER,
    generation         INTEGER NOT NULL DEFAULT 0,
    pricing_input      TEXT NOT NULL,
    snapshot           TEXT NOT NULL,
    digest             TEXT NOT NULL,
    started_by_admin   TEXT,
    payment_key        TEXT,
    payment_idem_key   TEXT,
    payment_started_at INTEGER,
    updated_at         INTEGER NOT NULL
);
-- At most one live managed session per shopper, whatever the code does.
CREATE UNIQUE INDEX checkout_sessions_one_live
    ON checkout_sessions(user_id)
    WHERE status IN ('ACTIVE', 'PAYMENT_PENDING') AND managed = 1;
CREATE INDEX checkout_sessions_user_seq ON checkout_sessions(user_id, seq);
CREATE INDEX checkout_sessions_live_expiry ON checkout_sessions(expires_at) WHERE status = 'ACTIVE';
CREATE INDEX checkout_sessions_pending ON checkout_sessions(payment_started_at) WHERE status = 'PAYMENT_PENDING';

CREATE TABLE checkout_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id  TEXT NOT NULL REFERENCES checkout_sessions(id),
    from_status TEXT,
    from_reason TEXT,
    to_status   TEXT NOT NULL,
    to_reason   TEXT,
    transition  TEXT NOT NULL,
    actor_user  TEXT,
    actor_admin TEXT,
    at          INTEGER NOT NULL,
    request_id  TEXT
);
CREATE INDEX checkout_events_session ON checkout_events(session_id, id);

-- One order per session, enforced by the unique session_id.
CREATE TABLE orders (
    id                TEXT PRIMARY KEY,
    session_id        TEXT NOT NULL UNIQUE REFERENCES checkout_sessions(id),
    user_id           TEXT NOT NULL REFERENCES users(id),
    checkout_number   TEXT NOT NULL,
    kind              TEXT NOT NULL,
    status            TEXT NOT NULL,
    snapshot          TEXT NOT NULL,
    grand_total       INTEGER NOT NULL,
    currency          TEXT NOT NULL,
    payment_reference TEXT,
    acting_admin      TEXT,
    created_at        INTEGER NOT NULL
);
CREATE INDEX orders_user ON orders(user_id);

-- Idempotency-Key records, scoped to the shopper and the endpoint.
CREATE TABLE idempotency_keys (
    user_id         TEXT NOT NULL,
    endpoint        TEXT NOT NULL,
    idem_key        TEXT NOT NULL,
    fingerprint     TEXT NOT NULL,
    state           TEXT NOT NULL,
    response_status INTEGER,
    response_body   TEXT,
    created_at      INTEGER NOT NULL,
    started_at      INTEGER NOT NULL,
    PRIMARY KEY (user_id, endpoint, idem_key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys(created_at);

-- What the simulated payment gateway has charged, by the server's payment key. A
-- separate ledger standing in for the gateway's own records.
CREATE TABLE gateway_charges (
    payment_key TEXT PRIMARY KEY,
    session_id  TEXT NOT NULL,
    amount      INTEGER NOT NULL,
    currency    TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    reference   TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
