-- The normalised terms (see glia/storage/search.py) as a tsvector built with the 'simple'
-- configuration: no stemming and no stop words, because rooms are written in every
-- language and a server-wide 'english' dictionary would drop or conflate words for
-- everyone else ("will", "can", "who" are English stop words). Query terms match as
-- prefixes instead, on both engines alike.
ALTER TABLE event_search ADD COLUMN vector tsvector NOT NULL;
CREATE INDEX event_search_vector ON event_search USING GIN (vector);
