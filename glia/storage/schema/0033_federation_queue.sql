-- Outbound federation: the PDUs each destination still has to receive, in the order of
-- their stream positions. A row goes once the destination acknowledged the transaction
-- that carried it, so a restart resumes where the sender stopped.
CREATE TABLE federation_queue (
    destination TEXT NOT NULL,
    stream_ordering BIGINT NOT NULL,
    event_id TEXT NOT NULL,
    queued_ts BIGINT NOT NULL,
    PRIMARY KEY (destination, stream_ordering)
);

-- The last error of each destination's sender (what the diagnostics show).
CREATE TABLE federation_queue_errors (
    destination TEXT PRIMARY KEY,
    error TEXT NOT NULL,
    error_ts BIGINT NOT NULL
);

-- Inbound transactions already answered, per origin: a retried transaction gets the
-- same answer and is not applied twice.
CREATE TABLE federation_inbound_txns (
    origin TEXT NOT NULL,
    txn_id TEXT NOT NULL,
    response TEXT NOT NULL,
    received_ts BIGINT NOT NULL,
    PRIMARY KEY (origin, txn_id)
);

-- Received events that passed their own auth events but not the room's current state
-- (soft-failed): kept, as the spec says, but never shown to clients nor used as
-- prev_events.
CREATE TABLE federation_soft_failed (
    event_id TEXT PRIMARY KEY,
    room_id TEXT NOT NULL,
    origin TEXT NOT NULL,
    pdu TEXT NOT NULL,
    reason TEXT NOT NULL,
    received_ts BIGINT NOT NULL
);

-- A room's soft-failed events go with the room when it is purged.
CREATE INDEX federation_soft_failed_room ON federation_soft_failed (room_id);
