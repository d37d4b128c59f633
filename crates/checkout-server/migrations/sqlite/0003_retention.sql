-- Old sessions that ended without an order are purged by the sweeper (CONTRACT §11),
-- oldest first: this index serves exactly that selection, so a purge never scans the
-- live or completed sessions.
CREATE INDEX checkout_sessions_purgeable
    ON checkout_sessions(updated_at)
    WHERE status IN ('INACTIVE', 'EXPIRED') AND payment_key IS NULL;
