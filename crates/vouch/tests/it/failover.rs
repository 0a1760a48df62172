//! Several `vouch chat` processes (the real binary) on one PostgreSQL database joined by NATS:
//! a customer on node A and the agent on node B chat live; node A is killed (SIGKILL) while the
//! customer is connected and sending; the customer reconnects to node B, resends what was not
//! acknowledged and resumes — nothing acknowledged is lost or doubled. And NATS itself restarts
//! (our own nats-server on a free loopback port, never the machine's shared one): the nodes
//! reconnect and catch their sockets up from the database.
//!
//! Needs `VOUCH_TEST_DATABASE_URL` (a PostgreSQL server; each test makes and drops its own
//! database) and, for the first test, `VOUCH_TEST_NATS_URL`; without them the tests say so and
//! pass without running (`scripts/test` sets both).

use std::collections::{BTreeMap, HashMap};
use std::process::Stdio;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use vouch_chat::storage::postgres::ScratchDatabase;
use vouch_chat::{ChatConfig, ChatService, NewAgent, NewAuthSettings, NewWidget, Role};

use crate::support::{site_key, Counting, ISSUER, PASSWORD, SITE, WAIT};

/// A cluster's shared pieces: database, widget, key server, agent.
struct Cluster {
    db: ScratchDatabase,
    nats: String,
    prefix: String,
    app_id: String,
    _keys: Counting,
}

impl Cluster {
    async fn new(nats: String) -> Option<Cluster> {
        let Ok(admin) = std::env::var("VOUCH_TEST_DATABASE_URL") else {
            assert!(
                std::env::var_os("VOUCH_TEST_REQUIRE_SERVICES").is_none(),
                "VOUCH_TEST_DATABASE_URL is not set: failover test skipped, but VOUCH_TEST_REQUIRE_SERVICES says it must run"
            );
            eprintln!("VOUCH_TEST_DATABASE_URL is not set: failover test skipped");
            return None;
        };
        let db = ScratchDatabase::create(&admin).await.expect("scratch db");
        let pem = site_key().public_key().to_spki_pem();
        let keys = Counting::start(
            axum::Router::new().route("/publickey", axum::routing::get(move || async move { pem })),
        )
        .await;
        let mut config = ChatConfig::with_data_dir(std::env::temp_dir());
        config.database_url = Some(db.url.clone());
        config.allow_private_key_urls = true;
        let setup = ChatService::open(&config).await.expect("open for setup");
        let settings = setup
            .create_auth_settings(NewAuthSettings {
                name: "Shop".into(),
                public_key_url: keys.url("/publickey"),
                function_name: "auth.getAuthenticationToken".into(),
                issuer: Some(ISSUER.into()),
                leeway_secs: Some(0),
            })
            .await
            .expect("settings");
        let widget = setup
            .create_widget(NewWidget {
                name: "Shop chat".into(),
                allowed_origins: vec![SITE.into()],
                auth_settings_id: Some(settings.id),
                require_auth: true,
                title: None,
            })
            .await
            .expect("widget");
        vouch_chat::add_agent(
            &config,
            NewAgent {
                email: "agent@example.com".into(),
                name: "Agent".into(),
                role: Role::Agent,
                password: PASSWORD.into(),
            },
        )
        .await
        .expect("agent");
        Some(Cluster {
            db,
            nats,
            prefix: format!("failover{}", uuid::Uuid::new_v4().simple()),
            app_id: widget.app_id.to_string(),
            _keys: keys,
        })
    }

    /// Starts a `vouch chat` node and waits for its address.
    async fn node(&self) -> Node {
        let mut child = Command::new(env!("CARGO_BIN_EXE_vouch"))
            .args(["chat", "--addr", "127.0.0.1:0", "--allow-private-key-urls"])
            .args(["--database-url", &self.db.url, "--nats-url", &self.nats])
            .args(["--nats-subject-prefix", &self.prefix])
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn vouch chat");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let addr = tokio::time::timeout(WAIT, async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(a) = line.strip_prefix("chat: http://") {
                    return a.trim().to_string();
                }
            }
            panic!("vouch chat ended before listening");
        })
        .await
        .expect("node listening in time");
        // Keep draining stdout so the node never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Node { child, addr }
    }
}

struct Node {
    child: Child,
    addr: String,
}

impl Node {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    async fn kill(&mut self) {
        self.child.start_kill().expect("kill");
        let _ = self.child.wait().await;
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(WAIT)
        .build()
        .expect("client")
}

/// A verified customer session (on `node`); the session token.
async fn session(node: &Node, app_id: &str, sub: &str) -> (String, String) {
    let t = crate::support::now();
    let jwt = site_key()
        .sign(&json!({"iss": ISSUER, "sub": sub, "iat": t, "exp": t + 600, "given_name": "Alex"}))
        .expect("sign");
    let r = http()
        .post(node.url(&format!("/api/v1/widgets/{app_id}/sessions")))
        .header("Origin", SITE)
        .header("AuthenticatedUserToken", jwt)
        .send()
        .await
        .expect("session");
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.expect("json");
    (
        v["session_token"].as_str().expect("token").into(),
        v["conversation_id"].as_str().expect("id").into(),
    )
}

async fn agent_login(node: &Node) -> String {
    let r = http()
        .post(node.url("/api/v1/agent/login"))
        .json(&json!({"email": "agent@example.com", "password": PASSWORD}))
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.expect("json");
    v["token"].as_str().expect("token").into()
}

async fn accept(node: &Node, token: &str, conv: &str) {
    let r = http()
        .post(node.url(&format!("/api/v1/agent/conversations/{conv}/accept")))
        .bearer_auth(token)
        .json(&json!({}))
        .send()
        .await
        .expect("accept");
    assert_eq!(r.status(), 200);
}

/// The stored transcript: seq → (sender, client_msg_id).
async fn transcript(node: &Node, token: &str, conv: &str) -> BTreeMap<i64, (String, String)> {
    let r = http()
        .get(node.url(&format!("/api/v1/agent/conversations/{conv}")))
        .bearer_auth(token)
        .send()
        .await
        .expect("detail");
    let v: Value = r.json().await.expect("json");
    v["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| {
            (
                m["seq"].as_i64().expect("seq"),
                (
                    m["sender"].as_str().unwrap_or_default().to_string(),
                    m["client_msg_id"].as_str().unwrap_or_default().to_string(),
                ),
            )
        })
        .collect()
}

type Stream = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// A client socket that records every message frame it gets (seq → client_msg_id) and every
/// ack, failing the test if a seq arrives twice.
struct Client {
    ws: Stream,
    messages: BTreeMap<i64, String>,
    acks: HashMap<String, i64>,
    closed: bool,
}

impl Client {
    async fn connect(url: String, header: (&'static str, String)) -> Client {
        let mut req = url.into_client_request().expect("request");
        req.headers_mut()
            .insert(header.0, HeaderValue::from_str(&header.1).expect("header"));
        // TCP_NODELAY: without it Nagle and delayed ACKs add ~40 ms to every round trip.
        let (ws, _) = tokio::time::timeout(
            WAIT,
            tokio_tungstenite::connect_async_with_config(req, None, true),
        )
        .await
        .expect("connect in time")
        .expect("connect");
        Client {
            ws,
            messages: BTreeMap::new(),
            acks: HashMap::new(),
            closed: false,
        }
    }

    async fn customer(node: &Node, session: &str) -> Client {
        Client::connect(
            format!("ws://{}/api/v1/chat?session_token={session}", node.addr),
            ("Origin", SITE.to_string()),
        )
        .await
    }

    async fn agent(node: &Node, token: &str) -> Client {
        Client::connect(
            format!("ws://{}/api/v1/agent/ws", node.addr),
            ("Authorization", format!("Bearer {token}")),
        )
        .await
    }

    async fn send(&mut self, v: Value) {
        self.ws
            .send(Message::text(v.to_string()))
            .await
            .expect("send");
    }

    /// Reads frames until `done` holds (recording them); panics after `WAIT`.
    async fn until(&mut self, what: &str, done: impl Fn(&Client) -> bool) {
        let deadline = tokio::time::Instant::now() + WAIT;
        while !done(self) {
            let next = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .unwrap_or_else(|_| {
                    panic!(
                        "waiting for {what}: messages {:?} acks {:?}",
                        self.messages, self.acks
                    )
                });
            match next {
                Some(Ok(Message::Text(t))) => self.record(t.as_str()),
                Some(Ok(_)) => {}
                None | Some(Err(_)) => {
                    self.closed = true;
                    if !done(self) {
                        panic!("socket closed while waiting for {what}");
                    }
                }
            }
        }
    }

    fn record(&mut self, text: &str) {
        let v: Value = serde_json::from_str(text).expect("JSON frame");
        match v["type"].as_str() {
            Some("message") => {
                let seq = v["seq"].as_i64().expect("seq");
                let id = v["client_msg_id"].as_str().unwrap_or("system").to_string();
                if let Some(prev) = self.messages.insert(seq, id.clone()) {
                    panic!("seq {seq} delivered twice on one socket ({prev} / {id})");
                }
            }
            Some("ack") => {
                let id = v["client_msg_id"].as_str().expect("id").to_string();
                let seq = v["seq"].as_i64().expect("seq");
                if let Some(prev) = self.acks.insert(id.clone(), seq) {
                    assert_eq!(prev, seq, "{id} acknowledged with two seqs");
                }
            }
            _ => {}
        }
    }

    /// Reads whatever arrives until the socket closes (the node died).
    async fn drain_until_closed(&mut self) {
        while !self.closed {
            match tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("the dead node's socket closes")
            {
                Some(Ok(Message::Text(t))) => self.record(t.as_str()),
                Some(Ok(_)) => {}
                None | Some(Err(_)) => self.closed = true,
            }
        }
    }

    fn holds(&self, id: &str) -> bool {
        self.messages.values().any(|v| v == id)
    }
}

fn send_frame(id: &str) -> Value {
    json!({"type": "send", "client_msg_id": id, "text": format!("text of {id}")})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_a_node_loses_and_doubles_nothing() {
    let Ok(nats) = std::env::var("VOUCH_TEST_NATS_URL") else {
        assert!(
            std::env::var_os("VOUCH_TEST_REQUIRE_SERVICES").is_none(),
            "VOUCH_TEST_NATS_URL is not set: failover test skipped, but VOUCH_TEST_REQUIRE_SERVICES says it must run"
        );
        eprintln!("VOUCH_TEST_NATS_URL is not set: failover test skipped");
        return;
    };
    let Some(cluster) = Cluster::new(nats).await else {
        return;
    };
    let mut a = cluster.node().await;
    let b = cluster.node().await;

    // The agent works on node B, the customer on node A.
    let agent_token = agent_login(&b).await;
    let mut agent = Client::agent(&b, &agent_token).await;
    let (session_token, conv) = session(&a, &cluster.app_id, "failover-1").await;
    let mut customer = Client::customer(&a, &session_token).await;
    accept(&b, &agent_token, &conv).await;
    customer
        .until("the joined message (from node B)", |c| {
            c.messages.contains_key(&1)
        })
        .await;

    // Both ways, live across nodes.
    customer.send(send_frame("c1")).await;
    agent
        .send(json!({"type": "send", "conversation_id": conv, "client_msg_id": "a1", "text": "hello from B"}))
        .await;
    customer
        .until("c1 ack and a1", |c| {
            c.acks.contains_key("c1") && c.holds("a1")
        })
        .await;
    agent
        .until("a1 ack and c1", |c| {
            c.acks.contains_key("a1") && c.holds("c1")
        })
        .await;

    // The customer fires a burst and node A dies in the middle of it.
    let burst: Vec<String> = (0..20).map(|i| format!("burst-{i}")).collect();
    for id in &burst {
        customer.send(send_frame(id)).await;
    }
    customer
        .until("the first burst ack", |c| c.acks.contains_key("burst-0"))
        .await;
    a.kill().await;
    customer.drain_until_closed().await;
    let acked_before: HashMap<String, i64> = customer.acks.clone();

    // Reconnect to node B with the same session: resend what was not acknowledged (same ids),
    // resume from the last seq held.
    let held = customer.messages.keys().next_back().copied().unwrap_or(0);
    let mut again = Client::customer(&b, &session_token).await;
    again.messages = customer.messages.clone();
    again
        .send(json!({"type": "resume", "after_seq": held}))
        .await;
    for id in burst.iter().chain(["c1".to_string()].iter()) {
        again.send(send_frame(id)).await;
    }
    again
        .until("every resend acknowledged", |c| {
            burst.iter().all(|id| c.acks.contains_key(id)) && c.acks.contains_key("c1")
        })
        .await;
    // A resend of something acknowledged before the crash gets its old seq back.
    for (id, seq) in &acked_before {
        assert_eq!(
            again.acks.get(id),
            Some(seq),
            "{id} kept its seq across the crash"
        );
    }
    let all_ids: Vec<String> = ["c1", "a1"]
        .iter()
        .map(|s| s.to_string())
        .chain(burst.iter().cloned())
        .collect();
    again
        .until("every message held by the customer", |c| {
            all_ids.iter().all(|id| c.holds(id))
        })
        .await;
    agent
        .until("every burst message at the agent", |c| {
            burst.iter().all(|id| c.holds(id))
        })
        .await;

    // The record: gapless seqs, each message once, acks agree with it.
    let stored = transcript(&b, &agent_token, &conv).await;
    let seqs: Vec<i64> = stored.keys().copied().collect();
    assert_eq!(seqs, (1..=stored.len() as i64).collect::<Vec<_>>());
    let mut once = HashMap::new();
    for (seq, (sender, id)) in &stored {
        if sender != "system" {
            assert!(once.insert(id.clone(), *seq).is_none(), "{id} stored twice");
        }
    }
    assert_eq!(stored.len(), 1 + all_ids.len(), "joined + every message");
    for (id, seq) in again.acks.iter() {
        assert_eq!(once.get(id), Some(seq), "ack of {id} matches the record");
    }
    // The agent (never disconnected) holds every customer message exactly once (the client
    // panics on a second delivery of a seq).
    for id in &burst {
        assert!(agent.holds(id));
    }
}

/// A free loopback port (bound and released).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// Our own nats-server on `port` (never the machine's shared one).
fn start_nats(port: u16) -> std::process::Child {
    let child = std::process::Command::new("/usr/sbin/nats-server")
        .args(["-a", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start /usr/sbin/nats-server");
    let deadline = std::time::Instant::now() + WAIT;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "nats-server did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

struct OwnNats(std::process::Child);

impl Drop for OwnNats {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_restart_nodes_reconnect_and_catch_up() {
    if !std::path::Path::new("/usr/sbin/nats-server").exists() {
        assert!(
            std::env::var_os("VOUCH_TEST_REQUIRE_SERVICES").is_none(),
            "/usr/sbin/nats-server is missing: NATS restart test skipped, but VOUCH_TEST_REQUIRE_SERVICES says it must run"
        );
        eprintln!("/usr/sbin/nats-server is missing: NATS restart test skipped");
        return;
    }
    let port = free_port();
    let mut nats = OwnNats(start_nats(port));
    let Some(cluster) = Cluster::new(format!("nats://127.0.0.1:{port}")).await else {
        return;
    };
    let a = cluster.node().await;
    let b = cluster.node().await;
    let agent_token = agent_login(&b).await;
    let mut agent = Client::agent(&b, &agent_token).await;
    let (session_token, conv) = session(&a, &cluster.app_id, "nats-restart").await;
    let mut customer = Client::customer(&a, &session_token).await;
    accept(&b, &agent_token, &conv).await;
    customer.send(send_frame("before")).await;
    agent
        .until("a live message before the outage", |c| c.holds("before"))
        .await;

    // NATS goes away. Messages are still stored and acknowledged (the database is the
    // record); node A's own sockets get them, node B's agent cannot — yet.
    let _ = nats.0.kill();
    let _ = nats.0.wait();
    let during: Vec<String> = (0..5).map(|i| format!("during-{i}")).collect();
    for id in &during {
        customer.send(send_frame(id)).await;
    }
    customer
        .until("acks during the outage", |c| {
            during.iter().all(|id| c.acks.contains_key(id))
        })
        .await;

    // NATS is back on the same port: both nodes reconnect, catch their sockets up from the
    // database, and live traffic flows again — each message once on each socket.
    nats = OwnNats(start_nats(port));
    agent
        .until("the outage's messages, caught up", |c| {
            during.iter().all(|id| c.holds(id))
        })
        .await;
    agent
        .send(json!({"type": "send", "conversation_id": conv, "client_msg_id": "after-a", "text": "back"}))
        .await;
    customer
        .until("the agent's message after the restart", |c| {
            c.holds("after-a")
        })
        .await;
    customer.send(send_frame("after-c")).await;
    agent
        .until("the customer's message after the restart", |c| {
            c.holds("after-c")
        })
        .await;
    let stored = transcript(&b, &agent_token, &conv).await;
    assert_eq!(
        stored.keys().copied().collect::<Vec<_>>(),
        (1..=stored.len() as i64).collect::<Vec<_>>()
    );
    // The agent holds every stored message after the joined one exactly once.
    for (seq, (_, id)) in stored.iter().filter(|(s, _)| **s > 1) {
        assert_eq!(agent.messages.get(seq), Some(id), "seq {seq} at the agent");
    }
    drop(nats);
}
