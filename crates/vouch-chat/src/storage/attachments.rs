//! Attachments: the capability trait ([`AttachmentStore`]) and its records. SQLite keeps an
//! attachment's bytes in a file under the data directory (`attachments/<id>`: written to a
//! temporary name, fsync'd, renamed, the directory fsync'd, all before the row commits);
//! PostgreSQL keeps them in the row (`bytea`), so every node serves every attachment.

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
