//! WebSocket clients of the chat service's two sockets: the request builders (which the bench
//! uses with a raw [`Stream`]) and [`Ws`], a test client that keeps the frames it was not
//! waiting for. Connections set `TCP_NODELAY` (without it Nagle and delayed ACKs add ~40 ms to
//! a round trip).

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{Error, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::WAIT;

pub type Stream = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The customer socket's upgrade request (`{ws_base}/api/v1/chat?session_token=…`), with
/// `Origin` when given.
pub fn customer_request(
    ws_base: &str,
    session_token: &str,
    origin: Option<&str>,
) -> anyhow::Result<Request> {
    let mut req =
        format!("{ws_base}/api/v1/chat?session_token={session_token}").into_client_request()?;
    if let Some(o) = origin {
        req.headers_mut()
            .insert("Origin", HeaderValue::from_str(o)?);
    }
    Ok(req)
}

/// The agent socket's upgrade request (`{ws_base}/api/v1/agent/ws`), signed in by Bearer.
pub fn agent_request(ws_base: &str, token: &str) -> anyhow::Result<Request> {
    let mut req = format!("{ws_base}/api/v1/agent/ws").into_client_request()?;
    let bearer = HeaderValue::from_str(&format!("Bearer {token}"))?;
    req.headers_mut().insert("Authorization", bearer);
    Ok(req)
}

/// Connects `req` with `TCP_NODELAY`.
pub async fn open(req: Request) -> Result<Stream, Error> {
    let (ws, _) = tokio_tungstenite::connect_async_with_config(req, None, true).await?;
    Ok(ws)
}

/// The `send` frame of a customer message.
pub fn send_frame(client_msg_id: &str, text: &str) -> Value {
    json!({"type": "send", "client_msg_id": client_msg_id, "text": text})
}

/// A WebSocket test client that keeps frames it was not waiting for. Every wait fails the test
/// after [`WAIT`].
pub struct Ws {
    stream: Stream,
    pending: VecDeque<Value>,
    pub closed: bool,
    /// The code of the server's close frame, when one came.
    pub close_code: Option<u16>,
}

/// The status of a refused upgrade, or a panic for anything else.
fn refused(e: Error) -> u16 {
    match e {
        Error::Http(res) => res.status().as_u16(),
        e => panic!("websocket connect failed: {e}"),
    }
}

impl Ws {
    /// Err(status) when the upgrade is refused.
    pub async fn connect(req: Request) -> Result<Ws, u16> {
        let stream = tokio::time::timeout(WAIT, open(req))
            .await
            .expect("websocket connect in time")
            .map_err(refused)?;
        Ok(Ws::from_stream(stream))
    }

    /// A customer socket; Err(status) when the upgrade is refused.
    pub async fn customer(
        ws_base: &str,
        session_token: &str,
        origin: Option<&str>,
    ) -> Result<Ws, u16> {
        Ws::connect(customer_request(ws_base, session_token, origin).expect("request")).await
    }

    /// An agent socket signed in by Bearer; Err(status) when the upgrade is refused.
    pub async fn agent(ws_base: &str, token: &str) -> Result<Ws, u16> {
        Ws::connect(agent_request(ws_base, token).expect("request")).await
    }

    /// Connects `req` to `server` from the local address `from` (a 127.x.y.z address).
    pub async fn connect_from(from: IpAddr, server: SocketAddr, req: Request) -> Result<Ws, u16> {
        let socket = TcpSocket::new_v4().expect("socket");
        socket.bind(SocketAddr::new(from, 0)).expect("bind client");
        let tcp = tokio::time::timeout(WAIT, socket.connect(server))
            .await
            .expect("connect in time")
            .expect("connect");
        tcp.set_nodelay(true).expect("TCP_NODELAY");
        let handshake = tokio_tungstenite::client_async(req, MaybeTlsStream::Plain(tcp));
        let (stream, _) = tokio::time::timeout(WAIT, handshake)
            .await
            .expect("handshake in time")
            .map_err(refused)?;
        Ok(Ws::from_stream(stream))
    }

    /// A client over an already upgraded stream (e.g. one with a tuned TCP socket).
    pub fn from_stream(stream: Stream) -> Ws {
        Ws {
            stream,
            pending: VecDeque::new(),
            closed: false,
            close_code: None,
        }
    }

    /// Forgets the frames kept for later.
    pub fn drop_pending(&mut self) {
        self.pending.clear();
    }

    pub async fn send(&mut self, v: Value) {
        self.send_text(&v.to_string()).await
    }

    pub async fn send_text(&mut self, s: &str) {
        self.stream
            .send(Message::text(s))
            .await
            .expect("send frame");
    }

    /// Sends a JSON frame; false when the socket is gone.
    pub async fn try_send(&mut self, v: Value) -> bool {
        self.stream.send(Message::text(v.to_string())).await.is_ok()
    }

    /// The next JSON frame from the server, or None when the socket closed.
    async fn read(&mut self) -> Option<Value> {
        loop {
            match tokio::time::timeout(WAIT, self.stream.next()).await {
                Err(_) => panic!("no frame within {WAIT:?}"),
                Ok(Some(Ok(Message::Close(frame)))) => {
                    self.close_code = frame.map(|f| u16::from(f.code));
                    self.closed = true;
                    return None;
                }
                Ok(None) | Ok(Some(Err(_))) => {
                    self.closed = true;
                    return None;
                }
                Ok(Some(Ok(Message::Text(t)))) => {
                    return Some(serde_json::from_str(t.as_str()).expect("server frames are JSON"))
                }
                Ok(Some(Ok(_))) => continue,
            }
        }
    }

    /// The next frame that matches (kept ones first), keeping the others for later; None when
    /// the socket closes first.
    pub async fn try_next_where(&mut self, f: impl Fn(&Value) -> bool) -> Option<Value> {
        if let Some(i) = self.pending.iter().position(&f) {
            return self.pending.remove(i);
        }
        loop {
            let v = self.read().await?;
            if f(&v) {
                return Some(v);
            }
            self.pending.push_back(v);
        }
    }

    /// The next frame that matches, keeping the others for later; panics when the socket
    /// closes first (naming `what`).
    pub async fn next_where(&mut self, what: &str, f: impl Fn(&Value) -> bool) -> Value {
        match self.try_next_where(f).await {
            Some(v) => v,
            None => panic!(
                "socket closed while waiting for {what}; held {:?}",
                self.pending
            ),
        }
    }

    pub async fn next_type(&mut self, t: &str) -> Value {
        self.next_where(t, |v| v["type"] == t).await
    }

    /// The next frame of any type (kept ones first); None when the socket closed.
    pub async fn next_any(&mut self) -> Option<Value> {
        if let Some(v) = self.pending.pop_front() {
            return Some(v);
        }
        self.read().await
    }

    /// The next frame that is not a `message` or a waiting customer's `queue` (acks, errors).
    pub async fn next_reply(&mut self) -> Value {
        self.next_where("a reply", |v| {
            v["type"] != "message" && v["type"] != "queue"
        })
        .await
    }

    /// Sends a message and waits for its ack or error frame: the seq, or the error's code.
    pub async fn try_say(&mut self, id: &str, text: &str) -> Result<i64, String> {
        self.send(send_frame(id, text)).await;
        let f = self
            .next_where("ack or error", |v| {
                (v["type"] == "ack" || v["type"] == "error") && v["client_msg_id"] == id
            })
            .await;
        match f["seq"].as_i64() {
            Some(seq) if f["type"] == "ack" => Ok(seq),
            _ => Err(f["error"].as_str().unwrap_or("?").to_string()),
        }
    }

    /// Sends a message that must be acknowledged; its seq.
    pub async fn say(&mut self, id: &str, text: &str) -> i64 {
        match self.try_say(id, text).await {
            Ok(seq) => seq,
            Err(code) => panic!("{id} refused: {code}"),
        }
    }

    /// `resume` after `after_seq`, reading `count` message frames: (seq, client_msg_id, text).
    pub async fn resume(&mut self, after_seq: i64, count: usize) -> Vec<(i64, String, String)> {
        self.send(json!({"type": "resume", "after_seq": after_seq}))
            .await;
        let mut out = Vec::with_capacity(count);
        while out.len() < count {
            let f = self.next_type("message").await;
            out.push((
                f["seq"].as_i64().expect("seq"),
                f["client_msg_id"].as_str().unwrap_or_default().to_string(),
                f["text"].as_str().unwrap_or_default().to_string(),
            ));
        }
        out
    }

    /// Waits until the server closes the socket (frames before it are kept).
    pub async fn wait_closed(&mut self) {
        while !self.closed {
            if let Some(v) = self.read().await {
                self.pending.push_back(v);
            }
        }
    }
}
