-- Each user's current server-notices room.
CREATE TABLE server_notice_rooms (
    user_id TEXT PRIMARY KEY,
    room_id TEXT NOT NULL
);

-- PUT /send_server_notice/{txnId}: a retry with the same access token and txn ID
-- returns the first notice's event ID.
CREATE TABLE server_notice_txns (
    token_hash TEXT NOT NULL,
    txn_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    PRIMARY KEY (token_hash, txn_id)
);
