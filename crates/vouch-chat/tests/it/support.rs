//! A real chat service on 127.0.0.1:0 with a tempdir SQLite database, a loopback key server
//! serving the test signing key's PEM, real reqwest and tokio-tungstenite clients.
//!
//! Topology (`VOUCH_TEST_TOPOLOGY`): `sqlite` (default) is one node on a tempdir SQLite file;
//! `postgres-2-nodes` is two nodes on a scratch PostgreSQL database (`VOUCH_TEST_DATABASE_URL`,
//! dropped after the test) joined by NATS (`VOUCH_TEST_NATS_URL`, a subject prefix of the
//! test's own). Then customers (sessions, customer sockets, `url()`) use node A and agents
//! (`login`, `get_as`, `post_as`, `agent_ws`) use node B, so every conversation crosses nodes.

use std::collections::VecDeque;
use std::sync::OnceLock;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use vouch_chat::{ChatConfig, ChatService, NewAgent, NewAuthSettings, NewWidget, Role};
use vouch_jwt::SigningKey;

/// The website origin every test widget allows.
pub const SITE: &str = "http://shop.test";
pub const ISSUER: &str = "portal.test";
/// How long any single wait in a test may take before it fails.
pub const WAIT: Duration = Duration::from_secs(15);

/// The website's signing key, generated once per test binary.
pub fn site_key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| SigningKey::generate(2048).expect("generate test key"))
}

/// Another key, whose tokens the service must refuse.
pub fn other_key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| SigningKey::generate(2048).expect("generate test key"))
}

/// A forgery: signed by another key but naming the site key's `kid` (→ `bad_signature`).
pub fn forged(c: &Value) -> String {
    other_key()
        .sign_with_kid(c, Some(site_key().kid()))
        .expect("sign")
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64
}

/// Claims of a customer token valid for `ttl` seconds.
pub fn claims(sub: &str, ttl: i64) -> Value {
    let t = now();
    json!({
        "iss": ISSUER, "sub": sub, "iat": t, "exp": t + ttl,
        "given_name": "Alex", "family_name": "Doe", "email": "alex@example.com",
        "phone_number": "+1 555 0100", "preferred_username": "alex",
    })
}

pub fn token(sub: &str) -> String {
    site_key().sign(&claims(sub, 600)).expect("sign")
}

pub fn sign(c: &Value) -> String {
    site_key().sign(c).expect("sign")
}

/// A loopback HTTP server answering `/publickey` with the site key's PEM (and `/missing` 404).
pub struct KeyServer {
    pub base: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl KeyServer {
    pub async fn start() -> KeyServer {
        let pem = site_key().public_key().to_spki_pem();
        let app = axum::Router::new()
            .route("/publickey", axum::routing::get(move || async move { pem }))
            .route(
                "/html",
                axum::routing::get(|| async { axum::response::Html("<html>hello</html>") }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind key server");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await;
        });
        KeyServer {
            base,
            stop: Some(tx),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for KeyServer {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

/// The topology the contract tests run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topology {
    Sqlite,
    PostgresTwoNodes,
}

pub fn topology() -> Topology {
    match std::env::var("VOUCH_TEST_TOPOLOGY").as_deref() {
        Err(_) | Ok("") | Ok("sqlite") => Topology::Sqlite,
        Ok("postgres-2-nodes") => Topology::PostgresTwoNodes,
        Ok(other) => panic!("VOUCH_TEST_TOPOLOGY={other:?}: use sqlite or postgres-2-nodes"),
    }
}

fn required_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("VOUCH_TEST_TOPOLOGY=postgres-2-nodes needs {name} (scripts/test sets it)")
    })
}

async fn bind_loopback() -> tokio::net::TcpListener {
    tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind")
}

/// Serves `service` on `listener` until the returned sender is dropped or fires.
async fn serve_node(
    service: ChatService,
    listener: tokio::net::TcpListener,
) -> (std::net::SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        service
            .serve(listener, async move {
                let _ = rx.await;
            })
            .await
            .expect("serve");
    });
    (addr, tx)
}

/// A running chat service with an admin, an agent, one verified widget and one anonymous widget.
pub struct TestApp {
    /// Node A: customers and everything not agent-specific.
    pub base: String,
    pub ws_base: String,
    /// Node B in the two-node topology (else node A): agents.
    pub agent_base: String,
    pub agent_ws_base: String,
    pub http: reqwest::Client,
    pub service: ChatService,
    pub config: ChatConfig,
    pub keys: KeyServer,
    pub settings_id: String,
    /// Requires auth (verified customers).
    pub app_id: String,
    /// Allows anonymous customers.
    pub anon_app_id: String,
    pub admin_token: String,
    pub agent_token: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    _other_nodes: Vec<tokio::sync::oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
    _pg: Option<vouch_chat::storage::postgres::ScratchDatabase>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        for tx in self._other_nodes.drain(..) {
            let _ = tx.send(());
        }
    }
}

impl TestApp {
    pub async fn start() -> TestApp {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(tune: impl FnOnce(&mut ChatConfig)) -> TestApp {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = ChatConfig::with_data_dir(dir.path());
        config.allow_private_key_urls = true;
        let topology = topology();
        let pg = match topology {
            Topology::Sqlite => None,
            Topology::PostgresTwoNodes => {
                let db = vouch_chat::storage::postgres::ScratchDatabase::create(&required_env(
                    "VOUCH_TEST_DATABASE_URL",
                ))
                .await
                .expect("scratch PostgreSQL database");
                config.database_url = Some(db.url.clone());
                config.nats_url = Some(required_env("VOUCH_TEST_NATS_URL"));
                config.nats_subject_prefix = format!("vouchtest{}", uuid::Uuid::new_v4().simple());
                Some(db)
            }
        };
        tune(&mut config);
        let listener = bind_loopback().await;
        if topology == Topology::PostgresTwoNodes && config.public_url.is_none() {
            // Both nodes behind one public address, as behind a load balancer: node A's.
            config.public_url = Some(format!("http://{}", listener.local_addr().expect("addr")));
        }
        let keys = KeyServer::start().await;
        let service = ChatService::open(&config).await.expect("open chat service");
        let (addr, tx) = serve_node(service.clone(), listener).await;
        let mut other_nodes = Vec::new();
        let agent_addr = match topology {
            Topology::Sqlite => addr,
            Topology::PostgresTwoNodes => {
                let b = ChatService::open(&config).await.expect("open node B");
                let (b_addr, b_stop) = serve_node(b, bind_loopback().await).await;
                other_nodes.push(b_stop);
                b_addr
            }
        };
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
                    password: "secret".into(),
                },
            )
            .await
            .expect("add agent");
        }
        let settings = service
            .create_auth_settings(NewAuthSettings {
                name: "Shop".into(),
                public_key_url: keys.url("/publickey"),
                function_name: "auth.getAuthenticationToken".into(),
                issuer: Some(ISSUER.into()),
                leeway_secs: Some(0),
            })
            .await
            .expect("create settings");
        let widget = service
            .create_widget(NewWidget {
                name: "Shop chat".into(),
                allowed_origins: vec![SITE.into()],
                auth_settings_id: Some(settings.id),
                require_auth: true,
                title: None,
            })
            .await
            .expect("create widget");
        let anon = service
            .create_widget(NewWidget {
                name: "Open chat".into(),
                allowed_origins: vec![SITE.into()],
                auth_settings_id: Some(settings.id),
                require_auth: false,
                title: Some("Ask us".into()),
            })
            .await
            .expect("create anonymous widget");
        let http = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("client");
        let mut app = TestApp {
            base: format!("http://{addr}"),
            ws_base: format!("ws://{addr}"),
            agent_base: format!("http://{agent_addr}"),
            agent_ws_base: format!("ws://{agent_addr}"),
            http,
            service,
            config,
            keys,
            settings_id: settings.id.to_string(),
            app_id: widget.app_id.to_string(),
            anon_app_id: anon.app_id.to_string(),
            admin_token: String::new(),
            agent_token: String::new(),
            stop: Some(tx),
            _other_nodes: other_nodes,
            _dir: dir,
            _pg: pg,
        };
        app.admin_token = app.login("admin@example.com").await;
        app.agent_token = app.login("agent@example.com").await;
        app
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A URL on the agents' node.
    pub fn agent_url(&self, path: &str) -> String {
        format!("{}{path}", self.agent_base)
    }

    pub async fn login(&self, email: &str) -> String {
        let r = self
            .http
            .post(self.agent_url("/api/v1/agent/login"))
            .json(&json!({"email": email, "password": "secret"}))
            .send()
            .await
            .expect("login");
        assert_eq!(r.status(), StatusCode::OK);
        let v: Value = r.json().await.expect("json");
        v["token"].as_str().expect("token").to_string()
    }

    /// Adds another agent and signs it in.
    pub async fn new_agent(&self, email: &str) -> String {
        vouch_chat::add_agent(
            &self.config,
            NewAgent {
                email: email.into(),
                name: email.split('@').next().unwrap_or("x").into(),
                role: Role::Agent,
                password: "secret".into(),
            },
        )
        .await
        .expect("add agent");
        self.login(email).await
    }

    /// `POST …/sessions` from the site's origin; returns (status, body).
    pub async fn session_raw(
        &self,
        app_id: &str,
        origin: Option<&str>,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .http
            .post(self.url(&format!("/api/v1/widgets/{app_id}/sessions")));
        if let Some(o) = origin {
            req = req.header("Origin", o);
        }
        if let Some(t) = token {
            req = req.header("AuthenticatedUserToken", t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.expect("session request");
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// A verified session for `sub`; returns the 201 body.
    pub async fn session(&self, sub: &str) -> Value {
        let (s, v) = self
            .session_raw(&self.app_id, Some(SITE), Some(&token(sub)), None)
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v
    }

    /// An anonymous session; returns the 201 body.
    pub async fn anon_session(&self) -> Value {
        let (s, v) = self
            .session_raw(&self.anon_app_id, Some(SITE), None, None)
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v
    }

    pub async fn get_as(&self, token: &str, path: &str) -> (StatusCode, Value) {
        let r = self
            .http
            .get(self.agent_url(path))
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
            .post(self.agent_url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("post");
        let s = r.status();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    /// A customer socket from the site's origin.
    pub async fn customer_ws(&self, session_token: &str) -> Ws {
        self.try_customer_ws(session_token, Some(SITE))
            .await
            .expect("customer socket")
    }

    /// A customer socket; Err(status) when the upgrade is refused.
    pub async fn try_customer_ws(
        &self,
        session_token: &str,
        origin: Option<&str>,
    ) -> Result<Ws, u16> {
        let url = format!("{}/api/v1/chat?session_token={session_token}", self.ws_base);
        let mut req = url.into_client_request().expect("request");
        if let Some(o) = origin {
            req.headers_mut()
                .insert("Origin", HeaderValue::from_str(o).expect("origin"));
        }
        Ws::connect(req).await
    }

    /// An agent socket authenticated by Bearer.
    pub async fn agent_ws(&self, token: &str) -> Ws {
        let url = format!("{}/api/v1/agent/ws", self.agent_ws_base);
        let mut req = url.into_client_request().expect("request");
        req.headers_mut().insert(
            "Authorization",
            HeaderValue::from_str(&format!("Bearer {token}")).expect("header"),
        );
        Ws::connect(req).await.expect("agent socket")
    }
}

pub type Stream = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A WebSocket client that keeps frames it was not waiting for.
pub struct Ws {
    stream: Stream,
    pending: VecDeque<Value>,
    pub closed: bool,
    /// The code of the server's close frame, when one came.
    pub close_code: Option<u16>,
}

impl Ws {
    pub async fn connect(
        req: tokio_tungstenite::tungstenite::handshake::client::Request,
    ) -> Result<Ws, u16> {
        match tokio_tungstenite::connect_async(req).await {
            Ok((stream, _)) => Ok(Ws::from_stream(stream)),
            Err(tokio_tungstenite::tungstenite::Error::Http(res)) => Err(res.status().as_u16()),
            Err(e) => panic!("websocket connect failed: {e}"),
        }
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

    /// The next frame that matches, keeping the others for later.
    pub async fn next_where(&mut self, what: &str, f: impl Fn(&Value) -> bool) -> Value {
        if let Some(i) = self.pending.iter().position(&f) {
            return self.pending.remove(i).expect("index");
        }
        loop {
            match self.read().await {
                Some(v) if f(&v) => return v,
                Some(v) => self.pending.push_back(v),
                None => panic!(
                    "socket closed while waiting for {what}; held {:?}",
                    self.pending
                ),
            }
        }
    }

    pub async fn next_type(&mut self, t: &str) -> Value {
        self.next_where(t, |v| v["type"] == t).await
    }

    /// The next frame of any type (pending ones first).
    pub async fn next_any(&mut self) -> Option<Value> {
        if let Some(v) = self.pending.pop_front() {
            return Some(v);
        }
        self.read().await
    }

    /// Sends a message and waits for its ack; returns the seq.
    pub async fn say(&mut self, id: &str, text: &str) -> i64 {
        self.send(json!({"type": "send", "client_msg_id": id, "text": text}))
            .await;
        let ack = self
            .next_where("ack", |v| v["type"] == "ack" && v["client_msg_id"] == id)
            .await;
        ack["seq"].as_i64().expect("seq")
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
