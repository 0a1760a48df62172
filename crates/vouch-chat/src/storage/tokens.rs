//! Scoped API tokens (only their SHA-256 is stored) and the reads an integration syncs with:
//! contacts by the website's id, conversations changed since a time.

use async_trait::async_trait;
use uuid::Uuid;

use super::rows::{Columns, FromColumns};
use super::*;

/// An API token as stored (never the token itself).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiToken {
    pub id: Uuid,
    pub name: String,
    pub scopes: Vec<String>,
    pub created_at: Millis,
}

/// The column list of [`ApiToken`] (followed by `token_hash` where the hash is read too).
pub(crate) const API_TOKEN_COLS: &str = "id, name, scopes, created_at";

impl FromColumns for ApiToken {
    fn from_columns(r: &impl Columns) -> StoreResult<Self> {
        Ok(ApiToken {
            id: r.uuid(0)?,
            name: r.text(1)?,
            scopes: r.json(2)?,
            created_at: r.int(3)?,
        })
    }
}

impl FromColumns for (ApiToken, Vec<u8>) {
    fn from_columns(r: &impl Columns) -> StoreResult<Self> {
        Ok((ApiToken::from_columns(r)?, r.bytes(4)?))
    }
}

/// API tokens, and the sync reads they are for.
#[async_trait]
pub trait ApiTokenStore: Send + Sync + 'static {
    async fn insert_api_token(&self, t: &ApiToken, token_hash: &[u8]) -> StoreResult<()>;
    /// The token whose hash is `token_hash`, with the stored hash (for a constant-time check).
    async fn find_api_token(&self, token_hash: &[u8]) -> StoreResult<Option<(ApiToken, Vec<u8>)>>;
    async fn list_api_tokens(&self) -> StoreResult<Vec<ApiToken>>;
    /// `NotFound` when there is none.
    async fn delete_api_token(&self, id: Uuid) -> StoreResult<()>;
    /// The contacts whose external id (the token's `sub`) is `external_id` (one per auth setting).
    async fn contacts_by_external_id(&self, external_id: &str) -> StoreResult<Vec<Contact>>;
    /// Conversations changed at or after `since` (after `(since, after_id)` when `after_id` is
    /// given), oldest change first, at most `limit`.
    async fn conversations_updated_since(
        &self,
        since: Millis,
        after_id: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<Conversation>>;
}
