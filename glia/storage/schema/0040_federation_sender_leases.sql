-- Which Glia process sends to each destination (several processes share one PostgreSQL
-- database and each runs the federation sender): a process sends only while it holds
-- the destination's lease, renewed before each transaction and given up when its queue
-- is empty; a lease whose holder died expires, and another process takes over.
CREATE TABLE federation_sender_leases (
    destination TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_ts BIGINT NOT NULL
);
