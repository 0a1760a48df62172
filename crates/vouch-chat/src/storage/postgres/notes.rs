//! PostgreSQL's SQL for internal notes ([`NoteStore`], [`NoteSteps`]).

use async_trait::async_trait;
use uuid::Uuid;

use super::super::notes::{add_note, select_notes, NewNote, Note, NoteSteps, NoteStore};
use super::super::StoreResult;
use super::steps::{all, one, PgSteps};
use super::PgStore;

impl NoteSteps for PgSteps {
    async fn agent_exists(&mut self, id: Uuid) -> StoreResult<bool> {
        let found = sqlx::query("SELECT 1 FROM agents WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *self.0)
            .await?;
        Ok(found.is_some())
    }

    async fn note_count(&mut self, conversation_id: Uuid) -> StoreResult<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM notes WHERE conversation_id = $1")
                .bind(conversation_id)
                .fetch_one(&mut *self.0)
                .await?,
        )
    }

    async fn insert_note(&mut self, n: &NewNote) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO notes (id, conversation_id, author_id, text, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(n.id)
        .bind(n.conversation_id)
        .bind(n.author_id)
        .bind(&n.text)
        .bind(n.created_at)
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    async fn note(&mut self, id: Uuid) -> StoreResult<Option<Note>> {
        one(sqlx::query(concat!(select_notes!(), " WHERE n.id = $1"))
            .bind(id)
            .fetch_optional(&mut *self.0)
            .await?)
    }
}

#[async_trait]
impl NoteStore for PgStore {
    async fn add_note(&self, n: &NewNote) -> StoreResult<Note> {
        let mut tx = self.begin().await?;
        let note = add_note(&mut tx, n).await?;
        tx.commit().await?;
        Ok(note)
    }

    async fn notes_for(&self, conversation_id: Uuid, limit: u32) -> StoreResult<Vec<Note>> {
        let rows = sqlx::query(concat!(
            select_notes!(),
            " WHERE n.conversation_id = $1 ORDER BY n.created_at, n.id LIMIT $2"
        ))
        .bind(conversation_id)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        all(rows)
    }
}
