//! Presence: the status an agent sets, `offline` at sign-in, and `offline` again after the
//! grace period once their last socket (on any node) closed.

use super::*;

/// An agent socket counted open; counted closed when dropped (then, after the grace period,
/// the agent is offline unless another socket opened meanwhile, on any node).
pub struct SocketPresence {
    chat: Arc<Chat>,
    agent: Uuid,
}

impl Drop for SocketPresence {
    fn drop(&mut self) {
        let (chat, agent) = (self.chat.clone(), self.agent);
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move { chat.agent_socket_closed(agent).await });
        }
    }
}

impl Chat {
    // --- presence ---

    /// `PUT /api/v1/agent/presence` and the socket's `presence` frame.
    pub async fn set_presence(&self, agent: &Agent, status: &str) -> Result<DeskAgent, ChatError> {
        let status = Presence::parse(status)
            .ok_or_else(|| invalid("status", "status must be available, busy, away or offline"))?;
        self.store.set_presence(agent.id, status).await?;
        self.hub.publish_agents(
            Audience::Agent(agent.id),
            Frame::from(serde_json::json!({"type": "presence", "status": status}).to_string()),
        );
        if status == Presence::Available {
            self.auto_assign().await;
        }
        self.desk_agent(agent.id).await
    }

    /// A new sign-in starts `offline`.
    pub(crate) async fn signed_in_offline(&self, agent: Uuid) -> Result<(), ChatError> {
        Ok(self.store.set_presence(agent, Presence::Offline).await?)
    }

    /// Counts an agent socket open until the returned guard drops.
    pub(crate) async fn agent_socket_opened(self: &Arc<Self>, agent: Uuid) -> SocketPresence {
        if let Err(e) = self.store.count_socket(agent, 1, now_millis()).await {
            tracing::warn!(error = %e, "counting an agent socket failed");
        }
        SocketPresence {
            chat: self.clone(),
            agent,
        }
    }

    async fn agent_socket_closed(&self, agent: Uuid) {
        let closed_at = now_millis();
        match self.store.count_socket(agent, -1, closed_at).await {
            Ok(0) => {}
            Ok(_) => return,
            Err(e) => {
                tracing::warn!(error = %e, "counting an agent socket failed");
                return;
            }
        }
        tokio::time::sleep(Duration::from_secs(self.limits.presence_grace_secs)).await;
        match self.store.offline_if_idle(agent, closed_at).await {
            Ok(true) => {
                tracing::info!(agent = %agent, "agent offline: no socket since the grace period");
                self.hub.publish_agents(
                    Audience::Agent(agent),
                    Frame::from(r#"{"type":"presence","status":"offline"}"#),
                );
            }
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "setting an agent offline failed"),
        }
    }
}
