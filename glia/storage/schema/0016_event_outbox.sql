-- The event writer's transactional outbox. Each event gets a row in the transaction that
-- writes it; after the commit the writer runs the event's subscribers (search index, push
-- evaluation, wake-ups, …) and deletes the row. A row left behind — a subscriber failed,
-- or the process died between the commit and the fan-out — is picked up by the retry
-- loop of any process once due_ts has passed. Rows go with their event when it is purged.
CREATE TABLE event_outbox (
    stream_ordering BIGINT PRIMARY KEY REFERENCES events (stream_ordering) ON DELETE CASCADE,
    event_id TEXT NOT NULL,
    -- Until then the row belongs to whoever runs it: the writer's own fan-out right
    -- after the commit, or a retry holding its lease; afterwards, to the next retry.
    due_ts BIGINT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    -- JSON array of the subscribers that still have to handle the event; NULL: all.
    pending TEXT
);
CREATE INDEX event_outbox_due ON event_outbox (due_ts);
