-- Checkouts from the shop's own priced cart (CONTRACT §24). Additive only (an expand
-- step): a server of the previous release never reads or writes these columns.

-- The shop's metadata of a checkout its backend made (a JSON object of strings); NULL
-- for a checkout of our own cart. Its presence marks the checkouts the backend key may
-- read.
ALTER TABLE checkout_sessions ADD COLUMN metadata TEXT;

-- The same metadata on the checkout's order, so the order and its events carry it
-- after the checkout itself is purged.
ALTER TABLE orders ADD COLUMN metadata TEXT;
