-- The shop's own customers (CONTRACT §19). Additive only (an expand step): a server of
-- the previous release serves this database unchanged, as long as no checkout was
-- stored INACTIVE/LOGIN_EXPIRED (a status it does not know and reports as corrupt).

-- A customer of the shop's identity provider: `external_id` is the token's `sub`,
-- with `email` and `name` when the token has them. Such a row has no password
-- (`password_hash` is empty, so no password matches) and a username no built-in
-- account can take. `tokens_valid_after`: tokens issued at or before it are refused
-- (set by a back-channel logout of the customer).
ALTER TABLE users ADD COLUMN external_id TEXT;
ALTER TABLE users ADD COLUMN email TEXT;
ALTER TABLE users ADD COLUMN name TEXT;
ALTER TABLE users ADD COLUMN tokens_valid_after INTEGER;
CREATE UNIQUE INDEX users_external_id ON users(external_id);

-- When the latest login that acted on the checkout ends (NULL for checkouts from
-- before), and that login's `sid` (OpenID Connect session id) when it had one.
ALTER TABLE checkout_sessions ADD COLUMN login_expires_at INTEGER;
ALTER TABLE checkout_sessions ADD COLUMN login_sid TEXT;
-- The sweeper stores read-time ends of logins, as it does expiry.
CREATE INDEX checkout_sessions_login_end
    ON checkout_sessions(login_expires_at) WHERE status = 'ACTIVE';
CREATE INDEX checkout_sessions_login_sid
    ON checkout_sessions(login_sid) WHERE status IN ('ACTIVE', 'PAYMENT_PENDING');

-- Logout tokens already used (their `jti`), kept until the token would have expired.
CREATE TABLE used_logout_tokens (
    jti        TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
);
CREATE INDEX used_logout_tokens_expiry ON used_logout_tokens(expires_at);

-- Sign-ins of the shop's tokens that ended before the tokens expire: one token signed
-- out here (`token:` + its SHA-256), or an identity provider's session ended by a
-- back-channel logout (`sid:` + its id). Kept until `until`, then purged.
CREATE TABLE ended_logins (
    key   TEXT PRIMARY KEY,
    until INTEGER NOT NULL
);
CREATE INDEX ended_logins_until ON ended_logins(until);
