-- Payments that need the shopper (CONTRACT §20): where the provider sends the shopper
-- to confirm the payment this checkout waits for (3-D Secure, a bank's page), and until
-- when the checkout waits for them. Additive only (an expand step): a server of the
-- previous release never reads or writes these columns.
ALTER TABLE checkout_sessions ADD COLUMN payment_action_url TEXT;
ALTER TABLE checkout_sessions ADD COLUMN payment_action_deadline INTEGER;
