//! SQLite's attachments. An attachment's bytes are a file under the data directory, made
//! durable before its row is written: a temporary name in the same directory, fsync'd, renamed
//! to `<id>`, and the directory fsync'd (so the rename survives a crash).

use std::io::Write;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use rusqlite::params;
use uuid::Uuid;

use super::super::attachments::{Attachment, AttachmentMeta, AttachmentStore, ATTACHMENT_COLS};
use super::super::{StoreError, StoreResult};
use super::steps::{query_one, Id};
use super::SqliteStore;

fn io_error(what: &str, e: std::io::Error) -> StoreError {
    StoreError::Unavailable(format!("{what}: {e}"))
}

/// The attachments directory next to the database file (created on first use).
pub(super) fn files_dir(db: &Path) -> PathBuf {
    db.parent()
        .unwrap_or_else(|| Path::new("."))
        .join("attachments")
}

/// Writes `data` to `dir/<id>` durably (temporary name, fsync, rename, directory fsync).
fn write_durably(dir: &Path, id: Uuid, data: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{id}.tmp"));
    let fin = dir.join(id.to_string());
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, &fin)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[async_trait]
impl AttachmentStore for SqliteStore {
    async fn insert_attachment(&self, a: &Attachment, data: bytes::Bytes) -> StoreResult<()> {
        let dir = self.files.clone();
        let id = a.id;
        tokio::task::spawn_blocking(move || write_durably(&dir, id, &data))
            .await
            .map_err(|e| StoreError::Engine(e.to_string()))?
            .map_err(|e| io_error("writing an attachment", e))?;
        let row = a.clone();
        let stored = self
            .write(move |c| {
                let res = c
                    .prepare_cached(&format!(
                        "INSERT INTO attachments ({ATTACHMENT_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                    ))?
                    .execute(params![
                        Id::of(row.id),
                        Id::of(row.conversation_id),
                        row.sender.as_str(),
                        Id::opt(row.agent_id),
                        row.filename,
                        row.content_type,
                        row.size,
                        row.created_at,
                        row.message_seq
                    ]);
                match res {
                    Ok(_) => Ok(()),
                    // The conversation's foreign key: there is no such conversation.
                    Err(rusqlite::Error::SqliteFailure(e, _))
                        if e.code == rusqlite::ErrorCode::ConstraintViolation =>
                    {
                        Err(StoreError::NotFound)
                    }
                    Err(e) => Err(e.into()),
                }
            })
            .await;
        if stored.is_err() {
            // Nothing refers to the file: remove it (a leftover would only waste space).
            let _ = std::fs::remove_file(self.files.join(id.to_string()));
        }
        stored
    }

    async fn get_attachment(&self, id: Uuid) -> StoreResult<Option<Attachment>> {
        self.lookup(|c| {
            query_one(
                c,
                &format!("SELECT {ATTACHMENT_COLS} FROM attachments WHERE id = ?"),
                [Id::of(id)],
            )
        })
    }

    async fn attachment_data(&self, id: Uuid) -> StoreResult<Vec<u8>> {
        match tokio::fs::read(self.files.join(id.to_string())).await {
            Ok(b) => Ok(b),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(StoreError::NotFound),
            Err(e) => Err(io_error("reading an attachment", e)),
        }
    }
}

/// The link of a `send`'s attachment to its message (a flow step): the attachment must be in
/// this conversation, uploaded by this sender (and agent), and not on another message yet.
pub(super) fn link_attachment(
    c: &rusqlite::Connection,
    id: Uuid,
    conversation_id: Uuid,
    seq: i64,
    sender: &str,
    agent_id: Option<Uuid>,
) -> StoreResult<Option<AttachmentMeta>> {
    query_one(
        c,
        "UPDATE attachments SET message_seq = ? WHERE id = ? AND conversation_id = ? AND sender = ? AND agent_id IS ? AND message_seq IS NULL RETURNING id, filename, content_type, size",
        params![seq, Id::of(id), Id::of(conversation_id), sender, Id::opt(agent_id)],
    )
}
