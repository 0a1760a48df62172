//! PostgreSQL's SQL of [`SearchStore`]: `plainto_tsquery('simple', …)` (plain words, no
//! operators read from the text) against the generated `search` columns and their GIN indexes.

use async_trait::async_trait;

use super::super::rows::cols;
use uuid::Uuid;

use super::super::search::{
    distinct_newest, newest_first, ConversationHit, SearchStore, SearchTerms, MAX_SCANNED,
};
use super::steps::all;
use super::PgStore;
use crate::storage::{Contact, Conversation, StoreResult};

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
        // The newest matches first (a top-N sort of the GIN index's matches), then their
        // conversations in one statement.
        let messages: Vec<(Uuid, String, i64)> = sqlx::query_as(
            "SELECT conversation_id, text, sent_at FROM messages
             WHERE search @@ plainto_tsquery('simple', $1) AND sender <> 'system'
             ORDER BY sent_at DESC, seq DESC LIMIT $2",
        )
        .bind(q.plain())
        .bind(i64::from(MAX_SCANNED))
        .fetch_all(&self.pool)
        .await?;
        let notes: Vec<(Uuid, String, i64)> = sqlx::query_as(
            "SELECT conversation_id, text, created_at FROM notes
             WHERE search @@ plainto_tsquery('simple', $1)
             ORDER BY created_at DESC LIMIT $2",
        )
        .bind(q.plain())
        .bind(i64::from(MAX_SCANNED))
        .fetch_all(&self.pool)
        .await?;
        let rows = newest_first(messages, notes);
        let picked = distinct_newest(rows, limit as usize);
        let ids: Vec<Uuid> = picked.iter().map(|(id, _)| *id).collect();
        let sql = concat!(
            "SELECT ",
            cols!(conversation),
            " FROM conversations WHERE id = ANY($1)"
        );
        let found: Vec<Conversation> =
            all(sqlx::query(sql).bind(&ids).fetch_all(&self.pool).await?)?;
        let mut by_id: std::collections::HashMap<Uuid, Conversation> =
            found.into_iter().map(|c| (c.id, c)).collect();
        Ok(picked
            .into_iter()
            .filter_map(|(id, text)| {
                by_id
                    .remove(&id)
                    .map(|conversation| ConversationHit { conversation, text })
            })
            .collect())
    }
}
