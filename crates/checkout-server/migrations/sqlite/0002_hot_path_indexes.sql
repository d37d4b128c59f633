-- The shopper's live sessions, as initiation, sign-out and recovery look them up
-- (`user_id = ? AND status IN ('ACTIVE', 'PAYMENT_PENDING')`, managed or not): the
-- unique index above also says `managed = 1`, so it cannot serve that query, and a
-- shopper with thousands of past sessions made every initiation scan them all.
CREATE INDEX checkout_sessions_live_user
    ON checkout_sessions(user_id)
    WHERE status IN ('ACTIVE', 'PAYMENT_PENDING');

-- Expired logins are purged by the sweeper.
CREATE INDEX logins_expiry ON logins(expires_at);
