//! SQLite's SQL for webhooks, their outbox and API tokens. One node owns a SQLite file, so the
//! claim is one `UPDATE … RETURNING` on the writer (no other worker to race).

use async_trait::async_trait;
use rusqlite::params;
use uuid::Uuid;

use super::steps::{execute, query_all, query_one, Id, SqliteSteps};
use super::SqliteStore;
use crate::storage::rows::{cols, json_text};
use crate::storage::tokens::{ApiToken, ApiTokenStore, API_TOKEN_COLS};
use crate::storage::webhooks::{
    Claimed, Delivery, EventType, OutboxEvent, OutboxSteps, Outcome, Webhook, WebhookStore,
    CLAIMED_COLS, DELIVERY_COLS, WEBHOOK_COLS,
};
use crate::storage::{updated, Contact, Conversation, Millis, StoreResult};

impl OutboxSteps for SqliteSteps<'_> {
    async fn subscribed(&mut self, kind: EventType) -> StoreResult<bool> {
        Ok(self
            .0
            .prepare_cached("SELECT 1 FROM webhooks WHERE instr(events, ?) > 0 LIMIT 1")?
            .exists([kind.quoted()])?)
    }

    async fn enqueue_event(&mut self, e: &OutboxEvent) -> StoreResult<()> {
        execute(
            self.0,
            "INSERT INTO webhook_deliveries (webhook_id, event_id, event_type, conversation_id, body, \
             created_at, status, attempts, next_attempt_at, lease_until, retry_since) \
             SELECT id, ?1, ?2, ?3, ?4, ?5, 'pending', 0, ?5, 0, ?5 FROM webhooks \
             WHERE instr(events, ?6) > 0 ORDER BY created_at, id",
            params![
                Id::of(e.id),
                e.kind.as_str(),
                Id::opt(e.conversation_id),
                e.body,
                e.created_at,
                e.kind.quoted()
            ],
        )?;
        Ok(())
    }

    async fn contact_row(&mut self, id: Uuid) -> StoreResult<Option<Contact>> {
        query_one(
            self.0,
            concat!("SELECT ", cols!(contact), " FROM contacts WHERE id = ?"),
            [Id::of(id)],
        )
    }
}

/// `(status, next_attempt_at)` and the code and error an outcome stores.
fn outcome_columns(o: &Outcome) -> (&'static str, Option<Millis>, Option<i64>, Option<&str>) {
    match o {
        Outcome::Delivered { code } => ("delivered", None, Some(*code), None),
        Outcome::Retry {
            code,
            error,
            next_attempt_at,
        } => ("pending", Some(*next_attempt_at), *code, Some(error)),
        Outcome::GaveUp { code, error } => ("failed", None, *code, Some(error)),
    }
}

#[async_trait]
impl WebhookStore for SqliteStore {
    async fn insert_webhook(&self, w: &Webhook) -> StoreResult<()> {
        let w = w.clone();
        self.write(move |c| {
            execute(
                c,
                "INSERT INTO webhooks (id, url, events, secret, created_at) VALUES (?, ?, ?, ?, ?)",
                params![
                    Id::of(w.id),
                    w.url,
                    json_text(&w.events)?,
                    w.secret,
                    w.created_at
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn list_webhooks(&self) -> StoreResult<Vec<Webhook>> {
        self.read(|c| {
            query_all(
                c,
                &format!("SELECT {WEBHOOK_COLS} FROM webhooks ORDER BY created_at, id"),
                [],
            )
        })
        .await
    }

    async fn get_webhook(&self, id: Uuid) -> StoreResult<Option<Webhook>> {
        self.lookup(|c| {
            query_one(
                c,
                &format!("SELECT {WEBHOOK_COLS} FROM webhooks WHERE id = ?"),
                [Id::of(id)],
            )
        })
    }

    async fn delete_webhook(&self, id: Uuid) -> StoreResult<()> {
        self.write(move |c| {
            // Deliveries first: one statement each, in the same write (the foreign key's
            // cascade would do it too, but only with the pragma on for this connection).
            execute(
                c,
                "DELETE FROM webhook_deliveries WHERE webhook_id = ?",
                [Id::of(id)],
            )?;
            updated(execute(c, "DELETE FROM webhooks WHERE id = ?", [Id::of(id)])? as u64)
        })
        .await
    }

    async fn list_deliveries(&self, webhook_id: Uuid, limit: u32) -> StoreResult<Vec<Delivery>> {
        self.read(move |c| {
            query_all(
                c,
                &format!(
                    "SELECT {DELIVERY_COLS} FROM webhook_deliveries WHERE webhook_id = ? \
                     ORDER BY id DESC LIMIT ?"
                ),
                params![Id::of(webhook_id), limit as i64],
            )
        })
        .await
    }

    async fn any_due(&self, now: Millis) -> StoreResult<bool> {
        self.read(move |c| {
            Ok(c.prepare_cached(
                "SELECT 1 FROM webhook_deliveries WHERE status = 'pending' \
                 AND next_attempt_at <= ?1 AND lease_until <= ?1 LIMIT 1",
            )?
            .exists([now])?)
        })
        .await
    }

    async fn claim_deliveries(
        &self,
        now: Millis,
        lease_until: Millis,
        limit: u32,
    ) -> StoreResult<Vec<Claimed>> {
        let mut claimed: Vec<Claimed> = self
            .write(move |c| {
                query_all(
                    c,
                    &format!(
                        "UPDATE webhook_deliveries SET lease_until = ?1, attempts = attempts + 1 \
                         WHERE id IN (SELECT d.id FROM webhook_deliveries d \
                           WHERE d.status = 'pending' AND d.next_attempt_at <= ?2 AND d.lease_until <= ?2 \
                           AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e \
                             WHERE e.webhook_id = d.webhook_id AND e.conversation_id = d.conversation_id \
                             AND e.status = 'pending' AND e.id < d.id) \
                           ORDER BY d.id LIMIT ?3) \
                         RETURNING {CLAIMED_COLS}"
                    ),
                    params![lease_until, now, limit as i64],
                )
            })
            .await?;
        claimed.sort_by_key(|d| d.id);
        Ok(claimed)
    }

    async fn finish_delivery(&self, id: i64, outcome: &Outcome) -> StoreResult<()> {
        let outcome = outcome.clone();
        self.write(move |c| {
            let (status, next, code, error) = outcome_columns(&outcome);
            execute(
                c,
                "UPDATE webhook_deliveries SET status = ?, next_attempt_at = COALESCE(?, next_attempt_at), \
                 last_status_code = ?, last_error = ?, lease_until = 0 WHERE id = ? AND status = 'pending'",
                params![status, next, code, error, id],
            )?;
            Ok(())
        })
        .await
    }

    async fn redeliver(&self, webhook_id: Uuid, event_id: Uuid, now: Millis) -> StoreResult<()> {
        self.write(move |c| {
            updated(execute(
                c,
                "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = ?1, retry_since = ?1, \
                 lease_until = 0 WHERE webhook_id = ?2 AND event_id = ?3 AND status = 'failed'",
                params![now, Id::of(webhook_id), Id::of(event_id)],
            )? as u64)
        })
        .await
    }

    async fn prune_deliveries(&self, before: Millis) -> StoreResult<u64> {
        self.write(move |c| {
            Ok(execute(
                c,
                "DELETE FROM webhook_deliveries WHERE status = 'delivered' AND created_at < ?",
                [before],
            )? as u64)
        })
        .await
    }
}

#[async_trait]
impl ApiTokenStore for SqliteStore {
    async fn insert_api_token(&self, t: &ApiToken, token_hash: &[u8]) -> StoreResult<()> {
        let (t, hash) = (t.clone(), token_hash.to_vec());
        self.write(move |c| {
            execute(
                c,
                "INSERT INTO api_tokens (id, name, scopes, created_at, token_hash) VALUES (?, ?, ?, ?, ?)",
                params![Id::of(t.id), t.name, json_text(&t.scopes)?, t.created_at, hash],
            )?;
            Ok(())
        })
        .await
    }

    async fn find_api_token(&self, token_hash: &[u8]) -> StoreResult<Option<(ApiToken, Vec<u8>)>> {
        self.lookup(|c| {
            query_one(
                c,
                &format!(
                    "SELECT {API_TOKEN_COLS}, token_hash FROM api_tokens WHERE token_hash = ?"
                ),
                [token_hash],
            )
        })
    }

    async fn list_api_tokens(&self) -> StoreResult<Vec<ApiToken>> {
        self.read(|c| {
            query_all(
                c,
                &format!("SELECT {API_TOKEN_COLS} FROM api_tokens ORDER BY created_at, id"),
                [],
            )
        })
        .await
    }

    async fn delete_api_token(&self, id: Uuid) -> StoreResult<()> {
        self.write(move |c| {
            updated(execute(c, "DELETE FROM api_tokens WHERE id = ?", [Id::of(id)])? as u64)
        })
        .await
    }

    async fn contacts_by_external_id(&self, external_id: &str) -> StoreResult<Vec<Contact>> {
        let external_id = external_id.to_string();
        self.read(move |c| {
            query_all(
                c,
                concat!(
                    "SELECT ",
                    cols!(contact),
                    " FROM contacts WHERE external_id = ? ORDER BY created_at, id LIMIT 100"
                ),
                [external_id],
            )
        })
        .await
    }

    async fn conversations_updated_since(
        &self,
        since: Millis,
        after_id: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<Conversation>> {
        self.read(move |c| match after_id {
            Some(after) => query_all(
                c,
                concat!(
                    "SELECT ",
                    cols!(conversation),
                    " FROM conversations WHERE updated_at > ?1 OR (updated_at = ?1 AND id > ?2) \
                     ORDER BY updated_at, id LIMIT ?3"
                ),
                params![since, Id::of(after), limit as i64],
            ),
            None => query_all(
                c,
                concat!(
                    "SELECT ",
                    cols!(conversation),
                    " FROM conversations WHERE updated_at >= ? ORDER BY updated_at, id LIMIT ?"
                ),
                params![since, limit as i64],
            ),
        })
        .await
    }
}
