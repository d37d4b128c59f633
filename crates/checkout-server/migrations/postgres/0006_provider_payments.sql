-- Payments at a provider of their own (CONTRACT §13). The simulated provider keeps its
-- ledger in its own process now, so the stand-in ledger goes. What stays here is the
-- shop's side: every payment the shop asked for, by its own key (a webhook or a lookup
-- is matched to its checkout through this, never through what an event says; one the
-- provider had no record of is looked up again for a while, in case it charges late); refunds
-- of charges that arrived for a checkout that could no longer take them (recorded
-- before the provider is asked, finished when it answers, retried with growing pauses
-- until then, failed when the provider refuses); and the provider's webhook event ids
-- already applied.
DROP TABLE gateway_charges;

CREATE TABLE payment_attempts (
    payment_key TEXT PRIMARY KEY,
    session_id  TEXT NOT NULL,
    amount      BIGINT NOT NULL,
    currency    TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    -- Released because the provider had no record of it: looked up again (growing
    -- pauses, 72 hours) in case the request arrives late and charges.
    watch_from  BIGINT,
    watch_checks BIGINT NOT NULL DEFAULT 0,
    watch_next_at BIGINT
);
CREATE INDEX payment_attempts_watched ON payment_attempts(watch_next_at) WHERE watch_next_at IS NOT NULL;

CREATE TABLE payment_refunds (
    payment_key TEXT PRIMARY KEY,
    payment_id  TEXT NOT NULL,
    session_id  TEXT NOT NULL,
    order_id    TEXT,
    amount      BIGINT NOT NULL,
    currency    TEXT NOT NULL,
    reason      TEXT NOT NULL,
    state       TEXT NOT NULL,
    refund_id   TEXT,
    created_at  BIGINT NOT NULL,
    refunded_at BIGINT,
    attempts    BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL DEFAULT 0,
    last_error  TEXT
);
CREATE INDEX payment_refunds_pending ON payment_refunds(next_attempt_at) WHERE state = 'pending';
CREATE INDEX payment_refunds_session ON payment_refunds(session_id);

CREATE TABLE payment_webhook_events (
    id          TEXT PRIMARY KEY,
    received_at BIGINT NOT NULL
);
CREATE INDEX payment_webhook_events_received ON payment_webhook_events(received_at);
