//! Internal notes: any agent may write one beside any conversation (as any agent may read any
//! conversation); every agent's sockets get it live (`note` frames, on every node). A note never
//! reaches a customer: it is not a message, takes no `seq`, goes only to agent sockets, and only
//! agent routes read it.

use serde::Serialize;
use uuid::Uuid;

use super::Chat;
use crate::error::ChatError;
use crate::live::hub::{Audience, Frame};
use crate::storage::notes::MAX_NOTES;
use crate::storage::{now_millis, Agent, NewNote, Note, StoreError};

/// `{"type":"note","conversation_id","note":{…}}`
#[derive(Serialize)]
struct NoteFrame<'a> {
    r#type: &'static str,
    conversation_id: Uuid,
    note: &'a Note,
}

/// The `note` frame agents' sockets get.
pub fn note_frame(note: &Note) -> Frame {
    // A struct of strings and ids: serializing it cannot fail.
    Frame::from(
        serde_json::to_string(&NoteFrame {
            r#type: "note",
            conversation_id: note.conversation_id,
            note,
        })
        .unwrap_or_default(),
    )
}

impl Chat {
    /// Checks a note's text: not blank, at most the message limit of characters (field `text`).
    pub fn check_note_text(&self, text: &str) -> Result<(), ChatError> {
        if text.trim().is_empty() {
            return Err(ChatError::validation("text", "text must not be empty"));
        }
        let max = self.limits.max_text_chars;
        if text.chars().count() > max {
            return Err(ChatError::validation(
                "text",
                format!("text may be at most {max} characters"),
            ));
        }
        Ok(())
    }

    /// The note to store for `author` (checked: [`Chat::check_note_text`]). Another flow that
    /// stores a note in its own transaction (a transfer's) builds it here, stores it with
    /// `storage::notes::add_note` and then calls [`Chat::publish_note`].
    pub fn new_note(
        &self,
        author: &Agent,
        conversation_id: Uuid,
        text: &str,
    ) -> Result<NewNote, ChatError> {
        self.check_note_text(text)?;
        Ok(NewNote {
            id: Uuid::new_v4(),
            conversation_id,
            author_id: author.id,
            text: text.to_string(),
            created_at: now_millis(),
        })
    }

    /// Stores a note on the conversation and sends it to every agent socket.
    pub async fn add_note(
        &self,
        author: &Agent,
        conversation_id: Uuid,
        text: &str,
    ) -> Result<Note, ChatError> {
        let new = self.new_note(author, conversation_id, text)?;
        let note = self.store.add_note(&new).await.map_err(|e| match e {
            StoreError::NotFound => ChatError::no_such_conversation(),
            StoreError::Conflict(c) => ChatError::Conflict(c.to_string()),
            other => other.into(),
        })?;
        tracing::info!(conversation = %conversation_id, agent = %author.id, "note added");
        self.publish_note(&note);
        Ok(note)
    }

    /// Sends a stored note to every agent's sockets, on every node — never to a customer's.
    pub fn publish_note(&self, note: &Note) {
        self.hub.publish_agents(Audience::All, note_frame(note));
    }

    /// The conversation's notes, oldest first; `NotFound` when there is no such conversation.
    pub async fn notes(&self, conversation_id: Uuid) -> Result<Vec<Note>, ChatError> {
        self.conversation(conversation_id).await?;
        Ok(self.store.notes_for(conversation_id, MAX_NOTES).await?)
    }
}
