//! PostgreSQL's SQL of [`OfflineStore`]. A claim takes its rows with `FOR UPDATE SKIP LOCKED`, so
//! two nodes claiming at once get different rows and never the same one.

use async_trait::async_trait;
use uuid::Uuid;

use super::super::offline::{EmailOutcome, OfflineStore, OutboxEmail, OUTBOX_COLS};
use super::steps::all;
use super::PgStore;
use crate::storage::{updated, Millis, StoreResult};

#[async_trait]
impl OfflineStore for PgStore {
    async fn queue_email(&self, e: &OutboxEmail) -> StoreResult<bool> {
        let done = sqlx::query(
            "INSERT INTO email_outbox (id, kind, conversation_id, recipient, status, attempts, next_attempt_at, last_error, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) ON CONFLICT DO NOTHING",
        )
        .bind(e.id)
        .bind(e.kind.as_str())
        .bind(e.conversation_id)
        .bind(&e.recipient)
        .bind(e.status.as_str())
        .bind(e.attempts)
        .bind(e.next_attempt_at)
        .bind(&e.last_error)
        .bind(e.created_at)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn claim_due_emails(&self, now: Millis, limit: u32) -> StoreResult<Vec<OutboxEmail>> {
        let sql = format!(
            "UPDATE email_outbox SET status = 'sending', attempts = attempts + 1, updated_at = $1
             WHERE id IN (SELECT id FROM email_outbox WHERE status = 'pending' AND next_attempt_at <= $1
                          ORDER BY next_attempt_at, created_at LIMIT $2 FOR UPDATE SKIP LOCKED)
             RETURNING {OUTBOX_COLS}"
        );
        let mut rows: Vec<OutboxEmail> = all(sqlx::query(&sql)
            .bind(now)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?)?;
        rows.sort_by_key(|e| (e.next_attempt_at, e.created_at));
        Ok(rows)
    }

    async fn finish_email(&self, id: Uuid, outcome: &EmailOutcome, now: Millis) -> StoreResult<()> {
        let q = match outcome {
            EmailOutcome::Sent => sqlx::query(
                "UPDATE email_outbox SET status = 'sent', last_error = NULL, updated_at = $1 WHERE id = $2 AND status = 'sending'",
            )
            .bind(now)
            .bind(id),
            EmailOutcome::Retry { at, error } => sqlx::query(
                "UPDATE email_outbox SET status = 'pending', next_attempt_at = $3, last_error = $4, updated_at = $1 WHERE id = $2 AND status = 'sending'",
            )
            .bind(now)
            .bind(id)
            .bind(*at)
            .bind(error.clone()),
            EmailOutcome::Failed { error } => sqlx::query(
                "UPDATE email_outbox SET status = 'failed', last_error = $3, updated_at = $1 WHERE id = $2 AND status = 'sending'",
            )
            .bind(now)
            .bind(id)
            .bind(error.clone()),
        };
        updated(q.execute(&self.pool).await?.rows_affected())
    }

    async fn emails_of_conversation(&self, conversation_id: Uuid) -> StoreResult<Vec<OutboxEmail>> {
        let sql = format!(
            "SELECT {OUTBOX_COLS} FROM email_outbox WHERE conversation_id = $1 ORDER BY created_at, id"
        );
        all(sqlx::query(&sql)
            .bind(conversation_id)
            .fetch_all(&self.pool)
            .await?)
    }
}
