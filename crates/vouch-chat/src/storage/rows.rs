//! Each row kind's mapping, written once for both back-ends.
//!
//! A row kind has one column list ([`cols!`]), which every query of that kind selects, and one
//! mapping ([`FromColumns`]) that reads the columns by position in that order through
//! [`Columns`], implemented for `rusqlite::Row` and sqlx's `PgRow`. Positional reads also spare
//! rusqlite the column-name scan a read by name does.
//!
//! The back-ends store the same values in their own types (ids: UUID text in SQLite, `UUID` in
//! PostgreSQL; flags: integers or `BOOLEAN`); [`Columns`] hides that.

use serde::de::DeserializeOwned;
use uuid::Uuid;

use super::*;

/// How many columns a [`cols!`] list names: where the columns a query selects after it start
/// (so a row kind that grows a column does not shift them silently).
pub(crate) const fn width(cols: &str) -> usize {
    let bytes = cols.as_bytes();
    let (mut i, mut commas) = (0, 0);
    while i < bytes.len() {
        if bytes[i] == b',' {
            commas += 1;
        }
        i += 1;
    }
    commas + 1
}

/// The column list of a row kind, in the order its [`FromColumns`] reads them.
macro_rules! cols {
    (auth_settings) => {
        "id, name, public_key_url, function_name, issuer, leeway_secs, key_count, created_at"
    };
    (widget) => {
        "app_id, name, allowed_origins, auth_settings_id, require_auth, title, created_at, business_hours, offline_message"
    };
    (agent) => {
        "id, email, name, role, created_at"
    };
    (contact) => {
        "id, auth_settings_id, external_id, given_name, family_name, email, phone, preferred_username, created_at, updated_at"
    };
    (conversation) => {
        "id, widget_app_id, state, verified, contact_id, context, agent_id, created_at, updated_at, ended_at, last_seq, queue_id"
    };
    (message) => {
        "conversation_id, seq, sender, text, sent_at, client_msg_id, attachments"
    };
    (activity) => {
        "id, contact_id, conversation_id, kind, created_at, transcript"
    };
    (session) => {
        "token_hash, conversation_id, widget_app_id, verified_sub, jwt_exp, created_at, expires_at"
    };
    (failure) => {
        "at, reason, detail, kid, iss, sub, auth_settings_id"
    };
}
pub(crate) use cols;

/// The contact upsert after its `VALUES (…)`: fresh claims update the fields they carry, and the
/// row is returned; followed by `cols!(contact)`. The same text in both dialects.
macro_rules! upsert_contact_tail {
    () => {
        " ON CONFLICT (auth_settings_id, external_id) DO UPDATE SET
           given_name = COALESCE(excluded.given_name, contacts.given_name),
           family_name = COALESCE(excluded.family_name, contacts.family_name),
           email = COALESCE(excluded.email, contacts.email),
           phone = COALESCE(excluded.phone, contacts.phone),
           preferred_username = COALESCE(excluded.preferred_username, contacts.preferred_username),
           updated_at = excluded.updated_at
         RETURNING "
    };
}
pub(crate) use upsert_contact_tail;

/// A result row's columns, read by position.
pub(crate) trait Columns {
    fn int(&self, i: usize) -> StoreResult<i64>;
    fn opt_int(&self, i: usize) -> StoreResult<Option<i64>>;
    fn flag(&self, i: usize) -> StoreResult<bool>;
    fn text(&self, i: usize) -> StoreResult<String>;
    fn opt_text(&self, i: usize) -> StoreResult<Option<String>>;
    fn bytes(&self, i: usize) -> StoreResult<Vec<u8>>;
    fn uuid(&self, i: usize) -> StoreResult<Uuid>;
    fn opt_uuid(&self, i: usize) -> StoreResult<Option<Uuid>>;
    /// A JSON text column, parsed.
    fn json<T: DeserializeOwned>(&self, i: usize) -> StoreResult<T>;
}

/// A value made from one row of its kind's column list.
pub(crate) trait FromColumns: Sized {
    fn from_columns(r: &impl Columns) -> StoreResult<Self>;
}

pub(crate) fn corrupt(i: usize, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("column {i}: {e}"))
}

fn parse_json<T: DeserializeOwned>(i: usize, s: &str) -> StoreResult<T> {
    serde_json::from_str(s).map_err(|e| corrupt(i, e))
}

/// A message's `attachments` column: NULL when it has none (as every message before them).
pub(crate) fn attachments_json(a: &[AttachmentMeta]) -> StoreResult<Option<String>> {
    if a.is_empty() {
        Ok(None)
    } else {
        json_text(&a).map(Some)
    }
}

/// JSON text of a value (context variables, origins, transcripts).
pub(crate) fn json_text<T: serde::Serialize>(v: &T) -> StoreResult<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}

impl Columns for rusqlite::Row<'_> {
    fn int(&self, i: usize) -> StoreResult<i64> {
        Ok(self.get(i)?)
    }
    fn opt_int(&self, i: usize) -> StoreResult<Option<i64>> {
        Ok(self.get(i)?)
    }
    fn flag(&self, i: usize) -> StoreResult<bool> {
        Ok(self.get(i)?)
    }
    fn text(&self, i: usize) -> StoreResult<String> {
        Ok(self.get(i)?)
    }
    fn opt_text(&self, i: usize) -> StoreResult<Option<String>> {
        Ok(self.get(i)?)
    }
    fn bytes(&self, i: usize) -> StoreResult<Vec<u8>> {
        Ok(self.get(i)?)
    }
    fn uuid(&self, i: usize) -> StoreResult<Uuid> {
        let s = self.get_ref(i)?.as_str().map_err(|e| corrupt(i, e))?;
        Uuid::parse_str(s).map_err(|e| corrupt(i, e))
    }
    fn opt_uuid(&self, i: usize) -> StoreResult<Option<Uuid>> {
        match self
            .get_ref(i)?
            .as_str_or_null()
            .map_err(|e| corrupt(i, e))?
        {
            Some(s) => Uuid::parse_str(s).map(Some).map_err(|e| corrupt(i, e)),
            None => Ok(None),
        }
    }
    fn json<T: DeserializeOwned>(&self, i: usize) -> StoreResult<T> {
        parse_json(i, self.get_ref(i)?.as_str().map_err(|e| corrupt(i, e))?)
    }
}

impl Columns for sqlx::postgres::PgRow {
    fn int(&self, i: usize) -> StoreResult<i64> {
        Ok(sqlx::Row::try_get(self, i)?)
    }
    fn opt_int(&self, i: usize) -> StoreResult<Option<i64>> {
        Ok(sqlx::Row::try_get(self, i)?)
    }
    fn flag(&self, i: usize) -> StoreResult<bool> {
        Ok(sqlx::Row::try_get(self, i)?)
    }
    fn text(&self, i: usize) -> StoreResult<String> {
        Ok(sqlx::Row::try_get(self, i)?)
    }
    fn opt_text(&self, i: usize) -> StoreResult<Option<String>> {
        Ok(sqlx::Row::try_get(self, i)?)
    }
    fn bytes(&self, i: usize) -> StoreResult<Vec<u8>> {
        Ok(sqlx::Row::try_get(self, i)?)
    }
    fn uuid(&self, i: usize) -> StoreResult<Uuid> {
        Ok(sqlx::Row::try_get(self, i)?)
    }
    fn opt_uuid(&self, i: usize) -> StoreResult<Option<Uuid>> {
        Ok(sqlx::Row::try_get(self, i)?)
    }
    fn json<T: DeserializeOwned>(&self, i: usize) -> StoreResult<T> {
        parse_json(i, sqlx::Row::try_get::<&str, _>(self, i)?)
    }
}

impl FromColumns for AuthSettings {
    fn from_columns(r: &impl Columns) -> StoreResult<Self> {
        Ok(AuthSettings {
            id: r.uuid(0)?,
            name: r.text(1)?,
            public_key_url: r.text(2)?,
            function_name: r.text(3)?,
            issuer: r.opt_text(4)?,
            leeway_secs: r.int(5)?.max(0) as u64,
            key_count: r.int(6)?.max(0) as u32,
            created_at: r.int(7)?,
        })
    }
}

impl FromColumns for Widget {
    fn from_columns(r: &impl Columns) -> StoreResult<Self> {
        Ok(Widget {
            app_id: r.uuid(0)?,
            name: r.text(1)?,
            allowed_origins: r.json(2)?,
            auth_settings_id: r.opt_uuid(3)?,
            require_auth: r.flag(4)?,
            title: r.text(5)?,
            created_at: r.int(6)?,
            business_hours: match r.opt_text(7)? {
                Some(s) => Some(parse_json(7, &s)?),
                None => None,
            },
            offline_message: r.text(8)?,
        })
    }
}

impl FromColumns for Agent {
    fn from_columns(r: &impl Columns) -> StoreResult<Self> {
        Ok(Agent {
            id: r.uuid(0)?,
            email: r.text(1)?,
            name: r.text(2)?,
            role: r.text(3)?.parse().map_err(StoreError::Corrupt)?,
            created_at: r.int(4)?,
        })
    }
}

/// An agent and its password hash: `cols!(agent), password_hash`.
impl FromColumns for (Agent, String) {
    fn from_columns(r: &impl Columns) -> StoreResult<Self> {
        Ok((Agent::from_columns(r)?, r.text(width(cols!(agent)))?))
    }
}

/// A failure count: `reason, count`.
impl FromColumns for (String, i64) {
    fn from_columns(r: &impl Columns) -> StoreResult<Self> {
        Ok((r.text(0)?, r.int(1)?))
    }
}

impl FromColumns for Contact {
    fn from_columns(r: &impl Columns) -> StoreResult<Self> {
        Ok(Contact {
            id: r.uuid(0)?,
            auth_settings_id: r.uuid(1)?,
            external_id: r.text(2)?,
            given_name: r.opt_text(3)?,
            family_name: r.opt_text(4)?,
            email: r.opt_text(5)?,
            phone: r.opt_text(6)?,
            preferred_username: r.opt_text(7)?,
            created_at: r.int(8)?,
            updated_at: r.int(9)?,
        })
    }
}

impl FromColumns for Conversation {
    fn from_columns(r: &impl Columns) -> StoreResult<Self> {
        let state = r.text(2)?;
        Ok(Conversation {
            id: r.uuid(0)?,
            widget_app_id: r.uuid(1)?,
            state: ConversationState::parse(&state)
                .ok_or_else(|| StoreError::Corrupt(format!("state {state:?}")))?,
            verified: r.flag(3)?,
            contact_id: r.opt_uuid(4)?,
            context: r.json(5)?,
            agent_id: r.opt_uuid(6)?,
            created_at: r.int(7)?,
            updated_at: r.int(8)?,
            ended_at: r.opt_int(9)?,
            last_seq: r.int(10)?,
            queue_id: r.uuid(11)?,
        })
    }
}

impl FromColumns for Message {
    fn from_columns(r: &impl Columns) -> StoreResult<Self> {
        let sender = r.text(2)?;
        Ok(Message {
            conversation_id: r.uuid(0)?,
            seq: r.int(1)?,
            sender: Sender::parse(&sender)
                .ok_or_else(|| StoreError::Corrupt(format!("sender {sender:?}")))?,
            text: r.text(3)?,
            sent_at: r.int(4)?,
            client_msg_id: r.opt_text(5)?,
            attachments: match r.opt_text(6)? {
                Some(text) => parse_json(6, &text)?,
                None => Vec::new(),
            },
        })
    }
}

impl FromColumns for Activity {
    fn from_columns(r: &impl Columns) -> StoreResult<Self> {
        Ok(Activity {
            id: r.uuid(0)?,
            contact_id: r.uuid(1)?,
            conversation_id: r.uuid(2)?,
            kind: r.text(3)?,
            created_at: r.int(4)?,
            transcript: r.json(5)?,
            rating: None,
        })
    }
}

impl FromColumns for CustomerSession {
    fn from_columns(r: &impl Columns) -> StoreResult<Self> {
        Ok(CustomerSession {
            token_hash: r.bytes(0)?,
            conversation_id: r.uuid(1)?,
            widget_app_id: r.uuid(2)?,
            verified_sub: r.opt_text(3)?,
            jwt_exp: r.opt_int(4)?,
            created_at: r.int(5)?,
            expires_at: r.int(6)?,
        })
    }
}

impl FromColumns for VerificationFailure {
    fn from_columns(r: &impl Columns) -> StoreResult<Self> {
        Ok(VerificationFailure {
            at: r.int(0)?,
            reason: r.text(1)?,
            detail: r.text(2)?,
            kid: r.opt_text(3)?,
            iss: r.opt_text(4)?,
            sub: r.opt_text(5)?,
            auth_settings_id: r.opt_uuid(6)?,
        })
    }
}
