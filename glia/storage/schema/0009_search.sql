-- Full-text search over m.room.message bodies, room names and topics: one row per
-- indexed event. The searchable text itself is engine-specific (0009_search.sqlite.sql:
-- an FTS5 index over a `terms` column; 0009_search.postgres.sql: a tsvector column with a
-- GIN index). No foreign keys: a room purge removes these rows through the search store.
CREATE TABLE event_search (
    stream_ordering BIGINT PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    room_id TEXT NOT NULL,
    sender TEXT NOT NULL,
    type TEXT NOT NULL,
    -- content.url is a string (the filter's contains_url).
    contains_url BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX event_search_room ON event_search (room_id, stream_ordering);
