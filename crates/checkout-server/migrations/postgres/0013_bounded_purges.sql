-- Purges that stay bounded however much is stored (issue 34). Additive only (an expand
-- step): a server of the previous release serves this database unchanged.

-- The outbox purge walked the events and deliveries in sequence order and skipped the
-- young ones one by one: while nothing was old enough (the first retention period of
-- every database, and a shop whose events arrive faster than they age), every sweep
-- read the whole outbox in a write transaction. These serve its selections by age, so
-- a sweep reads only what it deletes.
CREATE INDEX outbox_events_created ON outbox_events(created_at);
CREATE INDEX outbox_deliveries_settled ON outbox_deliveries(created_at) WHERE state <> 'pending';
