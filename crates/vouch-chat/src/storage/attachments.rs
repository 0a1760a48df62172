//! Attachments, ratings and the report's figures: the capability traits ([`AttachmentStore`],
//! [`RatingStore`], [`ReportStore`]) and their records. SQLite keeps an attachment's bytes in a
//! file under the data directory (`attachments/<id>`: written to a temporary name, fsync'd,
//! renamed, the directory fsync'd, all before the row commits); PostgreSQL keeps them in the
//! row (`bytea`), so every node serves every attachment.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::rows::{Columns, FromColumns};
use super::{Millis, Sender, StoreResult};

/// What a message (frame or JSON) says of one of its attachments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AttachmentMeta {
    pub id: Uuid,
    pub filename: String,
    /// The type sniffed from the bytes (`image/png`, `application/pdf`, `text/plain; charset=utf-8`, …).
    pub content_type: String,
    pub size: i64,
}

/// A stored attachment (without its bytes).
#[derive(Debug, Clone, PartialEq)]
pub struct Attachment {
    pub id: Uuid,
    pub conversation_id: Uuid,
    /// `Customer` or `Agent`: who uploaded it (and so who may send it).
    pub sender: Sender,
    /// The uploading agent.
    pub agent_id: Option<Uuid>,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub created_at: Millis,
    /// The message that carries it, once one does.
    pub message_seq: Option<i64>,
}

impl Attachment {
    pub fn meta(&self) -> AttachmentMeta {
        AttachmentMeta {
            id: self.id,
            filename: self.filename.clone(),
            content_type: self.content_type.clone(),
            size: self.size,
        }
    }
}

/// The column list of [`Attachment`] (both back-ends).
pub(crate) const ATTACHMENT_COLS: &str =
    "id, conversation_id, sender, agent_id, filename, content_type, size, created_at, message_seq";

impl FromColumns for Attachment {
    fn from_columns(r: &impl Columns) -> StoreResult<Self> {
        let sender = r.text(2)?;
        Ok(Attachment {
            id: r.uuid(0)?,
            conversation_id: r.uuid(1)?,
            sender: Sender::parse(&sender)
                .ok_or_else(|| super::StoreError::Corrupt(format!("sender {sender:?}")))?,
            agent_id: r.opt_uuid(3)?,
            filename: r.text(4)?,
            content_type: r.text(5)?,
            size: r.int(6)?,
            created_at: r.int(7)?,
            message_seq: r.opt_int(8)?,
        })
    }
}

/// `{"id","filename","content_type","size"}` as `UPDATE … RETURNING` gives it.
impl FromColumns for AttachmentMeta {
    fn from_columns(r: &impl Columns) -> StoreResult<Self> {
        Ok(AttachmentMeta {
            id: r.uuid(0)?,
            filename: r.text(1)?,
            content_type: r.text(2)?,
            size: r.int(3)?,
        })
    }
}

/// A customer's rating of an ended conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Rating {
    /// 1 to 5.
    pub score: i64,
    #[schema(required = true)]
    pub comment: Option<String>,
    #[serde(skip)]
    pub conversation_id: Uuid,
    #[serde(skip)]
    pub created_at: Millis,
}

/// `conversation_id, score, comment, created_at`.
pub(crate) const RATING_COLS: &str = "conversation_id, score, comment, created_at";

impl FromColumns for Rating {
    fn from_columns(r: &impl Columns) -> StoreResult<Self> {
        Ok(Rating {
            conversation_id: r.uuid(0)?,
            score: r.int(1)?,
            comment: r.opt_text(2)?,
            created_at: r.int(3)?,
        })
    }
}

/// One conversation as the report reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRow {
    pub created_at: Millis,
    pub verified: bool,
    pub ended: bool,
    /// When an agent first took it.
    pub accepted_at: Option<Millis>,
    /// When an agent first wrote in it.
    pub first_agent_message_at: Option<Millis>,
    pub rating: Option<i64>,
}

/// The report's query: one row per conversation created in the period (both dialects; `{P1}`,
/// `{P2}` are the placeholders of `from` and `to`).
pub(crate) const REPORT_SQL: &str =
    "SELECT c.created_at, c.verified, c.state = 'ended', c.accepted_at,
    (SELECT MIN(m.sent_at) FROM messages m WHERE m.conversation_id = c.id AND m.sender = 'agent'),
    r.score
    FROM conversations c LEFT JOIN ratings r ON r.conversation_id = c.id
    WHERE c.created_at >= {P1} AND c.created_at < {P2}";

impl FromColumns for ReportRow {
    fn from_columns(r: &impl Columns) -> StoreResult<Self> {
        Ok(ReportRow {
            created_at: r.int(0)?,
            verified: r.flag(1)?,
            ended: r.flag(2)?,
            accepted_at: r.opt_int(3)?,
            first_agent_message_at: r.opt_int(4)?,
            rating: r.opt_int(5)?,
        })
    }
}

/// Attachments: the bytes and the row, durable before `insert_attachment` returns.
#[async_trait]
pub trait AttachmentStore: Send + Sync + 'static {
    /// Stores the bytes and the row; both are on disk (or committed) when this returns `Ok`.
    /// A missing conversation is `NotFound` and leaves nothing behind.
    async fn insert_attachment(&self, a: &Attachment, data: bytes::Bytes) -> StoreResult<()>;
    async fn get_attachment(&self, id: Uuid) -> StoreResult<Option<Attachment>>;
    /// The bytes of a stored attachment.
    async fn attachment_data(&self, id: Uuid) -> StoreResult<Vec<u8>>;
}

/// Ratings: one per conversation.
#[async_trait]
pub trait RatingStore: Send + Sync + 'static {
    /// `Conflict(AlreadyRated)` when the conversation has one.
    async fn insert_rating(&self, r: &Rating) -> StoreResult<()>;
    async fn get_rating(&self, conversation_id: Uuid) -> StoreResult<Option<Rating>>;
}

/// The admins' report.
#[async_trait]
pub trait ReportStore: Send + Sync + 'static {
    /// One row per conversation created in `[from, to)` (the caller bounds the period).
    async fn report_rows(&self, from: Millis, to: Millis) -> StoreResult<Vec<ReportRow>>;
}

/// A rating as the agent API and the `rating.created` event show it: `{"score", "comment"}`.
pub(crate) fn rating_json(r: &Rating) -> serde_json::Value {
    serde_json::json!({ "score": r.score, "comment": r.comment })
}
