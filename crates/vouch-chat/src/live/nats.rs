//! Fan-out between chat nodes over NATS (core publish/subscribe; the database is the record).
//!
//! Every node publishes what its [`Hub`] publishes to `PREFIX.conv.<conversation>` or
//! `PREFIX.agents`, and subscribes to `PREFIX.>`: frames from other nodes are delivered to its
//! own sockets; its own come back and are skipped (they were delivered locally at once). So each
//! node delivers each frame once, and each socket exists on one node.
//!
//! Core NATS does not keep messages: what is published while a node is cut off is lost for it.
//! The database has everything, so on every (re)connection a node tells its own sockets to catch
//! up from the database ([`Hub::resync`]) and announces `PREFIX.resync`, on which every other
//! node does the same — frames published while any node was cut off are caught up once it is back.
//! Publishing never blocks a chat: frames go through a bounded queue to a forwarding task, and
//! when that is full (NATS down for long) they are dropped and caught up the same way.

use std::time::Duration;

use async_nats::Event;
use bytes::Bytes;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use uuid::Uuid;

use super::hub::{AgentFrame, Audience, ConversationFrame, Frame, Hub, Outbound};

/// Frames queued for NATS before new ones are dropped (and caught up from the database).
pub const OUTBOUND_QUEUE: usize = 8192;

/// Why the bus could not start.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("invalid NATS subject prefix {0:?}: use 1 to 64 of A-Z a-z 0-9 _ -")]
    BadPrefix(String),
    #[error("cannot connect to NATS at {url}: {source}")]
    Connect {
        url: String,
        source: async_nats::ConnectError,
    },
    #[error("cannot subscribe on NATS: {0}")]
    Subscribe(String),
}

/// One frame on the wire between nodes.
#[derive(Debug, Serialize, Deserialize)]
struct Envelope {
    /// The publishing node.
    node: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    conversation: Option<Uuid>,
    /// For agent frames: `None` = every agent, else one agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    agent: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    seq: Option<i64>,
    frame: String,
}

/// `vouch` unless configured: 1–64 of `A-Z a-z 0-9 _ -` (one NATS subject token).
pub fn valid_prefix(prefix: &str) -> bool {
    !prefix.is_empty()
        && prefix.len() <= 64
        && prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// A node's connection to the other nodes. Dropping it stops nothing: the tasks live as long
/// as the process (the client reconnects forever).
pub struct NatsBus {
    node: Uuid,
    client: async_nats::Client,
}

impl NatsBus {
    /// Connects to `url`, subscribes to `prefix.>` (confirmed by the server before this
    /// returns, so nothing published after it is missed) and attaches to `hub`.
    pub async fn start(url: &str, prefix: &str, hub: Hub) -> Result<NatsBus, BusError> {
        if !valid_prefix(prefix) {
            return Err(BusError::BadPrefix(prefix.to_string()));
        }
        let node = Uuid::new_v4();
        let (announce_tx, mut announce_rx) = mpsc::channel::<()>(4);
        let events_hub = hub.clone();
        let client = async_nats::ConnectOptions::new()
            .name(format!("vouch-chat {node}"))
            .connection_timeout(Duration::from_secs(5))
            .max_reconnects(None)
            .reconnect_delay_callback(|attempts| {
                Duration::from_millis((attempts as u64).saturating_mul(100).min(2_000))
            })
            .event_callback(move |event| {
                let hub = events_hub.clone();
                let announce = announce_tx.clone();
                async move {
                    match event {
                        Event::Connected => {
                            tracing::info!("NATS connected: catching up from the database");
                            hub.resync();
                            let _ = announce.try_send(());
                        }
                        Event::Disconnected => {
                            tracing::warn!(
                                "NATS disconnected: reconnecting; live frames between nodes pause"
                            )
                        }
                        Event::SlowConsumer(_) => {
                            tracing::warn!("NATS slow consumer: catching up from the database");
                            hub.resync();
                        }
                        other => tracing::info!(event = %other, "NATS event"),
                    }
                }
            })
            .connect(url)
            .await
            .map_err(|source| BusError::Connect {
                url: redact(url),
                source,
            })?;
        let mut sub = client
            .subscribe(format!("{prefix}.>"))
            .await
            .map_err(|e| BusError::Subscribe(e.to_string()))?;
        client
            .flush()
            .await
            .map_err(|e| BusError::Subscribe(e.to_string()))?;

        // Incoming: other nodes' frames to this node's sockets.
        let in_hub = hub.clone();
        tokio::spawn(async move {
            while let Some(msg) = sub.next().await {
                let Ok(env) = serde_json::from_slice::<Envelope>(&msg.payload) else {
                    tracing::debug!(subject = %msg.subject, "ignored a malformed bus message");
                    continue;
                };
                if env.node == node {
                    continue;
                }
                let frame = Frame::from(env.frame);
                let subject = msg.subject.as_str();
                if subject.ends_with(".resync") {
                    in_hub.resync();
                } else if subject.ends_with(".agents") {
                    in_hub.deliver_agents(AgentFrame {
                        audience: env.agent.map_or(Audience::All, Audience::Agent),
                        message: env.conversation.zip(env.seq),
                        frame,
                    });
                } else if subject.contains(".conv.") {
                    if let Some(id) = env.conversation {
                        in_hub.deliver_conversation(
                            id,
                            ConversationFrame {
                                seq: env.seq,
                                frame,
                            },
                        );
                    }
                }
            }
            tracing::warn!("NATS subscription ended: no more frames from other nodes");
        });

        // Outgoing: this node's frames (and resync announcements) to the others.
        let (tx, mut rx) = mpsc::channel::<Outbound>(OUTBOUND_QUEUE);
        hub.attach_bus(tx);
        let out = client.clone();
        let prefix = prefix.to_string();
        tokio::spawn(async move {
            loop {
                let (subject, env) = tokio::select! {
                    o = rx.recv() => match o {
                        Some(Outbound::Conversation(id, f)) => (
                            format!("{prefix}.conv.{id}"),
                            Envelope { node, conversation: Some(id), agent: None, seq: f.seq, frame: f.frame.to_string() },
                        ),
                        Some(Outbound::Agents(f)) => (
                            format!("{prefix}.agents"),
                            Envelope {
                                node,
                                conversation: f.message.map(|m| m.0),
                                agent: match f.audience { Audience::All => None, Audience::Agent(a) => Some(a) },
                                seq: f.message.map(|m| m.1),
                                frame: f.frame.to_string(),
                            },
                        ),
                        None => break,
                    },
                    Some(()) = announce_rx.recv() => (
                        format!("{prefix}.resync"),
                        Envelope { node, conversation: None, agent: None, seq: None, frame: String::new() },
                    ),
                };
                let Ok(payload) = serde_json::to_vec(&env) else {
                    continue;
                };
                if let Err(e) = out.publish(subject, Bytes::from(payload)).await {
                    tracing::warn!(error = %e, "publishing to NATS failed");
                }
            }
        });
        tracing::info!(node = %node, nats = %redact(url), "joined the other chat nodes over NATS");
        Ok(NatsBus { node, client })
    }

    /// This node's id on the bus.
    pub fn node(&self) -> Uuid {
        self.node
    }

    /// Whether the NATS connection is up now.
    pub fn connected(&self) -> bool {
        self.client.connection_state() == async_nats::connection::State::Connected
    }
}

/// The URL without user info (a NATS URL may carry a password or token).
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if !u.username().is_empty() || u.password().is_some() => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.to_string()
        }
        Ok(u) => u.to_string(),
        Err(_) => "(unparsable URL)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes() {
        assert!(valid_prefix("vouch"));
        assert!(valid_prefix("vouch_test-1"));
        assert!(!valid_prefix(""));
        assert!(!valid_prefix("a.b"));
        assert!(!valid_prefix("a>"));
        assert!(!valid_prefix("*"));
        assert!(!valid_prefix(&"a".repeat(65)));
    }

    #[test]
    fn redacts_credentials() {
        assert_eq!(
            redact("nats://user:secret@127.0.0.1:4222"),
            "nats://127.0.0.1:4222"
        );
        assert!(!redact("nats://tok@127.0.0.1:4222").contains("tok"));
    }
}
