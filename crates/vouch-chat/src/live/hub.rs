//! Fan-out of server frames to every socket of a conversation and to agent sockets.
//!
//! Buffers are bounded: a socket that falls behind by more than the buffer is told so (its receiver
//! reports `Lagged`) and is closed, so one slow consumer never holds memory or the server hostage;
//! the client reconnects and `resume`s. Frames are serialized once per event and shared.
//!
//! With several nodes ([`crate::live::nats`]) every publish is delivered to this node's sockets at
//! once and handed to the bus, which carries it to the other nodes; frames arriving from the bus
//! are delivered here with [`Hub::deliver_conversation`] / [`Hub::deliver_agents`]. Message frames
//! carry their `seq`, so a socket can drop one it already sent and fill a gap from the database
//! ([`SeqTracker`]); [`Hub::subscribe_resync`] tells sockets to catch up from the database after
//! the bus lost frames (a NATS reconnect).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use tokio::sync::{broadcast, mpsc, watch};
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

/// A frame for the customer sockets of a conversation; `seq` for `message` frames.
#[derive(Debug, Clone)]
pub struct ConversationFrame {
    pub seq: Option<i64>,
    pub frame: Frame,
}

/// A frame for agent sockets with the audience that gets it; for `message` frames, the
/// conversation and seq.
#[derive(Debug, Clone)]
pub struct AgentFrame {
    pub audience: Audience,
    pub frame: Frame,
    pub message: Option<(Uuid, i64)>,
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

/// What the hub hands to the bus for the other nodes.
#[derive(Debug, Clone)]
pub enum Outbound {
    Conversation(Uuid, ConversationFrame),
    Agents(AgentFrame),
}

/// Fan-out of frames. Cheap to clone (shared state).
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

struct Inner {
    conversations: Mutex<HashMap<Uuid, broadcast::Sender<ConversationFrame>>>,
    /// One channel per agent with a socket open here: a message to one agent wakes only that
    /// agent's sockets, never every agent socket (why: docs/benchmarks.md). A frame for all
    /// agents is sent to each channel, so every socket still sees its frames in publish order.
    agents: Mutex<HashMap<Uuid, broadcast::Sender<AgentFrame>>>,
    conversation_capacity: usize,
    agent_capacity: usize,
    /// To the other nodes, when there are some.
    bus: OnceLock<mpsc::Sender<Outbound>>,
    /// Bumped when sockets must catch up from the database.
    resync: watch::Sender<u64>,
}

impl Hub {
    /// `conversation_capacity` frames may queue per customer socket, `agent_capacity` per agent socket.
    pub fn new(conversation_capacity: usize, agent_capacity: usize) -> Self {
        Hub {
            inner: Arc::new(Inner {
                conversations: Mutex::new(HashMap::new()),
                agents: Mutex::new(HashMap::new()),
                conversation_capacity: conversation_capacity.max(1),
                agent_capacity: agent_capacity.max(1),
                bus: OnceLock::new(),
                resync: watch::channel(0).0,
            }),
        }
    }

    /// Hands every later publish to `bus` too (once; later calls are ignored).
    pub fn attach_bus(&self, bus: mpsc::Sender<Outbound>) {
        let _ = self.inner.bus.set(bus);
    }

    fn to_bus(&self, out: Outbound) {
        if let Some(bus) = self.inner.bus.get() {
            if bus.try_send(out).is_err() {
                // The bus is down or slow: the other nodes catch up from the database when it
                // is back (resync), or fill the gap at the next message of the conversation.
                tracing::warn!("live bus queue full: a frame for other nodes was dropped");
            }
        }
    }

    fn conversations(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<Uuid, broadcast::Sender<ConversationFrame>>> {
        // A panic while holding this lock cannot leave the map inconsistent: recover it.
        self.inner
            .conversations
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Live frames of one conversation (for a customer socket).
    pub fn subscribe_conversation(&self, id: Uuid) -> broadcast::Receiver<ConversationFrame> {
        let mut map = self.conversations();
        if map.len() > 1024 {
            map.retain(|_, tx| tx.receiver_count() > 0);
        }
        map.entry(id)
            .or_insert_with(|| broadcast::channel(self.inner.conversation_capacity).0)
            .subscribe()
    }

    /// Sends a frame to every customer socket of the conversation, on every node.
    pub fn publish_conversation(&self, id: Uuid, frame: Frame) {
        self.publish_conversation_frame(id, ConversationFrame { seq: None, frame })
    }

    /// Sends the `message` frame of `seq` to every customer socket of the conversation.
    pub fn publish_conversation_message(&self, id: Uuid, seq: i64, frame: Frame) {
        self.publish_conversation_frame(
            id,
            ConversationFrame {
                seq: Some(seq),
                frame,
            },
        )
    }

    fn publish_conversation_frame(&self, id: Uuid, f: ConversationFrame) {
        self.deliver_conversation(id, f.clone());
        self.to_bus(Outbound::Conversation(id, f));
    }

    /// Delivers a frame to this node's customer sockets of the conversation only.
    pub fn deliver_conversation(&self, id: Uuid, f: ConversationFrame) {
        let mut map = self.conversations();
        if let Some(tx) = map.get(&id) {
            if tx.send(f).is_err() {
                // Nobody listens any more.
                map.remove(&id);
            }
        }
    }

    fn agents(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, broadcast::Sender<AgentFrame>>> {
        // As for `conversations`: nothing a panic interrupts leaves the map inconsistent.
        self.inner
            .agents
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Live frames for the sockets of one agent: those for all agents and those for it.
    pub fn subscribe_agents(&self, agent_id: Uuid) -> broadcast::Receiver<AgentFrame> {
        let mut map = self.agents();
        map.retain(|_, tx| tx.receiver_count() > 0);
        map.entry(agent_id)
            .or_insert_with(|| broadcast::channel(self.inner.agent_capacity).0)
            .subscribe()
    }

    /// Sends a frame to the agent sockets of `audience`, on every node.
    pub fn publish_agents(&self, audience: Audience, frame: Frame) {
        self.publish_agent_frame(AgentFrame {
            audience,
            frame,
            message: None,
        })
    }

    /// Sends the `message` frame of (`conversation`, `seq`) to the agent sockets of `audience`.
    pub fn publish_agents_message(
        &self,
        audience: Audience,
        conversation: Uuid,
        seq: i64,
        frame: Frame,
    ) {
        self.publish_agent_frame(AgentFrame {
            audience,
            frame,
            message: Some((conversation, seq)),
        })
    }

    fn publish_agent_frame(&self, f: AgentFrame) {
        self.deliver_agents(f.clone());
        self.to_bus(Outbound::Agents(f));
    }

    /// Delivers a frame to this node's agent sockets only.
    pub fn deliver_agents(&self, f: AgentFrame) {
        // No agent socket open is fine: they read the queue over HTTP when they connect.
        let mut map = self.agents();
        match f.audience {
            Audience::All => map.retain(|_, tx| tx.send(f.clone()).is_ok()),
            Audience::Agent(id) => {
                if map.get(&id).is_some_and(|tx| tx.send(f).is_err()) {
                    map.remove(&id);
                }
            }
        }
    }

    /// Changes whenever this node's sockets must catch up from the database.
    pub fn subscribe_resync(&self) -> watch::Receiver<u64> {
        self.inner.resync.subscribe()
    }

    /// Tells every socket of this node to catch up from the database.
    pub fn resync(&self) {
        self.inner.resync.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Conversations with at least one customer socket listening (for tests and metrics).
    pub fn live_conversations(&self) -> usize {
        self.conversations()
            .values()
            .filter(|tx| tx.receiver_count() > 0)
            .count()
    }
}

/// The highest message seq a socket has sent for one conversation, to send each message once
/// and in order although frames from several nodes may arrive out of order or twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeqTracker {
    upto: i64,
}

/// What a socket does with a live `message` frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeqStep {
    /// The next one: send it.
    Deliver,
    /// Already sent (or history the client asks for by `resume`): drop it.
    Drop,
    /// Messages between are missing: send those after `after` from the database first.
    Fill { after: i64 },
}

impl SeqTracker {
    /// Everything up to `upto` counts as sent.
    pub fn new(upto: i64) -> Self {
        SeqTracker { upto }
    }

    pub fn upto(&self) -> i64 {
        self.upto
    }

    /// Judges a live message of `seq`; `Deliver` records it as sent.
    pub fn on_live(&mut self, seq: i64) -> SeqStep {
        if seq <= self.upto {
            SeqStep::Drop
        } else if seq == self.upto + 1 {
            self.upto = seq;
            SeqStep::Deliver
        } else {
            SeqStep::Fill { after: self.upto }
        }
    }

    /// Records that the message `seq` was sent (by a fill or a resume).
    pub fn sent(&mut self, seq: i64) {
        self.upto = self.upto.max(seq);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracker_sends_each_seq_once_in_order() {
        let mut t = SeqTracker::new(3);
        assert_eq!(t.on_live(2), SeqStep::Drop);
        assert_eq!(t.on_live(4), SeqStep::Deliver);
        assert_eq!(t.on_live(4), SeqStep::Drop);
        assert_eq!(t.on_live(7), SeqStep::Fill { after: 4 });
        t.sent(5);
        t.sent(6);
        t.sent(7);
        assert_eq!(t.upto(), 7);
        assert_eq!(t.on_live(6), SeqStep::Drop);
        assert_eq!(t.on_live(8), SeqStep::Deliver);
    }

    #[tokio::test]
    async fn agent_frames_reach_their_agent_only_and_in_order() {
        let hub = Hub::new(8, 8);
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let (mut a1, mut a2, mut b1) = (
            hub.subscribe_agents(a),
            hub.subscribe_agents(a),
            hub.subscribe_agents(b),
        );
        hub.publish_agents(Audience::All, Frame::from("queue"));
        hub.publish_agents(Audience::Agent(a), Frame::from("for a"));
        hub.publish_agents(Audience::All, Frame::from("state"));
        for rx in [&mut a1, &mut a2] {
            for want in ["queue", "for a", "state"] {
                assert_eq!(&*rx.recv().await.expect("frame").frame, want);
            }
        }
        for want in ["queue", "state"] {
            assert_eq!(&*b1.recv().await.expect("frame").frame, want);
        }
        assert!(b1.try_recv().is_err(), "b got a frame meant for a");
        // A closed agent's channel goes away.
        drop(b1);
        hub.publish_agents(Audience::Agent(b), Frame::from("nobody"));
        assert!(!hub.agents().contains_key(&b));
    }

    #[tokio::test]
    async fn publishes_locally_and_to_the_bus() {
        let hub = Hub::new(8, 8);
        let (tx, mut bus) = mpsc::channel(8);
        hub.attach_bus(tx);
        let id = Uuid::new_v4();
        let mut rx = hub.subscribe_conversation(id);
        hub.publish_conversation_message(id, 1, Frame::from("m1"));
        let got = rx.recv().await.expect("local frame");
        assert_eq!((got.seq, &*got.frame), (Some(1), "m1"));
        match bus.recv().await {
            Some(Outbound::Conversation(c, f)) => assert_eq!((c, f.seq), (id, Some(1))),
            other => panic!("bus got {other:?}"),
        }
        // Frames from the bus reach local sockets but are not sent back to the bus.
        hub.deliver_conversation(
            id,
            ConversationFrame {
                seq: Some(2),
                frame: Frame::from("m2"),
            },
        );
        assert_eq!(rx.recv().await.expect("remote frame").seq, Some(2));
        assert!(bus.try_recv().is_err());
    }
}
