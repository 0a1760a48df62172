//! Canned replies: texts agents insert with a `/shortcut`. Shared ones (no owner) are managed
//! by admins; an agent's own are theirs alone. A shortcut is unique within its scope (the
//! shared ones, or one agent's), which the schema holds with two partial unique indexes.

use async_trait::async_trait;
use uuid::Uuid;

use super::rows::{Columns, FromColumns};
use super::{Millis, StoreResult};

/// A canned reply's columns, in the order [`FromColumns`] reads them.
macro_rules! canned_cols {
    () => {
        "id, agent_id, shortcut, text, created_at, updated_at"
    };
}
pub(crate) use canned_cols;

/// A canned reply as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct CannedReply {
    pub id: Uuid,
    /// The owning agent; `None` for a shared reply.
    pub agent_id: Option<Uuid>,
    pub shortcut: String,
    pub text: String,
    pub created_at: Millis,
    pub updated_at: Millis,
}

impl FromColumns for CannedReply {
    fn from_columns(r: &impl Columns) -> StoreResult<Self> {
        Ok(CannedReply {
            id: r.uuid(0)?,
            agent_id: r.opt_uuid(1)?,
            shortcut: r.text(2)?,
            text: r.text(3)?,
            created_at: r.int(4)?,
            updated_at: r.int(5)?,
        })
    }
}

/// Canned replies, shared and personal. `owner` names a scope: `None` the shared replies,
/// `Some(agent)` that agent's own.
#[async_trait]
pub trait CannedReplyStore: Send + Sync + 'static {
    /// `Conflict(ShortcutTaken)` when the shortcut exists in the reply's scope,
    /// `Conflict(TooManyCannedReplies)` when the scope already holds `max_in_scope` (counted
    /// under a lock of the scope, so concurrent inserts on several nodes count each other).
    async fn insert_canned_reply(&self, r: &CannedReply, max_in_scope: u32) -> StoreResult<()>;
    /// Changes the shortcut and text of the reply `id` of scope `owner`: `NotFound` when that
    /// scope has no such reply, `Conflict(ShortcutTaken)` when another of the scope has the
    /// shortcut.
    async fn update_canned_reply(
        &self,
        id: Uuid,
        owner: Option<Uuid>,
        shortcut: &str,
        text: &str,
        now: Millis,
    ) -> StoreResult<CannedReply>;
    /// `NotFound` when the scope `owner` has no such reply.
    async fn delete_canned_reply(&self, id: Uuid, owner: Option<Uuid>) -> StoreResult<()>;
    /// With `Some(agent)`: that agent's own replies first, then the shared ones; with `None`:
    /// the shared ones. Each part by shortcut; at most `limit` in all.
    async fn canned_replies_for(
        &self,
        agent: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<CannedReply>>;
}
