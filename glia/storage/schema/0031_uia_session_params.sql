-- What the first request of a UIA session asked for (JSON), so later requests of the
-- session may leave it out: registration's username, password hash, device ID and
-- inhibit_login, as Synapse keeps a session's client dict.
ALTER TABLE uia_sessions ADD COLUMN params TEXT;
