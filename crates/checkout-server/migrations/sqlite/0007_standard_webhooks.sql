-- Order events as receivers verify them (CONTRACT §21): Standard Webhooks secrets with a
-- rotation (the previous secret still signs until previous_secret_until), the event
-- types an endpoint subscribes to (comma-separated; NULL: all), and endpoints their
-- receiver disabled with 410 Gone (disabled_at; the admin enables them again). Stored
-- secrets stay valid: "whsec_" and 64 hex digits read as standard base64 too.
ALTER TABLE webhook_endpoints ADD COLUMN previous_secret TEXT;
ALTER TABLE webhook_endpoints ADD COLUMN previous_secret_until INTEGER;
ALTER TABLE webhook_endpoints ADD COLUMN event_types TEXT;
ALTER TABLE webhook_endpoints ADD COLUMN disabled_at INTEGER;
ALTER TABLE webhook_endpoints ADD COLUMN disabled_reason TEXT;

-- Each endpoint claims its own due deliveries (one slow endpoint delays no other).
DROP INDEX outbox_deliveries_due;
CREATE INDEX outbox_deliveries_lane ON outbox_deliveries(endpoint_id, next_attempt_at, event_seq) WHERE state = 'pending';
