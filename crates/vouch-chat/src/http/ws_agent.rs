//! `GET /api/v1/agent/ws`: the agent's socket.
//!
//! Authenticated by `Authorization: Bearer` or the console's cookie (then the `Origin` must be
//! the service's own: 403 otherwise). On connect the agent gets a `conversation` frame for every
//! waiting conversation; then, live, every new waiting conversation, state changes of waiting or
//! assigned ones, and the messages of the conversations assigned to it — on every socket it opens.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use tokio::sync::broadcast::error::RecvError;

use super::auth::token_of;
use super::error::ApiError;
use super::socket::{self, Gone, Writer};
use super::{origin_of, AppState, ClientAddr};
use crate::domain::limits::SocketSlot;
use crate::domain::Chat;
use crate::error::ChatError;
use crate::live::frames::{self, ClientFrame, FrameError};
use crate::storage::{Agent, ConversationState, Sender};

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
    ws.max_message_size(socket::HARD_MESSAGE_LIMIT)
        .max_frame_size(socket::HARD_MESSAGE_LIMIT)
        .read_buffer_size(socket::READ_BUFFER_BYTES)
        .on_upgrade(move |s| run(chat, s, agent, token, slot))
}

struct AgentSocket {
    chat: Arc<Chat>,
    agent: Agent,
    writer: Writer,
}

fn need_conversation(id: Option<uuid::Uuid>) -> Result<uuid::Uuid, FrameError> {
    id.ok_or_else(|| FrameError::new("bad_frame", "conversation_id is missing"))
}

impl AgentSocket {
    async fn handle_text(&mut self, text: &str) -> Result<(), Gone> {
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
                        self.writer
                            .text(&frames::ack(&client_msg_id, a.message.seq))
                            .await
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
    async fn resume(&mut self, id: uuid::Uuid, mut after: i64) -> Result<(), Gone> {
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
        loop {
            let page = match self.chat.history_page(id, after).await {
                Ok(p) => p,
                Err(e) => {
                    tracing::error!(error = %e, "reading history failed");
                    return self
                        .writer
                        .text(&frames::error(
                            "internal",
                            "history is unavailable; resume again",
                        ))
                        .await;
                }
            };
            for m in &page {
                self.writer.text(&frames::message(m)).await?;
                after = m.seq;
            }
            if page.len() < crate::domain::conversations::HISTORY_PAGE as usize {
                return Ok(());
            }
        }
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

async fn run(chat: Arc<Chat>, ws: WebSocket, agent: Agent, token: String, _slot: SocketSlot) {
    let (sink, mut stream) = ws.split();
    // Subscribe before listing, so nothing created in between is missed.
    let mut rx = chat.hub.subscribe_agents();
    let mut shutdown = chat.shutdown_signal();
    let mut a = AgentSocket {
        chat: chat.clone(),
        agent,
        writer: Writer::new(sink),
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
                    if a.writer.text(&f.frame).await.is_err() {
                        break None;
                    }
                }
                Ok(_) => {}
                Err(RecvError::Lagged(_)) => break Some((socket::CLOSE_AGAIN, "fell behind: reconnect and resume")),
                Err(RecvError::Closed) => break Some((socket::CLOSE_AWAY, "closing")),
            },
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
    };
    if let Some((code, why)) = reason {
        a.writer.close(code, why).await;
    }
}
