//! Pipelined sends (issue 17): a socket keeps reading while its sends wait for their commits, up
//! to a window; answers still come in the order of the sends, each `ack` after its commit, seqs
//! gapless, resends stored once. On SQLite the sends of one socket share group commits.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{topology, TestApp, Topology};

const METRICS_TOKEN: &str = "test-metrics-token-pipeline-0123456789";
/// More sends than the socket's window (32), so the window fills and drains several times.
const BURST: usize = 200;

async fn app() -> TestApp {
    TestApp::start_with(|c| {
        c.metrics_token = Some(METRICS_TOKEN.parse().expect("metrics token"));
        // The test sends its burst at once: the message rate must let it through.
        c.limits.msg_burst = 1000;
    })
    .await
}

/// `vouch_chat_db_group_commits_total` of the customers' node.
async fn group_commits(app: &TestApp) -> u64 {
    let r = app
        .http
        .get(app.url("/metrics"))
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await
        .expect("scrape");
    assert_eq!(r.status(), StatusCode::OK);
    let text = r.text().await.expect("body");
    let line = text
        .lines()
        .find(|l| l.starts_with("vouch_chat_db_group_commits_total "))
        .unwrap_or_else(|| panic!("no group commit counter in:\n{text}"));
    line.rsplit_once(' ')
        .and_then(|(_, v)| v.parse::<f64>().ok())
        .expect("a number") as u64
}

/// Reads until the answers (`ack`/`error`) of `expected` sends and `live` message frames came:
/// the answers in arrival order as (client_msg_id, seq or error code), and the live seqs.
async fn answers(
    ws: &mut crate::support::Ws,
    expected: usize,
    live: usize,
) -> (Vec<(String, Value)>, Vec<i64>) {
    let mut got = Vec::with_capacity(expected);
    let mut messages = Vec::new();
    while got.len() < expected || messages.len() < live {
        let f = ws
            .next_where("ack or error", |v| {
                matches!(v["type"].as_str(), Some("ack" | "error" | "message"))
            })
            .await;
        let cid = f["client_msg_id"].as_str().unwrap_or_default().to_string();
        match f["type"].as_str() {
            Some("ack") => got.push((cid, f["seq"].clone())),
            Some("error") => got.push((cid, f["error"].clone())),
            _ => messages.push(f["seq"].as_i64().expect("message seq")),
        }
    }
    (got, messages)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_socket_sends_200_without_waiting_acked_in_order_gapless_in_few_commits() {
    let app = app().await;
    let s = app.session("c-burst").await;
    let mut ws = app
        .customer_ws(s["session_token"].as_str().expect("token"))
        .await;
    // One message first, so the conversation's first seq is known.
    let first = ws.say("warm-up", "hello").await;
    let commits_before = group_commits(&app).await;
    for i in 0..BURST {
        ws.send(
            json!({"type": "send", "client_msg_id": format!("b{i}"), "text": format!("burst {i}")}),
        )
        .await;
    }
    // The live frames: the warm-up's own and the burst's.
    let (got, live) = answers(&mut ws, BURST, BURST + 1).await;
    let commits = group_commits(&app).await - commits_before;

    let ids: Vec<&str> = got.iter().map(|(c, _)| c.as_str()).collect();
    let want: Vec<String> = (0..BURST).map(|i| format!("b{i}")).collect();
    assert_eq!(ids, want, "one answer per send, in the order of the sends");
    let seqs: Vec<i64> = got
        .iter()
        .map(|(c, v)| v.as_i64().unwrap_or_else(|| panic!("{c} was refused: {v}")))
        .collect();
    let gapless: Vec<i64> = (first + 1..=first + BURST as i64).collect();
    assert_eq!(seqs, gapless, "acks carry gapless seqs in send order");
    assert_eq!(
        live,
        (first..=first + BURST as i64).collect::<Vec<_>>(),
        "live frames in order"
    );

    // Every ack meant "stored": the history holds all of them, in the same order.
    let history = ws.resume(first, BURST).await;
    let stored: Vec<(i64, String)> = history
        .into_iter()
        .map(|(seq, cid, _)| (seq, cid))
        .collect();
    let acked: Vec<(i64, String)> = gapless.iter().copied().zip(want).collect();
    assert_eq!(stored, acked);

    if topology() == Topology::Sqlite {
        assert!(commits >= 1, "the burst was committed");
        // One commit per message would be 200; the window lets them share fsyncs.
        assert!(
            commits <= BURST as u64 / 2,
            "{commits} group commits for {BURST} sends from one socket"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_and_resends_in_a_window_are_answered_in_send_order() {
    let app = app().await;
    let s = app.session("c-window").await;
    let mut ws = app
        .customer_ws(s["session_token"].as_str().expect("token"))
        .await;
    let first = ws.say("w-first", "hello").await;
    // Sends, an empty one (refused before it is queued), a resend of one still in flight, a
    // resend of one already stored, and more sends, all without waiting.
    let frames = [
        ("w0", "zero"),
        ("w1", "one"),
        ("w-empty", "   "),
        ("w1", "one"),
        ("w-first", "hello"),
        ("w2", "two"),
    ];
    for (cid, text) in frames {
        ws.send(json!({"type": "send", "client_msg_id": cid, "text": text}))
            .await;
    }
    let (got, live) = answers(&mut ws, frames.len(), 4).await;
    assert_eq!(
        live,
        (first..=first + 3).collect::<Vec<_>>(),
        "each stored message live once"
    );
    let want = vec![
        ("w0".to_string(), json!(first + 1)),
        ("w1".to_string(), json!(first + 2)),
        ("w-empty".to_string(), json!("empty_text")),
        ("w1".to_string(), json!(first + 2)),
        ("w-first".to_string(), json!(first)),
        ("w2".to_string(), json!(first + 3)),
    ];
    assert_eq!(got, want);
    let history = ws.resume(first - 1, 4).await;
    let cids: Vec<&str> = history.iter().map(|(_, c, _)| c.as_str()).collect();
    assert_eq!(
        cids,
        ["w-first", "w0", "w1", "w2"],
        "each message stored once"
    );
}

/// The storage half, on both back-ends: appends queued one after another (their commits not
/// awaited yet) get their seqs in queue order, and a resend queued behind its original is
/// answered with it. SQLite groups them into few commits; PostgreSQL commits each on its own.
async fn queued_appends_commit_in_queue_order(db: crate::storage::TestDb) {
    const N: usize = 50;
    let store = db.node().await;
    let w = vouch_testkit::chat::widget_row("http://shop.test");
    store.insert_widget(&w).await.expect("widget");
    let c = vouch_testkit::chat::conversation_row(w.app_id);
    store.insert_conversation(&c).await.expect("conversation");
    let before = store.group_commits();
    let mut commits = Vec::with_capacity(N + 1);
    for i in 0..N {
        let m = crate::group_commit::customer_message(c.id, &format!("q{i}"));
        commits.push(store.queue_append(m).await.expect("queued"));
    }
    let resend = crate::group_commit::customer_message(c.id, "q7");
    commits.push(store.queue_append(resend).await.expect("queued"));
    let mut seqs = Vec::with_capacity(N + 1);
    for commit in commits {
        let a = commit.await.expect("committed");
        seqs.push((a.message.seq, a.duplicate));
    }
    let mut want: Vec<(i64, bool)> = (1..=N as i64).map(|s| (s, false)).collect();
    want.push((8, true));
    assert_eq!(seqs, want);
    let stored = store.messages_after(c.id, 0, 1000).await.expect("history");
    assert_eq!(stored.len(), N, "the resend is stored once");
    match (before, store.group_commits()) {
        (Some(a), Some(b)) => assert!(
            b > a && b - a < N as u64,
            "{} commits for {N} queued appends",
            b - a
        ),
        (None, None) => {}
        other => panic!("group commit counts changed kind: {other:?}"),
    }
}

mod queued_appends_commit_in_queue_order {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::queued_appends_commit_in_queue_order(crate::storage::TestDb::sqlite().await).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        if let Some(db) = crate::storage::TestDb::postgres().await {
            super::queued_appends_commit_in_queue_order(db).await
        }
    }
}
