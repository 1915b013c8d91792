-- 3PID validation (requestToken → a token sent by mail → submit_token): one session per
-- (client_secret, medium, address, purpose), as the spec's idempotent requestToken wants.
CREATE TABLE threepid_sessions (
    session_id TEXT PRIMARY KEY,
    client_secret TEXT NOT NULL,
    medium TEXT NOT NULL,
    address TEXT NOT NULL,
    -- register | add | password_reset
    purpose TEXT NOT NULL,
    last_send_attempt BIGINT NOT NULL,
    token TEXT NOT NULL,
    next_link TEXT,
    created_ts BIGINT NOT NULL,
    expires_ts BIGINT NOT NULL,
    validated_ts BIGINT
);
CREATE UNIQUE INDEX threepid_sessions_request
    ON threepid_sessions (client_secret, medium, address, purpose);
CREATE INDEX threepid_sessions_expiry ON threepid_sessions (expires_ts);

-- Which identity server each of a user's 3PIDs was bound at through this server, so
-- unbinding and deleting can tell that server.
CREATE TABLE threepid_bindings (
    user_id TEXT NOT NULL,
    medium TEXT NOT NULL,
    address TEXT NOT NULL,
    id_server TEXT NOT NULL,
    PRIMARY KEY (user_id, medium, address, id_server)
);
