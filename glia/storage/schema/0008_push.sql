-- Push: users' rules, the notifications the rules caused, read positions, pushers and
-- the durable queue of pushes to HTTP gateways.

-- A user's own push rules. The server-default rules live in code
-- (glia/protocol/push_rules.py); only a user's changes to those are stored, below.
-- priority orders the rules of one kind: higher is more important.
CREATE TABLE push_rules (
    user_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    priority BIGINT NOT NULL,
    -- JSON array (override/underride rules), else NULL.
    conditions TEXT,
    -- Content rules only.
    pattern TEXT,
    -- JSON array.
    actions TEXT NOT NULL,
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    PRIMARY KEY (user_id, kind, rule_id)
);

-- A user's changes to server-default rules; NULL keeps the default's value.
CREATE TABLE push_rule_defaults (
    user_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    enabled BOOLEAN,
    actions TEXT,
    PRIMARY KEY (user_id, kind, rule_id)
);

-- The stream position of each user's last push rule change (m.push_rules in /sync).
CREATE TABLE push_rules_stream (
    user_id TEXT PRIMARY KEY,
    stream BIGINT NOT NULL
);

-- One row per event a local user was notified about (their rules said "notify"), written
-- in the event's own transaction; stream is the event's stream ordering. Rows go with
-- their event when it is purged.
CREATE TABLE push_notifications (
    user_id TEXT NOT NULL,
    stream BIGINT NOT NULL,
    room_id TEXT NOT NULL,
    event_id TEXT NOT NULL REFERENCES events (event_id) ON DELETE CASCADE,
    -- The thread root for events in a thread, 'main' otherwise.
    thread_id TEXT NOT NULL,
    -- JSON array: the matching rule's actions.
    actions TEXT NOT NULL,
    highlight BOOLEAN NOT NULL,
    ts BIGINT NOT NULL,
    PRIMARY KEY (user_id, stream)
);
CREATE INDEX push_notifications_user_room ON push_notifications (user_id, room_id, stream);
CREATE INDEX push_notifications_event ON push_notifications (event_id);
CREATE INDEX push_notifications_ts ON push_notifications (ts);

-- How far each user has read in each room (their latest m.read / m.read.private receipt,
-- or their own latest event): notifications at or before stream are read.
CREATE TABLE push_read_markers (
    user_id TEXT NOT NULL,
    room_id TEXT NOT NULL REFERENCES rooms (room_id) ON DELETE CASCADE,
    stream BIGINT NOT NULL,
    PRIMARY KEY (user_id, room_id)
);
CREATE INDEX push_read_markers_room ON push_read_markers (room_id);

-- Where to send a user's notifications. A pusher belongs to the device that set it and
-- goes when that device is deleted or logs out.
CREATE TABLE pushers (
    user_id TEXT NOT NULL,
    app_id TEXT NOT NULL,
    pushkey TEXT NOT NULL,
    -- 'http' or 'email'.
    kind TEXT NOT NULL,
    app_display_name TEXT NOT NULL,
    device_display_name TEXT NOT NULL,
    profile_tag TEXT NOT NULL,
    lang TEXT NOT NULL,
    -- JSON object; for http pushers data.url is where the gateway listens.
    data TEXT NOT NULL,
    device_id TEXT,
    -- When the pushkey was last set, ms.
    pushkey_ts BIGINT NOT NULL,
    -- Delivery health for admins: last success, and since when deliveries fail.
    last_success_ts BIGINT,
    failing_since_ts BIGINT,
    PRIMARY KEY (app_id, pushkey, user_id),
    FOREIGN KEY (user_id, device_id) REFERENCES devices (user_id, device_id) ON DELETE CASCADE
);
CREATE INDEX pushers_user ON pushers (user_id, device_id);

-- Pushes still to make: one row per notification and HTTP pusher, written with the
-- notification (so a crash or restart loses none) and deleted once the gateway took it
-- (or after a day of failures). next_attempt_ts is also the lease of a claimed row.
CREATE TABLE push_deliveries (
    user_id TEXT NOT NULL,
    app_id TEXT NOT NULL,
    pushkey TEXT NOT NULL,
    stream BIGINT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_ts BIGINT NOT NULL,
    created_ts BIGINT NOT NULL,
    PRIMARY KEY (user_id, app_id, pushkey, stream),
    FOREIGN KEY (app_id, pushkey, user_id) REFERENCES pushers (app_id, pushkey, user_id)
        ON DELETE CASCADE,
    FOREIGN KEY (user_id, stream) REFERENCES push_notifications (user_id, stream)
        ON DELETE CASCADE
);
CREATE INDEX push_deliveries_due ON push_deliveries (next_attempt_ts);
CREATE INDEX push_deliveries_pusher ON push_deliveries (app_id, pushkey, user_id);
CREATE INDEX push_deliveries_notification ON push_deliveries (user_id, stream);
