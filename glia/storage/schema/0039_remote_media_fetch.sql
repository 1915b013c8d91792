-- What the federation media fetcher records of each cached copy besides 0021's columns
-- (Synapse's remote_media_cache has both): whether it was fetched while
-- media.enable_authenticated_media was on (then the legacy unauthenticated paths refuse
-- it while the option stays on), and the SHA-256 of its bytes (shown by the admin API).
ALTER TABLE remote_media_cache ADD COLUMN authenticated BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE remote_media_cache ADD COLUMN sha256 TEXT;
