-- Outliers: events of a room fetched from another server only because a received event
-- names them as auth events. Checked (signatures, hash, their own auth events) and kept
-- to authorise events, never part of the timeline nor of the room's state.
CREATE TABLE federation_outliers (
    event_id TEXT PRIMARY KEY,
    room_id TEXT NOT NULL,
    origin TEXT NOT NULL,
    pdu TEXT NOT NULL,
    received_ts BIGINT NOT NULL
);

-- A room's outliers go with the room when it is purged.
CREATE INDEX federation_outliers_room ON federation_outliers (room_id);
