//! The storage contract, backend-independent: every test here runs on SQLite (a tempdir file)
//! and on PostgreSQL (a scratch database made for the test and dropped after it) when
//! `VOUCH_TEST_DATABASE_URL` names a server (`scripts/test` sets it). "Nodes" are separate
//! store instances (separate pools) on one database, as several `vouch chat` processes are.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use uuid::Uuid;
use vouch_chat::storage::{
    self, now_millis, Agent, AuthSettings, ContactFields, Conversation, ConversationState,
    CustomerSession, NewMessage, Role, Sender, Store, StoreError, VerificationFailure, Widget,
};
use vouch_testkit::ScratchDatabase;

/// A database of one back-end, alive as long as this value.
pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    _pg: Option<ScratchDatabase>,
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("tempdir");
        TestDb {
            url: format!("sqlite://{}", dir.path().join("chat.db").display()),
            _dir: Some(dir),
            _pg: None,
        }
    }

    /// None (and a note on stderr) when `VOUCH_TEST_DATABASE_URL` is not set.
    pub async fn postgres() -> Option<TestDb> {
        let pg = ScratchDatabase::from_env("PostgreSQL variant").await?;
        Some(TestDb {
            url: pg.url.clone(),
            _dir: None,
            _pg: Some(pg),
        })
    }

    /// Another "node": its own store instance (own pool) on the same database.
    pub async fn node(&self) -> Arc<dyn Store> {
        storage::open(&self.url).await.expect("open store")
    }
}

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
    settings_widgets_and_agents,
    contacts_keep_known_fields,
    seqs_are_gapless_and_resends_stored_once,
    concurrent_writers_on_several_nodes,
    accept_has_one_winner_across_nodes,
    end_makes_one_transcript_and_refuses_more,
    one_open_conversation_per_contact_across_nodes,
    sessions_expire_and_renew,
    verification_failures_are_counted_and_capped,
    migrations_are_idempotent,
    conversations_assigned_to_an_agent,
);

async fn fixtures(store: &dyn Store) -> (AuthSettings, Widget, Agent) {
    let now = now_millis();
    let s = AuthSettings {
        id: Uuid::new_v4(),
        name: "Shop".into(),
        public_key_url: "http://127.0.0.1:9/publickey".into(),
        function_name: "auth.getAuthenticationToken".into(),
        issuer: Some("portal.test".into()),
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
        require_auth: true,
        title: "Chat".into(),
        created_at: now,
        business_hours: None,
        offline_message: String::new(),
    };
    store.insert_widget(&w).await.expect("widget");
    let a = Agent {
        id: Uuid::new_v4(),
        email: format!("agent-{}@example.com", Uuid::new_v4().simple()),
        name: "Agent".into(),
        role: Role::Agent,
        created_at: now,
    };
    store
        .insert_agent(&a, "$argon2id$hash")
        .await
        .expect("agent");
    (s, w, a)
}

fn conversation(widget: &Widget, contact_id: Option<Uuid>) -> Conversation {
    let now = now_millis();
    Conversation {
        id: Uuid::new_v4(),
        widget_app_id: widget.app_id,
        state: ConversationState::Waiting,
        verified: contact_id.is_some(),
        contact_id,
        context: serde_json::Map::new(),
        agent_id: None,
        created_at: now,
        updated_at: now,
        ended_at: None,
        last_seq: 0,
        queue_id: vouch_chat::storage::GENERAL_QUEUE_ID,
    }
}

fn customer_msg(conv: Uuid, id: &str, text: &str) -> NewMessage {
    NewMessage {
        conversation_id: conv,
        sender: Sender::Customer,
        agent_id: None,
        text: text.into(),
        client_msg_id: Some(id.into()),
        sent_at: now_millis(),
        attachments: Vec::new(),
    }
}

async fn settings_widgets_and_agents(db: TestDb) {
    let store = db.node().await;
    store.ping().await.expect("ping");
    let (mut s, mut w, a) = fixtures(store.as_ref()).await;
    assert_eq!(
        store.get_auth_settings(s.id).await.unwrap(),
        Some(s.clone())
    );
    s.name = "Shop 2".into();
    s.issuer = None;
    store.update_auth_settings(&s).await.unwrap();
    assert_eq!(store.list_auth_settings().await.unwrap(), vec![s.clone()]);
    let mut missing = s.clone();
    missing.id = Uuid::new_v4();
    assert!(matches!(
        store.update_auth_settings(&missing).await,
        Err(StoreError::NotFound)
    ));

    assert_eq!(store.get_widget(w.app_id).await.unwrap(), Some(w.clone()));
    w.allowed_origins.push("https://b.test".into());
    w.require_auth = false;
    store.update_widget(&w).await.unwrap();
    assert_eq!(store.list_widgets().await.unwrap(), vec![w.clone()]);
    assert_eq!(store.get_widget(Uuid::new_v4()).await.unwrap(), None);

    // Agents: unique email, tokens by hash with expiry.
    let dup = Agent {
        id: Uuid::new_v4(),
        ..a.clone()
    };
    assert!(matches!(
        store.insert_agent(&dup, "x").await,
        Err(StoreError::Conflict(_))
    ));
    let (found, hash) = store.find_agent_by_email(&a.email).await.unwrap().unwrap();
    assert_eq!((found, hash.as_str()), (a.clone(), "$argon2id$hash"));
    assert_eq!(store.get_agent(a.id).await.unwrap(), Some(a.clone()));
    let now = now_millis();
    store
        .insert_agent_token(&[1u8; 32], a.id, now + 60_000)
        .await
        .unwrap();
    store
        .insert_agent_token(&[2u8; 32], a.id, now - 1)
        .await
        .unwrap();
    assert_eq!(
        store.find_agent_by_token(&[1u8; 32], now).await.unwrap(),
        Some(a.clone())
    );
    assert_eq!(
        store.find_agent_by_token(&[2u8; 32], now).await.unwrap(),
        None
    );
    store.delete_agent_token(&[1u8; 32]).await.unwrap();
    assert_eq!(
        store.find_agent_by_token(&[1u8; 32], now).await.unwrap(),
        None
    );
}

async fn contacts_keep_known_fields(db: TestDb) {
    let store = db.node().await;
    let (s, _, _) = fixtures(store.as_ref()).await;
    let full = ContactFields {
        given_name: Some("Alex".into()),
        family_name: Some("Doe".into()),
        email: Some("alex@example.com".into()),
        phone: Some("+1 555".into()),
        preferred_username: Some("alex".into()),
    };
    let c1 = store
        .upsert_contact(s.id, "sub-1", &full, 1000)
        .await
        .unwrap();
    let partial = ContactFields {
        email: Some("new@example.com".into()),
        ..Default::default()
    };
    let c2 = store
        .upsert_contact(s.id, "sub-1", &partial, 2000)
        .await
        .unwrap();
    assert_eq!(c2.id, c1.id, "same (settings, sub) is one contact");
    assert_eq!(c2.given_name.as_deref(), Some("Alex"));
    assert_eq!(c2.email.as_deref(), Some("new@example.com"));
    assert_eq!((c2.created_at, c2.updated_at), (1000, 2000));
    assert_eq!(store.get_contact(c1.id).await.unwrap(), Some(c2));
    let other = store
        .upsert_contact(s.id, "sub-2", &full, 1000)
        .await
        .unwrap();
    assert_ne!(other.id, c1.id);
}

async fn seqs_are_gapless_and_resends_stored_once(db: TestDb) {
    let store = db.node().await;
    let (_, w, _) = fixtures(store.as_ref()).await;
    let c = conversation(&w, None);
    store.insert_conversation(&c).await.unwrap();
    for i in 1..=5 {
        let a = store
            .append_message(&customer_msg(c.id, &format!("m{i}"), "hello"))
            .await
            .unwrap();
        assert_eq!((a.message.seq, a.duplicate), (i, false));
    }
    let again = store
        .append_message(&customer_msg(c.id, "m3", "changed"))
        .await
        .unwrap();
    assert!(again.duplicate);
    assert_eq!(
        (again.message.seq, again.message.text.as_str()),
        (3, "hello")
    );
    // The same client id from the other sender is another message.
    let mut agent_m3 = customer_msg(c.id, "m3", "from agent");
    agent_m3.sender = Sender::Agent;
    assert_eq!(
        store.append_message(&agent_m3).await.unwrap().message.seq,
        6
    );

    let all = store.messages_after(c.id, 0, 100).await.unwrap();
    assert_eq!(
        all.iter().map(|m| m.seq).collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 5, 6]
    );
    let page = store.messages_after(c.id, 2, 2).await.unwrap();
    assert_eq!(page.iter().map(|m| m.seq).collect::<Vec<_>>(), vec![3, 4]);
    assert_eq!(
        store
            .get_conversation(c.id)
            .await
            .unwrap()
            .unwrap()
            .last_seq,
        6
    );
    assert!(matches!(
        store
            .append_message(&customer_msg(Uuid::new_v4(), "x", "y"))
            .await,
        Err(StoreError::NotFound)
    ));
}

/// Three nodes × four writers append to one conversation at once, each message sent twice
/// (a resend racing its original): every message is stored once, seqs are 1..=N without gaps,
/// and both sends of a message were answered with its one seq.
async fn concurrent_writers_on_several_nodes(db: TestDb) {
    const NODES: usize = 3;
    const WRITERS: usize = 4;
    const EACH: usize = 15;
    let first = db.node().await;
    let (_, w, _) = fixtures(first.as_ref()).await;
    let c = conversation(&w, None);
    first.insert_conversation(&c).await.unwrap();
    let mut nodes = vec![first];
    for _ in 1..NODES {
        nodes.push(db.node().await);
    }
    let mut tasks = Vec::new();
    for n in 0..NODES {
        for wr in 0..WRITERS {
            let store = nodes[n].clone();
            let resend_on = nodes[(n + 1) % NODES].clone();
            tasks.push(tokio::spawn(async move {
                let mut got = Vec::new();
                for i in 0..EACH {
                    let id = format!("n{n}-w{wr}-{i}");
                    let m = customer_msg(c.id, &id, &id);
                    let (a, b) =
                        tokio::join!(store.append_message(&m), resend_on.append_message(&m));
                    let (a, b) = (a.expect("append"), b.expect("resend"));
                    assert_eq!(a.message.seq, b.message.seq, "{id}: one seq for both sends");
                    assert!(
                        a.duplicate != b.duplicate,
                        "{id}: exactly one send stored it"
                    );
                    got.push((id, a.message.seq));
                }
                got
            }));
        }
    }
    let mut by_id = HashMap::new();
    for t in tasks {
        for (id, seq) in t.await.expect("writer") {
            assert!(by_id.insert(id, seq).is_none());
        }
    }
    let total = NODES * WRITERS * EACH;
    let stored = nodes[0].messages_after(c.id, 0, 10_000).await.unwrap();
    assert_eq!(stored.len(), total);
    let seqs: Vec<i64> = stored.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, (1..=total as i64).collect::<Vec<_>>());
    for m in &stored {
        let id = m.client_msg_id.clone().expect("client id");
        assert_eq!(by_id.get(&id), Some(&m.seq), "{id}");
        assert_eq!(m.text, id);
    }
    let conv = nodes[1].get_conversation(c.id).await.unwrap().unwrap();
    assert_eq!(conv.last_seq, total as i64);
}

async fn accept_has_one_winner_across_nodes(db: TestDb) {
    let first = db.node().await;
    let (_, w, _) = fixtures(first.as_ref()).await;
    let mut nodes = vec![first.clone()];
    for _ in 0..2 {
        nodes.push(db.node().await);
    }
    let mut agents = Vec::new();
    for i in 0..6 {
        let a = Agent {
            id: Uuid::new_v4(),
            email: format!("a{i}-{}@example.com", Uuid::new_v4().simple()),
            name: format!("A{i}"),
            role: Role::Agent,
            created_at: now_millis(),
        };
        first.insert_agent(&a, "h").await.unwrap();
        agents.push(a);
    }
    for round in 0..5 {
        let c = conversation(&w, None);
        first.insert_conversation(&c).await.unwrap();
        // The customer keeps writing while the agents race.
        let writer = {
            let s = nodes[2].clone();
            tokio::spawn(async move {
                for i in 0..5 {
                    s.append_message(&customer_msg(c.id, &format!("r{round}-{i}"), "hi"))
                        .await
                        .expect("customer append");
                }
            })
        };
        let mut tasks = Vec::new();
        for (i, a) in agents.iter().enumerate() {
            let s = nodes[i % nodes.len()].clone();
            let aid = a.id;
            tasks.push(tokio::spawn(async move {
                s.accept_conversation(c.id, aid, "joined", now_millis())
                    .await
                    .map(|(conv, m)| (aid, conv, m))
            }));
        }
        let mut winners = Vec::new();
        for t in tasks {
            match t.await.expect("task") {
                Ok(w) => winners.push(w),
                Err(StoreError::Conflict(_)) => {}
                Err(e) => panic!("accept failed: {e}"),
            }
        }
        writer.await.expect("writer");
        assert_eq!(winners.len(), 1, "round {round}: exactly one agent wins");
        let (aid, conv, joined) = &winners[0];
        assert_eq!(conv.agent_id, Some(*aid));
        assert_eq!(conv.state, ConversationState::Active);
        assert_eq!(joined.sender, Sender::System);
        let stored = first.get_conversation(c.id).await.unwrap().unwrap();
        assert_eq!(stored.agent_id, Some(*aid));
        let seqs: Vec<i64> = first
            .messages_after(c.id, 0, 100)
            .await
            .unwrap()
            .iter()
            .map(|m| m.seq)
            .collect();
        assert_eq!(
            seqs,
            (1..=6).collect::<Vec<_>>(),
            "one joined message, no gaps"
        );
    }
    assert!(matches!(
        first
            .accept_conversation(Uuid::new_v4(), agents[0].id, "j", now_millis())
            .await,
        Err(StoreError::NotFound)
    ));
}

async fn end_makes_one_transcript_and_refuses_more(db: TestDb) {
    let store = db.node().await;
    let other = db.node().await;
    let (s, w, a) = fixtures(store.as_ref()).await;
    let contact = store
        .upsert_contact(s.id, "sub-e", &ContactFields::default(), now_millis())
        .await
        .unwrap();
    let c = conversation(&w, Some(contact.id));
    store.insert_conversation(&c).await.unwrap();
    store
        .append_message(&customer_msg(c.id, "c1", "question"))
        .await
        .unwrap();
    store
        .accept_conversation(c.id, a.id, "Agent joined", now_millis())
        .await
        .unwrap();
    // Two nodes end it at once: one wins, one gets Conflict.
    let (e1, e2) = tokio::join!(
        store.end_conversation(c.id, "ended", now_millis()),
        other.end_conversation(c.id, "ended", now_millis())
    );
    let ended = match (e1, e2) {
        (Ok(e), Err(StoreError::Conflict(_))) | (Err(StoreError::Conflict(_)), Ok(e)) => e,
        (a, b) => panic!(
            "expected one end and one conflict: {:?} / {:?}",
            a.is_ok(),
            b.is_ok()
        ),
    };
    assert_eq!(ended.before.state, ConversationState::Active);
    assert_eq!(ended.conversation.state, ConversationState::Ended);
    assert_eq!(ended.message.seq, 3);
    let activity = ended.activity.expect("activity for a contact");
    assert_eq!(
        activity
            .transcript
            .iter()
            .map(|t| (t.seq, t.sender.as_str(), t.text.as_str()))
            .collect::<Vec<_>>(),
        vec![
            (1, "customer", "question"),
            (2, "system", "Agent joined"),
            (3, "system", "ended")
        ]
    );
    assert_eq!(
        other.activities_for_contact(contact.id).await.unwrap(),
        vec![activity]
    );
    assert!(matches!(
        store
            .append_message(&customer_msg(c.id, "c2", "late"))
            .await,
        Err(StoreError::Conflict(_))
    ));
    // A resend of a stored message is still answered after the end.
    assert!(
        store
            .append_message(&customer_msg(c.id, "c1", "question"))
            .await
            .unwrap()
            .duplicate
    );
    assert_eq!(
        store
            .list_conversations(Some(ConversationState::Ended), 10)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(store
        .list_conversations(Some(ConversationState::Waiting), 10)
        .await
        .unwrap()
        .is_empty());
}

async fn one_open_conversation_per_contact_across_nodes(db: TestDb) {
    let first = db.node().await;
    let (s, w, _) = fixtures(first.as_ref()).await;
    let contact = first
        .upsert_contact(s.id, "sub-o", &ContactFields::default(), now_millis())
        .await
        .unwrap();
    let mut nodes = vec![first.clone()];
    for _ in 0..3 {
        nodes.push(db.node().await);
    }
    let mut tasks = Vec::new();
    for i in 0..8 {
        let s = nodes[i % nodes.len()].clone();
        let c = conversation(&w, Some(contact.id));
        tasks.push(tokio::spawn(async move {
            s.open_or_insert_conversation(&c).await
        }));
    }
    let mut ids = BTreeSet::new();
    let mut created = 0;
    for t in tasks {
        let (c, new) = t.await.expect("task").expect("open or insert");
        ids.insert(c.id);
        created += new as usize;
    }
    assert_eq!(
        (ids.len(), created),
        (1, 1),
        "browsers racing share one conversation"
    );
    let open = first
        .open_conversation_for_contact(contact.id)
        .await
        .unwrap()
        .unwrap();
    assert!(ids.contains(&open.id));
    let mut ctx = serde_json::Map::new();
    ctx.insert("plan".into(), "gold".into());
    first.set_conversation_context(open.id, &ctx).await.unwrap();
    assert_eq!(
        nodes[1]
            .get_conversation(open.id)
            .await
            .unwrap()
            .unwrap()
            .context,
        ctx
    );
}

async fn sessions_expire_and_renew(db: TestDb) {
    let store = db.node().await;
    let (_, w, _) = fixtures(store.as_ref()).await;
    let c = conversation(&w, None);
    store.insert_conversation(&c).await.unwrap();
    let now = now_millis();
    let s = CustomerSession {
        token_hash: vec![7u8; 32],
        conversation_id: c.id,
        widget_app_id: w.app_id,
        verified_sub: Some("sub".into()),
        jwt_exp: Some(100),
        created_at: now,
        expires_at: now + 60_000,
    };
    store.insert_session(&s).await.unwrap();
    assert_eq!(
        store.find_session(&s.token_hash, now).await.unwrap(),
        Some(s.clone())
    );
    assert_eq!(
        store
            .find_session(&s.token_hash, now + 60_000)
            .await
            .unwrap(),
        None,
        "expired"
    );
    store
        .update_session_jwt_exp(&s.token_hash, Some(200))
        .await
        .unwrap();
    assert_eq!(
        store
            .find_session(&s.token_hash, now)
            .await
            .unwrap()
            .unwrap()
            .jwt_exp,
        Some(200)
    );
    store.delete_session(&s.token_hash).await.unwrap();
    assert_eq!(store.find_session(&s.token_hash, now).await.unwrap(), None);
}

async fn verification_failures_are_counted_and_capped(db: TestDb) {
    let store = db.node().await;
    for i in 0..7 {
        store
            .record_verification_failure(
                &VerificationFailure {
                    at: 1000 + i,
                    reason: if i % 2 == 0 {
                        "expired"
                    } else {
                        "bad_signature"
                    }
                    .into(),
                    detail: format!("d{i}"),
                    kid: None,
                    iss: Some("iss".into()),
                    sub: None,
                    auth_settings_id: Some(Uuid::new_v4()),
                },
                3,
            )
            .await
            .unwrap();
    }
    assert_eq!(
        store.verification_failure_counts().await.unwrap(),
        vec![("bad_signature".to_string(), 3), ("expired".to_string(), 4)]
    );
    let recent = store.recent_verification_failures(10).await.unwrap();
    assert_eq!(
        recent.iter().map(|f| f.detail.as_str()).collect::<Vec<_>>(),
        vec!["d6", "d5", "d4"]
    );
}

/// Opening an already-migrated database (a restart, or a second node) changes nothing. On
/// PostgreSQL several nodes may also start at once on a fresh database (sqlx's migration lock).
async fn migrations_are_idempotent(db: TestDb) {
    let (a, b) = if db.url.starts_with("postgres") {
        tokio::join!(db.node(), db.node())
    } else {
        (db.node().await, db.node().await)
    };
    let (s, _, _) = fixtures(a.as_ref()).await;
    let c = db.node().await;
    assert_eq!(c.get_auth_settings(s.id).await.unwrap(), Some(s));
    b.ping().await.unwrap();
}

async fn conversations_assigned_to_an_agent(db: TestDb) {
    let store = db.node().await;
    let (_, w, a) = fixtures(store.as_ref()).await;
    let other = Agent {
        id: Uuid::new_v4(),
        email: format!("other-{}@example.com", Uuid::new_v4().simple()),
        name: "Other".into(),
        role: Role::Agent,
        created_at: now_millis(),
    };
    store.insert_agent(&other, "h").await.unwrap();
    let mut mine = Vec::new();
    for i in 0..4 {
        let mut c = conversation(&w, None);
        c.created_at += i;
        store.insert_conversation(&c).await.unwrap();
        store
            .accept_conversation(c.id, a.id, "joined", now_millis())
            .await
            .unwrap();
        mine.push(c.id);
    }
    // Not assigned to `a`: waiting, another agent's, and `a`'s ended one.
    store
        .insert_conversation(&conversation(&w, None))
        .await
        .unwrap();
    let theirs = conversation(&w, None);
    store.insert_conversation(&theirs).await.unwrap();
    store
        .accept_conversation(theirs.id, other.id, "joined", now_millis())
        .await
        .unwrap();
    store
        .end_conversation(mine.remove(0), "ended", now_millis())
        .await
        .unwrap();

    let newest_first: Vec<Uuid> = mine.iter().rev().copied().collect();
    let assigned = store.conversations_assigned_to(a.id, 10).await.unwrap();
    assert_eq!(
        assigned.iter().map(|c| c.id).collect::<Vec<_>>(),
        newest_first
    );
    assert!(assigned
        .iter()
        .all(|c| c.agent_id == Some(a.id) && c.state == ConversationState::Active));
    let two = store.conversations_assigned_to(a.id, 2).await.unwrap();
    assert_eq!(
        two.iter().map(|c| c.id).collect::<Vec<_>>(),
        newest_first[..2]
    );
    assert!(store
        .conversations_assigned_to(Uuid::new_v4(), 10)
        .await
        .unwrap()
        .is_empty());
}
