//! Ratings: once per conversation, after it ended, a score of 1 to 5 and an optional comment.

use uuid::Uuid;

use super::Chat;
use crate::error::ChatError;
use crate::storage::{now_millis, Conflict, ConversationState, Rating, StoreError};

/// Longest rating comment, in characters.
pub const MAX_COMMENT_CHARS: usize = 2000;

/// A score and comment as a client sent them (checked by [`Chat::rate`]).
#[derive(Debug, Clone, PartialEq)]
pub struct RatingInput {
    /// `None`: missing or not a whole number.
    pub score: Option<i64>,
    pub comment: Option<String>,
}

impl Chat {
    /// Rates an ended conversation: `422` for a score outside 1..=5 or a long comment, `409`
    /// before the end and for a second rating.
    pub async fn rate(
        &self,
        conversation_id: Uuid,
        input: RatingInput,
    ) -> Result<Rating, ChatError> {
        let score = match input.score {
            Some(s @ 1..=5) => s,
            _ => {
                return Err(ChatError::validation(
                    "score",
                    "score must be a whole number from 1 to 5",
                ))
            }
        };
        let comment = input
            .comment
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty());
        if comment
            .as_ref()
            .is_some_and(|c| c.chars().count() > MAX_COMMENT_CHARS)
        {
            return Err(ChatError::validation(
                "comment",
                format!("comment may be at most {MAX_COMMENT_CHARS} characters"),
            ));
        }
        let conv = self.conversation(conversation_id).await?;
        if conv.state != ConversationState::Ended {
            return Err(ChatError::Conflict(
                "a conversation can be rated once it has ended".into(),
            ));
        }
        let rating = Rating {
            conversation_id,
            score,
            comment,
            created_at: now_millis(),
        };
        self.store
            .insert_rating(&rating)
            .await
            .map_err(|e| match e {
                StoreError::Conflict(Conflict::AlreadyRated) => {
                    ChatError::Conflict("this conversation has already been rated".into())
                }
                e => e.into(),
            })?;
        tracing::info!(conversation = %conversation_id, score, "conversation rated");
        Ok(rating)
    }

    /// The conversation's rating, if it has one.
    pub async fn rating_of(&self, conversation_id: Uuid) -> Result<Option<Rating>, ChatError> {
        Ok(self.store.get_rating(conversation_id).await?)
    }
}
