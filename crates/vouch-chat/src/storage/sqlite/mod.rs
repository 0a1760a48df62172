//! The embedded SQLite back-end: WAL, `synchronous=FULL`, foreign keys on.
//!
//! Every write goes to one writer connection on its own thread, which stores the writes queued at
//! the same time by GROUP COMMIT — one transaction, one fsync of the WAL for the batch, every
//! caller answered only after the commit that covers its write ([`writer`]). Seqs are allocated
//! inside that transaction, so they stay gapless per conversation, and a resend within the same
//! batch sees the first copy. Reads run on a few read-only connections ([`readers`]).
//!
//! sqlx creates the file and runs the migrations (the same `migrate!` as before, so existing
//! databases carry on); the queries themselves use `rusqlite` — see [`writer`] for why.

mod readers;
mod writer;

use std::path::PathBuf;
use std::str::FromStr;

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension, Row};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::ConnectOptions;
use uuid::Uuid;

pub use writer::MAX_BATCH;

use super::*;
use readers::Readers;
use writer::{is_unique_violation, Writer};

/// SQLite implementation of [`Store`].
#[derive(Clone)]
pub struct SqliteStore {
    readers: Readers,
    writer: Writer,
}

impl SqliteStore {
    /// Opens (creating if missing) the database file at `url` (`sqlite://PATH`) and runs the
    /// migrations. An in-memory database is refused: the chat service's answers promise that
    /// messages are on disk.
    pub async fn open(url: &str) -> StoreResult<Self> {
        if url.contains(":memory:") || url.contains("mode=memory") {
            return Err(StoreError::Unsupported(
                "an in-memory SQLite database keeps nothing: use sqlite://PATH to a file".into(),
            ));
        }
        let opts = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true);
        let path: PathBuf = opts.get_filename().to_path_buf();
        let mut migrator = opts.connect().await?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&mut migrator)
            .await?;
        sqlx::Connection::close(migrator).await?;
        Ok(SqliteStore {
            readers: Readers::new(&path),
            writer: Writer::start(&path)?,
        })
    }

    async fn read<T, F>(&self, query: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        self.readers.run(query).await
    }

    /// A one-row lookup by key, on the calling task ([`Readers::lookup`]).
    fn lookup<T>(&self, query: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
        self.readers.lookup(query)
    }

    async fn write<T, F>(&self, write: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        self.writer.run(write).await
    }
}

// --- rows ---

fn parse_uuid(col: &str, s: &str) -> StoreResult<Uuid> {
    Uuid::parse_str(s).map_err(|e| StoreError::Corrupt(format!("{col}: {e}")))
}

fn uuid_col(row: &Row, col: &str) -> StoreResult<Uuid> {
    let s: String = row.get(col)?;
    parse_uuid(col, &s)
}

fn opt_uuid_col(row: &Row, col: &str) -> StoreResult<Option<Uuid>> {
    let s: Option<String> = row.get(col)?;
    s.map(|s| parse_uuid(col, &s)).transpose()
}

fn json_col<T: serde::de::DeserializeOwned>(row: &Row, col: &str) -> StoreResult<T> {
    let s: String = row.get(col)?;
    serde_json::from_str(&s).map_err(|e| StoreError::Corrupt(format!("{col}: {e}")))
}

fn json_text<T: serde::Serialize>(v: &T) -> StoreResult<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn auth_settings_row(row: &Row) -> StoreResult<AuthSettings> {
    Ok(AuthSettings {
        id: uuid_col(row, "id")?,
        name: row.get("name")?,
        public_key_url: row.get("public_key_url")?,
        function_name: row.get("function_name")?,
        issuer: row.get("issuer")?,
        leeway_secs: row.get::<_, i64>("leeway_secs")?.max(0) as u64,
        key_count: row.get::<_, i64>("key_count")?.max(0) as u32,
        created_at: row.get("created_at")?,
    })
}

fn widget_row(row: &Row) -> StoreResult<Widget> {
    Ok(Widget {
        app_id: uuid_col(row, "app_id")?,
        name: row.get("name")?,
        allowed_origins: json_col(row, "allowed_origins")?,
        auth_settings_id: opt_uuid_col(row, "auth_settings_id")?,
        require_auth: row.get("require_auth")?,
        title: row.get("title")?,
        created_at: row.get("created_at")?,
    })
}

fn agent_row(row: &Row) -> StoreResult<Agent> {
    let role: String = row.get("role")?;
    Ok(Agent {
        id: uuid_col(row, "id")?,
        email: row.get("email")?,
        name: row.get("name")?,
        role: role.parse().map_err(StoreError::Corrupt)?,
        created_at: row.get("created_at")?,
    })
}

fn contact_row(row: &Row) -> StoreResult<Contact> {
    Ok(Contact {
        id: uuid_col(row, "id")?,
        auth_settings_id: uuid_col(row, "auth_settings_id")?,
        external_id: row.get("external_id")?,
        given_name: row.get("given_name")?,
        family_name: row.get("family_name")?,
        email: row.get("email")?,
        phone: row.get("phone")?,
        preferred_username: row.get("preferred_username")?,
        created_at: row.get("created_at")?,
        updated_at: row.get("updated_at")?,
    })
}

fn conversation_row(row: &Row) -> StoreResult<Conversation> {
    let state: String = row.get("state")?;
    Ok(Conversation {
        id: uuid_col(row, "id")?,
        widget_app_id: uuid_col(row, "widget_app_id")?,
        state: ConversationState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("state {state:?}")))?,
        verified: row.get("verified")?,
        contact_id: opt_uuid_col(row, "contact_id")?,
        context: json_col(row, "context")?,
        agent_id: opt_uuid_col(row, "agent_id")?,
        created_at: row.get("created_at")?,
        updated_at: row.get("updated_at")?,
        ended_at: row.get("ended_at")?,
        last_seq: row.get("last_seq")?,
    })
}

fn message_row(row: &Row) -> StoreResult<Message> {
    let sender: String = row.get("sender")?;
    Ok(Message {
        conversation_id: uuid_col(row, "conversation_id")?,
        seq: row.get("seq")?,
        sender: Sender::parse(&sender)
            .ok_or_else(|| StoreError::Corrupt(format!("sender {sender:?}")))?,
        text: row.get("text")?,
        sent_at: row.get("sent_at")?,
        client_msg_id: row.get("client_msg_id")?,
    })
}

fn activity_row(row: &Row) -> StoreResult<Activity> {
    Ok(Activity {
        id: uuid_col(row, "id")?,
        contact_id: uuid_col(row, "contact_id")?,
        conversation_id: uuid_col(row, "conversation_id")?,
        kind: row.get("kind")?,
        created_at: row.get("created_at")?,
        transcript: json_col(row, "transcript")?,
    })
}

fn session_row(row: &Row) -> StoreResult<CustomerSession> {
    Ok(CustomerSession {
        token_hash: row.get("token_hash")?,
        conversation_id: uuid_col(row, "conversation_id")?,
        widget_app_id: uuid_col(row, "widget_app_id")?,
        verified_sub: row.get("verified_sub")?,
        jwt_exp: row.get("jwt_exp")?,
        created_at: row.get("created_at")?,
        expires_at: row.get("expires_at")?,
    })
}

fn failure_row(row: &Row) -> StoreResult<VerificationFailure> {
    Ok(VerificationFailure {
        at: row.get("at")?,
        reason: row.get("reason")?,
        detail: row.get("detail")?,
        kid: row.get("kid")?,
        iss: row.get("iss")?,
        sub: row.get("sub")?,
        auth_settings_id: opt_uuid_col(row, "auth_settings_id")?,
    })
}

/// The first row of `sql` with `params`, mapped; `None` when there is none.
fn query_one<T, P: rusqlite::Params>(
    conn: &Connection,
    sql: &str,
    params: P,
    map: fn(&Row) -> StoreResult<T>,
) -> StoreResult<Option<T>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params)?;
    rows.next()?.map(map).transpose()
}

/// Every row of `sql` with `params`, mapped.
fn query_all<T, P: rusqlite::Params>(
    conn: &Connection,
    sql: &str,
    params: P,
    map: fn(&Row) -> StoreResult<T>,
) -> StoreResult<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(map(row)?);
    }
    Ok(out)
}

/// Runs `sql` with `params`; the number of rows changed.
fn execute<P: rusqlite::Params>(conn: &Connection, sql: &str, params: P) -> StoreResult<usize> {
    Ok(conn.prepare_cached(sql)?.execute(params)?)
}

// --- writes, each run on the writer thread inside the group commit's transaction ---

fn conversation_in(conn: &Connection, id: Uuid) -> StoreResult<Option<Conversation>> {
    query_one(
        conn,
        "SELECT * FROM conversations WHERE id = ?",
        [id.to_string()],
        conversation_row,
    )
}

/// Allocates the next seq and inserts the message.
fn insert_message_in(conn: &Connection, m: &NewMessage) -> StoreResult<Message> {
    let conversation_id = m.conversation_id.to_string();
    let seq: i64 = conn
        .prepare_cached(
            "UPDATE conversations SET last_seq = last_seq + 1, updated_at = ? WHERE id = ? RETURNING last_seq",
        )?
        .query_row(params![m.sent_at, conversation_id], |r| r.get(0))
        .optional()?
        .ok_or(StoreError::NotFound)?;
    insert_message_row(conn, m, &conversation_id, seq)
}

/// Inserts the message with the `seq` already allocated on its conversation row.
fn insert_message_row(
    conn: &Connection,
    m: &NewMessage,
    conversation_id: &str,
    seq: i64,
) -> StoreResult<Message> {
    execute(
        conn,
        "INSERT INTO messages (conversation_id, seq, sender, agent_id, text, client_msg_id, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        params![
            conversation_id,
            seq,
            m.sender.as_str(),
            m.agent_id.map(|a| a.to_string()),
            m.text,
            m.client_msg_id,
            m.sent_at
        ],
    )?;
    Ok(Message {
        conversation_id: m.conversation_id,
        seq,
        sender: m.sender,
        text: m.text.clone(),
        sent_at: m.sent_at,
        client_msg_id: m.client_msg_id.clone(),
    })
}

fn insert_conversation_in(conn: &Connection, c: &Conversation) -> StoreResult<()> {
    execute(
        conn,
        "INSERT INTO conversations (id, widget_app_id, state, verified, contact_id, context, agent_id, created_at, updated_at, ended_at, last_seq)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        params![
            c.id.to_string(),
            c.widget_app_id.to_string(),
            c.state.as_str(),
            c.verified,
            c.contact_id.map(|u| u.to_string()),
            json_text(&c.context)?,
            c.agent_id.map(|u| u.to_string()),
            c.created_at,
            c.updated_at,
            c.ended_at,
            c.last_seq
        ],
    )?;
    Ok(())
}

/// Appends `m`: the conversation must exist; a resend of the same (sender, client_msg_id)
/// returns the stored message as a duplicate; an ended conversation refuses.
fn append_in(conn: &Connection, m: &NewMessage) -> StoreResult<Appended> {
    let conversation_id = m.conversation_id.to_string();
    if let Some(cid) = &m.client_msg_id {
        let existing = query_one(
            conn,
            "SELECT * FROM messages WHERE conversation_id = ? AND sender = ? AND client_msg_id = ?",
            params![conversation_id, m.sender.as_str(), cid],
            message_row,
        )?;
        if let Some(message) = existing {
            // A resend (even after the end): the stored message, acknowledged again.
            let agent_id: Option<String> = conn
                .prepare_cached("SELECT agent_id FROM conversations WHERE id = ?")?
                .query_row([&conversation_id], |r| r.get(0))?;
            return Ok(Appended {
                message,
                duplicate: true,
                agent_id: agent_id.map(|a| parse_uuid("agent_id", &a)).transpose()?,
            });
        }
    }
    // The hot path is one statement on the conversation row: the next seq (and who to tell),
    // only while the conversation is open. No row: ended or unknown, told apart on this rare path.
    let next: Option<(i64, Option<String>)> = conn
        .prepare_cached(
            "UPDATE conversations SET last_seq = last_seq + 1, updated_at = ? \
             WHERE id = ? AND state != 'ended' RETURNING last_seq, agent_id",
        )?
        .query_row(params![m.sent_at, conversation_id], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    let Some((seq, agent_id)) = next else {
        let exists = conn
            .prepare_cached("SELECT 1 FROM conversations WHERE id = ?")?
            .exists([&conversation_id])?;
        return Err(if exists {
            StoreError::Conflict("ended".into())
        } else {
            StoreError::NotFound
        });
    };
    Ok(Appended {
        message: insert_message_row(conn, m, &conversation_id, seq)?,
        duplicate: false,
        agent_id: agent_id.map(|a| parse_uuid("agent_id", &a)).transpose()?,
    })
}

/// The open conversation of `c.contact_id` if there is one (with `false`), else `c` inserted
/// (with `true`).
fn open_or_insert_in(conn: &Connection, c: &Conversation) -> StoreResult<(Conversation, bool)> {
    if let Some(contact_id) = c.contact_id {
        if let Some(open) = open_conversation_in(conn, contact_id)? {
            return Ok((open, false));
        }
    }
    insert_conversation_in(conn, c)?;
    Ok((c.clone(), true))
}

fn open_conversation_in(conn: &Connection, contact_id: Uuid) -> StoreResult<Option<Conversation>> {
    query_one(
        conn,
        "SELECT * FROM conversations WHERE contact_id = ? AND state != 'ended' ORDER BY created_at DESC LIMIT 1",
        [contact_id.to_string()],
        conversation_row,
    )
}

fn system_message(conversation_id: Uuid, text: &str, now: Millis) -> NewMessage {
    NewMessage {
        conversation_id,
        sender: Sender::System,
        agent_id: None,
        text: text.to_string(),
        client_msg_id: None,
        sent_at: now,
    }
}

fn accept_in(
    conn: &Connection,
    id: Uuid,
    agent_id: Uuid,
    joined_text: &str,
    now: Millis,
) -> StoreResult<(Conversation, Message)> {
    let won = execute(
        conn,
        "UPDATE conversations SET state = 'active', agent_id = ?, updated_at = ? WHERE id = ? AND state = 'waiting'",
        params![agent_id.to_string(), now, id.to_string()],
    )? == 1;
    if !won {
        return Err(if conversation_in(conn, id)?.is_some() {
            StoreError::Conflict("the conversation is no longer waiting".into())
        } else {
            StoreError::NotFound
        });
    }
    let message = insert_message_in(conn, &system_message(id, joined_text, now))?;
    let conversation = conversation_in(conn, id)?.ok_or(StoreError::NotFound)?;
    Ok((conversation, message))
}

fn end_in(conn: &Connection, id: Uuid, ended_text: &str, now: Millis) -> StoreResult<Ended> {
    let before = conversation_in(conn, id)?.ok_or(StoreError::NotFound)?;
    if before.state == ConversationState::Ended {
        return Err(StoreError::Conflict(
            "the conversation has already ended".into(),
        ));
    }
    execute(
        conn,
        "UPDATE conversations SET state = 'ended', ended_at = ?, updated_at = ? WHERE id = ?",
        params![now, now, id.to_string()],
    )?;
    let message = insert_message_in(conn, &system_message(id, ended_text, now))?;
    let activity = match before.contact_id {
        Some(contact_id) => {
            let transcript = query_all(
                conn,
                "SELECT * FROM messages WHERE conversation_id = ? ORDER BY seq",
                [id.to_string()],
                message_row,
            )?
            .into_iter()
            .map(|m| TranscriptEntry {
                seq: m.seq,
                sender: m.sender.as_str().to_string(),
                text: m.text,
                sent_at: rfc3339(m.sent_at),
            })
            .collect();
            let activity = Activity {
                id: Uuid::new_v4(),
                contact_id,
                conversation_id: id,
                kind: "chat_transcript".into(),
                created_at: now,
                transcript,
            };
            execute(
                conn,
                "INSERT INTO activities (id, contact_id, conversation_id, kind, transcript, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                params![
                    activity.id.to_string(),
                    contact_id.to_string(),
                    id.to_string(),
                    activity.kind,
                    json_text(&activity.transcript)?,
                    now
                ],
            )?;
            Some(activity)
        }
        None => None,
    };
    let conversation = conversation_in(conn, id)?.ok_or(StoreError::NotFound)?;
    Ok(Ended {
        before,
        conversation,
        message,
        activity,
    })
}

fn insert_session_in(conn: &Connection, s: &CustomerSession) -> StoreResult<()> {
    execute(
        conn,
        "DELETE FROM customer_sessions WHERE expires_at <= ?",
        [s.created_at],
    )?;
    execute(
        conn,
        "INSERT INTO customer_sessions (token_hash, conversation_id, widget_app_id, verified_sub, jwt_exp, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        params![
            s.token_hash,
            s.conversation_id.to_string(),
            s.widget_app_id.to_string(),
            s.verified_sub,
            s.jwt_exp,
            s.created_at,
            s.expires_at
        ],
    )?;
    Ok(())
}

/// [`Store::start_session`] in the writer's transaction: one commit for the whole session.
fn start_session_in(conn: &Connection, start: SessionStart) -> StoreResult<SessionStarted> {
    let SessionStart {
        contact,
        mut conversation,
        max_context_entries,
        mut session,
    } = start;
    let now = session.created_at;
    let (conversation, created, contact) = match contact {
        Some(key) => {
            let contact = upsert_contact_in(
                conn,
                key.auth_settings_id,
                &key.external_id,
                &key.fields,
                now,
            )?;
            conversation.contact_id = Some(contact.id);
            let (mut open, created) = open_or_insert_in(conn, &conversation)?;
            if !created
                && merge_context(
                    &mut open.context,
                    &conversation.context,
                    max_context_entries,
                )
            {
                set_context_in(conn, open.id, &open.context)?;
            }
            (open, created, Some(contact))
        }
        None => {
            insert_conversation_in(conn, &conversation)?;
            (conversation, true, None)
        }
    };
    session.conversation_id = conversation.id;
    insert_session_in(conn, &session)?;
    Ok(SessionStarted {
        contact,
        conversation,
        created,
    })
}

fn set_context_in(
    conn: &Connection,
    id: Uuid,
    context: &serde_json::Map<String, serde_json::Value>,
) -> StoreResult<()> {
    execute(
        conn,
        "UPDATE conversations SET context = ? WHERE id = ?",
        params![json_text(context)?, id.to_string()],
    )?;
    Ok(())
}

fn upsert_contact_in(
    conn: &Connection,
    auth_settings_id: Uuid,
    external_id: &str,
    f: &ContactFields,
    now: Millis,
) -> StoreResult<Contact> {
    query_one(
        conn,
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
        params![
            Uuid::new_v4().to_string(),
            auth_settings_id.to_string(),
            external_id,
            f.given_name,
            f.family_name,
            f.email,
            f.phone,
            f.preferred_username,
            now,
            now
        ],
        contact_row,
    )?
    .ok_or_else(|| StoreError::Corrupt("the contact upsert returned no row".into()))
}

fn record_failure_in(conn: &Connection, f: &VerificationFailure, keep: u32) -> StoreResult<()> {
    execute(
        conn,
        "INSERT INTO verification_failures (at, reason, detail, kid, iss, sub, auth_settings_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
        params![
            f.at,
            f.reason,
            f.detail,
            f.kid,
            f.iss,
            f.sub,
            f.auth_settings_id.map(|u| u.to_string())
        ],
    )?;
    execute(
        conn,
        "INSERT INTO verification_failure_counts (reason, count) VALUES (?, 1)
         ON CONFLICT (reason) DO UPDATE SET count = count + 1",
        [&f.reason],
    )?;
    execute(
        conn,
        "DELETE FROM verification_failures WHERE id <= (SELECT id FROM verification_failures ORDER BY id DESC LIMIT 1 OFFSET ?)",
        [keep as i64],
    )?;
    Ok(())
}

/// `NotFound` when an update changed no row.
fn updated(rows: usize) -> StoreResult<()> {
    if rows == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        self.read(|c| Ok(c.prepare_cached("SELECT 1")?.query_row([], |_| Ok(()))?))
            .await
    }

    async fn close(&self) {
        self.readers.close();
        self.writer.close();
    }

    async fn insert_auth_settings(&self, s: &AuthSettings) -> StoreResult<()> {
        let s = s.clone();
        self.write(move |c| {
            execute(
                c,
                "INSERT INTO auth_settings (id, name, public_key_url, function_name, issuer, leeway_secs, key_count, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                params![
                    s.id.to_string(),
                    s.name,
                    s.public_key_url,
                    s.function_name,
                    s.issuer,
                    s.leeway_secs as i64,
                    s.key_count as i64,
                    s.created_at
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn update_auth_settings(&self, s: &AuthSettings) -> StoreResult<()> {
        let s = s.clone();
        self.write(move |c| {
            updated(execute(
                c,
                "UPDATE auth_settings SET name = ?, public_key_url = ?, function_name = ?, issuer = ?, leeway_secs = ?, key_count = ? WHERE id = ?",
                params![
                    s.name,
                    s.public_key_url,
                    s.function_name,
                    s.issuer,
                    s.leeway_secs as i64,
                    s.key_count as i64,
                    s.id.to_string()
                ],
            )?)
        })
        .await
    }

    async fn get_auth_settings(&self, id: Uuid) -> StoreResult<Option<AuthSettings>> {
        self.lookup(|c| {
            query_one(
                c,
                "SELECT * FROM auth_settings WHERE id = ?",
                [id.to_string()],
                auth_settings_row,
            )
        })
    }

    async fn list_auth_settings(&self) -> StoreResult<Vec<AuthSettings>> {
        self.read(|c| {
            query_all(
                c,
                "SELECT * FROM auth_settings ORDER BY created_at, id",
                [],
                auth_settings_row,
            )
        })
        .await
    }

    async fn insert_widget(&self, w: &Widget) -> StoreResult<()> {
        let w = w.clone();
        self.write(move |c| {
            execute(
                c,
                "INSERT INTO widgets (app_id, name, allowed_origins, auth_settings_id, require_auth, title, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                params![
                    w.app_id.to_string(),
                    w.name,
                    json_text(&w.allowed_origins)?,
                    w.auth_settings_id.map(|u| u.to_string()),
                    w.require_auth,
                    w.title,
                    w.created_at
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn update_widget(&self, w: &Widget) -> StoreResult<()> {
        let w = w.clone();
        self.write(move |c| {
            updated(execute(
                c,
                "UPDATE widgets SET name = ?, allowed_origins = ?, auth_settings_id = ?, require_auth = ?, title = ? WHERE app_id = ?",
                params![
                    w.name,
                    json_text(&w.allowed_origins)?,
                    w.auth_settings_id.map(|u| u.to_string()),
                    w.require_auth,
                    w.title,
                    w.app_id.to_string()
                ],
            )?)
        })
        .await
    }

    async fn get_widget(&self, app_id: Uuid) -> StoreResult<Option<Widget>> {
        self.lookup(|c| {
            query_one(
                c,
                "SELECT * FROM widgets WHERE app_id = ?",
                [app_id.to_string()],
                widget_row,
            )
        })
    }

    async fn list_widgets(&self) -> StoreResult<Vec<Widget>> {
        self.read(|c| {
            query_all(
                c,
                "SELECT * FROM widgets ORDER BY created_at, app_id",
                [],
                widget_row,
            )
        })
        .await
    }

    async fn insert_agent(&self, a: &Agent, password_hash: &str) -> StoreResult<()> {
        let (a, password_hash) = (a.clone(), password_hash.to_string());
        self.write(move |c| {
            let res = c
                .prepare_cached(
                    "INSERT INTO agents (id, email, name, role, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                )?
                .execute(params![
                    a.id.to_string(),
                    a.email,
                    a.name,
                    a.role.as_str(),
                    password_hash,
                    a.created_at
                ]);
            match res {
                Ok(_) => Ok(()),
                Err(e) if is_unique_violation(&e) => Err(StoreError::Conflict(format!(
                    "an agent with email {} already exists",
                    a.email
                ))),
                Err(e) => Err(e.into()),
            }
        })
        .await
    }

    async fn find_agent_by_email(&self, email: &str) -> StoreResult<Option<(Agent, String)>> {
        let email = email.to_string();
        self.read(move |c| {
            query_one(c, "SELECT * FROM agents WHERE email = ?", [email], |row| {
                Ok((agent_row(row)?, row.get("password_hash")?))
            })
        })
        .await
    }

    async fn get_agent(&self, id: Uuid) -> StoreResult<Option<Agent>> {
        self.lookup(|c| {
            query_one(
                c,
                "SELECT * FROM agents WHERE id = ?",
                [id.to_string()],
                agent_row,
            )
        })
    }

    async fn insert_agent_token(
        &self,
        token_hash: &[u8],
        agent_id: Uuid,
        expires_at: Millis,
    ) -> StoreResult<()> {
        let token_hash = token_hash.to_vec();
        let now = now_millis();
        self.write(move |c| {
            execute(c, "DELETE FROM agent_tokens WHERE expires_at <= ?", [now])?;
            execute(
                c,
                "INSERT INTO agent_tokens (token_hash, agent_id, expires_at, created_at) VALUES (?, ?, ?, ?)",
                params![token_hash, agent_id.to_string(), expires_at, now],
            )?;
            Ok(())
        })
        .await
    }

    async fn find_agent_by_token(
        &self,
        token_hash: &[u8],
        now: Millis,
    ) -> StoreResult<Option<Agent>> {
        self.lookup(|c| {
            query_one(
                c,
                "SELECT a.* FROM agent_tokens t JOIN agents a ON a.id = t.agent_id WHERE t.token_hash = ? AND t.expires_at > ?",
                params![token_hash, now],
                agent_row,
            )
        })
    }

    async fn delete_agent_token(&self, token_hash: &[u8]) -> StoreResult<()> {
        let token_hash = token_hash.to_vec();
        self.write(move |c| {
            execute(
                c,
                "DELETE FROM agent_tokens WHERE token_hash = ?",
                [token_hash],
            )?;
            Ok(())
        })
        .await
    }

    async fn upsert_contact(
        &self,
        auth_settings_id: Uuid,
        external_id: &str,
        f: &ContactFields,
        now: Millis,
    ) -> StoreResult<Contact> {
        let (external_id, f) = (external_id.to_string(), f.clone());
        self.write(move |c| upsert_contact_in(c, auth_settings_id, &external_id, &f, now))
            .await
    }

    async fn get_contact(&self, id: Uuid) -> StoreResult<Option<Contact>> {
        self.lookup(|c| {
            query_one(
                c,
                "SELECT * FROM contacts WHERE id = ?",
                [id.to_string()],
                contact_row,
            )
        })
    }

    async fn activities_for_contact(&self, contact_id: Uuid) -> StoreResult<Vec<Activity>> {
        self.read(move |c| {
            query_all(
                c,
                "SELECT * FROM activities WHERE contact_id = ? ORDER BY created_at DESC, id",
                [contact_id.to_string()],
                activity_row,
            )
        })
        .await
    }

    async fn insert_conversation(&self, conv: &Conversation) -> StoreResult<()> {
        let conv = conv.clone();
        self.write(move |c| insert_conversation_in(c, &conv)).await
    }

    async fn get_conversation(&self, id: Uuid) -> StoreResult<Option<Conversation>> {
        self.lookup(|c| conversation_in(c, id))
    }

    async fn open_conversation_for_contact(
        &self,
        contact_id: Uuid,
    ) -> StoreResult<Option<Conversation>> {
        self.read(move |c| open_conversation_in(c, contact_id))
            .await
    }

    async fn open_or_insert_conversation(
        &self,
        conv: &Conversation,
    ) -> StoreResult<(Conversation, bool)> {
        let conv = conv.clone();
        self.write(move |c| open_or_insert_in(c, &conv)).await
    }

    async fn set_conversation_context(
        &self,
        id: Uuid,
        context: &serde_json::Map<String, serde_json::Value>,
    ) -> StoreResult<()> {
        let context = context.clone();
        self.write(move |c| set_context_in(c, id, &context)).await
    }

    async fn list_conversations(
        &self,
        state: Option<ConversationState>,
        limit: u32,
    ) -> StoreResult<Vec<Conversation>> {
        self.read(move |c| match state {
            Some(s) => query_all(
                c,
                "SELECT * FROM conversations WHERE state = ? ORDER BY created_at DESC, id LIMIT ?",
                params![s.as_str(), limit as i64],
                conversation_row,
            ),
            None => query_all(
                c,
                "SELECT * FROM conversations ORDER BY created_at DESC, id LIMIT ?",
                [limit as i64],
                conversation_row,
            ),
        })
        .await
    }

    async fn append_message(&self, m: &NewMessage) -> StoreResult<Appended> {
        let m = m.clone();
        self.write(move |c| append_in(c, &m)).await
    }

    async fn messages_after(
        &self,
        conversation_id: Uuid,
        after_seq: i64,
        limit: u32,
    ) -> StoreResult<Vec<Message>> {
        self.read(move |c| {
            query_all(
                c,
                "SELECT * FROM messages WHERE conversation_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                params![conversation_id.to_string(), after_seq, limit as i64],
                message_row,
            )
        })
        .await
    }

    async fn accept_conversation(
        &self,
        id: Uuid,
        agent_id: Uuid,
        joined_text: &str,
        now: Millis,
    ) -> StoreResult<(Conversation, Message)> {
        let joined_text = joined_text.to_string();
        self.write(move |c| accept_in(c, id, agent_id, &joined_text, now))
            .await
    }

    async fn end_conversation(
        &self,
        id: Uuid,
        ended_text: &str,
        now: Millis,
    ) -> StoreResult<Ended> {
        let ended_text = ended_text.to_string();
        self.write(move |c| end_in(c, id, &ended_text, now)).await
    }

    async fn start_session(&self, start: SessionStart) -> StoreResult<SessionStarted> {
        self.write(move |c| start_session_in(c, start)).await
    }

    async fn insert_session(&self, s: &CustomerSession) -> StoreResult<()> {
        let s = s.clone();
        self.write(move |c| insert_session_in(c, &s)).await
    }

    async fn find_session(
        &self,
        token_hash: &[u8],
        now: Millis,
    ) -> StoreResult<Option<CustomerSession>> {
        self.lookup(|c| {
            query_one(
                c,
                "SELECT * FROM customer_sessions WHERE token_hash = ? AND expires_at > ?",
                params![token_hash, now],
                session_row,
            )
        })
    }

    async fn update_session_jwt_exp(
        &self,
        token_hash: &[u8],
        jwt_exp: Option<i64>,
    ) -> StoreResult<()> {
        let token_hash = token_hash.to_vec();
        self.write(move |c| {
            execute(
                c,
                "UPDATE customer_sessions SET jwt_exp = ? WHERE token_hash = ?",
                params![jwt_exp, token_hash],
            )?;
            Ok(())
        })
        .await
    }

    async fn delete_session(&self, token_hash: &[u8]) -> StoreResult<()> {
        let token_hash = token_hash.to_vec();
        self.write(move |c| {
            execute(
                c,
                "DELETE FROM customer_sessions WHERE token_hash = ?",
                [token_hash],
            )?;
            Ok(())
        })
        .await
    }

    async fn record_verification_failure(
        &self,
        f: &VerificationFailure,
        keep: u32,
    ) -> StoreResult<()> {
        let f = f.clone();
        self.write(move |c| record_failure_in(c, &f, keep)).await
    }

    async fn verification_failure_counts(&self) -> StoreResult<Vec<(String, i64)>> {
        self.read(|c| {
            query_all(
                c,
                "SELECT reason, count FROM verification_failure_counts ORDER BY reason",
                [],
                |r| Ok((r.get("reason")?, r.get("count")?)),
            )
        })
        .await
    }

    async fn recent_verification_failures(
        &self,
        limit: u32,
    ) -> StoreResult<Vec<VerificationFailure>> {
        self.read(move |c| {
            query_all(
                c,
                "SELECT * FROM verification_failures ORDER BY id DESC LIMIT ?",
                [limit as i64],
                failure_row,
            )
        })
        .await
    }
}
