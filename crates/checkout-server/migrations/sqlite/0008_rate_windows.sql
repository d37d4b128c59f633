-- Limits that must outlive a restart and hold across instances (CONTRACT §11, §22):
-- card payments sent to the provider, per shopper and per client address, counted in
-- fixed windows. One row per key ("card:shopper:<id>", "card:address:<ip or /64>");
-- the sweeper deletes windows that ended. Additive only (an expand step): a server of
-- the previous release serves this database unchanged.
CREATE TABLE rate_windows (
    key TEXT PRIMARY KEY,
    started_at INTEGER NOT NULL,
    count INTEGER NOT NULL
);
CREATE INDEX rate_windows_started ON rate_windows(started_at);

-- The W3C traceparent of the request that made an order event (NULL without traces):
-- its deliveries join that request's trace.
ALTER TABLE outbox_events ADD COLUMN traceparent TEXT;
