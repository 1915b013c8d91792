-- Where a room's state values ended: push evaluation brings the joined members it keeps
-- up to date from the membership rows that began or ended since, and state resolution
-- may end a member's row without a new one.
CREATE INDEX room_state_ends ON room_state (room_id, to_stream) WHERE to_stream IS NOT NULL;
