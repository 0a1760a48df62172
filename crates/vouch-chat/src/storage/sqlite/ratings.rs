//! SQLite's ratings.

use async_trait::async_trait;
use rusqlite::params;
use uuid::Uuid;

use super::super::flows::ready;
use super::super::ratings::{rating_json, Rating, RatingStore, RATING_COLS};
use super::super::webhooks::outbox;
use super::super::{Conflict, StoreError, StoreResult};
use super::steps::{query_one, Id, SqliteSteps};
use super::writer::is_unique_violation;
use super::SqliteStore;

#[async_trait]
impl RatingStore for SqliteStore {
    async fn insert_rating(&self, r: &Rating) -> StoreResult<()> {
        let r = r.clone();
        self.write(move |c| {
            let res = c
                .prepare_cached(&format!(
                    "INSERT INTO ratings ({RATING_COLS}) VALUES (?, ?, ?, ?)"
                ))?
                .execute(params![
                    Id::of(r.conversation_id),
                    r.score,
                    r.comment,
                    r.created_at
                ]);
            match res {
                Ok(_) => {}
                Err(e) if is_unique_violation(&e) => {
                    return Err(StoreError::Conflict(Conflict::AlreadyRated))
                }
                Err(e) => return Err(e.into()),
            }
            // The rating and its `rating.created` webhook event commit together (the outbox).
            ready(outbox::rating_created(
                &mut SqliteSteps(c),
                r.conversation_id,
                rating_json(&r),
                r.created_at,
            ))
        })
        .await
    }

    async fn get_rating(&self, conversation_id: Uuid) -> StoreResult<Option<Rating>> {
        self.lookup(|c| {
            query_one(
                c,
                &format!("SELECT {RATING_COLS} FROM ratings WHERE conversation_id = ?"),
                [Id::of(conversation_id)],
            )
        })
    }
}
