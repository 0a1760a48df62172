//! Webhooks survive SIGKILL (issue 18): events committed while the receiver is down stay in the
//! outbox through a `kill -9` of `vouch chat`, and after the restart every one arrives, in order
//! per conversation, each signed — checked with `vouch webhooks verify` as a receiver's
//! developer would.

use std::collections::{BTreeMap, HashSet};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::{json, Value};
use vouch_testkit::http::{get_as, post_as};

use crate::chat_process::{add_admin, vouch, ChatProcess, WAIT};

/// (event id, signature, raw body) of each request answered 2xx, in order; and every request.
#[derive(Default)]
struct Log {
    delivered: Vec<(String, String, String)>,
    requests: usize,
}

const FLAGS: &[&str] = &[
    "--allow-private-webhook-urls",
    "--webhook-retry-base-ms",
    "100",
    "--webhook-poll-ms",
    "50",
    "--webhook-timeout-secs",
    "1",
];

async fn receiver(up: Arc<AtomicBool>, log: Arc<Mutex<Log>>) -> String {
    let app = axum::Router::new().route(
        "/hook",
        post(move |h: HeaderMap, raw: String| {
            let (up, log) = (up.clone(), log.clone());
            async move {
                let mut l = log.lock().unwrap();
                l.requests += 1;
                if !up.load(Ordering::SeqCst) {
                    return StatusCode::SERVICE_UNAVAILABLE;
                }
                let get = |n: &str| {
                    h.get(n)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_string()
                };
                l.delivered
                    .push((get("vouch-event-id"), get("vouch-signature"), raw));
                StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}/hook")
}

/// `vouch webhooks verify …` on a body: its exit code.
async fn verify(secret: &str, header: &str, body: &str) -> i32 {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("body.json");
    std::fs::write(&file, body).unwrap();
    let out = vouch()
        .args([
            "webhooks", "verify", "--secret", secret, "--header", header, "--body",
        ])
        .arg(&file)
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    out.status.code().unwrap_or(-1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_with_deliveries_pending_loses_none_and_verify_accepts_them() {
    let dir = tempfile::tempdir().unwrap();
    add_admin(dir.path()).await;
    let up = Arc::new(AtomicBool::new(false));
    let log = Arc::new(Mutex::new(Log::default()));
    let url = receiver(up.clone(), log.clone()).await;

    // Debug logs: the secret must be in none of them.
    let mut cmd = ChatProcess::command(dir.path(), FLAGS);
    cmd.env("VOUCH_LOG", "debug");
    let mut chat = ChatProcess::spawn(cmd).await;
    let admin = chat.login().await;
    let app_id = chat.create_widget(&admin).await;
    let (s, hook) = post_as(
        &chat.http,
        &chat.url("/api/v1/admin/webhooks"),
        &admin,
        json!({"url": url, "events": ["conversation.created", "message.created"]}),
    )
    .await;
    assert_eq!(s, 201, "{hook}");
    let secret = hook["secret"].as_str().unwrap().to_string();
    let hook_id = hook["id"].as_str().unwrap().to_string();
    tokio::time::sleep(Duration::from_millis(200)).await; // the log lines of the request written
    let logs = chat.logs();
    assert!(logs.contains("webhook created"), "{logs}");
    assert!(!logs.contains(&secret), "the secret is never logged");

    // 5 conversations × (created + 4 messages) = 25 events, committed while the receiver is down.
    let mut conversations = Vec::new();
    for c in 0..5 {
        let (token, conv) = chat.session(&app_id).await;
        let mut ws = chat.customer_ws(&token).await;
        for m in 0..4 {
            ws.say(&format!("c{c}m{m}"), &format!("message {m}")).await;
        }
        conversations.push(conv);
    }
    let deadline = tokio::time::Instant::now() + WAIT;
    while log.lock().unwrap().requests == 0 {
        assert!(tokio::time::Instant::now() < deadline, "the worker tries");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    chat.kill().await;

    up.store(true, Ordering::SeqCst);
    // After the restart the secret is read to sign: it must not be logged then either.
    let mut cmd = ChatProcess::command(dir.path(), FLAGS);
    cmd.env("VOUCH_LOG", "info");
    let chat = ChatProcess::spawn(cmd).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while log.lock().unwrap().delivered.len() < 25 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "all 25 delivered after the restart: {} so far; {}",
            log.lock().unwrap().delivered.len(),
            chat.logs()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let delivered = log.lock().unwrap().delivered.clone();
    let ids: HashSet<&str> = delivered.iter().map(|d| d.0.as_str()).collect();
    assert_eq!(
        ids.len(),
        25,
        "every event, none twice (no crash mid-send here)"
    );

    // In order per conversation: created, then the messages by seq.
    let mut per: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (_, _, raw) in &delivered {
        let v: Value = serde_json::from_str(raw).unwrap();
        let conv = v["data"]["conversation_id"].as_str().unwrap().to_string();
        let what = match v["type"].as_str().unwrap() {
            "message.created" => format!("m{}", v["data"]["message"]["seq"]),
            t => t.to_string(),
        };
        per.entry(conv).or_default().push(what);
    }
    assert_eq!(per.len(), 5);
    for conv in &conversations {
        assert_eq!(
            per[conv],
            ["conversation.created", "m1", "m2", "m3", "m4"],
            "{conv}"
        );
    }

    // The deliveries list agrees; the signature checks out with the CLI, and a changed body not.
    let (s, list) = get_as(
        &chat.http,
        &chat.url(&format!("/api/v1/admin/webhooks/{hook_id}/deliveries")),
        &chat.login().await,
    )
    .await;
    assert_eq!(s, 200);
    let list = list["deliveries"].as_array().unwrap().clone();
    assert_eq!(list.len(), 25);
    assert!(list
        .iter()
        .all(|d| d["status"] == "delivered" && d["last_status_code"] == 204));
    assert!(list.iter().any(|d| d["attempts"].as_i64() >= Some(2)));
    let logs = chat.logs();
    assert!(logs.contains("webhook delivery"), "deliveries are logged");
    assert!(!logs.contains(&secret), "the secret is never logged");
    let (_, header, body) = &delivered[0];
    assert_eq!(verify(&secret, header, body).await, 0);
    assert_eq!(
        verify(&secret, header, &body.replace("created", "createD")).await,
        1
    );
    assert_eq!(verify("whsec_wrong", header, body).await, 1);
}
