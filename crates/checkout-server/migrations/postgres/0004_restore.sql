-- Recovering expired and abandoned checkouts (CONTRACT §16).
-- A restored checkout names the one it replaced and the changes the shopper is shown
-- (JSON); the old one names its replacement, which makes its recovery link single use.
ALTER TABLE checkout_sessions ADD COLUMN restored_to TEXT;
ALTER TABLE checkout_sessions ADD COLUMN restored_from TEXT;
ALTER TABLE checkout_sessions ADD COLUMN changes TEXT;

-- Every summary a checkout had before its current one, by digest, so a
-- SNAPSHOT_MISMATCH can say what changed since the summary the shopper confirmed.
CREATE TABLE session_snapshots (
    session_id TEXT NOT NULL REFERENCES checkout_sessions(id),
    digest     TEXT NOT NULL,
    snapshot   TEXT NOT NULL,
    PRIMARY KEY (session_id, digest)
);

-- The admin's changes to the catalog: a product's price, its maximum per order and
-- whether it is on sale; whether a promotion, voucher or shipping method is offered,
-- and a shipping method's price. What is not listed is as the catalog ships it.
CREATE TABLE catalog_overrides (
    kind         TEXT NOT NULL,
    id           TEXT NOT NULL,
    price        BIGINT,
    max_quantity BIGINT,
    active       BIGINT NOT NULL DEFAULT 1,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (kind, id)
);
