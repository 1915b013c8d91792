-- The room state after an event, where it differs from the room's state history
-- (room_state) at the event's stream position. An event received on a fork of the room
-- has state of its own branch, not the room's resolved state written at its position;
-- these rows keep the difference (state_event_id NULL: the key is absent after the
-- event). Events on an unforked room have no rows, so this costs only what forks differ.
CREATE TABLE event_state_overrides (
    event_id TEXT NOT NULL,
    room_id TEXT NOT NULL,
    type TEXT NOT NULL,
    state_key TEXT NOT NULL,
    state_event_id TEXT,
    PRIMARY KEY (event_id, type, state_key)
);

-- A room's rows go with the room when it is purged.
CREATE INDEX event_state_overrides_room ON event_state_overrides (room_id);

-- Soft-failed events are not in the timeline, so they have no stream position; later
-- events can still name them as prev_events. Their state is kept as overrides over the
-- room's state history at the position recorded here (the room's state when they came).
CREATE TABLE event_state_anchors (
    event_id TEXT PRIMARY KEY,
    room_id TEXT NOT NULL,
    stream BIGINT NOT NULL
);

CREATE INDEX event_state_anchors_room ON event_state_anchors (room_id);
