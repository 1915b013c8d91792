-- What a running job has done to each item (a member evicted, a media file deleted, an
-- event that could not be redacted): one small row per item, written as the item is
-- handled, so progress costs the same at the millionth item as at the first and a job
-- resumed after a crash knows what it already did. Deleted when the job finishes, once
-- its result holds the summary.
CREATE TABLE job_items (
    job_id TEXT NOT NULL,
    item TEXT NOT NULL,
    outcome TEXT NOT NULL,
    PRIMARY KEY (job_id, item)
);
