//! SQLite's SQL for canned replies ([`CannedReplyStore`]).

use async_trait::async_trait;
use rusqlite::params;
use uuid::Uuid;

use super::super::canned::{canned_cols, CannedReply, CannedReplyStore};
use super::super::{updated, Conflict, Millis, StoreError, StoreResult};
use super::steps::{query_all, query_one, Id};
use super::writer::is_unique_violation;
use super::SqliteStore;

/// A unique violation is the shortcut taken in its scope (the id is a fresh UUID).
fn shortcut_taken(e: rusqlite::Error, shortcut: &str) -> StoreError {
    if is_unique_violation(&e) {
        StoreError::Conflict(Conflict::ShortcutTaken(shortcut.to_string()))
    } else {
        e.into()
    }
}

#[async_trait]
impl CannedReplyStore for SqliteStore {
    async fn insert_canned_reply(&self, r: &CannedReply, max_in_scope: u32) -> StoreResult<()> {
        let r = r.clone();
        // Counted in the write itself: the one writer runs one write at a time.
        self.write(move |c| {
            let in_scope: i64 = c
                .prepare_cached("SELECT COUNT(*) FROM canned_replies WHERE agent_id IS ?")?
                .query_row([Id::opt(r.agent_id)], |row| row.get(0))?;
            if in_scope >= i64::from(max_in_scope) {
                return Err(StoreError::Conflict(Conflict::TooManyCannedReplies(
                    max_in_scope,
                )));
            }
            c.prepare_cached(concat!(
                "INSERT INTO canned_replies (",
                canned_cols!(),
                ") VALUES (?, ?, ?, ?, ?, ?)"
            ))?
            .execute(params![
                Id::of(r.id),
                Id::opt(r.agent_id),
                r.shortcut,
                r.text,
                r.created_at,
                r.updated_at
            ])
            .map_err(|e| shortcut_taken(e, &r.shortcut))?;
            Ok(())
        })
        .await
    }

    async fn update_canned_reply(
        &self,
        id: Uuid,
        owner: Option<Uuid>,
        shortcut: &str,
        text: &str,
        now: Millis,
    ) -> StoreResult<CannedReply> {
        let (shortcut, text) = (shortcut.to_string(), text.to_string());
        self.write(move |c| {
            let changed = c
                .prepare_cached(
                    "UPDATE canned_replies SET shortcut = ?, text = ?, updated_at = ? WHERE id = ? AND agent_id IS ?",
                )?
                .execute(params![shortcut, text, now, Id::of(id), Id::opt(owner)])
                .map_err(|e| shortcut_taken(e, &shortcut))?;
            updated(changed as u64)?;
            query_one(
                c,
                concat!(
                    "SELECT ",
                    canned_cols!(),
                    " FROM canned_replies WHERE id = ?"
                ),
                [Id::of(id)],
            )?
            .ok_or(StoreError::NotFound)
        })
        .await
    }

    async fn delete_canned_reply(&self, id: Uuid, owner: Option<Uuid>) -> StoreResult<()> {
        self.write(move |c| {
            let changed = c
                .prepare_cached("DELETE FROM canned_replies WHERE id = ? AND agent_id IS ?")?
                .execute(params![Id::of(id), Id::opt(owner)])?;
            updated(changed as u64)
        })
        .await
    }

    async fn canned_replies_for(
        &self,
        agent: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<CannedReply>> {
        self.read(move |c| {
            query_all(
                c,
                concat!(
                    "SELECT ",
                    canned_cols!(),
                    " FROM canned_replies WHERE agent_id IS NULL OR agent_id = ?",
                    " ORDER BY agent_id IS NULL, shortcut, id LIMIT ?"
                ),
                params![Id::opt(agent), limit as i64],
            )
        })
        .await
    }
}
