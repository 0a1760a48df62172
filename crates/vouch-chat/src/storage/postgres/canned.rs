//! PostgreSQL's SQL for canned replies ([`CannedReplyStore`]).

use async_trait::async_trait;
use uuid::Uuid;

use super::super::canned::{canned_cols, CannedReply, CannedReplyStore};
use super::super::{Conflict, Millis, StoreError, StoreResult};
use super::steps::{all, one};
use super::PgStore;

/// A unique violation is the shortcut taken in its scope (the id is a fresh UUID).
fn shortcut_taken(e: sqlx::Error, shortcut: &str) -> StoreError {
    if vouch_db::is_unique_violation(&e) {
        StoreError::Conflict(Conflict::ShortcutTaken(shortcut.to_string()))
    } else {
        e.into()
    }
}

/// The advisory lock key of a scope: a fixed tag in the high half (so it meets no other lock of
/// this database's users by chance), the scope in the low half (shared: 0; an agent: 32 bits of
/// its id — two agents sharing them only wait for each other, which is harmless).
fn scope_lock(owner: Option<Uuid>) -> i64 {
    const TAG: i64 = 0x766f_7563 << 32; // "vouc"
    let low = owner.map_or(0, |id| {
        let b = id.as_bytes();
        u32::from_be_bytes([b[12], b[13], b[14], b[15]])
    });
    TAG | i64::from(low)
}

#[async_trait]
impl CannedReplyStore for PgStore {
    async fn insert_canned_reply(&self, r: &CannedReply, max_in_scope: u32) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        // Inserts into one scope queue on a transaction-scoped advisory lock of that scope, so
        // the count below sees every insert committed before (on any node).
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(scope_lock(r.agent_id))
            .execute(&mut *tx)
            .await?;
        let in_scope: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM canned_replies WHERE agent_id IS NOT DISTINCT FROM $1",
        )
        .bind(r.agent_id)
        .fetch_one(&mut *tx)
        .await?;
        if in_scope >= i64::from(max_in_scope) {
            return Err(StoreError::Conflict(Conflict::TooManyCannedReplies(
                max_in_scope,
            )));
        }
        sqlx::query(concat!(
            "INSERT INTO canned_replies (",
            canned_cols!(),
            ") VALUES ($1, $2, $3, $4, $5, $6)"
        ))
        .bind(r.id)
        .bind(r.agent_id)
        .bind(&r.shortcut)
        .bind(&r.text)
        .bind(r.created_at)
        .bind(r.updated_at)
        .execute(&mut *tx)
        .await
        .map_err(|e| shortcut_taken(e, &r.shortcut))?;
        tx.commit().await?;
        Ok(())
    }

    async fn update_canned_reply(
        &self,
        id: Uuid,
        owner: Option<Uuid>,
        shortcut: &str,
        text: &str,
        now: Millis,
    ) -> StoreResult<CannedReply> {
        let row = sqlx::query(concat!(
            "UPDATE canned_replies SET shortcut = $1, text = $2, updated_at = $3",
            " WHERE id = $4 AND agent_id IS NOT DISTINCT FROM $5 RETURNING ",
            canned_cols!()
        ))
        .bind(shortcut)
        .bind(text)
        .bind(now)
        .bind(id)
        .bind(owner)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| shortcut_taken(e, shortcut))?;
        one(row)?.ok_or(StoreError::NotFound)
    }

    async fn delete_canned_reply(&self, id: Uuid, owner: Option<Uuid>) -> StoreResult<()> {
        let done = sqlx::query(
            "DELETE FROM canned_replies WHERE id = $1 AND agent_id IS NOT DISTINCT FROM $2",
        )
        .bind(id)
        .bind(owner)
        .execute(&self.pool)
        .await?;
        super::super::updated(done.rows_affected())
    }

    async fn canned_replies_for(
        &self,
        agent: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<CannedReply>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            canned_cols!(),
            " FROM canned_replies WHERE agent_id IS NULL OR agent_id = $1",
            " ORDER BY agent_id IS NULL, shortcut, id LIMIT $2"
        ))
        .bind(agent)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        all(rows)
    }
}
