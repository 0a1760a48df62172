//! In-process fan-out of server frames to every socket of a conversation and to agent sockets.
//!
//! Buffers are bounded: a socket that falls behind by more than the buffer is told so (its receiver
//! reports `Lagged`) and is closed, so one slow consumer never holds memory or the server hostage;
//! the client reconnects and `resume`s. Frames are serialized once per event and shared.
//! A NATS-backed fan-out can replace this struct later without changing its callers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;
use uuid::Uuid;

/// A serialized JSON text frame, shared by every socket that gets it.
pub type Frame = Arc<str>;

/// Which agent sockets get an agent frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Every agent (waiting conversations and their state changes).
    All,
    /// Every socket of one agent (its assigned conversations).
    Agent(Uuid),
}

/// A frame for agent sockets with the audience that gets it.
#[derive(Debug, Clone)]
pub struct AgentFrame {
    pub audience: Audience,
    pub frame: Frame,
}

impl AgentFrame {
    /// Whether the socket of `agent_id` should get this frame.
    pub fn is_for(&self, agent_id: Uuid) -> bool {
        match self.audience {
            Audience::All => true,
            Audience::Agent(a) => a == agent_id,
        }
    }
}

/// Fan-out of frames. Cheap to clone (shared state).
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

struct Inner {
    conversations: Mutex<HashMap<Uuid, broadcast::Sender<Frame>>>,
    agents: broadcast::Sender<AgentFrame>,
    conversation_capacity: usize,
}

impl Hub {
    /// `conversation_capacity` frames may queue per customer socket, `agent_capacity` per agent socket.
    pub fn new(conversation_capacity: usize, agent_capacity: usize) -> Self {
        let (agents, _) = broadcast::channel(agent_capacity.max(1));
        Hub {
            inner: Arc::new(Inner {
                conversations: Mutex::new(HashMap::new()),
                agents,
                conversation_capacity: conversation_capacity.max(1),
            }),
        }
    }

    fn conversations(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, broadcast::Sender<Frame>>> {
        // A panic while holding this lock cannot leave the map inconsistent: recover it.
        self.inner
            .conversations
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Live frames of one conversation (for a customer socket).
    pub fn subscribe_conversation(&self, id: Uuid) -> broadcast::Receiver<Frame> {
        let mut map = self.conversations();
        if map.len() > 1024 {
            map.retain(|_, tx| tx.receiver_count() > 0);
        }
        map.entry(id)
            .or_insert_with(|| broadcast::channel(self.inner.conversation_capacity).0)
            .subscribe()
    }

    /// Sends a frame to every customer socket of the conversation.
    pub fn publish_conversation(&self, id: Uuid, frame: Frame) {
        let mut map = self.conversations();
        if let Some(tx) = map.get(&id) {
            if tx.send(frame).is_err() {
                // Nobody listens any more.
                map.remove(&id);
            }
        }
    }

    /// Live frames for agents; each socket keeps those [`AgentFrame::is_for`] it.
    pub fn subscribe_agents(&self) -> broadcast::Receiver<AgentFrame> {
        self.inner.agents.subscribe()
    }

    /// Sends a frame to the agent sockets of `audience`.
    pub fn publish_agents(&self, audience: Audience, frame: Frame) {
        // No agent socket open is fine: they read the queue over HTTP when they connect.
        let _ = self.inner.agents.send(AgentFrame { audience, frame });
    }

    /// Conversations with at least one customer socket listening (for tests and metrics).
    pub fn live_conversations(&self) -> usize {
        self.conversations()
            .values()
            .filter(|tx| tx.receiver_count() > 0)
            .count()
    }
}
