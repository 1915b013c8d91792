-- The stripped state (invite_room_state, knock_room_state) another server sent with an
-- invite or knock of our user into a room we are not in: shown in /sync until they join.
CREATE TABLE remote_stripped_state (
    event_id TEXT PRIMARY KEY,
    room_id TEXT NOT NULL,
    events TEXT NOT NULL
);
CREATE INDEX remote_stripped_state_room ON remote_stripped_state (room_id);
