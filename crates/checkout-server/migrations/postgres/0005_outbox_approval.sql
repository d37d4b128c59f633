-- Order events for downstream systems (CONTRACT §14): the admin's endpoints, each event
-- written in the transaction of its effect, and one delivery per event and endpoint
-- (made in the same transaction, so a crash loses none). A delivery is pending until
-- a 2xx answer (delivered) or until its retries run out (failed: the admin can send it
-- again); a worker holds it with a lease while it sends, so one instance sends it at a
-- time. Its retries count from its first attempt.
CREATE TABLE webhook_endpoints (
    id         TEXT PRIMARY KEY,
    url        TEXT NOT NULL,
    secret     TEXT NOT NULL,
    active     BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL
);

CREATE TABLE outbox_events (
    seq         BIGSERIAL PRIMARY KEY,
    id          TEXT NOT NULL UNIQUE,
    checkout_id TEXT NOT NULL,
    order_id    TEXT NOT NULL,
    type        TEXT NOT NULL,
    payload     TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX outbox_events_checkout ON outbox_events(checkout_id, seq);

CREATE TABLE outbox_deliveries (
    event_seq       BIGINT NOT NULL REFERENCES outbox_events(seq),
    endpoint_id     TEXT NOT NULL REFERENCES webhook_endpoints(id),
    checkout_id     TEXT NOT NULL,
    state           TEXT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_until     BIGINT,
    last_status     BIGINT,
    last_error      TEXT,
    delivered_at    BIGINT,
    first_attempt_at BIGINT,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (event_seq, endpoint_id)
);
-- What the worker claims: pending and due, oldest first.
CREATE INDEX outbox_deliveries_due ON outbox_deliveries(next_attempt_at, event_seq) WHERE state = 'pending';
-- In order per checkout: an earlier undelivered (pending or failed) delivery of the
-- same checkout to the same endpoint holds the later ones back.
CREATE INDEX outbox_deliveries_checkout ON outbox_deliveries(endpoint_id, checkout_id, event_seq) WHERE state <> 'delivered';

-- Approval (CONTRACT §15): approvers, and each order's decision.
ALTER TABLE users ADD COLUMN approver BIGINT NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN decided_by TEXT;
ALTER TABLE orders ADD COLUMN decided_at BIGINT;
ALTER TABLE orders ADD COLUMN decision_reason TEXT;
CREATE INDEX orders_pending_approval ON orders(created_at) WHERE status = 'PENDING_APPROVAL';
