//! Faults the chat service must ride out: the key URL going down, a customer socket that stops
//! reading, a restart with thousands of open conversations, and clocks that disagree within the
//! leeway. (The full disk and SIGKILL run the real binary: crates/vouch/tests/it.)

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::routing::get;
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio_tungstenite::MaybeTlsStream;
use uuid::Uuid;
use vouch_chat::storage::prelude::*;
use vouch_chat::storage::{now_millis, CustomerSession};
use vouch_chat::{ChatConfig, ChatService, Role};
use vouch_jwt::SigningKey;
use vouch_testkit::chat::{add_person, create_settings, create_widget};
use vouch_testkit::ws::customer_request;

use crate::group_commit::{conversations, customer_message, store_in};
use crate::support::{claims, now, site_key, token, TestApp, Ws, SITE, WAIT};

/// A key the settings do not know until the key server publishes it.
fn new_key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| SigningKey::generate(2048).expect("generate test key"))
}

/// A loopback key server serving a JWKS of the keys in `keys` at `/keys`, stoppable for real
/// (the port refuses connections) and restartable on the same port.
struct FlakyKeyServer {
    addr: SocketAddr,
    keys: Arc<Mutex<Vec<&'static SigningKey>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl FlakyKeyServer {
    async fn start(keys: Vec<&'static SigningKey>) -> FlakyKeyServer {
        let mut s = FlakyKeyServer {
            addr: "127.0.0.1:0".parse().expect("addr"),
            keys: Arc::new(Mutex::new(keys)),
            stop: None,
            task: None,
        };
        s.up().await;
        s
    }

    async fn up(&mut self) {
        let keys = self.keys.clone();
        let app = axum::Router::new().route(
            "/keys",
            get(move || {
                let keys = keys.clone();
                async move {
                    let ks = keys.lock().expect("keys").clone();
                    let pubs: Vec<_> = ks.iter().map(|k| k.public_key()).collect();
                    vouch_jwt::jwks_document(&pubs).to_string()
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind(self.addr)
            .await
            .expect("bind key server");
        self.addr = listener.local_addr().expect("addr");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        self.stop = Some(tx);
        self.task = Some(tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await;
        }));
    }

    /// Stops listening and closes every connection (kept-alive ones included).
    async fn down(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            tokio::time::timeout(WAIT, t)
                .await
                .expect("key server stops")
                .expect("key server task");
        }
    }

    fn url(&self) -> String {
        format!("http://{}/keys", self.addr)
    }
}

async fn session_with(app: &TestApp, app_id: &str, jwt: &str) -> (StatusCode, Value) {
    app.session_raw(app_id, Some(SITE), Some(jwt), None).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_url_down_cached_keys_keep_working_new_kids_fail_clearly_and_it_recovers() {
    let app = TestApp::start_with(|c| c.key_refetch_interval = 1).await;
    let mut keys = FlakyKeyServer::start(vec![site_key()]).await;
    // The settings load the keys now.
    let settings = create_settings(&app.service, "Flaky", keys.url(), None).await;
    let widget = create_widget(&app.service, "Flaky chat", &settings, true, None).await;
    let app_id = widget.app_id.to_string();
    let (s, v) = session_with(&app, &app_id, &token("cust-1")).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let mut ws = app
        .customer_ws(v["session_token"].as_str().expect("token"))
        .await;
    assert_eq!(ws.say("before", "hello").await, 1);

    keys.down().await;

    // Cached keys keep verifying: new sessions, and re-authentication on an open socket.
    let (s, v) = session_with(&app, &app_id, &token("cust-2")).await;
    assert_eq!(s, StatusCode::CREATED, "cached key still verifies: {v}");
    ws.send(json!({"type": "auth", "token": token("cust-1")}))
        .await;
    let f = ws
        .next_where("auth answer", |v| v["type"] != "message")
        .await;
    assert_ne!(
        f["type"], "error",
        "re-authentication with a cached key: {f}"
    );
    assert_eq!(ws.say("during", "still here").await, 2);

    // A kid the cache does not hold cannot be verified while the URL is down: a clear refusal,
    // every time (the refetch is rate-limited, never a hang or a 500).
    let fresh = new_key()
        .sign(&claims("cust-3", 600))
        .expect("sign with the new key");
    for _ in 0..3 {
        let (s, v) = session_with(&app, &app_id, &fresh).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
        assert_eq!(v["error"], "invalid_token");
        let reason = v["reason"].as_str().unwrap_or_default();
        assert!(
            reason == "key_unavailable" || reason == "unknown_kid",
            "reason names the key problem: {v}"
        );
        assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    }

    // The site publishes the new key and its server comes back on the same address.
    keys.keys.lock().expect("keys").push(new_key());
    keys.up().await;
    let mut accepted = None;
    for _ in 0..60 {
        let (s, v) = session_with(&app, &app_id, &fresh).await;
        if s == StatusCode::CREATED {
            accepted = Some(v);
            break;
        }
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let v = accepted.expect("the new kid verifies once the key URL is back");
    assert_eq!(v["verified"], true);
    let (s, v) = session_with(&app, &app_id, &token("cust-4")).await;
    assert_eq!(s, StatusCode::CREATED, "the old key still verifies: {v}");
}

/// A customer socket whose client reads nothing: a tiny receive buffer, so the server's writes
/// to it block quickly.
async fn stalled_customer_ws(app: &TestApp, session_token: &str) -> Ws {
    let req = customer_request(&app.ws_base, session_token, Some(SITE)).expect("request");
    let addr: SocketAddr = app
        .base
        .trim_start_matches("http://")
        .parse()
        .expect("addr");
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("rcvbuf");
    let tcp = socket.connect(addr).await.expect("connect");
    let (stream, _) = tokio_tungstenite::client_async(req, MaybeTlsStream::Plain(tcp))
        .await
        .expect("upgrade");
    Ws::from_stream(stream)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_consumer_is_dropped_and_nobody_else_notices() {
    const SENDERS: usize = 4;
    const EACH: usize = 250;
    const TOTAL: i64 = (SENDERS * EACH) as i64;
    let app = TestApp::start_with(|c| {
        c.limits.msg_rate = 100_000;
        c.limits.msg_burst = 100_000;
    })
    .await;
    let s = app.anon_session().await;
    let token = s["session_token"].as_str().expect("token").to_string();
    let mut slow = stalled_customer_ws(&app, &token).await;
    let mut watcher = app.customer_ws(&token).await;
    // Several sockets of the same conversation send big messages at once.
    let text = "x".repeat(3900);
    let mut senders = Vec::new();
    for k in 0..SENDERS {
        let mut ws = app.customer_ws(&token).await;
        let text = text.clone();
        senders.push(tokio::spawn(async move {
            let mut seqs = Vec::with_capacity(EACH);
            for i in 0..EACH {
                seqs.push(ws.say(&format!("s{k}-{i}"), &text).await);
                ws.drop_pending();
            }
            seqs
        }));
    }
    // The watcher reads along and sees every message once (frames of messages committed in
    // one batch may arrive in any order; clients place them by seq).
    let mut seen = Vec::with_capacity(TOTAL as usize);
    while seen.len() < TOTAL as usize {
        let f = watcher.next_type("message").await;
        seen.push(f["seq"].as_i64().expect("seq"));
    }
    let mut acked = Vec::new();
    for t in senders {
        acked.extend(t.await.expect("sender"));
    }
    acked.sort();
    assert_eq!(acked, (1..=TOTAL).collect::<Vec<_>>(), "every send acked");
    seen.sort();
    assert_eq!(
        seen,
        (1..=TOTAL).collect::<Vec<_>>(),
        "the watcher got all, once"
    );

    // Now the slow client reads: what its buffers held, then the server's goodbye — it was
    // dropped rather than let its backlog grow without bound.
    let mut got = 0;
    while let Some(f) = slow.next_any().await {
        if f["type"] == "message" {
            got += 1;
        }
    }
    assert!(slow.closed);
    assert!(
        got < TOTAL,
        "the slow socket was closed before it got everything ({got} of {TOTAL})"
    );
    if let Some(code) = slow.close_code {
        assert_eq!(code, 1013, "closed with try-again-later");
    }
    // It reconnects and resumes from what it holds: nothing missing.
    let mut again = app.customer_ws(&token).await;
    again.send(json!({"type": "resume", "after_seq": 0})).await;
    for want in 1..=TOTAL {
        let f = again.next_type("message").await;
        assert_eq!(f["seq"].as_i64(), Some(want));
    }
    // The service still serves.
    let r = app
        .http
        .get(app.url("/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(r.status(), StatusCode::OK);
}

async fn serve(config: &ChatConfig) -> (String, tokio::sync::oneshot::Sender<()>) {
    let service = ChatService::open(config).await.expect("open chat service");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = service
            .serve(listener, async move {
                let _ = rx.await;
            })
            .await;
    });
    (format!("{addr}"), tx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_with_two_thousand_open_conversations() {
    const N: usize = 2000;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = ChatConfig::with_data_dir(dir.path());
    config.allow_private_key_urls = true;
    add_person(&config, "agent@example.com", "Agent", Role::Agent, "secret")
        .await
        .expect("agent");
    // Through the storage layer: conversations, one customer session and one message each.
    let (widget, ids) = {
        let store = store_in(dir.path()).await;
        let (widget, ids) = conversations(&store, N).await;
        let mut tasks = Vec::with_capacity(N);
        for (i, &id) in ids.iter().enumerate() {
            let store = store.clone();
            let app_id = widget.app_id;
            tasks.push(tokio::spawn(async move {
                let now = now_millis();
                store
                    .insert_session(&CustomerSession {
                        token_hash: Sha256::digest(format!("vcs_restart_{i}").as_bytes()).to_vec(),
                        conversation_id: id,
                        widget_app_id: app_id,
                        verified_sub: None,
                        jwt_exp: None,
                        created_at: now,
                        expires_at: now + 3_600_000,
                    })
                    .await
                    .expect("session");
                let a = store
                    .append_message(&customer_message(id, &format!("first-{i}")))
                    .await
                    .expect("append");
                assert_eq!(a.message.seq, 1);
            }));
        }
        for t in tasks {
            t.await.expect("task");
        }
        (widget, ids)
    };
    let _ = widget;

    let (addr, _stop) = serve(&config).await;
    let base = format!("http://{addr}");
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let r = http
        .post(format!("{base}/api/v1/agent/login"))
        .json(&json!({"email": "agent@example.com", "password": "secret"}))
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), StatusCode::OK);
    let agent: Value = r.json().await.expect("json");
    let agent = agent["token"].as_str().expect("token").to_string();

    // Listed: the newest page of waiting conversations, all of them ours.
    let r = http
        .get(format!("{base}/api/v1/agent/conversations?state=waiting"))
        .bearer_auth(&agent)
        .send()
        .await
        .expect("list");
    assert_eq!(r.status(), StatusCode::OK);
    let list: Value = r.json().await.expect("json");
    let listed = list["conversations"].as_array().expect("array");
    assert!(!listed.is_empty() && listed.len() <= N);
    let known: std::collections::HashSet<String> = ids.iter().map(|i| i.to_string()).collect();
    assert!(listed
        .iter()
        .all(|c| known.contains(c["id"].as_str().unwrap_or_default())));

    // Every one answers with its state and message.
    let mut states: BTreeMap<String, usize> = BTreeMap::new();
    for id in &ids {
        let r = http
            .get(format!("{base}/api/v1/agent/conversations/{id}"))
            .bearer_auth(&agent)
            .send()
            .await
            .expect("detail");
        assert_eq!(r.status(), StatusCode::OK);
        let v: Value = r.json().await.expect("json");
        *states
            .entry(v["state"].as_str().unwrap_or("?").into())
            .or_default() += 1;
        assert_eq!(v["messages"].as_array().map(Vec::len), Some(1), "{v}");
    }
    assert_eq!(states.get("waiting"), Some(&N), "{states:?}");

    // A sample of customers reconnect with their sessions, resume and carry on.
    for i in (0..N).step_by(N / 25) {
        let session_token = format!("vcs_restart_{i}");
        let mut ws = Ws::customer(&format!("ws://{addr}"), &session_token, Some(SITE))
            .await
            .expect("customer socket after restart");
        ws.send(json!({"type": "resume", "after_seq": 0})).await;
        let m = ws.next_type("message").await;
        assert_eq!(m["seq"], 1);
        assert_eq!(m["client_msg_id"], format!("first-{i}"));
        assert_eq!(ws.say(&format!("second-{i}"), "back again").await, 2);
    }
    let _ = Uuid::nil;
}

#[tokio::test]
async fn clock_skew_within_the_leeway_is_accepted_beyond_it_refused() {
    let app = TestApp::start().await;
    let settings =
        create_settings(&app.service, "Skewed", app.keys.url("/publickey"), Some(60)).await;
    let widget = create_widget(&app.service, "Skewed chat", &settings, true, None).await;
    let app_id = widget.app_id.to_string();
    let t = now();
    let with = |sub: &str, iat: i64, exp: i64, nbf: Option<i64>| {
        let mut c = claims(sub, 600);
        c["iat"] = json!(iat);
        c["exp"] = json!(exp);
        if let Some(n) = nbf {
            c["nbf"] = json!(n);
        }
        site_key().sign(&c).expect("sign")
    };
    // The website's clock runs 30 s ahead: iat and nbf in our future, within the leeway.
    for (name, jwt) in [
        ("iat ahead", with("skew-1", t + 30, t + 630, None)),
        ("nbf ahead", with("skew-2", t + 30, t + 630, Some(t + 30))),
        // …or 30 s behind: the token expired by our clock, within the leeway.
        ("exp just past", with("skew-3", t - 630, t - 30, None)),
    ] {
        let (s, v) = session_with(&app, &app_id, &jwt).await;
        assert_eq!(s, StatusCode::CREATED, "{name}: {v}");
        assert_eq!(v["verified"], true, "{name}");
    }
    // Beyond the leeway: refused with the reason.
    for (name, jwt, reason) in [
        (
            "iat far ahead",
            with("skew-4", t + 300, t + 900, None),
            "not_yet_valid",
        ),
        (
            "nbf far ahead",
            with("skew-5", t, t + 900, Some(t + 300)),
            "not_yet_valid",
        ),
        (
            "exp long past",
            with("skew-6", t - 900, t - 300, None),
            "expired",
        ),
    ] {
        let (s, v) = session_with(&app, &app_id, &jwt).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{name}: {v}");
        assert_eq!(v["reason"], reason, "{name}: {v}");
    }
}
