-- OpenID tokens (POST /user/{userId}/openid/request_token): a third party hands one to
-- /_matrix/federation/v1/openid/userinfo to learn which user it belongs to. Only the
-- token's SHA-256 is kept.
CREATE TABLE openid_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    expires_ts BIGINT NOT NULL
);
CREATE INDEX openid_tokens_expiry ON openid_tokens (expires_ts);
