//! What the adversarial suite runs against: the real `vouch` binary, an in-process chat service
//! on 127.0.0.1:0 with a tempdir SQLite database, loopback HTTP servers that count every
//! connection and request, and HTTP/WebSocket clients that can speak from any 127.x.y.z address.
//! Nothing here sends a packet outside 127.0.0.0/8 and ::1.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::serve::ListenerExt;
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;
use vouch_chat::{ChatConfig, ChatService, NewAgent, Role};
use vouch_jwt::SigningKey;

/// The website origin the test widgets allow.
pub const SITE: &str = "http://shop.test";
pub const ISSUER: &str = "portal.test";
/// The longest any single wait may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(20);
pub const PASSWORD: &str = "correct horse battery staple";

/// The website's signing key (published by the key server).
pub fn site_key() -> &'static SigningKey {
    static K: OnceLock<SigningKey> = OnceLock::new();
    K.get_or_init(|| SigningKey::generate(2048).expect("generate key"))
}

/// A second key the key server also publishes (so `kid` selection matters).
pub fn second_key() -> &'static SigningKey {
    static K: OnceLock<SigningKey> = OnceLock::new();
    K.get_or_init(|| SigningKey::generate(2048).expect("generate key"))
}

/// A key nobody publishes: the attacker's.
pub fn stranger_key() -> &'static SigningKey {
    static K: OnceLock<SigningKey> = OnceLock::new();
    K.get_or_init(|| SigningKey::generate(2048).expect("generate key"))
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64
}

pub fn b64(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

/// A loopback address other than 127.0.0.1, to act as a second client.
pub fn loopback(n: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, n))
}

/// A loopback HTTP server that counts accepted TCP connections and HTTP requests.
pub struct Counting {
    pub addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Counting {
    pub async fn start(router: Router) -> Counting {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), router)
            .await
            .expect("bind 127.0.0.1")
    }

    /// None when the address cannot be bound (e.g. no IPv6 loopback in this sandbox).
    pub async fn start_on(bind: SocketAddr, router: Router) -> Option<Counting> {
        assert!(bind.ip().is_loopback(), "test servers are loopback only");
        let listener = tokio::net::TcpListener::bind(bind).await.ok()?;
        let addr = listener.local_addr().ok()?;
        let connections = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(AtomicUsize::new(0));
        let c = connections.clone();
        let listener = listener.tap_io(move |_| {
            c.fetch_add(1, Ordering::SeqCst);
        });
        let r = requests.clone();
        let router = router.layer(middleware::from_fn(move |req: Request, next: Next| {
            let r = r.clone();
            async move {
                r.fetch_add(1, Ordering::SeqCst);
                next.run(req).await
            }
        }));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Some(Counting {
            addr,
            connections,
            requests,
            task,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for Counting {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// An HTTP client speaking from `from` (a 127.x.y.z address).
pub fn client_from(from: IpAddr) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .local_address(from)
        .timeout(WAIT)
        .build()
        .expect("client")
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
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let srv = service.clone();
        tokio::spawn(async move {
            let _ = srv
                .serve(listener, async move {
                    let _ = rx.await;
                })
                .await;
        });
        for (email, role) in [
            ("admin@example.com", Role::Admin),
            ("agent@example.com", Role::Agent),
        ] {
            vouch_chat::add_agent(
                &config,
                NewAgent {
                    email: email.into(),
                    name: format!("{role} person"),
                    role,
                    password: PASSWORD.into(),
                },
            )
            .await
            .expect("add agent");
        }
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

    /// `POST /api/v1/agent/login` with `client`; (status, Retry-After, body).
    pub async fn login_from(
        &self,
        client: &reqwest::Client,
        email: &str,
        password: &str,
    ) -> (StatusCode, Value) {
        let r = client
            .post(self.url("/api/v1/agent/login"))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .expect("login request");
        let s = r.status();
        let retry = r
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let mut v: Value = r.json().await.unwrap_or(Value::Null);
        if let (Some(retry), Some(obj)) = (retry, v.as_object_mut()) {
            obj.insert("retry_after_header".into(), json!(retry));
        }
        (s, v)
    }

    pub async fn add_agent(&self, email: &str, role: Role) {
        vouch_chat::add_agent(
            &self.config,
            NewAgent {
                email: email.into(),
                name: email.split('@').next().unwrap_or("x").into(),
                role,
                password: PASSWORD.into(),
            },
        )
        .await
        .expect("add agent");
    }

    pub async fn get_as(&self, token: &str, path: &str) -> (StatusCode, Value) {
        let r = self
            .http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("get");
        let s = r.status();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn post_as(&self, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
        let r = self
            .http
            .post(self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("post");
        let s = r.status();
        (s, r.json().await.unwrap_or(Value::Null))
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
        let mut req = client.post(self.url(&format!("/api/v1/widgets/{app_id}/sessions")));
        if let Some(o) = origin {
            req = req.header("Origin", o);
        }
        if let Some(t) = token {
            req = req.header("AuthenticatedUserToken", t);
        }
        match req.send().await {
            Ok(r) => {
                let s = r.status().as_u16();
                (s, r.json().await.unwrap_or(Value::Null))
            }
            Err(_) => (0, Value::Null),
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
        let url = format!("{}/api/v1/chat?session_token={session_token}", self.ws_base);
        let mut req = url.into_client_request().expect("request");
        if let Some(o) = origin {
            req.headers_mut()
                .insert("Origin", HeaderValue::from_str(o).expect("origin"));
        }
        Ws::connect_from(from, self.addr, req).await
    }

    /// An agent socket from `from`, authenticated by Bearer.
    pub async fn agent_ws_from(&self, from: IpAddr, token: &str) -> Result<Ws, u16> {
        let url = format!("{}/api/v1/agent/ws", self.ws_base);
        let mut req = url.into_client_request().expect("request");
        req.headers_mut().insert(
            "Authorization",
            HeaderValue::from_str(&format!("Bearer {token}")).expect("header"),
        );
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

/// A WebSocket client that keeps frames it was not waiting for.
pub struct Ws {
    stream: WebSocketStream<TcpStream>,
    pending: Vec<Value>,
}

impl Ws {
    pub async fn connect_from(
        from: IpAddr,
        server: SocketAddr,
        req: tokio_tungstenite::tungstenite::handshake::client::Request,
    ) -> Result<Ws, u16> {
        let socket = TcpSocket::new_v4().expect("socket");
        socket.bind(SocketAddr::new(from, 0)).expect("bind client");
        let tcp = tokio::time::timeout(WAIT, socket.connect(server))
            .await
            .expect("connect in time")
            .expect("connect");
        match tokio::time::timeout(WAIT, tokio_tungstenite::client_async(req, tcp))
            .await
            .expect("handshake in time")
        {
            Ok((stream, _)) => Ok(Ws {
                stream,
                pending: Vec::new(),
            }),
            Err(tokio_tungstenite::tungstenite::Error::Http(res)) => Err(res.status().as_u16()),
            Err(e) => panic!("websocket handshake failed: {e}"),
        }
    }

    pub async fn send(&mut self, v: Value) {
        self.stream
            .send(Message::text(v.to_string()))
            .await
            .expect("send frame");
    }

    /// The next frame matching `f` (others are kept); None when the socket closes first.
    pub async fn next_where(&mut self, f: impl Fn(&Value) -> bool) -> Option<Value> {
        if let Some(i) = self.pending.iter().position(&f) {
            return Some(self.pending.remove(i));
        }
        loop {
            match tokio::time::timeout(WAIT, self.stream.next())
                .await
                .expect("a frame in time")
            {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return None,
                Some(Ok(Message::Text(t))) => {
                    let v: Value = serde_json::from_str(t.as_str()).expect("JSON frame");
                    if f(&v) {
                        return Some(v);
                    }
                    self.pending.push(v);
                }
                Some(Ok(_)) => {}
            }
        }
    }

    /// Sends a message and waits for its ack; the seq, or the error frame's code.
    pub async fn say(&mut self, id: &str, text: &str) -> Result<i64, String> {
        self.send(json!({"type": "send", "client_msg_id": id, "text": text}))
            .await;
        let f = self
            .next_where(|v| {
                (v["type"] == "ack" || v["type"] == "error") && v["client_msg_id"] == id
            })
            .await
            .expect("ack or error before close");
        match f["seq"].as_i64() {
            Some(seq) if f["type"] == "ack" => Ok(seq),
            _ => Err(f["error"].as_str().unwrap_or("?").to_string()),
        }
    }
}
