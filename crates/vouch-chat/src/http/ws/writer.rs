//! The sending half of a socket: a writer that never waits forever on a client that does not
//! read, buffers a turn's frames into one write, and closes with a reason; the history replay
//! behind `resume` and gap fills; and the protocol's limits, timers and close codes.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::stream::SplitSink;
use futures_util::SinkExt;

/// How long one write may wait on a client before the socket is dropped.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Keep-alive ping interval.
pub const PING_EVERY: Duration = Duration::from_secs(25);
/// A socket that sends nothing (not even a pong) for this long is closed.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(75);
/// Largest WebSocket message the protocol layer reads at all (bigger closes with 1009). Frames
/// between the configured frame limit and this get a `frame_too_large` error and the socket stays.
pub const HARD_MESSAGE_LIMIT: usize = 64 * 1024;

/// Bytes the WebSocket layer reads at a time (tungstenite's default, 128 KiB, is zero-filled on
/// every read; see docs/benchmarks.md). Bigger frames still arrive whole: the buffer grows to
/// the frame's length, up to [`HARD_MESSAGE_LIMIT`].
pub const READ_BUFFER_BYTES: usize = 4 * 1024;

/// Policy violation.
pub const CLOSE_POLICY: u16 = 1008;
/// Going away (shutdown).
pub const CLOSE_AWAY: u16 = 1001;
/// Try again later (fell behind the live stream: reconnect and resume).
pub const CLOSE_AGAIN: u16 = 1013;

/// Most live frames a socket buffers in one turn of its loop before writing them out (so a busy
/// conversation cannot keep a socket from reading its client).
pub const LIVE_FRAMES_PER_TURN: usize = 32;

/// Why a socket closes when its live channel lagged (it fell behind the live stream).
pub const FELL_BEHIND: (u16, &str) = (CLOSE_AGAIN, "fell behind: reconnect and resume");
/// Why a socket closes when its live channel closed (the service is stopping).
pub const LIVE_CLOSED: (u16, &str) = (CLOSE_AWAY, "closing");

/// How a turn that drained the live channel ended the socket: gone (no close frame can be sent)
/// or closed with a code and reason.
pub type Ending = Option<(u16, &'static str)>;

/// The next live frame that is already waiting, without waiting: `Ok(None)` when there is none,
/// `Err` when the socket must close (lagged or closed channel, as `recv` would say).
pub fn ready_frame<T: Clone>(
    rx: &mut tokio::sync::broadcast::Receiver<T>,
) -> Result<Option<T>, Ending> {
    use tokio::sync::broadcast::error::TryRecvError;
    match rx.try_recv() {
        Ok(f) => Ok(Some(f)),
        Err(TryRecvError::Empty) => Ok(None),
        Err(TryRecvError::Lagged(_)) => Err(Some(FELL_BEHIND)),
        Err(TryRecvError::Closed) => Err(Some(LIVE_CLOSED)),
    }
}

/// The sending half of a socket.
///
/// [`Writer::text`] writes a frame out at once. [`Writer::buffer`] only queues it, so that the
/// frames of one turn of a socket's loop (an `ack` and the sender's own `message`, or several
/// live frames that arrived together) leave in one system call: the driver ends every turn
/// with [`Writer::flush`] (why it matters: docs/benchmarks.md).
pub struct Writer {
    sink: SplitSink<WebSocket, Message>,
    /// Frames buffered and not yet flushed.
    pending: bool,
}

/// The socket could not be written to; the caller ends the connection.
#[derive(Debug)]
pub struct Gone;

impl Writer {
    pub fn new(sink: SplitSink<WebSocket, Message>) -> Self {
        Writer {
            sink,
            pending: false,
        }
    }

    async fn send(&mut self, m: Message) -> Result<(), Gone> {
        // Writes out whatever was buffered before `m` too (in order).
        self.pending = false;
        match tokio::time::timeout(SEND_TIMEOUT, self.sink.send(m)).await {
            Ok(Ok(())) => Ok(()),
            _ => Err(Gone),
        }
    }

    /// Queues one JSON text frame behind those already queued; [`Writer::flush`] (or any later
    /// [`Writer::text`]) writes it out.
    pub async fn buffer(&mut self, frame: &str) -> Result<(), Gone> {
        self.pending = true;
        match tokio::time::timeout(SEND_TIMEOUT, self.sink.feed(Message::Text(frame.into()))).await
        {
            Ok(Ok(())) => Ok(()),
            _ => Err(Gone),
        }
    }

    /// Writes out the buffered frames, if any.
    pub async fn flush(&mut self) -> Result<(), Gone> {
        if !std::mem::take(&mut self.pending) {
            return Ok(());
        }
        match tokio::time::timeout(SEND_TIMEOUT, self.sink.flush()).await {
            Ok(Ok(())) => Ok(()),
            _ => Err(Gone),
        }
    }

    /// Sends one JSON text frame.
    pub async fn text(&mut self, frame: &str) -> Result<(), Gone> {
        self.send(Message::Text(frame.into())).await
    }

    pub async fn ping(&mut self) -> Result<(), Gone> {
        self.send(Message::Ping(bytes::Bytes::new())).await
    }

    /// Sends a close frame (best effort).
    pub async fn close(&mut self, code: u16, reason: &str) {
        let _ = self
            .send(Message::Close(Some(CloseFrame {
                code,
                reason: reason.into(),
            })))
            .await;
    }
}

/// What [`replay`] sent.
#[derive(Debug, Default)]
pub struct Replayed {
    /// The first and last `seq` sent (None when nothing was).
    pub first: Option<i64>,
    pub last: Option<i64>,
    pub count: usize,
    /// The database error that cut the replay short, if any (what was sent before it stands).
    pub failed: Option<crate::error::ChatError>,
}

/// Sends the stored messages of `conversation` with `after < seq <= until`, in order, page by
/// page: the one history loop behind `resume` and the gap fills of both sockets.
pub async fn replay(
    writer: &mut Writer,
    chat: &crate::domain::Chat,
    conversation: uuid::Uuid,
    mut after: i64,
    until: i64,
) -> Result<Replayed, Gone> {
    let mut done = Replayed::default();
    while after < until {
        let page = match chat.history_page(conversation, after).await {
            Ok(page) => page,
            Err(e) => {
                done.failed = Some(e);
                return Ok(done);
            }
        };
        for m in page.iter().take_while(|m| m.seq <= until) {
            writer.text(&crate::live::frames::message(m)).await?;
            done.first.get_or_insert(m.seq);
            done.last = Some(m.seq);
            done.count += 1;
            after = m.seq;
        }
        if page.len() < crate::domain::conversations::HISTORY_PAGE as usize {
            break;
        }
    }
    Ok(done)
}
