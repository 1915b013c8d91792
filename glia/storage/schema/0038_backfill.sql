-- Backfilled events (history fetched from other servers) are ordered by the negated
-- positions of this counter, below every /sync stream position (services/federation/
-- backfill.py explains why).
INSERT INTO counters (name, value) VALUES ('backfill', 0);
