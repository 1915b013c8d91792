-- The user directory (/user_directory/search): each user's public profile and the terms
-- it is searched by, and the rooms whose members anyone may find (join rule public or
-- history visibility world_readable). Who shares a room with whom is read from room_state.
CREATE TABLE user_directory (
    user_id TEXT PRIMARY KEY,
    display_name TEXT,
    avatar_url TEXT,
    -- ' ' + the normalised terms of the user ID and display name, each followed by ' ',
    -- so a word prefix is LIKE '% prefix%'.
    search_text TEXT NOT NULL
);
CREATE TABLE user_directory_public_rooms (
    room_id TEXT PRIMARY KEY
);
