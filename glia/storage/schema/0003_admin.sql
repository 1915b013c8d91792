-- Every state-changing admin request: who did what to what, with which parameters
-- (secrets stripped), and how it ended. Written in the same transaction as the change.
CREATE TABLE audit_log (
    audit_id BIGINT PRIMARY KEY,
    ts BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT,
    params TEXT NOT NULL,
    outcome TEXT NOT NULL,
    -- The HTTP status the request ended with (or NULL when written by a job).
    status INTEGER
);
CREATE INDEX audit_log_actor ON audit_log (actor, audit_id);
CREATE INDEX audit_log_action ON audit_log (action, audit_id);
CREATE INDEX audit_log_target ON audit_log (target, audit_id);
CREATE INDEX audit_log_ts ON audit_log (ts);
INSERT INTO counters (name, value) VALUES ('audit', 0);

-- Long admin operations. A worker claims a job (claimed_by, heartbeat_ts); a job whose
-- worker stopped heartbeating (crash, kill -9) is claimed again and restarts: runners are
-- written to be resumable.
CREATE TABLE jobs (
    job_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    params TEXT NOT NULL,
    status TEXT NOT NULL,
    done BIGINT NOT NULL DEFAULT 0,
    total BIGINT,
    result TEXT,
    error TEXT,
    started_by TEXT NOT NULL,
    created_ts BIGINT NOT NULL,
    started_ts BIGINT,
    finished_ts BIGINT,
    claimed_by TEXT,
    heartbeat_ts BIGINT,
    -- What the job is about (a room ID for room deletes), for delete_status lookups.
    target TEXT
);
CREATE INDEX jobs_status ON jobs (status, created_ts);
CREATE INDEX jobs_target ON jobs (target, created_ts);

-- The addresses each device was seen from, for whois (one row per device and IP).
CREATE TABLE client_ips (
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    ip TEXT NOT NULL,
    user_agent TEXT,
    last_seen BIGINT NOT NULL,
    PRIMARY KEY (user_id, device_id, ip)
);

-- Account flags the admin API reports and sets.
ALTER TABLE users ADD COLUMN erased BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN shadow_banned BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN suspended BOOLEAN NOT NULL DEFAULT FALSE;

-- Third-party identifiers (email, msisdn) an admin attached to an account.
CREATE TABLE user_threepids (
    user_id TEXT NOT NULL REFERENCES users (user_id),
    medium TEXT NOT NULL,
    address TEXT NOT NULL,
    added_at BIGINT NOT NULL,
    validated_at BIGINT NOT NULL,
    PRIMARY KEY (medium, address)
);
CREATE INDEX user_threepids_user ON user_threepids (user_id);

-- SSO identities mapped to accounts.
CREATE TABLE user_external_ids (
    auth_provider TEXT NOT NULL,
    external_id TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (user_id),
    PRIMARY KEY (auth_provider, external_id)
);
CREATE INDEX user_external_ids_user ON user_external_ids (user_id);
