//! SQLite's SQL of [`SearchStore`]: FTS5 `MATCH` on the index tables the migration's triggers
//! keep current.

use async_trait::async_trait;
use rusqlite::params;

use super::super::rows::cols;
use uuid::Uuid;

use super::super::search::{
    distinct_newest, newest_first, ConversationHit, SearchStore, SearchTerms, MAX_SCANNED,
};
use super::steps::{conversation, query_all};
use super::SqliteStore;
use crate::storage::{Contact, StoreError, StoreResult};

#[async_trait]
impl SearchStore for SqliteStore {
    async fn search_contacts(&self, q: &SearchTerms, limit: u32) -> StoreResult<Vec<Contact>> {
        if q.is_empty() {
            return Ok(Vec::new());
        }
        let m = q.fts5();
        self.read(move |c| {
            query_all(
                c,
                concat!(
                    "SELECT ",
                    cols!(contact),
                    " FROM contacts WHERE id IN (SELECT contact_id FROM contacts_fts WHERE contacts_fts MATCH ?1)
                      ORDER BY updated_at DESC, id LIMIT ?2"
                ),
                params![m, limit],
            )
        })
        .await
    }

    async fn search_conversations(
        &self,
        q: &SearchTerms,
        limit: u32,
    ) -> StoreResult<Vec<ConversationHit>> {
        if q.is_empty() {
            return Ok(Vec::new());
        }
        let m = q.fts5();
        self.read(move |c| {
            // FTS5 walks its matches in descending rowid order (the order the rows were stored)
            // without sorting them; the first rows give the newest conversations.
            let newest = |sql: &str| -> StoreResult<Vec<(String, String, i64)>> {
                let mut stmt = c.prepare_cached(sql)?;
                let mut rows = stmt.query(params![m, MAX_SCANNED])?;
                let mut found = Vec::new();
                while let Some(r) = rows.next()? {
                    found.push((r.get(0)?, r.get(1)?, r.get(2)?));
                }
                Ok(found)
            };
            let messages = newest(
                "SELECT messages_fts.conversation_id, messages_fts.text, m.sent_at
                 FROM messages_fts JOIN messages m
                   ON m.conversation_id = messages_fts.conversation_id AND m.seq = messages_fts.seq
                 WHERE messages_fts MATCH ?1 ORDER BY messages_fts.rowid DESC LIMIT ?2",
            )?;
            let notes = newest(
                "SELECT conversation_id, text, created_at FROM notes_fts WHERE notes_fts MATCH ?1
                 ORDER BY rowid DESC LIMIT ?2",
            )?;
            let matches = newest_first(messages, notes);
            let mut out = Vec::new();
            for (id, text) in distinct_newest(matches, limit as usize) {
                let id = Uuid::parse_str(&id).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                if let Some(conversation) = conversation(c, id)? {
                    out.push(ConversationHit { conversation, text });
                }
            }
            Ok(out)
        })
        .await
    }
}
