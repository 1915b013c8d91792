-- The address history behind whois and the admin user list's last_seen_ts: one row per
-- user, access token and IP with the latest user agent and time, as Synapse's user_ips.
-- Unlike devices it outlives logouts, device deletion and deactivation (when admins need
-- it most) and is pruned only after user_ips_max_age.
CREATE TABLE user_ips (
    user_id TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    device_id TEXT,
    ip TEXT NOT NULL,
    user_agent TEXT,
    last_seen BIGINT NOT NULL,
    PRIMARY KEY (user_id, token_hash, ip)
);
CREATE INDEX user_ips_last_seen ON user_ips (last_seen);

-- The per-device rows kept so far carry no token: each device stands for one.
INSERT INTO user_ips (user_id, token_hash, device_id, ip, user_agent, last_seen)
SELECT user_id, 'device:' || device_id, device_id, ip, user_agent, last_seen
FROM client_ips;
DROP TABLE client_ips;
