-- Whether the item was stored while media.enable_authenticated_media was on (Synapse's
-- local_media_repository.authenticated): such media is refused on the legacy
-- unauthenticated download and thumbnail paths while the option is on. Items stored
-- before the option existed were served to everyone, so they stay unauthenticated.
ALTER TABLE media ADD COLUMN authenticated BOOLEAN NOT NULL DEFAULT FALSE;
