//! `GET /api/v1/chat?session_token=…`: the customer's socket.
//!
//! The upgrade is refused with 401 for an unknown or expired session and 403 when the `Origin`
//! is not allowed for the session's widget. On connect only live traffic flows; history comes by
//! `resume`. A verified session must renew its identity at the JWT's `exp`: the server sends
//! `reauth_required` and answers `send` with that error until an `auth` frame brings a valid
//! token for the same `sub` (another `sub` ends the conversation and closes the socket). The
//! session's expiry closes the socket.

use std::time::Duration;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use uuid::Uuid;

use super::writer::CLOSE_POLICY;
use super::{Close, Gone, Io, Route, Sent, SocketRole, Step};
use crate::domain::sessions::{Reauth, SessionContext};
use crate::domain::{unix_now, Chat};
use crate::error::{ChatError, ErrorCode};
use crate::http::error::ApiError;
use crate::http::{origin_of, AppState, ClientAddr};
use crate::live::frames::{self, FrameError};
use crate::live::hub::{ConversationFrame, Frame, SeqTracker};
use crate::storage::{now_millis, Sender};

fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query?.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The upgrade: session (401), origin (403), socket limit (429), then the socket.
#[utoipa::path(get, path = "/api/v1/chat", tag = "widget",
    responses(
        (status = 401, description = "`unauthorized`: unknown or expired session", body = crate::http::error::ErrorBody),
        (status = 403, description = "`origin_not_allowed`", body = crate::http::error::ErrorBody),
        super::UpgradeAnswers,
    ),
    params(("session_token" = String, Query, description = "The session's token from POST …/sessions")))]
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
                ErrorCode::Unauthorized,
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
    let (slot, ws) = match super::admit(&chat, client, ws) {
        Ok(admitted) => admitted,
        Err(res) => return *res,
    };
    // Subscribed first, then read, both before the handshake completes: every message up to
    // `last_seq` is history (it comes by `resume`), every later one comes live.
    let live = chat.hub.subscribe_conversation(ctx.conversation_id);
    let last_seq = match chat.conversation(ctx.conversation_id).await {
        Ok(conv) => conv.last_seq,
        Err(e) => return ApiError::from(e).into_response(),
    };
    super::accept(ws, chat.clone(), slot, live, move || Customer {
        ctx,
        reauth_pending: false,
        seen: SeqTracker::new(last_seq),
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

/// A customer socket: one conversation.
struct Customer {
    ctx: SessionContext,
    /// The identity expired and no fresh token has come yet.
    reauth_pending: bool,
    /// Message seqs this socket has sent: each message once, in order, whichever node wrote it.
    seen: SeqTracker,
}

impl Customer {
    /// Whether the verified identity is still valid, re-reading the session (another socket of
    /// it may have renewed it).
    async fn identity_valid(&mut self, chat: &Chat) -> bool {
        let Some(deadline) = self.ctx.identity_deadline() else {
            return true;
        };
        if unix_now() < deadline {
            return true;
        }
        if matches!(chat.reload_session(&mut self.ctx).await, Ok(true)) {
            if let Some(d) = self.ctx.identity_deadline() {
                return unix_now() < d;
            }
        }
        false
    }
}

impl SocketRole for Customer {
    type Live = ConversationFrame;
    /// The verified identity's deadline passed.
    type Wake = ();
    const SENDER: Sender = Sender::Customer;

    fn route(&self, f: &ConversationFrame) -> Route {
        match f.seq {
            Some(seq) => Route::Message(self.ctx.conversation_id, seq),
            None => Route::Frame,
        }
    }

    fn text(f: &ConversationFrame) -> &Frame {
        &f.frame
    }

    fn tracker(&mut self, _conversation: Uuid, _upto: i64) -> &mut SeqTracker {
        &mut self.seen
    }

    /// A waiting customer learns their place in the queue at once.
    async fn start(&mut self, io: &mut Io) -> Result<(), Gone> {
        match io.chat.queue_position(self.ctx.conversation_id).await {
            Ok(Some(frame)) => io.writer.text(&frame).await,
            Ok(None) => Ok(()),
            Err(e) => {
                tracing::warn!(error = %e, "reading the queue position failed");
                Ok(())
            }
        }
    }

    async fn presence(&mut self, io: &mut Io, _status: &str) -> Result<(), Gone> {
        let e = FrameError::bad("customer sockets do not take presence frames");
        io.writer.text(&e.frame()).await
    }

    async fn send(
        &mut self,
        io: &mut Io,
        _conversation_id: Option<Uuid>,
        client_msg_id: &str,
        text: &str,
        attachments: &[Uuid],
    ) -> Result<Sent, Gone> {
        if self.reauth_pending || !self.identity_valid(&io.chat).await {
            if !self.reauth_pending {
                self.reauth_pending = true;
                io.writer.text(&frames::reauth_required()).await?;
            }
            return Ok(Sent::Refused(FrameError::new(
                ErrorCode::ReauthRequired,
                "your sign-in has expired: send a fresh token in an auth frame",
            )));
        }
        let conv = self.ctx.conversation_id;
        Ok(Sent::of(
            io.chat
                .send_message(
                    conv,
                    Sender::Customer,
                    None,
                    client_msg_id,
                    text,
                    attachments,
                )
                .await,
        ))
    }

    /// The session's conversation is rated (after its end): `rated`, or an error frame.
    async fn rating(
        &mut self,
        io: &mut Io,
        input: crate::domain::ratings::RatingInput,
    ) -> Result<(), Gone> {
        let conv = self.ctx.conversation_id;
        match io.chat.rate(conv, input).await {
            Ok(r) => io.writer.text(&frames::rated(conv, &r)).await,
            Err(e) => io.writer.text(&FrameError::of(&e).frame()).await,
        }
    }

    /// Always the session's own conversation.
    async fn resume_target(
        &mut self,
        _io: &mut Io,
        _conversation_id: Option<Uuid>,
    ) -> Result<Option<Uuid>, Gone> {
        Ok(Some(self.ctx.conversation_id))
    }

    async fn typing(&mut self, io: &mut Io, _conversation_id: Option<Uuid>) -> Result<(), Gone> {
        let conv = self.ctx.conversation_id;
        if let Err(e) = io.chat.typing(conv, Sender::Customer, None).await {
            tracing::debug!(error = %e, "typing notice dropped");
        }
        Ok(())
    }

    /// A fresh token: renewed (same `sub`), or the socket finishes (another `sub`).
    async fn auth(&mut self, io: &mut Io, token: &str) -> Result<Step, Gone> {
        if let Err(e) = io.chat.check_auth_frame_rate(self.ctx.conversation_id) {
            io.writer.text(&FrameError::of(&e).frame()).await?;
            return Ok(Step::Continue);
        }
        match io.chat.reauthenticate(&mut self.ctx, token).await {
            Ok(Reauth::Renewed { jwt_exp }) => {
                self.reauth_pending = false;
                io.writer
                    .text(&frames::reauthenticated(jwt_exp.saturating_mul(1000)))
                    .await?;
            }
            // Identity changed: deliver the end of the conversation, then close.
            Ok(Reauth::SubjectChanged) => {
                return Ok(Step::Finish((CLOSE_POLICY, "identity changed")))
            }
            Err(ChatError::InvalidToken { reason, detail }) => {
                io.writer
                    .text(&frames::invalid_token(&reason, &detail))
                    .await?;
            }
            Err(e @ ChatError::NotVerified) => io.writer.text(&FrameError::of(&e).frame()).await?,
            Err(e) => {
                tracing::error!(error = %e, "re-authentication failed");
                let e = FrameError::internal("could not check the token; try again");
                io.writer.text(&e.frame()).await?;
            }
        }
        Ok(Step::Continue)
    }

    /// Every message stored since the last one sent, then the conversation's state if anything
    /// changed.
    async fn resync(&mut self, io: &mut Io) -> Result<(), Gone> {
        let id = self.ctx.conversation_id;
        if super::catch_up(self, io, id, i64::MAX).await? == 0 {
            return Ok(());
        }
        if let Ok(conv) = io.chat.conversation(id).await {
            io.writer
                .text(&frames::conversation_state(conv.id, conv.state))
                .await?;
        }
        Ok(())
    }

    /// The session's expiry closes the socket.
    fn ends_at(&self) -> Option<(tokio::time::Instant, Close)> {
        let left = (self.ctx.session.expires_at - now_millis()).max(0) as u64;
        let at = tokio::time::Instant::now() + Duration::from_millis(left);
        Some((at, (CLOSE_POLICY, "session expired")))
    }

    async fn wake(&mut self) {
        let deadline = if self.reauth_pending {
            None
        } else {
            self.ctx.identity_deadline()
        };
        sleep_until_unix(deadline).await
    }

    async fn on_wake(&mut self, io: &mut Io, (): ()) -> Result<Step, Gone> {
        if !self.identity_valid(&io.chat).await {
            self.reauth_pending = true;
            io.writer.text(&frames::reauth_required()).await?;
        }
        Ok(Step::Continue)
    }

    async fn on_ping(&mut self, _chat: &Chat) -> Option<Close> {
        None
    }
}
