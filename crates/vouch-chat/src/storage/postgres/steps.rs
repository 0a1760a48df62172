//! PostgreSQL's single steps of the flows ([`Steps`]), on one sqlx transaction.
//!
//! What SQLite gets from its single writer, PostgreSQL gets from row locks, so it holds with any
//! number of nodes writing at once:
//! * `seq`: the conversation row is locked (`SELECT … FOR UPDATE`) before the resend check and
//!   the `last_seq + 1` update, so concurrent appends to one conversation queue on that row —
//!   seqs stay gapless and a resend racing its original finds it.
//! * accept: a conditional `UPDATE … WHERE state = 'waiting'`; a second updater waits for the
//!   first's row lock, re-checks the condition and updates nothing (→ `Conflict`).
//! * end: the row is locked before the state is checked.
//! * one open conversation per contact: the contact row is locked while looking for it.

use sqlx::postgres::PgRow;
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use super::super::flows::Steps;
use super::super::rows::{attachments_json, cols, json_text, FromColumns};
use super::super::*;

/// The first row, mapped.
pub(super) fn one<T: FromColumns>(row: Option<PgRow>) -> StoreResult<Option<T>> {
    row.as_ref().map(T::from_columns).transpose()
}

/// Every row, mapped.
pub(super) fn all<T: FromColumns>(rows: Vec<PgRow>) -> StoreResult<Vec<T>> {
    rows.iter().map(T::from_columns).collect()
}

/// One transaction: a flow's steps run on it, and [`PgSteps::commit`] ends it (dropping it
/// rolls it back).
pub(super) struct PgSteps(pub Transaction<'static, Postgres>);

impl PgSteps {
    pub(super) async fn commit(self) -> StoreResult<()> {
        Ok(self.0.commit().await?)
    }
}

impl Steps for PgSteps {
    async fn lock_conversation(&mut self, id: Uuid) -> StoreResult<()> {
        sqlx::query("SELECT 1 FROM conversations WHERE id = $1 FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut *self.0)
            .await?;
        Ok(())
    }

    async fn conversation(&mut self, id: Uuid, lock: bool) -> StoreResult<Option<Conversation>> {
        let sql = if lock {
            concat!(
                "SELECT ",
                cols!(conversation),
                " FROM conversations WHERE id = $1 FOR UPDATE"
            )
        } else {
            concat!(
                "SELECT ",
                cols!(conversation),
                " FROM conversations WHERE id = $1"
            )
        };
        one(sqlx::query(sql)
            .bind(id)
            .fetch_optional(&mut *self.0)
            .await?)
    }

    async fn conversation_exists(&mut self, id: Uuid) -> StoreResult<bool> {
        let found = sqlx::query("SELECT 1 FROM conversations WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *self.0)
            .await?;
        Ok(found.is_some())
    }

    async fn conversation_agent(&mut self, id: Uuid) -> StoreResult<Option<Uuid>> {
        let agent: Option<Option<Uuid>> =
            sqlx::query_scalar("SELECT agent_id FROM conversations WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *self.0)
                .await?;
        Ok(agent.flatten())
    }

    async fn resent_message(
        &mut self,
        conversation_id: Uuid,
        sender: Sender,
        client_msg_id: &str,
    ) -> StoreResult<Option<Message>> {
        let sql = concat!(
            "SELECT ",
            cols!(message),
            " FROM messages WHERE conversation_id = $1 AND sender = $2 AND client_msg_id = $3"
        );
        let row = sqlx::query(sql)
            .bind(conversation_id)
            .bind(sender.as_str())
            .bind(client_msg_id)
            .fetch_optional(&mut *self.0)
            .await?;
        one(row)
    }

    async fn next_seq(
        &mut self,
        id: Uuid,
        now: Millis,
        open_only: bool,
    ) -> StoreResult<Option<(i64, Option<Uuid>)>> {
        let sql = if open_only {
            "UPDATE conversations SET last_seq = last_seq + 1, updated_at = $1 \
             WHERE id = $2 AND state <> 'ended' RETURNING last_seq, agent_id"
        } else {
            "UPDATE conversations SET last_seq = last_seq + 1, updated_at = $1 \
             WHERE id = $2 RETURNING last_seq, agent_id"
        };
        Ok(sqlx::query_as(sql)
            .bind(now)
            .bind(id)
            .fetch_optional(&mut *self.0)
            .await?)
    }

    async fn insert_message(
        &mut self,
        m: &NewMessage,
        seq: i64,
        attachments: &[AttachmentMeta],
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO messages (conversation_id, seq, sender, agent_id, text, client_msg_id, sent_at, attachments) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(m.conversation_id)
        .bind(seq)
        .bind(m.sender.as_str())
        .bind(m.agent_id)
        .bind(&m.text)
        .bind(&m.client_msg_id)
        .bind(m.sent_at)
        .bind(attachments_json(attachments)?)
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    async fn link_attachment(
        &mut self,
        id: Uuid,
        m: &NewMessage,
        seq: i64,
    ) -> StoreResult<Option<AttachmentMeta>> {
        let row = sqlx::query(
            "UPDATE attachments SET message_seq = $1 WHERE id = $2 AND conversation_id = $3 AND sender = $4 AND agent_id IS NOT DISTINCT FROM $5 AND message_seq IS NULL RETURNING id, filename, content_type, size",
        )
        .bind(seq)
        .bind(id)
        .bind(m.conversation_id)
        .bind(m.sender.as_str())
        .bind(m.agent_id)
        .fetch_optional(&mut *self.0)
        .await?;
        one(row)
    }

    async fn messages(&mut self, conversation_id: Uuid) -> StoreResult<Vec<Message>> {
        let sql = concat!(
            "SELECT ",
            cols!(message),
            " FROM messages WHERE conversation_id = $1 ORDER BY seq"
        );
        all(sqlx::query(sql)
            .bind(conversation_id)
            .fetch_all(&mut *self.0)
            .await?)
    }

    async fn take_waiting(&mut self, id: Uuid, agent_id: Uuid, now: Millis) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE conversations SET state = 'active', agent_id = $1, updated_at = $2, accepted_at = COALESCE(accepted_at, $2) WHERE id = $3 AND state = 'waiting'",
        )
        .bind(agent_id)
        .bind(now)
        .bind(id)
        .execute(&mut *self.0)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn mark_ended(&mut self, id: Uuid, now: Millis) -> StoreResult<()> {
        sqlx::query(
            "UPDATE conversations SET state = 'ended', ended_at = $1, updated_at = $1 WHERE id = $2",
        )
        .bind(now)
        .bind(id)
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    async fn insert_activity(&mut self, a: &Activity) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO activities (id, contact_id, conversation_id, kind, transcript, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(a.id)
        .bind(a.contact_id)
        .bind(a.conversation_id)
        .bind(&a.kind)
        .bind(json_text(&a.transcript)?)
        .bind(a.created_at)
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    async fn upsert_contact(&mut self, key: &ContactKey, now: Millis) -> StoreResult<Contact> {
        let f = &key.fields;
        let sql = concat!(
            "INSERT INTO contacts (",
            cols!(contact),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            super::super::rows::upsert_contact_tail!(),
            cols!(contact)
        );
        let row = sqlx::query(sql)
            .bind(Uuid::new_v4())
            .bind(key.auth_settings_id)
            .bind(&key.external_id)
            .bind(&f.given_name)
            .bind(&f.family_name)
            .bind(&f.email)
            .bind(&f.phone)
            .bind(&f.preferred_username)
            .bind(now)
            .bind(now)
            .fetch_one(&mut *self.0)
            .await?;
        Contact::from_columns(&row)
    }

    async fn lock_contact(&mut self, id: Uuid) -> StoreResult<bool> {
        let locked = sqlx::query("SELECT id FROM contacts WHERE id = $1 FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut *self.0)
            .await?;
        Ok(locked.is_some())
    }

    async fn open_conversation(&mut self, contact_id: Uuid) -> StoreResult<Option<Conversation>> {
        let row = sqlx::query(super::OPEN_CONVERSATION)
            .bind(contact_id)
            .fetch_optional(&mut *self.0)
            .await?;
        one(row)
    }

    async fn insert_conversation(&mut self, c: &Conversation) -> StoreResult<()> {
        let sql = concat!(
            "INSERT INTO conversations (",
            cols!(conversation),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        );
        sqlx::query(sql)
            .bind(c.id)
            .bind(c.widget_app_id)
            .bind(c.state.as_str())
            .bind(c.verified)
            .bind(c.contact_id)
            .bind(json_text(&c.context)?)
            .bind(c.agent_id)
            .bind(c.created_at)
            .bind(c.updated_at)
            .bind(c.ended_at)
            .bind(c.last_seq)
            .bind(c.queue_id)
            .execute(&mut *self.0)
            .await?;
        Ok(())
    }

    async fn set_context(
        &mut self,
        id: Uuid,
        context: &serde_json::Map<String, serde_json::Value>,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE conversations SET context = $1 WHERE id = $2")
            .bind(json_text(context)?)
            .bind(id)
            .execute(&mut *self.0)
            .await?;
        Ok(())
    }

    async fn delete_expired_sessions(&mut self, now: Millis) -> StoreResult<()> {
        sqlx::query("DELETE FROM customer_sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(&mut *self.0)
            .await?;
        Ok(())
    }

    async fn insert_session(&mut self, s: &CustomerSession) -> StoreResult<()> {
        let sql = concat!(
            "INSERT INTO customer_sessions (",
            cols!(session),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7)"
        );
        sqlx::query(sql)
            .bind(&s.token_hash)
            .bind(s.conversation_id)
            .bind(s.widget_app_id)
            .bind(&s.verified_sub)
            .bind(s.jwt_exp)
            .bind(s.created_at)
            .bind(s.expires_at)
            .execute(&mut *self.0)
            .await?;
        Ok(())
    }

    async fn insert_failure(&mut self, f: &VerificationFailure) -> StoreResult<()> {
        let sql = concat!(
            "INSERT INTO verification_failures (",
            cols!(failure),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7)"
        );
        sqlx::query(sql)
            .bind(f.at)
            .bind(&f.reason)
            .bind(&f.detail)
            .bind(&f.kid)
            .bind(&f.iss)
            .bind(&f.sub)
            .bind(f.auth_settings_id)
            .execute(&mut *self.0)
            .await?;
        Ok(())
    }

    async fn count_failure(&mut self, reason: &str) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO verification_failure_counts (reason, count) VALUES ($1, 1)
             ON CONFLICT (reason) DO UPDATE SET count = verification_failure_counts.count + 1",
        )
        .bind(reason)
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    async fn trim_failures(&mut self, keep: u32) -> StoreResult<()> {
        sqlx::query(
            "DELETE FROM verification_failures WHERE id <= (SELECT id FROM verification_failures ORDER BY id DESC LIMIT 1 OFFSET $1)",
        )
        .bind(keep as i64)
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }
}
