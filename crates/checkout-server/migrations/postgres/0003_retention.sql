-- Old sessions that ended without an order are purged by the sweeper (CONTRACT §11),
-- oldest first: this index serves exactly that selection, so a purge never scans the
-- live or completed sessions. Migrations run in a transaction, where PostgreSQL cannot
-- build an index CONCURRENTLY; on a large, busy checkout_sessions table, create it by
-- hand first with CREATE INDEX CONCURRENTLY and the same definition, and this skips it.
CREATE INDEX IF NOT EXISTS checkout_sessions_purgeable
    ON checkout_sessions(updated_at)
    WHERE status IN ('INACTIVE', 'EXPIRED') AND payment_key IS NULL;
