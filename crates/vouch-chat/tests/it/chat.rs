//! The customer socket: acks after commit, fan-out, idempotent resend, resume, bad frames,
//! limits, origin and session checks, re-authentication.

use serde_json::{json, Value};

use crate::support::*;

fn token_of(session: &Value) -> &str {
    session["session_token"].as_str().expect("session_token")
}

#[tokio::test]
async fn send_acks_and_every_socket_gets_each_message_once() {
    let app = TestApp::start().await;
    let s = app.session("c-1").await;
    let mut a = app.customer_ws(token_of(&s)).await;
    let mut b = app.customer_ws(token_of(&s)).await;

    let seq1 = a.say("m-1", "first").await;
    let seq2 = a.say("m-2", "second").await;
    assert_eq!((seq1, seq2), (1, 2), "seq counts from 1 without gaps");

    // Each socket, the sender's included, gets message 1 then message 2, each exactly once:
    // the frames of one socket are in order, so a duplicate of 1 would come before 2.
    for ws in [&mut a, &mut b] {
        let mut seen = Vec::new();
        while seen.last() != Some(&2) {
            let f = ws.next_where("message", |v| v["type"] == "message").await;
            seen.push(f["seq"].as_i64().expect("seq"));
            if f["seq"] == 1 {
                assert_eq!(f["text"], "first");
                assert_eq!(f["sender"], "customer");
                assert_eq!(f["client_msg_id"], "m-1");
                assert!(f["sent_at"].as_str().is_some_and(|t| t.ends_with('Z')));
            }
        }
        assert_eq!(seen, vec![1, 2]);
    }
}

#[tokio::test]
async fn a_resend_is_acked_with_the_same_seq_and_stored_once() {
    let app = TestApp::start().await;
    let s = app.session("c-2").await;
    let mut ws = app.customer_ws(token_of(&s)).await;
    let seq = ws.say("dup", "only once").await;
    assert_eq!(ws.say("dup", "only once").await, seq);
    assert_eq!(ws.say("dup", "different text, same id").await, seq);
    let next = ws.say("after", "next").await;
    assert_eq!(next, seq + 1);

    let conv = s["conversation_id"].as_str().expect("id");
    let (_, d) = app
        .get_as(
            &app.agent_token,
            &format!("/api/v1/agent/conversations/{conv}"),
        )
        .await;
    let msgs = d["messages"].as_array().expect("messages");
    assert_eq!(msgs.len(), 2, "{d}");
    assert_eq!(msgs[0]["text"], "only once");
    assert_eq!(msgs[0]["client_msg_id"], "dup");
}

#[tokio::test]
async fn resume_replays_exactly_the_missed_messages_in_order() {
    let app = TestApp::start().await;
    let s = app.session("c-3").await;
    let mut ws = app.customer_ws(token_of(&s)).await;
    for i in 1..=3 {
        ws.say(&format!("a{i}"), &format!("early {i}")).await;
    }
    drop(ws); // the socket drops; the customer holds seqs 1..=3

    // Meanwhile another tab of the same session sends more.
    let mut other = app.customer_ws(token_of(&s)).await;
    for i in 4..=6 {
        other.say(&format!("a{i}"), &format!("late {i}")).await;
    }

    let mut back = app.customer_ws(token_of(&s)).await;
    back.send(json!({"type": "resume", "after_seq": 3})).await;
    let mut got = Vec::new();
    for _ in 4..=6 {
        let m = back.next_type("message").await;
        got.push((
            m["seq"].as_i64().expect("seq"),
            m["text"].as_str().expect("t").to_string(),
        ));
    }
    assert_eq!(
        got,
        vec![
            (4, "late 4".into()),
            (5, "late 5".into()),
            (6, "late 6".into())
        ]
    );
    // Nothing else was replayed: the next frame is the ack of a new message (beside the
    // `queue` frame a waiting customer gets on connect).
    back.send(json!({"type": "send", "client_msg_id": "z", "text": "now"}))
        .await;
    let f = back
        .try_next_where(|v| v["type"] != "queue")
        .await
        .expect("frame");
    assert!(
        (f["type"] == "ack" || f["type"] == "message") && f["seq"] == 7,
        "unexpected {f}"
    );
}

#[tokio::test]
async fn bad_frames_get_errors_and_everyone_else_keeps_working() {
    let app = TestApp::start_with(|c| {
        c.limits.msg_rate = 1;
        c.limits.msg_burst = 5;
    })
    .await;
    let bad_one = app.session("bad").await;
    let good_one = app.session("good").await;
    let mut bad = app.customer_ws(token_of(&bad_one)).await;
    let mut good = app.customer_ws(token_of(&good_one)).await;

    let cases: Vec<(String, &str)> = vec![
        ("{not json".into(), "bad_frame"),
        ("[1,2]".into(), "bad_frame"),
        (json!({"type": "dance"}).to_string(), "unknown_type"),
        (
            json!({"type": "send", "text": "x"}).to_string(),
            "bad_frame",
        ),
        (
            json!({"type": "send", "client_msg_id": "a b", "text": "x"}).to_string(),
            "bad_client_msg_id",
        ),
        (
            json!({"type": "send", "client_msg_id": "x".repeat(65), "text": "x"}).to_string(),
            "bad_client_msg_id",
        ),
        (
            json!({"type": "send", "client_msg_id": "e", "text": "   "}).to_string(),
            "empty_text",
        ),
        (
            json!({"type": "send", "client_msg_id": "l", "text": "x".repeat(4001)}).to_string(),
            "text_too_long",
        ),
        (
            json!({"type": "send", "client_msg_id": "big", "text": "y".repeat(17 * 1024)})
                .to_string(),
            "frame_too_large",
        ),
    ];
    for (frame, code) in cases {
        bad.send_text(&frame).await;
        let e = bad.next_type("error").await;
        assert_eq!(e["error"], code, "{} → {e}", &frame[..frame.len().min(60)]);
        assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    // Flood: the burst passes, then rate_limited; the socket stays open.
    let mut limited = false;
    for i in 0..20 {
        bad.send(json!({"type": "send", "client_msg_id": format!("f{i}"), "text": "flood"}))
            .await;
        let f = bad
            .next_where("ack or error", |v| {
                v["type"] == "ack" || v["type"] == "error"
            })
            .await;
        if f["type"] == "error" {
            assert_eq!(f["error"], "rate_limited", "{f}");
            limited = true;
            break;
        }
    }
    assert!(limited, "a flood must hit the rate limit");
    // Another customer is unaffected.
    assert_eq!(good.say("g1", "still here").await, 1);
    // And the flooder's socket still answers.
    bad.send(json!({"type": "resume", "after_seq": 0})).await;
    assert_eq!(bad.next_type("message").await["seq"], 1);
}

#[tokio::test]
async fn socket_upgrades_check_session_and_origin() {
    let app = TestApp::start().await;
    let s = app.session("c-4").await;
    assert_eq!(
        app.try_customer_ws(token_of(&s), Some("https://evil.test"))
            .await
            .err(),
        Some(403)
    );
    assert_eq!(
        app.try_customer_ws(token_of(&s), None).await.err(),
        Some(403)
    );
    assert_eq!(
        app.try_customer_ws("vcs_unknown", Some(SITE)).await.err(),
        Some(401)
    );
    assert_eq!(app.try_customer_ws("", Some(SITE)).await.err(), Some(401));
    // An agent token is not a session token.
    assert_eq!(
        app.try_customer_ws(&app.agent_token, Some(SITE))
            .await
            .err(),
        Some(401)
    );
    assert!(app.try_customer_ws(token_of(&s), Some(SITE)).await.is_ok());
}

#[tokio::test]
async fn session_expiry_follows_the_ttl_and_survives_a_restart() {
    let app = TestApp::start_with(|c| c.session_ttl = 60).await;
    let s = app.session("c-5").await;
    let expires: &str = s["expires_at"].as_str().expect("expires_at");
    let at = time::OffsetDateTime::parse(expires, &time::format_description::well_known::Rfc3339)
        .expect("rfc3339");
    let left = at.unix_timestamp() - now();
    assert!((55..=61).contains(&left), "{left}");
    // The session survives in the database: a second service on the same files accepts it.
    let again = vouch_chat::ChatService::open(&app.config)
        .await
        .expect("reopen");
    let ctx = again
        .chat()
        .session_for_token(token_of(&s))
        .await
        .expect("session survives");
    assert_eq!(
        ctx.conversation_id.to_string(),
        s["conversation_id"].as_str().expect("id")
    );
}

#[tokio::test]
async fn identity_must_be_renewed_at_exp_with_the_same_sub() {
    let app = TestApp::start().await;
    // A token that expires in a few seconds (the setting's leeway is 0).
    let short = sign(&claims("c-6", 4));
    let (status, s) = app
        .session_raw(&app.app_id, Some(SITE), Some(&short), None)
        .await;
    assert_eq!(status, reqwest::StatusCode::CREATED, "{s}");
    let mut ws = app.customer_ws(token_of(&s)).await;
    assert_eq!(ws.say("before", "still valid").await, 1);

    // Wait for the server to say the identity expired.
    ws.next_type("reauth_required").await;
    ws.send(json!({"type": "send", "client_msg_id": "during", "text": "refused"}))
        .await;
    let e = ws.next_type("error").await;
    assert_eq!(e["error"], "reauth_required");

    // A bad token is refused with its reason; a fresh one for the same sub renews.
    ws.send(json!({"type": "auth", "token": forged(&claims("c-6", 600))}))
        .await;
    let e = ws.next_type("error").await;
    assert_eq!(
        (e["error"].as_str(), e["reason"].as_str()),
        (Some("invalid_token"), Some("bad_signature"))
    );
    ws.send(json!({"type": "auth", "token": token("c-6")}))
        .await;
    let r = ws.next_type("reauthenticated").await;
    assert!(r["expires_at"].as_str().is_some());
    assert_eq!(
        ws.say("after", "renewed").await,
        2,
        "the refused message was not stored"
    );
}

#[tokio::test]
async fn a_token_for_another_sub_ends_the_conversation() {
    let app = TestApp::start().await;
    let s = app.session("c-7").await;
    let conv = s["conversation_id"].as_str().expect("id").to_string();
    let mut ws = app.customer_ws(token_of(&s)).await;
    ws.say("m", "hi").await;
    ws.send(json!({"type": "auth", "token": token("someone-else")}))
        .await;
    let f = ws.next_type("conversation").await;
    assert_eq!(f["state"], "ended");
    ws.wait_closed().await;

    let (_, d) = app
        .get_as(
            &app.agent_token,
            &format!("/api/v1/agent/conversations/{conv}"),
        )
        .await;
    assert_eq!(d["state"], "ended");
    // The session is gone.
    assert_eq!(
        app.try_customer_ws(token_of(&s), Some(SITE)).await.err(),
        Some(401)
    );
}
