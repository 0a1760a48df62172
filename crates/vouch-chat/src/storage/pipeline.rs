//! Pipelined appends: a socket queues a message's append and goes on reading and delivering
//! while the append waits for its commit (the socket's window of sends in flight is the
//! driver's, `crate::http::ws`).
//!
//! What must not change with pipelining is the order: appends one caller queues one after
//! another are applied in that order (so a sender's messages get their seqs in the order it sent
//! them) and their commits are answered in that order. SQLite gives that for free: its writer
//! takes writes from one FIFO queue and commits them in batches (group commit), so queuing is all
//! a caller waits for and the commit's answer comes later. PostgreSQL runs one transaction per
//! append, and two transactions of one socket in flight at once could take the conversation's
//! row lock in either order; so there [`AppendQueue::queue_append`] applies and commits the
//! append before it returns (the socket waits per append, as before) and its commit future is
//! ready at once.

use std::future::Future;
use std::pin::Pin;

use async_trait::async_trait;

use super::{Appended, NewMessage, StoreResult};

/// The answer of a queued write: resolves after the commit that covers it (or its refusal).
pub type Commit<T> = Pin<Box<dyn Future<Output = StoreResult<T>> + Send>>;

/// A back-end that can queue appends ahead of their commits.
#[async_trait]
pub trait AppendQueue: Send + Sync + 'static {
    /// Queues the append of `m` ([`super::ConversationStore::append_message`]'s rules: resends,
    /// ended conversations, gapless seqs) and returns once it is queued; the returned future
    /// resolves after its commit. Appends queued one after another are applied and answered in
    /// that order. `Err` when it could not be queued at all (the store is closed).
    async fn queue_append(&self, m: NewMessage) -> StoreResult<Commit<Appended>>;

    /// Transactions the back-end's group commit has committed so far; `None` for a back-end
    /// that does not group writes.
    fn group_commits(&self) -> Option<u64>;
}
