-- Who a user stopped ignoring, and when (the stream position of the m.ignored_user_list
-- change): /sync sends the rooms they share again, so their history comes back.
CREATE TABLE unignored_users (
    user_id TEXT NOT NULL,
    unignored_user_id TEXT NOT NULL,
    stream BIGINT NOT NULL
);
CREATE INDEX unignored_users_stream ON unignored_users (user_id, stream);
