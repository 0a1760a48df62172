//! What the customer and agent sockets share: a writer that never waits forever on a client that
//! does not read, close frames with a reason, keep-alive, and the per-address socket limit.

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

/// Bytes the WebSocket layer reads at a time. tungstenite's default (128 KiB) is zero-filled on
/// every read, so each open socket held ~146 KiB of RSS and every frame paid a 128 KiB memset
/// (measured with `vouch bench chat`, docs/benchmarks.md); bigger frames still arrive whole
/// (the buffer grows to the frame's length, up to [`HARD_MESSAGE_LIMIT`]).
pub const READ_BUFFER_BYTES: usize = 4 * 1024;

/// Policy violation.
pub const CLOSE_POLICY: u16 = 1008;
/// Going away (shutdown).
pub const CLOSE_AWAY: u16 = 1001;
/// Try again later (fell behind the live stream: reconnect and resume).
pub const CLOSE_AGAIN: u16 = 1013;

/// The sending half of a socket.
pub struct Writer {
    sink: SplitSink<WebSocket, Message>,
}

/// The socket could not be written to; the caller ends the connection.
#[derive(Debug)]
pub struct Gone;

impl Writer {
    pub fn new(sink: SplitSink<WebSocket, Message>) -> Self {
        Writer { sink }
    }

    async fn send(&mut self, m: Message) -> Result<(), Gone> {
        match tokio::time::timeout(SEND_TIMEOUT, self.sink.send(m)).await {
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
