//! Abuse limits and concurrency: session floods, sockets per address, gapless seqs under
//! concurrent writers, typing, and the admin update routes.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::*;

#[tokio::test]
async fn session_floods_from_one_address_are_limited() {
    let app = TestApp::start_with(|c| {
        c.limits.session_rate = 1;
        c.limits.session_burst = 3;
    })
    .await;
    for _ in 0..3 {
        app.anon_session().await;
    }
    let (s, v) = app
        .session_raw(&app.anon_app_id, Some(SITE), None, None)
        .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{v}");
    assert_eq!(v["error"], "rate_limited");
}

#[tokio::test]
async fn sockets_per_address_are_limited_and_released() {
    let app = TestApp::start_with(|c| c.limits.max_sockets_per_address = 2).await;
    let s = app.anon_session().await;
    let t = s["session_token"].as_str().expect("t");
    let a = app.customer_ws(t).await;
    let _b = app.customer_ws(t).await;
    assert_eq!(app.try_customer_ws(t, Some(SITE)).await.err(), Some(429));
    drop(a);
    // The slot comes back once the server sees the close (bounded wait, no timing assertion).
    let mut reopened = false;
    for _ in 0..100 {
        if app.try_customer_ws(t, Some(SITE)).await.is_ok() {
            reopened = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(reopened, "a closed socket frees its slot");
}

#[tokio::test]
async fn concurrent_writers_get_gapless_unique_seqs() {
    let app = TestApp::start().await;
    let s = app.session("c-many").await;
    let t = s["session_token"].as_str().expect("t").to_string();
    let conv = s["conversation_id"].as_str().expect("id").to_string();
    let (st, _) = app
        .post_as(
            &app.agent_token,
            &format!("/api/v1/agent/conversations/{conv}/accept"),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let mut tasks = Vec::new();
    for w in 0..4 {
        let mut ws = app.customer_ws(&t).await;
        tasks.push(tokio::spawn(async move {
            let mut seqs = Vec::new();
            for i in 0..10 {
                seqs.push(ws.say(&format!("w{w}-{i}"), "hi").await);
            }
            seqs
        }));
    }
    let mut agent = app.agent_ws(&app.agent_token).await;
    let mut agent_seqs = Vec::new();
    for i in 0..10 {
        agent.send(json!({"type": "send", "conversation_id": conv, "client_msg_id": format!("a{i}"), "text": "yo"})).await;
        let id = format!("a{i}");
        let ack = agent
            .next_where("ack", |v| {
                v["type"] == "ack" && v["client_msg_id"] == id.as_str()
            })
            .await;
        agent_seqs.push(ack["seq"].as_i64().expect("seq"));
    }
    let mut all: Vec<i64> = agent_seqs;
    for t in tasks {
        all.extend(t.await.expect("task"));
    }
    all.sort_unstable();
    // seq 1 is the "joined" system message.
    assert_eq!(all, (2..=51).collect::<Vec<i64>>());
}

#[tokio::test]
async fn typing_reaches_the_other_side_and_refused_sends_name_their_message() {
    let app = TestApp::start().await;
    let s = app.session("c-type").await;
    let conv = s["conversation_id"].as_str().expect("id").to_string();
    let mut customer = app
        .customer_ws(s["session_token"].as_str().expect("t"))
        .await;
    let (st, _) = app
        .post_as(
            &app.agent_token,
            &format!("/api/v1/agent/conversations/{conv}/accept"),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let mut agent = app.agent_ws(&app.agent_token).await;
    customer.next_type("conversation").await;

    customer.send(json!({"type": "typing"})).await;
    let f = agent.next_type("typing").await;
    assert_eq!(
        (f["conversation_id"].as_str(), f["sender"].as_str()),
        (Some(conv.as_str()), Some("customer"))
    );
    agent
        .send(json!({"type": "typing", "conversation_id": conv}))
        .await;
    let f = customer.next_type("typing").await;
    assert_eq!(f["sender"], "agent");

    customer
        .send(json!({"type": "send", "client_msg_id": "long-1", "text": "x".repeat(5000)}))
        .await;
    let e = customer.next_type("error").await;
    assert_eq!(
        (e["error"].as_str(), e["client_msg_id"].as_str()),
        (Some("text_too_long"), Some("long-1"))
    );
    agent
        .send(json!({"type": "send", "text": "x", "client_msg_id": "n"}))
        .await;
    assert_eq!(
        agent.next_type("error").await["error"],
        "bad_frame",
        "agents name the conversation"
    );
}

#[tokio::test]
async fn admins_update_settings_and_widgets() {
    let app = TestApp::start().await;
    let (s, v) = app
        .http
        .put(app.url(&format!("/api/v1/admin/auth-settings/{}", app.settings_id)))
        .bearer_auth(&app.admin_token)
        .json(&json!({"name": "Renamed", "public_key_url": app.keys.url("/publickey"), "function_name": "site.auth.token", "leeway_secs": 30}))
        .send()
        .await
        .map(|r| (r.status(), r))
        .expect("put");
    assert_eq!(s, StatusCode::OK);
    let v: Value = v.json().await.expect("json");
    assert_eq!(
        (
            v["name"].as_str(),
            v["leeway_secs"].as_u64(),
            v["issuer"].clone()
        ),
        (Some("Renamed"), Some(30), Value::Null)
    );

    let r = app
        .http
        .put(app.url(&format!("/api/v1/admin/widgets/{}", app.anon_app_id)))
        .bearer_auth(&app.admin_token)
        .json(&json!({"name": "Open", "allowed_origins": ["https://other.test"], "auth_settings_id": app.settings_id, "require_auth": false}))
        .send()
        .await
        .expect("put");
    assert_eq!(r.status(), StatusCode::OK);
    // The old origin no longer works; the new one does.
    let (s, _) = app
        .session_raw(&app.anon_app_id, Some(SITE), None, None)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app
        .session_raw(&app.anon_app_id, Some("https://other.test"), None, None)
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, cfg) = app
        .get_as("", &format!("/api/v1/widgets/{}/config", app.anon_app_id))
        .await;
    assert_eq!(cfg["auth"]["function_name"], "site.auth.token");

    let r = app
        .http
        .put(app.url(&format!("/api/v1/admin/widgets/{}", uuid::Uuid::new_v4())))
        .bearer_auth(&app.admin_token)
        .json(&json!({"name": "x", "allowed_origins": ["https://a.test"]}))
        .send()
        .await
        .expect("put");
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}
