//! Conversations: sending (validated, rate-limited, acknowledged only after commit), history,
//! accept (exactly one agent wins), end (transcript activity on the contact) — and the live frames
//! each change publishes through the hub.

use serde::Serialize;
use uuid::Uuid;

use super::sending::Queued;
use super::Chat;
use crate::error::ChatError;
use crate::live::frames::{self, valid_client_msg_id};
use crate::live::hub::Audience;
use crate::storage::{
    now_millis, ser_rfc3339, Agent, Contact, Conversation, ConversationState, Ended, Message,
    Millis, NewMessage, Sender, StoreError,
};

/// Most conversations one list answers.
pub const LIST_LIMIT: u32 = 500;
/// Messages read per page when replaying history.
pub const HISTORY_PAGE: u32 = 500;
/// Most messages one conversation detail answers.
pub const DETAIL_MESSAGES: u32 = 10_000;

/// A conversation as agents see it in lists, `conversation` frames and the answers of accept and end.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ConversationSummary {
    pub id: Uuid,
    pub state: ConversationState,
    pub verified: bool,
    /// The verified customer; null when Not verified.
    #[schema(required = true)]
    pub contact: Option<Contact>,
    #[schema(required = true)]
    pub agent_id: Option<Uuid>,
    /// The queue it waits (or waited) in.
    pub queue_id: Uuid,
    #[serde(serialize_with = "ser_rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Millis,
    #[serde(serialize_with = "ser_rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Millis,
}

/// One conversation with its context variables and messages (`GET …/conversations/{id}`).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ConversationDetail {
    #[serde(flatten)]
    pub summary: ConversationSummary,
    /// Context variables (the token's `lwicontexts` and the widget's context).
    #[schema(value_type = Object)]
    pub context: serde_json::Map<String, serde_json::Value>,
    pub messages: Vec<MessageItem>,
    /// Internal notes, oldest first (agents only: never in anything a customer reads).
    pub notes: Vec<crate::storage::Note>,
    /// The customer's rating, once the conversation ended and they gave one.
    #[schema(required = true)]
    pub rating: Option<crate::storage::Rating>,
}

/// A message in a conversation's detail.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MessageItem {
    pub seq: i64,
    pub sender: Sender,
    pub text: String,
    #[serde(serialize_with = "ser_rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub sent_at: Millis,
    /// As its sender chose it; null for `system` messages.
    #[schema(required = true)]
    pub client_msg_id: Option<String>,
    /// The files it carries (absent when none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<crate::storage::AttachmentMeta>,
}

impl From<Message> for MessageItem {
    fn from(m: Message) -> Self {
        MessageItem {
            seq: m.seq,
            sender: m.sender,
            text: m.text,
            sent_at: m.sent_at,
            client_msg_id: m.client_msg_id,
            attachments: m.attachments,
        }
    }
}

/// A contact and its activities (`GET /api/v1/contacts/{id}`).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ContactWithActivities {
    pub contact: Contact,
    pub activities: Vec<crate::storage::Activity>,
}

impl Chat {
    /// The summary agents see of a conversation (its contact read).
    pub async fn conversation_summary(
        &self,
        c: &Conversation,
    ) -> Result<ConversationSummary, ChatError> {
        let contact = match c.contact_id {
            Some(id) => self.store.get_contact(id).await?,
            None => None,
        };
        Ok(ConversationSummary {
            id: c.id,
            state: c.state,
            verified: c.verified,
            contact,
            agent_id: c.agent_id,
            queue_id: c.queue_id,
            created_at: c.created_at,
            updated_at: c.updated_at,
        })
    }

    /// Conversations, newest first, optionally of one state.
    pub async fn list_conversations(
        &self,
        state: Option<ConversationState>,
    ) -> Result<Vec<ConversationSummary>, ChatError> {
        let list = self.store.list_conversations(state, LIST_LIMIT).await?;
        let mut out = Vec::with_capacity(list.len());
        for c in &list {
            out.push(self.conversation_summary(c).await?);
        }
        Ok(out)
    }

    /// A conversation as stored; `NotFound` when there is none.
    pub async fn conversation(&self, id: Uuid) -> Result<Conversation, ChatError> {
        self.store
            .get_conversation(id)
            .await?
            .ok_or_else(ChatError::no_such_conversation)
    }

    /// The conversations assigned to `agent` that are not ended, newest first (at most
    /// [`LIST_LIMIT`]): the ones whose messages reach that agent's sockets.
    pub async fn assigned_conversations(
        &self,
        agent: Uuid,
    ) -> Result<Vec<Conversation>, ChatError> {
        Ok(self
            .store
            .conversations_assigned_to(agent, LIST_LIMIT)
            .await?)
    }

    /// One conversation with its context variables and messages.
    pub async fn conversation_detail(&self, id: Uuid) -> Result<ConversationDetail, ChatError> {
        let c = self.conversation(id).await?;
        let summary = self.conversation_summary(&c).await?;
        let messages = self.store.messages_after(id, 0, DETAIL_MESSAGES).await?;
        let notes = self
            .store
            .notes_for(id, crate::storage::notes::MAX_NOTES)
            .await?;
        let rating = self.rating_of(id).await?;
        Ok(ConversationDetail {
            summary,
            context: c.context,
            messages: messages.into_iter().map(MessageItem::from).collect(),
            notes,
            rating,
        })
    }

    /// Messages after `after_seq`, in order, one page.
    pub async fn history_page(
        &self,
        conversation_id: Uuid,
        after_seq: i64,
    ) -> Result<Vec<Message>, ChatError> {
        Ok(self
            .store
            .messages_after(conversation_id, after_seq, HISTORY_PAGE)
            .await?)
    }

    /// A message from a socket: checked (rules, rate) and queued for storage; the socket waits
    /// only for the queueing. The [`Queued`] message resolves after its commit, then [`Chat::stored`]
    /// publishes it: see
    /// [`super::sending`].
    pub async fn send_message(
        &self,
        conversation_id: Uuid,
        sender: Sender,
        agent_id: Option<Uuid>,
        client_msg_id: &str,
        text: &str,
        attachments: &[Uuid],
    ) -> Result<Queued, ChatError> {
        if !valid_client_msg_id(client_msg_id) {
            return Err(ChatError::BadClientMsgId);
        }
        // A message may be only its attachments.
        if text.trim().is_empty() && attachments.is_empty() {
            return Err(ChatError::EmptyText);
        }
        if attachments.len() > super::attachments::MAX_PER_MESSAGE {
            return Err(ChatError::BadAttachment);
        }
        if text.chars().count() > self.limits.max_text_chars {
            return Err(ChatError::TextTooLong {
                max: self.limits.max_text_chars,
            });
        }
        if !self.msg_limiter.check(&(conversation_id, sender)) {
            return Err(ChatError::TooManyMessages);
        }
        let commit = self
            .store
            .queue_append(NewMessage {
                conversation_id,
                sender,
                agent_id,
                text: text.to_string(),
                client_msg_id: Some(client_msg_id.to_string()),
                sent_at: now_millis(),
                attachments: attachments.to_vec(),
            })
            .await
            .map_err(|e| super::sending::not_stored(e, conversation_id))?;
        Ok(Queued {
            conversation_id,
            sender,
            commit,
        })
    }

    /// An agent's message: only the assigned agent may send.
    pub async fn agent_send(
        &self,
        agent: &Agent,
        conversation_id: Uuid,
        client_msg_id: &str,
        text: &str,
        attachments: &[Uuid],
    ) -> Result<Queued, ChatError> {
        let conv = match self.conversation(conversation_id).await {
            Ok(c) => c,
            Err(e @ ChatError::NotFound(_)) => return Err(e),
            Err(e) => {
                tracing::error!(error = %e, "reading a conversation failed");
                return Err(ChatError::Internal(e.to_string()));
            }
        };
        if conv.state == ConversationState::Ended {
            return Err(ChatError::ConversationEnded);
        }
        if conv.agent_id != Some(agent.id) {
            return Err(ChatError::Forbidden(
                "only the agent who accepted this conversation may write to it".into(),
            ));
        }
        self.send_message(
            conversation_id,
            Sender::Agent,
            Some(agent.id),
            client_msg_id,
            text,
            attachments,
        )
        .await
    }

    /// Whether a customer socket may take one more `auth` frame now (they share the
    /// conversation's message rate); `TooManyFrames` when not.
    pub fn check_auth_frame_rate(&self, conversation_id: Uuid) -> Result<(), ChatError> {
        if self.msg_limiter.check(&(conversation_id, Sender::Customer)) {
            Ok(())
        } else {
            Err(ChatError::TooManyFrames)
        }
    }

    pub(crate) fn publish_message(&self, m: &Message, assigned: Option<Uuid>) {
        let frame = frames::message(m);
        self.hub
            .publish_conversation_message(m.conversation_id, m.seq, frame.clone());
        if let Some(agent) = assigned {
            self.hub.publish_agents_message(
                Audience::Agent(agent),
                m.conversation_id,
                m.seq,
                frame,
            );
        }
    }

    /// A typing notice: customers' go to the assigned agent, agents' to the customer's sockets.
    pub async fn typing(
        &self,
        conversation_id: Uuid,
        sender: Sender,
        agent: Option<&Agent>,
    ) -> Result<(), ChatError> {
        if !self.typing_limiter.check(&(conversation_id, sender)) {
            return Ok(());
        }
        let conv = self
            .store
            .get_conversation(conversation_id)
            .await?
            .ok_or_else(ChatError::no_such_conversation)?;
        let frame = frames::typing(conversation_id, sender);
        match (sender, agent) {
            (Sender::Agent, Some(a)) if conv.agent_id == Some(a.id) => {
                self.hub.publish_conversation(conversation_id, frame)
            }
            (Sender::Agent, _) => return Err(ChatError::Forbidden("not your conversation".into())),
            (_, _) => {
                if let Some(a) = conv.agent_id {
                    self.hub.publish_agents(Audience::Agent(a), frame)
                }
            }
        }
        Ok(())
    }

    /// Accepts a waiting conversation. Exactly one of concurrent callers wins; the rest get `Conflict`.
    pub async fn accept(&self, agent: &Agent, id: Uuid) -> Result<ConversationSummary, ChatError> {
        let joined = format!("{} joined the conversation", agent.name);
        let (conv, message) = self
            .store
            .accept_conversation(id, agent.id, &joined, now_millis())
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => ChatError::Conflict(
                    "another agent has already accepted this conversation, or it has ended".into(),
                ),
                StoreError::NotFound => ChatError::no_such_conversation(),
                other => other.into(),
            })?;
        tracing::info!(conversation = %id, agent = %agent.id, "conversation accepted");
        self.metrics.message_stored(Sender::System);
        self.metrics
            .conversation_transition(Some(ConversationState::Waiting), conv.state);
        self.publish_message(&message, Some(agent.id));
        self.hub
            .publish_conversation(id, frames::conversation_state(id, conv.state));
        let summary = self.conversation_summary(&conv).await?;
        self.hub
            .publish_agents(Audience::All, frames::conversation_for_agents(&summary));
        self.queue_changed(conv.queue_id);
        Ok(summary)
    }

    /// Ends a conversation; only its assigned agent may.
    pub async fn end_by_agent(
        &self,
        agent: &Agent,
        id: Uuid,
    ) -> Result<ConversationSummary, ChatError> {
        let conv = self.conversation(id).await?;
        if conv.agent_id != Some(agent.id) {
            return Err(ChatError::Forbidden(
                "only the agent who accepted this conversation may end it".into(),
            ));
        }
        let ended = self.end(id).await?;
        tracing::info!(conversation = %id, agent = %agent.id, "conversation ended by agent");
        self.conversation_summary(&ended.conversation).await
    }

    /// Ends a conversation without an agent (the customer's identity changed).
    pub(crate) async fn end_conversation_by_system(&self, id: Uuid) -> Result<(), ChatError> {
        self.end(id).await.map(|_| ())
    }

    async fn end(&self, id: Uuid) -> Result<Ended, ChatError> {
        let ended = self
            .store
            .end_conversation(id, "The conversation has ended.", now_millis())
            .await
            .map_err(|e| match e {
                StoreError::Conflict(m) => ChatError::Conflict(m.to_string()),
                StoreError::NotFound => ChatError::no_such_conversation(),
                other => other.into(),
            })?;
        self.metrics.message_stored(Sender::System);
        self.metrics
            .conversation_transition(Some(ended.before.state), ConversationState::Ended);
        self.publish_message(&ended.message, ended.before.agent_id);
        self.hub
            .publish_conversation(id, frames::conversation_state(id, ConversationState::Ended));
        // The customer is asked to rate the conversation (the widget shows the stars).
        self.hub.publish_conversation(id, frames::survey(id));
        let audience = match (ended.before.state, ended.before.agent_id) {
            (ConversationState::Waiting, _) | (_, None) => Audience::All,
            (_, Some(a)) => Audience::Agent(a),
        };
        let summary = self.conversation_summary(&ended.conversation).await?;
        self.hub
            .publish_agents(audience, frames::conversation_for_agents(&summary));
        if ended.before.state == ConversationState::Waiting {
            self.queue_changed(ended.before.queue_id);
        } else if ended.before.agent_id.is_some() {
            // The agent has room for one more.
            self.auto_assign().await;
        }
        Ok(ended)
    }

    /// A contact and its activities (one per ended conversation, with the transcript).
    pub async fn contact_with_activities(
        &self,
        id: Uuid,
    ) -> Result<ContactWithActivities, ChatError> {
        let contact = self
            .store
            .get_contact(id)
            .await?
            .ok_or(ChatError::NotFound("contact"))?;
        let mut activities = self.store.activities_for_contact(id).await?;
        for a in &mut activities {
            a.rating = self.rating_of(a.conversation_id).await?;
        }
        Ok(ContactWithActivities {
            contact,
            activities,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A summary is written as the `json!` map it replaced was: same fields, sorted keys, a
    /// null contact and agent when there are none.
    #[test]
    fn summary_json_is_the_map_it_replaced() {
        let contact = Contact {
            id: Uuid::from_u128(1),
            external_id: "c-1".into(),
            given_name: Some("Alex".into()),
            family_name: None,
            email: Some("a@example.com".into()),
            phone: None,
            preferred_username: None,
            auth_settings_id: Uuid::from_u128(2),
            created_at: 1_700_000_000_000,
            updated_at: 1_700_000_000_500,
        };
        let s = ConversationSummary {
            id: Uuid::from_u128(3),
            state: ConversationState::Waiting,
            verified: true,
            contact: Some(contact.clone()),
            agent_id: None,
            queue_id: Uuid::from_u128(4),
            created_at: 1_700_000_001_000,
            updated_at: 1_700_000_002_000,
        };
        let before = json!({
            "id": s.id,
            "state": s.state,
            "verified": s.verified,
            "contact": contact,
            "agent_id": s.agent_id,
            "queue_id": s.queue_id,
            "created_at": crate::storage::rfc3339(s.created_at),
            "updated_at": crate::storage::rfc3339(s.updated_at),
        });
        let after = serde_json::to_value(&s).expect("summary");
        assert_eq!(after.to_string(), before.to_string());
        let detail = ConversationDetail {
            summary: s,
            context: serde_json::Map::new(),
            messages: vec![MessageItem {
                seq: 1,
                sender: Sender::System,
                text: "hi".into(),
                sent_at: 1_700_000_003_000,
                client_msg_id: None,
                attachments: Vec::new(),
            }],
            notes: vec![],
            rating: None,
        };
        let v = serde_json::to_value(&detail).expect("detail");
        assert_eq!(v["messages"][0]["client_msg_id"], serde_json::Value::Null);
        assert_eq!(v["id"], json!(Uuid::from_u128(3)));
    }
}
