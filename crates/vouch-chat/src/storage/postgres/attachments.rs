//! PostgreSQL's attachments, ratings and report. An attachment's bytes are in its row (`bytea`),
//! committed with it: durable before the `201`, and readable from every node.

use async_trait::async_trait;
use sqlx::Row;
use uuid::Uuid;

use super::super::attachments::{
    rating_json, Attachment, AttachmentStore, Rating, RatingStore, ReportRow, ReportStore,
    ATTACHMENT_COLS, RATING_COLS, REPORT_SQL,
};
use super::super::webhooks::outbox;
use super::super::{Conflict, Millis, StoreError, StoreResult};
use super::steps::{all, one};
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

#[async_trait]
impl RatingStore for PgStore {
    async fn insert_rating(&self, r: &Rating) -> StoreResult<()> {
        // The rating and its `rating.created` webhook event commit together (the outbox).
        let mut tx = self.begin().await?;
        let sql = format!("INSERT INTO ratings ({RATING_COLS}) VALUES ($1, $2, $3, $4)");
        let res = sqlx::query(&sql)
            .bind(r.conversation_id)
            .bind(r.score as i32)
            .bind(&r.comment)
            .bind(r.created_at)
            .execute(&mut *tx.0)
            .await;
        match res {
            Ok(_) => {}
            Err(e) if vouch_db::is_unique_violation(&e) => {
                return Err(StoreError::Conflict(Conflict::AlreadyRated))
            }
            Err(e) => return Err(e.into()),
        }
        outbox::rating_created(&mut tx, r.conversation_id, rating_json(r), r.created_at).await?;
        tx.commit().await
    }

    async fn get_rating(&self, conversation_id: Uuid) -> StoreResult<Option<Rating>> {
        // `score` is an INTEGER: read as the BIGINT every other integer column is.
        let sql = format!(
            "SELECT {} FROM ratings WHERE conversation_id = $1",
            RATING_COLS.replace("score", "score::BIGINT")
        );
        one(sqlx::query(&sql)
            .bind(conversation_id)
            .fetch_optional(&self.pool)
            .await?)
    }
}

#[async_trait]
impl ReportStore for PgStore {
    async fn report_rows(&self, from: Millis, to: Millis) -> StoreResult<Vec<ReportRow>> {
        let sql = REPORT_SQL
            .replace("{P1}", "$1")
            .replace("{P2}", "$2")
            .replace("r.score", "r.score::BIGINT");
        all(sqlx::query(&sql)
            .bind(from)
            .bind(to)
            .fetch_all(&self.pool)
            .await?)
    }
}
