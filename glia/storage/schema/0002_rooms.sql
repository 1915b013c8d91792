CREATE TABLE rooms (
    room_id TEXT PRIMARY KEY,
    room_version TEXT NOT NULL,
    creator TEXT NOT NULL,
    created_ts BIGINT NOT NULL,
    -- Published in this server's room directory (visibility "public").
    published BOOLEAN NOT NULL DEFAULT FALSE
);

-- Every event as its full signed PDU. stream_ordering orders everything /sync reads;
-- (depth, stream_ordering) is the topological order /messages pages through.
CREATE TABLE events (
    stream_ordering BIGINT PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    room_id TEXT NOT NULL REFERENCES rooms (room_id),
    depth BIGINT NOT NULL,
    type TEXT NOT NULL,
    state_key TEXT,
    sender TEXT NOT NULL,
    origin_server_ts BIGINT NOT NULL,
    pdu TEXT NOT NULL,
    -- Server-added unsigned data fixed at write time (prev_content, redacted_because).
    unsigned TEXT NOT NULL DEFAULT '{}',
    redacted_by TEXT,
    -- m.relates_to, for /relations and /threads.
    relates_to TEXT,
    rel_type TEXT,
    -- content.url is a string (the contains_url filter).
    contains_url BOOLEAN NOT NULL DEFAULT FALSE,
    -- Idempotency of PUT /send/{type}/{txnId}: scoped to the sending device.
    sender_device TEXT,
    txn_id TEXT
);
CREATE INDEX events_room_topological ON events (room_id, depth, stream_ordering);
CREATE INDEX events_room_ts ON events (room_id, origin_server_ts);
CREATE INDEX events_relations ON events (relates_to, rel_type);
CREATE UNIQUE INDEX events_txn ON events (sender, sender_device, txn_id);

-- Room state as deltas over stream positions: a row is in force from from_stream
-- (inclusive) until to_stream (exclusive; NULL = current). One row per state change,
-- so history costs what changed, and purging a room deletes its rows.
CREATE TABLE room_state (
    room_id TEXT NOT NULL REFERENCES rooms (room_id),
    type TEXT NOT NULL,
    state_key TEXT NOT NULL,
    event_id TEXT NOT NULL,
    membership TEXT,
    from_stream BIGINT NOT NULL,
    to_stream BIGINT
);
CREATE UNIQUE INDEX room_state_current ON room_state (room_id, type, state_key)
    WHERE to_stream IS NULL;
CREATE INDEX room_state_history ON room_state (room_id, from_stream);
CREATE INDEX room_state_user_memberships ON room_state (state_key, membership)
    WHERE to_stream IS NULL AND type = 'm.room.member';

-- The events new local events point at (prev_events).
CREATE TABLE forward_extremities (
    room_id TEXT NOT NULL REFERENCES rooms (room_id),
    event_id TEXT NOT NULL,
    PRIMARY KEY (room_id, event_id)
);

-- Rooms a user has forgotten (hidden from them after leaving).
CREATE TABLE forgotten_rooms (
    user_id TEXT NOT NULL,
    room_id TEXT NOT NULL,
    PRIMARY KEY (user_id, room_id)
);

CREATE TABLE room_aliases (
    room_alias TEXT PRIMARY KEY,
    room_id TEXT NOT NULL REFERENCES rooms (room_id),
    creator TEXT NOT NULL,
    created_ts BIGINT NOT NULL
);
CREATE INDEX room_aliases_room ON room_aliases (room_id);
