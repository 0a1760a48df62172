//! What the adversarial suite runs against: the real `vouch` binary, an in-process chat service
//! on 127.0.0.1:0 with a tempdir SQLite database, loopback HTTP servers that count every
//! connection and request, and HTTP/WebSocket clients that can speak from any 127.x.y.z address.
//! Nothing here sends a packet outside 127.0.0.0/8 and ::1.

use std::net::{IpAddr, SocketAddr};
use std::process::Stdio;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;
use vouch_chat::{ChatConfig, ChatService, Role};
use vouch_testkit::chat::{add_admin_and_agent, add_person, serve_node};
use vouch_testkit::http::{create_session, sign_in};
use vouch_testkit::ws::{agent_request, customer_request};

pub use vouch_testkit::{
    client_from, loopback, now, second_key, site_key, stranger_key, Counting, Ws, ISSUER, PASSWORD,
    SITE, WAIT,
};

pub fn b64(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

/// The outcome of `vouch token verify`.
#[derive(Debug)]
pub struct CliVerdict {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl CliVerdict {
    /// The reason code of `invalid token: <reason>: <detail>` (exit 1), or "ok" (exit 0).
    pub fn reason(&self) -> String {
        match self.code {
            Some(0) => "ok".into(),
            Some(1) => {
                let line = self.stderr.lines().last().unwrap_or_default();
                match line
                    .strip_prefix("invalid token: ")
                    .and_then(|rest| rest.split_once(": "))
                {
                    Some((reason, _detail)) => reason.to_string(),
                    None => format!("unparsed stderr {:?}", self.stderr),
                }
            }
            other => format!("exit {other:?}, stderr {:?}", self.stderr),
        }
    }
}

/// Runs the built binary: `vouch token verify --key-url URL [extra…] TOKEN` (the token on stdin
/// as `-` when it is too long for one argv entry).
pub async fn cli_verify(key_url: &str, extra: &[&str], token: &str) -> CliVerdict {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_vouch"));
    cmd.args(["token", "verify", "--key-url", key_url])
        .args(extra)
        .env("VOUCH_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let via_stdin = token.len() > 64 * 1024;
    cmd.arg(if via_stdin { "-" } else { token });
    let mut child = cmd.spawn().expect("run the vouch binary");
    let mut stdin = child.stdin.take().expect("stdin");
    if via_stdin {
        // The CLI may stop reading once it has seen too much; that is its answer, not an error.
        let _ = stdin.write_all(token.as_bytes()).await;
    }
    drop(stdin);
    let out = tokio::time::timeout(WAIT, child.wait_with_output())
        .await
        .expect("vouch token verify finished in time")
        .expect("vouch token verify ran");
    CliVerdict {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A running chat service with an admin and an agent signed in.
pub struct ChatApp {
    pub addr: SocketAddr,
    pub base: String,
    pub ws_base: String,
    pub http: reqwest::Client,
    pub config: ChatConfig,
    pub service: ChatService,
    pub admin_token: String,
    pub agent_token: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
}

impl Drop for ChatApp {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

impl ChatApp {
    /// `allow_private` is `--allow-private-key-urls`.
    pub async fn start(allow_private: bool, tune: impl FnOnce(&mut ChatConfig)) -> ChatApp {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = ChatConfig::with_data_dir(dir.path());
        config.allow_private_key_urls = allow_private;
        tune(&mut config);
        let service = ChatService::open(&config).await.expect("open chat service");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let (addr, tx) = serve_node(service.clone(), listener).await;
        add_admin_and_agent(&config, PASSWORD).await;
        let mut app = ChatApp {
            addr,
            base: format!("http://{addr}"),
            ws_base: format!("ws://{addr}"),
            http: client_from(loopback(1)),
            config,
            service,
            admin_token: String::new(),
            agent_token: String::new(),
            stop: Some(tx),
            _dir: dir,
        };
        app.admin_token = app.login("admin@example.com").await;
        app.agent_token = app.login("agent@example.com").await;
        app
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn login(&self, email: &str) -> String {
        let (s, v) = self.login_from(&self.http, email, PASSWORD).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v["token"].as_str().expect("token").to_string()
    }

    /// `POST /api/v1/agent/login` with `client`; (status, body with `retry_after_header`).
    pub async fn login_from(
        &self,
        client: &reqwest::Client,
        email: &str,
        password: &str,
    ) -> (StatusCode, Value) {
        sign_in(client, &self.base, email, password).await
    }

    pub async fn add_agent(&self, email: &str, role: Role) {
        let name = email.split('@').next().unwrap_or("x");
        add_person(&self.config, email, name, role, PASSWORD)
            .await
            .expect("add agent");
    }

    pub async fn get_as(&self, token: &str, path: &str) -> (StatusCode, Value) {
        vouch_testkit::get_as(&self.http, &self.url(path), token).await
    }

    pub async fn post_as(&self, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
        vouch_testkit::post_as(&self.http, &self.url(path), token, body).await
    }

    /// `POST /api/v1/admin/auth-settings` as the admin.
    pub async fn create_settings(&self, public_key_url: &str) -> (StatusCode, Value) {
        self.post_as(
            &self.admin_token.clone(),
            "/api/v1/admin/auth-settings",
            json!({
                "name": "Shop",
                "public_key_url": public_key_url,
                "function_name": "auth.getAuthenticationToken",
                "issuer": ISSUER,
                "leeway_secs": 60,
            }),
        )
        .await
    }

    /// A widget allowing [`SITE`]; returns its app id.
    pub async fn create_widget(&self, settings_id: Option<&str>, require_auth: bool) -> String {
        let (s, v) = self
            .post_as(
                &self.admin_token.clone(),
                "/api/v1/admin/widgets",
                json!({
                    "name": "Shop chat",
                    "allowed_origins": [SITE],
                    "auth_settings_id": settings_id,
                    "require_auth": require_auth,
                }),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v["app_id"].as_str().expect("app_id").to_string()
    }

    /// `POST …/sessions` from `client` with the site's origin; (status, body). A transport
    /// error (the server closed the connection) is reported as status 0.
    pub async fn session_from(
        &self,
        client: &reqwest::Client,
        app_id: &str,
        origin: Option<&str>,
        token: Option<&str>,
    ) -> (u16, Value) {
        match create_session(client, &self.base, app_id, origin, token, None).await {
            Some((s, v)) => (s.as_u16(), v),
            None => (0, Value::Null),
        }
    }

    pub async fn session(&self, app_id: &str, token: Option<&str>) -> (u16, Value) {
        self.session_from(&self.http, app_id, Some(SITE), token)
            .await
    }

    /// A customer socket from `from`; Err(status) when the upgrade is refused.
    pub async fn customer_ws_from(
        &self,
        from: IpAddr,
        session_token: &str,
        origin: Option<&str>,
    ) -> Result<Ws, u16> {
        let req = customer_request(&self.ws_base, session_token, origin).expect("request");
        Ws::connect_from(from, self.addr, req).await
    }

    /// An agent socket from `from`, authenticated by Bearer.
    pub async fn agent_ws_from(&self, from: IpAddr, token: &str) -> Result<Ws, u16> {
        let req = agent_request(&self.ws_base, token).expect("request");
        Ws::connect_from(from, self.addr, req).await
    }

    pub async fn healthy(&self) -> bool {
        let probe = client_from(loopback(99));
        matches!(
            probe.get(self.url("/healthz")).send().await,
            Ok(r) if r.status() == StatusCode::OK
        )
    }
}
