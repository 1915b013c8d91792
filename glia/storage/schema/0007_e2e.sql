-- End-to-end encryption: device keys, one-time and fallback keys, cross-signing keys and
-- signatures, device-list changes, the to-device inbox and server-side key backups.
-- Everything that belongs to one device references it ON DELETE CASCADE, so however a
-- device goes (logout, deletion, password change, deactivation) its keys and its unread
-- to-device messages go with it.

-- A device's identity keys, as uploaded and self-signed (canonical JSON).
CREATE TABLE e2e_device_keys (
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    key_json TEXT NOT NULL,
    ts BIGINT NOT NULL,
    PRIMARY KEY (user_id, device_id),
    FOREIGN KEY (user_id, device_id) REFERENCES devices (user_id, device_id) ON DELETE CASCADE
);

-- Unclaimed one-time keys; a claim deletes the row it hands out. Keys are given out in
-- upload order (ts), as the spec asks.
CREATE TABLE e2e_one_time_keys (
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    algorithm TEXT NOT NULL,
    key_id TEXT NOT NULL,
    key_json TEXT NOT NULL,
    ts BIGINT NOT NULL,
    PRIMARY KEY (user_id, device_id, algorithm, key_id),
    FOREIGN KEY (user_id, device_id) REFERENCES devices (user_id, device_id) ON DELETE CASCADE
);
CREATE INDEX e2e_one_time_keys_order ON e2e_one_time_keys (user_id, device_id, algorithm, ts);

-- At most one fallback key per device and algorithm; `used` once a claim handed it out.
CREATE TABLE e2e_fallback_keys (
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    algorithm TEXT NOT NULL,
    key_id TEXT NOT NULL,
    key_json TEXT NOT NULL,
    used BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (user_id, device_id, algorithm),
    FOREIGN KEY (user_id, device_id) REFERENCES devices (user_id, device_id) ON DELETE CASCADE
);

-- Cross-signing keys: key_type is master, self_signing or user_signing; public_key is the
-- unpadded base64 ed25519 key (the part after "ed25519:" of its only key ID).
CREATE TABLE e2e_cross_signing_keys (
    user_id TEXT NOT NULL REFERENCES users (user_id),
    key_type TEXT NOT NULL,
    public_key TEXT NOT NULL,
    key_json TEXT NOT NULL,
    ts BIGINT NOT NULL,
    PRIMARY KEY (user_id, key_type)
);

-- Signatures uploaded through /keys/signatures/upload, kept apart from the signed JSON so
-- each reader sees only the ones it may (the spec's "social graph" rule): who signed
-- (signer_user_id, signing_key_id) what (target_user_id, target_key_id: a device ID or a
-- master key's public key).
CREATE TABLE e2e_cross_signing_signatures (
    signer_user_id TEXT NOT NULL,
    signing_key_id TEXT NOT NULL,
    target_user_id TEXT NOT NULL,
    target_key_id TEXT NOT NULL,
    signature TEXT NOT NULL,
    PRIMARY KEY (target_user_id, target_key_id, signer_user_id, signing_key_id)
);

-- The latest stream position at which a user's device list (device keys, master or
-- self-signing key) changed. One row per user: a reader asking about (since, upto] either
-- sees the latest change or gets it on a later read, so nothing older is needed.
CREATE TABLE device_list_changes (
    user_id TEXT PRIMARY KEY,
    stream BIGINT NOT NULL
);
CREATE INDEX device_list_changes_stream ON device_list_changes (stream);

-- Changes only one user may see: their own user-signing key, and their signatures of
-- other users' master keys (viewer = the signer, target = whose keys changed for them).
CREATE TABLE e2e_signature_changes (
    viewer_user_id TEXT NOT NULL,
    target_user_id TEXT NOT NULL,
    stream BIGINT NOT NULL,
    PRIMARY KEY (viewer_user_id, target_user_id)
);
CREATE INDEX e2e_signature_changes_stream ON e2e_signature_changes (viewer_user_id, stream);

-- Membership history per user and room, so /sync can tell who newly shares, or no longer
-- shares, a room with the syncing user without scanning a room's whole state history.
CREATE INDEX room_state_member_history ON room_state (room_id, state_key, from_stream)
    WHERE type = 'm.room.member';

-- Send-to-device messages waiting for their device. One sendToDevice request writes one
-- stream position, and at most one message per device, so (device, stream) is unique.
CREATE TABLE device_inbox (
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    stream BIGINT NOT NULL,
    sender TEXT NOT NULL,
    type TEXT NOT NULL,
    content TEXT NOT NULL,
    PRIMARY KEY (user_id, device_id, stream),
    FOREIGN KEY (user_id, device_id) REFERENCES devices (user_id, device_id) ON DELETE CASCADE
);

-- A /sync that returned only part of a device's inbox (the 100-message cap) records the
-- last position it delivered, so coming back with that sync's token deletes only what the
-- client saw, however often the client retries with it.
CREATE TABLE device_inbox_delivered (
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    upto BIGINT NOT NULL,
    delivered BIGINT NOT NULL,
    PRIMARY KEY (user_id, device_id, upto),
    FOREIGN KEY (user_id, device_id) REFERENCES devices (user_id, device_id) ON DELETE CASCADE
);

-- sendToDevice transaction IDs already handled, per sending device (idempotent retries).
CREATE TABLE device_inbox_txns (
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    txn_id TEXT NOT NULL,
    ts BIGINT NOT NULL,
    PRIMARY KEY (user_id, device_id, txn_id),
    FOREIGN KEY (user_id, device_id) REFERENCES devices (user_id, device_id) ON DELETE CASCADE
);
CREATE INDEX device_inbox_txns_ts ON device_inbox_txns (user_id, device_id, ts);

-- Server-side key backups. Versions count up per user and are never reused; a deleted
-- version stays as a tombstone (its keys are removed) so deleting it again succeeds and a
-- write to it is told the current version. etag counts changes to the version's keys.
CREATE TABLE e2e_room_keys_versions (
    user_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    algorithm TEXT NOT NULL,
    auth_data TEXT NOT NULL,
    etag BIGINT NOT NULL DEFAULT 0,
    deleted BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (user_id, version)
);

CREATE TABLE e2e_room_keys (
    user_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    room_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    first_message_index BIGINT NOT NULL,
    forwarded_count BIGINT NOT NULL,
    is_verified BOOLEAN NOT NULL,
    session_data TEXT NOT NULL,
    PRIMARY KEY (user_id, version, room_id, session_id)
);
