//! SQLite's SQL of [`OfflineStore`]: the email outbox (one writer, so a claim is one statement
//! that no other claim can interleave with).

use async_trait::async_trait;
use rusqlite::params;
use uuid::Uuid;

use super::super::offline::{EmailOutcome, OfflineStore, OutboxEmail, OUTBOX_COLS};
use super::steps::{execute, query_all, Id};
use super::SqliteStore;
use crate::storage::{updated, Millis, StoreResult};

#[async_trait]
impl OfflineStore for SqliteStore {
    async fn queue_email(&self, e: &OutboxEmail) -> StoreResult<bool> {
        let e = e.clone();
        self.write(move |c| {
            let n = execute(
                c,
                "INSERT INTO email_outbox (id, kind, conversation_id, recipient, status, attempts, next_attempt_at, last_error, created_at, updated_at)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                params![
                    Id::of(e.id),
                    e.kind.as_str(),
                    Id::of(e.conversation_id),
                    e.recipient,
                    e.status.as_str(),
                    e.attempts,
                    e.next_attempt_at,
                    e.last_error,
                    e.created_at,
                    e.created_at
                ],
            )?;
            Ok(n == 1)
        })
        .await
    }

    async fn claim_due_emails(&self, now: Millis, limit: u32) -> StoreResult<Vec<OutboxEmail>> {
        self.write(move |c| {
            let sql = format!(
                "UPDATE email_outbox SET status = 'sending', attempts = attempts + 1, updated_at = ?1
                 WHERE id IN (SELECT id FROM email_outbox WHERE status = 'pending' AND next_attempt_at <= ?1
                              ORDER BY next_attempt_at, created_at LIMIT ?2)
                 RETURNING {OUTBOX_COLS}"
            );
            let mut rows: Vec<OutboxEmail> = query_all(c, &sql, params![now, limit])?;
            rows.sort_by_key(|e| (e.next_attempt_at, e.created_at));
            Ok(rows)
        })
        .await
    }

    async fn finish_email(&self, id: Uuid, outcome: &EmailOutcome, now: Millis) -> StoreResult<()> {
        let outcome = outcome.clone();
        self.write(move |c| {
            let n = match outcome {
                EmailOutcome::Sent => execute(
                    c,
                    "UPDATE email_outbox SET status = 'sent', last_error = NULL, updated_at = ? WHERE id = ? AND status = 'sending'",
                    params![now, Id::of(id)],
                )?,
                EmailOutcome::Retry { at, error } => execute(
                    c,
                    "UPDATE email_outbox SET status = 'pending', next_attempt_at = ?, last_error = ?, updated_at = ? WHERE id = ? AND status = 'sending'",
                    params![at, error, now, Id::of(id)],
                )?,
                EmailOutcome::Failed { error } => execute(
                    c,
                    "UPDATE email_outbox SET status = 'failed', last_error = ?, updated_at = ? WHERE id = ? AND status = 'sending'",
                    params![error, now, Id::of(id)],
                )?,
            };
            updated(n as u64)
        })
        .await
    }

    async fn emails_of_conversation(&self, conversation_id: Uuid) -> StoreResult<Vec<OutboxEmail>> {
        self.read(move |c| {
            let sql = format!(
                "SELECT {OUTBOX_COLS} FROM email_outbox WHERE conversation_id = ? ORDER BY created_at, id"
            );
            query_all(c, &sql, [Id::of(conversation_id)])
        })
        .await
    }
}
