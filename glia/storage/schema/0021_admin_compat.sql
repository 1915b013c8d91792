-- Copies of other servers' media kept to serve them locally (Synapse's
-- remote_media_cache). Filled by the federation media fetcher; purge_media_cache empties
-- the rows (and their files) not read since a given time. Quarantined copies stay so a
-- quarantine keeps blocking a fresh download.
CREATE TABLE remote_media_cache (
    media_origin TEXT NOT NULL,
    media_id TEXT NOT NULL,
    content_type TEXT,
    upload_name TEXT,
    size BIGINT NOT NULL,
    created_ts BIGINT NOT NULL,
    last_access_ts BIGINT NOT NULL,
    quarantined_by TEXT,
    PRIMARY KEY (media_origin, media_id)
);
CREATE INDEX remote_media_cache_last_access ON remote_media_cache (last_access_ts);

-- Account validity (Synapse's account_validity table): when each account expires, whether
-- its renewal notice went out, and the token that renews it.
CREATE TABLE account_validity (
    user_id TEXT PRIMARY KEY,
    expiration_ts_ms BIGINT NOT NULL,
    renewal_notice_sent BOOLEAN NOT NULL DEFAULT FALSE,
    renewal_token TEXT UNIQUE,
    token_used_ts_ms BIGINT
);
CREATE INDEX account_validity_expiration ON account_validity (expiration_ts_ms);

-- Whether the background-update jobs (Synapse's background_updates/enabled) may run: one
-- row, shared by every process.
CREATE TABLE background_updates_switch (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    enabled BOOLEAN NOT NULL
);
INSERT INTO background_updates_switch (id, enabled) VALUES (1, TRUE);
