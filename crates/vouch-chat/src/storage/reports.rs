//! The admins' report: the capability trait ([`ReportStore`]) and the row it reads per
//! conversation (the figures are computed in `crate::domain::reports`).

use async_trait::async_trait;
use uuid::Uuid;

use super::rows::{Columns, FromColumns};
use super::{Millis, StoreResult};

/// One conversation as the report reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRow {
    pub created_at: Millis,
    pub verified: bool,
    pub ended: bool,
    /// When an agent first took it.
    pub accepted_at: Option<Millis>,
    /// When an agent first wrote in it.
    pub first_agent_message_at: Option<Millis>,
    pub rating: Option<i64>,
    /// The queue it is in now.
    pub queue_id: Uuid,
}

/// The report's query: one row per conversation created in the period (both dialects; `{P1}`,
/// `{P2}` are the placeholders of `from` and `to`).
pub(crate) const REPORT_SQL: &str =
    "SELECT c.created_at, c.verified, c.state = 'ended', c.accepted_at,
    (SELECT MIN(m.sent_at) FROM messages m WHERE m.conversation_id = c.id AND m.sender = 'agent'),
    r.score, c.queue_id
    FROM conversations c LEFT JOIN ratings r ON r.conversation_id = c.id
    WHERE c.created_at >= {P1} AND c.created_at < {P2}";

impl FromColumns for ReportRow {
    fn from_columns(r: &impl Columns) -> StoreResult<Self> {
        Ok(ReportRow {
            created_at: r.int(0)?,
            verified: r.flag(1)?,
            ended: r.flag(2)?,
            accepted_at: r.opt_int(3)?,
            first_agent_message_at: r.opt_int(4)?,
            rating: r.opt_int(5)?,
            queue_id: r.uuid(6)?,
        })
    }
}

/// The admins' report.
#[async_trait]
pub trait ReportStore: Send + Sync + 'static {
    /// One row per conversation created in `[from, to)` (the caller bounds the period).
    async fn report_rows(&self, from: Millis, to: Millis) -> StoreResult<Vec<ReportRow>>;
}
