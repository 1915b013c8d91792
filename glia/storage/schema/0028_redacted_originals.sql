-- The content a redaction removed, kept for redaction_retention_period so admins can
-- still see the evidence (fetch_event), as Synapse keeps it for 7 days.
CREATE TABLE redacted_originals (
    event_id TEXT PRIMARY KEY,
    room_id TEXT NOT NULL,
    pdu TEXT NOT NULL,
    redacted_ts BIGINT NOT NULL
);
CREATE INDEX redacted_originals_ts ON redacted_originals (redacted_ts);
CREATE INDEX redacted_originals_room ON redacted_originals (room_id);
