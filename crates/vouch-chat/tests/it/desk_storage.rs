//! The storage contract of internal notes and canned replies, on SQLite and (when
//! `VOUCH_TEST_DATABASE_URL` is set) PostgreSQL, two store instances ("nodes") on one database.

use uuid::Uuid;
use vouch_chat::storage::{
    now_millis, Agent, AuthSettings, CannedReply, Conflict, Conversation, ConversationState,
    NewMessage, NewNote, Role, Sender, Store, StoreError, Widget,
};

use crate::storage::TestDb;

/// Runs `$name(db)` once per back-end.
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
    notes_are_kept_apart_from_messages,
    a_conversation_holds_a_bounded_number_of_notes_across_nodes,
    canned_reply_shortcuts_are_unique_per_scope,
    a_scope_holds_a_bounded_number_of_canned_replies_across_nodes,
);

async fn agent(store: &dyn Store, name: &str) -> Agent {
    let a = Agent {
        id: Uuid::new_v4(),
        email: format!("{}@example.com", Uuid::new_v4().simple()),
        name: name.into(),
        role: Role::Agent,
        created_at: now_millis(),
    };
    store
        .insert_agent(&a, "$argon2id$hash")
        .await
        .expect("agent");
    a
}

async fn conversation(store: &dyn Store) -> Conversation {
    let now = now_millis();
    let s = AuthSettings {
        id: Uuid::new_v4(),
        name: "Shop".into(),
        public_key_url: "http://127.0.0.1:9/publickey".into(),
        function_name: "auth.getAuthenticationToken".into(),
        issuer: None,
        leeway_secs: 60,
        key_count: 1,
        created_at: now,
    };
    store.insert_auth_settings(&s).await.expect("settings");
    let w = Widget {
        app_id: Uuid::new_v4(),
        name: "Shop chat".into(),
        allowed_origins: vec!["http://shop.test".into()],
        auth_settings_id: Some(s.id),
        require_auth: false,
        title: "Chat".into(),
        created_at: now,
        business_hours: None,
        offline_message: String::new(),
    };
    store.insert_widget(&w).await.expect("widget");
    let c = Conversation {
        id: Uuid::new_v4(),
        widget_app_id: w.app_id,
        state: ConversationState::Waiting,
        verified: false,
        contact_id: None,
        context: serde_json::Map::new(),
        agent_id: None,
        created_at: now,
        updated_at: now,
        ended_at: None,
        last_seq: 0,
        queue_id: vouch_chat::storage::GENERAL_QUEUE_ID,
    };
    store.insert_conversation(&c).await.expect("conversation");
    c
}

fn new_note(conversation_id: Uuid, author_id: Uuid, text: &str, at: i64) -> NewNote {
    NewNote {
        id: Uuid::new_v4(),
        conversation_id,
        author_id,
        text: text.into(),
        created_at: at,
    }
}

async fn say(store: &dyn Store, conv: Uuid, id: &str) -> i64 {
    store
        .append_message(&NewMessage {
            conversation_id: conv,
            sender: Sender::Customer,
            agent_id: None,
            text: format!("message {id}"),
            client_msg_id: Some(id.into()),
            sent_at: now_millis(),
            attachments: Vec::new(),
        })
        .await
        .expect("append")
        .message
        .seq
}

async fn notes_are_kept_apart_from_messages(db: TestDb) {
    let (a, b) = (db.node().await, db.node().await);
    let sam = agent(&*a, "Sam").await;
    let kim = agent(&*a, "Kim").await;
    let conv = conversation(&*a).await;
    let other = conversation(&*a).await;

    assert_eq!(say(&*a, conv.id, "m1").await, 1);
    let t = now_millis();
    let n1 = a
        .add_note(&new_note(conv.id, sam.id, "first", t))
        .await
        .expect("note");
    assert_eq!(
        (n1.author_id, n1.author_name.as_str(), n1.text.as_str()),
        (sam.id, "Sam", "first")
    );
    assert_eq!(n1.conversation_id, conv.id);
    // From the other node, while messages keep coming: seqs stay gapless.
    b.add_note(&new_note(conv.id, kim.id, "second", t + 1))
        .await
        .expect("note");
    assert_eq!(say(&*b, conv.id, "m2").await, 2);
    b.add_note(&new_note(other.id, kim.id, "elsewhere", t))
        .await
        .expect("note");

    let notes = a.notes_for(conv.id, 100).await.expect("notes");
    let texts: Vec<_> = notes
        .iter()
        .map(|n| (n.text.as_str(), n.author_name.as_str()))
        .collect();
    assert_eq!(texts, vec![("first", "Sam"), ("second", "Kim")]);
    assert_eq!(
        a.notes_for(conv.id, 1).await.expect("notes").len(),
        1,
        "limit"
    );
    let messages = b.messages_after(conv.id, 0, 100).await.expect("messages");
    assert_eq!(
        messages.iter().map(|m| m.seq).collect::<Vec<_>>(),
        vec![1, 2]
    );
    assert!(messages
        .iter()
        .all(|m| !m.text.contains("first") && !m.text.contains("second")));
    let c = a
        .get_conversation(conv.id)
        .await
        .expect("get")
        .expect("conv");
    assert_eq!(c.last_seq, 2, "a note takes no seq");

    // Unknown conversation or author: NotFound, nothing stored.
    let missing = a
        .add_note(&new_note(Uuid::new_v4(), sam.id, "lost", t))
        .await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
    let missing = b
        .add_note(&new_note(conv.id, Uuid::new_v4(), "lost", t))
        .await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
    assert_eq!(a.notes_for(conv.id, 100).await.expect("notes").len(), 2);
}

fn reply(owner: Option<Uuid>, shortcut: &str, text: &str) -> CannedReply {
    let now = now_millis();
    CannedReply {
        id: Uuid::new_v4(),
        agent_id: owner,
        shortcut: shortcut.into(),
        text: text.into(),
        created_at: now,
        updated_at: now,
    }
}

fn taken(r: StoreResultAny) -> bool {
    matches!(r, Err(StoreError::Conflict(Conflict::ShortcutTaken(_))))
}

type StoreResultAny = Result<(), StoreError>;

async fn canned_reply_shortcuts_are_unique_per_scope(db: TestDb) {
    let (a, b) = (db.node().await, db.node().await);
    let sam = agent(&*a, "Sam").await;
    let kim = agent(&*a, "Kim").await;

    let shared = reply(None, "thanks", "Thanks!");
    a.insert_canned_reply(&shared, 200).await.expect("shared");
    // Two shared replies with one shortcut: refused (NULL owners are one scope).
    assert!(taken(
        b.insert_canned_reply(&reply(None, "thanks", "again"), 200)
            .await
    ));
    let own = reply(Some(sam.id), "thanks", "Cheers");
    b.insert_canned_reply(&own, 200)
        .await
        .expect("own may shadow shared");
    assert!(taken(
        a.insert_canned_reply(&reply(Some(sam.id), "thanks", "x"), 200)
            .await
    ));
    a.insert_canned_reply(&reply(Some(kim.id), "thanks", "Kim's"), 200)
        .await
        .expect("another agent's scope");
    a.insert_canned_reply(&reply(Some(sam.id), "hello", "Hello"), 200)
        .await
        .expect("own");

    let list = b.canned_replies_for(Some(sam.id), 100).await.expect("list");
    let got: Vec<_> = list
        .iter()
        .map(|r| (r.shortcut.as_str(), r.agent_id.is_none()))
        .collect();
    assert_eq!(
        got,
        vec![("hello", false), ("thanks", false), ("thanks", true)]
    );
    let shared_only = a.canned_replies_for(None, 100).await.expect("list");
    assert_eq!(shared_only.len(), 1);
    assert_eq!(shared_only[0], shared);
    assert_eq!(
        a.canned_replies_for(Some(sam.id), 2)
            .await
            .expect("list")
            .len(),
        2,
        "limit"
    );

    // Update and delete reach only their scope.
    let wrong = a
        .update_canned_reply(shared.id, Some(sam.id), "t", "t", now_millis())
        .await;
    assert!(matches!(wrong, Err(StoreError::NotFound)), "{wrong:?}");
    let dup = a
        .update_canned_reply(own.id, Some(sam.id), "hello", "x", now_millis())
        .await;
    assert!(
        matches!(dup, Err(StoreError::Conflict(Conflict::ShortcutTaken(_)))),
        "{dup:?}"
    );
    let changed = b
        .update_canned_reply(own.id, Some(sam.id), "cheers", "Cheers!", now_millis())
        .await
        .expect("update");
    assert_eq!(
        (changed.shortcut.as_str(), changed.text.as_str()),
        ("cheers", "Cheers!")
    );
    assert_eq!(changed.agent_id, Some(sam.id));
    let changed = a
        .update_canned_reply(shared.id, None, "thanks", "Thank you!", now_millis())
        .await
        .expect("update shared");
    assert_eq!(changed.text, "Thank you!");
    assert!(matches!(
        a.delete_canned_reply(own.id, Some(kim.id)).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        a.delete_canned_reply(own.id, None).await,
        Err(StoreError::NotFound)
    ));
    b.delete_canned_reply(own.id, Some(sam.id))
        .await
        .expect("delete");
    assert!(matches!(
        b.delete_canned_reply(own.id, Some(sam.id)).await,
        Err(StoreError::NotFound)
    ));
    let list = a.canned_replies_for(Some(sam.id), 100).await.expect("list");
    assert_eq!(
        list.iter().map(|r| r.text.as_str()).collect::<Vec<_>>(),
        vec!["Hello", "Thank you!"]
    );
}

/// More notes than allowed, added at once on two nodes: exactly `MAX_NOTES` are stored, the rest
/// refused (the conversation's row lock makes the nodes count each other's notes).
async fn a_conversation_holds_a_bounded_number_of_notes_across_nodes(db: TestDb) {
    let max = vouch_chat::storage::notes::MAX_NOTES as usize;
    let nodes = [db.node().await, db.node().await];
    let sam = agent(&*nodes[0], "Sam").await;
    let conv = conversation(&*nodes[0]).await;
    let extra = 25;
    // At most 24 at once: all of them queue on one row lock, and a pool (16 connections a node)
    // must not time out while they wait.
    let at_once = std::sync::Arc::new(tokio::sync::Semaphore::new(24));
    let mut tasks = Vec::with_capacity(max + extra);
    for i in 0..max + extra {
        let store = nodes[i % 2].clone();
        let n = new_note(conv.id, sam.id, &format!("note {i}"), now_millis());
        let at_once = at_once.clone();
        tasks.push(tokio::spawn(async move {
            let _slot = at_once.acquire_owned().await.expect("semaphore");
            store.add_note(&n).await
        }));
    }
    let (mut stored, mut refused) = (0, 0);
    for t in tasks {
        match t.await.expect("task") {
            Ok(_) => stored += 1,
            Err(StoreError::Conflict(Conflict::TooManyNotes)) => refused += 1,
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!((stored, refused), (max, extra));
    let notes = nodes[1]
        .notes_for(conv.id, vouch_chat::storage::notes::MAX_NOTES)
        .await
        .expect("notes");
    assert_eq!(notes.len(), max);
}

/// More replies than a scope may hold, inserted at once on two nodes: exactly the limit is
/// stored in each scope, the rest refused.
async fn a_scope_holds_a_bounded_number_of_canned_replies_across_nodes(db: TestDb) {
    let nodes = [db.node().await, db.node().await];
    let sam = agent(&*nodes[0], "Sam").await;
    let max = 10;
    let mut tasks = Vec::new();
    for owner in [None, Some(sam.id)] {
        for i in 0..max + 15 {
            let store = nodes[(i % 2) as usize].clone();
            let r = reply(owner, &format!("r{i}"), "text");
            tasks.push(tokio::spawn(async move {
                store.insert_canned_reply(&r, max).await
            }));
        }
    }
    let (mut stored, mut refused) = (0, 0);
    for t in tasks {
        match t.await.expect("task") {
            Ok(()) => stored += 1,
            Err(StoreError::Conflict(Conflict::TooManyCannedReplies(n))) if n == max => {
                refused += 1
            }
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!((stored, refused), (2 * max, 30));
    let all = nodes[1]
        .canned_replies_for(Some(sam.id), 100)
        .await
        .expect("list");
    assert_eq!(
        all.iter().filter(|r| r.agent_id.is_none()).count(),
        max as usize
    );
    assert_eq!(
        all.iter().filter(|r| r.agent_id == Some(sam.id)).count(),
        max as usize
    );
}
