-- Room-wide notifications: what an event does for every local member joined when it was
-- sent (but its sender) who has no row of their own for it in push_notifications. In a
-- room of thousands, most members share one outcome; one row here instead of one per
-- member keeps an event's cost flat. Counts and the notification list join these rows
-- with each user's membership intervals in room_state at read time.
CREATE TABLE push_room_notifications (
    stream BIGINT PRIMARY KEY,
    room_id TEXT NOT NULL REFERENCES rooms (room_id) ON DELETE CASCADE,
    event_id TEXT NOT NULL REFERENCES events (event_id) ON DELETE CASCADE,
    sender TEXT NOT NULL,
    thread_id TEXT NOT NULL,
    actions TEXT NOT NULL,
    highlight BOOLEAN NOT NULL,
    ts BIGINT NOT NULL
);
CREATE INDEX push_room_notifications_room ON push_room_notifications (room_id, stream);
CREATE INDEX push_room_notifications_event ON push_room_notifications (event_id);
CREATE INDEX push_room_notifications_ts ON push_room_notifications (ts);

-- A member's own row now also says when the room-wide outcome is not theirs: notify
-- FALSE rows only exclude the member from the event's room-wide notification.
ALTER TABLE push_notifications ADD COLUMN notify BOOLEAN NOT NULL DEFAULT TRUE;
