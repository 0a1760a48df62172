//! Offline hours: whether a widget's team is there (business hours and someone to answer), what
//! a widget says when it is not, and the email that goes with it — one notice to
//! `--notify-email` per conversation started offline, and a verified customer's transcript to
//! their own contact email (never an address from a request).
//!
//! Email goes through the outbox (`storage::offline`): queued in the database, then sent by
//! [`run_outbox`] on every node, each row claimed by exactly one node. A refused attempt is
//! retried with backoff a bounded number of times; a row is never sent twice.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};
use tokio::sync::Notify;
use uuid::Uuid;

use super::hours::{BusinessHours, MAX_OFFLINE_MESSAGE};
use super::Chat;
use crate::error::ChatError;
use crate::mail::{MailError, Mailer};
use crate::storage::{
    now_millis, rfc3339, Conversation, EmailKind, EmailOutcome, EmailStatus, Millis, OutboxEmail,
    Sender, Widget,
};

/// Attempts of one email before it is given up (backoff 1 s doubling to 60 s: about 5 minutes).
pub const MAX_ATTEMPTS: i64 = 10;
/// Longest wait between two attempts of one email.
const MAX_BACKOFF_MS: i64 = 60_000;
/// How often a node looks for due email that another node (or a retry) left.
const POLL: Duration = Duration::from_secs(2);
/// Emails claimed at once.
const BATCH: u32 = 20;
/// Most transcript emails one conversation may ask for.
pub const MAX_TRANSCRIPTS: usize = 5;
/// Most messages a transcript email carries (the newest are left out past it, and it says so).
const MAX_TRANSCRIPT_MESSAGES: u32 = 2000;

/// Email as this service is set up to send it (`--smtp-url`, `--notify-email`).
pub struct MailSetup {
    pub mailer: Mailer,
    /// Where offline notices go; none: no notices.
    pub notify: Option<String>,
    /// Wakes this node's outbox sender when something is queued.
    wake: Notify,
}

impl MailSetup {
    pub fn new(mailer: Mailer, notify: Option<String>) -> MailSetup {
        MailSetup {
            mailer,
            notify,
            wake: Notify::new(),
        }
    }
}

/// Email from the flags, checked at start-up: `--notify-email` needs `--smtp-url`, and both
/// must be well formed.
pub(crate) fn mail_setup(c: &crate::mail::MailConfig) -> Result<Option<MailSetup>, ChatError> {
    let notify = c
        .notify_email
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let Some(url) = c.smtp_url.as_deref().filter(|s| !s.trim().is_empty()) else {
        if notify.is_some() {
            return Err(ChatError::Config(
                "--notify-email needs --smtp-url (the relay to send through)".into(),
            ));
        }
        return Ok(None);
    };
    if let Some(n) = notify {
        crate::mail::parse_mailbox(n).map_err(|_| {
            ChatError::Config(format!("--notify-email {n:?} is not an email address"))
        })?;
    }
    let mailer = Mailer::new(url, &c.mail_from).map_err(|e| ChatError::Config(e.to_string()))?;
    Ok(Some(MailSetup::new(mailer, notify.map(str::to_string))))
}

/// Reads `business_hours` and `offline_message` of a widget request into `w`. On update (`old`
/// given) an absent field keeps the old value; on create it is empty.
pub(crate) fn apply_offline_fields(
    w: &mut Widget,
    body: &Map<String, Value>,
    old: Option<&Widget>,
) -> Result<(), ChatError> {
    w.business_hours = match body.get("business_hours") {
        None => old.and_then(|o| o.business_hours.clone()),
        Some(v) => {
            BusinessHours::from_json(v).map_err(|e| ChatError::validation("business_hours", e.0))?
        }
    };
    w.offline_message = match body.get("offline_message") {
        None => old.map(|o| o.offline_message.clone()).unwrap_or_default(),
        Some(Value::Null) => String::new(),
        Some(Value::String(s)) => {
            let s = s.trim();
            if s.chars().count() > MAX_OFFLINE_MESSAGE
                || s.chars().any(|c| c.is_control() && c != '\n')
            {
                return Err(ChatError::validation(
                    "offline_message",
                    format!("offline_message must be at most {MAX_OFFLINE_MESSAGE} characters, without control characters"),
                ));
            }
            s.to_string()
        }
        Some(_) => {
            return Err(ChatError::validation(
                "offline_message",
                "offline_message must be a string",
            ))
        }
    };
    Ok(())
}

fn backoff_ms(attempts: i64) -> i64 {
    let exp = attempts.clamp(1, 20) - 1;
    (1000i64 << exp).min(MAX_BACKOFF_MS)
}

impl Chat {
    /// Attaches email (`--smtp-url`); without it no email is queued.
    pub(crate) fn with_mail(mut self, mail: Option<MailSetup>) -> Chat {
        self.mail = mail.map(Arc::new);
        self
    }

    /// Whether someone can answer a conversation of `widget` now.
    /// Whether someone can answer `widget` now: an active member of its default queue (its
    /// routing's, else `General`) whose presence is `available`.
    pub async fn team_available(&self, widget: &Widget) -> Result<bool, ChatError> {
        let queue_id = self
            .store
            .get_routing(widget.app_id)
            .await?
            .and_then(|r| r.default_queue_id)
            .unwrap_or(crate::storage::GENERAL_QUEUE_ID);
        let Some(queue) = self.store.get_queue(queue_id).await? else {
            return Ok(false);
        };
        let agents = self.store.list_desk_agents().await?;
        Ok(agents.iter().any(|a| {
            a.active
                && a.status == crate::storage::Presence::Available
                && queue.agent_ids.contains(&a.id)
        }))
    }

    /// Whether `widget` is online at `now`: inside its business hours and someone available.
    pub async fn is_online(&self, widget: &Widget, now: Millis) -> Result<bool, ChatError> {
        if let Some(h) = &widget.business_hours {
            if !h.is_open_at(now) {
                return Ok(false);
            }
        }
        self.team_available(widget).await
    }

    /// After a session created `conversation`: when the widget is offline and notices are set
    /// up, queues the one notice of this conversation. A failure is logged; the session stands.
    pub(crate) async fn note_offline_start(&self, widget: &Widget, conversation: &Conversation) {
        let Some(mail) = &self.mail else { return };
        let Some(to) = &mail.notify else { return };
        let now = now_millis();
        match self.is_online(widget, now).await {
            Ok(true) => {}
            Ok(false) => {
                let e = OutboxEmail::new(EmailKind::OfflineNotice, conversation.id, to, now);
                match self.store.queue_email(&e).await {
                    Ok(_) => mail.wake.notify_one(),
                    Err(e) => {
                        tracing::error!(conversation = %conversation.id, error = %e, "offline notice not queued")
                    }
                }
            }
            Err(e) => {
                tracing::error!(conversation = %conversation.id, error = %e, "offline check failed")
            }
        }
    }

    /// `POST /api/v1/chat/transcript-email`: queues the transcript of the session's conversation
    /// to the verified contact's own email. `Forbidden` for a Not verified session; `Conflict`
    /// when the contact has no email or this service sends none; `RateLimited` past
    /// [`MAX_TRANSCRIPTS`].
    pub async fn request_transcript_email(&self, session_token: &str) -> Result<(), ChatError> {
        let ctx = self.session_for_token(session_token).await?;
        if ctx.session.verified_sub.is_none() {
            return Err(ChatError::Forbidden(
                "only a verified customer can have the transcript emailed".into(),
            ));
        }
        let conversation = self.conversation(ctx.conversation_id).await?;
        let contact = match conversation.contact_id {
            Some(id) => self.store.get_contact(id).await?,
            None => None,
        };
        let Some(email) = contact.and_then(|c| c.email).filter(|e| !e.is_empty()) else {
            return Err(ChatError::Conflict(
                "your account has no email address to send the transcript to".into(),
            ));
        };
        let Some(mail) = &self.mail else {
            return Err(ChatError::Conflict(
                "this chat service does not send email".into(),
            ));
        };
        let earlier: Vec<OutboxEmail> = self
            .store
            .emails_of_conversation(conversation.id)
            .await?
            .into_iter()
            .filter(|e| e.kind == EmailKind::Transcript)
            .collect();
        if earlier
            .iter()
            .any(|e| matches!(e.status, EmailStatus::Pending | EmailStatus::Sending))
        {
            // One already on its way carries the transcript as it is when sent.
            return Ok(());
        }
        if earlier.len() >= MAX_TRANSCRIPTS {
            return Err(ChatError::RateLimited);
        }
        let e = OutboxEmail::new(EmailKind::Transcript, conversation.id, &email, now_millis());
        self.store.queue_email(&e).await?;
        mail.wake.notify_one();
        Ok(())
    }

    /// Subject and text of an outbox email, from the conversation as it is now.
    async fn compose(&self, e: &OutboxEmail) -> Result<(String, String), ChatError> {
        let c = self.conversation(e.conversation_id).await?;
        let widget = self.store.get_widget(c.widget_app_id).await?;
        let title = widget.map(|w| w.title).unwrap_or_else(|| "vouch".into());
        let contact = match c.contact_id {
            Some(id) => self.store.get_contact(id).await?,
            None => None,
        };
        let messages = self
            .store
            .messages_after(c.id, 0, MAX_TRANSCRIPT_MESSAGES)
            .await?;
        let mut lines = String::new();
        for m in &messages {
            let who = match m.sender {
                Sender::Customer => "You",
                Sender::Agent => "Agent",
                Sender::System => "—",
            };
            lines.push_str(&format!("[{}] {who}: {}\n", rfc3339(m.sent_at), m.text));
        }
        Ok(match e.kind {
            EmailKind::OfflineNotice => {
                let who = match &contact {
                    Some(k) => {
                        let name = [k.given_name.as_deref(), k.family_name.as_deref()]
                            .into_iter()
                            .flatten()
                            .collect::<Vec<_>>()
                            .join(" ");
                        format!(
                            "{} <{}> (verified; contact id {})",
                            if name.is_empty() { "A customer" } else { &name },
                            k.email.as_deref().unwrap_or("no email"),
                            k.external_id
                        )
                    }
                    None => "A customer who is not signed in (Not verified)".into(),
                };
                let lines = lines.replace("] You:", "] Customer:");
                (
                    format!("New conversation while {title} was offline"),
                    format!(
                        "{who} started a conversation on {title} at {} while the team was offline.\n\n\
                         Conversation: {}\n{}\n\nAnswer it in the console: {}/agent\n",
                        rfc3339(c.created_at),
                        c.id,
                        if lines.is_empty() { "No messages yet.\n".to_string() } else { format!("Messages so far:\n{lines}") },
                        self.public_origin()
                    ),
                )
            }
            EmailKind::Transcript => (
                format!("Your conversation with {title}"),
                format!(
                    "The transcript of your conversation with {title} (started {}):\n\n{}",
                    rfc3339(c.created_at),
                    if lines.is_empty() {
                        "No messages.\n".to_string()
                    } else {
                        lines
                    }
                ),
            ),
        })
    }

    /// One attempt of a claimed email, and its outcome stored.
    async fn deliver(&self, mailer: &Mailer, e: OutboxEmail) {
        let now = now_millis();
        let outcome = match self.compose(&e).await {
            Err(err) => EmailOutcome::Retry {
                at: now + backoff_ms(e.attempts),
                error: format!("composing: {err}"),
            },
            Ok((subject, text)) => match mailer.send(&e.recipient, &subject, text).await {
                Ok(()) => EmailOutcome::Sent,
                Err(err @ (MailError::Address(_) | MailError::Build(_))) => EmailOutcome::Failed {
                    error: err.to_string(),
                },
                Err(err) => EmailOutcome::Retry {
                    at: now + backoff_ms(e.attempts),
                    error: err.to_string(),
                },
            },
        };
        let outcome = match outcome {
            EmailOutcome::Retry { error, .. } if e.attempts >= MAX_ATTEMPTS => {
                EmailOutcome::Failed { error }
            }
            o => o,
        };
        match &outcome {
            EmailOutcome::Sent => {
                tracing::info!(email = %e.id, kind = e.kind.as_str(), conversation = %e.conversation_id, "email sent")
            }
            EmailOutcome::Retry { error, .. } => {
                tracing::warn!(email = %e.id, attempts = e.attempts, error = %error, "email not sent; will retry")
            }
            EmailOutcome::Failed { error } => {
                tracing::error!(email = %e.id, attempts = e.attempts, error = %error, "email given up")
            }
        }
        if let Err(err) = self.store.finish_email(e.id, &outcome, now_millis()).await {
            tracing::error!(email = %e.id, error = %err, "email outcome not stored");
        }
    }

    /// The outbox rows of a conversation (for tests and operators).
    pub async fn emails_of_conversation(&self, id: Uuid) -> Result<Vec<OutboxEmail>, ChatError> {
        Ok(self.store.emails_of_conversation(id).await?)
    }
}

/// Sends due outbox email until the service shuts down (one per node; rows are claimed, so
/// several nodes share the work without sending anything twice).
pub(crate) async fn run_outbox(chat: Arc<Chat>) {
    let Some(mail) = chat.mail.clone() else {
        return;
    };
    let mut shutdown = chat.shutdown_signal();
    loop {
        if *shutdown.borrow() {
            return;
        }
        let claimed = match chat.store.claim_due_emails(now_millis(), BATCH).await {
            Ok(batch) => batch,
            Err(e) => {
                tracing::warn!(error = %e, "outbox: could not claim email");
                Vec::new()
            }
        };
        let full = claimed.len() as u32 == BATCH;
        for e in claimed {
            chat.deliver(&mail.mailer, e).await;
        }
        if full {
            continue;
        }
        tokio::select! {
            _ = mail.wake.notified() => {}
            _ = tokio::time::sleep(POLL) => {}
            _ = shutdown.changed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_a_minute() {
        let waits: Vec<i64> = (1..=MAX_ATTEMPTS).map(backoff_ms).collect();
        assert_eq!(&waits[..4], &[1000, 2000, 4000, 8000]);
        assert!(waits.iter().all(|w| *w <= MAX_BACKOFF_MS));
        assert_eq!(*waits.last().unwrap(), MAX_BACKOFF_MS);
    }
}
