//! A message's two halves on a socket: [`Chat::send_message`] checks it and queues its append
//! (the socket waits only for that, in the order of its sends); the [`Queued`] message resolves
//! after its commit, and [`Chat::stored`] then counts and publishes it. Between the two the
//! socket goes on reading frames and delivering live ones, with several sends in flight (its
//! window: `crate::http::ws`).
//!
//! Order holds because appends queued one after another are applied and committed in that
//! order ([`crate::storage::pipeline`]) and a socket awaits its sends' commits in the order it
//! queued them, so its acks and its messages' publications follow its sends. The rules do not
//! change: the `ack` still comes after the commit that stored the message, a resend is still
//! answered with the stored message (and published again: sockets drop seqs they hold).

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use uuid::Uuid;

use super::Chat;
use crate::error::ChatError;
use crate::storage::pipeline::Commit;
use crate::storage::{Appended, Sender, StoreError, StoreResult};

/// A message checked and queued for storage, not yet known to be committed: resolves to its
/// [`Committed`] outcome when the commit that covers it is done.
pub struct Queued {
    pub(super) conversation_id: Uuid,
    pub(super) sender: Sender,
    pub(super) commit: Commit<Appended>,
}

impl Future for Queued {
    type Output = Committed;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Committed> {
        let outcome = ready!(self.commit.as_mut().poll(cx));
        Poll::Ready(Committed {
            conversation_id: self.conversation_id,
            sender: self.sender,
            outcome,
        })
    }
}

/// The storage's answer for a [`Queued`] message: give it to [`Chat::stored`].
pub struct Committed {
    conversation_id: Uuid,
    sender: Sender,
    outcome: StoreResult<Appended>,
}

impl Chat {
    /// A queued message's outcome: the stored message (then counted, unless it was a resend,
    /// and fanned out) or why it was not stored. The caller sends the `ack` after.
    pub fn stored(&self, c: Committed) -> Result<Appended, ChatError> {
        let appended = c.outcome.map_err(|e| not_stored(e, c.conversation_id))?;
        if !appended.duplicate {
            self.metrics.message_stored(c.sender);
        }
        // A resend is published again too: every socket drops a seq it already holds, and one
        // that missed the message (its node died between the commit and the publish, and the
        // sender resends to another node) gets it now instead of never.
        self.publish_message(&appended.message, appended.agent_id);
        Ok(appended)
    }
}

/// What a client is told when its message was not stored.
pub(super) fn not_stored(e: StoreError, conversation_id: Uuid) -> ChatError {
    match e {
        StoreError::Conflict(crate::storage::Conflict::BadAttachment) => ChatError::BadAttachment,
        StoreError::Conflict(_) => ChatError::ConversationEnded,
        StoreError::NotFound => ChatError::no_such_conversation(),
        e => {
            tracing::error!(error = %e, conversation = %conversation_id, "storing a message failed");
            ChatError::MessageNotStored(e)
        }
    }
}
