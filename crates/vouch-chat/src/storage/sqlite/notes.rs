//! SQLite's SQL for internal notes ([`NoteStore`], [`NoteSteps`]).

use async_trait::async_trait;
use rusqlite::params;
use uuid::Uuid;

use super::super::notes::{add_note, select_notes, NewNote, Note, NoteSteps, NoteStore};
use super::super::StoreResult;
use super::steps::{execute, query_all, query_one, Id, SqliteSteps};
use super::{ready, SqliteStore};

impl NoteSteps for SqliteSteps<'_> {
    async fn agent_exists(&mut self, id: Uuid) -> StoreResult<bool> {
        Ok(self
            .0
            .prepare_cached("SELECT 1 FROM agents WHERE id = ?")?
            .exists([Id::of(id)])?)
    }

    async fn insert_note(&mut self, n: &NewNote) -> StoreResult<()> {
        execute(
            self.0,
            "INSERT INTO notes (id, conversation_id, author_id, text, created_at) VALUES (?, ?, ?, ?, ?)",
            params![
                Id::of(n.id),
                Id::of(n.conversation_id),
                Id::of(n.author_id),
                n.text,
                n.created_at
            ],
        )?;
        Ok(())
    }

    async fn note(&mut self, id: Uuid) -> StoreResult<Option<Note>> {
        query_one(
            self.0,
            concat!(select_notes!(), " WHERE n.id = ?"),
            [Id::of(id)],
        )
    }
}

#[async_trait]
impl NoteStore for SqliteStore {
    async fn add_note(&self, n: &NewNote) -> StoreResult<Note> {
        let n = n.clone();
        self.write(move |c| ready(add_note(&mut SqliteSteps(c), &n)))
            .await
    }

    async fn notes_for(&self, conversation_id: Uuid, limit: u32) -> StoreResult<Vec<Note>> {
        self.read(move |c| {
            query_all(
                c,
                concat!(
                    select_notes!(),
                    " WHERE n.conversation_id = ? ORDER BY n.created_at, n.id LIMIT ?"
                ),
                params![Id::of(conversation_id), limit as i64],
            )
        })
        .await
    }
}
