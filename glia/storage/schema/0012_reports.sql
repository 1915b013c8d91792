-- What users reported to the server admins: events, whole rooms, or users. One table and
-- one id space for the three kinds, so an admin can walk every report in one list.
CREATE TABLE event_reports (
    report_id BIGINT PRIMARY KEY,
    -- 'event', 'room' or 'user'.
    kind TEXT NOT NULL,
    received_ts BIGINT NOT NULL,
    -- The reporter.
    user_id TEXT NOT NULL,
    -- Event and room reports (NULL for user reports).
    room_id TEXT,
    -- Event reports: the event, and its sender as known when the report arrived, so the
    -- report still names the sender after the event is purged.
    event_id TEXT,
    event_sender TEXT,
    -- User reports: who was reported.
    reported_user_id TEXT,
    reason TEXT,
    score INTEGER
);
CREATE INDEX event_reports_kind ON event_reports (kind, report_id);
CREATE INDEX event_reports_room ON event_reports (room_id);
CREATE INDEX event_reports_sender ON event_reports (event_sender);
INSERT INTO counters (name, value) VALUES ('reports', 0);
