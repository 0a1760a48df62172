//! Agents' search over contacts and conversations (`GET /api/v1/agent/search?q=`).
//!
//! The query is plain words: at most [`MAX_QUERY_CHARS`] characters, every word must match.
//! At most [`MAX_RESULTS`] contacts and [`MAX_RESULTS`] conversations, newest first.

use std::collections::HashMap;

use serde::Serialize;
use uuid::Uuid;

use super::Chat;
use crate::error::ChatError;
use crate::storage::{ser_rfc3339, Contact, ConversationState, Millis, SearchTerms};

/// Longest query, in characters.
pub const MAX_QUERY_CHARS: usize = 256;
/// Most contacts, and most conversations, one search answers.
pub const MAX_RESULTS: u32 = 50;
/// Longest snippet, in characters.
pub const SNIPPET_CHARS: usize = 200;

/// A conversation found by its messages.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ConversationResult {
    pub id: Uuid,
    pub state: ConversationState,
    pub verified: bool,
    #[schema(required = true)]
    pub contact: Option<Contact>,
    /// The newest matching message's text (at most 200 characters).
    pub snippet: String,
    #[serde(serialize_with = "ser_rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Millis,
}

/// `GET /api/v1/agent/search`
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SearchResults {
    pub contacts: Vec<Contact>,
    pub conversations: Vec<ConversationResult>,
}

fn snippet(text: &str) -> String {
    let mut s: String = text.chars().take(SNIPPET_CHARS).collect();
    if text.chars().count() > SNIPPET_CHARS {
        s.push('…');
    }
    s
}

impl Chat {
    /// Searches contacts and conversations for the words of `q` (`None`: no `q` given).
    pub async fn search(&self, q: Option<&str>) -> Result<SearchResults, ChatError> {
        let q = q.map(str::trim).unwrap_or_default();
        if q.is_empty() {
            return Err(ChatError::validation(
                "q",
                "q is required: the words to search for",
            ));
        }
        if q.chars().count() > MAX_QUERY_CHARS {
            return Err(ChatError::validation(
                "q",
                format!("q must be at most {MAX_QUERY_CHARS} characters"),
            ));
        }
        let terms = SearchTerms::of(q);
        let contacts = self.store.search_contacts(&terms, MAX_RESULTS).await?;
        let hits = self.store.search_conversations(&terms, MAX_RESULTS).await?;
        let mut known: HashMap<Uuid, Option<Contact>> =
            contacts.iter().map(|c| (c.id, Some(c.clone()))).collect();
        let mut conversations = Vec::with_capacity(hits.len());
        for h in hits {
            let c = h.conversation;
            let contact = match c.contact_id {
                None => None,
                Some(id) => match known.get(&id) {
                    Some(k) => k.clone(),
                    None => {
                        let k = self.store.get_contact(id).await?;
                        known.insert(id, k.clone());
                        k
                    }
                },
            };
            conversations.push(ConversationResult {
                id: c.id,
                state: c.state,
                verified: c.verified,
                contact,
                snippet: snippet(&h.text),
                created_at: c.created_at,
            });
        }
        Ok(SearchResults {
            contacts,
            conversations,
        })
    }
}
