//! `vouch chat` as a child process on 127.0.0.1:0 with a tempdir data dir, and the HTTP and
//! WebSocket clients the tests drive it with.

use std::collections::VecDeque;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// The website origin the test widget allows.
pub const SITE: &str = "http://shop.test";
/// How long any single wait may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(30);
/// Message limits high enough that the load is not rate-limited.
pub const LOAD_FLAGS: &[&str] = &["--msg-rate", "100000", "--msg-burst", "100000"];

/// The `vouch` binary with no `VOUCH_*` variables inherited from the test's environment.
pub fn vouch() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_vouch"));
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("VOUCH_") {
            c.env_remove(k);
        }
    }
    c.env("VOUCH_LOG", "warn");
    c
}

/// `vouch chat agents add`: an admin `admin@example.com` / `secret` in `dir`.
pub async fn add_admin(dir: &Path) {
    let mut child = vouch()
        .args(["chat", "agents", "add", "--data-dir"])
        .arg(dir)
        .args(["--email", "admin@example.com", "--name", "Admin"])
        .args(["--role", "admin", "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn vouch chat agents add");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(b"secret\n").await.expect("password");
    drop(stdin);
    let out = tokio::time::timeout(WAIT, child.wait_with_output())
        .await
        .expect("agents add finishes")
        .expect("agents add");
    assert!(
        out.status.success(),
        "agents add failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A running `vouch chat`.
pub struct ChatProcess {
    pub child: Child,
    pub pid: u32,
    pub addr: String,
    pub http: reqwest::Client,
    logs: Arc<Mutex<VecDeque<String>>>,
}

impl ChatProcess {
    /// `vouch chat --addr 127.0.0.1:0 --data-dir DIR --allow-private-key-urls EXTRA…`.
    pub async fn start(dir: &Path, extra: &[&str]) -> ChatProcess {
        let mut cmd = vouch();
        cmd.args([
            "chat",
            "--addr",
            "127.0.0.1:0",
            "--allow-private-key-urls",
            "--data-dir",
        ])
        .arg(dir)
        .args(extra);
        Self::spawn(cmd).await
    }

    /// Spawns a prepared `vouch chat` command and waits for its `chat: http://ADDR` line.
    pub async fn spawn(mut cmd: Command) -> ChatProcess {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn vouch chat");
        let pid = child.id().expect("pid");
        let logs = Arc::new(Mutex::new(VecDeque::new()));
        let mut stderr = child.stderr.take().expect("stderr");
        let keep = logs.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 8192];
            while let Ok(n) = stderr.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                let mut l = keep.lock().expect("logs");
                l.push_back(String::from_utf8_lossy(&buf[..n]).into_owned());
                while l.len() > 64 {
                    l.pop_front();
                }
            }
        });
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let addr = tokio::time::timeout(WAIT, async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(url) = line.trim().strip_prefix("chat: http://") {
                    return Some(url.to_string());
                }
            }
            None
        })
        .await
        .expect("vouch chat prints its address in time");
        let Some(addr) = addr else {
            panic!(
                "vouch chat exited before listening: {}",
                logs.lock()
                    .expect("logs")
                    .iter()
                    .cloned()
                    .collect::<String>()
            );
        };
        assert!(addr.starts_with("127.0.0.1:"), "loopback only: {addr}");
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let http = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("client");
        ChatProcess {
            child,
            pid,
            addr,
            http,
            logs,
        }
    }

    /// What the process wrote to stderr lately (for failure messages).
    pub fn logs(&self) -> String {
        self.logs.lock().expect("logs").iter().cloned().collect()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// SIGKILL: no shutdown path runs, nothing is flushed.
    pub async fn kill(&mut self) {
        self.child.start_kill().expect("SIGKILL");
        let status = tokio::time::timeout(WAIT, self.child.wait())
            .await
            .expect("the process dies")
            .expect("wait");
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(libc::SIGKILL), "{status:?}");
    }

    pub async fn login(&self) -> String {
        let r = self
            .http
            .post(self.url("/api/v1/agent/login"))
            .json(&json!({"email": "admin@example.com", "password": "secret"}))
            .send()
            .await
            .expect("login");
        assert_eq!(r.status(), 200, "login");
        let v: Value = r.json().await.expect("json");
        v["token"].as_str().expect("token").to_string()
    }

    /// An anonymous widget allowed on [`SITE`]; returns its app id.
    pub async fn create_widget(&self, admin: &str) -> String {
        let r = self
            .http
            .post(self.url("/api/v1/admin/widgets"))
            .bearer_auth(admin)
            .json(&json!({"name": "Shop chat", "allowed_origins": [SITE], "require_auth": false}))
            .send()
            .await
            .expect("create widget");
        assert_eq!(r.status(), 201, "create widget");
        let v: Value = r.json().await.expect("json");
        v["app_id"].as_str().expect("app_id").to_string()
    }

    /// `POST …/sessions` from [`SITE`]: (status, body).
    pub async fn session_raw(&self, app_id: &str) -> (u16, Value) {
        let r = self
            .http
            .post(self.url(&format!("/api/v1/widgets/{app_id}/sessions")))
            .header("Origin", SITE)
            .send()
            .await
            .expect("session");
        let s = r.status().as_u16();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    /// A new customer session: (session token, conversation id).
    pub async fn session(&self, app_id: &str) -> (String, String) {
        let (s, v) = self.session_raw(app_id).await;
        assert_eq!(s, 201, "{v}");
        (
            v["session_token"].as_str().expect("token").to_string(),
            v["conversation_id"].as_str().expect("id").to_string(),
        )
    }

    /// The agent API's view of a conversation.
    pub async fn conversation(&self, admin: &str, id: &str) -> Value {
        let r = self
            .http
            .get(self.url(&format!("/api/v1/agent/conversations/{id}")))
            .bearer_auth(admin)
            .send()
            .await
            .expect("conversation");
        assert_eq!(r.status(), 200, "conversation {id}");
        r.json().await.expect("json")
    }

    /// A customer socket from [`SITE`].
    pub async fn customer_ws(&self, session_token: &str) -> Ws {
        customer_ws(&self.addr, session_token).await
    }
}

/// A customer socket to the chat service at `addr`, from [`SITE`].
pub async fn customer_ws(addr: &str, session_token: &str) -> Ws {
    let url = format!("ws://{addr}/api/v1/chat?session_token={session_token}");
    let mut req = url.into_client_request().expect("request");
    req.headers_mut()
        .insert("Origin", HeaderValue::from_static(SITE));
    let (stream, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(req))
        .await
        .expect("connect in time")
        .expect("customer socket");
    Ws { stream }
}

/// A customer WebSocket client.
pub struct Ws {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Ws {
    /// Sends a JSON frame; false when the socket is gone.
    pub async fn send(&mut self, v: Value) -> bool {
        self.stream.send(Message::text(v.to_string())).await.is_ok()
    }

    pub async fn send_message(&mut self, client_msg_id: &str, text: &str) -> bool {
        self.send(json!({"type": "send", "client_msg_id": client_msg_id, "text": text}))
            .await
    }

    /// The next JSON frame; None when the socket closed or failed.
    pub async fn next(&mut self) -> Option<Value> {
        loop {
            match tokio::time::timeout(WAIT, self.stream.next()).await {
                Err(_) => panic!("no frame within {WAIT:?}"),
                Ok(None) | Ok(Some(Err(_))) | Ok(Some(Ok(Message::Close(_)))) => return None,
                Ok(Some(Ok(Message::Text(t)))) => {
                    return Some(serde_json::from_str(t.as_str()).expect("server frames are JSON"))
                }
                Ok(Some(Ok(_))) => continue,
            }
        }
    }

    /// The next frame that is not a `message` (acks, errors).
    pub async fn next_reply(&mut self) -> Value {
        loop {
            let f = self.next().await.expect("socket open");
            if f["type"] != "message" {
                return f;
            }
        }
    }

    /// Sends and waits for the ack's seq.
    pub async fn say(&mut self, client_msg_id: &str, text: &str) -> i64 {
        assert!(self.send_message(client_msg_id, text).await, "send");
        let f = self.next_reply().await;
        assert_eq!(f["type"], "ack", "{f}");
        assert_eq!(f["client_msg_id"], client_msg_id, "{f}");
        f["seq"].as_i64().expect("seq")
    }

    /// `resume` after `after_seq`, reading `count` message frames: (seq, client_msg_id, text).
    pub async fn resume(&mut self, after_seq: i64, count: usize) -> Vec<(i64, String, String)> {
        assert!(
            self.send(json!({"type": "resume", "after_seq": after_seq}))
                .await
        );
        let mut out = Vec::with_capacity(count);
        while out.len() < count {
            let f = self.next().await.expect("socket open during resume");
            if f["type"] == "message" {
                out.push((
                    f["seq"].as_i64().expect("seq"),
                    f["client_msg_id"].as_str().unwrap_or_default().to_string(),
                    f["text"].as_str().unwrap_or_default().to_string(),
                ));
            }
        }
        out
    }
}

/// (seq, client_msg_id, text) of each message the agent API lists.
pub fn messages_of(conversation: &Value) -> Vec<(i64, String, String)> {
    conversation["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| {
            (
                m["seq"].as_i64().expect("seq"),
                m["client_msg_id"].as_str().unwrap_or_default().to_string(),
                m["text"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}
