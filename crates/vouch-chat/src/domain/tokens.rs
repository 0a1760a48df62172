//! Scoped API tokens (`vch_…`) for integrations: created by an admin (shown once, stored as a
//! SHA-256), checked against the database on every request (so a deletion holds at once on
//! every node), and the reads an integration syncs with.

use serde::Serialize;
use serde_json::{Map, Value};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use super::conversations::ConversationDetail;
use super::webhooks::not_found_as;
use super::{new_secret, secret_hash, Chat};
use crate::error::ChatError;
use crate::storage::{now_millis, ser_rfc3339, ApiToken, Contact, Millis};

/// What an API token starts with.
pub const TOKEN_PREFIX: &str = "vch_";
/// Read contacts (`GET /api/v1/contacts…`).
pub const CONTACTS_READ: &str = "contacts:read";
/// Read conversations (`GET /api/v1/conversations`, the agent conversation reads).
pub const CONVERSATIONS_READ: &str = "conversations:read";
/// Change conversations (the agent conversation writes).
pub const CONVERSATIONS_WRITE: &str = "conversations:write";
/// Every scope.
pub const SCOPES: [&str; 3] = [CONTACTS_READ, CONVERSATIONS_READ, CONVERSATIONS_WRITE];
/// Most API tokens a service keeps.
pub const MAX_TOKENS: usize = 100;
/// Most conversations one sync page answers (and the default).
pub const MAX_SYNC_PAGE: u32 = 100;

/// An API token as listed (never the token).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ApiTokenView {
    pub id: Uuid,
    pub name: String,
    pub scopes: Vec<String>,
    #[serde(serialize_with = "ser_rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Millis,
}

impl From<ApiToken> for ApiTokenView {
    fn from(t: ApiToken) -> Self {
        ApiTokenView {
            id: t.id,
            name: t.name,
            scopes: t.scopes,
            created_at: t.created_at,
        }
    }
}

/// A token just created: with the token itself, shown this once.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CreatedApiToken {
    #[serde(flatten)]
    pub api_token: ApiTokenView,
    /// `vch_…`: use as `Authorization: Bearer`; never answered again.
    pub token: String,
}

/// A signed-in integration: the token's id, name and scopes.
#[derive(Debug, Clone)]
pub struct ApiCaller {
    pub token: ApiToken,
}

impl ApiCaller {
    pub fn has(&self, scope: &str) -> bool {
        self.token.scopes.iter().any(|s| s == scope)
    }
}

impl Chat {
    /// `POST /api/v1/admin/api-tokens {name, scopes}`.
    pub async fn create_api_token_from(
        &self,
        body: &Map<String, Value>,
    ) -> Result<CreatedApiToken, ChatError> {
        let name = match body.get("name") {
            Some(Value::String(n)) if !n.trim().is_empty() && n.trim().chars().count() <= 100 => {
                n.trim().to_string()
            }
            _ => {
                return Err(ChatError::validation(
                    "name",
                    "give a name of 1 to 100 characters",
                ))
            }
        };
        let bad = |m: String| ChatError::validation("scopes", m);
        let Some(Value::Array(items)) = body.get("scopes") else {
            return Err(bad(format!(
                "give an array of scopes: {}",
                SCOPES.join(", ")
            )));
        };
        if items.is_empty() {
            return Err(bad("give at least one scope".into()));
        }
        let mut scopes: Vec<String> = Vec::new();
        for item in items {
            match item.as_str().filter(|s| SCOPES.contains(s)) {
                Some(s) if !scopes.iter().any(|x| x == s) => scopes.push(s.to_string()),
                Some(_) => {}
                None => {
                    return Err(bad(format!(
                        "unknown scope {item}; known: {}",
                        SCOPES.join(", ")
                    )))
                }
            }
        }
        if self.store.list_api_tokens().await?.len() >= MAX_TOKENS {
            return Err(ChatError::Conflict(format!(
                "at most {MAX_TOKENS} API tokens: delete one first"
            )));
        }
        let token = new_secret(TOKEN_PREFIX);
        let t = ApiToken {
            id: Uuid::new_v4(),
            name,
            scopes,
            created_at: now_millis(),
        };
        self.store
            .insert_api_token(&t, &secret_hash(&token))
            .await?;
        tracing::info!(api_token_id = %t.id, "API token created");
        Ok(CreatedApiToken {
            api_token: t.into(),
            token,
        })
    }

    pub async fn list_api_tokens(&self) -> Result<Vec<ApiTokenView>, ChatError> {
        Ok(self
            .store
            .list_api_tokens()
            .await?
            .into_iter()
            .map(ApiTokenView::from)
            .collect())
    }

    /// Deletes a token: the next request bearing it, on any node, gets `401`.
    pub async fn delete_api_token(&self, id: Uuid) -> Result<(), ChatError> {
        self.store
            .delete_api_token(id)
            .await
            .map_err(|e| not_found_as(e, "API token"))
    }

    /// The integration a `vch_…` bearer token belongs to (`None`: unknown or deleted). Looked
    /// up by its SHA-256 in the database on every call; the stored hash is compared again in
    /// constant time, so no timing tells how much of a guess matched.
    pub async fn api_caller(&self, token: &str) -> Result<Option<ApiCaller>, ChatError> {
        if !token.starts_with(TOKEN_PREFIX) || token.len() > 128 {
            return Ok(None);
        }
        let hash = secret_hash(token);
        Ok(match self.store.find_api_token(&hash).await? {
            Some((t, stored)) if bool::from(stored.ct_eq(&hash)) => Some(ApiCaller { token: t }),
            _ => None,
        })
    }

    /// Ends a conversation for an integration (`conversations:write`): as the system does,
    /// whoever it is assigned to.
    pub async fn end_by_integration(
        &self,
        caller: &ApiCaller,
        id: Uuid,
    ) -> Result<crate::domain::conversations::ConversationSummary, ChatError> {
        self.end_conversation_by_system(id).await?;
        tracing::info!(conversation = %id, api_token = %caller.token.id, "conversation ended by an integration");
        let c = self.conversation(id).await?;
        self.conversation_summary(&c).await
    }

    /// The contacts whose external id (the website's contact id) is `external_id`.
    pub async fn contacts_by_external_id(
        &self,
        external_id: &str,
    ) -> Result<Vec<Contact>, ChatError> {
        if external_id.is_empty() || external_id.len() > 512 {
            return Err(ChatError::validation(
                "external_id",
                "give the website's contact id (1 to 512 bytes)",
            ));
        }
        Ok(self.store.contacts_by_external_id(external_id).await?)
    }

    /// Conversations changed at or after `since` (after `(since, after_id)`), oldest change
    /// first, each with its messages; at most `limit`.
    pub async fn conversations_since(
        &self,
        since: Millis,
        after_id: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<ConversationDetail>, ChatError> {
        let list = self
            .store
            .conversations_updated_since(since, after_id, limit.clamp(1, MAX_SYNC_PAGE))
            .await?;
        let mut out = Vec::with_capacity(list.len());
        for c in list {
            // The agent API's detail, whatever it grows to hold (read once more by id).
            out.push(self.conversation_detail(c.id).await?);
        }
        Ok(out)
    }
}
