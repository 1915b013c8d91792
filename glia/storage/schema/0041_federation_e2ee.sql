-- End-to-end encryption over federation: EDUs that must not be lost (to-device
-- messages, device-list and signing-key updates) queued per destination, the inbound
-- to-device message IDs already delivered, what we last told other servers about our
-- users' devices, and other servers' users' device lists as their servers answered them.
INSERT INTO counters (name, value) VALUES ('federation_edu', 0);

-- Persistent EDUs per destination, sent in position order; a row goes once the
-- destination accepted the transaction that carried it.
CREATE TABLE federation_edu_queue (
    destination TEXT NOT NULL,
    position BIGINT NOT NULL,
    edu_type TEXT NOT NULL,
    content TEXT NOT NULL,
    queued_ts BIGINT NOT NULL,
    PRIMARY KEY (destination, position)
);

-- m.direct_to_device message IDs received, per sender: a retried EDU is delivered once.
CREATE TABLE federation_inbound_to_device (
    sender TEXT NOT NULL,
    message_id TEXT NOT NULL,
    received_ts BIGINT NOT NULL,
    PRIMARY KEY (sender, message_id)
);
CREATE INDEX federation_inbound_to_device_ts ON federation_inbound_to_device (received_ts);

-- Our users' devices and cross-signing keys as last announced to other servers (a digest
-- per item; kind 'device' or 'signing'), and the stream_id of the user's last
-- m.device_list_update (the next update's prev_id).
CREATE TABLE federation_device_list_sent (
    user_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    item TEXT NOT NULL,
    digest TEXT NOT NULL,
    PRIMARY KEY (user_id, kind, item)
);
CREATE TABLE federation_device_list_ids (
    user_id TEXT PRIMARY KEY,
    stream_id BIGINT NOT NULL
);

-- Other servers' users' device lists: the verified answer of their server's
-- GET /_matrix/federation/v1/user/devices/{userId}; dropped when the user's server
-- announces a change, so the next query asks again.
CREATE TABLE remote_device_lists (
    user_id TEXT PRIMARY KEY,
    stream_id BIGINT NOT NULL,
    answer TEXT NOT NULL,
    fetched_ts BIGINT NOT NULL
);
