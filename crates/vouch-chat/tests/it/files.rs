//! Attachments, ratings and the report (issue 16 items 1–3): the HTTP and socket contract on
//! the topology of the run (one SQLite node, or two PostgreSQL nodes: customers on node A,
//! agents on node B, so an attachment uploaded on A is read on B), and the report's figures
//! from known data on both back-ends.

use base64::Engine;
use reqwest::StatusCode;
use serde_json::{json, Value};
use uuid::Uuid;
use vouch_chat::domain::reports::summarize;
use vouch_chat::storage::{
    now_millis, Agent, AuthSettings, Conversation, ConversationState, NewMessage, Rating, Role,
    Sender, Store, Widget,
};

use crate::storage::TestDb;
use crate::support::*;

/// A 1×1 PNG.
pub const PNG_1X1: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

fn png() -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(PNG_1X1)
        .expect("png")
}

/// One multipart part: (field name, file name, declared type, bytes).
type Part<'a> = (&'a str, Option<&'a str>, Option<&'a str>, &'a [u8]);

/// A `multipart/form-data` body: (its content type, its bytes).
fn multipart(parts: &[Part<'_>]) -> (String, Vec<u8>) {
    let boundary = "vouchtestboundary7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, filename, content_type, data) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        let mut disp = format!("Content-Disposition: form-data; name=\"{name}\"");
        if let Some(f) = filename {
            disp.push_str(&format!("; filename=\"{f}\""));
        }
        body.extend_from_slice(disp.as_bytes());
        body.extend_from_slice(b"\r\n");
        if let Some(t) = content_type {
            body.extend_from_slice(format!("Content-Type: {t}\r\n").as_bytes());
        }
        body.extend_from_slice(b"\r\n");
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

fn token_of(session: &Value) -> String {
    session["session_token"]
        .as_str()
        .expect("session_token")
        .to_string()
}

fn conversation_of(session: &Value) -> String {
    session["conversation_id"]
        .as_str()
        .expect("conversation_id")
        .to_string()
}

async fn answer(req: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let r = req.send().await.expect("request");
    let s = r.status();
    (s, r.json().await.unwrap_or(Value::Null))
}

/// A customer's upload of `parts` (from the site's origin).
async fn customer_upload(
    app: &TestApp,
    session_token: &str,
    parts: &[Part<'_>],
) -> (StatusCode, Value) {
    let (ct, body) = multipart(parts);
    answer(
        app.http
            .post(app.url(&format!(
                "/api/v1/chat/attachments?session_token={session_token}"
            )))
            .header("Origin", SITE)
            .header("Content-Type", ct)
            .body(body),
    )
    .await
}

/// An agent's upload into a conversation (on the agents' node).
async fn agent_upload(
    app: &TestApp,
    token: &str,
    conversation: &str,
    parts: &[Part<'_>],
) -> (StatusCode, Value) {
    let (ct, body) = multipart(parts);
    answer(
        app.http
            .post(app.agent_url(&format!(
                "/api/v1/agent/conversations/{conversation}/attachments"
            )))
            .bearer_auth(token)
            .header("Content-Type", ct)
            .body(body),
    )
    .await
}

fn png_part(bytes: &[u8]) -> Part<'_> {
    ("file", Some("photo.png"), Some("image/png"), bytes)
}

/// Sends a message with attachments on a socket: the ack's seq or the error frame's code.
async fn send_with(
    ws: &mut Ws,
    conversation: Option<&str>,
    id: &str,
    text: &str,
    attachments: Value,
) -> Result<i64, String> {
    let mut f =
        json!({"type": "send", "client_msg_id": id, "text": text, "attachments": attachments});
    if let Some(c) = conversation {
        f["conversation_id"] = json!(c);
    }
    ws.send(f).await;
    let reply = ws
        .next_where("ack or error", |v| {
            (v["type"] == "ack" || v["type"] == "error") && v["client_msg_id"] == id
        })
        .await;
    if reply["type"] == "ack" {
        Ok(reply["seq"].as_i64().expect("seq"))
    } else {
        Err(reply["error"].as_str().unwrap_or_default().to_string())
    }
}

#[tokio::test]
async fn an_image_goes_up_with_a_message_and_only_its_readers_download_it() {
    let app = TestApp::start().await;
    let s = app.session("files-1").await;
    let (token, conv) = (token_of(&s), conversation_of(&s));
    let bytes = png();

    let (st, meta) = customer_upload(&app, &token, &[png_part(&bytes)]).await;
    assert_eq!(st, StatusCode::CREATED, "{meta}");
    assert_eq!(meta["filename"], "photo.png");
    assert_eq!(meta["content_type"], "image/png");
    assert_eq!(meta["size"], bytes.len() as i64);
    let id = meta["id"].as_str().expect("id").to_string();

    let mut ws = app.customer_ws(&token).await;
    let seq = send_with(&mut ws, None, "m-1", "here is the photo", json!([id])).await;
    assert_eq!(seq, Ok(1));
    let frame = ws.next_where("message", |v| v["type"] == "message").await;
    assert_eq!(frame["attachments"], json!([meta]));

    // The agent (node B in the two-node run) sees the attachment on the message and reads it.
    let (st, detail) = app
        .get_as(
            &app.agent_token,
            &format!("/api/v1/agent/conversations/{conv}"),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(detail["messages"][0]["attachments"], json!([meta]));
    assert_eq!(detail["rating"], Value::Null);
    let r = app
        .http
        .get(app.agent_url(&format!("/api/v1/attachments/{id}")))
        .bearer_auth(&app.agent_token)
        .send()
        .await
        .expect("agent download");
    assert_eq!(r.status(), StatusCode::OK);
    let h = r.headers().clone();
    assert_eq!(h["content-type"], "image/png");
    assert_eq!(
        h["content-disposition"],
        "attachment; filename=\"photo.png\""
    );
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["content-security-policy"], "sandbox");
    assert_eq!(r.bytes().await.expect("bytes").as_ref(), bytes.as_slice());

    // The customer with the conversation's session token.
    let r = app
        .http
        .get(app.url(&format!("/api/v1/attachments/{id}?session_token={token}")))
        .send()
        .await
        .expect("customer download");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.bytes().await.expect("bytes").as_ref(), bytes.as_slice());

    // Anyone else: 404 (another customer, no credentials, a bad token, an unknown id).
    let other = token_of(&app.session("files-1-other").await);
    for url in [
        format!("/api/v1/attachments/{id}?session_token={other}"),
        format!("/api/v1/attachments/{id}"),
        format!("/api/v1/attachments/{id}?session_token=vcs_nope"),
        format!(
            "/api/v1/attachments/{}?session_token={token}",
            Uuid::new_v4()
        ),
        "/api/v1/attachments/not-a-uuid".to_string(),
    ] {
        let r = app.http.get(app.url(&url)).send().await.expect("get");
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{url}");
    }
    let r = app
        .http
        .get(app.url(&format!("/api/v1/attachments/{id}")))
        .bearer_auth("vca_not-a-real-token")
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn bad_uploads_get_clear_refusals() {
    let app = TestApp::start_with(|c| c.limits.max_attachment_bytes = 4096).await;
    let token = token_of(&app.session("files-2").await);
    let html = b"<!DOCTYPE html><html><script>alert(1)</script></html>";
    let cases: Vec<(&str, Vec<Part<'_>>, StatusCode, &str)> = vec![
        (
            "an empty file",
            vec![("file", Some("e.txt"), Some("text/plain"), b"")],
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            "HTML renamed .png",
            vec![("file", Some("cat.png"), Some("image/png"), html)],
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            "HTML of no declared type",
            vec![("file", Some("cat.png"), None, html)],
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            "text declared as a PDF",
            vec![(
                "file",
                Some("a.pdf"),
                Some("application/pdf"),
                b"plain words",
            )],
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            "a zip",
            vec![("file", Some("a.zip"), None, b"PK\x03\x04\x14\x00")],
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            "two files",
            vec![
                ("file", Some("a.txt"), None, b"one"),
                ("file", Some("b.txt"), None, b"two"),
            ],
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            "another field",
            vec![
                ("note", None, None, b"hi"),
                ("file", Some("a.txt"), None, b"one"),
            ],
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            "no part",
            vec![],
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
    ];
    for (what, parts, status, code) in &cases {
        let (st, body) = customer_upload(&app, &token, parts).await;
        assert_eq!(
            (st, body["error"].as_str()),
            (*status, Some(*code)),
            "{what}: {body}"
        );
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{what}"
        );
    }
    let big = vec![b'a'; 4097];
    let (st, body) = customer_upload(&app, &token, &[("file", Some("big.txt"), None, &big)]).await;
    assert_eq!(
        (st, body["error"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("too_large")),
        "{body}"
    );
    let way_bigger = vec![b'a'; 200 * 1024];
    let (st, body) = customer_upload(
        &app,
        &token,
        &[("file", Some("big.txt"), None, &way_bigger)],
    )
    .await;
    assert_eq!(
        (st, body["error"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("too_large")),
        "{body}"
    );
    let exact = vec![b'a'; 4096];
    let (st, _) = customer_upload(&app, &token, &[("file", Some("fits.txt"), None, &exact)]).await;
    assert_eq!(st, StatusCode::CREATED, "exactly the limit fits");

    // A path in the name is dropped: the file is stored as its last component.
    let (st, meta) = customer_upload(
        &app,
        &token,
        &[("file", Some("../../x"), Some("text/plain"), b"hello")],
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{meta}");
    assert_eq!(meta["filename"], "x");
    assert_eq!(meta["content_type"], "text/plain; charset=utf-8");

    // No session: 401, before the body is read.
    let (st, body) =
        customer_upload(&app, "vcs_unknown", &[("file", Some("a.txt"), None, b"hi")]).await;
    assert_eq!(
        (st, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthorized"))
    );

    // Nothing of the refused uploads was stored: exactly the two accepted ones are on disk.
    if topology() == Topology::Sqlite {
        let dir = app
            .config
            .data_dir
            .clone()
            .expect("data dir")
            .join("attachments");
        let files: Vec<_> = std::fs::read_dir(&dir)
            .expect("attachments dir")
            .map(|e| e.expect("entry").file_name().into_string().expect("name"))
            .collect();
        assert_eq!(files.len(), 2, "{files:?}");
        assert!(
            files.iter().all(|f| Uuid::parse_str(f).is_ok()),
            "no temporary file left: {files:?}"
        );
    }
}

#[tokio::test]
async fn uploads_are_rate_limited_per_conversation() {
    let app = TestApp::start().await;
    let token = token_of(&app.session("files-9").await);
    let other = token_of(&app.session("files-9-other").await);
    let limit = vouch_chat::domain::attachments::UPLOADS_PER_MINUTE;
    let mut created = 0;
    let mut limited = None;
    for i in 0..=limit {
        let name = format!("n{i}.txt");
        let (st, body) =
            customer_upload(&app, &token, &[("file", Some(&name), None, b"note")]).await;
        match st {
            StatusCode::CREATED => created += 1,
            _ => {
                limited = Some((st, body));
                break;
            }
        }
    }
    assert_eq!(created, limit, "the whole burst is accepted");
    let (st, body) = limited.expect("the upload after the burst is refused");
    assert_eq!(
        (st, body["error"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited"))
    );
    // Another conversation is not affected.
    let (st, _) = customer_upload(&app, &other, &[("file", Some("a.txt"), None, b"note")]).await;
    assert_eq!(st, StatusCode::CREATED);
}

#[tokio::test]
async fn a_send_may_carry_only_its_senders_unsent_attachments() {
    let app = TestApp::start().await;
    let a = app.session("files-3a").await;
    let b = app.session("files-3b").await;
    let bytes = png();
    let (_, mine) = customer_upload(&app, &token_of(&a), &[png_part(&bytes)]).await;
    let (_, theirs) = customer_upload(&app, &token_of(&b), &[png_part(&bytes)]).await;
    let mut ws = app.customer_ws(&token_of(&a)).await;

    // Another conversation's attachment, an unknown id, a non-id: refused, no seq taken.
    assert_eq!(
        send_with(&mut ws, None, "m-1", "x", json!([theirs["id"]])).await,
        Err("bad_attachment".into())
    );
    assert_eq!(
        send_with(&mut ws, None, "m-2", "x", json!([Uuid::new_v4()])).await,
        Err("bad_attachment".into())
    );
    assert_eq!(
        send_with(&mut ws, None, "m-3", "x", json!([mine["id"], theirs["id"]])).await,
        Err("bad_attachment".into())
    );
    ws.send(json!({"type": "send", "client_msg_id": "m-4", "text": "x", "attachments": ["nope"]}))
        .await;
    assert_eq!(ws.next_type("error").await["error"], "bad_attachment");
    // Mine, with no text: stored as seq 1 (the refusals took no seq, and left it unsent).
    assert_eq!(
        send_with(&mut ws, None, "m-5", "", json!([mine["id"]])).await,
        Ok(1)
    );
    // Sent once: a second message may not carry it again.
    assert_eq!(
        send_with(&mut ws, None, "m-6", "again", json!([mine["id"]])).await,
        Err("bad_attachment".into())
    );
    // A resend of m-5 is acknowledged with its seq.
    assert_eq!(
        send_with(&mut ws, None, "m-5", "", json!([mine["id"]])).await,
        Ok(1)
    );
    assert_eq!(
        send_with(&mut ws, None, "m-7", "next", json!([])).await,
        Ok(2)
    );
}

#[tokio::test]
async fn agents_attach_to_their_own_conversations() {
    let app = TestApp::start().await;
    let s = app.session("files-4").await;
    let (token, conv) = (token_of(&s), conversation_of(&s));
    let bytes = png();
    let pdf = b"%PDF-1.4\n%minimal\n";

    // Not yet accepted: only the assigned agent may attach.
    let (st, body) = agent_upload(&app, &app.agent_token, &conv, &[png_part(&bytes)]).await;
    assert_eq!(
        (st, body["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
    let (st, _) = app
        .post_as(
            &app.agent_token,
            &format!("/api/v1/agent/conversations/{conv}/accept"),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, meta) = agent_upload(
        &app,
        &app.agent_token,
        &conv,
        &[("file", Some("invoice.pdf"), Some("application/pdf"), pdf)],
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{meta}");
    assert_eq!(meta["content_type"], "application/pdf");
    let id = meta["id"].as_str().expect("id").to_string();

    // Unsent, the customer cannot read it; the customer cannot send it either.
    let customer_get = |id: String| {
        let url = app.url(&format!("/api/v1/attachments/{id}?session_token={token}"));
        let http = app.http.clone();
        async move { http.get(url).send().await.expect("get").status() }
    };
    assert_eq!(customer_get(id.clone()).await, StatusCode::NOT_FOUND);
    let mut customer = app.customer_ws(&token).await;
    assert_eq!(
        send_with(&mut customer, None, "c-1", "mine?", json!([id])).await,
        Err("bad_attachment".into())
    );

    // Sent by the agent: the customer's socket gets it, and can read it.
    let mut agent = app.agent_ws(&app.agent_token).await;
    let seq = send_with(&mut agent, Some(&conv), "a-1", "your invoice", json!([id])).await;
    assert!(seq.is_ok(), "{seq:?}");
    let frame = customer
        .next_where("agent message", |v| {
            v["type"] == "message" && v["sender"] == "agent"
        })
        .await;
    assert_eq!(frame["attachments"], json!([meta]));
    assert_eq!(customer_get(id.clone()).await, StatusCode::OK);
    // And it is in history (resume) too.
    customer.drop_pending();
    customer
        .send(json!({"type": "resume", "after_seq": 0}))
        .await;
    let replayed = customer
        .next_where("replayed agent message", |v| {
            v["type"] == "message" && v["client_msg_id"] == "a-1"
        })
        .await;
    assert_eq!(replayed["attachments"], json!([meta]));

    // Another agent may not attach to it; after the end nobody may.
    let other = app.new_agent("files-other@example.com").await;
    let (st, _) = agent_upload(&app, &other, &conv, &[png_part(&bytes)]).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _) = app
        .post_as(
            &app.agent_token,
            &format!("/api/v1/agent/conversations/{conv}/end"),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, body) = agent_upload(&app, &app.agent_token, &conv, &[png_part(&bytes)]).await;
    assert_eq!(
        (st, body["error"].as_str()),
        (StatusCode::CONFLICT, Some("conversation_ended"))
    );
    let (st, body) = customer_upload(&app, &token, &[png_part(&bytes)]).await;
    assert_eq!(
        (st, body["error"].as_str()),
        (StatusCode::CONFLICT, Some("conversation_ended"))
    );
}

#[tokio::test]
async fn uploads_answer_cors_to_the_widgets_origin_only() {
    let app = TestApp::start().await;
    let token = token_of(&app.session("files-5").await);
    let preflight = |origin: &'static str| {
        app.http
            .request(
                reqwest::Method::OPTIONS,
                app.url(&format!("/api/v1/chat/rating?session_token={token}")),
            )
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .send()
    };
    let r = preflight(SITE).await.expect("preflight");
    assert_eq!(r.headers()["access-control-allow-origin"], SITE);
    let r = preflight("https://evil.example").await.expect("preflight");
    assert!(r.headers().get("access-control-allow-origin").is_none());
}

/// Accepts and ends a conversation as the test agent.
async fn accept_and_end(app: &TestApp, conv: &str) {
    for step in ["accept", "end"] {
        let (st, body) = app
            .post_as(
                &app.agent_token,
                &format!("/api/v1/agent/conversations/{conv}/{step}"),
                json!({}),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{step}: {body}");
    }
}

async fn rate_rest(app: &TestApp, token: &str, body: Value) -> (StatusCode, Value) {
    answer(
        app.http
            .post(app.url(&format!("/api/v1/chat/rating?session_token={token}")))
            .header("Origin", SITE)
            .json(&body),
    )
    .await
}

#[tokio::test]
async fn the_end_asks_for_a_rating_given_once_on_the_socket() {
    let app = TestApp::start().await;
    let s = app.session("files-6").await;
    let (token, conv) = (token_of(&s), conversation_of(&s));
    let mut ws = app.customer_ws(&token).await;
    ws.say("m-1", "hello").await;
    // Before the end: refused.
    ws.send(json!({"type": "rating", "score": 5})).await;
    let e = ws.next_type("error").await;
    assert_eq!(e["error"], "conflict", "{e}");

    accept_and_end(&app, &conv).await;
    let survey = ws.next_type("survey").await;
    assert_eq!(survey["conversation_id"], conv.as_str());
    for bad in [json!(0), json!(6), json!(2.5), json!("5"), Value::Null] {
        ws.send(json!({"type": "rating", "score": bad})).await;
        let e = ws.next_type("error").await;
        assert_eq!(e["error"], "validation_failed", "score {bad}: {e}");
    }
    ws.send(json!({"type": "rating", "score": 4, "comment": "Quick and kind."}))
        .await;
    let rated = ws.next_type("rated").await;
    assert_eq!(
        rated["rating"],
        json!({"score": 4, "comment": "Quick and kind."})
    );
    ws.send(json!({"type": "rating", "score": 1})).await;
    assert_eq!(ws.next_type("error").await["error"], "conflict");
    let (st, body) = rate_rest(&app, &token, json!({"score": 1})).await;
    assert_eq!(
        (st, body["error"].as_str()),
        (StatusCode::CONFLICT, Some("conflict"))
    );

    // On the conversation for agents, and on the contact's activity.
    let (_, detail) = app
        .get_as(
            &app.agent_token,
            &format!("/api/v1/agent/conversations/{conv}"),
        )
        .await;
    assert_eq!(
        detail["rating"],
        json!({"score": 4, "comment": "Quick and kind."})
    );
    let contact = detail["contact"]["id"]
        .as_str()
        .expect("contact id")
        .to_string();
    let (st, c) = app
        .get_as(&app.agent_token, &format!("/api/v1/contacts/{contact}"))
        .await;
    assert_eq!(st, StatusCode::OK);
    let activity = c["activities"]
        .as_array()
        .expect("activities")
        .iter()
        .find(|a| a["conversation_id"] == conv.as_str())
        .expect("the activity")
        .clone();
    assert_eq!(
        activity["rating"],
        json!({"score": 4, "comment": "Quick and kind."})
    );
}

#[tokio::test]
async fn rest_ratings_are_checked_and_stored_once() {
    let app = TestApp::start().await;
    let s = app.session("files-7").await;
    let (token, conv) = (token_of(&s), conversation_of(&s));
    let other = app.session("files-7-other").await;
    let (st, _) = rate_rest(&app, &token, json!({"score": 5})).await;
    assert_eq!(st, StatusCode::CONFLICT, "not ended yet");
    accept_and_end(&app, &conv).await;
    for (body, field) in [
        (json!({"score": 0}), "score"),
        (json!({"score": 6}), "score"),
        (json!({}), "score"),
        (json!({"score": 3, "comment": 7}), "comment"),
        (json!({"score": 3, "comment": "x".repeat(2001)}), "comment"),
        (
            json!({"score": 3, "conversation_id": conversation_of(&other)}),
            "conversation_id",
        ),
    ] {
        let (st, e) = rate_rest(&app, &token, body.clone()).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {e}");
        assert_eq!(
            (e["error"].as_str(), e["field"].as_str()),
            (Some("validation_failed"), Some(field)),
            "{body}"
        );
    }
    let (st, r) = rate_rest(&app, &token, json!({"score": 2, "conversation_id": conv})).await;
    assert_eq!(st, StatusCode::CREATED, "{r}");
    assert_eq!(r, json!({"score": 2, "comment": null}));
    let (st, _) = rate_rest(&app, &token, json!({"score": 5})).await;
    assert_eq!(st, StatusCode::CONFLICT);
    let (st, _) = rate_rest(&app, "vcs_nobody", json!({"score": 5})).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    // The other conversation was not rated by any of this.
    let (_, d) = app
        .get_as(
            &app.agent_token,
            &format!("/api/v1/agent/conversations/{}", conversation_of(&other)),
        )
        .await;
    assert_eq!(d["rating"], Value::Null);
}

#[tokio::test]
async fn the_report_counts_the_period_for_admins_only() {
    let app = TestApp::start().await;
    let from = time::OffsetDateTime::now_utc() - time::Duration::minutes(5);
    let rfc = |t: time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .expect("rfc3339")
    };
    let verified = app.session("files-8").await;
    let anon = app.anon_session().await;
    accept_and_end(&app, &conversation_of(&verified)).await;
    let (st, _) = rate_rest(&app, &token_of(&verified), json!({"score": 3})).await;
    assert_eq!(st, StatusCode::CREATED);
    let to = time::OffsetDateTime::now_utc() + time::Duration::minutes(5);
    let q = format!(
        "/api/v1/admin/reports/summary?from={}&to={}",
        url_encode(&rfc(from)),
        url_encode(&rfc(to))
    );
    let (st, r) = app.get_as(&app.admin_token, &q).await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(r["conversations"], 2);
    assert_eq!(r["verified"], 1);
    assert_eq!(r["ended"], 1);
    assert_eq!(r["rating_avg"], 3.0);
    assert_eq!(r["rating_count"], 1);
    assert!(
        r["median_wait_secs"].as_f64().is_some_and(|w| w >= 0.0),
        "{r}"
    );
    assert_eq!(
        r["median_first_response_secs"],
        Value::Null,
        "no agent wrote"
    );
    assert_eq!(
        r["by_queue"],
        json!([{"queue_id": vouch_chat::storage::GENERAL_QUEUE_ID, "conversations": 2}]),
        "both conversations are in General"
    );
    let _ = anon;

    // A period before any of it: zeros and nulls.
    let (_, empty) = app
        .get_as(
            &app.admin_token,
            "/api/v1/admin/reports/summary?from=2020-01-01T00:00:00Z&to=2020-02-01T00:00:00Z",
        )
        .await;
    assert_eq!(
        (
            empty["conversations"].clone(),
            empty["median_wait_secs"].clone(),
            empty["rating_avg"].clone()
        ),
        (json!(0), Value::Null, Value::Null)
    );
    let (st, e) = app.get_as(&app.agent_token, &q).await;
    assert_eq!(
        (st, e["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
    for (bad, field) in [
        ("from=yesterday", "from"),
        ("from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", "to"),
        ("from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z", "from"),
    ] {
        let (st, e) = app
            .get_as(
                &app.admin_token,
                &format!("/api/v1/admin/reports/summary?{bad}"),
            )
            .await;
        assert_eq!(
            (st, e["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(field)),
            "{bad}: {e}"
        );
    }
}

fn url_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Runs `$name(db)` once per back-end.
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(super::TestDb::sqlite().await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(db) = super::TestDb::postgres().await {
                    super::$name(db).await
                }
            }
        }
    )*};
}

on_both!(report_medians_from_known_data);

/// A conversation of the report test: (created, verified, wait, first response, rating).
type Planned = (i64, bool, Option<i64>, Option<i64>, Option<i64>);

/// Four conversations at known times: waits 10 s, 30 s, 60 s (and one never taken), first
/// responses 15 s and 90 s, ratings 5 and 2; one before the period.
async fn report_medians_from_known_data(db: TestDb) {
    let store = db.node().await;
    let store: &dyn Store = store.as_ref();
    let now = now_millis();
    let settings = AuthSettings {
        id: Uuid::new_v4(),
        name: "Shop".into(),
        public_key_url: "http://127.0.0.1:9/publickey".into(),
        function_name: "auth.getAuthenticationToken".into(),
        issuer: None,
        leeway_secs: 60,
        key_count: 1,
        created_at: now,
    };
    store
        .insert_auth_settings(&settings)
        .await
        .expect("settings");
    let widget = Widget {
        app_id: Uuid::new_v4(),
        name: "Shop chat".into(),
        allowed_origins: vec!["http://shop.test".into()],
        auth_settings_id: Some(settings.id),
        require_auth: false,
        title: "Chat".into(),
        created_at: now,
        business_hours: None,
        offline_message: String::new(),
    };
    store.insert_widget(&widget).await.expect("widget");
    let agent = Agent {
        id: Uuid::new_v4(),
        email: "report-agent@example.com".into(),
        name: "Agent".into(),
        role: Role::Agent,
        created_at: now,
    };
    store
        .insert_agent(&agent, "$argon2id$x")
        .await
        .expect("agent");
    let t0: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
    let conv = |created: i64, verified: bool| Conversation {
        id: Uuid::new_v4(),
        widget_app_id: widget.app_id,
        state: ConversationState::Waiting,
        verified,
        contact_id: None,
        context: serde_json::Map::new(),
        agent_id: None,
        created_at: created,
        updated_at: created,
        ended_at: None,
        last_seq: 0,
        queue_id: vouch_chat::storage::GENERAL_QUEUE_ID,
    };
    let plan: [Planned; 5] = [
        (t0, true, Some(10_000), Some(15_000), Some(5)),
        (t0 + 1_000, false, Some(30_000), None, Some(2)),
        (t0 + 2_000, true, None, None, None),
        (t0 + 3_000, true, Some(60_000), Some(90_000), None),
        (t0 - 86_400_000, true, Some(1_000), Some(1_000), Some(1)), // the day before
    ];
    for (created, verified, wait, first, rating) in plan {
        let c = conv(created, verified);
        store.insert_conversation(&c).await.expect("conversation");
        if let Some(w) = wait {
            store
                .accept_conversation(c.id, agent.id, "Agent joined", created + w)
                .await
                .expect("accept");
        }
        if let Some(f) = first {
            store
                .append_message(&NewMessage {
                    conversation_id: c.id,
                    sender: Sender::Agent,
                    agent_id: Some(agent.id),
                    text: "hello".into(),
                    client_msg_id: Some("a-1".into()),
                    sent_at: created + f,
                    attachments: Vec::new(),
                })
                .await
                .expect("message");
            // A later agent message does not move the first response.
            store
                .append_message(&NewMessage {
                    conversation_id: c.id,
                    sender: Sender::Agent,
                    agent_id: Some(agent.id),
                    text: "more".into(),
                    client_msg_id: Some("a-2".into()),
                    sent_at: created + f + 500_000,
                    attachments: Vec::new(),
                })
                .await
                .expect("message");
        }
        if let Some(score) = rating {
            store
                .end_conversation(c.id, "ended", created + 600_000)
                .await
                .expect("end");
            store
                .insert_rating(&Rating {
                    conversation_id: c.id,
                    score,
                    comment: None,
                    created_at: created + 700_000,
                })
                .await
                .expect("rating");
            assert!(
                store
                    .insert_rating(&Rating {
                        conversation_id: c.id,
                        score,
                        comment: None,
                        created_at: created + 700_000,
                    })
                    .await
                    .is_err(),
                "a second rating is refused"
            );
        }
    }
    let from = t0;
    let to = t0 + 3_600_000;
    let rows = store.report_rows(from, to).await.expect("report rows");
    let s = summarize(from, to, &rows);
    assert_eq!((s.conversations, s.verified, s.ended), (4, 3, 2));
    assert_eq!(s.median_wait_secs, Some(30.0));
    assert_eq!(s.median_first_response_secs, Some(52.5));
    assert_eq!((s.rating_avg, s.rating_count), (Some(3.5), 2));
    assert_eq!(s.from, "2026-01-01T00:00:00Z");
}

on_both!(upgrade_keeps_old_conversations_and_backfills_the_wait);

/// A database made by the migrations before this one, with an accepted and ended
/// conversation in it, opened by this version: its messages read as before (no attachments),
/// it takes a rating, and its wait comes from its "joined" message.
async fn upgrade_keeps_old_conversations_and_backfills_the_wait(db: TestDb) {
    use sqlx::Connection;
    let dialect = if db.url.starts_with("sqlite:") {
        "sqlite"
    } else {
        "postgres"
    };
    let old = tempfile::tempdir().expect("tempdir");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(dialect);
    for entry in std::fs::read_dir(&dir).expect("migrations") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .to_string();
        if !name.contains("files_ratings") {
            std::fs::copy(&path, old.path().join(&name)).expect("copy");
        }
    }
    let migrator = sqlx::migrate::Migrator::new(old.path())
        .await
        .expect("old migrator");
    let (conv, agent, t0) = (Uuid::new_v4(), Uuid::new_v4(), 1_767_225_600_000_i64);
    let (settings, widget) = (Uuid::new_v4(), Uuid::new_v4());
    // The old schema's rows, written as the old version wrote them (ids as text in SQLite).
    let statements = [
        format!("INSERT INTO auth_settings (id, name, public_key_url, function_name, issuer, leeway_secs, key_count, created_at) VALUES ('{settings}', 's', 'http://127.0.0.1:9/k', 'f', NULL, 60, 1, {t0})"),
        format!("INSERT INTO widgets (app_id, name, allowed_origins, auth_settings_id, require_auth, title, created_at) VALUES ('{widget}', 'w', '[]', '{settings}', {f}, 't', {t0})", f = if dialect == "sqlite" { "0" } else { "FALSE" }),
        format!("INSERT INTO agents (id, email, name, role, password_hash, created_at) VALUES ('{agent}', 'old@example.com', 'Old', 'agent', 'x', {t0})"),
        format!("INSERT INTO conversations (id, widget_app_id, state, verified, contact_id, context, agent_id, created_at, updated_at, ended_at, last_seq) VALUES ('{conv}', '{widget}', 'ended', {f}, NULL, '{{}}', '{agent}', {t0}, {t0}, {t0}, 3)", f = if dialect == "sqlite" { "0" } else { "FALSE" }),
        format!("INSERT INTO messages (conversation_id, seq, sender, agent_id, text, client_msg_id, sent_at) VALUES ('{conv}', 1, 'customer', NULL, 'hello', 'c-1', {})", t0 + 1_000),
        format!("INSERT INTO messages (conversation_id, seq, sender, agent_id, text, client_msg_id, sent_at) VALUES ('{conv}', 2, 'system', NULL, 'Old joined', NULL, {})", t0 + 42_000),
        format!("INSERT INTO messages (conversation_id, seq, sender, agent_id, text, client_msg_id, sent_at) VALUES ('{conv}', 3, 'agent', '{agent}', 'hi', 'a-1', {})", t0 + 50_000),
    ];
    if dialect == "sqlite" {
        let opts: sqlx::sqlite::SqliteConnectOptions = db.url.parse().expect("url");
        let mut c = sqlx::SqliteConnection::connect_with(&opts.create_if_missing(true))
            .await
            .expect("connect");
        migrator.run(&mut c).await.expect("old migrations");
        for s in &statements {
            sqlx::query(s).execute(&mut c).await.expect(s);
        }
        c.close().await.expect("close");
    } else {
        let mut c = sqlx::PgConnection::connect(&db.url).await.expect("connect");
        migrator.run(&mut c).await.expect("old migrations");
        for s in &statements {
            sqlx::query(s).execute(&mut c).await.expect(s);
        }
        c.close().await.expect("close");
    }

    let store = db.node().await; // runs this version's migrations
    let messages = store.messages_after(conv, 0, 10).await.expect("messages");
    assert_eq!(messages.len(), 3);
    assert!(messages.iter().all(|m| m.attachments.is_empty()));
    assert_eq!(messages[0].text, "hello");
    store
        .insert_rating(&Rating {
            conversation_id: conv,
            score: 4,
            comment: None,
            created_at: t0 + 60_000,
        })
        .await
        .expect("an old conversation takes a rating");
    let rows = store.report_rows(t0, t0 + 1).await.expect("report");
    let s = summarize(t0, t0 + 1, &rows);
    assert_eq!((s.conversations, s.ended), (1, 1));
    assert_eq!(
        s.median_wait_secs,
        Some(42.0),
        "backfilled from the joined message"
    );
    assert_eq!(s.median_first_response_secs, Some(50.0));
    assert_eq!(s.rating_avg, Some(4.0));
}
