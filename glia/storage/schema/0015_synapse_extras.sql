-- Per-user override of the message rate limit (Synapse's override_ratelimit). The HTTP
-- layer reads it (cached briefly per process); a 0 rate exempts the user from every
-- per-user rate limit. Kept when the account is deactivated, as in Synapse.
CREATE TABLE ratelimit_overrides (
    user_id TEXT PRIMARY KEY,
    messages_per_second BIGINT NOT NULL,
    burst_count BIGINT NOT NULL
);

-- Per-user experimental-feature flags (Synapse's experimental_features admin API). Only
-- the feature names Synapse knows are stored.
CREATE TABLE user_experimental_features (
    user_id TEXT NOT NULL,
    feature TEXT NOT NULL,
    enabled BOOLEAN NOT NULL,
    PRIMARY KEY (user_id, feature)
);

-- The change feed of quarantine flips (Synapse's media/quarantine_changes): one row per
-- item whose quarantine changed, numbered by a position allocated from the single row
-- below. Writers lock that row before touching media rows and hold it until commit, so
-- positions become visible in order and a reader never skips one that commits late.
CREATE TABLE media_quarantine_position (
    id INTEGER PRIMARY KEY,
    position BIGINT NOT NULL
);
CREATE TABLE media_quarantine_changes (
    stream_id BIGINT PRIMARY KEY,
    media_id TEXT NOT NULL,
    quarantined BOOLEAN NOT NULL
);
-- Media quarantined before the feed existed opens it, so a reader starting at 0 learns
-- the whole current quarantine set.
INSERT INTO media_quarantine_changes (stream_id, media_id, quarantined)
    SELECT ROW_NUMBER() OVER (ORDER BY media_id), media_id, TRUE FROM media
    WHERE quarantined_by IS NOT NULL;
INSERT INTO media_quarantine_position (id, position)
    SELECT 1, COUNT(*) FROM media_quarantine_changes;

-- Pagination state of the space hierarchy walk (client and admin): what is left to visit
-- and what was visited, under a random token. Rows live five minutes; any process can
-- continue a walk another began.
CREATE TABLE space_hierarchy_sessions (
    token TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    room_id TEXT NOT NULL,
    suggested_only BOOLEAN NOT NULL,
    max_depth BIGINT,
    -- Walked for the admin API (every local room, no visibility check).
    admin BOOLEAN NOT NULL,
    -- JSON: [[room_id, depth], ...], the next room last.
    queue TEXT NOT NULL,
    -- JSON: [room_id, ...].
    processed TEXT NOT NULL,
    created_ts BIGINT NOT NULL
);
CREATE INDEX space_hierarchy_sessions_created ON space_hierarchy_sessions (created_ts);
