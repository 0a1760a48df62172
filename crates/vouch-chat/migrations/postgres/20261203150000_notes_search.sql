-- Agents' search finds conversations by their internal notes too: a generated tsvector with a
-- GIN index, as for messages in 20261203130000_offline_search (filled for existing notes here).
ALTER TABLE notes ADD COLUMN search tsvector
    GENERATED ALWAYS AS (to_tsvector('simple', text)) STORED;
CREATE INDEX notes_search ON notes USING GIN (search);
