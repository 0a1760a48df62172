//! Operations: /metrics after real traffic, /readyz (database, key URLs), request ids, the
//! OpenAPI document, and start-up configuration errors that name the flag.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use vouch_chat::{ChatConfig, ChatService, NewAuthSettings};

use crate::support::{claims, sign, KeyServer, TestApp, SITE, WAIT};

const METRICS_TOKEN: &str = "test-metrics-token-0123456789";

async fn app_with_metrics() -> TestApp {
    TestApp::start_with(|c| {
        c.metrics_token = Some(METRICS_TOKEN.parse().expect("metrics token"));
    })
    .await
}

/// The metrics of every node of the topology, one exposition after the other: metrics are per
/// node, so with two nodes the cluster's figure is the sum over both ([`metric`] adds them up).
async fn scrape(app: &TestApp) -> String {
    let mut bases = vec![app.base.clone()];
    if app.agent_base != app.base {
        bases.push(app.agent_base.clone());
    }
    let mut text = String::new();
    for base in bases {
        let r = app
            .http
            .get(format!("{base}/metrics"))
            .bearer_auth(METRICS_TOKEN)
            .send()
            .await
            .expect("scrape");
        assert_eq!(r.status(), StatusCode::OK);
        assert!(r.headers()["content-type"]
            .to_str()
            .expect("type")
            .starts_with("text/plain; version=0.0.4"));
        text.push_str(&r.text().await.expect("body"));
        text.push('\n');
    }
    text
}

/// The value of one series, summed over every node's exposition in `text` (0 when absent).
fn metric(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    let want: BTreeMap<String, String> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut total = 0.0;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let (n, have) = match series.split_once('{') {
            Some((n, rest)) => {
                let inner = rest.trim_end_matches('}');
                let have: BTreeMap<String, String> = inner
                    .split("\",")
                    .filter(|p| !p.is_empty())
                    .filter_map(|p| p.split_once("=\""))
                    .map(|(k, v)| (k.to_string(), v.trim_end_matches('"').to_string()))
                    .collect();
                (n, have)
            }
            None => (series, BTreeMap::new()),
        };
        if n == name && have == want {
            total += value.parse::<f64>().expect("metric value");
        }
    }
    total
}

/// `GET url`, which must be answered.
async fn get(http: &reqwest::Client, url: String) -> reqwest::Response {
    let sent = http.get(&url).send().await;
    sent.unwrap_or_else(|e| panic!("GET {url}: {e}"))
}

#[tokio::test]
async fn metrics_count_real_traffic_and_need_the_token() {
    let app = app_with_metrics().await;

    // Not public: no token, another token, another scheme.
    for auth in [
        None,
        Some("Bearer wrong-token-wrong-token"),
        Some("Basic abc"),
    ] {
        let mut req = app.http.get(app.url("/metrics"));
        if let Some(a) = auth {
            req = req.header("Authorization", a);
        }
        let r = req.send().await.expect("metrics");
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{auth:?}");
        let body = r.text().await.expect("body");
        assert!(!body.contains("vouch_chat_"), "{body}");
    }

    // A verified chat: session, a customer message, accept, an agent message, end.
    let s = app.session("metrics-sub").await;
    let conv = s["conversation_id"]
        .as_str()
        .expect("conversation")
        .to_string();
    let mut customer = app
        .customer_ws(s["session_token"].as_str().expect("session token"))
        .await;
    let mut agent = app.agent_ws(&app.agent_token).await;
    customer.say("c1", "hello").await;
    customer.say("c1", "hello").await; // a resend: acked again, stored once
    let (st, _) = app
        .post_as(
            &app.agent_token,
            &format!("/api/v1/agent/conversations/{conv}/accept"),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    agent
        .send(json!({"type": "send", "conversation_id": conv, "client_msg_id": "a1", "text": "hi"}))
        .await;
    agent
        .next_where("ack", |v| v["type"] == "ack" && v["client_msg_id"] == "a1")
        .await;

    // Two refused tokens and an anonymous session.
    for t in [sign(&claims("x", -120)), "not-a-jwt".to_string()] {
        let (st, _) = app
            .session_raw(&app.app_id, Some(SITE), Some(&t), None)
            .await;
        assert_eq!(st, StatusCode::UNAUTHORIZED);
    }
    app.anon_session().await;
    // Made-up methods, on a route and on no route: counted, but as `other`, never as labels
    // of their own (any client could otherwise grow the series without bound).
    for (i, path) in ["/healthz", "/no/such/route"].into_iter().enumerate() {
        let brew = reqwest::Method::from_bytes(format!("BREW{i}").as_bytes()).expect("method");
        let r = app
            .http
            .request(brew, app.url(path))
            .send()
            .await
            .expect("brew");
        assert!(r.status().is_client_error(), "{path}: {}", r.status());
    }

    let text = scrape(&app).await;
    let m = |name: &str, labels: &[(&str, &str)]| metric(&text, name, labels);
    assert!(!text.contains("BREW"), "{text}");
    // Requests by route, method and status.
    #[rustfmt::skip]
    let requested = [
        ("/healthz", "other", "405", 1.0),
        ("unmatched", "other", "404", 1.0),
        ("/api/v1/widgets/{app_id}/sessions", "POST", "201", 2.0),
        ("/api/v1/widgets/{app_id}/sessions", "POST", "401", 2.0),
        ("/api/v1/agent/conversations/{id}/accept", "POST", "200", 1.0),
    ];
    for (route, method, status, value) in requested {
        let labels = [("route", route), ("method", method), ("status", status)];
        let requests = m("vouch_chat_http_requests_total", &labels);
        assert_eq!(requests, value, "{labels:?}\n{text}");
    }
    // What the sessions, messages and sockets above counted: (series, labels, value, why).
    type Labels = &'static [(&'static str, &'static str)];
    type Counted = (&'static str, Labels, f64, &'static str);
    #[rustfmt::skip]
    let counted: [Counted; 10] = [
        ("vouch_chat_sessions_created_total", &[("verified", "true")], 1.0, ""),
        ("vouch_chat_sessions_created_total", &[("verified", "false")], 1.0, ""),
        ("vouch_chat_token_verifications_total", &[("result", "ok"), ("reason", "")], 1.0, ""),
        ("vouch_chat_messages_stored_total", &[("sender", "customer")], 1.0,
            "the resend is not stored twice"),
        ("vouch_chat_messages_stored_total", &[("sender", "agent")], 1.0, ""),
        ("vouch_chat_messages_stored_total", &[("sender", "system")], 1.0, "the joined message"),
        ("vouch_chat_conversation_transitions_total", &[("from", "none"), ("to", "waiting")], 2.0, ""),
        ("vouch_chat_conversation_transitions_total", &[("from", "waiting"), ("to", "active")], 1.0, ""),
        ("vouch_chat_ack_latency_seconds_count", &[("socket", "customer")], 2.0,
            "both acks (the resend's too) are timed"),
        ("vouch_chat_ack_latency_seconds_count", &[("socket", "agent")], 1.0, ""),
    ];
    for (name, labels, value, why) in counted {
        assert_eq!(m(name, labels), value, "{name} {labels:?}: {why}\n{text}");
    }
    assert!(
        m(
            "vouch_chat_ack_latency_seconds_bucket",
            &[("socket", "customer"), ("le", "+Inf")]
        ) == 2.0
    );
    assert_eq!(m("vouch_chat_open_sockets", &[("socket", "customer")]), 1.0);
    assert_eq!(m("vouch_chat_open_sockets", &[("socket", "agent")]), 1.0);
    assert!(m("vouch_chat_key_fetches_total", &[("result", "ok")]) >= 1.0);

    // Verification failures: one source of truth with the diagnostics page.
    let (st, diag) = app
        .get_as(&app.admin_token, "/api/v1/admin/verification-failures")
        .await;
    assert_eq!(st, StatusCode::OK);
    let counts = diag["counts"].as_object().expect("counts");
    assert_eq!(counts.len(), 2, "{diag}");
    for (reason, n) in counts {
        assert_eq!(
            m(
                "vouch_chat_token_verifications_total",
                &[("result", "failed"), ("reason", reason)]
            ),
            n.as_f64().expect("count"),
            "{reason}"
        );
    }

    // End: active → ended, the ended system message; closing sockets counts down.
    let (st, _) = app
        .post_as(
            &app.agent_token,
            &format!("/api/v1/agent/conversations/{conv}/end"),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    drop(customer);
    drop(agent);
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let text = scrape(&app).await;
        let open = metric(&text, "vouch_chat_open_sockets", &[("socket", "customer")])
            + metric(&text, "vouch_chat_open_sockets", &[("socket", "agent")]);
        if open == 0.0 {
            assert_eq!(
                metric(
                    &text,
                    "vouch_chat_conversation_transitions_total",
                    &[("from", "active"), ("to", "ended")]
                ),
                1.0
            );
            assert_eq!(
                metric(
                    &text,
                    "vouch_chat_messages_stored_total",
                    &[("sender", "system")]
                ),
                2.0
            );
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "sockets still counted open: {open}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn metrics_are_off_without_a_token_and_short_tokens_are_refused() {
    let app = TestApp::start().await;
    let r = app
        .http
        .get(app.url("/metrics"))
        .bearer_auth("anything-anything-anything")
        .send()
        .await
        .expect("metrics");
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let e = "short".parse::<vouch_chat::metrics::MetricsToken>();
    assert!(e.is_err());
}

#[tokio::test]
async fn readyz_is_ready_then_names_a_key_url_that_is_down_and_a_closed_database() {
    let app = TestApp::start().await;
    let r = get(&app.http, app.url("/readyz")).await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["status"], "ready", "{v}");

    // A setting whose key server then goes away. This node keeps its cached keys (ready);
    // a second node on the same database, started after, has nothing cached: it is not ready
    // and says which setting and why.
    let gone = KeyServer::start().await;
    let keys_url = gone.url("/publickey");
    let setting = app
        .service
        .create_auth_settings(NewAuthSettings {
            name: "Gone".into(),
            public_key_url: keys_url.clone(),
            function_name: "auth.getAuthenticationToken".into(),
            issuer: None,
            leeway_secs: None,
        })
        .await
        .expect("setting");
    drop(gone);
    let probe = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let deadline = tokio::time::Instant::now() + WAIT;
    while probe.get(&keys_url).send().await.is_ok() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "key server still up"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let r = get(&app.http, app.url("/readyz")).await;
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "cached keys keep this node ready"
    );

    let config = app.config.clone();
    let node = ChatService::open(&config).await.expect("second node");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let srv = node.clone();
    tokio::spawn(async move {
        let _ = srv
            .serve(listener, async move {
                let _ = rx.await;
            })
            .await;
    });
    let r = get(&app.http, format!("{base}/readyz")).await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["status"], "not_ready", "{v}");
    let items = v["not_ready"].as_array().expect("list");
    assert_eq!(items.len(), 1, "{v}");
    assert_eq!(items[0]["check"], "keys");
    assert_eq!(items[0]["auth_settings_id"], setting.id.to_string());
    assert_eq!(items[0]["name"], "Gone");
    assert_eq!(items[0]["public_key_url"], keys_url.as_str());
    assert_eq!(items[0]["error"], "connect", "{v}");

    // The database closes: not ready, and says so (the first node).
    let h = get(&app.http, format!("{base}/healthz")).await;
    assert_eq!(h.status(), StatusCode::OK);
    app.service.close_database().await;
    let r = get(&app.http, app.url("/readyz")).await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["not_ready"][0]["check"], "database", "{v}");
    let h = get(&app.http, app.url("/healthz")).await;
    assert_eq!(h.status(), StatusCode::OK, "the process still serves");
    let _ = tx.send(());
}

#[tokio::test]
async fn request_ids_are_echoed_when_safe_and_made_otherwise() {
    let app = TestApp::start().await;
    let get = |id: Option<&str>| {
        let mut req = app.http.get(app.url("/healthz"));
        if let Some(id) = id {
            req = req.header("x-request-id", id);
        }
        req.send()
    };
    let r = get(Some("req-42_a.b")).await.expect("get");
    assert_eq!(r.headers()["x-request-id"], "req-42_a.b");

    let long = "a".repeat(65);
    for bad in [
        None,
        Some("has space"),
        Some("<script>"),
        Some(long.as_str()),
    ] {
        let r = get(bad).await.expect("get");
        let id = r.headers()["x-request-id"]
            .to_str()
            .expect("id")
            .to_string();
        assert_ne!(Some(id.as_str()), bad);
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "generated: {id}");
    }
    // Errors and unknown routes carry one too.
    let r = app
        .http
        .get(app.url("/no/such/route"))
        .header("x-request-id", "abc")
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(r.headers()["x-request-id"], "abc");
}

#[tokio::test]
async fn openapi_document_lists_every_api_route_with_the_design_field_names() {
    let app = TestApp::start().await;
    let r = get(&app.http, app.url("/api/v1/openapi.json")).await;
    assert_eq!(r.status(), StatusCode::OK);
    let doc: Value = r.json().await.expect("json");
    assert!(doc["openapi"].as_str().expect("version").starts_with("3.1"));
    let paths = doc["paths"].as_object().expect("paths");
    for (path, method) in [
        ("/api/v1/widgets/{app_id}/config", "get"),
        ("/api/v1/widgets/{app_id}/sessions", "post"),
        ("/api/v1/chat", "get"),
        ("/api/v1/agent/login", "post"),
        ("/api/v1/agent/logout", "post"),
        ("/api/v1/agent/me", "get"),
        ("/api/v1/agent/conversations", "get"),
        ("/api/v1/agent/conversations/{id}", "get"),
        ("/api/v1/agent/conversations/{id}/accept", "post"),
        ("/api/v1/agent/conversations/{id}/end", "post"),
        ("/api/v1/agent/ws", "get"),
        ("/api/v1/agent/search", "get"),
        ("/api/v1/chat/transcript-email", "post"),
        ("/api/v1/contacts/{id}", "get"),
        ("/api/v1/admin/auth-settings", "get"),
        ("/api/v1/admin/auth-settings", "post"),
        ("/api/v1/admin/auth-settings/{id}", "put"),
        ("/api/v1/admin/widgets", "get"),
        ("/api/v1/admin/widgets", "post"),
        ("/api/v1/admin/widgets/{app_id}", "put"),
        ("/api/v1/admin/verification-failures", "get"),
        ("/api/v1/admin/queues", "get"),
        ("/api/v1/admin/queues", "post"),
        ("/api/v1/admin/queues/{id}/members", "put"),
        ("/api/v1/admin/widgets/{app_id}/routing", "get"),
        ("/api/v1/admin/widgets/{app_id}/routing", "put"),
        ("/api/v1/admin/agents", "get"),
        ("/api/v1/admin/agents", "post"),
        ("/api/v1/admin/agents/{id}", "patch"),
        ("/api/v1/agent/presence", "put"),
        ("/api/v1/agent/queues", "get"),
        ("/api/v1/agent/agents", "get"),
        ("/api/v1/agent/conversations/{id}/transfer", "post"),
        ("/api/v1/chat/attachments", "post"),
        ("/api/v1/agent/conversations/{id}/attachments", "post"),
        ("/api/v1/attachments/{id}", "get"),
        ("/api/v1/chat/rating", "post"),
        ("/api/v1/admin/reports/summary", "get"),
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/metrics", "get"),
        ("/api/v1/openapi.json", "get"),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path}"
        );
    }
    let props = |schema: &str| -> Vec<String> {
        doc["components"]["schemas"][schema]["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("schema {schema}"))
            .keys()
            .cloned()
            .collect()
    };
    let mut created = props("SessionCreated");
    created.sort();
    assert_eq!(
        created,
        [
            "contact",
            "conversation_id",
            "expires_at",
            "session_token",
            "state",
            "verified"
        ]
    );
    let mut w = props("WidgetBody");
    w.sort();
    assert_eq!(
        w,
        [
            "allowed_origins",
            "app_id",
            "auth_settings_id",
            "business_hours",
            "created_at",
            "name",
            "offline_message",
            "require_auth",
            "snippet",
            "title"
        ]
    );
}

#[tokio::test]
async fn startup_errors_name_the_flag_and_the_fix() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = || {
        let mut c = ChatConfig::with_data_dir(dir.path());
        c.allow_private_key_urls = true;
        c
    };
    let error_of = |c: ChatConfig| async move {
        match ChatService::open(&c).await {
            Ok(_) => panic!("configuration accepted"),
            Err(e) => e.to_string(),
        }
    };

    let mut c = base();
    c.public_url = Some("chat.example.com/path".into());
    let e = error_of(c).await;
    assert!(
        e.contains("--public-url") && e.contains("scheme://host"),
        "{e}"
    );

    let mut c = base();
    c.limits.msg_rate = 0;
    let e = error_of(c).await;
    assert!(
        e.contains("--msg-rate 0") && e.contains("at least 1") && e.contains("default is 20"),
        "{e}"
    );

    let mut c = base();
    c.limits.max_frame_bytes = 10;
    let e = error_of(c).await;
    assert!(
        e.contains("--max-frame-bytes 10") && e.contains("at least 1024"),
        "{e}"
    );

    let mut c = base();
    c.database_url = Some("mysql://localhost/chat".into());
    let e = error_of(c).await;
    assert!(
        e.contains("--database-url") && e.contains("\"mysql\"") && e.contains("sqlite://PATH"),
        "{e}"
    );

    // A data directory that cannot be created: it would sit under a regular file.
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"x").expect("write");
    let c = ChatConfig::with_data_dir(file.join("data"));
    let e = error_of(c).await;
    assert!(
        e.contains("--data-dir") && e.contains("a-file") && e.contains("may"),
        "{e}"
    );

    // A database file that cannot be opened as one.
    let bad_db = dir.path().join("not-a-db");
    std::fs::create_dir_all(bad_db.join("chat.db")).expect("a directory where the file goes");
    let e = error_of(ChatConfig::with_data_dir(&bad_db)).await;
    assert!(
        e.contains("--data-dir") && e.contains("chat.db") && e.contains("read and write"),
        "{e}"
    );

    // The metrics token flag refuses short values with the fix.
    let e = "abc"
        .parse::<vouch_chat::metrics::MetricsToken>()
        .expect_err("short");
    assert!(
        e.contains("at least 16") && e.contains("openssl rand"),
        "{e}"
    );
}

#[tokio::test]
async fn extractor_rejections_on_the_api_are_json_errors() {
    let app = TestApp::start().await;
    // Found by schemathesis: a repeated query parameter was a text/plain 400.
    let (st, v) = app
        .get_as(
            &app.agent_token,
            "/api/v1/agent/conversations?state=waiting&state=active",
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(v["error"], "bad_request", "{v}");
    assert!(v["message"].as_str().expect("message").contains("state"));
    // A plain GET of a socket route (not an upgrade).
    let (st, v) = app.get_as(&app.agent_token, "/api/v1/agent/ws").await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(v["error"], "bad_request", "{v}");
    // A method the route does not take keeps its Allow header.
    let r = app
        .http
        .delete(app.url("/api/v1/agent/me"))
        .bearer_auth(&app.agent_token)
        .send()
        .await
        .expect("delete");
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(r.headers().contains_key("allow"));
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["error"], "method_not_allowed");
    // Pages outside /api/ are left alone.
    let r = app
        .http
        .delete(app.url("/agent"))
        .send()
        .await
        .expect("delete");
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
}
