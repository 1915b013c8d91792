-- Tokens that gate self-registration (the m.login.registration_token UIA stage).
-- NULL uses_allowed: unlimited; NULL expiry_time (ms): never expires. `pending` counts
-- registrations that passed the token stage but have not created their account yet; it
-- is the number of rows in registration_token_reservations for the token.
CREATE TABLE registration_tokens (
    token TEXT PRIMARY KEY,
    uses_allowed BIGINT,
    pending BIGINT NOT NULL DEFAULT 0,
    completed BIGINT NOT NULL DEFAULT 0,
    expiry_time BIGINT,
    created_ts BIGINT NOT NULL
);
CREATE INDEX registration_tokens_created ON registration_tokens (created_ts);

-- One row per UIA session that completed the token stage and still holds a use: removed
-- when the account is created (completed += 1), when registration fails, or once older
-- than a UIA session may live (a crashed request), each time giving the use back.
CREATE TABLE registration_token_reservations (
    session_id TEXT PRIMARY KEY,
    token TEXT NOT NULL REFERENCES registration_tokens (token) ON DELETE CASCADE,
    created_ts BIGINT NOT NULL
);
CREATE INDEX registration_token_reservations_created
    ON registration_token_reservations (created_ts);
CREATE INDEX registration_token_reservations_token ON registration_token_reservations (token);

-- Which account registered with which token (Glia's provenance record). Kept when the
-- token is deleted, so an admin can still find the cohort a revoked token let in.
CREATE TABLE registration_token_users (
    user_id TEXT PRIMARY KEY,
    token TEXT NOT NULL,
    ts BIGINT NOT NULL
);
CREATE INDEX registration_token_users_token ON registration_token_users (token, ts);
