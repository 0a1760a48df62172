//! Conversations: sending (validated, rate-limited, acknowledged only after commit), history,
//! accept (exactly one agent wins), end (transcript activity on the contact) — and the live frames
//! each change publishes through the hub.

use serde_json::{json, Value};
use uuid::Uuid;

use super::Chat;
use crate::error::ChatError;
use crate::live::frames::{self, valid_client_msg_id, FrameError};
use crate::live::hub::Audience;
use crate::storage::{
    now_millis, rfc3339, Agent, Appended, Conversation, ConversationState, Ended, Message,
    NewMessage, Sender, StoreError,
};

/// Most conversations one list answers.
pub const LIST_LIMIT: u32 = 500;
/// Messages read per page when replaying history.
pub const HISTORY_PAGE: u32 = 500;
/// Most messages one conversation detail answers.
pub const DETAIL_MESSAGES: u32 = 10_000;

impl Chat {
    /// The summary agents see: `id`, `state`, `verified`, `contact`, `agent_id`, `created_at`.
    pub async fn conversation_summary(&self, c: &Conversation) -> Result<Value, ChatError> {
        let contact = match c.contact_id {
            Some(id) => self.store.get_contact(id).await?,
            None => None,
        };
        Ok(json!({
            "id": c.id,
            "state": c.state,
            "verified": c.verified,
            "contact": contact,
            "agent_id": c.agent_id,
            "created_at": rfc3339(c.created_at),
            "updated_at": rfc3339(c.updated_at),
        }))
    }

    /// Conversations, newest first, optionally of one state.
    pub async fn list_conversations(
        &self,
        state: Option<ConversationState>,
    ) -> Result<Vec<Value>, ChatError> {
        let list = self.store.list_conversations(state, LIST_LIMIT).await?;
        let mut out = Vec::with_capacity(list.len());
        for c in &list {
            out.push(self.conversation_summary(c).await?);
        }
        Ok(out)
    }

    /// One conversation with its context variables and messages.
    pub async fn conversation_detail(&self, id: Uuid) -> Result<Value, ChatError> {
        let c = self
            .store
            .get_conversation(id)
            .await?
            .ok_or(ChatError::NotFound("conversation"))?;
        let mut v = self.conversation_summary(&c).await?;
        let messages = self.store.messages_after(id, 0, DETAIL_MESSAGES).await?;
        if let Some(obj) = v.as_object_mut() {
            obj.insert("context".into(), Value::Object(c.context.clone()));
            obj.insert(
                "messages".into(),
                Value::Array(
                    messages
                        .iter()
                        .map(|m| {
                            json!({
                                "seq": m.seq,
                                "sender": m.sender,
                                "text": m.text,
                                "sent_at": rfc3339(m.sent_at),
                                "client_msg_id": m.client_msg_id,
                            })
                        })
                        .collect(),
                ),
            );
        }
        Ok(v)
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

    /// Validates, rate-limits and stores a message, then fans it out. The caller sends the `ack`
    /// (after this returns, i.e. after the commit). A resend returns the stored message with
    /// `duplicate = true` and is not fanned out again.
    pub async fn send_message(
        &self,
        conversation_id: Uuid,
        sender: Sender,
        agent_id: Option<Uuid>,
        client_msg_id: &str,
        text: &str,
    ) -> Result<Appended, FrameError> {
        if !valid_client_msg_id(client_msg_id) {
            return Err(FrameError::new(
                "bad_client_msg_id",
                "client_msg_id must be 1 to 64 characters of A-Z a-z 0-9 _ -",
            ));
        }
        if text.trim().is_empty() {
            return Err(FrameError::new("empty_text", "the message is empty"));
        }
        if text.chars().count() > self.limits.max_text_chars {
            return Err(FrameError::new(
                "text_too_long",
                format!(
                    "messages may be at most {} characters",
                    self.limits.max_text_chars
                ),
            ));
        }
        if !self.msg_limiter.check(&(conversation_id, sender)) {
            return Err(FrameError::new(
                "rate_limited",
                "too many messages: wait a moment and send again",
            ));
        }
        let appended = self
            .store
            .append_message(&NewMessage {
                conversation_id,
                sender,
                agent_id,
                text: text.to_string(),
                client_msg_id: Some(client_msg_id.to_string()),
                sent_at: now_millis(),
            })
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => {
                    FrameError::new("conversation_ended", "the conversation has ended")
                }
                StoreError::NotFound => FrameError::new("not_found", "no such conversation"),
                e @ StoreError::Unavailable(_) => {
                    tracing::error!(error = %e, conversation = %conversation_id, "storing a message failed");
                    FrameError::new(
                        "storage_unavailable",
                        "the message could not be stored (the server's storage is failing), so it was not delivered: send it again",
                    )
                }
                other => {
                    tracing::error!(error = %other, conversation = %conversation_id, "storing a message failed");
                    FrameError::new("internal", "the message could not be stored; send it again")
                }
            })?;
        if !appended.duplicate {
            self.metrics.message_stored(sender);
            self.publish_message(&appended.message, appended.agent_id);
        }
        Ok(appended)
    }

    /// An agent's message: only the assigned agent may send.
    pub async fn agent_send(
        &self,
        agent: &Agent,
        conversation_id: Uuid,
        client_msg_id: &str,
        text: &str,
    ) -> Result<Appended, FrameError> {
        let conv = match self.store.get_conversation(conversation_id).await {
            Ok(Some(c)) => c,
            Ok(None) => return Err(FrameError::new("not_found", "no such conversation")),
            Err(e) => {
                tracing::error!(error = %e, "reading a conversation failed");
                return Err(FrameError::new("internal", "try again"));
            }
        };
        if conv.state == ConversationState::Ended {
            return Err(FrameError::new(
                "conversation_ended",
                "the conversation has ended",
            ));
        }
        if conv.agent_id != Some(agent.id) {
            return Err(FrameError::new(
                "forbidden",
                "only the agent who accepted this conversation may write to it",
            ));
        }
        self.send_message(
            conversation_id,
            Sender::Agent,
            Some(agent.id),
            client_msg_id,
            text,
        )
        .await
    }

    fn publish_message(&self, m: &Message, assigned: Option<Uuid>) {
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
            .ok_or(ChatError::NotFound("conversation"))?;
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
    pub async fn accept(&self, agent: &Agent, id: Uuid) -> Result<Value, ChatError> {
        let joined = format!("{} joined the conversation", agent.name);
        let (conv, message) = self
            .store
            .accept_conversation(id, agent.id, &joined, now_millis())
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => ChatError::Conflict(
                    "another agent has already accepted this conversation, or it has ended".into(),
                ),
                StoreError::NotFound => ChatError::NotFound("conversation"),
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
        Ok(summary)
    }

    /// Ends a conversation; only its assigned agent may.
    pub async fn end_by_agent(&self, agent: &Agent, id: Uuid) -> Result<Value, ChatError> {
        let conv = self
            .store
            .get_conversation(id)
            .await?
            .ok_or(ChatError::NotFound("conversation"))?;
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
                StoreError::NotFound => ChatError::NotFound("conversation"),
                other => other.into(),
            })?;
        self.metrics.message_stored(Sender::System);
        self.metrics
            .conversation_transition(Some(ended.before.state), ConversationState::Ended);
        self.publish_message(&ended.message, ended.before.agent_id);
        self.hub
            .publish_conversation(id, frames::conversation_state(id, ConversationState::Ended));
        let audience = match (ended.before.state, ended.before.agent_id) {
            (ConversationState::Waiting, _) | (_, None) => Audience::All,
            (_, Some(a)) => Audience::Agent(a),
        };
        let summary = self.conversation_summary(&ended.conversation).await?;
        self.hub
            .publish_agents(audience, frames::conversation_for_agents(&summary));
        Ok(ended)
    }

    /// A contact and its activities (one per ended conversation, with the transcript).
    pub async fn contact_with_activities(&self, id: Uuid) -> Result<Value, ChatError> {
        let contact = self
            .store
            .get_contact(id)
            .await?
            .ok_or(ChatError::NotFound("contact"))?;
        let activities = self.store.activities_for_contact(id).await?;
        Ok(json!({"contact": contact, "activities": activities}))
    }
}
