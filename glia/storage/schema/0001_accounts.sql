-- Counters back stream positions and ids (PostgreSQL: one sequence per row, see migrate.py).
CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('stream', 0);

CREATE TABLE users (
    user_id TEXT PRIMARY KEY,
    -- bcrypt, in the format Synapse and Dendrite store; NULL: no password login.
    password_hash TEXT,
    admin BOOLEAN NOT NULL DEFAULT FALSE,
    user_type TEXT,
    is_guest BOOLEAN NOT NULL DEFAULT FALSE,
    deactivated BOOLEAN NOT NULL DEFAULT FALSE,
    locked BOOLEAN NOT NULL DEFAULT FALSE,
    creation_ts BIGINT NOT NULL
);
-- Clashes are case-insensitive, as in Synapse.
CREATE UNIQUE INDEX users_lower_user_id ON users (lower(user_id));

CREATE TABLE profiles (
    user_id TEXT PRIMARY KEY REFERENCES users (user_id),
    displayname TEXT,
    avatar_url TEXT
);

CREATE TABLE devices (
    user_id TEXT NOT NULL REFERENCES users (user_id),
    device_id TEXT NOT NULL,
    display_name TEXT,
    created_ts BIGINT NOT NULL,
    last_seen_ts BIGINT,
    last_seen_ip TEXT,
    last_seen_user_agent TEXT,
    PRIMARY KEY (user_id, device_id)
);

-- Only a SHA-256 of each token is stored: a database dump leaks no usable token.
CREATE TABLE access_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (user_id),
    device_id TEXT NOT NULL,
    created_ts BIGINT NOT NULL
);
CREATE INDEX access_tokens_device ON access_tokens (user_id, device_id);

-- Shared-secret registration nonces live in the database so any process can check them.
CREATE TABLE registration_nonces (
    nonce TEXT PRIMARY KEY,
    created_ts BIGINT NOT NULL
);

-- User-interactive authentication sessions.
CREATE TABLE uia_sessions (
    session_id TEXT PRIMARY KEY,
    -- What the session authorizes (method + path + body hash), so it can't be replayed.
    scope TEXT NOT NULL,
    user_id TEXT,
    completed TEXT NOT NULL,
    created_ts BIGINT NOT NULL
);
