-- Admin impersonation (Synapse's POST /_synapse/admin/v1/users/{id}/login): a token that
-- acts as user_id but belongs to the admin in puppeted_by. Such a token has no device row,
-- so the user never sees it among their devices; the user's own "log out everywhere"
-- leaves it alone, while the admin's ends it. valid_until_ms: it stops working then.
ALTER TABLE access_tokens ADD COLUMN puppeted_by TEXT;
ALTER TABLE access_tokens ADD COLUMN valid_until_ms BIGINT;
CREATE INDEX access_tokens_puppeted_by ON access_tokens (puppeted_by);
