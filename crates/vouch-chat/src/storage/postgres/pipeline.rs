//! [`AppendQueue`] on PostgreSQL: one transaction per append, committed before
//! `queue_append` returns (see [`crate::storage::pipeline`] for why it does not pipeline).

use async_trait::async_trait;

use super::super::pipeline::{AppendQueue, Commit};
use super::super::{Appended, ConversationStore, NewMessage, StoreResult};
use super::PgStore;

#[async_trait]
impl AppendQueue for PgStore {
    async fn queue_append(&self, m: NewMessage) -> StoreResult<Commit<Appended>> {
        let outcome = self.append_message(&m).await;
        Ok(Box::pin(std::future::ready(outcome)))
    }

    fn group_commits(&self) -> Option<u64> {
        None
    }
}
