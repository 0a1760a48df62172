//! Where the chat service keeps its records: small capability traits ([`SettingsStore`],
//! [`AgentStore`], [`ContactStore`], [`ConversationStore`], [`SessionStore`],
//! [`DiagnosticsStore`]) and [`Store`], every one of them at once, which is what the service holds
//! (`Arc<dyn Store>`). Two back-ends implement them: embedded SQLite ([`sqlite::SqliteStore`], the
//! default) and PostgreSQL ([`postgres::PgStore`], for several chat nodes sharing one database);
//! [`open`] picks one by the URL's scheme. The domain and the handlers see only the traits (bring
//! them into scope with `use crate::storage::prelude::*`).
//!
//! What the back-ends share is written once: each row kind's mapping ([`rows`]) and each write of
//! several steps — a message's append with its resend and ended rules, accept, end with the
//! transcript activity, a session's start, a verification failure — as a flow ([`flows`]) over the
//! back-end's single SQL steps. Only SQL differs per back-end.
//!
//! Where a message is stored: [`ConversationStore::append_message`] ([`flows::append`]). Sequence
//! numbers are allocated in the same transaction as the insert, so they count from 1 without gaps.

pub mod attachments;
pub mod canned;
pub mod desk;
mod flows;
pub mod model;
pub mod notes;
pub mod offline;
pub mod pipeline;
pub mod postgres;
pub mod ratings;
pub mod reports;
mod rows;
pub mod search;
pub mod sqlite;
pub mod tokens;
pub mod webhooks;

use std::sync::Arc;

use async_trait::async_trait;
use uuid::Uuid;

pub use attachments::{Attachment, AttachmentMeta, AttachmentStore};
pub use canned::{CannedReply, CannedReplyStore};
pub use desk::{
    AgentPatch, Assigned, DeskAgent, DeskStore, Presence, Queue, Routing, RoutingRule, RuleWhen,
    TransferRefusal, TransferRequest, TransferTarget, Transferred, DEFAULT_CAPACITY,
    GENERAL_QUEUE_ID, MAX_CAPACITY,
};
pub use model::*;
pub use notes::{NewNote, Note, NoteStore};
pub use offline::{EmailKind, EmailOutcome, EmailStatus, OfflineStore, OutboxEmail};
pub use ratings::{Rating, RatingStore};
pub use reports::{ReportRow, ReportStore};
pub use search::{ConversationHit, SearchStore, SearchTerms};
pub use tokens::{ApiToken, ApiTokenStore};
pub use vouch_db::Backend;
pub use webhooks::{Delivery, DeliveryStatus, EventType, Webhook, WebhookStore};

/// The traits a caller needs in scope to call a [`Store`]'s methods.
pub mod prelude {
    pub use super::pipeline::AppendQueue;
    pub use super::{
        AgentStore, ContactStore, ConversationStore, DeskStore, DiagnosticsStore, Lifecycle,
        SessionStore, SettingsStore, Store,
    };
    pub use super::{ApiTokenStore, WebhookStore};
    pub use super::{AttachmentStore, RatingStore, ReportStore};
    pub use super::{CannedReplyStore, NoteStore};
    pub use super::{OfflineStore, SearchStore};
}

/// Storage errors. `NotFound`/`Conflict` are expected outcomes; the rest are failures.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(Conflict),
    #[error("database error: {0}")]
    Database(sqlx::Error),
    /// An error of the embedded SQLite engine (a constraint, a bad statement).
    #[error("database error: {0}")]
    Engine(String),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("corrupt row: {0}")]
    Corrupt(String),
    #[error("unsupported database URL: {0}")]
    Unsupported(String),
    /// The database could not store a write (disk full, I/O error, writer stopped): nothing of
    /// it was stored, and the same write may be tried again.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

/// Why a write was refused by the state it found (nothing of it was stored).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Conflict {
    /// The conversation has ended: no more messages (but resends), no second end.
    #[error("the conversation has already ended")]
    Ended,
    /// Accept found the conversation no longer waiting (another agent took it, or it ended).
    #[error("the conversation is no longer waiting")]
    AlreadyTaken,
    /// Another agent has this email.
    #[error("an agent with email {0} already exists")]
    EmailTaken(String),
    /// Another queue has this name.
    #[error("a queue named {0} already exists")]
    NameTaken(String),
    /// The shortcut is taken within its scope (the shared replies, or one agent's own).
    #[error("the shortcut /{0} is already taken")]
    ShortcutTaken(String),
    /// A `send` named an attachment that is not this sender's in this conversation, or that
    /// another message already carries.
    #[error("an attachment is not this sender's in this conversation, or is already sent")]
    BadAttachment,
    /// The conversation has a rating already.
    #[error("this conversation has already been rated")]
    AlreadyRated,
    /// The conversation holds the most notes allowed ([`notes::MAX_NOTES`]).
    #[error("this conversation has the most notes allowed ({})", notes::MAX_NOTES)]
    TooManyNotes,
    /// The scope (the shared replies, or one agent's own) holds the most canned replies allowed.
    #[error("there are already {0} canned replies here: delete one first")]
    TooManyCannedReplies(u32),
}

pub type StoreResult<T> = Result<T, StoreError>;

impl From<sqlx::Error> for StoreError {
    /// Errors that mean "cannot store right now" (disk full, I/O error, read-only, locked, the
    /// connection gone) become [`StoreError::Unavailable`]; the rest stay `Database`.
    fn from(e: sqlx::Error) -> Self {
        if vouch_db::is_unavailable(&e) {
            StoreError::Unavailable(e.to_string())
        } else {
            StoreError::Database(e)
        }
    }
}

/// Opens (and migrates) the database a URL names: `sqlite://PATH` or `postgres://…`.
pub async fn open(url: &str) -> StoreResult<Arc<dyn Store>> {
    let backend = Backend::of_url(url).map_err(|e| StoreError::Unsupported(e.0))?;
    Ok(match backend {
        Backend::Sqlite => Arc::new(sqlite::SqliteStore::open(url).await?),
        Backend::Postgres => Arc::new(postgres::PgStore::open(url).await?),
    })
}

/// `NotFound` when an update changed no row (both back-ends' updates by key).
pub(crate) fn updated(rows: u64) -> StoreResult<()> {
    if rows == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

/// Everything the chat service keeps: every capability at once. Implemented for every type that
/// has them all, so a back-end implements the capability traits and nothing else.
pub trait Store:
    Lifecycle
    + SettingsStore
    + AgentStore
    + ContactStore
    + ConversationStore
    + SessionStore
    + DiagnosticsStore
    + DeskStore
    + NoteStore
    + CannedReplyStore
    + AttachmentStore
    + RatingStore
    + ReportStore
    + OfflineStore
    + SearchStore
    + WebhookStore
    + ApiTokenStore
    + pipeline::AppendQueue
{
}

impl<T> Store for T where
    T: Lifecycle
        + SettingsStore
        + AgentStore
        + ContactStore
        + ConversationStore
        + SessionStore
        + DiagnosticsStore
        + DeskStore
        + NoteStore
        + CannedReplyStore
        + AttachmentStore
        + RatingStore
        + ReportStore
        + OfflineStore
        + SearchStore
        + WebhookStore
        + ApiTokenStore
        + pipeline::AppendQueue
{
}

/// The connection itself. Implementations must be safe to share between tasks.
#[async_trait]
pub trait Lifecycle: Send + Sync + 'static {
    /// Answers when the database answers (`/readyz`).
    async fn ping(&self) -> StoreResult<()>;

    /// Closes the connections: later calls fail ([`crate::ChatService::close_database`]).
    async fn close(&self) {}
}

/// Chat authentication settings and the widgets bound to them.
#[async_trait]
pub trait SettingsStore: Send + Sync + 'static {
    async fn insert_auth_settings(&self, s: &AuthSettings) -> StoreResult<()>;
    async fn update_auth_settings(&self, s: &AuthSettings) -> StoreResult<()>;
    async fn get_auth_settings(&self, id: Uuid) -> StoreResult<Option<AuthSettings>>;
    async fn list_auth_settings(&self) -> StoreResult<Vec<AuthSettings>>;

    async fn insert_widget(&self, w: &Widget) -> StoreResult<()>;
    async fn update_widget(&self, w: &Widget) -> StoreResult<()>;
    async fn get_widget(&self, app_id: Uuid) -> StoreResult<Option<Widget>>;
    async fn list_widgets(&self) -> StoreResult<Vec<Widget>>;
}

/// Agents and their sign-in tokens (only hashes of tokens are stored).
#[async_trait]
pub trait AgentStore: Send + Sync + 'static {
    /// `Conflict(EmailTaken)` when the email is taken.
    async fn insert_agent(&self, a: &Agent, password_hash: &str) -> StoreResult<()>;
    /// The agent and its argon2id password hash.
    async fn find_agent_by_email(&self, email: &str) -> StoreResult<Option<(Agent, String)>>;
    async fn get_agent(&self, id: Uuid) -> StoreResult<Option<Agent>>;
    async fn insert_agent_token(
        &self,
        token_hash: &[u8],
        agent_id: Uuid,
        expires_at: Millis,
    ) -> StoreResult<()>;
    /// The agent whose unexpired token has this hash.
    async fn find_agent_by_token(
        &self,
        token_hash: &[u8],
        now: Millis,
    ) -> StoreResult<Option<Agent>>;
    async fn delete_agent_token(&self, token_hash: &[u8]) -> StoreResult<()>;
}

/// Verified customers and what happened with them.
#[async_trait]
pub trait ContactStore: Send + Sync + 'static {
    /// Creates the contact of (settings, external id) or updates its fields from fresh claims.
    async fn upsert_contact(
        &self,
        auth_settings_id: Uuid,
        external_id: &str,
        fields: &ContactFields,
        now: Millis,
    ) -> StoreResult<Contact>;
    async fn get_contact(&self, id: Uuid) -> StoreResult<Option<Contact>>;
    async fn activities_for_contact(&self, contact_id: Uuid) -> StoreResult<Vec<Activity>>;
}

/// Conversations and their messages.
#[async_trait]
pub trait ConversationStore: Send + Sync + 'static {
    async fn insert_conversation(&self, c: &Conversation) -> StoreResult<()>;
    async fn get_conversation(&self, id: Uuid) -> StoreResult<Option<Conversation>>;
    /// The contact's conversation that is not ended, if any.
    async fn open_conversation_for_contact(
        &self,
        contact_id: Uuid,
    ) -> StoreResult<Option<Conversation>>;
    /// In one transaction: the open conversation of `c.contact_id` if there is one (returned with
    /// `false`), else `c` inserted (returned with `true`). Two browsers of one contact racing get one.
    async fn open_or_insert_conversation(
        &self,
        c: &Conversation,
    ) -> StoreResult<(Conversation, bool)>;
    async fn set_conversation_context(
        &self,
        id: Uuid,
        context: &serde_json::Map<String, serde_json::Value>,
    ) -> StoreResult<()>;
    /// Newest first within the state filter; at most `limit`.
    async fn list_conversations(
        &self,
        state: Option<ConversationState>,
        limit: u32,
    ) -> StoreResult<Vec<Conversation>>;
    /// The conversations assigned to `agent_id` that have not ended, newest first; at most `limit`.
    async fn conversations_assigned_to(
        &self,
        agent_id: Uuid,
        limit: u32,
    ) -> StoreResult<Vec<Conversation>>;
    /// Appends a message, allocating the next `seq` in the same transaction. A resend with the same
    /// (sender, client_msg_id) returns the stored message with `duplicate = true` and stores nothing.
    /// An ended conversation refuses with `Conflict(Ended)` (system messages of `end` excepted).
    async fn append_message(&self, m: &NewMessage) -> StoreResult<Appended>;
    /// Messages with `seq > after_seq`, in order, at most `limit`.
    async fn messages_after(
        &self,
        conversation_id: Uuid,
        after_seq: i64,
        limit: u32,
    ) -> StoreResult<Vec<Message>>;
    /// Assigns a waiting conversation to `agent_id` (conditional update: exactly one caller wins;
    /// the rest get `Conflict(AlreadyTaken)`) and appends the system message `joined_text`.
    async fn accept_conversation(
        &self,
        id: Uuid,
        agent_id: Uuid,
        joined_text: &str,
        now: Millis,
    ) -> StoreResult<(Conversation, Message)>;
    /// Ends a conversation: state `ended`, the system message `ended_text`, and (when it has a
    /// contact) the transcript activity — all in one transaction. `Conflict(Ended)` if already
    /// ended.
    async fn end_conversation(&self, id: Uuid, ended_text: &str, now: Millis)
        -> StoreResult<Ended>;
}

/// Customer sessions (only the hash of the session token is stored).
#[async_trait]
pub trait SessionStore: Send + Sync + 'static {
    /// A new customer session with what it needs, in one transaction: the contact upserted (when
    /// verified), the contact's open conversation joined (its context merged) or
    /// `start.conversation` created, and the session stored for that conversation.
    async fn start_session(&self, start: SessionStart) -> StoreResult<SessionStarted>;
    /// Stores the session (and drops the expired ones).
    async fn insert_session(&self, s: &CustomerSession) -> StoreResult<()>;
    async fn find_session(
        &self,
        token_hash: &[u8],
        now: Millis,
    ) -> StoreResult<Option<CustomerSession>>;
    async fn update_session_jwt_exp(
        &self,
        token_hash: &[u8],
        jwt_exp: Option<i64>,
    ) -> StoreResult<()>;
    async fn delete_session(&self, token_hash: &[u8]) -> StoreResult<()>;
}

/// Verification-failure diagnostics (never the token).
#[async_trait]
pub trait DiagnosticsStore: Send + Sync + 'static {
    /// Records a failure, counts it per reason, and keeps only the newest `keep` entries.
    async fn record_verification_failure(
        &self,
        f: &VerificationFailure,
        keep: u32,
    ) -> StoreResult<()>;
    async fn verification_failure_counts(&self) -> StoreResult<Vec<(String, i64)>>;
    async fn recent_verification_failures(
        &self,
        limit: u32,
    ) -> StoreResult<Vec<VerificationFailure>>;
}
