//! Agents: sign-in, the queue, the accept race, assigned-only writing, end → activity, the agent
//! socket's live frames, and the separation of agent, admin and customer credentials.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::*;

#[tokio::test]
async fn login_me_logout_and_credential_separation() {
    let app = TestApp::start().await;
    let r = app
        .http
        .post(app.url("/api/v1/agent/login"))
        .json(&json!({"email": "agent@example.com", "password": "secret"}))
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), StatusCode::OK);
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .to_string();
    assert!(
        cookie.starts_with("vouch_agent=")
            && cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["role"], "agent");
    assert_eq!(v["agent"]["email"], "agent@example.com");
    let token = v["token"].as_str().expect("token").to_string();

    let (s, me) = app.get_as(&token, "/api/v1/agent/me").await;
    assert_eq!((s, me["role"].as_str()), (StatusCode::OK, Some("agent")));

    // Wrong password and unknown email: one answer.
    for (email, pw) in [
        ("agent@example.com", "wrong"),
        ("nobody@example.com", "secret"),
    ] {
        let r = app
            .http
            .post(app.url("/api/v1/agent/login"))
            .json(&json!({"email": email, "password": pw}))
            .send()
            .await
            .expect("login");
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        let v: Value = r.json().await.expect("json");
        assert_eq!(v["error"], "invalid_credentials");
    }

    // A customer session token is not an agent token.
    let s = app.session("c-1").await;
    let customer = s["session_token"].as_str().expect("t");
    let (st, v) = app.get_as(customer, "/api/v1/agent/conversations").await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "{v}");
    let (st, _) = app.get_as("", "/api/v1/agent/conversations").await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);

    // A non-admin on the admin API.
    for path in [
        "/api/v1/admin/auth-settings",
        "/api/v1/admin/widgets",
        "/api/v1/admin/verification-failures",
    ] {
        let (st, v) = app.get_as(&app.agent_token, path).await;
        assert_eq!(
            (st, v["error"].as_str()),
            (StatusCode::FORBIDDEN, Some("forbidden")),
            "{path}"
        );
    }
    let (st, v) = app
        .post_as(
            &app.agent_token,
            "/api/v1/admin/widgets",
            json!({"name": "x"}),
        )
        .await;
    assert_eq!(
        (st, v["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );

    // Cookie auth: reads work; state changes need the service's own Origin.
    let cookie_pair = cookie.split(';').next().expect("pair").to_string();
    let r = app
        .http
        .get(app.url("/api/v1/agent/me"))
        .header("Cookie", &cookie_pair)
        .send()
        .await
        .expect("me");
    assert_eq!(r.status(), StatusCode::OK);
    let conv = s["conversation_id"].as_str().expect("id");
    let accept = app.url(&format!("/api/v1/agent/conversations/{conv}/accept"));
    let r = app
        .http
        .post(&accept)
        .header("Cookie", &cookie_pair)
        .header("Origin", "https://evil.test")
        .send()
        .await
        .expect("accept");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = app
        .http
        .post(&accept)
        .header("Cookie", &cookie_pair)
        .send()
        .await
        .expect("accept");
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "no Origin with a cookie");
    let r = app
        .http
        .post(&accept)
        .header("Cookie", &cookie_pair)
        .header("Origin", &app.base)
        .send()
        .await
        .expect("accept");
    assert_eq!(r.status(), StatusCode::OK);

    // Logout revokes the token.
    let r = app
        .http
        .post(app.url("/api/v1/agent/logout"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("logout");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (st, _) = app.get_as(&token, "/api/v1/agent/me").await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn exactly_one_of_many_concurrent_accepts_wins() {
    let app = TestApp::start().await;
    let mut tokens = vec![app.agent_token.clone()];
    for i in 0..5 {
        tokens.push(app.new_agent(&format!("racer{i}@example.com")).await);
    }
    let s = app.session("c-race").await;
    let conv = s["conversation_id"].as_str().expect("id").to_string();
    let path = format!("/api/v1/agent/conversations/{conv}/accept");
    let mut tasks = Vec::new();
    for t in tokens.iter().chain(tokens.iter()) {
        let (http, url, t) = (app.http.clone(), app.url(&path), t.clone());
        tasks.push(tokio::spawn(async move {
            http.post(url)
                .bearer_auth(t)
                .send()
                .await
                .expect("accept")
                .status()
        }));
    }
    let mut ok = 0;
    let mut conflict = 0;
    for t in tasks {
        match t.await.expect("task") {
            StatusCode::OK => ok += 1,
            StatusCode::CONFLICT => conflict += 1,
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!((ok, conflict), (1, 11));
    let (_, d) = app
        .get_as(
            &app.agent_token,
            &format!("/api/v1/agent/conversations/{conv}"),
        )
        .await;
    assert_eq!(d["state"], "active");
    let joined: Vec<&Value> = d["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter(|m| m["sender"] == "system")
        .collect();
    assert_eq!(joined.len(), 1, "one joined message: {d}");
}

#[tokio::test]
async fn the_assigned_agent_chats_and_ends_and_the_contact_gets_the_transcript() {
    let app = TestApp::start().await;
    let other = app.new_agent("other@example.com").await;
    let s = app.session("c-9").await;
    let conv = s["conversation_id"].as_str().expect("id").to_string();
    let contact = s["contact"]["id"].as_str().expect("contact").to_string();
    let mut customer = app
        .customer_ws(s["session_token"].as_str().expect("t"))
        .await;
    customer.say("q1", "Where is my order?").await; // allowed while waiting

    let mut agent_ws = app.agent_ws(&app.agent_token).await;
    let (st, _) = app
        .post_as(
            &app.agent_token,
            &format!("/api/v1/agent/conversations/{conv}/accept"),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let state = customer.next_type("conversation").await;
    assert_eq!(state["state"], "active");

    // The assigned agent writes; the customer gets it; the agent's own socket gets it once too.
    agent_ws.send(json!({"type": "send", "conversation_id": conv, "client_msg_id": "a1", "text": "Let me check."})).await;
    let ack = agent_ws
        .next_where("ack", |v| v["type"] == "ack" && v["client_msg_id"] == "a1")
        .await;
    let m = customer
        .next_where("agent message", |v| {
            v["type"] == "message" && v["sender"] == "agent"
        })
        .await;
    assert_eq!(
        (m["text"].as_str(), m["seq"].clone()),
        (Some("Let me check."), ack["seq"].clone())
    );
    let mine = agent_ws
        .next_where("own message", |v| {
            v["type"] == "message" && v["client_msg_id"] == "a1"
        })
        .await;
    assert_eq!(mine["conversation_id"], conv.as_str());
    // The customer's reply reaches the assigned agent live.
    customer.say("q2", "Thanks").await;
    let r = agent_ws
        .next_where("reply", |v| {
            v["type"] == "message" && v["client_msg_id"] == "q2"
        })
        .await;
    assert_eq!(r["sender"], "customer");

    // Another agent may read but not write or end.
    let (st, d) = app
        .get_as(&other, &format!("/api/v1/agent/conversations/{conv}"))
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(d["verified"], true);
    let mut other_ws = app.agent_ws(&other).await;
    other_ws.send(json!({"type": "send", "conversation_id": conv, "client_msg_id": "x", "text": "hijack"})).await;
    assert_eq!(other_ws.next_type("error").await["error"], "forbidden");
    let (st, _) = app
        .post_as(
            &other,
            &format!("/api/v1/agent/conversations/{conv}/end"),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);

    // The assigned agent ends it: an activity with the transcript lands on the contact.
    let (st, v) = app
        .post_as(
            &app.agent_token,
            &format!("/api/v1/agent/conversations/{conv}/end"),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(
        customer
            .next_where("ended", |v| v["type"] == "conversation"
                && v["state"] == "ended")
            .await["state"],
        "ended"
    );
    customer
        .send(json!({"type": "send", "client_msg_id": "late", "text": "hello?"}))
        .await;
    assert_eq!(
        customer.next_type("error").await["error"],
        "conversation_ended"
    );

    let (st, c) = app
        .get_as(&other, &format!("/api/v1/contacts/{contact}"))
        .await;
    assert_eq!(st, StatusCode::OK);
    let acts = c["activities"].as_array().expect("activities");
    assert_eq!(acts.len(), 1, "{c}");
    assert_eq!(acts[0]["kind"], "chat_transcript");
    assert_eq!(acts[0]["conversation_id"], conv.as_str());
    let texts: Vec<(&str, &str)> = acts[0]["transcript"]
        .as_array()
        .expect("transcript")
        .iter()
        .map(|t| {
            (
                t["sender"].as_str().unwrap_or(""),
                t["text"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(texts.len(), 5, "{texts:?}");
    assert_eq!(texts[0], ("customer", "Where is my order?"));
    assert_eq!(texts[1].0, "system");
    assert_eq!(texts[2], ("agent", "Let me check."));
    assert_eq!(texts[3], ("customer", "Thanks"));
    assert_eq!(texts[4].0, "system");
    let seqs: Vec<i64> = acts[0]["transcript"]
        .as_array()
        .expect("t")
        .iter()
        .map(|t| t["seq"].as_i64().expect("seq"))
        .collect();
    assert_eq!(seqs, vec![1, 2, 3, 4, 5]);

    // Lists by state.
    let (_, l) = app
        .get_as(&other, "/api/v1/agent/conversations?state=ended")
        .await;
    assert!(l["conversations"]
        .as_array()
        .expect("list")
        .iter()
        .any(|c| c["id"] == conv.as_str()));
    let (st, _) = app
        .get_as(&other, "/api/v1/agent/conversations?state=bogus")
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn agent_sockets_get_waiting_conversations_live_and_on_connect() {
    let app = TestApp::start().await;
    let early = app.anon_session().await;
    let mut ws = app.agent_ws(&app.agent_token).await;
    let f = ws.next_type("conversation").await;
    assert_eq!(f["conversation_id"], early["conversation_id"]);
    assert_eq!(
        (f["state"].as_str(), f["verified"].as_bool()),
        (Some("waiting"), Some(false))
    );

    let s = app.session("c-live").await;
    let f = ws
        .next_where("new conversation", |v| {
            v["type"] == "conversation" && v["conversation_id"] == s["conversation_id"]
        })
        .await;
    assert_eq!(f["state"], "waiting");
    assert_eq!(f["verified"], true);
    assert_eq!(f["contact"]["external_id"], "c-live");
    assert!(f["created_at"].as_str().is_some());

    // Another agent accepts: this console learns it is taken.
    let other = app.new_agent("fast@example.com").await;
    let conv = s["conversation_id"].as_str().expect("id");
    let (st, _) = app
        .post_as(
            &other,
            &format!("/api/v1/agent/conversations/{conv}/accept"),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let f = ws
        .next_where("taken", |v| {
            v["type"] == "conversation" && v["conversation_id"] == conv && v["state"] == "active"
        })
        .await;
    assert!(f["agent_id"].as_str().is_some());
    let (st, _) = app
        .post_as(
            &app.agent_token,
            &format!("/api/v1/agent/conversations/{conv}/accept"),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::CONFLICT);
}

#[tokio::test]
async fn agent_socket_upgrade_is_authenticated() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    use tokio_tungstenite::tungstenite::http::HeaderValue;
    let app = TestApp::start().await;
    let url = format!("{}/api/v1/agent/ws", app.ws_base);
    let req = |headers: &[(&'static str, String)]| {
        let mut r = url.clone().into_client_request().expect("req");
        for (k, v) in headers {
            r.headers_mut()
                .insert(*k, HeaderValue::from_str(v).expect("header"));
        }
        r
    };
    assert_eq!(Ws::connect(req(&[])).await.err(), Some(401));
    let s = app.session("c-x").await;
    let customer = s["session_token"].as_str().expect("t").to_string();
    assert_eq!(
        Ws::connect(req(&[("Authorization", format!("Bearer {customer}"))]))
            .await
            .err(),
        Some(401)
    );
    let cookie = format!("vouch_agent={}", app.agent_token);
    assert_eq!(
        Ws::connect(req(&[
            ("Cookie", cookie.clone()),
            ("Origin", "https://evil.test".into())
        ]))
        .await
        .err(),
        Some(403)
    );
    assert!(
        Ws::connect(req(&[("Cookie", cookie), ("Origin", app.base.clone())]))
            .await
            .is_ok()
    );
}
