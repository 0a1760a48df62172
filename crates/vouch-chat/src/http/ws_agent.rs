//! `GET /api/v1/agent/ws`: the agent's socket.
//!
//! Authenticated by `Authorization: Bearer` or the console's cookie (then the `Origin` must be
//! the service's own: 403 otherwise). On connect the agent gets a `conversation` frame for every
//! waiting conversation; then, live, every new waiting conversation, state changes of waiting or
//! assigned ones, and the messages of the conversations assigned to it — on every socket it opens.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use tokio::sync::broadcast::error::RecvError;
use tracing::Instrument;

use super::auth::token_of;
use super::error::ApiError;
use super::socket::{self, Gone, Writer};
use super::{origin_of, AppState, ClientAddr};
use crate::domain::limits::SocketSlot;
use crate::domain::Chat;
use crate::error::ChatError;
use crate::live::frames::{self, ClientFrame, FrameError};
use crate::live::hub::{AgentFrame, SeqStep, SeqTracker};
use crate::storage::{Agent, ConversationState, Sender};

#[utoipa::path(get, path = "/api/v1/agent/ws", tag = "agent",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 101, description = "Switching to the WebSocket protocol"),
        (status = 400, description = "`bad_request`: not a WebSocket upgrade request", body = super::openapi::ErrorBody),
        (status = 401, description = "`unauthorized`: no or a bad token", body = super::openapi::ErrorBody),
        (status = 403, description = "`origin_not_allowed` (cookie without the service's own Origin)", body = super::openapi::ErrorBody),
        (status = 426, description = "`upgrade_required`: the connection cannot be upgraded", body = super::openapi::ErrorBody),
        (status = 429, description = "`rate_limited`: too many sockets from this address", body = super::openapi::ErrorBody),
    ))]
pub async fn upgrade(
    State(chat): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let Some((token, via_cookie)) = token_of(&headers) else {
        return ApiError::unauthorized().into_response();
    };
    if via_cookie {
        match origin_of(&headers) {
            Some(o) if chat.is_own_origin(&o) => {}
            _ => return ApiError::origin_not_allowed().into_response(),
        }
    }
    let agent = match chat.agent_for_token(&token).await {
        Ok(Some(a)) => a,
        Ok(None) => return ApiError::unauthorized().into_response(),
        Err(e) => return ApiError::from(e).into_response(),
    };
    let Some(slot) = chat.sockets.acquire(client) else {
        return ApiError::from(ChatError::RateLimited).into_response();
    };
    let ws = match ws {
        Ok(ws) => ws,
        Err(e) => return e.into_response(),
    };
    // Subscribed, then the assigned conversations' seqs read, before the handshake completes:
    // what was stored before is history (by `resume`), everything later comes live. The waiting
    // queue is listed after subscribing too (in `run`), so nothing created in between is missed.
    let live = chat.hub.subscribe_agents(agent.id);
    let seen = assigned_trackers(&chat, agent.id).await;
    ws.max_message_size(socket::HARD_MESSAGE_LIMIT)
        .max_frame_size(socket::HARD_MESSAGE_LIMIT)
        .read_buffer_size(socket::READ_BUFFER_BYTES)
        // The socket's log lines keep the upgrade request's span (and so its request id).
        .on_upgrade(move |s| {
            run(chat, s, agent, token, slot, live, seen).instrument(tracing::Span::current())
        })
}

/// Conversations assigned to `agent` that are not ended, with their last seq: their messages up
/// to now are history; later ones come live.
async fn assigned_trackers(chat: &Chat, agent: uuid::Uuid) -> HashMap<uuid::Uuid, SeqTracker> {
    match chat
        .store
        .list_conversations(
            Some(ConversationState::Active),
            crate::domain::conversations::LIST_LIMIT,
        )
        .await
    {
        Ok(list) => list
            .iter()
            .filter(|c| c.agent_id == Some(agent))
            .map(|c| (c.id, SeqTracker::new(c.last_seq)))
            .collect(),
        Err(e) => {
            tracing::warn!(error = %e, "listing assigned conversations failed");
            HashMap::new()
        }
    }
}

struct AgentSocket {
    chat: Arc<Chat>,
    agent: Agent,
    writer: Writer,
    /// Per conversation, the message seqs this socket has sent (each once, in order).
    seen: HashMap<uuid::Uuid, SeqTracker>,
}

/// Most conversations whose seqs one agent socket tracks; beyond it the oldest are forgotten.
const TRACKED_CONVERSATIONS: usize = 4096;

fn need_conversation(id: Option<uuid::Uuid>) -> Result<uuid::Uuid, FrameError> {
    id.ok_or_else(|| FrameError::new("bad_frame", "conversation_id is missing"))
}

impl AgentSocket {
    async fn handle_text(&mut self, text: &str) -> Result<(), Gone> {
        let received = Instant::now();
        if text.len() > self.chat.limits.max_frame_bytes {
            let e = FrameError::new(
                "frame_too_large",
                format!(
                    "frames may be at most {} bytes",
                    self.chat.limits.max_frame_bytes
                ),
            );
            return self.writer.text(&e.frame()).await;
        }
        let frame = match frames::parse_client_frame(text) {
            Ok(f) => f,
            Err(e) => return self.writer.text(&e.frame()).await,
        };
        match frame {
            ClientFrame::Send {
                conversation_id,
                client_msg_id,
                text,
            } => {
                let id = match need_conversation(conversation_id) {
                    Ok(id) => id,
                    Err(e) => return self.writer.text(&e.frame()).await,
                };
                match self
                    .chat
                    .agent_send(&self.agent, id, &client_msg_id, &text)
                    .await
                {
                    Ok(a) => {
                        // Buffered: the turn's end writes it out with the message's own frame.
                        self.writer
                            .buffer(&frames::ack(&client_msg_id, a.message.seq))
                            .await?;
                        self.chat.metrics.ack_sent(Sender::Agent, received);
                        Ok(())
                    }
                    Err(e) => self.writer.text(&e.frame_for(&client_msg_id)).await,
                }
            }
            ClientFrame::Resume {
                conversation_id,
                after_seq,
            } => {
                let id = match need_conversation(conversation_id) {
                    Ok(id) => id,
                    Err(e) => return self.writer.text(&e.frame()).await,
                };
                self.resume(id, after_seq).await
            }
            ClientFrame::Typing { conversation_id } => {
                let id = match need_conversation(conversation_id) {
                    Ok(id) => id,
                    Err(e) => return self.writer.text(&e.frame()).await,
                };
                match self.chat.typing(id, Sender::Agent, Some(&self.agent)).await {
                    Ok(()) => Ok(()),
                    Err(ChatError::Forbidden(m)) => {
                        self.writer.text(&frames::error("forbidden", &m)).await
                    }
                    Err(ChatError::NotFound(_)) => {
                        self.writer
                            .text(&frames::error("not_found", "no such conversation"))
                            .await
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, "typing notice dropped");
                        Ok(())
                    }
                }
            }
            ClientFrame::Auth { .. } => {
                self.writer
                    .text(&frames::error(
                        "bad_frame",
                        "agent sockets do not take auth frames",
                    ))
                    .await
            }
        }
    }

    /// Any agent may read any conversation.
    async fn resume(&mut self, id: uuid::Uuid, after: i64) -> Result<(), Gone> {
        match self.chat.store.get_conversation(id).await {
            Ok(Some(_)) => {}
            Ok(None) => {
                return self
                    .writer
                    .text(&frames::error("not_found", "no such conversation"))
                    .await
            }
            Err(e) => {
                tracing::error!(error = %e, "reading a conversation failed");
                return self
                    .writer
                    .text(&frames::error("internal", "try again"))
                    .await;
            }
        }
        let r = socket::replay(&mut self.writer, &self.chat, id, after, i64::MAX).await?;
        if let (Some(first), Some(last)) = (r.first, r.last) {
            self.tracker(id, first - 1).sent(last);
        }
        if let Some(e) = r.failed {
            tracing::error!(error = %e, "reading history failed");
            return self
                .writer
                .text(&frames::error(
                    "internal",
                    "history is unavailable; resume again",
                ))
                .await;
        }
        Ok(())
    }

    /// The tracker of a conversation; a new one counts everything up to `upto` as sent.
    fn tracker(&mut self, id: uuid::Uuid, upto: i64) -> &mut SeqTracker {
        if self.seen.len() >= TRACKED_CONVERSATIONS && !self.seen.contains_key(&id) {
            self.seen.clear();
        }
        self.seen.entry(id).or_insert_with(|| SeqTracker::new(upto))
    }

    /// A live frame, buffered until the turn ends: message frames once each and in order per
    /// conversation (a gap is filled from the database first), other frames as they come.
    async fn live(&mut self, f: AgentFrame) -> Result<(), Gone> {
        let Some((id, seq)) = f.message else {
            return self.writer.buffer(&f.frame).await;
        };
        match self.tracker(id, seq - 1).on_live(seq) {
            SeqStep::Deliver => self.writer.buffer(&f.frame).await,
            SeqStep::Drop => Ok(()),
            SeqStep::Fill { .. } => {
                self.catch_up(id, seq).await?;
                if self.tracker(id, seq - 1).on_live(seq) == SeqStep::Deliver {
                    self.writer.buffer(&f.frame).await?;
                }
                Ok(())
            }
        }
    }

    /// Ends a turn of the socket's loop: the live frames for this agent already waiting (a
    /// bounded number) join the buffer, and everything buffered is written out together.
    async fn end_turn(
        &mut self,
        rx: &mut tokio::sync::broadcast::Receiver<AgentFrame>,
    ) -> Result<(), socket::Ending> {
        for _ in 0..socket::LIVE_FRAMES_PER_TURN {
            let Some(f) = socket::ready_frame(rx)? else {
                break;
            };
            if f.is_for(self.agent.id) {
                self.live(f).await.map_err(|Gone| None)?;
            }
        }
        self.writer.flush().await.map_err(|Gone| None)
    }

    /// Sends the stored messages of `id` after the last one sent, up to `until`; how many.
    async fn catch_up(&mut self, id: uuid::Uuid, until: i64) -> Result<usize, Gone> {
        let upto = self.tracker(id, 0).upto();
        let r = socket::replay(&mut self.writer, &self.chat, id, upto, until).await?;
        if let Some(last) = r.last {
            self.tracker(id, 0).sent(last);
        }
        if let Some(e) = r.failed {
            tracing::warn!(error = %e, "catching up from the database failed");
        }
        Ok(r.count)
    }

    /// After the bus between nodes lost frames: the waiting queue again, and for every
    /// conversation this socket follows that is still assigned to the agent, the messages
    /// stored since the last one sent and its state when anything changed.
    async fn resync(&mut self) -> Result<(), Gone> {
        self.send_waiting().await?;
        let ids: Vec<uuid::Uuid> = self.seen.keys().copied().collect();
        for id in ids {
            let conv = match self.chat.store.get_conversation(id).await {
                Ok(Some(c)) => c,
                _ => continue,
            };
            if conv.agent_id != Some(self.agent.id) {
                continue;
            }
            if self.catch_up(id, i64::MAX).await? > 0 {
                if let Ok(summary) = self.chat.conversation_summary(&conv).await {
                    self.writer
                        .text(&frames::conversation_for_agents(&summary))
                        .await?;
                }
            }
        }
        Ok(())
    }

    /// A `conversation` frame for each waiting conversation, oldest first.
    async fn send_waiting(&mut self) -> Result<(), Gone> {
        let waiting = match self
            .chat
            .list_conversations(Some(ConversationState::Waiting))
            .await
        {
            Ok(w) => w,
            Err(e) => {
                tracing::error!(error = %e, "listing waiting conversations failed");
                return Ok(());
            }
        };
        for summary in waiting.iter().rev() {
            self.writer
                .text(&frames::conversation_for_agents(summary))
                .await?;
        }
        Ok(())
    }
}

async fn run(
    chat: Arc<Chat>,
    ws: WebSocket,
    agent: Agent,
    token: String,
    _slot: SocketSlot,
    live: tokio::sync::broadcast::Receiver<AgentFrame>,
    seen: HashMap<uuid::Uuid, SeqTracker>,
) {
    let _open = chat.metrics.socket_open(Sender::Agent);
    let (sink, mut stream) = ws.split();
    let mut rx = live;
    let mut resync = chat.hub.subscribe_resync();
    let mut shutdown = chat.shutdown_signal();
    let mut a = AgentSocket {
        chat: chat.clone(),
        agent,
        writer: Writer::new(sink),
        seen,
    };
    if a.send_waiting().await.is_err() {
        return;
    }
    let mut ping = tokio::time::interval(socket::PING_EVERY);
    ping.tick().await;
    let mut last_seen = Instant::now();
    let reason: Option<(u16, &str)> = loop {
        tokio::select! {
            msg = stream.next() => {
                last_seen = Instant::now();
                let step = match msg {
                    None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break None,
                    Some(Ok(Message::Text(t))) => a.handle_text(t.as_str()).await,
                    Some(Ok(Message::Binary(_))) => a
                        .writer
                        .text(&frames::error("bad_frame", "frames must be JSON text"))
                        .await,
                    Some(Ok(_)) => Ok(()),
                };
                if step.is_err() {
                    break None;
                }
            }
            ev = rx.recv() => match ev {
                Ok(f) if f.is_for(a.agent.id) => {
                    if a.live(f).await.is_err() {
                        break None;
                    }
                }
                Ok(_) => {}
                Err(RecvError::Lagged(_)) => break Some(socket::FELL_BEHIND),
                Err(RecvError::Closed) => break Some(socket::LIVE_CLOSED),
            },
            Ok(()) = resync.changed() => {
                if a.resync().await.is_err() {
                    break None;
                }
            }
            _ = shutdown.changed() => break Some((socket::CLOSE_AWAY, "server shutting down")),
            _ = ping.tick() => {
                // A revoked or expired sign-in ends the socket too.
                if !matches!(chat.agent_for_token(&token).await, Ok(Some(_))) {
                    break Some((socket::CLOSE_POLICY, "signed out"));
                }
                if last_seen.elapsed() > socket::IDLE_TIMEOUT || a.writer.ping().await.is_err() {
                    break None;
                }
            }
        }
        if let Err(ending) = a.end_turn(&mut rx).await {
            break ending;
        }
    };
    if let Some((code, why)) = reason {
        a.writer.close(code, why).await;
    }
}
