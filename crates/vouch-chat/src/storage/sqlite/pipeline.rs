//! [`AppendQueue`] on SQLite: the append joins the writer's FIFO queue (group commit); its
//! commit is awaited later, by whoever holds the answer.

use async_trait::async_trait;

use super::super::flows::{self, ready};
use super::super::pipeline::{AppendQueue, Commit};
use super::super::{Appended, NewMessage, StoreResult};
use super::steps::SqliteSteps;
use super::SqliteStore;

#[async_trait]
impl AppendQueue for SqliteStore {
    async fn queue_append(&self, m: NewMessage) -> StoreResult<Commit<Appended>> {
        let answer = self
            .writer
            .queue(move |c| ready(flows::append(&mut SqliteSteps(c), &m)))
            .await?;
        Ok(Box::pin(answer))
    }

    fn group_commits(&self) -> Option<u64> {
        Some(self.writer.commits())
    }
}
