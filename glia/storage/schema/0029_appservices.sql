-- Application services: which one registered each of its users, what each is owed
-- (events, ephemeral events, to-device messages, device lists) in order, and how
-- delivery to each is going.
ALTER TABLE users ADD COLUMN appservice_id TEXT;
INSERT INTO counters (name, value) VALUES ('appservice_queue', 0);

-- One row per item owed to a service, in delivery order (position). An item joins a
-- transaction (txn_id) when the sender first sends it; it stays in that transaction,
-- under that txnId, until the service accepts it, so a redelivery is the same
-- transaction. Events are keyed by their stream position too: the event fan-out may
-- run twice on one event (at least once), the service gets it once.
CREATE TABLE appservice_queue (
    position BIGINT PRIMARY KEY,
    as_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    stream_ordering BIGINT,
    content TEXT NOT NULL,
    txn_id BIGINT
);
CREATE UNIQUE INDEX appservice_queue_event ON appservice_queue (as_id, stream_ordering);
CREATE INDEX appservice_queue_order ON appservice_queue (as_id, txn_id, position);

-- Delivery state per service: the last txnId handed out, whether an admin paused it,
-- and its health (last success, failing since, last error, next attempt). The lease
-- keeps one process sending to a service when several share the database.
CREATE TABLE appservice_state (
    as_id TEXT PRIMARY KEY,
    last_txn_id BIGINT NOT NULL DEFAULT 0,
    paused BOOLEAN NOT NULL DEFAULT FALSE,
    last_success_ts BIGINT,
    failing_since_ts BIGINT,
    last_error TEXT,
    next_attempt_ts BIGINT NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until BIGINT NOT NULL DEFAULT 0
);

-- Rooms an application service published in its network's room directory.
CREATE TABLE appservice_room_list (
    as_id TEXT NOT NULL,
    network_id TEXT NOT NULL,
    room_id TEXT NOT NULL,
    PRIMARY KEY (as_id, network_id, room_id)
);
