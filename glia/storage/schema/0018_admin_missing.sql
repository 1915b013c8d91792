-- Synapse's _allow_cross_signing_replacement_without_uia: until updatable_before_ms the
-- user may replace their master cross-signing key without user-interactive auth. Cleared
-- when the master key is replaced (the window covers one replacement, as in Synapse).
CREATE TABLE cross_signing_replacement_windows (
    user_id TEXT PRIMARY KEY,
    updatable_before_ms BIGINT NOT NULL
);
