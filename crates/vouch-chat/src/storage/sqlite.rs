//! The embedded SQLite back-end: WAL, `synchronous=FULL`, foreign keys on.
//!
//! Writes go through a pool of one connection and `BEGIN IMMEDIATE` transactions, so writers
//! queue instead of failing with `SQLITE_BUSY`; reads use a separate pool.
//!
//! The hot writes — messages ([`Store::append_message`]), new conversations and customer
//! sessions — are stored by GROUP COMMIT: the caller queues its write for one writer task, which
//! takes every write queued meanwhile (up to [`MAX_BATCH`], from any number of conversations),
//! applies them in one transaction and commits once — one fsync of the WAL for the whole batch —
//! and only then answers each waiter. Durability is unchanged (a caller's future completes after
//! the fsync that covers its write, so an `ack` still means "on disk"); throughput no longer pays
//! one fsync per message. Seqs are still allocated inside the transaction, so they stay gapless per
//! conversation, and a resend within the same batch sees the first copy. If a batch fails, its
//! writes are retried one transaction each, so one bad write cannot fail its neighbours.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Row, Sqlite, Transaction};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::*;

/// Most appends one group commit writes in a transaction.
pub const MAX_BATCH: usize = 512;
/// Writes that may wait for the writer task before callers wait to enqueue (back-pressure).
const WRITE_QUEUE: usize = 8192;

/// A write the group-commit task applies.
enum Op {
    Append(NewMessage),
    InsertConversation(Conversation),
    OpenOrInsertConversation(Conversation),
    InsertSession(CustomerSession),
}

/// What a queued write answers, by kind.
enum Outcome {
    Appended(StoreResult<Appended>),
    Done(StoreResult<()>),
    Opened(StoreResult<(Conversation, bool)>),
}

impl Outcome {
    /// The failure answer for `op`.
    fn failed(op: &Op, e: StoreError) -> Outcome {
        match op {
            Op::Append(_) => Outcome::Appended(Err(e)),
            Op::InsertConversation(_) | Op::InsertSession(_) => Outcome::Done(Err(e)),
            Op::OpenOrInsertConversation(_) => Outcome::Opened(Err(e)),
        }
    }
}

/// One queued write and where its outcome goes.
struct WriteJob {
    op: Op,
    done: oneshot::Sender<Outcome>,
}

fn writer_stopped() -> StoreError {
    StoreError::Unavailable("the database writer has stopped".into())
}

fn wrong_outcome() -> StoreError {
    StoreError::Unavailable("the database writer answered another kind of write".into())
}

/// SQLite implementation of [`Store`].
#[derive(Clone)]
pub struct SqliteStore {
    reader: SqlitePool,
    writer: SqlitePool,
    /// To the group-commit writer task (ends when the last clone of the store is dropped).
    writes: mpsc::Sender<WriteJob>,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` (`sqlite://PATH` or `sqlite::memory:`)
    /// and runs the migrations.
    pub async fn open(url: &str) -> StoreResult<Self> {
        let opts = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .connect_with(opts.clone())
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&writer).await?;
        let reader = if in_memory {
            writer.clone()
        } else {
            SqlitePoolOptions::new()
                .max_connections(4)
                .connect_with(opts.read_only(true))
                .await?
        };
        let (writes, queue) = mpsc::channel(WRITE_QUEUE);
        tokio::spawn(group_commit(writer.clone(), queue));
        Ok(SqliteStore {
            reader,
            writer,
            writes,
        })
    }

    /// Queues `op` for the next group commit and waits until it is committed (or refused).
    async fn write(&self, op: Op) -> StoreResult<Outcome> {
        let (done, outcome) = oneshot::channel();
        self.writes
            .send(WriteJob { op, done })
            .await
            .map_err(|_| writer_stopped())?;
        outcome.await.map_err(|_| writer_stopped())
    }

    async fn begin(&self) -> StoreResult<Transaction<'static, Sqlite>> {
        begin_immediate(&self.writer).await
    }
}

/// `BEGIN IMMEDIATE` on the writer. When a COMMIT fails with an I/O error (a full disk), SQLite
/// has already rolled the transaction back, sqlx's ROLLBACK then fails, and sqlx keeps counting
/// the connection as inside a transaction, refusing every later BEGIN. Such a connection is
/// closed and a fresh one opened, so writes work again as soon as the disk does.
async fn begin_immediate(pool: &SqlitePool) -> StoreResult<Transaction<'static, Sqlite>> {
    match pool.begin_with("BEGIN IMMEDIATE").await {
        Err(sqlx::Error::InvalidSavePointStatement) => {
            tracing::warn!("replacing the database writer connection after a failed commit");
            if let Ok(conn) = pool.acquire().await {
                let _ = conn.close().await;
            }
            Ok(pool.begin_with("BEGIN IMMEDIATE").await?)
        }
        r => Ok(r?),
    }
}

fn uuid_col(row: &SqliteRow, col: &str) -> StoreResult<Uuid> {
    let s: String = row.try_get(col)?;
    Uuid::parse_str(&s).map_err(|e| StoreError::Corrupt(format!("{col}: {e}")))
}

fn opt_uuid_col(row: &SqliteRow, col: &str) -> StoreResult<Option<Uuid>> {
    let s: Option<String> = row.try_get(col)?;
    s.map(|s| Uuid::parse_str(&s).map_err(|e| StoreError::Corrupt(format!("{col}: {e}"))))
        .transpose()
}

fn auth_settings_row(row: &SqliteRow) -> StoreResult<AuthSettings> {
    Ok(AuthSettings {
        id: uuid_col(row, "id")?,
        name: row.try_get("name")?,
        public_key_url: row.try_get("public_key_url")?,
        function_name: row.try_get("function_name")?,
        issuer: row.try_get("issuer")?,
        leeway_secs: row.try_get::<i64, _>("leeway_secs")?.max(0) as u64,
        key_count: row.try_get::<i64, _>("key_count")?.max(0) as u32,
        created_at: row.try_get("created_at")?,
    })
}

fn widget_row(row: &SqliteRow) -> StoreResult<Widget> {
    let origins: String = row.try_get("allowed_origins")?;
    Ok(Widget {
        app_id: uuid_col(row, "app_id")?,
        name: row.try_get("name")?,
        allowed_origins: serde_json::from_str(&origins)
            .map_err(|e| StoreError::Corrupt(format!("allowed_origins: {e}")))?,
        auth_settings_id: opt_uuid_col(row, "auth_settings_id")?,
        require_auth: row.try_get("require_auth")?,
        title: row.try_get("title")?,
        created_at: row.try_get("created_at")?,
    })
}

fn agent_row(row: &SqliteRow) -> StoreResult<Agent> {
    let role: String = row.try_get("role")?;
    Ok(Agent {
        id: uuid_col(row, "id")?,
        email: row.try_get("email")?,
        name: row.try_get("name")?,
        role: role.parse().map_err(StoreError::Corrupt)?,
        created_at: row.try_get("created_at")?,
    })
}

fn contact_row(row: &SqliteRow) -> StoreResult<Contact> {
    Ok(Contact {
        id: uuid_col(row, "id")?,
        auth_settings_id: uuid_col(row, "auth_settings_id")?,
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

fn conversation_row(row: &SqliteRow) -> StoreResult<Conversation> {
    let state: String = row.try_get("state")?;
    let context: String = row.try_get("context")?;
    Ok(Conversation {
        id: uuid_col(row, "id")?,
        widget_app_id: uuid_col(row, "widget_app_id")?,
        state: ConversationState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("state {state:?}")))?,
        verified: row.try_get("verified")?,
        contact_id: opt_uuid_col(row, "contact_id")?,
        context: serde_json::from_str(&context)
            .map_err(|e| StoreError::Corrupt(format!("context: {e}")))?,
        agent_id: opt_uuid_col(row, "agent_id")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        ended_at: row.try_get("ended_at")?,
        last_seq: row.try_get("last_seq")?,
    })
}

fn message_row(row: &SqliteRow) -> StoreResult<Message> {
    let sender: String = row.try_get("sender")?;
    Ok(Message {
        conversation_id: uuid_col(row, "conversation_id")?,
        seq: row.try_get("seq")?,
        sender: Sender::parse(&sender)
            .ok_or_else(|| StoreError::Corrupt(format!("sender {sender:?}")))?,
        text: row.try_get("text")?,
        sent_at: row.try_get("sent_at")?,
        client_msg_id: row.try_get("client_msg_id")?,
    })
}

fn activity_row(row: &SqliteRow) -> StoreResult<Activity> {
    let transcript: String = row.try_get("transcript")?;
    Ok(Activity {
        id: uuid_col(row, "id")?,
        contact_id: uuid_col(row, "contact_id")?,
        conversation_id: uuid_col(row, "conversation_id")?,
        kind: row.try_get("kind")?,
        created_at: row.try_get("created_at")?,
        transcript: serde_json::from_str(&transcript)
            .map_err(|e| StoreError::Corrupt(format!("transcript: {e}")))?,
    })
}

fn session_row(row: &SqliteRow) -> StoreResult<CustomerSession> {
    Ok(CustomerSession {
        token_hash: row.try_get("token_hash")?,
        conversation_id: uuid_col(row, "conversation_id")?,
        widget_app_id: uuid_col(row, "widget_app_id")?,
        verified_sub: row.try_get("verified_sub")?,
        jwt_exp: row.try_get("jwt_exp")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
    })
}

fn failure_row(row: &SqliteRow) -> StoreResult<VerificationFailure> {
    Ok(VerificationFailure {
        at: row.try_get("at")?,
        reason: row.try_get("reason")?,
        detail: row.try_get("detail")?,
        kid: row.try_get("kid")?,
        iss: row.try_get("iss")?,
        sub: row.try_get("sub")?,
        auth_settings_id: opt_uuid_col(row, "auth_settings_id")?,
    })
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

fn json_text<T: serde::Serialize>(v: &T) -> StoreResult<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}

async fn conversation_in(
    tx: &mut Transaction<'static, Sqlite>,
    id: Uuid,
) -> StoreResult<Option<Conversation>> {
    let row = sqlx::query("SELECT * FROM conversations WHERE id = ?")
        .bind(id.to_string())
        .fetch_optional(&mut **tx)
        .await?;
    row.as_ref().map(conversation_row).transpose()
}

/// Allocates the next seq and inserts the message, inside `tx`.
async fn insert_message_in(
    tx: &mut Transaction<'static, Sqlite>,
    m: &NewMessage,
) -> StoreResult<Message> {
    let seq: i64 = sqlx::query_scalar(
        "UPDATE conversations SET last_seq = last_seq + 1, updated_at = ? WHERE id = ? RETURNING last_seq",
    )
    .bind(m.sent_at)
    .bind(m.conversation_id.to_string())
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(StoreError::NotFound)?;
    sqlx::query(
        "INSERT INTO messages (conversation_id, seq, sender, agent_id, text, client_msg_id, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(m.conversation_id.to_string())
    .bind(seq)
    .bind(m.sender.as_str())
    .bind(m.agent_id.map(|a| a.to_string()))
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

async fn insert_conversation_in(
    tx: &mut Transaction<'static, Sqlite>,
    c: &Conversation,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO conversations (id, widget_app_id, state, verified, contact_id, context, agent_id, created_at, updated_at, ended_at, last_seq)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(c.id.to_string())
    .bind(c.widget_app_id.to_string())
    .bind(c.state.as_str())
    .bind(c.verified)
    .bind(c.contact_id.map(|u| u.to_string()))
    .bind(json_text(&c.context)?)
    .bind(c.agent_id.map(|u| u.to_string()))
    .bind(c.created_at)
    .bind(c.updated_at)
    .bind(c.ended_at)
    .bind(c.last_seq)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Appends `m` inside `tx`: the conversation must exist; a resend of the same (sender,
/// client_msg_id) returns the stored message as a duplicate; an ended conversation refuses.
/// Expected refusals (`NotFound`, `Conflict`) write nothing.
async fn append_in(tx: &mut Transaction<'static, Sqlite>, m: &NewMessage) -> StoreResult<Appended> {
    let conversation = conversation_in(tx, m.conversation_id)
        .await?
        .ok_or(StoreError::NotFound)?;
    if let Some(cid) = &m.client_msg_id {
        let existing = sqlx::query(
            "SELECT * FROM messages WHERE conversation_id = ? AND sender = ? AND client_msg_id = ?",
        )
        .bind(m.conversation_id.to_string())
        .bind(m.sender.as_str())
        .bind(cid)
        .fetch_optional(&mut **tx)
        .await?;
        if let Some(row) = existing {
            return Ok(Appended {
                message: message_row(&row)?,
                duplicate: true,
                conversation,
            });
        }
    }
    if conversation.state == ConversationState::Ended {
        return Err(StoreError::Conflict("ended".into()));
    }
    let message = insert_message_in(tx, m).await?;
    Ok(Appended {
        message,
        duplicate: false,
        conversation,
    })
}

/// Whether an append's error is its own expected outcome (nothing was written) rather than a
/// failure of the transaction.
fn is_refusal(e: &StoreError) -> bool {
    matches!(e, StoreError::NotFound | StoreError::Conflict(_))
}

/// In one transaction: the open conversation of `c.contact_id` if there is one (with `false`),
/// else `c` inserted (with `true`).
async fn open_or_insert_in(
    tx: &mut Transaction<'static, Sqlite>,
    c: &Conversation,
) -> StoreResult<(Conversation, bool)> {
    if let Some(contact_id) = c.contact_id {
        let row = sqlx::query(
            "SELECT * FROM conversations WHERE contact_id = ? AND state != 'ended' ORDER BY created_at DESC LIMIT 1",
        )
        .bind(contact_id.to_string())
        .fetch_optional(&mut **tx)
        .await?;
        if let Some(row) = row {
            return Ok((conversation_row(&row)?, false));
        }
    }
    insert_conversation_in(tx, c).await?;
    Ok((c.clone(), true))
}

async fn insert_session_in(
    tx: &mut Transaction<'static, Sqlite>,
    s: &CustomerSession,
) -> StoreResult<()> {
    sqlx::query("DELETE FROM customer_sessions WHERE expires_at <= ?")
        .bind(s.created_at)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO customer_sessions (token_hash, conversation_id, widget_app_id, verified_sub, jwt_exp, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&s.token_hash)
    .bind(s.conversation_id.to_string())
    .bind(s.widget_app_id.to_string())
    .bind(&s.verified_sub)
    .bind(s.jwt_exp)
    .bind(s.created_at)
    .bind(s.expires_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Applies one write inside `tx`. `Err` aborts the transaction; an expected refusal of an append
/// (which wrote nothing) is that append's answer instead.
async fn apply(tx: &mut Transaction<'static, Sqlite>, op: &Op) -> StoreResult<Outcome> {
    Ok(match op {
        Op::Append(m) => match append_in(tx, m).await {
            Err(e) if !is_refusal(&e) => return Err(e),
            r => Outcome::Appended(r),
        },
        Op::InsertConversation(c) => {
            insert_conversation_in(tx, c).await?;
            Outcome::Done(Ok(()))
        }
        Op::OpenOrInsertConversation(c) => Outcome::Opened(Ok(open_or_insert_in(tx, c).await?)),
        Op::InsertSession(s) => {
            insert_session_in(tx, s).await?;
            Outcome::Done(Ok(()))
        }
    })
}

/// Applies `jobs` in one transaction with one commit. `Err` when anything failed other than an
/// expected refusal: then nothing of the batch is stored (the transaction rolls back on drop).
async fn write_batch(pool: &SqlitePool, jobs: &[WriteJob]) -> StoreResult<Vec<Outcome>> {
    let mut tx = begin_immediate(pool).await?;
    let mut out = Vec::with_capacity(jobs.len());
    for job in jobs {
        out.push(apply(&mut tx, &job.op).await?);
    }
    tx.commit().await?;
    Ok(out)
}

/// The group-commit writer: one batch per turn, every waiter answered after its batch's commit.
/// While a batch commits, the next one queues; so batches grow with the load and the fsync cost
/// is shared. A waiter that went away (socket closed) is not a problem: its client resends with
/// the same `client_msg_id` and gets the stored message back.
async fn group_commit(pool: SqlitePool, mut queue: mpsc::Receiver<WriteJob>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        match write_batch(&pool, &batch).await {
            Ok(outcomes) => {
                for (job, o) in batch.drain(..).zip(outcomes) {
                    let _ = job.done.send(o);
                }
            }
            Err(e) if batch.len() == 1 => {
                tracing::warn!(error = %e, "a database write failed");
                if let Some(job) = batch.pop() {
                    let o = Outcome::failed(&job.op, e);
                    let _ = job.done.send(o);
                }
            }
            Err(e) => {
                // Each write alone, so only what fails on its own fails.
                tracing::warn!(error = %e, size = batch.len(), "a group commit failed; retrying its writes one by one");
                for job in batch.drain(..) {
                    let one = [job];
                    let o = match write_batch(&pool, &one).await {
                        Ok(mut o) => o.pop(),
                        Err(e) => {
                            tracing::warn!(error = %e, "a database write failed");
                            Some(Outcome::failed(&one[0].op, e))
                        }
                    };
                    let [job] = one;
                    let o = o.unwrap_or_else(|| Outcome::failed(&job.op, wrong_outcome()));
                    let _ = job.done.send(o);
                }
            }
        }
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.reader).await?;
        Ok(())
    }

    async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }

    async fn insert_auth_settings(&self, s: &AuthSettings) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO auth_settings (id, name, public_key_url, function_name, issuer, leeway_secs, key_count, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(s.id.to_string())
        .bind(&s.name)
        .bind(&s.public_key_url)
        .bind(&s.function_name)
        .bind(&s.issuer)
        .bind(s.leeway_secs as i64)
        .bind(s.key_count as i64)
        .bind(s.created_at)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn update_auth_settings(&self, s: &AuthSettings) -> StoreResult<()> {
        let done = sqlx::query(
            "UPDATE auth_settings SET name = ?, public_key_url = ?, function_name = ?, issuer = ?, leeway_secs = ?, key_count = ? WHERE id = ?",
        )
        .bind(&s.name)
        .bind(&s.public_key_url)
        .bind(&s.function_name)
        .bind(&s.issuer)
        .bind(s.leeway_secs as i64)
        .bind(s.key_count as i64)
        .bind(s.id.to_string())
        .execute(&self.writer)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn get_auth_settings(&self, id: Uuid) -> StoreResult<Option<AuthSettings>> {
        let row = sqlx::query("SELECT * FROM auth_settings WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(auth_settings_row).transpose()
    }

    async fn list_auth_settings(&self) -> StoreResult<Vec<AuthSettings>> {
        let rows = sqlx::query("SELECT * FROM auth_settings ORDER BY created_at, id")
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(auth_settings_row).collect()
    }

    async fn insert_widget(&self, w: &Widget) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO widgets (app_id, name, allowed_origins, auth_settings_id, require_auth, title, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(w.app_id.to_string())
        .bind(&w.name)
        .bind(json_text(&w.allowed_origins)?)
        .bind(w.auth_settings_id.map(|u| u.to_string()))
        .bind(w.require_auth)
        .bind(&w.title)
        .bind(w.created_at)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn update_widget(&self, w: &Widget) -> StoreResult<()> {
        let done = sqlx::query(
            "UPDATE widgets SET name = ?, allowed_origins = ?, auth_settings_id = ?, require_auth = ?, title = ? WHERE app_id = ?",
        )
        .bind(&w.name)
        .bind(json_text(&w.allowed_origins)?)
        .bind(w.auth_settings_id.map(|u| u.to_string()))
        .bind(w.require_auth)
        .bind(&w.title)
        .bind(w.app_id.to_string())
        .execute(&self.writer)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn get_widget(&self, app_id: Uuid) -> StoreResult<Option<Widget>> {
        let row = sqlx::query("SELECT * FROM widgets WHERE app_id = ?")
            .bind(app_id.to_string())
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(widget_row).transpose()
    }

    async fn list_widgets(&self) -> StoreResult<Vec<Widget>> {
        let rows = sqlx::query("SELECT * FROM widgets ORDER BY created_at, app_id")
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(widget_row).collect()
    }

    async fn insert_agent(&self, a: &Agent, password_hash: &str) -> StoreResult<()> {
        let res = sqlx::query(
            "INSERT INTO agents (id, email, name, role, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(a.id.to_string())
        .bind(&a.email)
        .bind(&a.name)
        .bind(a.role.as_str())
        .bind(password_hash)
        .bind(a.created_at)
        .execute(&self.writer)
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
        let row = sqlx::query("SELECT * FROM agents WHERE email = ?")
            .bind(email)
            .fetch_optional(&self.reader)
            .await?;
        match row {
            Some(row) => Ok(Some((agent_row(&row)?, row.try_get("password_hash")?))),
            None => Ok(None),
        }
    }

    async fn get_agent(&self, id: Uuid) -> StoreResult<Option<Agent>> {
        let row = sqlx::query("SELECT * FROM agents WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&self.reader)
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
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM agent_tokens WHERE expires_at <= ?")
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO agent_tokens (token_hash, agent_id, expires_at, created_at) VALUES (?, ?, ?, ?)",
        )
        .bind(token_hash)
        .bind(agent_id.to_string())
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
            "SELECT a.* FROM agent_tokens t JOIN agents a ON a.id = t.agent_id WHERE t.token_hash = ? AND t.expires_at > ?",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.reader)
        .await?;
        row.as_ref().map(agent_row).transpose()
    }

    async fn delete_agent_token(&self, token_hash: &[u8]) -> StoreResult<()> {
        sqlx::query("DELETE FROM agent_tokens WHERE token_hash = ?")
            .bind(token_hash)
            .execute(&self.writer)
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
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (auth_settings_id, external_id) DO UPDATE SET
               given_name = COALESCE(excluded.given_name, contacts.given_name),
               family_name = COALESCE(excluded.family_name, contacts.family_name),
               email = COALESCE(excluded.email, contacts.email),
               phone = COALESCE(excluded.phone, contacts.phone),
               preferred_username = COALESCE(excluded.preferred_username, contacts.preferred_username),
               updated_at = excluded.updated_at
             RETURNING *",
        )
        .bind(Uuid::new_v4().to_string())
        .bind(auth_settings_id.to_string())
        .bind(external_id)
        .bind(&f.given_name)
        .bind(&f.family_name)
        .bind(&f.email)
        .bind(&f.phone)
        .bind(&f.preferred_username)
        .bind(now)
        .bind(now)
        .fetch_one(&self.writer)
        .await?;
        contact_row(&row)
    }

    async fn get_contact(&self, id: Uuid) -> StoreResult<Option<Contact>> {
        let row = sqlx::query("SELECT * FROM contacts WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(contact_row).transpose()
    }

    async fn activities_for_contact(&self, contact_id: Uuid) -> StoreResult<Vec<Activity>> {
        let rows = sqlx::query(
            "SELECT * FROM activities WHERE contact_id = ? ORDER BY created_at DESC, id",
        )
        .bind(contact_id.to_string())
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(activity_row).collect()
    }

    async fn insert_conversation(&self, c: &Conversation) -> StoreResult<()> {
        match self.write(Op::InsertConversation(c.clone())).await? {
            Outcome::Done(r) => r,
            _ => Err(wrong_outcome()),
        }
    }

    async fn get_conversation(&self, id: Uuid) -> StoreResult<Option<Conversation>> {
        let row = sqlx::query("SELECT * FROM conversations WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(conversation_row).transpose()
    }

    async fn open_conversation_for_contact(
        &self,
        contact_id: Uuid,
    ) -> StoreResult<Option<Conversation>> {
        let row = sqlx::query(
            "SELECT * FROM conversations WHERE contact_id = ? AND state != 'ended' ORDER BY created_at DESC LIMIT 1",
        )
        .bind(contact_id.to_string())
        // The writer sees its own latest commit: a second browser racing the first must find it.
        .fetch_optional(&self.writer)
        .await?;
        row.as_ref().map(conversation_row).transpose()
    }

    async fn open_or_insert_conversation(
        &self,
        c: &Conversation,
    ) -> StoreResult<(Conversation, bool)> {
        match self.write(Op::OpenOrInsertConversation(c.clone())).await? {
            Outcome::Opened(r) => r,
            _ => Err(wrong_outcome()),
        }
    }

    async fn set_conversation_context(
        &self,
        id: Uuid,
        context: &serde_json::Map<String, serde_json::Value>,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE conversations SET context = ? WHERE id = ?")
            .bind(json_text(context)?)
            .bind(id.to_string())
            .execute(&self.writer)
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
                "SELECT * FROM conversations WHERE state = ? ORDER BY created_at DESC, id LIMIT ?",
            )
            .bind(s.as_str())
            .bind(limit as i64)
            .fetch_all(&self.reader)
            .await?,
            None => {
                sqlx::query("SELECT * FROM conversations ORDER BY created_at DESC, id LIMIT ?")
                    .bind(limit as i64)
                    .fetch_all(&self.reader)
                    .await?
            }
        };
        rows.iter().map(conversation_row).collect()
    }

    async fn append_message(&self, m: &NewMessage) -> StoreResult<Appended> {
        match self.write(Op::Append(m.clone())).await? {
            Outcome::Appended(r) => r,
            _ => Err(wrong_outcome()),
        }
    }

    async fn messages_after(
        &self,
        conversation_id: Uuid,
        after_seq: i64,
        limit: u32,
    ) -> StoreResult<Vec<Message>> {
        let rows = sqlx::query(
            "SELECT * FROM messages WHERE conversation_id = ? AND seq > ? ORDER BY seq LIMIT ?",
        )
        .bind(conversation_id.to_string())
        .bind(after_seq)
        .bind(limit as i64)
        .fetch_all(&self.reader)
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
        let mut tx = self.begin().await?;
        let won = sqlx::query(
            "UPDATE conversations SET state = 'active', agent_id = ?, updated_at = ? WHERE id = ? AND state = 'waiting'",
        )
        .bind(agent_id.to_string())
        .bind(now)
        .bind(id.to_string())
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
        let mut tx = self.begin().await?;
        let before = conversation_in(&mut tx, id)
            .await?
            .ok_or(StoreError::NotFound)?;
        if before.state == ConversationState::Ended {
            return Err(StoreError::Conflict(
                "the conversation has already ended".into(),
            ));
        }
        sqlx::query(
            "UPDATE conversations SET state = 'ended', ended_at = ?, updated_at = ? WHERE id = ?",
        )
        .bind(now)
        .bind(now)
        .bind(id.to_string())
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
                    sqlx::query("SELECT * FROM messages WHERE conversation_id = ? ORDER BY seq")
                        .bind(id.to_string())
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
                    "INSERT INTO activities (id, contact_id, conversation_id, kind, transcript, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                )
                .bind(activity.id.to_string())
                .bind(contact_id.to_string())
                .bind(id.to_string())
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
        match self.write(Op::InsertSession(s.clone())).await? {
            Outcome::Done(r) => r,
            _ => Err(wrong_outcome()),
        }
    }

    async fn find_session(
        &self,
        token_hash: &[u8],
        now: Millis,
    ) -> StoreResult<Option<CustomerSession>> {
        let row =
            sqlx::query("SELECT * FROM customer_sessions WHERE token_hash = ? AND expires_at > ?")
                .bind(token_hash)
                .bind(now)
                .fetch_optional(&self.reader)
                .await?;
        row.as_ref().map(session_row).transpose()
    }

    async fn update_session_jwt_exp(
        &self,
        token_hash: &[u8],
        jwt_exp: Option<i64>,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE customer_sessions SET jwt_exp = ? WHERE token_hash = ?")
            .bind(jwt_exp)
            .bind(token_hash)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn delete_session(&self, token_hash: &[u8]) -> StoreResult<()> {
        sqlx::query("DELETE FROM customer_sessions WHERE token_hash = ?")
            .bind(token_hash)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn record_verification_failure(
        &self,
        f: &VerificationFailure,
        keep: u32,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO verification_failures (at, reason, detail, kid, iss, sub, auth_settings_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(f.at)
        .bind(&f.reason)
        .bind(&f.detail)
        .bind(&f.kid)
        .bind(&f.iss)
        .bind(&f.sub)
        .bind(f.auth_settings_id.map(|u| u.to_string()))
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO verification_failure_counts (reason, count) VALUES (?, 1)
             ON CONFLICT (reason) DO UPDATE SET count = count + 1",
        )
        .bind(&f.reason)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "DELETE FROM verification_failures WHERE id <= (SELECT id FROM verification_failures ORDER BY id DESC LIMIT 1 OFFSET ?)",
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
                .fetch_all(&self.reader)
                .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("reason")?, r.try_get("count")?)))
            .collect()
    }

    async fn recent_verification_failures(
        &self,
        limit: u32,
    ) -> StoreResult<Vec<VerificationFailure>> {
        let rows = sqlx::query("SELECT * FROM verification_failures ORDER BY id DESC LIMIT ?")
            .bind(limit as i64)
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(failure_row).collect()
    }
}
