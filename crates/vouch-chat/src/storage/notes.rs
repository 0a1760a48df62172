//! Internal notes: what agents write beside a conversation for each other. A note is not a
//! message: it takes no `seq` (the customer's seqs stay gapless), lives in its own table, and
//! nothing a session token reaches reads that table — so a note can never reach a customer.
//!
//! [`NoteSteps`] is the note's single step inside another write's transaction (a transfer's note
//! is stored with the transfer, [`add_note`]); [`NoteStore`] is the capability the domain calls.

use async_trait::async_trait;
use serde::Serialize;
use uuid::Uuid;

use super::flows::Steps;
use super::rows::{Columns, FromColumns};
use super::{ser_rfc3339, Conflict, Millis, StoreError, StoreResult};

/// Most notes one conversation holds (so its detail, which lists them all, stays bounded).
pub const MAX_NOTES: u32 = 1_000;

/// The select of notes, in the column order [`FromColumns`] reads: from `notes n JOIN agents
/// a`, so each note carries its author's current name. The same text in both dialects.
macro_rules! select_notes {
    () => {
        "SELECT n.id, n.conversation_id, n.author_id, a.name, n.text, n.created_at FROM notes n JOIN agents a ON a.id = n.author_id"
    };
}
pub(crate) use select_notes;

/// An internal note as agents see it: in the conversation's `"notes"` and in `note` frames.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Note {
    pub id: Uuid,
    /// The frame and the detail name the conversation already.
    #[serde(skip)]
    pub conversation_id: Uuid,
    pub author_id: Uuid,
    /// The author's name now (for the console).
    pub author_name: String,
    pub text: String,
    #[serde(serialize_with = "ser_rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Millis,
}

/// A note to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewNote {
    pub id: Uuid,
    pub conversation_id: Uuid,
    pub author_id: Uuid,
    pub text: String,
    pub created_at: Millis,
}

impl FromColumns for Note {
    fn from_columns(r: &impl Columns) -> StoreResult<Self> {
        Ok(Note {
            id: r.uuid(0)?,
            conversation_id: r.uuid(1)?,
            author_id: r.uuid(2)?,
            author_name: r.text(3)?,
            text: r.text(4)?,
            created_at: r.int(5)?,
        })
    }
}

/// Internal notes of conversations.
#[async_trait]
pub trait NoteStore: Send + Sync + 'static {
    /// Stores a note in its own transaction; `NotFound` when the conversation (or the author)
    /// does not exist.
    async fn add_note(&self, n: &NewNote) -> StoreResult<Note>;
    /// The conversation's notes, oldest first, at most `limit`.
    async fn notes_for(&self, conversation_id: Uuid, limit: u32) -> StoreResult<Vec<Note>>;
}

/// A note's single SQL steps, inside another write's transaction (each back-end's steps type
/// implements it next to its [`Steps`]).
pub(crate) trait NoteSteps {
    /// Whether the agent exists.
    async fn agent_exists(&mut self, id: Uuid) -> StoreResult<bool>;
    /// How many notes the conversation has.
    async fn note_count(&mut self, conversation_id: Uuid) -> StoreResult<i64>;
    async fn insert_note(&mut self, n: &NewNote) -> StoreResult<()>;
    async fn note(&mut self, id: Uuid) -> StoreResult<Option<Note>>;
}

/// Stores a note inside the caller's transaction: the step another flow (a transfer with a
/// note) runs next to its own, so both are stored or neither. `NotFound` when the
/// conversation or the author does not exist, `Conflict(TooManyNotes)` when the conversation
/// has [`MAX_NOTES`] (nothing stored). The conversation's row is locked first, so notes added
/// at once on several nodes count each other.
pub(crate) async fn add_note(s: &mut (impl Steps + NoteSteps), n: &NewNote) -> StoreResult<Note> {
    s.lock_conversation(n.conversation_id).await?;
    if !s.conversation_exists(n.conversation_id).await? || !s.agent_exists(n.author_id).await? {
        return Err(StoreError::NotFound);
    }
    if s.note_count(n.conversation_id).await? >= i64::from(MAX_NOTES) {
        return Err(StoreError::Conflict(Conflict::TooManyNotes));
    }
    s.insert_note(n).await?;
    s.note(n.id).await?.ok_or(StoreError::NotFound)
}
