-- Stored filters (POST /user/{userId}/filter); IDs count up per user.
CREATE TABLE filters (
    user_id TEXT NOT NULL,
    filter_id BIGINT NOT NULL,
    definition TEXT NOT NULL,
    PRIMARY KEY (user_id, filter_id)
);

-- Account data, global (room_id = '') and per room. stream is the position of the last
-- change, so /sync sends what changed since a token; m.tag lives here as room data.
CREATE TABLE account_data (
    user_id TEXT NOT NULL,
    room_id TEXT NOT NULL,
    type TEXT NOT NULL,
    content TEXT NOT NULL,
    stream BIGINT NOT NULL,
    PRIMARY KEY (user_id, room_id, type)
);
CREATE INDEX account_data_stream ON account_data (user_id, stream);

-- The latest receipt of each kind per user, room and thread ('' = unthreaded).
CREATE TABLE receipts (
    room_id TEXT NOT NULL,
    receipt_type TEXT NOT NULL,
    user_id TEXT NOT NULL,
    thread_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    ts BIGINT NOT NULL,
    stream BIGINT NOT NULL,
    PRIMARY KEY (room_id, receipt_type, user_id, thread_id)
);
CREATE INDEX receipts_stream ON receipts (room_id, stream);

-- Who is typing where, until when. typing_rooms.stream moves on every start and stop
-- (including expiry), so /sync knows which rooms' typing lists to resend.
CREATE TABLE typing (
    room_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    expires_ts BIGINT NOT NULL,
    PRIMARY KEY (room_id, user_id)
);
CREATE INDEX typing_expiry ON typing (expires_ts);
CREATE TABLE typing_rooms (
    room_id TEXT PRIMARY KEY,
    stream BIGINT NOT NULL
);

CREATE TABLE presence (
    user_id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    status_msg TEXT,
    last_active_ts BIGINT NOT NULL,
    last_sync_ts BIGINT NOT NULL,
    stream BIGINT NOT NULL
);
CREATE INDEX presence_stream ON presence (stream);

-- Room events in stream order per room (sync's "what is new in this room").
CREATE INDEX events_room_stream ON events (room_id, stream_ordering);
-- A user's membership changes over time (sync's "rooms joined or left since").
CREATE INDEX room_state_member_changes ON room_state (state_key, from_stream)
    WHERE type = 'm.room.member';
