//! `GET /api/v1/agent/ws`: the agent's socket.
//!
//! Authenticated by `Authorization: Bearer` or the console's cookie (then the `Origin` must be
//! the service's own: 403 otherwise). On connect the agent gets a `conversation` frame for every
//! waiting conversation; then, live, every new waiting conversation, state changes of waiting or
//! assigned ones, and the messages of the conversations assigned to it — on every socket it opens.
//! A revoked or expired sign-in closes the socket at the next ping.

use std::collections::HashMap;
use std::convert::Infallible;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use uuid::Uuid;

use super::writer::CLOSE_POLICY;
use super::{Close, Gone, Io, Route, Sent, SocketRole, Step};
use crate::domain::desk::{SocketPresence, SIGNED_OUT};
use crate::domain::Chat;
use crate::error::ChatError;
use crate::http::auth::token_of;
use crate::http::error::ApiError;
use crate::http::{origin_of, AppState, ClientAddr};
use crate::live::frames::{self, FrameError};
use crate::live::hub::{AgentFrame, Frame, SeqTracker};
use crate::storage::{Agent, ConversationState, Sender};

#[utoipa::path(get, path = "/api/v1/agent/ws", tag = "agent",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 401, description = "`unauthorized`: no or a bad token", body = crate::http::error::ErrorBody),
        (status = 403, description = "`origin_not_allowed` (cookie without the service's own Origin)", body = crate::http::error::ErrorBody),
        super::UpgradeAnswers,
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
    let (slot, ws) = match super::admit(&chat, client, ws) {
        Ok(admitted) => admitted,
        Err(res) => return *res,
    };
    // Subscribed, then the assigned conversations' seqs read, before the handshake completes:
    // what was stored before is history (by `resume`), everything later comes live. The waiting
    // list is sent after subscribing too (in `start`), so nothing created in between is missed.
    let live = chat.hub.subscribe_agents(agent.id);
    let seen = match chat.assigned_conversations(agent.id).await {
        Ok(list) => list
            .iter()
            .map(|c| (c.id, SeqTracker::new(c.last_seq)))
            .collect(),
        Err(e) => {
            tracing::warn!(error = %e, "listing assigned conversations failed");
            HashMap::new()
        }
    };
    let presence = chat.agent_socket_opened(agent.id).await;
    super::accept(ws, chat.clone(), slot, live, move || AgentSocket {
        agent,
        token,
        seen,
        _presence: presence,
    })
}

/// An agent socket: every conversation assigned to the agent.
struct AgentSocket {
    agent: Agent,
    /// The sign-in token, re-checked at every ping.
    token: String,
    /// Per conversation, the message seqs this socket has sent (each once, in order).
    seen: HashMap<Uuid, SeqTracker>,
    /// Counts the socket open (presence) until it ends.
    _presence: SocketPresence,
}

/// Most conversations whose seqs one agent socket tracks; beyond it the oldest are forgotten.
const TRACKED_CONVERSATIONS: usize = 4096;

/// The conversation a frame names; agents' `send`, `resume` and `typing` must name one.
fn need_conversation(id: Option<Uuid>) -> Result<Uuid, FrameError> {
    id.ok_or_else(|| FrameError::bad("conversation_id is missing"))
}

impl AgentSocket {
    /// A `conversation` frame for each waiting conversation, oldest first.
    async fn send_waiting(&mut self, io: &mut Io) -> Result<(), Gone> {
        let waiting = match io
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
            io.writer
                .text(&frames::conversation_for_agents(summary))
                .await?;
        }
        Ok(())
    }
}

impl SocketRole for AgentSocket {
    type Live = AgentFrame;
    type Wake = Infallible;
    const SENDER: Sender = Sender::Agent;

    fn route(&self, f: &AgentFrame) -> Route {
        if !f.is_for(self.agent.id) {
            return Route::Skip;
        }
        if f.message.is_none() && &*f.frame == SIGNED_OUT {
            return Route::Close((CLOSE_POLICY, "signed out"));
        }
        match f.message {
            Some((id, seq)) => Route::Message(id, seq),
            None => Route::Frame,
        }
    }

    fn text(f: &AgentFrame) -> &Frame {
        &f.frame
    }

    fn tracker(&mut self, id: Uuid, upto: i64) -> &mut SeqTracker {
        if self.seen.len() >= TRACKED_CONVERSATIONS && !self.seen.contains_key(&id) {
            self.seen.clear();
        }
        self.seen.entry(id).or_insert_with(|| SeqTracker::new(upto))
    }

    async fn start(&mut self, io: &mut Io) -> Result<(), Gone> {
        self.send_waiting(io).await
    }

    /// Only the assigned agent may write to a conversation.
    async fn send(
        &mut self,
        io: &mut Io,
        conversation_id: Option<Uuid>,
        client_msg_id: &str,
        text: &str,
        attachments: &[Uuid],
    ) -> Result<Sent, Gone> {
        let id = match need_conversation(conversation_id) {
            Ok(id) => id,
            Err(e) => {
                io.writer.text(&e.frame()).await?;
                return Ok(Sent::Answered);
            }
        };
        Ok(Sent::of(
            io.chat
                .agent_send(&self.agent, id, client_msg_id, text, attachments)
                .await,
        ))
    }

    /// Any agent may read any conversation that exists.
    async fn resume_target(
        &mut self,
        io: &mut Io,
        conversation_id: Option<Uuid>,
    ) -> Result<Option<Uuid>, Gone> {
        let id = match need_conversation(conversation_id) {
            Ok(id) => id,
            Err(e) => {
                io.writer.text(&e.frame()).await?;
                return Ok(None);
            }
        };
        match io.chat.conversation(id).await {
            Ok(_) => Ok(Some(id)),
            Err(e) => {
                if !matches!(e, ChatError::NotFound(_)) {
                    tracing::error!(error = %e, "reading a conversation failed");
                }
                io.writer.text(&FrameError::of(&e).frame()).await?;
                Ok(None)
            }
        }
    }

    async fn typing(&mut self, io: &mut Io, conversation_id: Option<Uuid>) -> Result<(), Gone> {
        let id = match need_conversation(conversation_id) {
            Ok(id) => id,
            Err(e) => return io.writer.text(&e.frame()).await,
        };
        match io.chat.typing(id, Sender::Agent, Some(&self.agent)).await {
            Ok(()) => Ok(()),
            Err(e @ (ChatError::Forbidden(_) | ChatError::NotFound(_))) => {
                io.writer.text(&FrameError::of(&e).frame()).await
            }
            Err(e) => {
                tracing::debug!(error = %e, "typing notice dropped");
                Ok(())
            }
        }
    }

    async fn presence(&mut self, io: &mut Io, status: &str) -> Result<(), Gone> {
        match io.chat.set_presence(&self.agent, status).await {
            Ok(_) => Ok(()),
            Err(ChatError::Validation { message, .. }) => {
                io.writer.text(&FrameError::bad(message).frame()).await
            }
            Err(e) => {
                tracing::error!(error = %e, "setting presence failed");
                io.writer.text(&FrameError::of(&e).frame()).await
            }
        }
    }

    async fn auth(&mut self, io: &mut Io, _token: &str) -> Result<Step, Gone> {
        let e = FrameError::bad("agent sockets do not take auth frames");
        io.writer.text(&e.frame()).await?;
        Ok(Step::Continue)
    }

    /// The waiting list again, and for every conversation this socket follows that is still
    /// assigned to the agent, the messages stored since the last one sent and its state when
    /// anything changed.
    async fn resync(&mut self, io: &mut Io) -> Result<(), Gone> {
        self.send_waiting(io).await?;
        let ids: Vec<Uuid> = self.seen.keys().copied().collect();
        for id in ids {
            let Ok(conv) = io.chat.conversation(id).await else {
                continue;
            };
            if conv.agent_id != Some(self.agent.id) {
                continue;
            }
            if super::catch_up(self, io, id, i64::MAX).await? > 0 {
                if let Ok(summary) = io.chat.conversation_summary(&conv).await {
                    io.writer
                        .text(&frames::conversation_for_agents(&summary))
                        .await?;
                }
            }
        }
        Ok(())
    }

    /// Ends with its sign-in (checked at every ping) or the service.
    fn ends_at(&self) -> Option<(tokio::time::Instant, Close)> {
        None
    }

    async fn wake(&mut self) -> Infallible {
        std::future::pending().await
    }

    async fn on_wake(&mut self, _io: &mut Io, wake: Infallible) -> Result<Step, Gone> {
        match wake {}
    }

    /// A revoked or expired sign-in ends the socket.
    async fn on_ping(&mut self, chat: &Chat) -> Option<Close> {
        if matches!(chat.agent_for_token(&self.token).await, Ok(Some(_))) {
            None
        } else {
            Some((CLOSE_POLICY, "signed out"))
        }
    }
}
