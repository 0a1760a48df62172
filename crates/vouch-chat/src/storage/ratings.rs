//! Ratings: the capability trait ([`RatingStore`]) and its record, one per conversation.

use async_trait::async_trait;
use serde::Serialize;
use uuid::Uuid;

use super::rows::{Columns, FromColumns};
use super::{Millis, StoreResult};

/// A customer's rating of an ended conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Rating {
    /// 1 to 5.
    pub score: i64,
    #[schema(required = true)]
    pub comment: Option<String>,
    #[serde(skip)]
    pub conversation_id: Uuid,
    #[serde(skip)]
    pub created_at: Millis,
}

/// `conversation_id, score, comment, created_at`.
pub(crate) const RATING_COLS: &str = "conversation_id, score, comment, created_at";

impl FromColumns for Rating {
    fn from_columns(r: &impl Columns) -> StoreResult<Self> {
        Ok(Rating {
            conversation_id: r.uuid(0)?,
            score: r.int(1)?,
            comment: r.opt_text(2)?,
            created_at: r.int(3)?,
        })
    }
}

/// Ratings: one per conversation.
#[async_trait]
pub trait RatingStore: Send + Sync + 'static {
    /// `Conflict(AlreadyRated)` when the conversation has one.
    async fn insert_rating(&self, r: &Rating) -> StoreResult<()>;
    async fn get_rating(&self, conversation_id: Uuid) -> StoreResult<Option<Rating>>;
}

/// A rating as the agent API and the `rating.created` event show it: `{"score", "comment"}`.
pub(crate) fn rating_json(r: &Rating) -> serde_json::Value {
    serde_json::json!({ "score": r.score, "comment": r.comment })
}
