//! The webhook outbox's storage contract, on SQLite and (with `VOUCH_TEST_DATABASE_URL`) on
//! PostgreSQL: events are stored by the change's own transaction (and not when it is refused);
//! several nodes claiming at once each get different rows, and a conversation's events are
//! claimed one after the other, in order.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use serde_json::Value;
use uuid::Uuid;
use vouch_chat::storage::webhooks::Outcome;
use vouch_chat::storage::{now_millis, NewMessage, Rating, Sender, Store, StoreError, Webhook};

use crate::storage::TestDb;

macro_rules! on_both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                super::$name(super::TestDb::sqlite().await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                if let Some(db) = super::TestDb::postgres().await {
                    super::$name(db).await
                }
            }
        }
    )*};
}

on_both!(
    events_commit_with_their_change_and_only_then,
    a_rating_commits_with_its_event_and_a_second_adds_none,
    claims_are_exclusive_across_nodes_and_in_order
);

async fn webhook(store: &dyn Store, events: &[&str]) -> Webhook {
    let w = Webhook {
        id: Uuid::new_v4(),
        url: "http://127.0.0.1:9/hook".into(),
        events: events.iter().map(|e| e.to_string()).collect(),
        secret: "whsec_test".into(),
        created_at: now_millis(),
    };
    store.insert_webhook(&w).await.expect("webhook");
    w
}

/// A conversation with no contact, stored.
async fn new_conversation(store: &dyn Store) -> Uuid {
    let widget = vouch_testkit::chat::widget_row("http://shop.test");
    store.insert_widget(&widget).await.expect("widget");
    let c = vouch_testkit::chat::conversation_row(widget.app_id);
    store.insert_conversation(&c).await.expect("conversation");
    c.id
}

fn message(conversation_id: Uuid, n: usize) -> NewMessage {
    NewMessage {
        conversation_id,
        sender: Sender::Customer,
        agent_id: None,
        text: format!("message {n}"),
        client_msg_id: Some(format!("m{n}")),
        sent_at: now_millis(),
        attachments: Vec::new(),
    }
}

async fn events_commit_with_their_change_and_only_then(db: TestDb) {
    let store = db.node().await;
    let all = webhook(&*store, &["message.created", "conversation.ended"]).await;
    let ends = webhook(&*store, &["conversation.ended"]).await;
    let conv = new_conversation(&*store).await;
    store
        .append_message(&message(conv, 0))
        .await
        .expect("append");
    // A resend stores nothing, so no event either.
    let again = store
        .append_message(&message(conv, 0))
        .await
        .expect("resend");
    assert!(again.duplicate);
    // A refused append (no such conversation) leaves no event behind.
    let missing = store.append_message(&message(Uuid::new_v4(), 1)).await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
    let d = store.list_deliveries(all.id, 100).await.expect("list");
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].event_type, "message.created");
    assert_eq!(d[0].conversation_id, Some(conv));
    assert_eq!(d[0].attempts, 0);
    assert!(store
        .list_deliveries(ends.id, 100)
        .await
        .unwrap()
        .is_empty());

    store
        .end_conversation(conv, "ended", now_millis())
        .await
        .expect("end");
    let types: Vec<String> = store
        .list_deliveries(all.id, 100)
        .await
        .unwrap()
        .into_iter()
        .rev()
        .map(|d| d.event_type)
        .collect();
    assert_eq!(
        types,
        ["message.created", "message.created", "conversation.ended"]
    );
    let ended = store.list_deliveries(ends.id, 100).await.unwrap();
    assert_eq!(ended.len(), 1);
    // One event id per event, the same for both webhooks.
    let all_ended = store.list_deliveries(all.id, 1).await.unwrap();
    assert_eq!(all_ended[0].event_id, ended[0].event_id);

    // A refused end (already ended) adds nothing.
    assert!(store
        .end_conversation(conv, "ended", now_millis())
        .await
        .is_err());
    assert_eq!(store.list_deliveries(all.id, 100).await.unwrap().len(), 3);

    // Deleting the webhook deletes its deliveries; the other keeps its own.
    store.delete_webhook(all.id).await.expect("delete");
    assert!(store.list_deliveries(all.id, 100).await.unwrap().is_empty());
    assert_eq!(store.list_deliveries(ends.id, 100).await.unwrap().len(), 1);
    assert!(matches!(
        store.delete_webhook(all.id).await,
        Err(StoreError::NotFound)
    ));
}

async fn a_rating_commits_with_its_event_and_a_second_adds_none(db: TestDb) {
    let store = db.node().await;
    let hook = webhook(&*store, &["rating.created"]).await;
    let conv = new_conversation(&*store).await;
    let rating = Rating {
        score: 4,
        comment: Some("quick".into()),
        conversation_id: conv,
        created_at: now_millis(),
    };
    store.insert_rating(&rating).await.expect("rate");
    let again = store.insert_rating(&rating).await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    let d = store.list_deliveries(hook.id, 100).await.expect("list");
    assert_eq!(d.len(), 1, "one event for the one stored rating: {d:?}");
    assert_eq!(d[0].event_type, "rating.created");
    assert_eq!(d[0].conversation_id, Some(conv));
}

async fn claims_are_exclusive_across_nodes_and_in_order(db: TestDb) {
    const CONVERSATIONS: usize = 3;
    const EACH: usize = 8;
    let store = db.node().await;
    let hook = webhook(&*store, &["message.created"]).await;
    let mut convs = Vec::new();
    for _ in 0..CONVERSATIONS {
        let conv = new_conversation(&*store).await;
        for n in 0..EACH {
            store
                .append_message(&message(conv, n))
                .await
                .expect("append");
        }
        convs.push(conv);
    }
    // (conversation, seq) in the order rows were claimed, by any node.
    let claimed: Arc<Mutex<Vec<(String, i64)>>> = Arc::default();
    let mut nodes = Vec::new();
    for _ in 0..3 {
        let node = db.node().await;
        let claimed = claimed.clone();
        nodes.push(tokio::spawn(async move {
            // Bounded: far more rounds than 24 rows need.
            for _ in 0..2000 {
                if claimed.lock().unwrap().len() >= CONVERSATIONS * EACH {
                    return;
                }
                let now = now_millis();
                let rows = node
                    .claim_deliveries(now, now + 60_000, 10)
                    .await
                    .expect("claim");
                for d in rows {
                    let body: Value = serde_json::from_str(&d.body).unwrap();
                    let key = (
                        body["data"]["conversation_id"]
                            .as_str()
                            .unwrap()
                            .to_string(),
                        body["data"]["message"]["seq"].as_i64().unwrap(),
                    );
                    claimed.lock().unwrap().push(key);
                    node.finish_delivery(d.id, &Outcome::Delivered { code: 200 })
                        .await
                        .expect("finish");
                }
                tokio::task::yield_now().await;
            }
        }));
    }
    for n in nodes {
        n.await.expect("node");
    }
    let claimed = claimed.lock().unwrap().clone();
    assert_eq!(
        claimed.len(),
        CONVERSATIONS * EACH,
        "every row claimed once"
    );
    let unique: HashSet<&(String, i64)> = claimed.iter().collect();
    assert_eq!(unique.len(), claimed.len(), "no row claimed twice");
    let mut per: HashMap<&str, Vec<i64>> = HashMap::new();
    for (c, seq) in &claimed {
        per.entry(c.as_str()).or_default().push(*seq);
    }
    for conv in &convs {
        assert_eq!(
            per[conv.to_string().as_str()],
            (1..=EACH as i64).collect::<Vec<_>>(),
            "in order for {conv}"
        );
    }
    let list = store.list_deliveries(hook.id, 100).await.unwrap();
    assert!(list
        .iter()
        .all(|d| d.attempts == 1 && d.last_status_code == Some(200)));
}
