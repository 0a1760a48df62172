//! `GET /api/v1/chat?session_token=…`: the customer's socket.
//!
//! The upgrade is refused with 401 for an unknown or expired session and 403 when the `Origin`
//! is not allowed for the session's widget. On connect only live traffic flows; history comes by
//! `resume`. A verified session must renew its identity at the JWT's `exp`: the server sends
//! `reauth_required` and answers `send` with that error until an `auth` frame brings a valid
//! token for the same `sub` (another `sub` ends the conversation and closes the socket).

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use tokio::sync::broadcast::error::RecvError;
use tracing::Instrument;

use super::error::ApiError;
use super::socket::{self, Gone, Writer};
use super::{origin_of, AppState, ClientAddr};
use crate::domain::limits::SocketSlot;
use crate::domain::sessions::{Reauth, SessionContext};
use crate::domain::{unix_now, Chat};
use crate::error::ChatError;
use crate::live::frames::{self, ClientFrame, FrameError};
use crate::live::hub::{ConversationFrame, SeqStep, SeqTracker};
use crate::storage::{now_millis, Sender};

fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query?.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The upgrade: session (401), origin (403), socket limit (429), then the socket.
#[utoipa::path(get, path = "/api/v1/chat", tag = "widget",
    params(("session_token" = String, Query, description = "The session's token from POST …/sessions")),
    responses(
        (status = 101, description = "Switching to the WebSocket protocol"),
        (status = 400, description = "`bad_request`: not a WebSocket upgrade request", body = super::openapi::ErrorBody),
        (status = 401, description = "`unauthorized`: unknown or expired session", body = super::openapi::ErrorBody),
        (status = 403, description = "`origin_not_allowed`", body = super::openapi::ErrorBody),
        (status = 426, description = "`upgrade_required`: the connection cannot be upgraded", body = super::openapi::ErrorBody),
        (status = 429, description = "`rate_limited`: too many sockets from this address", body = super::openapi::ErrorBody),
    ))]
pub async fn upgrade(
    State(chat): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let token = query_param(query.as_deref(), "session_token").unwrap_or_default();
    let ctx = match chat.session_for_token(&token).await {
        Ok(ctx) => ctx,
        Err(ChatError::Unauthorized) => {
            return ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "unknown or expired session: create a new one",
            )
            .into_response()
        }
        Err(e) => return ApiError::from(e).into_response(),
    };
    match origin_of(&headers) {
        Some(o) if ctx.widget.allows_origin(&o) => {}
        _ => return ApiError::from(ChatError::OriginNotAllowed).into_response(),
    }
    let Some(slot) = chat.sockets.acquire(client) else {
        return ApiError::from(ChatError::RateLimited).into_response();
    };
    let ws = match ws {
        Ok(ws) => ws,
        Err(e) => return e.into_response(),
    };
    // Subscribed first, then read, both before the handshake completes: every message up to
    // `last_seq` is history (it comes by `resume`), every later one comes live.
    let live = chat.hub.subscribe_conversation(ctx.conversation_id);
    let last_seq = match chat.store.get_conversation(ctx.conversation_id).await {
        Ok(Some(conv)) => conv.last_seq,
        Ok(None) => return ApiError::from(ChatError::NotFound("conversation")).into_response(),
        Err(e) => return ApiError::from(ChatError::from(e)).into_response(),
    };
    ws.max_message_size(socket::HARD_MESSAGE_LIMIT)
        .max_frame_size(socket::HARD_MESSAGE_LIMIT)
        .read_buffer_size(socket::READ_BUFFER_BYTES)
        // The socket's log lines keep the upgrade request's span (and so its request id).
        .on_upgrade(move |s| {
            run(chat, s, ctx, slot, live, last_seq).instrument(tracing::Span::current())
        })
}

/// Sleeps until a Unix time (seconds), or forever when there is none.
async fn sleep_until_unix(at: Option<i64>) {
    match at {
        Some(t) => {
            let secs = (t - unix_now()).max(0) as u64;
            tokio::time::sleep(Duration::from_secs(secs)).await
        }
        None => std::future::pending().await,
    }
}

struct Customer {
    chat: Arc<Chat>,
    ctx: SessionContext,
    writer: Writer,
    /// The identity expired and no fresh token has come yet.
    reauth_pending: bool,
    /// Message seqs this socket has sent: each message once, in order, whichever node wrote it.
    seen: SeqTracker,
}

impl Customer {
    /// Whether the verified identity is still valid, re-reading the session (another socket of
    /// it may have renewed it).
    async fn identity_valid(&mut self) -> bool {
        let Some(deadline) = self.ctx.identity_deadline() else {
            return true;
        };
        if unix_now() < deadline {
            return true;
        }
        if matches!(self.chat.reload_session(&mut self.ctx).await, Ok(true)) {
            if let Some(d) = self.ctx.identity_deadline() {
                return unix_now() < d;
            }
        }
        false
    }

    async fn handle_text(&mut self, text: &str) -> Result<bool, Gone> {
        let received = Instant::now();
        if text.len() > self.chat.limits.max_frame_bytes {
            let e = FrameError::new(
                "frame_too_large",
                format!(
                    "frames may be at most {} bytes",
                    self.chat.limits.max_frame_bytes
                ),
            );
            self.writer.text(&e.frame()).await?;
            return Ok(true);
        }
        let frame = match frames::parse_client_frame(text) {
            Ok(f) => f,
            Err(e) => {
                self.writer.text(&e.frame()).await?;
                return Ok(true);
            }
        };
        let conv = self.ctx.conversation_id;
        match frame {
            ClientFrame::Send {
                client_msg_id,
                text,
                ..
            } => {
                if self.reauth_pending || !self.identity_valid().await {
                    if !self.reauth_pending {
                        self.reauth_pending = true;
                        self.writer.text(&frames::reauth_required()).await?;
                    }
                    let e = FrameError::new(
                        "reauth_required",
                        "your sign-in has expired: send a fresh token in an auth frame",
                    );
                    self.writer.text(&e.frame_for(&client_msg_id)).await?;
                    return Ok(true);
                }
                match self
                    .chat
                    .send_message(conv, Sender::Customer, None, &client_msg_id, &text)
                    .await
                {
                    Ok(a) => {
                        // Buffered: the turn's end writes it out with the message's own frame.
                        self.writer
                            .buffer(&frames::ack(&client_msg_id, a.message.seq))
                            .await?;
                        self.chat.metrics.ack_sent(Sender::Customer, received);
                    }
                    Err(e) => self.writer.text(&e.frame_for(&client_msg_id)).await?,
                }
            }
            ClientFrame::Resume { after_seq, .. } => self.resume(after_seq).await?,
            ClientFrame::Auth { token } => return self.auth(&token).await,
            ClientFrame::Typing { .. } => {
                if let Err(e) = self.chat.typing(conv, Sender::Customer, None).await {
                    tracing::debug!(error = %e, "typing notice dropped");
                }
            }
        }
        Ok(true)
    }

    async fn resume(&mut self, after: i64) -> Result<(), Gone> {
        let id = self.ctx.conversation_id;
        let r = socket::replay(&mut self.writer, &self.chat, id, after, i64::MAX).await?;
        if let Some(last) = r.last {
            self.seen.sent(last);
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

    /// A live frame, buffered until the turn ends: message frames once each and in order (a gap
    /// is filled from the database first), other frames as they come.
    async fn live(&mut self, f: ConversationFrame) -> Result<(), Gone> {
        let Some(seq) = f.seq else {
            return self.writer.buffer(&f.frame).await;
        };
        match self.seen.on_live(seq) {
            SeqStep::Deliver => self.writer.buffer(&f.frame).await,
            SeqStep::Drop => Ok(()),
            SeqStep::Fill { .. } => {
                self.catch_up(seq).await?;
                if self.seen.on_live(seq) == SeqStep::Deliver {
                    // The database did not have it (yet): send the frame as it came.
                    self.writer.buffer(&f.frame).await?;
                }
                Ok(())
            }
        }
    }

    /// Ends a turn of the socket's loop: the live frames already waiting (a bounded number)
    /// join the buffer, and everything buffered is written out together.
    async fn end_turn(
        &mut self,
        rx: &mut tokio::sync::broadcast::Receiver<ConversationFrame>,
    ) -> Result<(), socket::Ending> {
        for _ in 0..socket::LIVE_FRAMES_PER_TURN {
            let Some(f) = socket::ready_frame(rx)? else {
                break;
            };
            self.live(f).await.map_err(|Gone| None)?;
        }
        self.writer.flush().await.map_err(|Gone| None)
    }

    /// Sends the stored messages after the last one sent, up to `until` (or all). Returns how
    /// many were sent.
    async fn catch_up(&mut self, until: i64) -> Result<usize, Gone> {
        let id = self.ctx.conversation_id;
        let r = socket::replay(&mut self.writer, &self.chat, id, self.seen.upto(), until).await?;
        if let Some(last) = r.last {
            self.seen.sent(last);
        }
        if let Some(e) = r.failed {
            tracing::warn!(error = %e, "catching up from the database failed");
        }
        Ok(r.count)
    }

    /// After the bus between nodes lost frames: every message stored since the last one sent,
    /// then the conversation's state if anything changed.
    async fn resync(&mut self) -> Result<(), Gone> {
        if self.catch_up(i64::MAX).await? == 0 {
            return Ok(());
        }
        if let Ok(Some(conv)) = self
            .chat
            .store
            .get_conversation(self.ctx.conversation_id)
            .await
        {
            self.writer
                .text(&frames::conversation_state(conv.id, conv.state))
                .await?;
        }
        Ok(())
    }

    /// Returns false when the socket must close.
    async fn auth(&mut self, token: &str) -> Result<bool, Gone> {
        if !self
            .chat
            .msg_limiter
            .check(&(self.ctx.conversation_id, Sender::Customer))
        {
            let e = FrameError::new("rate_limited", "too many frames: wait a moment");
            self.writer.text(&e.frame()).await?;
            return Ok(true);
        }
        match self.chat.reauthenticate(&mut self.ctx, token).await {
            Ok(Reauth::Renewed { jwt_exp }) => {
                self.reauth_pending = false;
                self.writer
                    .text(&frames::reauthenticated(jwt_exp.saturating_mul(1000)))
                    .await?;
                Ok(true)
            }
            Ok(Reauth::SubjectChanged) => Ok(false),
            Err(ChatError::InvalidToken { reason, detail }) => {
                self.writer
                    .text(&frames::invalid_token(&reason, &detail))
                    .await?;
                Ok(true)
            }
            Err(ChatError::Conflict(m)) => {
                self.writer.text(&frames::error("bad_frame", &m)).await?;
                Ok(true)
            }
            Err(e) => {
                tracing::error!(error = %e, "re-authentication failed");
                self.writer
                    .text(&frames::error(
                        "internal",
                        "could not check the token; try again",
                    ))
                    .await?;
                Ok(true)
            }
        }
    }
}

async fn run(
    chat: Arc<Chat>,
    ws: WebSocket,
    ctx: SessionContext,
    _slot: SocketSlot,
    live: tokio::sync::broadcast::Receiver<ConversationFrame>,
    last_seq: i64,
) {
    let _open = chat.metrics.socket_open(Sender::Customer);
    let (sink, mut stream) = ws.split();
    let mut rx = live;
    let mut resync = chat.hub.subscribe_resync();
    let mut shutdown = chat.shutdown_signal();
    let session_end = ctx.session.expires_at;
    let mut c = Customer {
        chat: chat.clone(),
        ctx,
        writer: Writer::new(sink),
        reauth_pending: false,
        seen: SeqTracker::new(last_seq),
    };
    let mut ping = tokio::time::interval(socket::PING_EVERY);
    ping.tick().await;
    let mut last_seen = Instant::now();
    let session_left = Duration::from_millis((session_end - now_millis()).max(0) as u64);
    let session_timer = tokio::time::sleep(session_left);
    tokio::pin!(session_timer);

    let reason: Option<(u16, &str)> = loop {
        let deadline = if c.reauth_pending {
            None
        } else {
            c.ctx.identity_deadline()
        };
        tokio::select! {
            msg = stream.next() => {
                last_seen = Instant::now();
                let step = match msg {
                    None | Some(Err(_)) => break None,
                    Some(Ok(Message::Close(_))) => break None,
                    Some(Ok(Message::Text(t))) => c.handle_text(t.as_str()).await,
                    Some(Ok(Message::Binary(_))) => c
                        .writer
                        .text(&frames::error("bad_frame", "frames must be JSON text"))
                        .await
                        .map(|_| true),
                    Some(Ok(_)) => Ok(true),
                };
                match step {
                    Ok(true) => {}
                    Ok(false) => {
                        // Identity changed: deliver the end of the conversation, then close.
                        while let Ok(f) = rx.try_recv() {
                            if c.live(f).await.is_err() {
                                break;
                            }
                        }
                        break Some((socket::CLOSE_POLICY, "identity changed"));
                    }
                    Err(Gone) => break None,
                }
            }
            ev = rx.recv() => match ev {
                Ok(f) => {
                    if c.live(f).await.is_err() {
                        break None;
                    }
                }
                Err(RecvError::Lagged(_)) => break Some(socket::FELL_BEHIND),
                Err(RecvError::Closed) => break Some(socket::LIVE_CLOSED),
            },
            _ = sleep_until_unix(deadline) => {
                if !c.identity_valid().await {
                    c.reauth_pending = true;
                    if c.writer.text(&frames::reauth_required()).await.is_err() {
                        break None;
                    }
                }
            }
            Ok(()) = resync.changed() => {
                if c.resync().await.is_err() {
                    break None;
                }
            }
            _ = &mut session_timer => break Some((socket::CLOSE_POLICY, "session expired")),
            _ = shutdown.changed() => break Some((socket::CLOSE_AWAY, "server shutting down")),
            _ = ping.tick() => {
                if last_seen.elapsed() > socket::IDLE_TIMEOUT || c.writer.ping().await.is_err() {
                    break None;
                }
            }
        }
        if let Err(ending) = c.end_turn(&mut rx).await {
            break ending;
        }
    };
    if let Some((code, why)) = reason {
        c.writer.close(code, why).await;
    }
}
