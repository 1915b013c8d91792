-- Synapse's _allow_cross_signing_replacement_without_uia: until updatable_before_ms the
-- user may replace their master cross-signing key without user-interactive auth. Cleared
-- when the master key is replaced (the window covers one replacement, as in Synapse).
CREATE TABLE cross_signing_replacement_windows (
    user_id TEXT PRIMARY KEY,
    updatable_before_ms BIGINT NOT NULL
);

-- Remote servers Glia sends to, with their retry state (Synapse's destinations table, the
-- columns its admin API reports), and the last event of each room queued for each. The
-- federation sender fills them; until it exists they stay empty and the admin API says so.
CREATE TABLE federation_destinations (
    destination TEXT PRIMARY KEY,
    retry_last_ts BIGINT,
    retry_interval BIGINT,
    failure_ts BIGINT,
    last_successful_stream_ordering BIGINT
);
CREATE TABLE federation_destination_rooms (
    destination TEXT NOT NULL,
    room_id TEXT NOT NULL,
    stream_ordering BIGINT NOT NULL,
    PRIMARY KEY (destination, room_id)
);
