-- URL previews (preview_url): each fetch's OpenGraph answer, kept until it expires, so a
-- URL is fetched at most once per cache lifetime and a request's `ts` can pick the
-- preview of its time.
CREATE TABLE url_previews (
    url TEXT NOT NULL,
    fetched_ts BIGINT NOT NULL,
    expires_ts BIGINT NOT NULL,
    -- The answer, as JSON text.
    og TEXT NOT NULL,
    PRIMARY KEY (url, fetched_ts)
);
CREATE INDEX url_previews_expiry ON url_previews (expires_ts);
