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
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::Message;
use vouch_chat::{ChatConfig, ChatService, Role};
use vouch_testkit::chat::{add_person, create_settings, create_widget};
use vouch_testkit::http::{create_session, http_client, listed_messages, login, session_ids};
use vouch_testkit::process::{chat_url, drain};
use vouch_testkit::ws::{agent_request, customer_request, open, Stream};
use vouch_testkit::{get_as, post_as, service_url, KeyServer, ScratchDatabase};

use crate::support::{now, site_key, ISSUER, PASSWORD, SITE, WAIT};

/// A cluster's shared pieces: database, widget, key server, agent.
struct Cluster {
    db: ScratchDatabase,
    nats: String,
    prefix: String,
    app_id: String,
    _keys: KeyServer,
}

impl Cluster {
    async fn new(nats: String) -> Option<Cluster> {
        let db = ScratchDatabase::from_env("failover test").await?;
        let keys = KeyServer::start().await;
        let mut config = ChatConfig::with_data_dir(std::env::temp_dir());
        config.database_url = Some(db.url.clone());
        config.allow_private_key_urls = true;
        let setup = ChatService::open(&config).await.expect("open for setup");
        let settings = create_settings(&setup, "Shop", keys.url("/publickey"), Some(0)).await;
        let widget = create_widget(&setup, "Shop chat", &settings, true, None).await;
        add_person(&config, "agent@example.com", "Agent", Role::Agent, PASSWORD)
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
        let url = tokio::time::timeout(WAIT, chat_url(&mut lines))
            .await
            .expect("node listening in time")
            .expect("read stdout")
            .expect("vouch chat ended before listening");
        drain(lines);
        let addr = url.trim_start_matches("http://").to_string();
        Node { child, addr }
    }
}

struct Node {
    child: Child,
    addr: String,
}

impl Node {
    fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    async fn kill(&mut self) {
        self.child.start_kill().expect("kill");
        let _ = self.child.wait().await;
    }
}

/// A verified customer session (on `node`): (session token, conversation id).
async fn session(node: &Node, app_id: &str, sub: &str) -> (String, String) {
    let t = now();
    let jwt = site_key()
        .sign(&json!({"iss": ISSUER, "sub": sub, "iat": t, "exp": t + 600, "given_name": "Alex"}))
        .expect("sign");
    let (s, v) = create_session(
        &http_client(),
        &node.base(),
        app_id,
        Some(SITE),
        Some(&jwt),
        None,
    )
    .await
    .expect("session");
    assert_eq!(s, 201);
    session_ids(&v)
}

async fn agent_login(node: &Node) -> String {
    login(&http_client(), &node.base(), "agent@example.com", PASSWORD).await
}

async fn accept(node: &Node, token: &str, conv: &str) {
    let path = format!("/api/v1/agent/conversations/{conv}/accept");
    let (s, _) = post_as(&http_client(), &node.url(&path), token, json!({})).await;
    assert_eq!(s, 200);
}

/// The stored transcript: seq → (sender, client_msg_id).
async fn transcript(node: &Node, token: &str, conv: &str) -> BTreeMap<i64, (String, String)> {
    let path = format!("/api/v1/agent/conversations/{conv}");
    let (_, v) = get_as(&http_client(), &node.url(&path), token).await;
    listed_messages(&v)
        .into_iter()
        .map(|m| (m.seq, (m.sender, m.client_msg_id)))
        .collect()
}

/// A client socket that records every message frame it gets (seq → client_msg_id) and every
/// ack, failing the test if a seq arrives twice.
struct Client {
    ws: Stream,
    messages: BTreeMap<i64, String>,
    acks: HashMap<String, i64>,
    closed: bool,
}

impl Client {
    async fn connect(req: Request) -> Client {
        let ws = tokio::time::timeout(WAIT, open(req))
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
        let ws_base = format!("ws://{}", node.addr);
        Client::connect(customer_request(&ws_base, session, Some(SITE)).expect("request")).await
    }

    async fn agent(node: &Node, token: &str) -> Client {
        let ws_base = format!("ws://{}", node.addr);
        Client::connect(agent_request(&ws_base, token).expect("request")).await
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
    vouch_testkit::ws::send_frame(id, &format!("text of {id}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_a_node_loses_and_doubles_nothing() {
    let Some(nats) = service_url("VOUCH_TEST_NATS_URL", "failover test") else {
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
