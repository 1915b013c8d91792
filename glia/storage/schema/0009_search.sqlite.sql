-- The normalised terms (lower-cased, diacritics removed, separated by single spaces: see
-- glia/storage/search.py), indexed by an external-content FTS5 table whose rowid is the
-- event's stream ordering. The terms are already cut by Glia, so the `ascii` tokenizer,
-- which splits on ASCII punctuation and spaces only, keeps each one whole.
ALTER TABLE event_search ADD COLUMN terms TEXT NOT NULL DEFAULT '';
CREATE VIRTUAL TABLE event_search_fts USING fts5(
    terms, content = 'event_search', content_rowid = 'stream_ordering', tokenize = 'ascii'
);
-- Keep the FTS index in step with its content table.
CREATE TRIGGER event_search_insert AFTER INSERT ON event_search BEGIN
    INSERT INTO event_search_fts (rowid, terms) VALUES (new.stream_ordering, new.terms);
END;
CREATE TRIGGER event_search_delete AFTER DELETE ON event_search BEGIN
    INSERT INTO event_search_fts (event_search_fts, rowid, terms)
        VALUES ('delete', old.stream_ordering, old.terms);
END;
CREATE TRIGGER event_search_update AFTER UPDATE ON event_search BEGIN
    INSERT INTO event_search_fts (event_search_fts, rowid, terms)
        VALUES ('delete', old.stream_ordering, old.terms);
    INSERT INTO event_search_fts (rowid, terms) VALUES (new.stream_ordering, new.terms);
END;
