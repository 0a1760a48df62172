-- Agents' search finds conversations by their internal notes too (the notes table came with
-- 20261203110000_notes_canned, the message index with 20261203130000_offline_search). As there:
-- the index keeps its own copy of the text with the note's keys UNINDEXED. Notes are never
-- updated or deleted.
CREATE VIRTUAL TABLE notes_fts USING fts5(
    text,
    conversation_id UNINDEXED,
    created_at UNINDEXED,
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER notes_fts_insert AFTER INSERT ON notes
BEGIN
    INSERT INTO notes_fts (text, conversation_id, created_at)
        VALUES (new.text, new.conversation_id, new.created_at);
END;
INSERT INTO notes_fts (text, conversation_id, created_at)
    SELECT text, conversation_id, created_at FROM notes;
