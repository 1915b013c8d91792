-- Our users' knocks on rooms this server is not in: the resident server that accepted
-- each (send_knock), so rescinding the knock (make_leave / send_leave) asks it again.
CREATE TABLE federation_knocks (
    room_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    server_name TEXT NOT NULL,
    knocked_ts BIGINT NOT NULL,
    PRIMARY KEY (room_id, user_id)
);
