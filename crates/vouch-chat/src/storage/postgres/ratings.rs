//! PostgreSQL's ratings.

use async_trait::async_trait;
use uuid::Uuid;

use super::super::ratings::{rating_json, Rating, RatingStore, RATING_COLS};
use super::super::webhooks::outbox;
use super::super::{Conflict, StoreError, StoreResult};
use super::steps::one;
use super::PgStore;

#[async_trait]
impl RatingStore for PgStore {
    async fn insert_rating(&self, r: &Rating) -> StoreResult<()> {
        // The rating and its `rating.created` webhook event commit together (the outbox).
        let mut tx = self.begin().await?;
        let sql = format!("INSERT INTO ratings ({RATING_COLS}) VALUES ($1, $2, $3, $4)");
        let res = sqlx::query(&sql)
            .bind(r.conversation_id)
            .bind(r.score as i32)
            .bind(&r.comment)
            .bind(r.created_at)
            .execute(&mut *tx.0)
            .await;
        match res {
            Ok(_) => {}
            Err(e) if vouch_db::is_unique_violation(&e) => {
                return Err(StoreError::Conflict(Conflict::AlreadyRated))
            }
            Err(e) => return Err(e.into()),
        }
        outbox::rating_created(&mut tx, r.conversation_id, rating_json(r), r.created_at).await?;
        tx.commit().await
    }

    async fn get_rating(&self, conversation_id: Uuid) -> StoreResult<Option<Rating>> {
        // `score` is an INTEGER: read as the BIGINT every other integer column is.
        let sql = format!(
            "SELECT {} FROM ratings WHERE conversation_id = $1",
            RATING_COLS.replace("score", "score::BIGINT")
        );
        one(sqlx::query(&sql)
            .bind(conversation_id)
            .fetch_optional(&self.pool)
            .await?)
    }
}
