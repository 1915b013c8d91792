-- Rate-limit token buckets shared by several Glia processes on one database (used only
-- with database.several_processes; one process keeps its buckets in memory). One row per
-- (limit class, caller); allowed is the outcome of the latest take, returned by the same
-- statement that refills and takes.
CREATE TABLE ratelimit_buckets (
    limit_class TEXT NOT NULL,
    caller TEXT NOT NULL,
    tokens DOUBLE PRECISION NOT NULL,
    updated_ms BIGINT NOT NULL,
    allowed BOOLEAN NOT NULL,
    PRIMARY KEY (limit_class, caller)
);
CREATE INDEX ratelimit_buckets_updated ON ratelimit_buckets (updated_ms);
