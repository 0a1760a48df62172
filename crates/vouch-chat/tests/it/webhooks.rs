//! Webhooks from the outbox and scoped API tokens (issue 18), against a real service and a real
//! loopback receiver: every event arrives signed and in order per conversation after the
//! receiver was down; a hanging receiver is timed out and retried; the 24 h give-up (by the
//! deliverer's test clock) and redeliver; the URL address rules; tokens' scopes, sync routes and
//! revocation. In the `postgres-2-nodes` topology two nodes deliver from one outbox: the receiver
//! counts any event it is handed twice at once, and every event must be answered 2xx once.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::HeaderMap;
use axum::routing::post;
use reqwest::StatusCode;
use serde_json::{json, Value};
use vouch_chat::webhooks::sign;
use vouch_chat::ChatConfig;
use vouch_testkit::http::session_ids;

use crate::support::{topology, TestApp, Topology, WAIT};

const ALL_EVENTS: [&str; 5] = [
    "conversation.created",
    "conversation.assigned",
    "message.created",
    "conversation.ended",
    "rating.created",
];

/// How the receiver answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Up,
    /// `503` to everything.
    Down,
    /// The first request never answers (within the test); the rest `200`.
    HangFirst,
}

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Hit {
    event_id: String,
    signature: String,
    raw: String,
    body: Value,
    answered: u16,
}

#[derive(Default)]
struct State {
    mode: Mutex<Option<Mode>>,
    hits: Mutex<Vec<Hit>>,
    in_flight: Mutex<HashSet<String>>,
    /// The event id of every request, as it arrives (before it is answered).
    arrivals: Mutex<Vec<String>>,
    /// Requests that came while another request of the same event was in flight.
    overlaps: AtomicUsize,
    hung: AtomicBool,
}

/// Removes an event id from the in-flight set however the request ends (a client timeout
/// drops the handler).
struct InFlight(Arc<State>, String);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.lock().unwrap().remove(&self.1);
    }
}

/// A loopback webhook receiver at `/hook`.
struct Receiver {
    addr: SocketAddr,
    state: Arc<State>,
}

impl Receiver {
    async fn start(mode: Mode) -> Receiver {
        let state = Arc::new(State::default());
        *state.mode.lock().unwrap() = Some(mode);
        let s = state.clone();
        let app = axum::Router::new().route(
            "/hook",
            post(move |headers: HeaderMap, raw: String| {
                let s = s.clone();
                async move { receive(s, headers, raw).await }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver { addr, state }
    }

    fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    fn set(&self, mode: Mode) {
        *self.state.mode.lock().unwrap() = Some(mode);
    }

    fn hits(&self) -> Vec<Hit> {
        self.state.hits.lock().unwrap().clone()
    }

    /// The requests answered 2xx, in the order they were answered.
    fn delivered(&self) -> Vec<Hit> {
        self.hits()
            .into_iter()
            .filter(|h| (200..300).contains(&h.answered))
            .collect()
    }
}

async fn receive(s: Arc<State>, headers: HeaderMap, raw: String) -> StatusCode {
    let header = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let event_id = header("vouch-event-id");
    s.arrivals.lock().unwrap().push(event_id.clone());
    if !s.in_flight.lock().unwrap().insert(event_id.clone()) {
        s.overlaps.fetch_add(1, Ordering::SeqCst);
    }
    let _guard = InFlight(s.clone(), event_id.clone());
    let mode = s.mode.lock().unwrap().unwrap_or(Mode::Up);
    let status = match mode {
        Mode::Up => StatusCode::OK,
        Mode::Down => StatusCode::SERVICE_UNAVAILABLE,
        Mode::HangFirst => {
            if !s.hung.swap(true, Ordering::SeqCst) {
                // Longer than the deliverer's timeout; the test never waits for it.
                tokio::time::sleep(Duration::from_secs(60)).await;
            }
            StatusCode::OK
        }
    };
    s.hits.lock().unwrap().push(Hit {
        event_id,
        signature: header("vouch-signature"),
        body: serde_json::from_str(&raw).unwrap_or(Value::Null),
        raw,
        answered: status.as_u16(),
    });
    status
}

/// Loopback receivers allowed; retries from 100 ms; quick polling; a 1 s attempt timeout.
fn fast(c: &mut ChatConfig) {
    c.webhooks.allow_private_webhook_urls = true;
    c.webhooks.webhook_retry_base_ms = 100;
    c.webhooks.webhook_poll_ms = 50;
    c.webhooks.webhook_timeout_secs = 1;
}

/// Polls `probe` until it gives `Some`, for at most [`WAIT`].
async fn eventually<T>(what: &str, mut probe: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn create_webhook(app: &TestApp, url: &str, events: &[&str]) -> (String, String) {
    let (s, v) = app
        .post_as(
            &app.admin_token,
            "/api/v1/admin/webhooks",
            json!({"url": url, "events": events}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let secret = v["secret"].as_str().expect("secret").to_string();
    assert!(
        secret.starts_with("whsec_") && secret.len() > 40,
        "{secret}"
    );
    assert_eq!(v["url"], url);
    (v["id"].as_str().expect("id").to_string(), secret)
}

async fn deliveries(app: &TestApp, hook: &str) -> Vec<Value> {
    let (s, v) = app
        .get_as(
            &app.admin_token,
            &format!("/api/v1/admin/webhooks/{hook}/deliveries"),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["deliveries"].as_array().expect("deliveries").clone()
}

fn conversation_of(h: &Hit) -> String {
    h.body["data"]["conversation_id"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

/// `type` (and the seq of a message) of each hit.
fn kinds(hits: &[&Hit]) -> Vec<String> {
    hits.iter()
        .map(|h| match h.body["type"].as_str() {
            Some("message.created") => {
                format!("message.created#{}", h.body["data"]["message"]["seq"])
            }
            Some(t) => t.to_string(),
            None => "?".into(),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receiver_down_then_back_every_event_arrives_signed_once_and_in_order() {
    let app = TestApp::start_with(fast).await;
    let rx = Receiver::start(Mode::Down).await;
    let (hook, secret) = create_webhook(&app, &rx.url(), &ALL_EVENTS).await;

    // Conversation A: verified, 5 messages, accepted, ended. B: anonymous, 3 messages.
    let (tok_a, conv_a) = session_ids(&app.session("alice-hooks").await);
    let (tok_b, conv_b) = session_ids(&app.anon_session().await);
    let mut ws_a = app.customer_ws(&tok_a).await;
    let mut ws_b = app.customer_ws(&tok_b).await;
    for i in 0..5 {
        ws_a.say(&format!("a{i}"), &format!("hello {i}")).await;
    }
    for i in 0..3 {
        ws_b.say(&format!("b{i}"), &format!("hi {i}")).await;
    }
    let path = format!("/api/v1/agent/conversations/{conv_a}");
    let (s, v) = app
        .post_as(&app.agent_token, &format!("{path}/accept"), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = app
        .post_as(&app.agent_token, &format!("{path}/end"), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");

    // While the receiver is down, retries happen — and only of each conversation's first event.
    eventually("a retry while the receiver is down", async || {
        deliveries(&app, &hook)
            .await
            .iter()
            .any(|d| d["attempts"].as_i64() >= Some(2))
            .then_some(())
    })
    .await;
    let down = rx.hits();
    for conv in [&conv_a, &conv_b] {
        let tried: HashSet<&str> = down
            .iter()
            .filter(|h| &conversation_of(h) == conv)
            .map(|h| h.event_id.as_str())
            .collect();
        assert!(
            tried.len() <= 1,
            "only the first event of {conv} is tried: {tried:?}"
        );
    }
    let pending = deliveries(&app, &hook).await;
    assert_eq!(pending.len(), 14, "{pending:?}");
    assert!(pending.iter().all(|d| d["status"] == "pending"));
    // (An attempt in flight has no code yet.)
    assert!(pending
        .iter()
        .filter(|d| !d["last_status_code"].is_null())
        .all(|d| d["last_status_code"] == 503 && d["next_attempt_at"].is_string()));

    rx.set(Mode::Up);
    let delivered = eventually("all 14 events delivered", async || {
        let d = rx.delivered();
        (d.len() >= 14).then_some(d)
    })
    .await;

    // Once each (no crash here), never two at once, each signed with the secret.
    assert_eq!(delivered.len(), 14);
    let ids: HashSet<&str> = delivered.iter().map(|h| h.event_id.as_str()).collect();
    assert_eq!(ids.len(), 14, "each event delivered once");
    assert_eq!(rx.state.overlaps.load(Ordering::SeqCst), 0);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    for h in &delivered {
        sign::verify(&secret, &h.signature, h.raw.as_bytes(), now, Some(300))
            .unwrap_or_else(|e| panic!("signature of {}: {e}", h.event_id));
        assert!(sign::verify("whsec_wrong", &h.signature, h.raw.as_bytes(), now, None).is_err());
        assert_eq!(h.body["id"], h.event_id.as_str());
        assert!(h.body["created_at"].is_string());
        assert!(!h.raw.contains(&secret));
    }

    // In order per conversation.
    let of = |conv: &str| -> Vec<String> {
        let hits: Vec<&Hit> = delivered
            .iter()
            .filter(|h| conversation_of(h) == conv)
            .collect();
        kinds(&hits)
    };
    let mut expected_a = vec!["conversation.created".to_string()];
    expected_a.extend((1..=6).map(|s| format!("message.created#{s}")));
    expected_a.push("conversation.assigned".into());
    expected_a.push("message.created#7".into());
    expected_a.push("conversation.ended".into());
    assert_eq!(of(&conv_a), expected_a);
    let mut expected_b = vec!["conversation.created".to_string()];
    expected_b.extend((1..=3).map(|s| format!("message.created#{s}")));
    assert_eq!(of(&conv_b), expected_b);

    // What the events carry: the contact, the message, the transcript.
    let created_a = delivered
        .iter()
        .find(|h| conversation_of(h) == conv_a && h.body["type"] == "conversation.created")
        .unwrap();
    assert_eq!(
        created_a.body["data"]["contact"]["external_id"],
        "alice-hooks"
    );
    assert_eq!(created_a.body["data"]["conversation"]["verified"], true);
    let first = delivered
        .iter()
        .find(|h| conversation_of(h) == conv_a && h.body["type"] == "message.created")
        .unwrap();
    assert_eq!(first.body["data"]["message"]["text"], "hello 0");
    assert_eq!(first.body["data"]["message"]["sender"], "customer");
    assert_eq!(first.body["data"]["message"]["client_msg_id"], "a0");
    let ended = delivered
        .iter()
        .find(|h| h.body["type"] == "conversation.ended")
        .unwrap();
    assert_eq!(ended.body["data"]["conversation"]["state"], "ended");
    assert_eq!(
        ended.body["data"]["activity"]["transcript"]
            .as_array()
            .map(Vec::len),
        Some(7)
    );

    // The deliveries list: every one delivered with its code; the secret in no answer.
    let list = eventually("the deliveries list shows every delivery", async || {
        let l = deliveries(&app, &hook).await;
        l.iter().all(|d| d["status"] == "delivered").then_some(l)
    })
    .await;
    for d in &list {
        assert_eq!(d["last_status_code"], 200, "{d}");
        assert!(d["next_attempt_at"].is_null(), "{d}");
        assert!(d["attempts"].as_i64() >= Some(1));
        assert!(ids.contains(d["event_id"].as_str().unwrap()));
    }
    let (_, hooks) = app.get_as(&app.admin_token, "/api/v1/admin/webhooks").await;
    assert_eq!(hooks["webhooks"][0]["id"], hook.as_str());
    assert!(hooks["webhooks"][0].get("secret").is_none());
    for answer in [hooks.to_string(), json!(list).to_string()] {
        assert!(!answer.contains(&secret));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_receiver_is_timed_out_and_the_event_retried_with_the_same_id() {
    let app = TestApp::start_with(fast).await;
    let rx = Receiver::start(Mode::HangFirst).await;
    let (hook, _) = create_webhook(&app, &rx.url(), &["conversation.created"]).await;
    let (_, conv) = session_ids(&app.anon_session().await);
    let done = eventually("delivered after the hang", async || {
        let d = rx.delivered();
        (!d.is_empty()).then_some(d)
    })
    .await;
    assert_eq!(done.len(), 1);
    assert_eq!(conversation_of(&done[0]), conv);
    let list = eventually("recorded", async || {
        let l = deliveries(&app, &hook).await;
        (l.len() == 1 && l[0]["status"] == "delivered").then_some(l)
    })
    .await;
    // The hung attempt counted: at least two attempts for the one event, all with its id.
    assert!(list[0]["attempts"].as_i64() >= Some(2), "{list:?}");
    let arrivals = rx.state.arrivals.lock().unwrap().clone();
    assert!(arrivals.len() >= 2, "{arrivals:?}");
    assert!(
        arrivals.iter().all(|id| *id == done[0].event_id),
        "{arrivals:?}"
    );
    assert_eq!(list[0]["event_id"], done[0].event_id.as_str());
    assert_eq!(list[0]["type"], "conversation.created");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_24_hours_on_the_test_clock_a_delivery_fails_and_redeliver_sends_it_again() {
    let app = TestApp::start_with(fast).await;
    let rx = Receiver::start(Mode::Down).await;
    let (hook, _) = create_webhook(&app, &rx.url(), &["conversation.created"]).await;
    session_ids(&app.anon_session().await);
    eventually("a first failed attempt", async || {
        let l = deliveries(&app, &hook).await;
        (l.len() == 1 && l[0]["attempts"].as_i64() >= Some(1)).then_some(())
    })
    .await;
    let before = deliveries(&app, &hook).await;
    assert_eq!(before[0]["status"], "pending");
    app.service
        .webhook_clock()
        .advance(Duration::from_secs(25 * 3600));
    let failed = eventually("given up", async || {
        let l = deliveries(&app, &hook).await;
        (l[0]["status"] == "failed").then_some(l)
    })
    .await;
    assert_eq!(failed[0]["last_status_code"], 503);
    assert!(failed[0]["next_attempt_at"].is_null());
    let event_id = failed[0]["event_id"].as_str().unwrap().to_string();
    // In two nodes only node A's clock moved, so node B may still have an attempt in flight
    // (its 1 s deadline bounds it): let it end, then no attempt may follow.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let attempts = rx.state.arrivals.lock().unwrap().len();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        rx.state.arrivals.lock().unwrap().len(),
        attempts,
        "no attempt after giving up"
    );

    rx.set(Mode::Up);
    let redeliver = |id: String| {
        let app = &app;
        let hook = hook.clone();
        async move {
            app.http
                .post(app.agent_url(&format!(
                    "/api/v1/admin/webhooks/{hook}/deliveries/{id}/redeliver"
                )))
                .bearer_auth(&app.admin_token)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(redeliver(event_id.clone()).await, StatusCode::ACCEPTED);
    eventually("delivered after redeliver", async || {
        let l = deliveries(&app, &hook).await;
        (l[0]["status"] == "delivered").then_some(())
    })
    .await;
    assert_eq!(rx.delivered().len(), 1);
    assert_eq!(rx.delivered()[0].event_id, event_id);
    assert_eq!(redeliver(event_id).await, StatusCode::CONFLICT);
    assert_eq!(
        redeliver(uuid::Uuid::new_v4().to_string()).await,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn webhook_urls_follow_the_key_url_address_rules_and_events_are_checked() {
    let app = TestApp::start_with(|c| {
        c.webhooks.webhook_poll_ms = 50;
    })
    .await;
    let rx = Receiver::start(Mode::Up).await;
    for (url, events, field) in [
        ("http://127.0.0.1:9/x", json!(["message.created"]), "url"),
        ("http://[::1]/x", json!(["message.created"]), "url"),
        ("http://2130706433/x", json!(["message.created"]), "url"),
        ("http://10.1.2.3/x", json!(["message.created"]), "url"),
        (
            "http://169.254.169.254/x",
            json!(["message.created"]),
            "url",
        ),
        ("ftp://example.com/x", json!(["message.created"]), "url"),
        (
            "https://user:pw@example.com/x",
            json!(["message.created"]),
            "url",
        ),
        ("https://example.com/x", json!([]), "events"),
        (
            "https://example.com/x",
            json!(["message.deleted"]),
            "events",
        ),
        ("https://example.com/x", json!("message.created"), "events"),
    ] {
        let (s, v) = app
            .post_as(
                &app.admin_token,
                "/api/v1/admin/webhooks",
                json!({"url": url, "events": events}),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{url}: {v}");
        assert_eq!(v["error"], "validation_failed");
        assert_eq!(v["field"], field, "{url}: {v}");
    }
    // A host name is checked where it counts: on the addresses it resolves to, when connecting.
    let url = format!("http://localhost:{}/hook", rx.addr.port());
    let (hook, _) = create_webhook(&app, &url, &["conversation.created"]).await;
    session_ids(&app.anon_session().await);
    let refused = eventually("the attempt refused", async || {
        let l = deliveries(&app, &hook).await;
        (l.len() == 1 && l[0]["last_error"].is_string()).then_some(l)
    })
    .await;
    let error = refused[0]["last_error"].as_str().unwrap();
    assert!(error.contains("loopback"), "{error}");
    assert!(error.contains("--allow-private-webhook-urls"), "{error}");
    assert!(refused[0]["last_status_code"].is_null());
    assert!(
        rx.hits().is_empty(),
        "no request reached the loopback receiver"
    );

    // Only admins manage webhooks.
    let (s, v) = app.get_as(&app.agent_token, "/api/v1/admin/webhooks").await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    let (s, _) = app
        .get_as(
            &app.admin_token,
            &format!("/api/v1/admin/webhooks/{}/deliveries", uuid::Uuid::new_v4()),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let delete = app
        .http
        .delete(app.agent_url(&format!("/api/v1/admin/webhooks/{hook}")))
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(delete.status(), StatusCode::NO_CONTENT);
    let (s, _) = app
        .get_as(
            &app.admin_token,
            &format!("/api/v1/admin/webhooks/{hook}/deliveries"),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

async fn create_token(app: &TestApp, scopes: &[&str]) -> (String, String) {
    let (s, v) = app
        .post_as(
            &app.admin_token,
            "/api/v1/admin/api-tokens",
            json!({"name": "CRM sync", "scopes": scopes}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let token = v["token"].as_str().expect("token").to_string();
    assert!(token.starts_with("vch_") && token.len() > 40);
    assert_eq!(v["scopes"], json!(scopes));
    (v["id"].as_str().unwrap().to_string(), token)
}

/// GET on node A (`a`) or the agents' node B.
async fn get(app: &TestApp, on_a: bool, token: &str, path: &str) -> (StatusCode, Value) {
    let url = if on_a {
        app.url(path)
    } else {
        app.agent_url(path)
    };
    vouch_testkit::http::get_as(&app.http, &url, token).await
}

#[tokio::test]
async fn api_tokens_have_scopes_sync_routes_and_are_revoked_at_once_everywhere() {
    let app = TestApp::start().await;
    let s1 = app.session("carol-sync").await;
    let contact_id = s1["contact"]["id"].as_str().unwrap().to_string();
    let (tok1, conv1) = session_ids(&s1);
    app.customer_ws(&tok1).await.say("c1", "first").await;
    let (_, conv2) = session_ids(&app.anon_session().await);

    let (contacts_id, contacts) = create_token(&app, &["contacts:read"]).await;
    let (_, convs) = create_token(&app, &["conversations:read"]).await;

    // contacts:read
    let (s, v) = get(
        &app,
        true,
        &contacts,
        &format!("/api/v1/contacts/{contact_id}"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["contact"]["external_id"], "carol-sync");
    let (s, v) = get(
        &app,
        true,
        &contacts,
        "/api/v1/contacts?external_id=carol-sync",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["contacts"].as_array().map(Vec::len), Some(1));
    assert_eq!(v["contacts"][0]["id"], contact_id.as_str());
    let (s, v) = get(&app, true, &contacts, "/api/v1/contacts?external_id=nobody").await;
    assert_eq!(
        (s, v["contacts"].as_array().map(Vec::len)),
        (StatusCode::OK, Some(0))
    );
    // … and nothing else: a missing scope is 403 forbidden, the admin and agent-only routes 401.
    for path in [
        "/api/v1/conversations?updated_since=2000-01-01T00:00:00Z",
        "/api/v1/agent/conversations",
    ] {
        let (s, v) = get(&app, true, &contacts, path).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{path}: {v}");
        assert_eq!(v["error"], "forbidden");
    }
    for path in ["/api/v1/admin/webhooks", "/api/v1/agent/me"] {
        let (s, _) = get(&app, true, &contacts, path).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{path}");
    }
    let (s, _) = get(
        &app,
        true,
        &convs,
        &format!("/api/v1/contacts/{contact_id}"),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // conversations:read: oldest change first, with messages, one page at a time.
    let (s, v) = get(
        &app,
        true,
        &convs,
        "/api/v1/conversations?updated_since=2000-01-01T00:00:00Z&limit=1",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["conversations"].as_array().map(Vec::len), Some(1));
    assert_eq!(v["conversations"][0]["id"], conv1.as_str());
    assert_eq!(v["conversations"][0]["messages"][0]["text"], "first");
    let next = &v["next"];
    let page2 = format!(
        "/api/v1/conversations?updated_since={}&after_id={}&limit=1",
        next["updated_since"].as_str().unwrap(),
        next["after_id"].as_str().unwrap()
    );
    let (s, v) = get(&app, false, &convs, &page2).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["conversations"][0]["id"], conv2.as_str());
    let (s, v) = get(
        &app,
        true,
        &convs,
        "/api/v1/conversations?updated_since=2999-01-01T00:00:00Z",
    )
    .await;
    assert_eq!(
        (s, v["conversations"].as_array().map(Vec::len)),
        (StatusCode::OK, Some(0))
    );
    assert!(v["next"].is_null());
    for bad in [
        "",
        "?updated_since=yesterday",
        "?updated_since=2000-01-01T00:00:00Z&limit=0",
    ] {
        let (s, v) = get(&app, true, &convs, &format!("/api/v1/conversations{bad}")).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {v}");
    }
    let (s, v) = get(
        &app,
        false,
        &convs,
        &format!("/api/v1/agent/conversations/{conv1}"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, _) = get(&app, false, &convs, "/api/v1/agent/conversations").await;
    assert_eq!(s, StatusCode::OK);

    // conversations:write ends a conversation (as the system would); read alone may not, and
    // accepting stays with agents.
    let end = format!("/api/v1/agent/conversations/{conv2}/end");
    let post = |token: String, path: String| {
        let app = &app;
        async move { vouch_testkit::http::post_as(&app.http, &app.url(&path), &token, json!({})).await }
    };
    let (s, v) = post(convs.clone(), end.clone()).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
    let (_, writer) = create_token(&app, &["conversations:write"]).await;
    let (s, _) = post(
        writer.clone(),
        format!("/api/v1/agent/conversations/{conv2}/accept"),
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, v) = post(writer.clone(), end.clone()).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["state"], "ended");
    let (s, _) = post(writer, end).await;
    assert_eq!(s, StatusCode::CONFLICT);

    // Bad tokens and scopes.
    let (s, _) = get(
        &app,
        true,
        "vch_not-a-token",
        "/api/v1/contacts?external_id=x",
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, v) = app
        .post_as(
            &app.admin_token,
            "/api/v1/admin/api-tokens",
            json!({"name": "x", "scopes": ["admin"]}),
        )
        .await;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("scopes"))
    );

    // The listing never shows a token; deletion holds at once on every node.
    let (_, list) = app
        .get_as(&app.admin_token, "/api/v1/admin/api-tokens")
        .await;
    assert_eq!(list["api_tokens"].as_array().map(Vec::len), Some(3));
    assert!(!list.to_string().contains(&contacts) && !list.to_string().contains(&convs));
    let del = app
        .http
        .delete(app.agent_url(&format!("/api/v1/admin/api-tokens/{contacts_id}")))
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(del.status(), StatusCode::NO_CONTENT);
    for on_a in [true, false] {
        let (s, _) = get(
            &app,
            on_a,
            &contacts,
            &format!("/api/v1/contacts/{contact_id}"),
        )
        .await;
        assert_eq!(
            s,
            StatusCode::UNAUTHORIZED,
            "revoked on node {}",
            if on_a { "A" } else { "B" }
        );
    }

    // The database holds only the hash of a token.
    if topology() == Topology::Sqlite {
        let dir = app.config.data_dir.clone().unwrap();
        let mut bytes = Vec::new();
        for f in ["chat.db", "chat.db-wal"] {
            bytes.extend(std::fs::read(dir.join(f)).unwrap_or_default());
        }
        let hash = {
            use sha2::Digest;
            sha2::Sha256::digest(convs.as_bytes()).to_vec()
        };
        let find = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
        assert!(find(&hash), "the hash is stored");
        assert!(!find(convs.as_bytes()), "the token is not");
        assert!(!find(&convs.as_bytes()[4..]), "nor its random part");
    }
}
