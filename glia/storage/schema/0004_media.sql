-- Media uploaded to this server. A row is created by POST /create (size NULL: pending,
-- expires unused) or by an upload; the bytes live in a file under media.store_path named
-- after media_id, written and fsync'd before the row commits.
CREATE TABLE media (
    media_id TEXT PRIMARY KEY,
    -- The uploader (the creator, for an ID made by /create).
    user_id TEXT NOT NULL,
    -- NULL until the content arrives.
    content_type TEXT,
    upload_name TEXT,
    size BIGINT,
    created_ts BIGINT NOT NULL,
    -- Hex SHA-256 of the content: quarantine applies to every copy of the same bytes.
    sha256 TEXT,
    -- The admin who quarantined it ('system' when a quarantined hash was re-uploaded).
    quarantined_by TEXT,
    -- Protected: never quarantined, never deleted by age/size sweeps.
    safe_from_quarantine BOOLEAN NOT NULL DEFAULT FALSE,
    last_access_ts BIGINT
);
CREATE INDEX media_user ON media (user_id, created_ts);
CREATE INDEX media_sha256 ON media (sha256);
CREATE INDEX media_last_access ON media (last_access_ts);
CREATE INDEX media_pending ON media (created_ts) WHERE size IS NULL;

-- Thumbnails, generated on first request, at most one per media and pre-defined size
-- (box_width x box_height, method). width/height are the generated image's own size.
CREATE TABLE media_thumbnails (
    media_id TEXT NOT NULL REFERENCES media (media_id) ON DELETE CASCADE,
    box_width INTEGER NOT NULL,
    box_height INTEGER NOT NULL,
    method TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    created_ts BIGINT NOT NULL,
    PRIMARY KEY (media_id, box_width, box_height, method)
);
