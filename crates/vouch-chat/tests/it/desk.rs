//! The support desk (issue 15): queues and routing, agent administration, presence,
//! auto-assignment, queue positions and transfer — against the real server, as a client would.
//! Runs on every topology (`VOUCH_TEST_TOPOLOGY`); the 200-conversation race starts two nodes on
//! PostgreSQL itself.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use vouch_testkit::chat::{add_person, serve_node};
use vouch_testkit::http::{create_session, http_client, login};
use vouch_testkit::ScratchDatabase;

use crate::support::{claims, sign, token, TestApp, SITE, WAIT};
use vouch_chat::{ChatService, Role};

const GENERAL: &str = "00000000-0000-4000-8000-000000000001";

async fn send(
    app: &TestApp,
    method: reqwest::Method,
    token: &str,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = app
        .http
        .request(method, app.agent_url(path))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.expect("request");
    let status = r.status();
    let v = r.json().await.unwrap_or(Value::Null);
    (status, v)
}

async fn put(app: &TestApp, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
    send(app, reqwest::Method::PUT, token, path, Some(body)).await
}

async fn patch(app: &TestApp, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
    send(app, reqwest::Method::PATCH, token, path, Some(body)).await
}

async fn me(app: &TestApp, token: &str) -> Value {
    let (s, v) = app.get_as(token, "/api/v1/agent/me").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v
}

async fn available(app: &TestApp, token: &str) {
    let (s, v) = put(
        app,
        token,
        "/api/v1/agent/presence",
        json!({"status": "available"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "available");
}

/// A queue made by the admin; its id.
async fn queue(app: &TestApp, name: &str, priority: i64) -> String {
    let (s, v) = app
        .post_as(
            &app.admin_token,
            "/api/v1/admin/queues",
            json!({"name": name, "priority": priority}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["id"].as_str().expect("id").to_string()
}

async fn members(app: &TestApp, queue: &str, agent_ids: &[&str]) -> Value {
    let (s, v) = put(
        app,
        &app.admin_token,
        &format!("/api/v1/admin/queues/{queue}/members"),
        json!({ "agent_ids": agent_ids }),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v
}

async fn conversation(app: &TestApp, id: &str) -> Value {
    let (s, v) = app
        .get_as(
            &app.admin_token,
            &format!("/api/v1/agent/conversations/{id}"),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v
}

/// A verified session whose token carries `lwicontexts`; the conversation id.
async fn session_with_context(app: &TestApp, sub: &str, lwi: Value, body: Option<Value>) -> String {
    let mut c = claims(sub, 600);
    c["lwicontexts"] = json!(lwi.to_string());
    let (s, v) = app
        .session_raw(&app.app_id, Some(SITE), Some(&sign(&c)), body)
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["conversation_id"].as_str().expect("id").to_string()
}

/// Polls `f` until it holds (bounded by [`WAIT`]).
async fn eventually<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    while !f().await {
        assert!(tokio::time::Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn general_exists_from_the_start_with_every_agent() {
    let app = TestApp::start().await;
    let (s, v) = app.get_as(&app.admin_token, "/api/v1/admin/queues").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let queues = v["queues"].as_array().expect("queues");
    assert_eq!(queues.len(), 1, "{v}");
    let g = &queues[0];
    assert_eq!(
        (
            &g["id"],
            &g["name"],
            &g["default"],
            &g["priority"],
            &g["auto_assign"]
        ),
        (
            &json!(GENERAL),
            &json!("General"),
            &json!(true),
            &json!(0),
            &json!(true)
        )
    );
    assert_eq!(g["agent_ids"].as_array().expect("ids").len(), 2, "{g}");
    // A new agent joins General too, and a new conversation lands there (in every agent JSON).
    let (s, a) = app
        .post_as(
            &app.admin_token,
            "/api/v1/admin/agents",
            json!({"email": "new@example.com", "name": "New", "role": "agent", "password": "pw"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{a}");
    let (_, v) = app.get_as(&app.admin_token, "/api/v1/admin/queues").await;
    assert!(v["queues"][0]["agent_ids"]
        .as_array()
        .expect("ids")
        .contains(&a["id"]));
    let id = app.session("queue-1").await["conversation_id"].clone();
    let (_, list) = app
        .get_as(
            &app.agent_token,
            "/api/v1/agent/conversations?state=waiting",
        )
        .await;
    let listed = list["conversations"]
        .as_array()
        .expect("list")
        .iter()
        .find(|c| c["id"] == id)
        .expect("listed");
    assert_eq!(listed["queue_id"], GENERAL);
    assert_eq!(
        conversation(&app, id.as_str().expect("id")).await["queue_id"],
        GENERAL
    );
    // Agents only: queues are an admin's.
    let (s, _) = app.get_as(&app.agent_token, "/api/v1/admin/queues").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn routing_sees_only_the_verified_tokens_context() {
    let app = TestApp::start().await;
    let priority = queue(&app, "Priority", 10).await;
    let verified_q = queue(&app, "Verified", 0).await;
    let path = format!("/api/v1/admin/widgets/{}/routing", app.app_id);
    let rules = json!({"rules": [
        {"when": {"verified": true, "context": {"tier": "gold"}}, "queue_id": priority},
        {"when": {"verified": true}, "queue_id": verified_q},
    ]});
    let (s, v) = put(&app, &app.admin_token, &path, rules.clone()).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = app.get_as(&app.admin_token, &path).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["rules"], rules["rules"]);
    assert_eq!(v["default_queue_id"], Value::Null);

    // The token says gold: Priority.
    let gold = session_with_context(&app, "gold-1", json!({"tier": "gold"}), None).await;
    assert_eq!(
        conversation(&app, &gold).await["queue_id"],
        priority.as_str()
    );
    // The body says gold, the token does not: the customer cannot route themselves.
    let cheat = session_with_context(
        &app,
        "cheat-1",
        json!({"tier": "silver"}),
        Some(json!({"context": {"tier": "gold"}})),
    )
    .await;
    let c = conversation(&app, &cheat).await;
    assert_eq!(c["queue_id"], verified_q.as_str(), "{c}");
    assert_eq!(
        c["context"]["tier"], "silver",
        "the token's context wins the merge"
    );
    let (s, v) = app
        .session_raw(
            &app.app_id,
            Some(SITE),
            Some(&token("cheat-2")),
            Some(json!({"context": {"tier": "gold"}})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let c = conversation(&app, v["conversation_id"].as_str().expect("id")).await;
    assert_eq!(
        c["context"]["tier"], "gold",
        "the body's context is kept as context"
    );
    assert_eq!(c["queue_id"], verified_q.as_str(), "but never routes");

    // Not verified, even with the body's gold: General (the anonymous widget has no rules).
    let (s, v) = app
        .session_raw(
            &app.anon_app_id,
            Some(SITE),
            None,
            Some(json!({"context": {"tier": "gold"}})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let c = conversation(&app, v["conversation_id"].as_str().expect("id")).await;
    assert_eq!(c["queue_id"], GENERAL);
}

#[tokio::test]
async fn routing_refuses_unknown_queues_and_keeps_the_old_rules() {
    let app = TestApp::start().await;
    let path = format!("/api/v1/admin/widgets/{}/routing", app.app_id);
    let q = queue(&app, "Sales", 0).await;
    let good = json!({"rules": [{"when": {"verified": true}, "queue_id": q}], "default_queue_id": GENERAL});
    assert_eq!(
        put(&app, &app.admin_token, &path, good.clone()).await.0,
        StatusCode::OK
    );
    let missing = uuid::Uuid::new_v4().to_string();
    for (body, field) in [
        (
            json!({"rules": [{"when": {}, "queue_id": missing}]}),
            "queue_id",
        ),
        (
            json!({"rules": [{"when": {}, "queue_id": "nope"}]}),
            "queue_id",
        ),
        (
            json!({"rules": [], "default_queue_id": missing}),
            "default_queue_id",
        ),
        (json!({"rules": "x"}), "rules"),
        (
            json!({"rules": [{"when": {"verified": "yes"}, "queue_id": q}]}),
            "verified",
        ),
        (
            json!({"rules": [{"when": {"context": {"a": {"b": 1}}}, "queue_id": q}]}),
            "context",
        ),
    ] {
        let (s, v) = put(&app, &app.admin_token, &path, body.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
        assert_eq!(
            (&v["error"], &v["field"]),
            (&json!("validation_failed"), &json!(field)),
            "{body}"
        );
    }
    let (_, v) = app.get_as(&app.admin_token, &path).await;
    assert_eq!(v["rules"], good["rules"], "nothing half-applied");
    let (s, _) = put(
        &app,
        &app.admin_token,
        &format!("/api/v1/admin/widgets/{missing}/routing"),
        good,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, v) = put(
        &app,
        &app.admin_token,
        &format!("/api/v1/admin/queues/{q}/members"),
        json!({"agent_ids": [missing]}),
    )
    .await;
    assert_eq!(
        (s, &v["field"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("agent_ids"))
    );
    let (s, v) = app
        .post_as(
            &app.admin_token,
            "/api/v1/admin/queues",
            json!({"name": "Sales"}),
        )
        .await;
    assert_eq!(
        (s, &v["field"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("name"))
    );
}

#[tokio::test]
async fn admins_create_rename_and_limit_agents() {
    let app = TestApp::start().await;
    let (s, a) = app
        .post_as(
            &app.admin_token,
            "/api/v1/admin/agents",
            json!({"email": "Kim@Example.com", "name": "Kim", "role": "agent", "password": "pw1", "capacity": 5}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{a}");
    for (k, want) in [
        ("email", json!("kim@example.com")),
        ("name", json!("Kim")),
        ("role", json!("agent")),
        ("capacity", json!(5)),
        ("active", json!(true)),
    ] {
        assert_eq!(a[k], want, "{k}: {a}");
    }
    let id = a["id"].as_str().expect("id").to_string();
    for capacity in [json!(101), json!(-1), json!("3"), json!(2.5)] {
        let (s, v) = app
            .post_as(
                &app.admin_token,
                "/api/v1/admin/agents",
                json!({"email": "x@example.com", "name": "X", "role": "agent", "password": "p", "capacity": capacity}),
            )
            .await;
        assert_eq!(
            (s, &v["field"]),
            (StatusCode::UNPROCESSABLE_ENTITY, &json!("capacity")),
            "{capacity}"
        );
        let (s, v) = patch(
            &app,
            &app.admin_token,
            &format!("/api/v1/admin/agents/{id}"),
            json!({"capacity": capacity}),
        )
        .await;
        assert_eq!(
            (s, &v["field"]),
            (StatusCode::UNPROCESSABLE_ENTITY, &json!("capacity")),
            "{capacity}"
        );
    }
    let (s, v) = app
        .post_as(
            &app.admin_token,
            "/api/v1/admin/agents",
            json!({"email": "kim@example.com", "name": "Kim 2", "role": "agent", "password": "p"}),
        )
        .await;
    assert_eq!(
        (s, &v["field"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("email"))
    );
    let (s, v) = app
        .post_as(
            &app.admin_token,
            "/api/v1/admin/agents",
            json!({"email": "r@example.com", "name": "R", "role": "boss", "password": "p"}),
        )
        .await;
    assert_eq!(
        (s, &v["field"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("role"))
    );

    let (s, v) = patch(
        &app,
        &app.admin_token,
        &format!("/api/v1/admin/agents/{id}"),
        json!({"name": "Kim Park", "role": "admin", "capacity": 0, "password": "pw2"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (&v["name"], &v["role"], &v["capacity"]),
        (&json!("Kim Park"), &json!("admin"), &json!(0))
    );
    // The new password signs in; the old does not.
    let (s, _) =
        vouch_testkit::http::sign_in(&app.http, &app.agent_base, "kim@example.com", "pw1").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let kim = login(&app.http, &app.agent_base, "kim@example.com", "pw2").await;
    let (s, list) = app.get_as(&kim, "/api/v1/admin/agents").await;
    assert_eq!(s, StatusCode::OK, "{list}");
    let listed: Vec<&Value> = list["agents"].as_array().expect("agents").iter().collect();
    assert_eq!(listed.len(), 3);
    for a in listed {
        for k in [
            "id",
            "email",
            "name",
            "role",
            "capacity",
            "active",
            "status",
            "active_count",
        ] {
            assert!(a.get(k).is_some(), "{k} missing: {a}");
        }
    }
    let missing = uuid::Uuid::new_v4();
    let (s, _) = patch(
        &app,
        &app.admin_token,
        &format!("/api/v1/admin/agents/{missing}"),
        json!({"name": "n"}),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = patch(
        &app,
        &app.agent_token,
        &format!("/api/v1/admin/agents/{id}"),
        json!({"name": "n"}),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn deactivation_ends_tokens_and_sockets_at_once_and_refuses_sign_in() {
    let app = TestApp::start().await;
    let lee = app.new_agent("lee@example.com").await;
    let id = me(&app, &lee).await["id"].as_str().expect("id").to_string();
    let mut ws = app.agent_ws(&lee).await;
    let (s, v) = patch(
        &app,
        &app.admin_token,
        &format!("/api/v1/admin/agents/{id}"),
        json!({"active": false}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["active"], false);
    // The socket is told and closed now, not at its next ping.
    ws.next_type("signed_out").await;
    tokio::time::timeout(WAIT, ws.wait_closed())
        .await
        .expect("the deactivated agent's socket closed");
    let (s, _) = app.get_as(&lee, "/api/v1/agent/me").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) =
        vouch_testkit::http::sign_in(&app.http, &app.agent_base, "lee@example.com", "secret").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(Ws_refused(&app, &lee).await);
    // Reactivated: signs in again.
    let (s, _) = patch(
        &app,
        &app.admin_token,
        &format!("/api/v1/admin/agents/{id}"),
        json!({"active": true}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    login(&app.http, &app.agent_base, "lee@example.com", "secret").await;
    // An admin cannot lock themselves out.
    let admin_id = me(&app, &app.admin_token).await["id"]
        .as_str()
        .expect("id")
        .to_string();
    let (s, v) = patch(
        &app,
        &app.admin_token,
        &format!("/api/v1/admin/agents/{admin_id}"),
        json!({"active": false}),
    )
    .await;
    assert_eq!(
        (s, &v["field"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("active"))
    );
}

#[allow(non_snake_case)]
async fn Ws_refused(app: &TestApp, token: &str) -> bool {
    matches!(
        vouch_testkit::Ws::agent(&app.agent_ws_base, token).await,
        Err(401)
    )
}

#[tokio::test]
async fn presence_by_rest_and_socket_goes_offline_after_the_grace() {
    let app = TestApp::start_with(|c| c.limits.presence_grace_secs = 1).await;
    let m = me(&app, &app.agent_token).await;
    assert_eq!(
        (&m["status"], &m["capacity"], &m["active_count"]),
        (&json!("offline"), &json!(3), &json!(0))
    );
    available(&app, &app.agent_token).await;
    let (s, v) = put(
        &app,
        &app.agent_token,
        "/api/v1/agent/presence",
        json!({"status": "sleeping"}),
    )
    .await;
    assert_eq!(
        (s, &v["field"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("status"))
    );
    assert_eq!(me(&app, &app.agent_token).await["status"], "available");

    let mut ws = app.agent_ws(&app.agent_token).await;
    ws.send(json!({"type": "presence", "status": "away"})).await;
    let f = ws.next_type("presence").await;
    assert_eq!(f["status"], "away");
    assert_eq!(me(&app, &app.agent_token).await["status"], "away");
    ws.send(json!({"type": "presence", "status": "nope"})).await;
    assert_eq!(ws.next_type("error").await["error"], "bad_frame");
    // A second socket keeps the agent present while the first closes.
    let second = app.agent_ws(&app.agent_token).await;
    drop(ws);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(me(&app, &app.agent_token).await["status"], "away");
    // The last socket closes: offline after the grace period.
    drop(second);
    let a = &app;
    eventually("offline after the grace", move || async move {
        me(a, &a.agent_token).await["status"] == "offline"
    })
    .await;
    // A new sign-in starts offline.
    available(&app, &app.agent_token).await;
    let again = app.login("agent@example.com").await;
    assert_eq!(me(&app, &again).await["status"], "offline");
}

#[tokio::test]
async fn auto_assignment_follows_capacity_load_waiting_time_and_priority() {
    let app = TestApp::start().await;
    let ann = app.new_agent("ann@example.com").await;
    let bob = app.new_agent("bob@example.com").await;
    let ann_id = me(&app, &ann).await["id"].as_str().expect("id").to_string();
    let bob_id = me(&app, &bob).await["id"].as_str().expect("id").to_string();
    // Only Ann and Bob work General; Ann takes 1, Bob 2.
    members(&app, GENERAL, &[&ann_id, &bob_id]).await;
    for (id, cap) in [(&ann_id, 1), (&bob_id, 2)] {
        let (s, v) = patch(
            &app,
            &app.admin_token,
            &format!("/api/v1/admin/agents/{id}"),
            json!({"capacity": cap}),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    // Four wait (nobody available): c1 oldest.
    let mut ids = Vec::new();
    for i in 0..4 {
        ids.push(
            app.session(&format!("wait-{i}")).await["conversation_id"]
                .as_str()
                .expect("id")
                .to_string(),
        );
    }
    for id in &ids {
        assert_eq!(conversation(&app, id).await["state"], "waiting");
    }
    let mut ann_ws = app.agent_ws(&ann).await;
    // Ann becomes available: she gets the longest-waiting one, and only one (capacity 1).
    available(&app, &ann).await;
    let c0 = conversation(&app, &ids[0]).await;
    assert_eq!(
        (&c0["state"], &c0["agent_id"]),
        (&json!("active"), &json!(ann_id)),
        "{c0}"
    );
    let joined = c0["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter(|m| m["sender"] == "system")
        .count();
    assert_eq!(joined, 1, "one system message says who joined");
    ann_ws
        .next_where("the assignment", |v| {
            v["type"] == "message" && v["conversation_id"] == ids[0].as_str()
        })
        .await;
    assert_eq!(conversation(&app, &ids[1]).await["state"], "waiting");
    // Bob: the next two, in waiting order.
    available(&app, &bob).await;
    for id in &ids[1..3] {
        assert_eq!(conversation(&app, id).await["agent_id"], bob_id.as_str());
    }
    assert_eq!(conversation(&app, &ids[3]).await["state"], "waiting");
    assert_eq!(me(&app, &bob).await["active_count"], 2);
    // Ann ends hers: the last one goes to her (the one with room).
    let (s, _) = app
        .post_as(
            &ann,
            &format!("/api/v1/agent/conversations/{}/end", ids[0]),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        conversation(&app, &ids[3]).await["agent_id"],
        ann_id.as_str()
    );
    // Fewest active first: with room on both, a new one goes to whoever has fewer.
    for id in [&ann_id, &bob_id] {
        let (s, _) = patch(
            &app,
            &app.admin_token,
            &format!("/api/v1/admin/agents/{id}"),
            json!({"capacity": 3}),
        )
        .await;
        assert_eq!(s, StatusCode::OK);
    }
    let next = app.session("wait-new").await["conversation_id"]
        .as_str()
        .expect("id")
        .to_string();
    // Ann 1 active, Bob 2: Ann.
    assert_eq!(conversation(&app, &next).await["agent_id"], ann_id.as_str());
    // Manual accept ignores capacity; a busy agent gets nothing automatically.
    put(
        &app,
        &ann,
        "/api/v1/agent/presence",
        json!({"status": "busy"}),
    )
    .await;
    put(
        &app,
        &bob,
        "/api/v1/agent/presence",
        json!({"status": "busy"}),
    )
    .await;
    let p = queue(&app, "Priority", 5).await;
    members(&app, &p, &[&bob_id]).await;
    let path = format!("/api/v1/admin/widgets/{}/routing", app.app_id);
    let (s, _) = put(
        &app,
        &app.admin_token,
        &path,
        json!({"rules": [{"when": {"context": {"tier": "gold"}}, "queue_id": p}]}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let plain = app.session("plain-late").await["conversation_id"]
        .as_str()
        .expect("id")
        .to_string();
    let gold = session_with_context(&app, "gold-late", json!({"tier": "gold"}), None).await;
    assert_eq!(
        conversation(&app, &gold).await["state"],
        "waiting",
        "Bob is busy"
    );
    // Bob (member of both) becomes available with room for one: the higher-priority queue first,
    // though the General one waited longer.
    available(&app, &bob).await;
    assert_eq!(conversation(&app, &gold).await["agent_id"], bob_id.as_str());
    assert_eq!(conversation(&app, &plain).await["state"], "waiting");
    let (s, _) = app
        .post_as(
            &bob,
            &format!("/api/v1/agent/conversations/{plain}/accept"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "manual accept past capacity");
}

#[tokio::test]
async fn waiting_customers_learn_their_position_until_assigned() {
    let app = TestApp::start().await;
    let mut sessions = Vec::new();
    for i in 0..3 {
        sessions.push(app.session(&format!("pos-{i}")).await);
    }
    let third = &sessions[2];
    let mut ws = app
        .customer_ws(third["session_token"].as_str().expect("token"))
        .await;
    let f = ws.next_type("queue").await;
    assert_eq!(f["position"], 3, "{f}");
    assert!(f.get("estimated_wait_secs").is_some(), "{f}");
    // The first is accepted: the third moves up.
    let first = sessions[0]["conversation_id"].as_str().expect("id");
    let (s, _) = app
        .post_as(
            &app.agent_token,
            &format!("/api/v1/agent/conversations/{first}/accept"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    ws.next_where("position 2", |v| v["type"] == "queue" && v["position"] == 2)
        .await;
    // The second is accepted too: position 1.
    let second = sessions[1]["conversation_id"].as_str().expect("id");
    let (s, _) = app
        .post_as(
            &app.agent_token,
            &format!("/api/v1/agent/conversations/{second}/accept"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    ws.next_where("position 1", |v| v["type"] == "queue" && v["position"] == 1)
        .await;
    // Assigned: the conversation frame, and no queue frame after it.
    available(&app, &app.agent_token).await;
    ws.next_where("assigned", |v| {
        v["type"] == "conversation" && v["state"] == "active"
    })
    .await;
    let mut reconnect = app
        .customer_ws(third["session_token"].as_str().expect("token"))
        .await;
    reconnect
        .send(json!({"type": "resume", "after_seq": 0}))
        .await;
    let m = reconnect.next_type("message").await;
    assert_eq!(m["sender"], "system");
    assert!(
        reconnect
            .try_next_where(|v| v["type"] == "queue")
            .now_or_never()
            .is_none(),
        "no queue frame once assigned"
    );
}

use futures_util::FutureExt;

#[tokio::test]
async fn transfer_to_an_agent_or_a_queue_keeps_the_conversation() {
    let app = TestApp::start().await;
    let sam = app.new_agent("sam@example.com").await;
    let sam_id = me(&app, &sam).await["id"].as_str().expect("id").to_string();
    let agent_id = me(&app, &app.agent_token).await["id"]
        .as_str()
        .expect("id")
        .to_string();
    let mut c = claims("transfer-1", 600);
    c["lwicontexts"] = json!(json!({"order": "A-17"}).to_string());
    let (s, v) = app
        .session_raw(&app.app_id, Some(SITE), Some(&sign(&c)), None)
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["conversation_id"].as_str().expect("id").to_string();
    let mut customer = app
        .customer_ws(v["session_token"].as_str().expect("token"))
        .await;
    let (s, _) = app
        .post_as(
            &app.agent_token,
            &format!("/api/v1/agent/conversations/{id}/accept"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    customer.say("c-1", "my order is late").await;
    let path = format!("/api/v1/agent/conversations/{id}/transfer");
    let missing = uuid::Uuid::new_v4().to_string();

    // Not assigned, not admin: 403. Bad input names the field; nothing changes.
    let (s, v) = app
        .post_as(&sam, &path, json!({"to_agent_id": sam_id}))
        .await;
    assert_eq!(
        (s, &v["error"]),
        (StatusCode::FORBIDDEN, &json!("forbidden"))
    );
    for (body, field) in [
        (json!({"to_agent_id": missing}), "to_agent_id"),
        (json!({"to_agent_id": "x"}), "to_agent_id"),
        (json!({"to_queue_id": missing}), "to_queue_id"),
        (json!({}), "to_agent_id"),
        (
            json!({"to_agent_id": sam_id, "to_queue_id": GENERAL}),
            "to_queue_id",
        ),
        (json!({"to_agent_id": sam_id, "note": ""}), "note"),
        (
            json!({"to_agent_id": sam_id, "note": "n".repeat(4001)}),
            "note",
        ),
        (json!({"to_agent_id": agent_id}), "to_agent_id"),
    ] {
        let (s, v) = app.post_as(&app.agent_token, &path, body.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
        assert_eq!(v["field"], field, "{body}: {v}");
    }
    let before = conversation(&app, &id).await;
    assert_eq!(before["agent_id"], agent_id.as_str());

    // To Sam, with a note: assigned at once, a system message names him; all else travels.
    let mut sam_ws = app.agent_ws(&sam).await;
    let (s, v) = app
        .post_as(
            &app.agent_token,
            &path,
            json!({"to_agent_id": sam_id, "note": "VIP, be kind"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (&v["agent_id"], &v["state"]),
        (&json!(sam_id), &json!("active"))
    );
    let after = conversation(&app, &id).await;
    assert_eq!(
        (
            &after["id"],
            &after["verified"],
            &after["context"],
            &after["contact"]
        ),
        (
            &before["id"],
            &before["verified"],
            &before["context"],
            &before["contact"]
        )
    );
    let msgs = after["messages"].as_array().expect("messages");
    let last = msgs.last().expect("last");
    assert_eq!(last["sender"], "system");
    assert!(
        last["text"].as_str().expect("text").contains("sam"),
        "{last}"
    );
    assert!(
        msgs.iter()
            .all(|m| !m["text"].as_str().unwrap_or("").contains("VIP")),
        "the note is never a message"
    );
    let f = customer
        .next_where("transfer message", |v| {
            v["type"] == "message" && v["sender"] == "system" && v["seq"] == last["seq"]
        })
        .await;
    assert!(!f.to_string().contains("VIP"));
    sam_ws
        .next_where("sam gets it", |v| {
            v["type"] == "message" && v["seq"] == last["seq"]
        })
        .await;
    // The old agent no longer may write; Sam may.
    let (s, _) = app
        .post_as(
            &app.agent_token,
            &format!("/api/v1/agent/conversations/{id}/end"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    sam_ws.send(json!({"type": "send", "conversation_id": id, "client_msg_id": "s-1", "text": "Hi, Sam here"})).await;
    sam_ws
        .next_where("ack", |v| v["type"] == "ack" && v["client_msg_id"] == "s-1")
        .await;

    // An admin may transfer anything; to a queue: waiting there, no agent.
    let billing = queue(&app, "Billing", 0).await;
    let (s, v) = app
        .post_as(&app.admin_token, &path, json!({"to_queue_id": billing}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (&v["state"], &v["agent_id"], &v["queue_id"]),
        (&json!("waiting"), &Value::Null, &json!(billing))
    );
    customer
        .next_where("waiting again", |v| {
            v["type"] == "conversation" && v["state"] == "waiting"
        })
        .await;
    customer
        .next_where("its position", |v| {
            v["type"] == "queue" && v["position"] == 1
        })
        .await;
    // Auto-assignment picks it up from the new queue.
    members(&app, &billing, &[&sam_id]).await;
    available(&app, &sam).await;
    let c = conversation(&app, &id).await;
    assert_eq!(
        (&c["state"], &c["agent_id"]),
        (&json!("active"), &json!(sam_id))
    );
    // Ended: no transfer.
    let (s, _) = app
        .post_as(
            &sam,
            &format!("/api/v1/agent/conversations/{id}/end"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = app
        .post_as(&app.admin_token, &path, json!({"to_queue_id": GENERAL}))
        .await;
    assert_eq!(
        (s, &v["error"]),
        (StatusCode::CONFLICT, &json!("conversation_ended")),
        "{v}"
    );
    let (s, _) = app
        .post_as(
            &app.admin_token,
            &format!("/api/v1/agent/conversations/{missing}/transfer"),
            json!({"to_queue_id": GENERAL}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

/// Two nodes on one PostgreSQL database; 200 conversations started at once, half on each node,
/// while 10 agents (capacity 3 each) are available: no conversation assigned twice, no agent
/// over capacity, every free seat filled.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_assign_200_conversations_at_once_without_double_or_over_capacity() {
    let Some(db) = ScratchDatabase::from_env("the two-node assignment race").await else {
        return;
    };
    let keys = vouch_testkit::KeyServer::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = vouch_chat::ChatConfig::with_data_dir(dir.path());
    config.allow_private_key_urls = true;
    config.database_url = Some(db.url.clone());
    if let Ok(nats) = std::env::var("VOUCH_TEST_NATS_URL") {
        config.nats_url = Some(nats);
        config.nats_subject_prefix = format!("vouchrace{}", uuid::Uuid::new_v4().simple());
    }
    let a = ChatService::open(&config).await.expect("node A");
    let b = ChatService::open(&config).await.expect("node B");
    let settings =
        vouch_testkit::chat::create_settings(&a, "Shop", keys.url("/publickey"), Some(0)).await;
    let widget = vouch_testkit::chat::create_widget(&a, "Shop chat", &settings, true, None).await;
    let (a_addr, _a_stop) = serve_node(
        a,
        tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind"),
    )
    .await;
    let (b_addr, _b_stop) = serve_node(
        b,
        tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind"),
    )
    .await;
    let bases = [format!("http://{a_addr}"), format!("http://{b_addr}")];
    let http = http_client();
    const AGENTS: usize = 10;
    const CAPACITY: usize = 3;
    const CONVERSATIONS: usize = 200;
    let mut tokens = Vec::new();
    for i in 0..AGENTS {
        let email = format!("race{i}@example.com");
        add_person(&config, &email, &format!("Racer {i}"), Role::Agent, "pw")
            .await
            .expect("agent");
        tokens.push(login(&http, &bases[i % 2], &email, "pw").await);
    }
    let app_id = widget.app_id.to_string();
    // Agents go available while the conversations start: assignment races from every trigger.
    let mut tasks = tokio::task::JoinSet::new();
    for (i, t) in tokens.iter().enumerate() {
        let (http, base, t) = (http.clone(), bases[(i + 1) % 2].clone(), t.clone());
        tasks.spawn(async move {
            let r = http
                .put(format!("{base}/api/v1/agent/presence"))
                .bearer_auth(&t)
                .json(&json!({"status": "available"}))
                .send()
                .await
                .expect("presence");
            assert_eq!(r.status(), StatusCode::OK);
        });
    }
    for i in 0..CONVERSATIONS {
        let (http, base, app_id) = (http.clone(), bases[i % 2].clone(), app_id.clone());
        tasks.spawn(async move {
            let (s, v) = create_session(
                &http,
                &base,
                &app_id,
                Some(SITE),
                Some(&token(&format!("race-{i}"))),
                None,
            )
            .await
            .expect("session");
            assert_eq!(s, StatusCode::CREATED, "{v}");
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.expect("task");
    }
    // Settle: a last trigger on each node (a presence change) picks up anything a race skipped.
    for (i, t) in tokens.iter().enumerate() {
        let r = http
            .put(format!("{}/api/v1/agent/presence", bases[i % 2]))
            .bearer_auth(t)
            .json(&json!({"status": "available"}))
            .send()
            .await
            .expect("presence");
        assert_eq!(r.status(), StatusCode::OK);
    }
    let (s, v) = vouch_testkit::get_as(
        &http,
        &format!("{}/api/v1/agent/conversations?state=active", bases[0]),
        &tokens[0],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let active = v["conversations"].as_array().expect("list");
    assert_eq!(
        active.len(),
        AGENTS * CAPACITY,
        "every seat filled, none more"
    );
    let mut per_agent: HashMap<String, usize> = HashMap::new();
    let mut seen = HashSet::new();
    for c in active {
        assert!(seen.insert(c["id"].as_str().expect("id").to_string()));
        *per_agent
            .entry(c["agent_id"].as_str().expect("agent").to_string())
            .or_default() += 1;
        // Assigned once: exactly one "joined" system message.
        let (_, d) = vouch_testkit::get_as(
            &http,
            &format!(
                "{}/api/v1/agent/conversations/{}",
                bases[1],
                c["id"].as_str().expect("id")
            ),
            &tokens[1],
        )
        .await;
        let joined = d["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .filter(|m| m["sender"] == "system")
            .count();
        assert_eq!(joined, 1, "{d}");
    }
    assert_eq!(per_agent.len(), AGENTS);
    assert!(per_agent.values().all(|n| *n == CAPACITY), "{per_agent:?}");
    let (_, v) = vouch_testkit::get_as(
        &http,
        &format!("{}/api/v1/agent/conversations?state=waiting", bases[1]),
        &tokens[1],
    )
    .await;
    assert_eq!(
        v["conversations"].as_array().expect("list").len(),
        CONVERSATIONS - AGENTS * CAPACITY
    );
}
