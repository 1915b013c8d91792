-- Per-room figures the admin room list sorts and filters on, kept current by the event
-- writer (one upsert per state event), so listing 100,000 rooms never parses state.
CREATE TABLE room_stats (
    room_id TEXT PRIMARY KEY,
    name TEXT,
    canonical_alias TEXT,
    topic TEXT,
    avatar TEXT,
    encryption TEXT,
    join_rules TEXT,
    guest_access TEXT,
    history_visibility TEXT,
    room_type TEXT,
    federatable BOOLEAN NOT NULL DEFAULT TRUE,
    joined_members BIGINT NOT NULL DEFAULT 0,
    joined_local_members BIGINT NOT NULL DEFAULT 0,
    state_events BIGINT NOT NULL DEFAULT 0,
    tombstone_successor TEXT
);
CREATE INDEX room_stats_name ON room_stats (name);
CREATE INDEX room_stats_joined ON room_stats (joined_members);

-- Rooms no local user may join, knock on or be invited to.
CREATE TABLE room_blocks (
    room_id TEXT PRIMARY KEY,
    blocked_by TEXT NOT NULL,
    ts BIGINT NOT NULL
);
