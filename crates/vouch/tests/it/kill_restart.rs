//! SIGKILL in the middle of a load: every acknowledged message survives, exactly once, in seq
//! order — through resume and through the agent API — and clients carry on without gaps.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use vouch_testkit::ws::send_frame;

use crate::chat_process::{add_admin, customer_ws, messages_of, ChatProcess, LOAD_FLAGS, WAIT};

/// Conversations driven at once, each by its own customer socket.
const CONVERSATIONS: usize = 50;
/// The most any conversation sends; the kill comes long before.
const MAX_EACH: usize = 1000;
/// The kill comes once this many messages were acknowledged.
const KILL_AFTER_ACKS: usize = 2500;
/// Sends each socket keeps in flight (so some are unacknowledged when the kill lands).
const WINDOW: usize = 4;

/// What one customer saw before the kill.
#[derive(Default)]
struct Seen {
    /// Every client_msg_id whose send was attempted (acknowledged or not).
    sent: Vec<String>,
    /// client_msg_id -> acknowledged seq.
    acked: BTreeMap<String, i64>,
}

fn text_of(cid: &str) -> String {
    format!("message {cid}")
}

async fn drive(chat_addr: String, token: String, k: usize, acks: Arc<AtomicUsize>) -> Seen {
    let mut seen = Seen::default();
    let mut ws = customer_ws(&chat_addr, &token).await;
    let mut in_flight = HashSet::new();
    let mut next = 0;
    loop {
        while in_flight.len() < WINDOW && next < MAX_EACH {
            let cid = format!("c{k}-m{next}");
            next += 1;
            seen.sent.push(cid.clone());
            if !ws.try_send(send_frame(&cid, &text_of(&cid))).await {
                return seen;
            }
            in_flight.insert(cid);
        }
        if in_flight.is_empty() {
            return seen;
        }
        let Some(f) = ws.next_any().await else {
            return seen; // the server died
        };
        match f["type"].as_str() {
            Some("ack") => {
                let cid = f["client_msg_id"].as_str().expect("cid").to_string();
                let seq = f["seq"].as_i64().expect("seq");
                assert!(
                    in_flight.remove(&cid),
                    "ack for {cid} that was not in flight"
                );
                assert!(seen.acked.insert(cid, seq).is_none(), "one ack per send");
                acks.fetch_add(1, Ordering::Relaxed);
            }
            // A waiting customer's place in the queue.
            Some("message") | Some("queue") => {}
            _ => panic!("unexpected frame under load: {f}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_under_load_loses_no_acknowledged_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    add_admin(dir.path()).await;
    let mut chat = ChatProcess::start(dir.path(), LOAD_FLAGS).await;
    let admin = chat.login().await;
    let app_id = chat.create_widget(&admin).await;
    let mut sessions = Vec::with_capacity(CONVERSATIONS);
    for _ in 0..CONVERSATIONS {
        sessions.push(chat.session(&app_id).await);
    }

    let acks = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::with_capacity(CONVERSATIONS);
    for (k, (token, _)) in sessions.iter().enumerate() {
        tasks.push(tokio::spawn(drive(
            chat.addr.clone(),
            token.clone(),
            k,
            acks.clone(),
        )));
    }
    let started = Instant::now();
    while acks.load(Ordering::Relaxed) < KILL_AFTER_ACKS {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the load did not reach {KILL_AFTER_ACKS} acks: {}",
            chat.logs()
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    chat.kill().await;
    let mut seen = Vec::with_capacity(CONVERSATIONS);
    for t in tasks {
        seen.push(
            tokio::time::timeout(WAIT, t)
                .await
                .expect("clients notice the kill")
                .expect("client task"),
        );
    }
    let acked_total: usize = seen.iter().map(|s| s.acked.len()).sum();
    let unacked_total: usize = seen.iter().map(|s| s.sent.len() - s.acked.len()).sum();
    assert!(acked_total >= KILL_AFTER_ACKS);
    assert!(
        seen.iter().all(|s| s.sent.len() < MAX_EACH),
        "the kill landed in the middle of the load"
    );

    // Restart on the same data directory.
    let chat = ChatProcess::start(dir.path(), LOAD_FLAGS).await;
    let mut survived_unacked = 0;
    for ((token, id), seen) in sessions.iter().zip(&seen) {
        // The agent API: gapless seqs from 1, each client_msg_id once, every ack honoured.
        let stored = messages_of(&chat.conversation(&admin, id).await);
        let seqs: Vec<i64> = stored.iter().map(|m| m.0).collect();
        assert_eq!(
            seqs,
            (1..=stored.len() as i64).collect::<Vec<_>>(),
            "{id}: gapless"
        );
        let mut by_cid = BTreeMap::new();
        for (seq, cid, text) in &stored {
            assert!(
                by_cid.insert(cid.clone(), *seq).is_none(),
                "{id}: {cid} stored twice"
            );
            assert!(seen.sent.contains(cid), "{id}: {cid} was never sent");
            assert_eq!(text, &text_of(cid));
        }
        for (cid, seq) in &seen.acked {
            assert_eq!(
                by_cid.get(cid),
                Some(seq),
                "{id}: acknowledged {cid} lost or moved"
            );
        }
        survived_unacked += stored.len() - seen.acked.len();

        // Resume: the same history over the socket, and from the last ack on, no gap.
        let mut ws = chat.customer_ws(token).await;
        assert_eq!(
            ws.resume(0, stored.len()).await,
            stored,
            "{id}: resume from 0"
        );
        let held = seen.acked.values().copied().max().unwrap_or(0);
        let rest = ws.resume(held, stored.len() - held as usize).await;
        assert_eq!(
            rest.as_slice(),
            &stored[held as usize..],
            "{id}: resume from {held}"
        );

        // The client resends what was never acknowledged: stored ones answer their seq, the
        // others get the next seqs; then it carries on.
        let mut next = stored.len() as i64;
        for cid in seen.sent.iter().filter(|c| !seen.acked.contains_key(*c)) {
            let seq = ws.say(cid, &text_of(cid)).await;
            match by_cid.get(cid) {
                Some(&s) => assert_eq!(seq, s, "{id}: resend of stored {cid}"),
                None => {
                    next += 1;
                    assert_eq!(seq, next, "{id}: resend of lost {cid}");
                }
            }
        }
        next += 1;
        assert_eq!(
            ws.say(&format!("after-{id}"), "after the restart").await,
            next
        );
        let all = messages_of(&chat.conversation(&admin, id).await);
        assert_eq!(all.len() as i64, next);
        let cids: HashSet<_> = all.iter().map(|m| m.1.clone()).collect();
        assert_eq!(cids.len(), all.len(), "{id}: every message once");
        assert!(seen.sent.iter().all(|c| cids.contains(c)), "{id}: all sent");
    }
    eprintln!(
        "kill test: {acked_total} acknowledged, {unacked_total} unacknowledged at the kill \
         ({survived_unacked} of those were stored)"
    );
}
