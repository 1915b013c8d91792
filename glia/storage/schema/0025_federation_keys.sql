-- Other servers' signing keys, as fetched from them or a notary: one row per server and
-- key ID, with how long the key verifies signatures (valid_until_ts for a current key,
-- its expired_ts for an old one) and the whole signed response it came in (served again
-- when Glia acts as a notary).
CREATE TABLE server_keys (
    server_name TEXT NOT NULL,
    key_id TEXT NOT NULL,
    verify_key TEXT NOT NULL,
    valid_until_ts BIGINT NOT NULL,
    expired BOOLEAN NOT NULL,
    fetched_ts BIGINT NOT NULL,
    key_json TEXT NOT NULL,
    PRIMARY KEY (server_name, key_id)
);

-- Our own retired signing keys (glia rotate-signing-key), published as old_verify_keys so
-- events signed with them still verify.
CREATE TABLE own_old_verify_keys (
    key_id TEXT PRIMARY KEY,
    verify_key TEXT NOT NULL,
    expired_ts BIGINT NOT NULL
);
