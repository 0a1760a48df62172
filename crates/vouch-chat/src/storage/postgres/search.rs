//! PostgreSQL's SQL of [`SearchStore`]: `plainto_tsquery('simple', …)` (plain words, no
//! operators read from the text) against the generated `search` columns and their GIN indexes.

use async_trait::async_trait;

use super::super::rows::cols;
use super::super::search::{ConversationHit, SearchStore, SearchTerms};
use super::steps::all;
use super::PgStore;
use crate::storage::{Contact, StoreResult};

#[async_trait]
impl SearchStore for PgStore {
    async fn search_contacts(&self, q: &SearchTerms, limit: u32) -> StoreResult<Vec<Contact>> {
        if q.is_empty() {
            return Ok(Vec::new());
        }
        let sql = concat!(
            "SELECT ",
            cols!(contact),
            " FROM contacts WHERE search @@ plainto_tsquery('simple', $1)
              ORDER BY updated_at DESC, id LIMIT $2"
        );
        all(sqlx::query(sql)
            .bind(q.plain())
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?)
    }

    async fn search_conversations(
        &self,
        q: &SearchTerms,
        limit: u32,
    ) -> StoreResult<Vec<ConversationHit>> {
        if q.is_empty() {
            return Ok(Vec::new());
        }
        let sql = concat!(
            "SELECT ",
            cols!(conversation),
            ", h.text FROM (
                SELECT DISTINCT ON (conversation_id) conversation_id AS cid, text, sent_at AS at
                FROM messages
                WHERE search @@ plainto_tsquery('simple', $1) AND sender <> 'system'
                ORDER BY conversation_id, sent_at DESC
             ) h JOIN conversations ON conversations.id = h.cid
             ORDER BY h.at DESC, conversations.id LIMIT $2"
        );
        all(sqlx::query(sql)
            .bind(q.plain())
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?)
    }
}
