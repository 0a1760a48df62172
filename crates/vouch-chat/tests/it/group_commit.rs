//! Group commit in the SQLite store: many conversations appending at once share transactions,
//! yet seqs stay gapless per conversation, resends are stored once, and one refused or failing
//! write never fails the writes batched with it.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use uuid::Uuid;
use vouch_chat::storage::prelude::*;
use vouch_chat::storage::sqlite::SqliteStore;
use vouch_chat::storage::{now_millis, NewMessage, Sender, StoreError, Widget};
use vouch_testkit::chat::{conversation_row, widget_row};

/// A fresh database under a tempdir (a real file: WAL and fsync as in production).
pub async fn store_in(dir: &std::path::Path) -> Arc<SqliteStore> {
    let url = format!("sqlite://{}", dir.join("chat.db").display());
    Arc::new(SqliteStore::open(&url).await.expect("open store"))
}

pub fn customer_message(conversation_id: Uuid, client_msg_id: &str) -> NewMessage {
    NewMessage {
        conversation_id,
        sender: Sender::Customer,
        agent_id: None,
        text: format!("text of {client_msg_id}"),
        client_msg_id: Some(client_msg_id.into()),
        sent_at: now_millis(),
        attachments: Vec::new(),
    }
}

/// `n` conversations of one new widget, created concurrently (so they are group-committed too).
pub async fn conversations(store: &Arc<SqliteStore>, n: usize) -> (Widget, Vec<Uuid>) {
    let w = widget_row("http://shop.test");
    store.insert_widget(&w).await.expect("widget");
    let mut tasks = Vec::with_capacity(n);
    for _ in 0..n {
        let store = store.clone();
        let c = conversation_row(w.app_id);
        tasks.push(tokio::spawn(async move {
            store.insert_conversation(&c).await.map(|_| c.id)
        }));
    }
    let mut ids = Vec::with_capacity(n);
    for t in tasks {
        ids.push(t.await.expect("task").expect("insert conversation"));
    }
    (w, ids)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_and_resends_are_gapless_and_stored_once() {
    const CONVERSATIONS: usize = 60;
    const MESSAGES: usize = 15;
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store_in(dir.path()).await;
    let (_, ids) = conversations(&store, CONVERSATIONS).await;
    // Two writers per conversation send the same client_msg_ids, in opposite orders, at once:
    // every message is a race between its first copy and its resend.
    let mut tasks = Vec::new();
    for &id in &ids {
        for reverse in [false, true] {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let mut order: Vec<usize> = (0..MESSAGES).collect();
                if reverse {
                    order.reverse();
                }
                let mut got = Vec::with_capacity(MESSAGES);
                for i in order {
                    let cid = format!("m{i}");
                    let a = store
                        .append_message(&customer_message(id, &cid))
                        .await
                        .expect("append");
                    assert_eq!(a.message.client_msg_id.as_deref(), Some(cid.as_str()));
                    got.push((id, cid, a.message.seq, a.duplicate));
                }
                got
            }));
        }
    }
    // (conversation, client_msg_id) -> (seqs answered, how many were first copies)
    let mut answers: BTreeMap<(Uuid, String), (HashSet<i64>, usize)> = BTreeMap::new();
    for t in tasks {
        for (id, cid, seq, dup) in t.await.expect("task") {
            let e = answers.entry((id, cid)).or_default();
            e.0.insert(seq);
            e.1 += usize::from(!dup);
        }
    }
    for ((id, cid), (seqs, firsts)) in &answers {
        assert_eq!(seqs.len(), 1, "{id}/{cid}: both copies answer the same seq");
        assert_eq!(*firsts, 1, "{id}/{cid}: exactly one copy is stored");
    }
    for &id in &ids {
        let stored = store.messages_after(id, 0, 1000).await.expect("history");
        let seqs: Vec<i64> = stored.iter().map(|m| m.seq).collect();
        assert_eq!(seqs, (1..=MESSAGES as i64).collect::<Vec<_>>(), "{id}");
        let cids: HashSet<_> = stored
            .iter()
            .filter_map(|m| m.client_msg_id.clone())
            .collect();
        assert_eq!(cids.len(), MESSAGES, "{id}: each client_msg_id once");
        for m in &stored {
            let cid = m.client_msg_id.clone().expect("customer message");
            let (seqs, _) = &answers[&(id, cid)];
            assert!(seqs.contains(&m.seq), "the ack's seq is the stored seq");
        }
        let c = store
            .get_conversation(id)
            .await
            .expect("get")
            .expect("exists");
        assert_eq!(c.last_seq, MESSAGES as i64);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_and_failing_writes_do_not_fail_the_writes_batched_with_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store_in(dir.path()).await;
    let (_, ids) = conversations(&store, 20).await;
    let ended = ids[0];
    store
        .end_conversation(ended, "The conversation has ended.", now_millis())
        .await
        .expect("end");
    let missing = Uuid::new_v4();
    let mut tasks = Vec::new();
    for round in 0..10 {
        for &id in &ids {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let r = store
                    .append_message(&customer_message(id, &format!("r{round}")))
                    .await;
                (id, r.map(|a| a.message.seq))
            }));
        }
        let store2 = store.clone();
        tasks.push(tokio::spawn(async move {
            let r = store2
                .append_message(&customer_message(missing, "lost"))
                .await;
            (missing, r.map(|a| a.message.seq))
        }));
        // A write the database itself rejects (its widget does not exist: foreign key), queued
        // among the appends: it is rolled back alone (its savepoint), the rest of its batch commits.
        let store3 = store.clone();
        tasks.push(tokio::spawn(async move {
            let r = store3
                .insert_conversation(&conversation_row(Uuid::new_v4()))
                .await;
            (Uuid::nil(), r.map(|_| -1))
        }));
    }
    let mut ok: BTreeMap<Uuid, Vec<i64>> = BTreeMap::new();
    for t in tasks {
        let (id, r) = t.await.expect("task");
        match r {
            Ok(seq) if id != ended && id != missing && !id.is_nil() => {
                ok.entry(id).or_default().push(seq)
            }
            Err(StoreError::Conflict(_)) if id == ended => {}
            Err(StoreError::NotFound) if id == missing => {}
            Err(StoreError::Engine(e)) if id.is_nil() => {
                assert!(e.contains("FOREIGN KEY"), "{e}")
            }
            other => panic!("unexpected outcome for {id}: {other:?}"),
        }
    }
    assert_eq!(
        ok.len(),
        ids.len() - 1,
        "every open conversation stored its messages"
    );
    for (id, mut seqs) in ok {
        seqs.sort();
        assert_eq!(seqs, (1..=10).collect::<Vec<i64>>(), "{id}: gapless");
    }
    // The ended conversation holds only its system message.
    let ended_msgs = store.messages_after(ended, 0, 100).await.expect("history");
    assert_eq!(ended_msgs.len(), 1);
    assert_eq!(ended_msgs[0].sender, Sender::System);
    assert!(store
        .get_conversation(missing)
        .await
        .expect("get")
        .is_none());
}

/// The WAL is copied into the database file by the background checkpointer, not left to grow
/// until the writer's own (much later) fallback checkpoint: after some writes the database file
/// itself grows while nothing else writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wal_is_checkpointed_in_the_background() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store_in(dir.path()).await;
    let db = dir.path().join("chat.db");
    let size_before = std::fs::metadata(&db).expect("db file").len();
    let (_, ids) = conversations(&store, 20).await;
    for (i, id) in ids.iter().enumerate() {
        let mut m = customer_message(*id, &format!("big{i}"));
        m.text = "x".repeat(4000);
        store.append_message(&m).await.expect("append");
    }
    // ~80 KB of messages went to the WAL; the checkpointer runs every 200 ms.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let grown = loop {
        let size = std::fs::metadata(&db).expect("db file").len();
        if size >= size_before + 80_000 || std::time::Instant::now() > deadline {
            break size;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(
        grown >= size_before + 80_000,
        "the database file stayed at {grown} bytes (was {size_before}): the WAL was not checkpointed"
    );
}
