//! A socket's sends in flight: queued for storage, waiting for their commits. The driver keeps
//! reading and delivering live frames meanwhile, up to [`SEND_WINDOW`] sends; then it stops
//! reading the client (back-pressure: TCP holds the rest, nothing is dropped) until the oldest is
//! answered. Answers leave in the order of the sends, each `ack` after its commit.
//!
//! Why: a socket that awaited each commit before reading its next frame moved one message per
//! commit, so an agent carrying many conversations queued without bound while the CPU idled
//! (issue 17). With a window, one socket's sends share group commits like everyone else's.

use std::collections::VecDeque;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use super::{Gone, Io};
use crate::domain::sending::{Committed, Queued};
use crate::live::frames::{self, FrameError};
use crate::storage::Sender;

/// Most sends of one socket in flight at once.
pub const SEND_WINDOW: usize = 32;

/// The sends in flight, oldest first.
#[derive(Default)]
pub struct InFlight {
    /// Empty until the first send (a `VecDeque` allocates on its first push).
    sends: VecDeque<Pending>,
}

struct Pending {
    client_msg_id: String,
    received: Instant,
    answer: Answer,
}

enum Answer {
    Queued(Queued),
    /// Refused before it was queued; answered in its turn, so answers keep the sends' order.
    Refused(FrameError),
}

/// A send whose answer is known.
pub struct Done {
    client_msg_id: String,
    received: Instant,
    outcome: Outcome,
}

enum Outcome {
    Committed(Committed),
    Refused(FrameError),
}

impl InFlight {
    pub fn is_empty(&self) -> bool {
        self.sends.is_empty()
    }

    /// Whether the window is full: read no more frames until a send is answered.
    pub fn is_full(&self) -> bool {
        self.sends.len() >= SEND_WINDOW
    }

    pub fn push(&mut self, client_msg_id: &str, received: Instant, q: Queued) {
        self.push_answer(client_msg_id, received, Answer::Queued(q));
    }

    pub fn push_refused(&mut self, client_msg_id: &str, received: Instant, e: FrameError) {
        self.push_answer(client_msg_id, received, Answer::Refused(e));
    }

    fn push_answer(&mut self, client_msg_id: &str, received: Instant, answer: Answer) {
        self.sends.push_back(Pending {
            client_msg_id: client_msg_id.to_string(),
            received,
            answer,
        });
    }

    fn poll_oldest(&mut self, cx: &mut Context<'_>) -> Poll<Done> {
        let Some(oldest) = self.sends.front_mut() else {
            return Poll::Pending;
        };
        let outcome = match &mut oldest.answer {
            Answer::Queued(q) => match Pin::new(q).poll(cx) {
                Poll::Ready(c) => Outcome::Committed(c),
                Poll::Pending => return Poll::Pending,
            },
            Answer::Refused(e) => Outcome::Refused(e.clone()),
        };
        let Some(p) = self.sends.pop_front() else {
            return Poll::Pending;
        };
        if self.sends.is_empty() {
            // Idle again: give the buffer back (a socket that sent a burst keeps nothing).
            self.sends = VecDeque::new();
        }
        Poll::Ready(Done {
            client_msg_id: p.client_msg_id,
            received: p.received,
            outcome,
        })
    }

    /// The oldest send's answer, when it comes (never, while nothing is in flight).
    pub async fn oldest(&mut self) -> Done {
        poll_fn(|cx| self.poll_oldest(cx)).await
    }

    /// The oldest send's answer if it is there already (one group commit answers many sends).
    pub fn ready(&mut self) -> Option<Done> {
        match self.poll_oldest(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(d) => Some(d),
            Poll::Pending => None,
        }
    }

    /// Answers every send in flight, in order, as each commit comes.
    pub async fn drain(&mut self, io: &mut Io, sender: Sender) -> Result<(), Gone> {
        while !self.is_empty() {
            let done = self.oldest().await;
            answer(done, io, sender).await?;
        }
        Ok(())
    }

    /// When the socket ends: every send in flight still gets its outcome (a stored message is
    /// published to the other sockets of its conversation); answers are written while the
    /// client can take them.
    pub async fn finish(&mut self, io: &mut Io, sender: Sender) {
        let mut writable = true;
        while !self.is_empty() {
            let done = self.oldest().await;
            if writable {
                writable = answer(done, io, sender).await.is_ok();
            } else if let Outcome::Committed(c) = done.outcome {
                let _ = io.chat.stored(c);
            }
        }
        if writable {
            let _ = io.writer.flush().await;
        }
    }
}

/// Buffers the answer of one send (the turn's end writes it out): its `ack` once stored, else the
/// error naming its `client_msg_id`.
pub async fn answer(done: Done, io: &mut Io, sender: Sender) -> Result<(), Gone> {
    let e = match done.outcome {
        Outcome::Committed(c) => match io.chat.stored(c) {
            Ok(a) => {
                io.writer
                    .buffer(&frames::ack(&done.client_msg_id, a.message.seq))
                    .await?;
                io.chat.metrics.ack_sent(sender, done.received);
                return Ok(());
            }
            Err(e) => FrameError::of(&e),
        },
        Outcome::Refused(e) => e,
    };
    io.writer.buffer(&e.frame_for(&done.client_msg_id)).await
}
