//! The PostgreSQL back-end, for several chat nodes sharing one database.
//!
//! Same schema and behaviour as [`super::sqlite`]; what SQLite gets from its single writer,
//! PostgreSQL gets from row locks, so it holds with any number of nodes writing at once:
//! * `seq`: the conversation row is locked (`SELECT … FOR UPDATE`) before the resend check and
//!   the `last_seq + 1` update, so concurrent appends to one conversation queue on that row —
//!   seqs stay gapless and a resend racing its original finds it.
//! * accept: a conditional `UPDATE … WHERE state = 'waiting'`; a second updater waits for the
//!   first's row lock, re-checks the condition and updates nothing (→ `Conflict`).
//! * end: the row is locked before the state is checked.
//! * one open conversation per contact: the contact row is locked while looking for it.

use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{Connection, Postgres, Row, Transaction};
use uuid::Uuid;

use super::*;

/// PostgreSQL implementation of [`Store`].
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects to `url` (`postgres://…`) and runs the migrations (sqlx serializes concurrent
    /// migrators with an advisory lock, so several nodes may start at once).
    pub async fn open(url: &str) -> StoreResult<Self> {
        Self::open_with(url, 16).await
    }

    /// As [`PgStore::open`] with a pool of at most `max_connections`.
    pub async fn open_with(url: &str, max_connections: u32) -> StoreResult<Self> {
        let opts: PgConnectOptions = url.parse()?;
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(opts)
            .await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(PgStore { pool })
    }

    /// The pool (for tests and tools).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

fn auth_settings_row(row: &PgRow) -> StoreResult<AuthSettings> {
    Ok(AuthSettings {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        public_key_url: row.try_get("public_key_url")?,
        function_name: row.try_get("function_name")?,
        issuer: row.try_get("issuer")?,
        leeway_secs: row.try_get::<i64, _>("leeway_secs")?.max(0) as u64,
        key_count: row.try_get::<i64, _>("key_count")?.max(0) as u32,
        created_at: row.try_get("created_at")?,
    })
}

fn widget_row(row: &PgRow) -> StoreResult<Widget> {
    let origins: String = row.try_get("allowed_origins")?;
    Ok(Widget {
        app_id: row.try_get("app_id")?,
        name: row.try_get("name")?,
        allowed_origins: serde_json::from_str(&origins)
            .map_err(|e| StoreError::Corrupt(format!("allowed_origins: {e}")))?,
        auth_settings_id: row.try_get("auth_settings_id")?,
        require_auth: row.try_get("require_auth")?,
        title: row.try_get("title")?,
        created_at: row.try_get("created_at")?,
    })
}

fn agent_row(row: &PgRow) -> StoreResult<Agent> {
    let role: String = row.try_get("role")?;
    Ok(Agent {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        name: row.try_get("name")?,
        role: role.parse().map_err(StoreError::Corrupt)?,
        created_at: row.try_get("created_at")?,
    })
}

fn contact_row(row: &PgRow) -> StoreResult<Contact> {
    Ok(Contact {
        id: row.try_get("id")?,
        auth_settings_id: row.try_get("auth_settings_id")?,
        external_id: row.try_get("external_id")?,
        given_name: row.try_get("given_name")?,
        family_name: row.try_get("family_name")?,
        email: row.try_get("email")?,
        phone: row.try_get("phone")?,
        preferred_username: row.try_get("preferred_username")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn conversation_row(row: &PgRow) -> StoreResult<Conversation> {
    let state: String = row.try_get("state")?;
    let context: String = row.try_get("context")?;
    Ok(Conversation {
        id: row.try_get("id")?,
        widget_app_id: row.try_get("widget_app_id")?,
        state: ConversationState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("state {state:?}")))?,
        verified: row.try_get("verified")?,
        contact_id: row.try_get("contact_id")?,
        context: serde_json::from_str(&context)
            .map_err(|e| StoreError::Corrupt(format!("context: {e}")))?,
        agent_id: row.try_get("agent_id")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        ended_at: row.try_get("ended_at")?,
        last_seq: row.try_get("last_seq")?,
    })
}

fn message_row(row: &PgRow) -> StoreResult<Message> {
    let sender: String = row.try_get("sender")?;
    Ok(Message {
        conversation_id: row.try_get("conversation_id")?,
        seq: row.try_get("seq")?,
        sender: Sender::parse(&sender)
            .ok_or_else(|| StoreError::Corrupt(format!("sender {sender:?}")))?,
        text: row.try_get("text")?,
        sent_at: row.try_get("sent_at")?,
        client_msg_id: row.try_get("client_msg_id")?,
    })
}

fn activity_row(row: &PgRow) -> StoreResult<Activity> {
    let transcript: String = row.try_get("transcript")?;
    Ok(Activity {
        id: row.try_get("id")?,
        contact_id: row.try_get("contact_id")?,
        conversation_id: row.try_get("conversation_id")?,
        kind: row.try_get("kind")?,
        created_at: row.try_get("created_at")?,
        transcript: serde_json::from_str(&transcript)
            .map_err(|e| StoreError::Corrupt(format!("transcript: {e}")))?,
    })
}

fn session_row(row: &PgRow) -> StoreResult<CustomerSession> {
    Ok(CustomerSession {
        token_hash: row.try_get("token_hash")?,
        conversation_id: row.try_get("conversation_id")?,
        widget_app_id: row.try_get("widget_app_id")?,
        verified_sub: row.try_get("verified_sub")?,
        jwt_exp: row.try_get("jwt_exp")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
    })
}

fn failure_row(row: &PgRow) -> StoreResult<VerificationFailure> {
    Ok(VerificationFailure {
        at: row.try_get("at")?,
        reason: row.try_get("reason")?,
        detail: row.try_get("detail")?,
        kid: row.try_get("kid")?,
        iss: row.try_get("iss")?,
        sub: row.try_get("sub")?,
        auth_settings_id: row.try_get("auth_settings_id")?,
    })
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

fn json_text<T: serde::Serialize>(v: &T) -> StoreResult<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}

type Tx = Transaction<'static, Postgres>;

/// The conversation row, locked until `tx` ends.
async fn conversation_locked(tx: &mut Tx, id: Uuid) -> StoreResult<Option<Conversation>> {
    let row = sqlx::query("SELECT * FROM conversations WHERE id = $1 FOR UPDATE")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    row.as_ref().map(conversation_row).transpose()
}

async fn conversation_in(tx: &mut Tx, id: Uuid) -> StoreResult<Option<Conversation>> {
    let row = sqlx::query("SELECT * FROM conversations WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    row.as_ref().map(conversation_row).transpose()
}

/// Allocates the next seq and inserts the message, inside `tx`. The `UPDATE` takes the
/// conversation's row lock (if the caller has not already), so seqs never collide.
async fn insert_message_in(tx: &mut Tx, m: &NewMessage) -> StoreResult<Message> {
    let seq: i64 = sqlx::query_scalar(
        "UPDATE conversations SET last_seq = last_seq + 1, updated_at = $1 WHERE id = $2 RETURNING last_seq",
    )
    .bind(m.sent_at)
    .bind(m.conversation_id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(StoreError::NotFound)?;
    sqlx::query(
        "INSERT INTO messages (conversation_id, seq, sender, agent_id, text, client_msg_id, sent_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(m.conversation_id)
    .bind(seq)
    .bind(m.sender.as_str())
    .bind(m.agent_id)
    .bind(&m.text)
    .bind(&m.client_msg_id)
    .bind(m.sent_at)
    .execute(&mut **tx)
    .await?;
    Ok(Message {
        conversation_id: m.conversation_id,
        seq,
        sender: m.sender,
        text: m.text.clone(),
        sent_at: m.sent_at,
        client_msg_id: m.client_msg_id.clone(),
    })
}

async fn insert_conversation_in(tx: &mut Tx, c: &Conversation) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO conversations (id, widget_app_id, state, verified, contact_id, context, agent_id, created_at, updated_at, ended_at, last_seq)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
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
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[async_trait]
impl Store for PgStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn close(&self) {
        self.pool.close().await;
    }

    async fn insert_auth_settings(&self, s: &AuthSettings) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO auth_settings (id, name, public_key_url, function_name, issuer, leeway_secs, key_count, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(s.id)
        .bind(&s.name)
        .bind(&s.public_key_url)
        .bind(&s.function_name)
        .bind(&s.issuer)
        .bind(s.leeway_secs as i64)
        .bind(s.key_count as i64)
        .bind(s.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn update_auth_settings(&self, s: &AuthSettings) -> StoreResult<()> {
        let done = sqlx::query(
            "UPDATE auth_settings SET name = $1, public_key_url = $2, function_name = $3, issuer = $4, leeway_secs = $5, key_count = $6 WHERE id = $7",
        )
        .bind(&s.name)
        .bind(&s.public_key_url)
        .bind(&s.function_name)
        .bind(&s.issuer)
        .bind(s.leeway_secs as i64)
        .bind(s.key_count as i64)
        .bind(s.id)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn get_auth_settings(&self, id: Uuid) -> StoreResult<Option<AuthSettings>> {
        let row = sqlx::query("SELECT * FROM auth_settings WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(auth_settings_row).transpose()
    }

    async fn list_auth_settings(&self) -> StoreResult<Vec<AuthSettings>> {
        let rows = sqlx::query("SELECT * FROM auth_settings ORDER BY created_at, id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(auth_settings_row).collect()
    }

    async fn insert_widget(&self, w: &Widget) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO widgets (app_id, name, allowed_origins, auth_settings_id, require_auth, title, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(w.app_id)
        .bind(&w.name)
        .bind(json_text(&w.allowed_origins)?)
        .bind(w.auth_settings_id)
        .bind(w.require_auth)
        .bind(&w.title)
        .bind(w.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn update_widget(&self, w: &Widget) -> StoreResult<()> {
        let done = sqlx::query(
            "UPDATE widgets SET name = $1, allowed_origins = $2, auth_settings_id = $3, require_auth = $4, title = $5 WHERE app_id = $6",
        )
        .bind(&w.name)
        .bind(json_text(&w.allowed_origins)?)
        .bind(w.auth_settings_id)
        .bind(w.require_auth)
        .bind(&w.title)
        .bind(w.app_id)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn get_widget(&self, app_id: Uuid) -> StoreResult<Option<Widget>> {
        let row = sqlx::query("SELECT * FROM widgets WHERE app_id = $1")
            .bind(app_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(widget_row).transpose()
    }

    async fn list_widgets(&self) -> StoreResult<Vec<Widget>> {
        let rows = sqlx::query("SELECT * FROM widgets ORDER BY created_at, app_id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(widget_row).collect()
    }

    async fn insert_agent(&self, a: &Agent, password_hash: &str) -> StoreResult<()> {
        let res = sqlx::query(
            "INSERT INTO agents (id, email, name, role, password_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(a.id)
        .bind(&a.email)
        .bind(&a.name)
        .bind(a.role.as_str())
        .bind(password_hash)
        .bind(a.created_at)
        .execute(&self.pool)
        .await;
        match res {
            Ok(_) => Ok(()),
            Err(e) if is_unique_violation(&e) => Err(StoreError::Conflict(format!(
                "an agent with email {} already exists",
                a.email
            ))),
            Err(e) => Err(e.into()),
        }
    }

    async fn find_agent_by_email(&self, email: &str) -> StoreResult<Option<(Agent, String)>> {
        let row = sqlx::query("SELECT * FROM agents WHERE email = $1")
            .bind(email)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) => Ok(Some((agent_row(&row)?, row.try_get("password_hash")?))),
            None => Ok(None),
        }
    }

    async fn get_agent(&self, id: Uuid) -> StoreResult<Option<Agent>> {
        let row = sqlx::query("SELECT * FROM agents WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(agent_row).transpose()
    }

    async fn insert_agent_token(
        &self,
        token_hash: &[u8],
        agent_id: Uuid,
        expires_at: Millis,
    ) -> StoreResult<()> {
        let now = now_millis();
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM agent_tokens WHERE expires_at <= $1")
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO agent_tokens (token_hash, agent_id, expires_at, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash)
        .bind(agent_id)
        .bind(expires_at)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn find_agent_by_token(
        &self,
        token_hash: &[u8],
        now: Millis,
    ) -> StoreResult<Option<Agent>> {
        let row = sqlx::query(
            "SELECT a.* FROM agent_tokens t JOIN agents a ON a.id = t.agent_id WHERE t.token_hash = $1 AND t.expires_at > $2",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(agent_row).transpose()
    }

    async fn delete_agent_token(&self, token_hash: &[u8]) -> StoreResult<()> {
        sqlx::query("DELETE FROM agent_tokens WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn upsert_contact(
        &self,
        auth_settings_id: Uuid,
        external_id: &str,
        f: &ContactFields,
        now: Millis,
    ) -> StoreResult<Contact> {
        let row = sqlx::query(
            "INSERT INTO contacts (id, auth_settings_id, external_id, given_name, family_name, email, phone, preferred_username, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (auth_settings_id, external_id) DO UPDATE SET
               given_name = COALESCE(excluded.given_name, contacts.given_name),
               family_name = COALESCE(excluded.family_name, contacts.family_name),
               email = COALESCE(excluded.email, contacts.email),
               phone = COALESCE(excluded.phone, contacts.phone),
               preferred_username = COALESCE(excluded.preferred_username, contacts.preferred_username),
               updated_at = excluded.updated_at
             RETURNING *",
        )
        .bind(Uuid::new_v4())
        .bind(auth_settings_id)
        .bind(external_id)
        .bind(&f.given_name)
        .bind(&f.family_name)
        .bind(&f.email)
        .bind(&f.phone)
        .bind(&f.preferred_username)
        .bind(now)
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        contact_row(&row)
    }

    async fn get_contact(&self, id: Uuid) -> StoreResult<Option<Contact>> {
        let row = sqlx::query("SELECT * FROM contacts WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(contact_row).transpose()
    }

    async fn activities_for_contact(&self, contact_id: Uuid) -> StoreResult<Vec<Activity>> {
        let rows = sqlx::query(
            "SELECT * FROM activities WHERE contact_id = $1 ORDER BY created_at DESC, id",
        )
        .bind(contact_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(activity_row).collect()
    }

    async fn insert_conversation(&self, c: &Conversation) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        insert_conversation_in(&mut tx, c).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn get_conversation(&self, id: Uuid) -> StoreResult<Option<Conversation>> {
        let row = sqlx::query("SELECT * FROM conversations WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(conversation_row).transpose()
    }

    async fn open_conversation_for_contact(
        &self,
        contact_id: Uuid,
    ) -> StoreResult<Option<Conversation>> {
        let row = sqlx::query(
            "SELECT * FROM conversations WHERE contact_id = $1 AND state <> 'ended' ORDER BY created_at DESC LIMIT 1",
        )
        .bind(contact_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(conversation_row).transpose()
    }

    async fn open_or_insert_conversation(
        &self,
        c: &Conversation,
    ) -> StoreResult<(Conversation, bool)> {
        let mut tx = self.pool.begin().await?;
        if let Some(contact_id) = c.contact_id {
            // Two browsers (on two nodes) of one contact queue here; the second finds the first's.
            let locked = sqlx::query("SELECT id FROM contacts WHERE id = $1 FOR UPDATE")
                .bind(contact_id)
                .fetch_optional(&mut *tx)
                .await?;
            if locked.is_none() {
                return Err(StoreError::NotFound);
            }
            let row = sqlx::query(
                "SELECT * FROM conversations WHERE contact_id = $1 AND state <> 'ended' ORDER BY created_at DESC LIMIT 1",
            )
            .bind(contact_id)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(row) = row {
                let existing = conversation_row(&row)?;
                tx.commit().await?;
                return Ok((existing, false));
            }
        }
        insert_conversation_in(&mut tx, c).await?;
        tx.commit().await?;
        Ok((c.clone(), true))
    }

    async fn set_conversation_context(
        &self,
        id: Uuid,
        context: &serde_json::Map<String, serde_json::Value>,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE conversations SET context = $1 WHERE id = $2")
            .bind(json_text(context)?)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn list_conversations(
        &self,
        state: Option<ConversationState>,
        limit: u32,
    ) -> StoreResult<Vec<Conversation>> {
        let rows = match state {
            Some(s) => sqlx::query(
                "SELECT * FROM conversations WHERE state = $1 ORDER BY created_at DESC, id LIMIT $2",
            )
            .bind(s.as_str())
            .bind(limit as i64)
            .fetch_all(&self.pool)
            .await?,
            None => {
                sqlx::query("SELECT * FROM conversations ORDER BY created_at DESC, id LIMIT $1")
                    .bind(limit as i64)
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        rows.iter().map(conversation_row).collect()
    }

    async fn append_message(&self, m: &NewMessage) -> StoreResult<Appended> {
        let mut tx = self.pool.begin().await?;
        // The row lock first: everything below sees every append committed before it.
        let conversation = conversation_locked(&mut tx, m.conversation_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        if let Some(cid) = &m.client_msg_id {
            let existing = sqlx::query(
                "SELECT * FROM messages WHERE conversation_id = $1 AND sender = $2 AND client_msg_id = $3",
            )
            .bind(m.conversation_id)
            .bind(m.sender.as_str())
            .bind(cid)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(row) = existing {
                let message = message_row(&row)?;
                tx.commit().await?;
                return Ok(Appended {
                    message,
                    duplicate: true,
                    agent_id: conversation.agent_id,
                });
            }
        }
        if conversation.state == ConversationState::Ended {
            return Err(StoreError::Conflict("ended".into()));
        }
        let message = insert_message_in(&mut tx, m).await?;
        tx.commit().await?;
        Ok(Appended {
            message,
            duplicate: false,
            agent_id: conversation.agent_id,
        })
    }

    async fn messages_after(
        &self,
        conversation_id: Uuid,
        after_seq: i64,
        limit: u32,
    ) -> StoreResult<Vec<Message>> {
        let rows = sqlx::query(
            "SELECT * FROM messages WHERE conversation_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        )
        .bind(conversation_id)
        .bind(after_seq)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(message_row).collect()
    }

    async fn accept_conversation(
        &self,
        id: Uuid,
        agent_id: Uuid,
        joined_text: &str,
        now: Millis,
    ) -> StoreResult<(Conversation, Message)> {
        let mut tx = self.pool.begin().await?;
        let won = sqlx::query(
            "UPDATE conversations SET state = 'active', agent_id = $1, updated_at = $2 WHERE id = $3 AND state = 'waiting'",
        )
        .bind(agent_id)
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !won {
            let exists = conversation_in(&mut tx, id).await?.is_some();
            return Err(if exists {
                StoreError::Conflict("the conversation is no longer waiting".into())
            } else {
                StoreError::NotFound
            });
        }
        let message = insert_message_in(
            &mut tx,
            &NewMessage {
                conversation_id: id,
                sender: Sender::System,
                agent_id: None,
                text: joined_text.to_string(),
                client_msg_id: None,
                sent_at: now,
            },
        )
        .await?;
        let conversation = conversation_in(&mut tx, id)
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok((conversation, message))
    }

    async fn end_conversation(
        &self,
        id: Uuid,
        ended_text: &str,
        now: Millis,
    ) -> StoreResult<Ended> {
        let mut tx = self.pool.begin().await?;
        let before = conversation_locked(&mut tx, id)
            .await?
            .ok_or(StoreError::NotFound)?;
        if before.state == ConversationState::Ended {
            return Err(StoreError::Conflict(
                "the conversation has already ended".into(),
            ));
        }
        sqlx::query(
            "UPDATE conversations SET state = 'ended', ended_at = $1, updated_at = $1 WHERE id = $2",
        )
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let message = insert_message_in(
            &mut tx,
            &NewMessage {
                conversation_id: id,
                sender: Sender::System,
                agent_id: None,
                text: ended_text.to_string(),
                client_msg_id: None,
                sent_at: now,
            },
        )
        .await?;
        let activity = match before.contact_id {
            Some(contact_id) => {
                let rows =
                    sqlx::query("SELECT * FROM messages WHERE conversation_id = $1 ORDER BY seq")
                        .bind(id)
                        .fetch_all(&mut *tx)
                        .await?;
                let transcript = rows
                    .iter()
                    .map(|r| {
                        message_row(r).map(|m| TranscriptEntry {
                            seq: m.seq,
                            sender: m.sender.as_str().to_string(),
                            text: m.text,
                            sent_at: rfc3339(m.sent_at),
                        })
                    })
                    .collect::<StoreResult<Vec<_>>>()?;
                let activity = Activity {
                    id: Uuid::new_v4(),
                    contact_id,
                    conversation_id: id,
                    kind: "chat_transcript".into(),
                    created_at: now,
                    transcript,
                };
                sqlx::query(
                    "INSERT INTO activities (id, contact_id, conversation_id, kind, transcript, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(activity.id)
                .bind(contact_id)
                .bind(id)
                .bind(&activity.kind)
                .bind(json_text(&activity.transcript)?)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                Some(activity)
            }
            None => None,
        };
        let conversation = conversation_in(&mut tx, id)
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(Ended {
            before,
            conversation,
            message,
            activity,
        })
    }

    async fn insert_session(&self, s: &CustomerSession) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM customer_sessions WHERE expires_at <= $1")
            .bind(s.created_at)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO customer_sessions (token_hash, conversation_id, widget_app_id, verified_sub, jwt_exp, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&s.token_hash)
        .bind(s.conversation_id)
        .bind(s.widget_app_id)
        .bind(&s.verified_sub)
        .bind(s.jwt_exp)
        .bind(s.created_at)
        .bind(s.expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn find_session(
        &self,
        token_hash: &[u8],
        now: Millis,
    ) -> StoreResult<Option<CustomerSession>> {
        let row = sqlx::query(
            "SELECT * FROM customer_sessions WHERE token_hash = $1 AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(session_row).transpose()
    }

    async fn update_session_jwt_exp(
        &self,
        token_hash: &[u8],
        jwt_exp: Option<i64>,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE customer_sessions SET jwt_exp = $1 WHERE token_hash = $2")
            .bind(jwt_exp)
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn delete_session(&self, token_hash: &[u8]) -> StoreResult<()> {
        sqlx::query("DELETE FROM customer_sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn record_verification_failure(
        &self,
        f: &VerificationFailure,
        keep: u32,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO verification_failures (at, reason, detail, kid, iss, sub, auth_settings_id) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(f.at)
        .bind(&f.reason)
        .bind(&f.detail)
        .bind(&f.kid)
        .bind(&f.iss)
        .bind(&f.sub)
        .bind(f.auth_settings_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO verification_failure_counts (reason, count) VALUES ($1, 1)
             ON CONFLICT (reason) DO UPDATE SET count = verification_failure_counts.count + 1",
        )
        .bind(&f.reason)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "DELETE FROM verification_failures WHERE id <= (SELECT id FROM verification_failures ORDER BY id DESC LIMIT 1 OFFSET $1)",
        )
        .bind(keep as i64)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn verification_failure_counts(&self) -> StoreResult<Vec<(String, i64)>> {
        let rows =
            sqlx::query("SELECT reason, count FROM verification_failure_counts ORDER BY reason")
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("reason")?, r.try_get("count")?)))
            .collect()
    }

    async fn recent_verification_failures(
        &self,
        limit: u32,
    ) -> StoreResult<Vec<VerificationFailure>> {
        let rows = sqlx::query("SELECT * FROM verification_failures ORDER BY id DESC LIMIT $1")
            .bind(limit as i64)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(failure_row).collect()
    }
}

/// A uniquely named PostgreSQL database made for one test or bench run and dropped after it
/// (`DROP DATABASE … WITH (FORCE)`, so connections still open do not keep it alive).
pub struct ScratchDatabase {
    /// `postgres://…/vouch_scratch_<random>`.
    pub url: String,
    name: String,
    admin_url: String,
    dropped: bool,
}

impl ScratchDatabase {
    /// Creates `vouch_scratch_<random>` on the server `admin_url` names (a URL to any database
    /// there, e.g. `postgres://postgres@127.0.0.1:5432/postgres`).
    pub async fn create(admin_url: &str) -> StoreResult<ScratchDatabase> {
        let mut url = url::Url::parse(admin_url)
            .map_err(|e| StoreError::Unsupported(format!("database URL: {e}")))?;
        let name = format!("vouch_scratch_{}", Uuid::new_v4().simple());
        let mut admin = sqlx::PgConnection::connect(admin_url).await?;
        // The name is ours (hex digits), never input: safe to splice into DDL.
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await?;
        let _ = admin.close().await;
        url.set_path(&format!("/{name}"));
        Ok(ScratchDatabase {
            url: url.to_string(),
            name,
            admin_url: admin_url.to_string(),
            dropped: false,
        })
    }

    /// Drops the database now.
    pub async fn drop_now(mut self) -> StoreResult<()> {
        self.dropped = true;
        drop_database(&self.admin_url, &self.name).await
    }
}

async fn drop_database(admin_url: &str, name: &str) -> StoreResult<()> {
    let mut admin = sqlx::PgConnection::connect(admin_url).await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut admin)
        .await?;
    let _ = admin.close().await;
    Ok(())
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        if self.dropped {
            return;
        }
        // Drop may run inside a runtime: use a thread of its own with a small runtime.
        let (admin, name) = (self.admin_url.clone(), self.name.clone());
        let done = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(rt) = rt {
                if let Err(e) = rt.block_on(drop_database(&admin, &name)) {
                    eprintln!("could not drop scratch database {name}: {e}");
                }
            }
        });
        let _ = done.join();
    }
}
