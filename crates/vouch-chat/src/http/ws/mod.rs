//! The two WebSockets — `GET /api/v1/chat` ([`customer`]) and `GET /api/v1/agent/ws` ([`agent`])
//! — run on one driver (`run`): the read loop, the size check and the refusal of binary frames,
//! parsing, `send` → ack (pipelined: a window of sends waits for its commits while the socket
//! reads on, [`inflight`]), `resume`, live frames once each and in order (gaps filled from the
//! database), the end of each turn (queued live frames join the turn's buffered frames and leave
//! in one write), resync after the bus between nodes lost frames, ping and idle timeout, shutdown
//! and the close reasons. What differs per role sits behind [`SocketRole`]:
//!
//! * customer: one conversation; its verified identity must be renewed at the token's `exp`
//!   (`reauth_required`, `auth` frames); the session's expiry closes the socket.
//! * agent: every conversation assigned to it (a seq tracker each), the waiting list on connect
//!   and on resync, only the live frames meant for it, its sign-in re-checked at every ping.
//!
//! A message's path: `run` reads the frame → [`SocketRole::send`] → `crate::domain` (rules, rate)
//! → `crate::storage` (queued; acknowledged once committed) → `crate::live::hub` (fan-out) → the
//! `run` loop of every socket that follows the conversation.

pub mod agent;
pub mod customer;
pub mod inflight;
pub mod writer;

use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;
use tracing::Instrument;
use uuid::Uuid;

use super::error::ApiError;
use crate::domain::limits::SocketSlot;
use crate::domain::sending::Queued;
use crate::domain::Chat;
use crate::error::{ChatError, ErrorCode};
use crate::live::frames::{self, ClientFrame, FrameError};
use crate::live::hub::{Frame, SeqStep, SeqTracker};
use crate::storage::Sender;
use inflight::InFlight;
use writer::{Ending, CLOSE_AWAY, FELL_BEHIND, LIVE_CLOSED};
pub use writer::{Gone, Writer};

/// A close code and its reason.
pub type Close = (u16, &'static str);

/// What the driver does after a client frame or a role's timer.
pub enum Step {
    Continue,
    /// Close now.
    Close(Close),
    /// Deliver the live frames already queued (e.g. the end of the conversation), then close.
    Finish(Close),
}

/// Where a live frame goes on this socket.
pub enum Route {
    /// Not for this socket.
    Skip,
    /// A frame without a seq: sent as it comes.
    Frame,
    /// A `message` frame of a conversation: sent once, in seq order.
    Message(Uuid, i64),
    /// Sent, then the socket closes (an agent deactivated on any node).
    Close(Close),
}

/// The outcome of a `send` frame.
pub enum Sent {
    /// Queued for storage: the driver acknowledges it after its commit ([`inflight`]).
    Queued(Queued),
    /// Refused: the driver answers with this error naming the `client_msg_id`.
    Refused(FrameError),
    /// The role has answered already.
    Answered,
}

impl Sent {
    /// The outcome of the domain's send.
    pub fn of(r: Result<Queued, ChatError>) -> Self {
        match r {
            Ok(q) => Sent::Queued(q),
            Err(e) => Sent::Refused(FrameError::of(&e)),
        }
    }
}

/// What the driver shares with a role's calls: the service and the socket's writer.
pub struct Io {
    pub chat: Arc<Chat>,
    pub writer: Writer,
}

/// The role-specific half of a socket. Static dispatch: the driver is generic over it, so a
/// frame costs no boxed future.
pub trait SocketRole: Send + 'static {
    /// The live frames this socket subscribes to.
    type Live: Clone + Send + 'static;
    /// What [`SocketRole::wake`] reports.
    type Wake: Send;
    /// Who writes on this socket.
    const SENDER: Sender;

    /// Where a live frame goes.
    fn route(&self, f: &Self::Live) -> Route;
    /// The frame's text.
    fn text(f: &Self::Live) -> &Frame;
    /// The seq tracker of a conversation; a new one counts everything up to `upto` as sent.
    fn tracker(&mut self, conversation: Uuid, upto: i64) -> &mut SeqTracker;

    /// Before the loop starts (the agent's waiting list).
    fn start(&mut self, io: &mut Io) -> impl Future<Output = Result<(), Gone>> + Send;
    /// A `send` frame.
    fn send(
        &mut self,
        io: &mut Io,
        conversation_id: Option<Uuid>,
        client_msg_id: &str,
        text: &str,
        attachments: &[Uuid],
    ) -> impl Future<Output = Result<Sent, Gone>> + Send;
    /// A `rating` frame: only customers rate (the default refuses).
    fn rating(
        &mut self,
        io: &mut Io,
        _input: crate::domain::ratings::RatingInput,
    ) -> impl Future<Output = Result<(), Gone>> + Send {
        async move {
            let e = FrameError::bad("only the customer rates a conversation");
            io.writer.text(&e.frame()).await
        }
    }
    /// The conversation a `resume` frame replays; `None` when the role refused it (answered).
    fn resume_target(
        &mut self,
        io: &mut Io,
        conversation_id: Option<Uuid>,
    ) -> impl Future<Output = Result<Option<Uuid>, Gone>> + Send;
    /// A `typing` frame.
    fn typing(
        &mut self,
        io: &mut Io,
        conversation_id: Option<Uuid>,
    ) -> impl Future<Output = Result<(), Gone>> + Send;
    /// An `auth` frame.
    fn auth(&mut self, io: &mut Io, token: &str)
        -> impl Future<Output = Result<Step, Gone>> + Send;
    /// A `presence` frame.
    fn presence(
        &mut self,
        io: &mut Io,
        status: &str,
    ) -> impl Future<Output = Result<(), Gone>> + Send;
    /// After the bus between nodes lost frames: catch up from the database.
    fn resync(&mut self, io: &mut Io) -> impl Future<Output = Result<(), Gone>> + Send;
    /// When the socket ends on its own, and with which close (checked once, at the start).
    fn ends_at(&self) -> Option<(tokio::time::Instant, Close)>;
    /// Resolves when the role's timer is due (never, for a role without one).
    fn wake(&mut self) -> impl Future<Output = Self::Wake> + Send + '_;
    /// The timer that [`SocketRole::wake`] reported.
    fn on_wake(
        &mut self,
        io: &mut Io,
        wake: Self::Wake,
    ) -> impl Future<Output = Result<Step, Gone>> + Send;
    /// At every keep-alive ping: a reason to close, if any.
    fn on_ping(&mut self, chat: &Chat) -> impl Future<Output = Option<Close>> + Send;
}

/// The answers of both upgrade routes besides their own authentication refusals (the OpenAPI
/// document lists them with each route).
#[derive(utoipa::IntoResponses)]
pub enum UpgradeAnswers {
    #[response(status = 101, description = "Switching to the WebSocket protocol")]
    Switching,
    #[response(
        status = 400,
        description = "`bad_request`: not a WebSocket upgrade request"
    )]
    NotAnUpgrade(#[to_schema] crate::http::error::ErrorBody),
    #[response(
        status = 426,
        description = "`upgrade_required`: the connection cannot be upgraded"
    )]
    CannotUpgrade(#[to_schema] crate::http::error::ErrorBody),
    #[response(
        status = 429,
        description = "`rate_limited`: too many sockets from this address"
    )]
    TooManySockets(#[to_schema] crate::http::error::ErrorBody),
}

/// The per-address socket limit (`429`) and the upgrade request itself (its rejection's answer
/// when it is not one), the same for both roles.
fn admit(
    chat: &Chat,
    client: IpAddr,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<(SocketSlot, WebSocketUpgrade), Box<Response>> {
    let Some(slot) = chat.sockets.acquire(client) else {
        return Err(Box::new(
            ApiError::from(ChatError::RateLimited).into_response(),
        ));
    };
    match ws {
        Ok(ws) => Ok((slot, ws)),
        Err(e) => Err(Box::new(e.into_response())),
    }
}

/// Completes the handshake and runs the socket with the role `make` builds.
fn accept<R: SocketRole>(
    ws: WebSocketUpgrade,
    chat: Arc<Chat>,
    slot: SocketSlot,
    live: broadcast::Receiver<R::Live>,
    make: impl FnOnce() -> R + Send + 'static,
) -> Response {
    ws.max_message_size(writer::HARD_MESSAGE_LIMIT)
        .max_frame_size(writer::HARD_MESSAGE_LIMIT)
        .read_buffer_size(writer::READ_BUFFER_BYTES)
        // The socket's log lines keep the upgrade request's span (and so its request id).
        .on_upgrade(move |s| run(chat, s, slot, live, make()).instrument(tracing::Span::current()))
}

/// The socket's loop, until the client goes, the service stops or the role closes it.
async fn run<R: SocketRole>(
    chat: Arc<Chat>,
    ws: WebSocket,
    _slot: SocketSlot,
    mut rx: broadcast::Receiver<R::Live>,
    mut role: R,
) {
    let _open = chat.metrics.socket_open(R::SENDER);
    let (sink, mut stream) = ws.split();
    let mut resync = chat.hub.subscribe_resync();
    let mut shutdown = chat.shutdown_signal();
    let mut io = Io {
        chat,
        writer: Writer::new(sink),
    };
    if role.start(&mut io).await.is_err() {
        return;
    }
    let mut ping = tokio::time::interval(writer::PING_EVERY);
    ping.tick().await;
    let mut last_seen = Instant::now();
    let mut inflight = InFlight::default();
    let ends = role.ends_at();
    let end_close = ends.map(|(_, close)| close);
    let end = async move {
        match ends {
            Some((at, _)) => tokio::time::sleep_until(at).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(end);
    let ending: Ending = loop {
        tokio::select! {
            // A full window of sends in flight: the client waits (back-pressure).
            msg = stream.next(), if !inflight.is_full() => {
                last_seen = Instant::now();
                let step = match msg {
                    None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break None,
                    Some(Ok(Message::Text(t))) => {
                        handle_text(&mut role, &mut io, &mut inflight, t.as_str()).await
                    }
                    Some(Ok(Message::Binary(_))) => io
                        .writer
                        .text(&FrameError::bad("frames must be JSON text").frame())
                        .await
                        .map(|()| Step::Continue),
                    Some(Ok(_)) => Ok(Step::Continue),
                };
                if !matches!(step, Ok(Step::Continue)) {
                    if let Some(ending) = settle(step, &mut role, &mut io, &mut rx).await {
                        break ending;
                    }
                }
            }
            done = inflight.oldest(), if !inflight.is_empty() => {
                // And every later send the same group commit answered.
                let mut next = Some(done);
                let mut answered = Ok(());
                while let (Some(done), Ok(())) = (next, &answered) {
                    answered = inflight::answer(done, &mut io, R::SENDER).await;
                    next = inflight.ready();
                }
                if answered.is_err() {
                    break None;
                }
            }
            ev = rx.recv() => match ev {
                Ok(f) => {
                    if live(&mut role, &mut io, f).await.is_err() {
                        break None;
                    }
                }
                Err(RecvError::Lagged(_)) => break Some(FELL_BEHIND),
                Err(RecvError::Closed) => break Some(LIVE_CLOSED),
            },
            wake = role.wake() => {
                let step = role.on_wake(&mut io, wake).await;
                if let Some(ending) = settle(step, &mut role, &mut io, &mut rx).await {
                    break ending;
                }
            }
            Ok(()) = resync.changed() => {
                if role.resync(&mut io).await.is_err() {
                    break None;
                }
            }
            _ = &mut end => break end_close,
            _ = shutdown.changed() => break Some((CLOSE_AWAY, "server shutting down")),
            _ = ping.tick() => {
                if let Some(close) = role.on_ping(&io.chat).await {
                    break Some(close);
                }
                if last_seen.elapsed() > writer::IDLE_TIMEOUT || io.writer.ping().await.is_err() {
                    break None;
                }
            }
        }
        if let Err(ending) = end_turn(&mut role, &mut io, &mut rx).await {
            break ending;
        }
    };
    // Sends still in flight get their outcome (stored ones are published) before the close.
    inflight.finish(&mut io, R::SENDER).await;
    if let Some((code, why)) = ending {
        io.writer.close(code, why).await;
    }
}

/// What a step means for the loop: `None` to go on, else how the socket ends.
async fn settle<R: SocketRole>(
    step: Result<Step, Gone>,
    role: &mut R,
    io: &mut Io,
    rx: &mut broadcast::Receiver<R::Live>,
) -> Option<Ending> {
    match step {
        Ok(Step::Continue) => None,
        Ok(Step::Close(close)) => Some(Some(close)),
        Ok(Step::Finish(close)) => {
            while let Ok(f) = rx.try_recv() {
                if live(role, io, f).await.is_err() {
                    break;
                }
            }
            Some(Some(close))
        }
        Err(Gone) => Some(None),
    }
}

/// One text frame from the client. A `send` joins the sends in flight; any other frame waits
/// until they are answered (only sends overlap).
async fn handle_text<R: SocketRole>(
    role: &mut R,
    io: &mut Io,
    inflight: &mut InFlight,
    text: &str,
) -> Result<Step, Gone> {
    let received = Instant::now();
    let max = io.chat.limits.max_frame_bytes;
    if text.len() > max {
        let e = FrameError::new(
            ErrorCode::FrameTooLarge,
            format!("frames may be at most {max} bytes"),
        );
        io.writer.text(&e.frame()).await?;
        return Ok(Step::Continue);
    }
    let frame = match frames::parse_client_frame(text) {
        Ok(f) => f,
        Err(e) => {
            io.writer.text(&e.frame()).await?;
            return Ok(Step::Continue);
        }
    };
    if !matches!(frame, ClientFrame::Send { .. }) {
        inflight.drain(io, R::SENDER).await?;
    }
    match frame {
        ClientFrame::Send {
            conversation_id,
            client_msg_id,
            text,
            attachments,
        } => match role
            .send(io, conversation_id, &client_msg_id, &text, &attachments)
            .await?
        {
            Sent::Queued(q) => inflight.push(&client_msg_id, received, q),
            // Answered in its turn, after the sends before it.
            Sent::Refused(e) if !inflight.is_empty() => {
                inflight.push_refused(&client_msg_id, received, e)
            }
            Sent::Refused(e) => io.writer.text(&e.frame_for(&client_msg_id)).await?,
            Sent::Answered => {}
        },
        ClientFrame::Resume {
            conversation_id,
            after_seq,
        } => resume(role, io, conversation_id, after_seq).await?,
        ClientFrame::Auth { token } => return role.auth(io, &token).await,
        ClientFrame::Typing { conversation_id } => role.typing(io, conversation_id).await?,
        ClientFrame::Presence { status } => role.presence(io, &status).await?,
        ClientFrame::Rating { score, comment } => {
            let input = crate::domain::ratings::RatingInput { score, comment };
            role.rating(io, input).await?
        }
    }
    Ok(Step::Continue)
}

/// `resume`: the stored messages after `after`, in order.
async fn resume<R: SocketRole>(
    role: &mut R,
    io: &mut Io,
    conversation_id: Option<Uuid>,
    after: i64,
) -> Result<(), Gone> {
    let Some(id) = role.resume_target(io, conversation_id).await? else {
        return Ok(());
    };
    let r = writer::replay(&mut io.writer, &io.chat, id, after, i64::MAX).await?;
    if let (Some(first), Some(last)) = (r.first, r.last) {
        role.tracker(id, first - 1).sent(last);
    }
    if let Some(e) = r.failed {
        tracing::error!(error = %e, "reading history failed");
        let e = FrameError::internal("history is unavailable; resume again");
        return io.writer.text(&e.frame()).await;
    }
    Ok(())
}

/// A live frame, buffered until the turn ends: message frames once each and in order per
/// conversation (a gap is filled from the database first), other frames as they come.
async fn live<R: SocketRole>(role: &mut R, io: &mut Io, f: R::Live) -> Result<(), Gone> {
    let (id, seq) = match role.route(&f) {
        Route::Skip => return Ok(()),
        Route::Frame => return io.writer.buffer(R::text(&f)).await,
        Route::Close((code, why)) => {
            io.writer.buffer(R::text(&f)).await?;
            io.writer.flush().await?;
            io.writer.close(code, why).await;
            return Err(Gone);
        }
        Route::Message(id, seq) => (id, seq),
    };
    match role.tracker(id, seq - 1).on_live(seq) {
        SeqStep::Deliver => io.writer.buffer(R::text(&f)).await,
        SeqStep::Drop => Ok(()),
        SeqStep::Fill { .. } => {
            catch_up(role, io, id, seq).await?;
            if role.tracker(id, seq - 1).on_live(seq) == SeqStep::Deliver {
                // The database did not have it (yet): send the frame as it came.
                io.writer.buffer(R::text(&f)).await?;
            }
            Ok(())
        }
    }
}

/// Ends a turn of the loop: the live frames already waiting (a bounded number) join the
/// buffer, and everything buffered is written out together.
async fn end_turn<R: SocketRole>(
    role: &mut R,
    io: &mut Io,
    rx: &mut broadcast::Receiver<R::Live>,
) -> Result<(), Ending> {
    for _ in 0..writer::LIVE_FRAMES_PER_TURN {
        let Some(f) = writer::ready_frame(rx)? else {
            break;
        };
        live(role, io, f).await.map_err(|Gone| None)?;
    }
    io.writer.flush().await.map_err(|Gone| None)
}

/// Sends the stored messages of `id` after the last one sent, up to `until`; how many.
async fn catch_up<R: SocketRole>(
    role: &mut R,
    io: &mut Io,
    id: Uuid,
    until: i64,
) -> Result<usize, Gone> {
    let upto = role.tracker(id, 0).upto();
    let r = writer::replay(&mut io.writer, &io.chat, id, upto, until).await?;
    if let Some(last) = r.last {
        role.tracker(id, 0).sent(last);
    }
    if let Some(e) = r.failed {
        tracing::warn!(error = %e, "catching up from the database failed");
    }
    Ok(r.count)
}
