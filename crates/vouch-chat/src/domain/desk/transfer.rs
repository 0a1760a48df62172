//! Transfer of a conversation to an agent or a queue, by its agent or an admin; the note goes
//! with it as an internal note.

use super::*;

impl Chat {
    // --- transfer ---

    /// `POST …/conversations/{id}/transfer {"to_agent_id"? | "to_queue_id"?, "note"?}` by the
    /// assigned agent or an admin.
    pub async fn transfer_from(
        &self,
        by: &Agent,
        id: Uuid,
        body: &Map<String, Value>,
    ) -> Result<crate::domain::conversations::ConversationSummary, ChatError> {
        let to_agent = opt_string(body, "to_agent_id")?
            .map(|s| parse_id(s, "to_agent_id", "an agent"))
            .transpose()?;
        let to_queue = opt_string(body, "to_queue_id")?
            .map(|s| parse_id(s, "to_queue_id", "a queue"))
            .transpose()?;
        let note = match opt_string(body, "note")? {
            None => None,
            Some(n) if n.trim().is_empty() || n.chars().count() > MAX_NOTE_CHARS => {
                return Err(invalid(
                    "note",
                    format!("note must be 1 to {MAX_NOTE_CHARS} characters"),
                ))
            }
            Some(n) => Some(n.to_string()),
        };
        let target = match (to_agent, to_queue) {
            (Some(a), None) => TransferTarget::Agent(a),
            (None, Some(q)) => TransferTarget::Queue(q),
            (None, None) => return Err(invalid("to_agent_id", "give to_agent_id or to_queue_id")),
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "to_queue_id",
                    "give to_agent_id or to_queue_id, not both",
                ))
            }
        };
        let conv = self.conversation(id).await?;
        if conv.agent_id != Some(by.id) && by.role != Role::Admin {
            return Err(ChatError::Forbidden(
                "only the assigned agent or an admin may transfer this conversation".into(),
            ));
        }
        let done = self
            .store
            .transfer(&TransferRequest {
                conversation_id: id,
                target,
                by: by.id,
                note,
                now: now_millis(),
            })
            .await
            .map_err(|e| match e {
                StoreError::NotFound => ChatError::no_such_conversation(),
                e => e.into(),
            })?
            .map_err(|r| match r {
                TransferRefusal::UnknownAgent => invalid("to_agent_id", r.to_string()),
                TransferRefusal::SameAgent => invalid("to_agent_id", r.to_string()),
                TransferRefusal::UnknownQueue => invalid("to_queue_id", r.to_string()),
                TransferRefusal::Ended => ChatError::ConversationEnded,
            })?;
        tracing::info!(conversation = %id, by = %by.id, "conversation transferred");
        self.metrics.message_stored(Sender::System);
        if let Some(note) = &done.note {
            self.publish_note(note);
        }
        let new_agent = done.conversation.agent_id;
        self.publish_message(&done.message, new_agent);
        if let Some(old) = done.before.agent_id.filter(|a| Some(*a) != new_agent) {
            // The agent it left sees the system message too (its transcript ends there).
            self.hub.publish_agents_message(
                Audience::Agent(old),
                id,
                done.message.seq,
                frames::message(&done.message),
            );
        }
        if done.before.state != done.conversation.state {
            self.hub
                .publish_conversation(id, frames::conversation_state(id, done.conversation.state));
        }
        let summary = self.conversation_summary(&done.conversation).await?;
        self.hub
            .publish_agents(Audience::All, frames::conversation_for_agents(&summary));
        if done.before.state == ConversationState::Waiting {
            self.queue_changed(done.before.queue_id);
        }
        if done.conversation.state == ConversationState::Waiting {
            self.queue_changed(done.conversation.queue_id);
        }
        self.auto_assign().await;
        Ok(summary)
    }
}
