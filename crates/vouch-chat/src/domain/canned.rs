//! Canned replies: shared ones (admins manage them) and each agent's own, listed own first, and
//! their placeholders rendered from a conversation ([`super::render`]).
//!
//! A shortcut is 1–32 of `a-z 0-9 _ -` (`422` field `shortcut`); a taken shortcut in the same
//! scope is `409 conflict` (the request was well formed; the state refused it). Each scope holds
//! at most [`MAX_PER_SCOPE`] replies.

use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::render::render;
use super::Chat;
use crate::error::ChatError;
use crate::storage::{now_millis, Agent, CannedReply, StoreError};

/// Longest shortcut.
pub const MAX_SHORTCUT: usize = 32;
/// Most replies in one scope (the shared ones, or one agent's own).
pub const MAX_PER_SCOPE: u32 = 200;

/// A canned reply as the API answers it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CannedReplyBody {
    pub id: Uuid,
    pub shortcut: String,
    pub text: String,
    /// `true`: shared by every agent (admins manage it); `false`: the agent's own.
    pub shared: bool,
}

impl From<CannedReply> for CannedReplyBody {
    fn from(r: CannedReply) -> Self {
        CannedReplyBody {
            id: r.id,
            shortcut: r.shortcut,
            text: r.text,
            shared: r.agent_id.is_none(),
        }
    }
}

/// Whether `s` is a valid shortcut: 1–32 of `a-z 0-9 _ -`.
pub fn valid_shortcut(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_SHORTCUT
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

fn string_field<'a>(body: &'a Map<String, Value>, field: &str) -> Result<&'a str, ChatError> {
    match body.get(field) {
        Some(Value::String(s)) => Ok(s),
        None | Some(Value::Null) => {
            Err(ChatError::validation(field, format!("{field} is required")))
        }
        Some(_) => Err(ChatError::validation(
            field,
            format!("{field} must be a string"),
        )),
    }
}

/// A storage refusal of a canned reply as the client sees it.
fn refused(e: StoreError) -> ChatError {
    match e {
        StoreError::Conflict(c) => ChatError::Conflict(c.to_string()),
        StoreError::NotFound => ChatError::NotFound("canned reply"),
        other => other.into(),
    }
}

impl Chat {
    /// `{shortcut, text}` checked in that order: the first invalid field is named.
    fn canned_fields(&self, body: &Map<String, Value>) -> Result<(String, String), ChatError> {
        let shortcut = string_field(body, "shortcut")?;
        if !valid_shortcut(shortcut) {
            return Err(ChatError::validation(
                "shortcut",
                format!("shortcut must be 1 to {MAX_SHORTCUT} of a-z 0-9 _ -"),
            ));
        }
        let text = string_field(body, "text")?;
        if text.trim().is_empty() {
            return Err(ChatError::validation("text", "text must not be empty"));
        }
        let max = self.limits.max_text_chars;
        if text.chars().count() > max {
            return Err(ChatError::validation(
                "text",
                format!("text may be at most {max} characters"),
            ));
        }
        Ok((shortcut.to_string(), text.to_string()))
    }

    /// A new reply in the scope `owner` (`None`: shared).
    pub async fn create_canned_reply_from(
        &self,
        owner: Option<Uuid>,
        body: &Map<String, Value>,
    ) -> Result<CannedReplyBody, ChatError> {
        let (shortcut, text) = self.canned_fields(body)?;
        let now = now_millis();
        let reply = CannedReply {
            id: Uuid::new_v4(),
            agent_id: owner,
            shortcut,
            text,
            created_at: now,
            updated_at: now,
        };
        self.store
            .insert_canned_reply(&reply, MAX_PER_SCOPE)
            .await
            .map_err(refused)?;
        Ok(reply.into())
    }

    /// Changes a reply of the scope `owner` (a reply of another scope is `NotFound`).
    pub async fn update_canned_reply_from(
        &self,
        id: Uuid,
        owner: Option<Uuid>,
        body: &Map<String, Value>,
    ) -> Result<CannedReplyBody, ChatError> {
        let (shortcut, text) = self.canned_fields(body)?;
        let reply = self
            .store
            .update_canned_reply(id, owner, &shortcut, &text, now_millis())
            .await
            .map_err(refused)?;
        Ok(reply.into())
    }

    /// Deletes a reply of the scope `owner` (a reply of another scope is `NotFound`).
    pub async fn delete_canned_reply(
        &self,
        id: Uuid,
        owner: Option<Uuid>,
    ) -> Result<(), ChatError> {
        self.store
            .delete_canned_reply(id, owner)
            .await
            .map_err(refused)
    }

    /// `Some(agent)`: the agent's own replies, then the shared ones; `None`: the shared ones.
    pub async fn canned_replies(
        &self,
        agent: Option<Uuid>,
    ) -> Result<Vec<CannedReplyBody>, ChatError> {
        Ok(self
            .store
            .canned_replies_for(agent, 2 * MAX_PER_SCOPE)
            .await?
            .into_iter()
            .map(CannedReplyBody::from)
            .collect())
    }

    /// `text` with its placeholders filled from the conversation, for `agent`:
    /// `{{contact.given_name}}`, `{{contact.family_name}}`, `{{contact.email}}`,
    /// `{{agent.name}}`, `{{context.NAME}}`; anything else (and a missing value) is empty.
    /// The text and the result are both held to the message limit (field `text`).
    pub async fn render_for(
        &self,
        agent: &Agent,
        conversation_id: Uuid,
        text: &str,
    ) -> Result<String, ChatError> {
        let max = self.limits.max_text_chars;
        if text.chars().count() > max {
            return Err(ChatError::validation(
                "text",
                format!("text may be at most {max} characters"),
            ));
        }
        let conv = self.conversation(conversation_id).await?;
        let contact = match conv.contact_id {
            Some(id) => self.store.get_contact(id).await?,
            None => None,
        };
        let rendered = render(text, |name| match name {
            "agent.name" => Some(agent.name.clone()),
            "contact.given_name" => contact.as_ref()?.given_name.clone(),
            "contact.family_name" => contact.as_ref()?.family_name.clone(),
            "contact.email" => contact.as_ref()?.email.clone(),
            _ => match conv.context.get(name.strip_prefix("context.")?)? {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                Value::Bool(b) => Some(b.to_string()),
                _ => None,
            },
        });
        if rendered.chars().count() > max {
            return Err(ChatError::validation(
                "text",
                format!("the rendered text would be longer than {max} characters"),
            ));
        }
        Ok(rendered)
    }
}

#[cfg(test)]
mod tests {
    use super::valid_shortcut;

    #[test]
    fn shortcuts() {
        for ok in [
            "a",
            "thanks",
            "refund_policy",
            "opening-hours",
            "a1",
            &"x".repeat(32),
        ] {
            assert!(valid_shortcut(ok), "{ok}");
        }
        for bad in [
            "",
            "Thanks",
            "two words",
            "/hi",
            "ü",
            "a.b",
            &"x".repeat(33),
        ] {
            assert!(!valid_shortcut(bad), "{bad}");
        }
    }
}
