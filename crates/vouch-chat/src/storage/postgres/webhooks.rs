//! PostgreSQL's SQL for webhooks, their outbox and API tokens. Several nodes claim deliveries at
//! once: the claim locks the rows it picks with `FOR UPDATE SKIP LOCKED` and leases them in the
//! same statement, so each row goes to one node, and a leased row stays pending (which keeps the
//! next event of its conversation back) until its outcome is recorded or the lease runs out.

use async_trait::async_trait;
use uuid::Uuid;

use super::steps::{all, one, PgSteps};
use super::PgStore;
use crate::storage::rows::{cols, json_text};
use crate::storage::tokens::{ApiToken, ApiTokenStore, API_TOKEN_COLS};
use crate::storage::webhooks::{
    Claimed, Delivery, EventType, OutboxEvent, OutboxSteps, Outcome, Webhook, WebhookStore,
    CLAIMED_COLS, DELIVERY_COLS, WEBHOOK_COLS,
};
use crate::storage::{updated, Contact, Conversation, Millis, StoreResult};

impl OutboxSteps for PgSteps {
    async fn subscribed(&mut self, kind: EventType) -> StoreResult<bool> {
        let found = sqlx::query("SELECT 1 FROM webhooks WHERE strpos(events, $1) > 0 LIMIT 1")
            .bind(kind.quoted())
            .fetch_optional(&mut *self.0)
            .await?;
        Ok(found.is_some())
    }

    async fn enqueue_event(&mut self, e: &OutboxEvent) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO webhook_deliveries (webhook_id, event_id, event_type, conversation_id, body, \
             created_at, status, attempts, next_attempt_at, lease_until, retry_since) \
             SELECT id, $1, $2, $3, $4, $5, 'pending', 0, $5, 0, $5 FROM webhooks \
             WHERE strpos(events, $6) > 0 ORDER BY created_at, id",
        )
        .bind(e.id)
        .bind(e.kind.as_str())
        .bind(e.conversation_id)
        .bind(&e.body)
        .bind(e.created_at)
        .bind(e.kind.quoted())
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    async fn contact_row(&mut self, id: Uuid) -> StoreResult<Option<Contact>> {
        let sql = concat!("SELECT ", cols!(contact), " FROM contacts WHERE id = $1");
        one(sqlx::query(sql)
            .bind(id)
            .fetch_optional(&mut *self.0)
            .await?)
    }
}

#[async_trait]
impl WebhookStore for PgStore {
    async fn insert_webhook(&self, w: &Webhook) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO webhooks (id, url, events, secret, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(w.id)
        .bind(&w.url)
        .bind(json_text(&w.events)?)
        .bind(&w.secret)
        .bind(w.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn list_webhooks(&self) -> StoreResult<Vec<Webhook>> {
        let sql = format!("SELECT {WEBHOOK_COLS} FROM webhooks ORDER BY created_at, id");
        all(sqlx::query(&sql).fetch_all(&self.pool).await?)
    }

    async fn get_webhook(&self, id: Uuid) -> StoreResult<Option<Webhook>> {
        let sql = format!("SELECT {WEBHOOK_COLS} FROM webhooks WHERE id = $1");
        one(sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn delete_webhook(&self, id: Uuid) -> StoreResult<()> {
        // The deliveries go with it (ON DELETE CASCADE).
        let done = sqlx::query("DELETE FROM webhooks WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        updated(done.rows_affected())
    }

    async fn list_deliveries(&self, webhook_id: Uuid, limit: u32) -> StoreResult<Vec<Delivery>> {
        let sql = format!(
            "SELECT {DELIVERY_COLS} FROM webhook_deliveries WHERE webhook_id = $1 \
             ORDER BY id DESC LIMIT $2"
        );
        all(sqlx::query(&sql)
            .bind(webhook_id)
            .bind(limit as i64)
            .fetch_all(&self.pool)
            .await?)
    }

    async fn any_due(&self, now: Millis) -> StoreResult<bool> {
        let found = sqlx::query(
            "SELECT 1 FROM webhook_deliveries WHERE status = 'pending' \
             AND next_attempt_at <= $1 AND lease_until <= $1 LIMIT 1",
        )
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(found.is_some())
    }

    async fn claim_deliveries(
        &self,
        now: Millis,
        lease_until: Millis,
        limit: u32,
    ) -> StoreResult<Vec<Claimed>> {
        // One statement: the rows are locked (others' locked rows skipped), re-checked against
        // their newest version, and leased before the lock is released at commit.
        let sql = format!(
            "WITH due AS (SELECT d.id FROM webhook_deliveries d \
               WHERE d.status = 'pending' AND d.next_attempt_at <= $1 AND d.lease_until <= $1 \
               AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e \
                 WHERE e.webhook_id = d.webhook_id AND e.conversation_id = d.conversation_id \
                 AND e.status = 'pending' AND e.id < d.id) \
               ORDER BY d.id LIMIT $3 FOR UPDATE SKIP LOCKED) \
             UPDATE webhook_deliveries w SET lease_until = $2, attempts = w.attempts + 1 \
             FROM due WHERE w.id = due.id RETURNING {}",
            CLAIMED_COLS
                .split(", ")
                .map(|c| format!("w.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let mut claimed: Vec<Claimed> = all(sqlx::query(&sql)
            .bind(now)
            .bind(lease_until)
            .bind(limit as i64)
            .fetch_all(&self.pool)
            .await?)?;
        claimed.sort_by_key(|d| d.id);
        Ok(claimed)
    }

    async fn finish_delivery(&self, id: i64, outcome: &Outcome) -> StoreResult<()> {
        let (status, next, code, error) = match outcome {
            Outcome::Delivered { code } => ("delivered", None, Some(*code), None),
            Outcome::Retry {
                code,
                error,
                next_attempt_at,
            } => (
                "pending",
                Some(*next_attempt_at),
                *code,
                Some(error.as_str()),
            ),
            Outcome::GaveUp { code, error } => ("failed", None, *code, Some(error.as_str())),
        };
        sqlx::query(
            "UPDATE webhook_deliveries SET status = $1, next_attempt_at = COALESCE($2, next_attempt_at), \
             last_status_code = $3, last_error = $4, lease_until = 0 WHERE id = $5 AND status = 'pending'",
        )
        .bind(status)
        .bind(next)
        .bind(code)
        .bind(error)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn redeliver(&self, webhook_id: Uuid, event_id: Uuid, now: Millis) -> StoreResult<()> {
        let done = sqlx::query(
            "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $1, retry_since = $1, \
             lease_until = 0 WHERE webhook_id = $2 AND event_id = $3 AND status = 'failed'",
        )
        .bind(now)
        .bind(webhook_id)
        .bind(event_id)
        .execute(&self.pool)
        .await?;
        updated(done.rows_affected())
    }

    async fn prune_deliveries(&self, before: Millis) -> StoreResult<u64> {
        let done = sqlx::query(
            "DELETE FROM webhook_deliveries WHERE status = 'delivered' AND created_at < $1",
        )
        .bind(before)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }
}

#[async_trait]
impl ApiTokenStore for PgStore {
    async fn insert_api_token(&self, t: &ApiToken, token_hash: &[u8]) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO api_tokens (id, name, scopes, created_at, token_hash) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(t.id)
        .bind(&t.name)
        .bind(json_text(&t.scopes)?)
        .bind(t.created_at)
        .bind(token_hash)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn find_api_token(&self, token_hash: &[u8]) -> StoreResult<Option<(ApiToken, Vec<u8>)>> {
        let sql =
            format!("SELECT {API_TOKEN_COLS}, token_hash FROM api_tokens WHERE token_hash = $1");
        one(sqlx::query(&sql)
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn list_api_tokens(&self) -> StoreResult<Vec<ApiToken>> {
        let sql = format!("SELECT {API_TOKEN_COLS} FROM api_tokens ORDER BY created_at, id");
        all(sqlx::query(&sql).fetch_all(&self.pool).await?)
    }

    async fn delete_api_token(&self, id: Uuid) -> StoreResult<()> {
        let done = sqlx::query("DELETE FROM api_tokens WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        updated(done.rows_affected())
    }

    async fn contacts_by_external_id(&self, external_id: &str) -> StoreResult<Vec<Contact>> {
        let sql = concat!(
            "SELECT ",
            cols!(contact),
            " FROM contacts WHERE external_id = $1 ORDER BY created_at, id LIMIT 100"
        );
        all(sqlx::query(sql)
            .bind(external_id)
            .fetch_all(&self.pool)
            .await?)
    }

    async fn conversations_updated_since(
        &self,
        since: Millis,
        after_id: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<Conversation>> {
        let rows = match after_id {
            Some(after) => {
                let sql = concat!(
                    "SELECT ",
                    cols!(conversation),
                    " FROM conversations WHERE updated_at > $1 OR (updated_at = $1 AND id > $2) \
                     ORDER BY updated_at, id LIMIT $3"
                );
                sqlx::query(sql)
                    .bind(since)
                    .bind(after)
                    .bind(limit as i64)
                    .fetch_all(&self.pool)
                    .await?
            }
            None => {
                let sql = concat!(
                    "SELECT ",
                    cols!(conversation),
                    " FROM conversations WHERE updated_at >= $1 ORDER BY updated_at, id LIMIT $2"
                );
                sqlx::query(sql)
                    .bind(since)
                    .bind(limit as i64)
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        all(rows)
    }
}
