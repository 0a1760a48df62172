//! `vouch chat` as a child process on 127.0.0.1:0 with a tempdir data dir, and the HTTP and
//! WebSocket clients the tests drive it with.

use std::collections::VecDeque;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};
use vouch_testkit::http::{
    create_session, get_as, http_client, listed_messages, login, post_as, session_ids,
};
use vouch_testkit::process::{chat_url, clean_command, drain};

pub use vouch_testkit::{Ws, SITE, WAIT};

/// Message limits high enough that the load is not rate-limited.
pub const LOAD_FLAGS: &[&str] = &["--msg-rate", "100000", "--msg-burst", "100000"];

/// The `vouch` binary with no `VOUCH_*` variables inherited from the test's environment.
pub fn vouch() -> Command {
    let mut c = clean_command(env!("CARGO_BIN_EXE_vouch"));
    c.env("VOUCH_LOG", "warn");
    c
}

/// `vouch chat agents add`: an admin `admin@example.com` / `secret` in `dir`.
pub async fn add_admin(dir: &Path) {
    let mut cmd = vouch();
    cmd.args(["chat", "agents", "add", "--data-dir"])
        .arg(dir)
        .args(["--email", "admin@example.com", "--name", "Admin"])
        .args(["--role", "admin", "--password-stdin"]);
    run_with_password(cmd, "agents add").await;
}

/// Runs an account-adding `vouch` command with the password `secret` on stdin; it must succeed.
pub async fn run_with_password(mut cmd: Command, what: &str) {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {what}: {e}"));
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(b"secret\n").await.expect("password");
    drop(stdin);
    let out = tokio::time::timeout(WAIT, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("{what} finishes"))
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}",
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
        Self::spawn(Self::command(dir, extra)).await
    }

    /// The command [`ChatProcess::start`] runs, to adjust before [`ChatProcess::spawn`].
    pub fn command(dir: &Path, extra: &[&str]) -> Command {
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
        cmd
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
        let url = tokio::time::timeout(WAIT, chat_url(&mut lines))
            .await
            .expect("vouch chat prints its address in time")
            .unwrap_or(None);
        let Some(addr) = url.and_then(|u| u.strip_prefix("http://").map(str::to_string)) else {
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
        drain(lines);
        let http = http_client();
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

    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
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
        login(&self.http, &self.base(), "admin@example.com", "secret").await
    }

    /// An anonymous widget allowed on [`SITE`]; returns its app id.
    pub async fn create_widget(&self, admin: &str) -> String {
        let (s, v) = post_as(
            &self.http,
            &self.url("/api/v1/admin/widgets"),
            admin,
            json!({"name": "Shop chat", "allowed_origins": [SITE], "require_auth": false}),
        )
        .await;
        assert_eq!(s, 201, "create widget");
        v["app_id"].as_str().expect("app_id").to_string()
    }

    /// `POST …/sessions` from [`SITE`]: (status, body).
    pub async fn session_raw(&self, app_id: &str) -> (u16, Value) {
        let (s, v) = create_session(&self.http, &self.base(), app_id, Some(SITE), None, None)
            .await
            .expect("session");
        (s.as_u16(), v)
    }

    /// A new customer session: (session token, conversation id).
    pub async fn session(&self, app_id: &str) -> (String, String) {
        let (s, v) = self.session_raw(app_id).await;
        assert_eq!(s, 201, "{v}");
        session_ids(&v)
    }

    /// The agent API's view of a conversation.
    pub async fn conversation(&self, admin: &str, id: &str) -> Value {
        let path = format!("/api/v1/agent/conversations/{id}");
        let (s, v) = get_as(&self.http, &self.url(&path), admin).await;
        assert_eq!(s, 200, "conversation {id}");
        v
    }

    /// A customer socket from [`SITE`].
    pub async fn customer_ws(&self, session_token: &str) -> Ws {
        customer_ws(&self.addr, session_token).await
    }
}

/// A customer socket to the chat service at `addr`, from [`SITE`].
pub async fn customer_ws(addr: &str, session_token: &str) -> Ws {
    Ws::customer(&format!("ws://{addr}"), session_token, Some(SITE))
        .await
        .expect("customer socket")
}

/// (seq, client_msg_id, text) of each message the agent API lists.
pub fn messages_of(conversation: &Value) -> Vec<(i64, String, String)> {
    listed_messages(conversation)
        .into_iter()
        .map(|m| (m.seq, m.client_msg_id, m.text))
        .collect()
}
