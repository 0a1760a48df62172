//! SQLite's SQL of [`SearchStore`]: FTS5 `MATCH` on the index tables the migration's triggers
//! keep current.

use async_trait::async_trait;
use rusqlite::params;

use super::super::rows::cols;
use super::super::search::{ConversationHit, SearchStore, SearchTerms};
use super::steps::query_all;
use super::SqliteStore;
use crate::storage::{Contact, StoreResult};

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
            // `max(sent_at)` makes SQLite take the other bare columns from the newest match.
            query_all(
                c,
                concat!(
                    "SELECT ",
                    cols!(conversation),
                    ", h.text FROM (
                        SELECT m.conversation_id AS cid, m.text AS text, max(m.sent_at) AS at
                        FROM messages_fts JOIN messages m
                          ON m.conversation_id = messages_fts.conversation_id AND m.seq = messages_fts.seq
                        WHERE messages_fts MATCH ?1
                        GROUP BY m.conversation_id
                        ORDER BY at DESC LIMIT ?2
                     ) h JOIN conversations ON conversations.id = h.cid
                     ORDER BY h.at DESC, conversations.id"
                ),
                params![m, limit],
            )
        })
        .await
    }
}
