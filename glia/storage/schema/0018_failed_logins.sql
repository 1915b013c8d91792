-- Failed password attempts per account (login and UIA password stages), shared by every
-- process: a token bucket (tokens, updated_ms) plus the growing back-off (strikes,
-- blocked_until_ms). A row is dropped on a right password or once expires_ms passes;
-- version makes each update a compare-and-swap, so concurrent failures all count.
CREATE TABLE failed_logins (
    user_id TEXT PRIMARY KEY,
    tokens DOUBLE PRECISION NOT NULL,
    updated_ms BIGINT NOT NULL,
    strikes INTEGER NOT NULL,
    blocked_until_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL,
    version BIGINT NOT NULL
);
CREATE INDEX failed_logins_expires ON failed_logins (expires_ms);
