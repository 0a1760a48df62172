//! PostgreSQL's attachments. An attachment's bytes are in its row (`bytea`), committed with it:
//! durable before the `201`, and readable from every node.

use async_trait::async_trait;
use sqlx::Row;
use uuid::Uuid;

use super::super::attachments::{Attachment, AttachmentStore, ATTACHMENT_COLS};
use super::super::{StoreError, StoreResult};
use super::steps::one;
use super::PgStore;

#[async_trait]
impl AttachmentStore for PgStore {
    async fn insert_attachment(&self, a: &Attachment, data: bytes::Bytes) -> StoreResult<()> {
        let sql = format!(
            "INSERT INTO attachments ({ATTACHMENT_COLS}, data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        );
        let res = sqlx::query(&sql)
            .bind(a.id)
            .bind(a.conversation_id)
            .bind(a.sender.as_str())
            .bind(a.agent_id)
            .bind(&a.filename)
            .bind(&a.content_type)
            .bind(a.size)
            .bind(a.created_at)
            .bind(a.message_seq)
            .bind(data.as_ref())
            .execute(&self.pool)
            .await;
        match res {
            Ok(_) => Ok(()),
            // The conversation's foreign key: there is no such conversation.
            Err(sqlx::Error::Database(d)) if d.is_foreign_key_violation() => {
                Err(StoreError::NotFound)
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn get_attachment(&self, id: Uuid) -> StoreResult<Option<Attachment>> {
        let sql = format!("SELECT {ATTACHMENT_COLS} FROM attachments WHERE id = $1");
        one(sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn attachment_data(&self, id: Uuid) -> StoreResult<Vec<u8>> {
        let row = sqlx::query("SELECT data FROM attachments WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(row.try_get::<Vec<u8>, _>(0)?)
    }
}
