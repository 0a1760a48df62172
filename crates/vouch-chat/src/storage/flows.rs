//! The writes of several steps, written once for both back-ends: a message's append (resends,
//! ended conversations), accept, end (with the transcript activity), a session's start, and a
//! verification failure.
//!
//! A flow is an `async fn` over [`Steps`], one back-end's single SQL statements inside one
//! transaction. The caller owns the transaction: PostgreSQL runs a flow on a sqlx transaction and
//! commits when it returns `Ok` (an `Err` drops, so rolls back, the transaction); SQLite runs it on
//! the writer thread's connection inside the write's savepoint of the group commit, where every
//! step is synchronous, so the flow completes in one poll ([`ready`]) — no await, no allocation,
//! no thread hop of its own.
//!
//! What holds on both: seqs are gapless per conversation; a resend (same sender and
//! `client_msg_id`) is answered with the stored message, even after the end; of agents racing to
//! accept, exactly one wins; a conversation ends once.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use uuid::Uuid;

use super::webhooks::{outbox, OutboxSteps};
use super::*;

/// One back-end's single SQL steps, inside one transaction (the outbox's among them).
pub(crate) trait Steps: OutboxSteps {
    /// Locks the conversation row until the transaction ends, so appends to one conversation
    /// queue (PostgreSQL: `SELECT … FOR UPDATE`; SQLite: nothing to do, its one writer already
    /// runs one write at a time). A missing row is not an error here.
    async fn lock_conversation(&mut self, id: Uuid) -> StoreResult<()>;
    /// The conversation; with `lock`, its row is locked as by [`Steps::lock_conversation`].
    async fn conversation(&mut self, id: Uuid, lock: bool) -> StoreResult<Option<Conversation>>;
    async fn conversation_exists(&mut self, id: Uuid) -> StoreResult<bool>;
    /// The conversation's assigned agent (`None` also when there is no such conversation).
    async fn conversation_agent(&mut self, id: Uuid) -> StoreResult<Option<Uuid>>;
    /// The stored message of (conversation, sender, client_msg_id), if any.
    async fn resent_message(
        &mut self,
        conversation_id: Uuid,
        sender: Sender,
        client_msg_id: &str,
    ) -> StoreResult<Option<Message>>;
    /// Counts the conversation's `last_seq` up (and sets `updated_at`): the new seq and the
    /// assigned agent. `None` when there is no such conversation, or (with `open_only`) when it
    /// has ended.
    async fn next_seq(
        &mut self,
        id: Uuid,
        now: Millis,
        open_only: bool,
    ) -> StoreResult<Option<(i64, Option<Uuid>)>>;
    /// Inserts `m` with the seq [`Steps::next_seq`] gave and its attachments' metadata.
    async fn insert_message(
        &mut self,
        m: &NewMessage,
        seq: i64,
        attachments: &[AttachmentMeta],
    ) -> StoreResult<()>;
    /// Links the attachment `id` to the message `seq` of `m` if it was uploaded to `m`'s
    /// conversation by `m`'s sender (and agent) and no message carries it yet: its metadata, or
    /// `None` when it may not be sent.
    async fn link_attachment(
        &mut self,
        id: Uuid,
        m: &NewMessage,
        seq: i64,
    ) -> StoreResult<Option<AttachmentMeta>>;
    /// Every message of the conversation, in order.
    async fn messages(&mut self, conversation_id: Uuid) -> StoreResult<Vec<Message>>;
    /// Assigns the conversation to `agent_id` if it is waiting (a conditional update: of
    /// concurrent callers, exactly one sees `true`).
    async fn take_waiting(&mut self, id: Uuid, agent_id: Uuid, now: Millis) -> StoreResult<bool>;
    async fn mark_ended(&mut self, id: Uuid, now: Millis) -> StoreResult<()>;
    async fn insert_activity(&mut self, a: &Activity) -> StoreResult<()>;
    /// Creates the contact of `key` or updates its fields from fresh claims.
    async fn upsert_contact(&mut self, key: &ContactKey, now: Millis) -> StoreResult<Contact>;
    /// Locks the contact row until the transaction ends, so sessions of one contact starting at
    /// once queue; `false` when there is no such contact. (SQLite: `true` without a query, its
    /// one writer already runs one write at a time; a missing contact fails the insert's foreign
    /// key instead.)
    async fn lock_contact(&mut self, id: Uuid) -> StoreResult<bool>;
    /// The contact's newest conversation that has not ended.
    async fn open_conversation(&mut self, contact_id: Uuid) -> StoreResult<Option<Conversation>>;
    async fn insert_conversation(&mut self, c: &Conversation) -> StoreResult<()>;
    async fn set_context(
        &mut self,
        id: Uuid,
        context: &serde_json::Map<String, serde_json::Value>,
    ) -> StoreResult<()>;
    /// Deletes the sessions expired at `now`.
    async fn delete_expired_sessions(&mut self, now: Millis) -> StoreResult<()>;
    async fn insert_session(&mut self, s: &CustomerSession) -> StoreResult<()>;
    async fn insert_failure(&mut self, f: &VerificationFailure) -> StoreResult<()>;
    async fn count_failure(&mut self, reason: &str) -> StoreResult<()>;
    /// Deletes all but the newest `keep` failures.
    async fn trim_failures(&mut self, keep: u32) -> StoreResult<()>;
}

/// The value of a flow whose steps never wait (SQLite's), polled once on this thread.
pub(crate) fn ready<T>(flow: impl Future<Output = StoreResult<T>>) -> StoreResult<T> {
    match pin!(flow).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(outcome) => outcome,
        Poll::Pending => Err(StoreError::Engine(
            "a storage step waited where none may".into(),
        )),
    }
}

/// The key [`ContactStore::upsert_contact`]'s arguments name.
pub(crate) fn contact_key(
    auth_settings_id: Uuid,
    external_id: &str,
    f: &ContactFields,
) -> ContactKey {
    ContactKey {
        auth_settings_id,
        external_id: external_id.to_string(),
        fields: f.clone(),
    }
}

/// The stored form of `m`, given its seq and its attachments' metadata.
fn stored(m: NewMessage, seq: i64, attachments: Vec<AttachmentMeta>) -> Message {
    Message {
        conversation_id: m.conversation_id,
        seq,
        sender: m.sender,
        text: m.text,
        sent_at: m.sent_at,
        client_msg_id: m.client_msg_id,
        attachments,
    }
}

/// [`ConversationStore::append_message`].
pub(crate) async fn append(s: &mut impl Steps, m: &NewMessage) -> StoreResult<Appended> {
    // The row lock first: everything below sees every append committed before it.
    s.lock_conversation(m.conversation_id).await?;
    if let Some(cid) = &m.client_msg_id {
        if let Some(message) = s.resent_message(m.conversation_id, m.sender, cid).await? {
            // A resend (even after the end): the stored message, acknowledged again.
            return Ok(Appended {
                message,
                duplicate: true,
                agent_id: s.conversation_agent(m.conversation_id).await?,
            });
        }
    }
    // The hot path is one statement on the conversation row: the next seq (and who to tell),
    // only while the conversation is open. No row: ended or unknown, told apart on this rare path.
    let Some((seq, agent_id)) = s.next_seq(m.conversation_id, m.sent_at, true).await? else {
        return Err(if s.conversation_exists(m.conversation_id).await? {
            StoreError::Conflict(Conflict::Ended)
        } else {
            StoreError::NotFound
        });
    };
    // Each attachment joins this message or the whole append is refused (the transaction, or
    // SQLite's savepoint, is rolled back: no seq taken, nothing linked).
    let mut attachments = Vec::with_capacity(m.attachments.len());
    for id in &m.attachments {
        match s.link_attachment(*id, m, seq).await? {
            Some(meta) => attachments.push(meta),
            None => return Err(StoreError::Conflict(Conflict::BadAttachment)),
        }
    }
    s.insert_message(m, seq, &attachments).await?;
    let message = stored(m.clone(), seq, attachments);
    outbox::message_created(s, &message).await?;
    Ok(Appended {
        message,
        duplicate: false,
        agent_id,
    })
}

/// Appends a system message, whatever the conversation's state.
pub(crate) async fn system_message(
    s: &mut impl Steps,
    conversation_id: Uuid,
    text: &str,
    now: Millis,
) -> StoreResult<Message> {
    let m = NewMessage {
        conversation_id,
        sender: Sender::System,
        agent_id: None,
        text: text.to_string(),
        client_msg_id: None,
        sent_at: now,
        attachments: Vec::new(),
    };
    let (seq, _) = s
        .next_seq(conversation_id, now, false)
        .await?
        .ok_or(StoreError::NotFound)?;
    s.insert_message(&m, seq, &[]).await?;
    let message = stored(m, seq, Vec::new());
    outbox::message_created(s, &message).await?;
    Ok(message)
}

/// [`ConversationStore::accept_conversation`].
pub(crate) async fn accept(
    s: &mut impl Steps,
    id: Uuid,
    agent_id: Uuid,
    joined_text: &str,
    now: Millis,
) -> StoreResult<(Conversation, Message)> {
    if !s.take_waiting(id, agent_id, now).await? {
        return Err(if s.conversation_exists(id).await? {
            StoreError::Conflict(Conflict::AlreadyTaken)
        } else {
            StoreError::NotFound
        });
    }
    let message = system_message(s, id, joined_text, now).await?;
    let conversation = s
        .conversation(id, false)
        .await?
        .ok_or(StoreError::NotFound)?;
    outbox::conversation_assigned(s, &conversation, now).await?;
    Ok((conversation, message))
}

/// [`ConversationStore::end_conversation`].
pub(crate) async fn end(
    s: &mut impl Steps,
    id: Uuid,
    ended_text: &str,
    now: Millis,
) -> StoreResult<Ended> {
    let before = s
        .conversation(id, true)
        .await?
        .ok_or(StoreError::NotFound)?;
    if before.state == ConversationState::Ended {
        return Err(StoreError::Conflict(Conflict::Ended));
    }
    s.mark_ended(id, now).await?;
    let message = system_message(s, id, ended_text, now).await?;
    let activity = match before.contact_id {
        Some(contact_id) => {
            let transcript = s
                .messages(id)
                .await?
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
                rating: None,
            };
            s.insert_activity(&activity).await?;
            Some(activity)
        }
        None => None,
    };
    let conversation = s
        .conversation(id, false)
        .await?
        .ok_or(StoreError::NotFound)?;
    outbox::conversation_ended(s, &conversation, activity.as_ref(), now).await?;
    Ok(Ended {
        before,
        conversation,
        message,
        activity,
    })
}

/// [`ConversationStore::open_or_insert_conversation`].
pub(crate) async fn open_or_insert(
    s: &mut impl Steps,
    c: &Conversation,
) -> StoreResult<(Conversation, bool)> {
    if let Some(contact_id) = c.contact_id {
        // Two browsers (on two nodes) of one contact queue here; the second finds the first's.
        if !s.lock_contact(contact_id).await? {
            return Err(StoreError::NotFound);
        }
        if let Some(open) = s.open_conversation(contact_id).await? {
            return Ok((open, false));
        }
    }
    s.insert_conversation(c).await?;
    Ok((c.clone(), true))
}

/// [`SessionStore::insert_session`].
pub(crate) async fn insert_session(
    s: &mut impl Steps,
    session: &CustomerSession,
) -> StoreResult<()> {
    s.delete_expired_sessions(session.created_at).await?;
    s.insert_session(session).await
}

/// [`SessionStore::start_session`].
pub(crate) async fn start_session(
    s: &mut impl Steps,
    start: SessionStart,
) -> StoreResult<SessionStarted> {
    let SessionStart {
        contact,
        mut conversation,
        max_context_entries,
        mut session,
    } = start;
    let now = session.created_at;
    let (conversation, created, contact) = match contact {
        Some(key) => {
            let contact = s.upsert_contact(&key, now).await?;
            conversation.contact_id = Some(contact.id);
            let (mut open, created) = open_or_insert(s, &conversation).await?;
            if !created
                && merge_context(
                    &mut open.context,
                    &conversation.context,
                    max_context_entries,
                )
            {
                s.set_context(open.id, &open.context).await?;
            }
            (open, created, Some(contact))
        }
        None => {
            s.insert_conversation(&conversation).await?;
            (conversation, true, None)
        }
    };
    session.conversation_id = conversation.id;
    insert_session(s, &session).await?;
    if created {
        outbox::conversation_created(s, &conversation, contact.as_ref(), now).await?;
    }
    Ok(SessionStarted {
        contact,
        conversation,
        created,
    })
}

/// [`DiagnosticsStore::record_verification_failure`].
pub(crate) async fn record_failure(
    s: &mut impl Steps,
    f: &VerificationFailure,
    keep: u32,
) -> StoreResult<()> {
    s.insert_failure(f).await?;
    s.count_failure(&f.reason).await?;
    s.trim_failures(keep).await
}
