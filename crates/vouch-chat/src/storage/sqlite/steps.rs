//! SQLite's SQL: the query helpers every read and write uses, and the single steps of the flows
//! ([`Steps`]) on a connection. Steps run synchronously (their futures never pend), on the
//! writer thread inside a write's savepoint.

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{params, Connection, OptionalExtension, ToSql};
use uuid::Uuid;

use super::super::flows::Steps;
use super::super::rows::{attachments_json, cols, json_text, FromColumns};
use super::super::*;

/// A UUID bound as its hyphenated text (how the schema stores ids), encoded on the stack.
pub(super) struct Id([u8; uuid::fmt::Hyphenated::LENGTH]);

impl Id {
    pub(super) fn of(id: Uuid) -> Id {
        let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
        id.hyphenated().encode_lower(&mut buf);
        Id(buf)
    }
    pub(super) fn opt(id: Option<Uuid>) -> Option<Id> {
        id.map(Id::of)
    }
}

impl ToSql for Id {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(ValueRef::Text(&self.0)))
    }
}

/// The first row of `sql` with `params`, mapped; `None` when there is none.
pub(super) fn query_one<T: FromColumns, P: rusqlite::Params>(
    conn: &Connection,
    sql: &str,
    params: P,
) -> StoreResult<Option<T>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params)?;
    rows.next()?.map(T::from_columns).transpose()
}

/// Every row of `sql` with `params`, mapped.
pub(super) fn query_all<T: FromColumns, P: rusqlite::Params>(
    conn: &Connection,
    sql: &str,
    params: P,
) -> StoreResult<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(T::from_columns(row)?);
    }
    Ok(out)
}

/// Runs `sql` with `params`; the number of rows changed.
pub(super) fn execute<P: rusqlite::Params>(
    conn: &Connection,
    sql: &str,
    params: P,
) -> StoreResult<usize> {
    Ok(conn.prepare_cached(sql)?.execute(params)?)
}

pub(super) fn conversation(conn: &Connection, id: Uuid) -> StoreResult<Option<Conversation>> {
    query_one(
        conn,
        concat!(
            "SELECT ",
            cols!(conversation),
            " FROM conversations WHERE id = ?"
        ),
        [Id::of(id)],
    )
}

pub(super) fn open_conversation(
    conn: &Connection,
    contact_id: Uuid,
) -> StoreResult<Option<Conversation>> {
    query_one(
        conn,
        concat!(
            "SELECT ",
            cols!(conversation),
            " FROM conversations WHERE contact_id = ? AND state != 'ended' ORDER BY created_at DESC LIMIT 1"
        ),
        [Id::of(contact_id)],
    )
}

/// The flows' steps on one connection (the writer's, inside a write's savepoint).
pub(super) struct SqliteSteps<'c>(pub &'c Connection);

impl Steps for SqliteSteps<'_> {
    async fn lock_conversation(&mut self, _id: Uuid) -> StoreResult<()> {
        Ok(())
    }

    async fn conversation(&mut self, id: Uuid, _lock: bool) -> StoreResult<Option<Conversation>> {
        conversation(self.0, id)
    }

    async fn conversation_exists(&mut self, id: Uuid) -> StoreResult<bool> {
        Ok(self
            .0
            .prepare_cached("SELECT 1 FROM conversations WHERE id = ?")?
            .exists([Id::of(id)])?)
    }

    async fn conversation_agent(&mut self, id: Uuid) -> StoreResult<Option<Uuid>> {
        let agent: Option<Option<String>> = self
            .0
            .prepare_cached("SELECT agent_id FROM conversations WHERE id = ?")?
            .query_row([Id::of(id)], |r| r.get(0))
            .optional()?;
        agent
            .flatten()
            .map(|a| Uuid::parse_str(&a).map_err(|e| StoreError::Corrupt(format!("agent_id: {e}"))))
            .transpose()
    }

    async fn resent_message(
        &mut self,
        conversation_id: Uuid,
        sender: Sender,
        client_msg_id: &str,
    ) -> StoreResult<Option<Message>> {
        query_one(
            self.0,
            concat!(
                "SELECT ",
                cols!(message),
                " FROM messages WHERE conversation_id = ? AND sender = ? AND client_msg_id = ?"
            ),
            params![Id::of(conversation_id), sender.as_str(), client_msg_id],
        )
    }

    async fn next_seq(
        &mut self,
        id: Uuid,
        now: Millis,
        open_only: bool,
    ) -> StoreResult<Option<(i64, Option<Uuid>)>> {
        let sql = if open_only {
            "UPDATE conversations SET last_seq = last_seq + 1, updated_at = ? \
             WHERE id = ? AND state != 'ended' RETURNING last_seq, agent_id"
        } else {
            "UPDATE conversations SET last_seq = last_seq + 1, updated_at = ? \
             WHERE id = ? RETURNING last_seq, agent_id"
        };
        let next: Option<(i64, Option<String>)> = self
            .0
            .prepare_cached(sql)?
            .query_row(params![now, Id::of(id)], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        next.map(|(seq, agent)| {
            let agent = agent
                .map(|a| Uuid::parse_str(&a))
                .transpose()
                .map_err(|e| StoreError::Corrupt(format!("agent_id: {e}")))?;
            Ok((seq, agent))
        })
        .transpose()
    }

    async fn insert_message(
        &mut self,
        m: &NewMessage,
        seq: i64,
        attachments: &[AttachmentMeta],
    ) -> StoreResult<()> {
        execute(
            self.0,
            "INSERT INTO messages (conversation_id, seq, sender, agent_id, text, client_msg_id, sent_at, attachments) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            params![
                Id::of(m.conversation_id),
                seq,
                m.sender.as_str(),
                Id::opt(m.agent_id),
                m.text,
                m.client_msg_id,
                m.sent_at,
                attachments_json(attachments)?
            ],
        )?;
        Ok(())
    }

    async fn link_attachment(
        &mut self,
        id: Uuid,
        m: &NewMessage,
        seq: i64,
    ) -> StoreResult<Option<AttachmentMeta>> {
        super::attachments::link_attachment(
            self.0,
            id,
            m.conversation_id,
            seq,
            m.sender.as_str(),
            m.agent_id,
        )
    }

    async fn messages(&mut self, conversation_id: Uuid) -> StoreResult<Vec<Message>> {
        query_all(
            self.0,
            concat!(
                "SELECT ",
                cols!(message),
                " FROM messages WHERE conversation_id = ? ORDER BY seq"
            ),
            [Id::of(conversation_id)],
        )
    }

    async fn take_waiting(&mut self, id: Uuid, agent_id: Uuid, now: Millis) -> StoreResult<bool> {
        Ok(execute(
            self.0,
            "UPDATE conversations SET state = 'active', agent_id = ?, updated_at = ?, accepted_at = COALESCE(accepted_at, ?) WHERE id = ? AND state = 'waiting'",
            params![Id::of(agent_id), now, now, Id::of(id)],
        )? == 1)
    }

    async fn mark_ended(&mut self, id: Uuid, now: Millis) -> StoreResult<()> {
        execute(
            self.0,
            "UPDATE conversations SET state = 'ended', ended_at = ?, updated_at = ? WHERE id = ?",
            params![now, now, Id::of(id)],
        )?;
        Ok(())
    }

    async fn insert_activity(&mut self, a: &Activity) -> StoreResult<()> {
        execute(
            self.0,
            "INSERT INTO activities (id, contact_id, conversation_id, kind, transcript, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            params![
                Id::of(a.id),
                Id::of(a.contact_id),
                Id::of(a.conversation_id),
                a.kind,
                json_text(&a.transcript)?,
                a.created_at
            ],
        )?;
        Ok(())
    }

    async fn upsert_contact(&mut self, key: &ContactKey, now: Millis) -> StoreResult<Contact> {
        let f = &key.fields;
        query_one(
            self.0,
            concat!(
                "INSERT INTO contacts (",
                cols!(contact),
                ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                super::super::rows::upsert_contact_tail!(),
                cols!(contact)
            ),
            params![
                Id::of(Uuid::new_v4()),
                Id::of(key.auth_settings_id),
                key.external_id,
                f.given_name,
                f.family_name,
                f.email,
                f.phone,
                f.preferred_username,
                now,
                now
            ],
        )?
        .ok_or_else(|| StoreError::Corrupt("the contact upsert returned no row".into()))
    }

    async fn lock_contact(&mut self, _id: Uuid) -> StoreResult<bool> {
        Ok(true)
    }

    async fn open_conversation(&mut self, contact_id: Uuid) -> StoreResult<Option<Conversation>> {
        open_conversation(self.0, contact_id)
    }

    async fn insert_conversation(&mut self, c: &Conversation) -> StoreResult<()> {
        execute(
            self.0,
            concat!(
                "INSERT INTO conversations (",
                cols!(conversation),
                ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            ),
            params![
                Id::of(c.id),
                Id::of(c.widget_app_id),
                c.state.as_str(),
                c.verified,
                Id::opt(c.contact_id),
                json_text(&c.context)?,
                Id::opt(c.agent_id),
                c.created_at,
                c.updated_at,
                c.ended_at,
                c.last_seq,
                Id::of(c.queue_id)
            ],
        )?;
        Ok(())
    }

    async fn set_context(
        &mut self,
        id: Uuid,
        context: &serde_json::Map<String, serde_json::Value>,
    ) -> StoreResult<()> {
        execute(
            self.0,
            "UPDATE conversations SET context = ? WHERE id = ?",
            params![json_text(context)?, Id::of(id)],
        )?;
        Ok(())
    }

    async fn delete_expired_sessions(&mut self, now: Millis) -> StoreResult<()> {
        execute(
            self.0,
            "DELETE FROM customer_sessions WHERE expires_at <= ?",
            [now],
        )?;
        Ok(())
    }

    async fn insert_session(&mut self, s: &CustomerSession) -> StoreResult<()> {
        execute(
            self.0,
            concat!(
                "INSERT INTO customer_sessions (",
                cols!(session),
                ") VALUES (?, ?, ?, ?, ?, ?, ?)"
            ),
            params![
                s.token_hash,
                Id::of(s.conversation_id),
                Id::of(s.widget_app_id),
                s.verified_sub,
                s.jwt_exp,
                s.created_at,
                s.expires_at
            ],
        )?;
        Ok(())
    }

    async fn insert_failure(&mut self, f: &VerificationFailure) -> StoreResult<()> {
        execute(
            self.0,
            concat!(
                "INSERT INTO verification_failures (",
                cols!(failure),
                ") VALUES (?, ?, ?, ?, ?, ?, ?)"
            ),
            params![
                f.at,
                f.reason,
                f.detail,
                f.kid,
                f.iss,
                f.sub,
                Id::opt(f.auth_settings_id)
            ],
        )?;
        Ok(())
    }

    async fn count_failure(&mut self, reason: &str) -> StoreResult<()> {
        execute(
            self.0,
            "INSERT INTO verification_failure_counts (reason, count) VALUES (?, 1)
             ON CONFLICT (reason) DO UPDATE SET count = count + 1",
            [reason],
        )?;
        Ok(())
    }

    async fn trim_failures(&mut self, keep: u32) -> StoreResult<()> {
        execute(
            self.0,
            "DELETE FROM verification_failures WHERE id <= (SELECT id FROM verification_failures ORDER BY id DESC LIMIT 1 OFFSET ?)",
            [keep as i64],
        )?;
        Ok(())
    }
}
