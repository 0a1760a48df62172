//! Issue 15 items 7 and 8 over the real server: internal notes (agents only, never a customer,
//! no seq) and canned replies (shared and own, shortcuts, limits) with their rendering. Runs on
//! whatever topology `VOUCH_TEST_TOPOLOGY` names (two nodes: notes cross nodes over NATS).
//! The storage side on both back-ends: `desk_storage.rs`.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{claims, sign, TestApp, SITE};

/// A verified session, its conversation accepted by the default agent: (session token,
/// conversation id).
async fn accepted(app: &TestApp, sub: &str) -> (String, String) {
    let s = app.session(sub).await;
    let conv = s["conversation_id"].as_str().expect("id").to_string();
    let (st, v) = app
        .post_as(
            &app.agent_token,
            &format!("/api/v1/agent/conversations/{conv}/accept"),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    (
        s["session_token"].as_str().expect("token").to_string(),
        conv,
    )
}

async fn note(app: &TestApp, token: &str, conv: &str, text: &str) -> (StatusCode, Value) {
    app.post_as(
        token,
        &format!("/api/v1/agent/conversations/{conv}/notes"),
        json!({ "text": text }),
    )
    .await
}

fn is_note_text(v: &Value, text: &str) -> bool {
    v.to_string().contains(text)
}

#[tokio::test]
async fn a_note_reaches_agents_live_and_in_the_detail() {
    let app = TestApp::start().await;
    let other = app.new_agent("colleague@example.com").await;
    let (_, conv) = accepted(&app, "c-note-1").await;
    let mut colleague_ws = app.agent_ws(&other).await;
    // Also a socket on the customers' node (two nodes: the frame crosses over NATS).
    let mut far_ws = crate::support::Ws::agent(&app.ws_base, &other)
        .await
        .expect("agent socket on the other node");

    let (st, n) = note(
        &app,
        &app.agent_token,
        &conv,
        "Customer is on the gold plan",
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{n}");
    for field in ["id", "author_id", "text", "created_at"] {
        assert!(n.get(field).is_some(), "{field} in {n}");
    }
    assert_eq!(n["text"], "Customer is on the gold plan");
    let (_, me) = app.get_as(&app.agent_token, "/api/v1/agent/me").await;
    assert_eq!(n["author_id"], me["id"]);
    assert!(n.get("seq").is_none(), "a note takes no seq: {n}");

    // Every agent's socket gets it (another agent, not assigned, on the agents' node).
    let f = colleague_ws
        .next_where("note frame", |v| v["type"] == "note")
        .await;
    assert_eq!(f["conversation_id"], conv.as_str());
    assert_eq!(f["note"]["id"], n["id"]);
    assert_eq!(f["note"]["text"], n["text"]);
    assert_eq!(f["note"]["author_id"], n["author_id"]);
    assert!(f.get("seq").is_none() && f["note"].get("seq").is_none());
    let far = far_ws
        .next_where("note frame", |v| v["type"] == "note")
        .await;
    assert_eq!(far, f, "the same frame on every node");

    // The conversation JSON for agents carries the notes, oldest first.
    let (st2, n2) = note(&app, &other, &conv, "Second note").await;
    assert_eq!(st2, StatusCode::CREATED, "{n2}");
    let (_, d) = app
        .get_as(
            &app.agent_token,
            &format!("/api/v1/agent/conversations/{conv}"),
        )
        .await;
    let notes = d["notes"].as_array().expect("notes");
    assert_eq!(notes.len(), 2, "{d}");
    assert_eq!(notes[0]["id"], n["id"]);
    assert_eq!(notes[1]["id"], n2["id"]);
    let (_, list) = app
        .get_as(&other, &format!("/api/v1/agent/conversations/{conv}/notes"))
        .await;
    assert_eq!(list["notes"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn notes_never_reach_the_customer_and_take_no_seq() {
    let app = TestApp::start().await;
    let (session, conv) = accepted(&app, "c-note-2").await;
    let mut customer = app.customer_ws(&session).await;
    let mut agent = app.agent_ws(&app.agent_token).await;

    let before = customer.say("m1", "hello").await;
    for i in 0..3 {
        let (st, v) = note(&app, &app.agent_token, &conv, &format!("secret note {i}")).await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
    }
    let after = customer.say("m2", "still there?").await;
    assert_eq!(after, before + 1, "notes took no seq");
    agent
        .send(
            json!({"type": "send", "conversation_id": conv, "client_msg_id": "a1", "text": "Yes!"}),
        )
        .await;
    let agent_seq = agent
        .next_where("ack", |v| v["type"] == "ack" && v["client_msg_id"] == "a1")
        .await["seq"]
        .as_i64()
        .expect("seq");
    assert_eq!(agent_seq, after + 1);

    // Live: everything the customer got up to the agent's reply, none of it a note.
    let mut live = Vec::new();
    loop {
        let f = customer.next_any().await.expect("customer socket open");
        let done = f["type"] == "message" && f["client_msg_id"] == "a1";
        live.push(f);
        if done {
            break;
        }
    }
    for f in &live {
        assert_ne!(f["type"], "note", "{f}");
        assert!(!is_note_text(f, "secret note"), "{f}");
    }

    // `resume` from 0: gapless seqs 1..=n, no note among them.
    let all = customer.resume(0, agent_seq as usize).await;
    let seqs: Vec<i64> = all.iter().map(|m| m.0).collect();
    assert_eq!(seqs, (1..=agent_seq).collect::<Vec<_>>());
    assert!(all.iter().all(|m| !m.2.contains("secret note")));
    // Nothing else arrived with the resume: the next frame is this send's ack.
    customer
        .send(vouch_testkit::ws::send_frame("m3", "bye"))
        .await;
    loop {
        let f = customer.next_any().await.expect("open");
        assert_ne!(f["type"], "note", "{f}");
        assert!(!is_note_text(&f, "secret note"), "{f}");
        if f["type"] == "ack" && f["client_msg_id"] == "m3" {
            break;
        }
    }

    // The session token reads no note route.
    let (st, _) = app
        .get_as(
            &session,
            &format!("/api/v1/agent/conversations/{conv}/notes"),
        )
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, _) = app
        .get_as(&session, &format!("/api/v1/agent/conversations/{conv}"))
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, _) = note(&app, &session, &conv, "from a customer").await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);

    // The agent view still has every message and the three notes apart from them.
    let (_, d) = app
        .get_as(
            &app.agent_token,
            &format!("/api/v1/agent/conversations/{conv}"),
        )
        .await;
    assert_eq!(d["notes"].as_array().map(Vec::len), Some(3));
    let msgs = d["messages"].as_array().expect("messages");
    assert!(msgs.iter().all(|m| !is_note_text(m, "secret note")));
    let seqs: Vec<i64> = msgs.iter().filter_map(|m| m["seq"].as_i64()).collect();
    assert_eq!(seqs, (1..=agent_seq + 1).collect::<Vec<_>>());
}

#[tokio::test]
async fn bad_notes_are_refused_naming_the_field() {
    let app = TestApp::start().await;
    let (_, conv) = accepted(&app, "c-note-3").await;
    for body in [
        json!({}),
        json!({"text": ""}),
        json!({"text": "   "}),
        json!({"text": 5}),
        json!({"text": "x".repeat(4001)}),
    ] {
        let (st, v) = app
            .post_as(
                &app.agent_token,
                &format!("/api/v1/agent/conversations/{conv}/notes"),
                body.clone(),
            )
            .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body} → {v}");
        assert_eq!(v["error"], "validation_failed");
        assert_eq!(v["field"], "text");
    }
    let (st, _) = note(
        &app,
        &app.agent_token,
        &uuid::Uuid::new_v4().to_string(),
        "x",
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = note(&app, &app.agent_token, "not-a-uuid", "x").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (_, d) = app
        .get_as(
            &app.agent_token,
            &format!("/api/v1/agent/conversations/{conv}"),
        )
        .await;
    assert_eq!(d["notes"], json!([]), "nothing half-stored");
}

async fn canned(app: &TestApp, token: &str, admin: bool, body: Value) -> (StatusCode, Value) {
    let scope = if admin { "admin" } else { "agent" };
    app.post_as(token, &format!("/api/v1/{scope}/canned-replies"), body)
        .await
}

async fn send(
    app: &TestApp,
    method: reqwest::Method,
    token: &str,
    path: &str,
    body: Option<Value>,
) -> StatusCode {
    let mut req = app
        .http
        .request(method, app.agent_url(path))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    req.send().await.expect("request").status()
}

#[tokio::test]
async fn canned_replies_shared_and_own() {
    let app = TestApp::start().await;
    let other = app.new_agent("other@example.com").await;

    let (st, shared) = canned(
        &app,
        &app.admin_token,
        true,
        json!({"shortcut": "thanks", "text": "Thank you, {{contact.given_name}}!"}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{shared}");
    assert_eq!(shared["shared"], true);
    assert_eq!(shared["shortcut"], "thanks");
    assert!(shared["id"].is_string());
    let (st, own) = canned(
        &app,
        &app.agent_token,
        false,
        json!({"shortcut": "hi", "text": "Hi, I'm {{agent.name}}."}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{own}");
    assert_eq!(own["shared"], false);
    // The same shortcut in another scope is fine: an agent's own may shadow a shared one.
    let (st, own2) = canned(
        &app,
        &app.agent_token,
        false,
        json!({"shortcut": "thanks", "text": "Cheers!"}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{own2}");
    let (st, _) = canned(
        &app,
        &other,
        false,
        json!({"shortcut": "hi", "text": "Hello"}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED);

    // Own first, then shared; another agent's own never listed.
    let (st, list) = app
        .get_as(&app.agent_token, "/api/v1/agent/canned-replies")
        .await;
    assert_eq!(st, StatusCode::OK);
    let got: Vec<(String, bool, String)> = list["canned_replies"]
        .as_array()
        .expect("list")
        .iter()
        .map(|r| {
            (
                r["shortcut"].as_str().unwrap_or("").into(),
                r["shared"] == true,
                r["text"].as_str().unwrap_or("").into(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("hi".into(), false, "Hi, I'm {{agent.name}}.".into()),
            ("thanks".into(), false, "Cheers!".into()),
            (
                "thanks".into(),
                true,
                "Thank you, {{contact.given_name}}!".into()
            ),
        ]
    );
    let (_, admin_list) = app
        .get_as(&app.admin_token, "/api/v1/admin/canned-replies")
        .await;
    assert_eq!(
        admin_list["canned_replies"].as_array().map(Vec::len),
        Some(1)
    );

    // Duplicates in one scope: 409, nothing stored.
    let (st, v) = canned(
        &app,
        &app.admin_token,
        true,
        json!({"shortcut": "thanks", "text": "again"}),
    )
    .await;
    assert_eq!(st, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["error"], "conflict");
    let (st, _) = canned(
        &app,
        &app.agent_token,
        false,
        json!({"shortcut": "hi", "text": "again"}),
    )
    .await;
    assert_eq!(st, StatusCode::CONFLICT);

    // Scopes hold: an agent cannot write the shared ones, nor another agent's, nor list admin's.
    let (st, _) = canned(
        &app,
        &app.agent_token,
        true,
        json!({"shortcut": "x", "text": "y"}),
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let shared_id = shared["id"].as_str().expect("id");
    let own_id = own["id"].as_str().expect("id");
    let put = reqwest::Method::PUT;
    let del = reqwest::Method::DELETE;
    assert_eq!(
        send(
            &app,
            put.clone(),
            &app.agent_token,
            &format!("/api/v1/agent/canned-replies/{shared_id}"),
            Some(json!({"shortcut": "z", "text": "z"}))
        )
        .await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        send(
            &app,
            del.clone(),
            &app.agent_token,
            &format!("/api/v1/agent/canned-replies/{shared_id}"),
            None
        )
        .await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        send(
            &app,
            del.clone(),
            &other,
            &format!("/api/v1/agent/canned-replies/{own_id}"),
            None
        )
        .await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        send(
            &app,
            del.clone(),
            &app.admin_token,
            &format!("/api/v1/admin/canned-replies/{own_id}"),
            None
        )
        .await,
        StatusCode::NOT_FOUND
    );

    // Update and delete in scope.
    assert_eq!(
        send(
            &app,
            put.clone(),
            &app.agent_token,
            &format!("/api/v1/agent/canned-replies/{own_id}"),
            Some(json!({"shortcut": "thanks", "text": "dup"}))
        )
        .await,
        StatusCode::CONFLICT
    );
    assert_eq!(
        send(
            &app,
            put.clone(),
            &app.agent_token,
            &format!("/api/v1/agent/canned-replies/{own_id}"),
            Some(json!({"shortcut": "hello", "text": "Hello!"}))
        )
        .await,
        StatusCode::OK
    );
    assert_eq!(
        send(
            &app,
            put.clone(),
            &app.admin_token,
            &format!("/api/v1/admin/canned-replies/{shared_id}"),
            Some(json!({"shortcut": "thanks", "text": "Thanks a lot!"}))
        )
        .await,
        StatusCode::OK
    );
    assert_eq!(
        send(
            &app,
            del.clone(),
            &app.agent_token,
            &format!("/api/v1/agent/canned-replies/{own_id}"),
            None
        )
        .await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        send(
            &app,
            del.clone(),
            &app.agent_token,
            &format!("/api/v1/agent/canned-replies/{own_id}"),
            None
        )
        .await,
        StatusCode::NOT_FOUND
    );
    let (_, list) = app
        .get_as(&app.agent_token, "/api/v1/agent/canned-replies")
        .await;
    let texts: Vec<&str> = list["canned_replies"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|r| r["text"].as_str())
        .collect();
    assert_eq!(texts, vec!["Cheers!", "Thanks a lot!"]);
}

#[tokio::test]
async fn bad_canned_replies_are_refused_naming_the_field() {
    let app = TestApp::start().await;
    let long = "x".repeat(4001);
    let cases = [
        (json!({"text": "t"}), "shortcut"),
        (json!({"shortcut": "", "text": "t"}), "shortcut"),
        (json!({"shortcut": "Thanks", "text": "t"}), "shortcut"),
        (json!({"shortcut": "two words", "text": "t"}), "shortcut"),
        (json!({"shortcut": "/hi", "text": "t"}), "shortcut"),
        (json!({"shortcut": "x".repeat(33), "text": "t"}), "shortcut"),
        (json!({"shortcut": 7, "text": "t"}), "shortcut"),
        (json!({"shortcut": "ok"}), "text"),
        (json!({"shortcut": "ok", "text": "  "}), "text"),
        (json!({"shortcut": "ok", "text": long}), "text"),
        // The first invalid field in request order.
        (json!({"shortcut": "BAD", "text": ""}), "shortcut"),
    ];
    for (body, field) in cases {
        for admin in [false, true] {
            let token = if admin {
                &app.admin_token
            } else {
                &app.agent_token
            };
            let (st, v) = canned(&app, token, admin, body.clone()).await;
            assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body} → {v}");
            assert_eq!(v["error"], "validation_failed");
            assert_eq!(v["field"], field, "{body}");
        }
    }
    let (st, _) = canned(
        &app,
        &app.agent_token,
        false,
        json!({"shortcut": "x".repeat(32), "text": "ok"}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "32 characters is allowed");
    let (_, list) = app
        .get_as(&app.agent_token, "/api/v1/agent/canned-replies")
        .await;
    assert_eq!(
        list["canned_replies"].as_array().map(Vec::len),
        Some(1),
        "nothing else stored"
    );
}

#[tokio::test]
async fn a_scope_holds_a_bounded_number_of_replies() {
    let app = TestApp::start().await;
    let max = vouch_chat::domain::canned::MAX_PER_SCOPE;
    for i in 0..max {
        let (st, v) = canned(
            &app,
            &app.agent_token,
            false,
            json!({"shortcut": format!("r{i}"), "text": "t"}),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED, "{i}: {v}");
    }
    let (st, v) = canned(
        &app,
        &app.agent_token,
        false,
        json!({"shortcut": "one-more", "text": "t"}),
    )
    .await;
    assert_eq!(st, StatusCode::CONFLICT, "{v}");
    // Another scope is not affected.
    let (st, _) = canned(
        &app,
        &app.admin_token,
        true,
        json!({"shortcut": "one-more", "text": "t"}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED);
}

async fn render(app: &TestApp, conv: &str, text: &str) -> (StatusCode, Value) {
    app.post_as(
        &app.agent_token,
        &format!("/api/v1/agent/conversations/{conv}/render"),
        json!({ "text": text }),
    )
    .await
}

#[tokio::test]
async fn render_fills_placeholders_from_the_conversation_and_evaluates_nothing() {
    let app = TestApp::start().await;
    let mut c = claims("c-render", 600);
    c["lwicontexts"] = json!(
        json!({"plan": "gold", "cart": 42, "sneaky": "{{agent.name}}", "long": "y".repeat(3000)})
            .to_string()
    );
    let (st, s) = app
        .session_raw(&app.app_id, Some(SITE), Some(&sign(&c)), None)
        .await;
    assert_eq!(st, StatusCode::CREATED, "{s}");
    let conv = s["conversation_id"].as_str().expect("id").to_string();
    let (_, me) = app.get_as(&app.agent_token, "/api/v1/agent/me").await;
    let agent_name = me["name"].as_str().expect("name").to_string();

    let cases = [
        (
            "Hi {{contact.given_name}} {{contact.family_name}}",
            "Hi Alex Doe".to_string(),
        ),
        (
            "Mail: {{contact.email}}",
            "Mail: alex@example.com".to_string(),
        ),
        ("I'm {{agent.name}}", format!("I'm {agent_name}")),
        (
            "Plan {{context.plan}}, cart {{ context.cart }}",
            "Plan gold, cart 42".to_string(),
        ),
        (
            "[{{context.missing}}][{{contact.phone}}][{{unknown}}]",
            "[][][]".to_string(),
        ),
        ("{{7*7}}", String::new()),
        ("{{ 7*7 }} and {{'a'+'b'}}", " and ".to_string()),
        ("{{context.sneaky}}", "{{agent.name}}".to_string()),
        ("{{ {{contact.given_name}} }}", "{{ Alex }}".to_string()),
        ("{{contact.given_name", "{{contact.given_name".to_string()),
        ("{{{contact.given_name}}}", "{Alex}".to_string()),
        ("plain", "plain".to_string()),
    ];
    for (input, want) in cases {
        let (st, v) = render(&app, &conv, input).await;
        assert_eq!(st, StatusCode::OK, "{input}: {v}");
        assert_eq!(v["text"], want.as_str(), "{input}");
        assert!(!v["text"].as_str().unwrap_or("").contains("49"));
    }

    // An anonymous conversation: no contact, the contact placeholders are empty.
    let anon = app.anon_session().await;
    let anon_conv = anon["conversation_id"].as_str().expect("id");
    let (_, v) = render(&app, anon_conv, "Hi {{contact.given_name}}!").await;
    assert_eq!(v["text"], "Hi !");

    // Huge input: refused by length, never rendered; an expansion past the limit is refused too.
    let (st, v) = render(&app, &conv, &"{{".repeat(20_000)).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["field"], "text");
    let (st, v) = render(&app, &conv, "{{context.long}} {{context.long}}").await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["field"], "text");
    let (st, v) = render(&app, &conv, &"{{".repeat(2_000)).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["text"].as_str().map(str::len), Some(4_000));
    let (st, v) = app
        .post_as(
            &app.agent_token,
            &format!("/api/v1/agent/conversations/{conv}/render"),
            json!({}),
        )
        .await;
    assert_eq!(
        (st, v["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("text"))
    );
    let (st, _) = render(&app, &uuid::Uuid::new_v4().to_string(), "x").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}
