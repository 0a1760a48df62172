//! What offline hours need from storage: the email outbox (an offline conversation's notice, a
//! customer's transcript) and whether anyone is there to answer.
//!
//! An email is a row before it is mail: written when the conversation starts offline (or the
//! customer asks), then claimed by one sender at a time (`pending` → `sending`), and finished as
//! `sent`, back to `pending` for a later retry, or `failed`. A claimed row is never claimed
//! again, so a process stopped mid-send cannot send it twice (at most once per row); the partial
//! unique index keeps one notice per conversation.

use async_trait::async_trait;
use uuid::Uuid;

use super::rows::{Columns, FromColumns};
use super::{Millis, StoreError, StoreResult};

/// The columns of an outbox row, in the order [`OutboxEmail`]'s mapping reads them.
pub(crate) const OUTBOX_COLS: &str =
    "id, kind, conversation_id, recipient, status, attempts, next_attempt_at, last_error, created_at";

/// What an email is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EmailKind {
    /// To `--notify-email`: a conversation started while the team was offline.
    OfflineNotice,
    /// To a verified customer's own email: their conversation's transcript.
    Transcript,
}

impl EmailKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EmailKind::OfflineNotice => "offline_notice",
            EmailKind::Transcript => "transcript",
        }
    }
    fn parse(s: &str) -> Option<Self> {
        match s {
            "offline_notice" => Some(EmailKind::OfflineNotice),
            "transcript" => Some(EmailKind::Transcript),
            _ => None,
        }
    }
}

/// Where an outbox row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EmailStatus {
    Pending,
    Sending,
    Sent,
    Failed,
}

impl EmailStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            EmailStatus::Pending => "pending",
            EmailStatus::Sending => "sending",
            EmailStatus::Sent => "sent",
            EmailStatus::Failed => "failed",
        }
    }
    fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(EmailStatus::Pending),
            "sending" => Some(EmailStatus::Sending),
            "sent" => Some(EmailStatus::Sent),
            "failed" => Some(EmailStatus::Failed),
            _ => None,
        }
    }
}

/// One outbox row.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEmail {
    pub id: Uuid,
    pub kind: EmailKind,
    pub conversation_id: Uuid,
    pub recipient: String,
    pub status: EmailStatus,
    /// Attempts made (a claim counts as one).
    pub attempts: i64,
    pub next_attempt_at: Millis,
    pub last_error: Option<String>,
    pub created_at: Millis,
}

impl OutboxEmail {
    /// A new pending email, due now.
    pub fn new(kind: EmailKind, conversation_id: Uuid, recipient: &str, now: Millis) -> Self {
        OutboxEmail {
            id: Uuid::new_v4(),
            kind,
            conversation_id,
            recipient: recipient.to_string(),
            status: EmailStatus::Pending,
            attempts: 0,
            next_attempt_at: now,
            last_error: None,
            created_at: now,
        }
    }
}

impl FromColumns for OutboxEmail {
    fn from_columns(r: &impl Columns) -> StoreResult<Self> {
        let kind = r.text(1)?;
        let status = r.text(4)?;
        Ok(OutboxEmail {
            id: r.uuid(0)?,
            kind: EmailKind::parse(&kind)
                .ok_or_else(|| StoreError::Corrupt(format!("email kind {kind:?}")))?,
            conversation_id: r.uuid(2)?,
            recipient: r.text(3)?,
            status: EmailStatus::parse(&status)
                .ok_or_else(|| StoreError::Corrupt(format!("email status {status:?}")))?,
            attempts: r.int(5)?,
            next_attempt_at: r.int(6)?,
            last_error: r.opt_text(7)?,
            created_at: r.int(8)?,
        })
    }
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq)]
pub enum EmailOutcome {
    Sent,
    /// Refused for now: pending again, due at the time given.
    Retry {
        at: Millis,
        error: String,
    },
    /// Given up.
    Failed {
        error: String,
    },
}

/// The email outbox and the team's availability.
#[async_trait]
pub trait OfflineStore: Send + Sync + 'static {
    /// Queues an email. A second offline notice for one conversation is not queued: `false`.
    async fn queue_email(&self, e: &OutboxEmail) -> StoreResult<bool>;
    /// Claims up to `limit` pending emails due at `now`, oldest due first: each becomes `sending`
    /// with one more attempt. Each row is claimed by one caller, across nodes.
    async fn claim_due_emails(&self, now: Millis, limit: u32) -> StoreResult<Vec<OutboxEmail>>;
    /// Records how a claimed email's attempt ended.
    async fn finish_email(&self, id: Uuid, outcome: &EmailOutcome, now: Millis) -> StoreResult<()>;
    /// The outbox rows of a conversation, oldest first.
    async fn emails_of_conversation(&self, conversation_id: Uuid) -> StoreResult<Vec<OutboxEmail>>;
}
