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

    async fn note_count(&mut self, conversation_id: Uuid) -> StoreResult<i64> {
        Ok(self
            .0
            .prepare_cached("SELECT COUNT(*) FROM notes WHERE conversation_id = ?")?
            .query_row([Id::of(conversation_id)], |r| r.get(0))?)
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

#[cfg(test)]
mod tests {
    //! What a flow that stores a note with its own steps (a transfer's) relies on: the note is
    //! part of that write, so when the write refuses or fails, the note is not stored either.

    use super::*;
    use crate::storage::prelude::*;
    use crate::storage::{
        now_millis, Agent, Conflict, Conversation, ConversationState, Role, StoreError, Widget,
    };

    async fn fixtures(store: &SqliteStore) -> (Uuid, Uuid) {
        let now = now_millis();
        let agent = Agent {
            id: Uuid::new_v4(),
            email: "sam@example.com".into(),
            name: "Sam".into(),
            role: Role::Agent,
            created_at: now,
        };
        store
            .insert_agent(&agent, "$argon2id$x")
            .await
            .expect("agent");
        let widget = Widget {
            app_id: Uuid::new_v4(),
            name: "Chat".into(),
            allowed_origins: vec!["http://shop.test".into()],
            auth_settings_id: None,
            require_auth: false,
            title: "Chat".into(),
            created_at: now,
            business_hours: None,
            offline_message: String::new(),
        };
        store.insert_widget(&widget).await.expect("widget");
        let conv = Conversation {
            id: Uuid::new_v4(),
            widget_app_id: widget.app_id,
            state: ConversationState::Active,
            verified: false,
            contact_id: None,
            context: serde_json::Map::new(),
            agent_id: Some(agent.id),
            created_at: now,
            updated_at: now,
            ended_at: None,
            last_seq: 0,
            queue_id: crate::storage::GENERAL_QUEUE_ID,
        };
        store
            .insert_conversation(&conv)
            .await
            .expect("conversation");
        (conv.id, agent.id)
    }

    #[tokio::test]
    async fn a_note_is_stored_with_the_write_it_is_part_of_or_not_at_all() {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("chat.db").display());
        let store = SqliteStore::open(&url).await.expect("open");
        let (conv, author) = fixtures(&store).await;
        let note = |text: &str| NewNote {
            id: Uuid::new_v4(),
            conversation_id: conv,
            author_id: author,
            text: text.into(),
            created_at: now_millis(),
        };

        // A later step of the same write refuses: the note goes with it.
        let lost = note("rolled back");
        let refused = store
            .write(move |c| {
                ready(async move {
                    add_note(&mut SqliteSteps(c), &lost).await?;
                    Err::<(), _>(StoreError::Conflict(Conflict::AlreadyTaken))
                })
            })
            .await;
        assert!(
            matches!(refused, Err(StoreError::Conflict(_))),
            "{refused:?}"
        );
        assert!(store.notes_for(conv, 10).await.expect("notes").is_empty());

        // The write completes: the note is stored, once, with its author's name.
        let kept = note("kept");
        let stored = store
            .write(move |c| ready(add_note(&mut SqliteSteps(c), &kept)))
            .await
            .expect("stored");
        assert_eq!(
            (stored.text.as_str(), stored.author_name.as_str()),
            ("kept", "Sam")
        );
        let notes = store.notes_for(conv, 10).await.expect("notes");
        assert_eq!(notes, vec![stored]);
    }
}
