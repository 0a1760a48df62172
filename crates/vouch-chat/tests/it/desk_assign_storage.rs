//! The desk's storage contract on both back-ends (SQLite; PostgreSQL when
//! `VOUCH_TEST_DATABASE_URL` names a server): General and its members, assignment across store
//! "nodes" (separate pools on one database), transfer refusals that store nothing, deactivation.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use uuid::Uuid;
use vouch_chat::storage::{
    now_millis, Agent, AgentPatch, ConversationState, Presence, Role, Store, TransferRefusal,
    TransferRequest, TransferTarget, GENERAL_QUEUE_ID,
};
use vouch_testkit::chat::{conversation_row, widget_row};

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
    general_is_there_and_new_agents_work_it,
    assignment_across_nodes_never_doubles_or_overfills,
    refused_transfers_store_nothing,
    deactivation_ends_tokens_and_sign_in,
);

async fn agent(store: &dyn Store, name: &str) -> Agent {
    let a = Agent {
        id: Uuid::new_v4(),
        email: format!("{name}-{}@example.com", Uuid::new_v4().simple()),
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

async fn general_is_there_and_new_agents_work_it(db: TestDb) {
    let store = db.node().await;
    let queues = store.list_queues().await.unwrap();
    assert_eq!(queues.len(), 1);
    assert_eq!(
        (queues[0].id, queues[0].name.as_str(), queues[0].default),
        (GENERAL_QUEUE_ID, "General", true)
    );
    let a = agent(store.as_ref(), "a").await;
    let g = store
        .get_queue(GENERAL_QUEUE_ID)
        .await
        .unwrap()
        .expect("general");
    assert_eq!(g.agent_ids, vec![a.id]);
    let d = store.desk_agent(a.id).await.unwrap().expect("desk agent");
    assert_eq!(
        (d.capacity, d.active, d.status, d.active_count),
        (3, true, Presence::Offline, 0)
    );
    // Membership replaced, not merged; an unknown queue is NotFound.
    store
        .set_queue_members(GENERAL_QUEUE_ID, &[])
        .await
        .unwrap();
    assert!(store
        .get_queue(GENERAL_QUEUE_ID)
        .await
        .unwrap()
        .unwrap()
        .agent_ids
        .is_empty());
    assert!(store
        .set_queue_members(Uuid::new_v4(), &[a.id])
        .await
        .is_err());
    // Migrations are idempotent: a second open finds one General still.
    let again = db.node().await;
    assert_eq!(again.list_queues().await.unwrap().len(), 1);
}

async fn assignment_across_nodes_never_doubles_or_overfills(db: TestDb) {
    const AGENTS: usize = 4;
    const CAPACITY: i64 = 3;
    const WAITING: usize = 40;
    let first = db.node().await;
    let w = widget_row("http://shop.test");
    first.insert_widget(&w).await.unwrap();
    let mut agents = Vec::new();
    for i in 0..AGENTS {
        let a = agent(first.as_ref(), &format!("r{i}")).await;
        first
            .update_agent(
                a.id,
                &AgentPatch {
                    capacity: Some(CAPACITY),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        first.set_presence(a.id, Presence::Available).await.unwrap();
        agents.push(a.id);
    }
    for _ in 0..WAITING {
        first
            .insert_conversation(&conversation_row(w.app_id))
            .await
            .unwrap();
    }
    let nodes: Vec<Arc<dyn Store>> = vec![first.clone(), db.node().await, db.node().await];
    let mut tasks = Vec::new();
    for i in 0..6 {
        let s = nodes[i % nodes.len()].clone();
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            // Bounded: at most every conversation once per task.
            for _ in 0..WAITING {
                match s.assign_next(now_millis()).await.expect("assign") {
                    Some(a) => got.push((a.conversation.id, a.agent.id, a.message.seq)),
                    None => break,
                }
            }
            got
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let total = AGENTS * CAPACITY as usize;
    assert_eq!(all.len(), total, "every seat filled once");
    let ids: HashSet<Uuid> = all.iter().map(|x| x.0).collect();
    assert_eq!(ids.len(), total, "no conversation assigned twice");
    let mut per: HashMap<Uuid, i64> = HashMap::new();
    for (id, agent, seq) in &all {
        *per.entry(*agent).or_default() += 1;
        assert_eq!(*seq, 1, "the joined message is the conversation's first");
        let c = first.get_conversation(*id).await.unwrap().unwrap();
        assert_eq!(
            (c.state, c.agent_id),
            (ConversationState::Active, Some(*agent))
        );
    }
    assert!(per.values().all(|n| *n == CAPACITY), "{per:?}");
    assert!(!first.anything_to_assign().await.unwrap());
    assert_eq!(
        first
            .waiting_in_queue(GENERAL_QUEUE_ID, 1000)
            .await
            .unwrap()
            .len(),
        WAITING - total
    );
    for a in &agents {
        assert_eq!(
            first.desk_agent(*a).await.unwrap().unwrap().active_count,
            CAPACITY
        );
    }
}

async fn refused_transfers_store_nothing(db: TestDb) {
    let store = db.node().await;
    let w = widget_row("http://shop.test");
    store.insert_widget(&w).await.unwrap();
    let a = agent(store.as_ref(), "owner").await;
    let c = conversation_row(w.app_id);
    store.insert_conversation(&c).await.unwrap();
    store
        .accept_conversation(c.id, a.id, "joined", now_millis())
        .await
        .unwrap();
    let before = store.get_conversation(c.id).await.unwrap().unwrap();
    let t = |target| TransferRequest {
        conversation_id: c.id,
        target,
        by: a.id,
        note: Some("n".into()),
        now: now_millis(),
    };
    for (target, want) in [
        (
            TransferTarget::Agent(Uuid::new_v4()),
            TransferRefusal::UnknownAgent,
        ),
        (TransferTarget::Agent(a.id), TransferRefusal::SameAgent),
        (
            TransferTarget::Queue(Uuid::new_v4()),
            TransferRefusal::UnknownQueue,
        ),
    ] {
        let got = store.transfer(&t(target)).await.unwrap();
        assert_eq!(got.err(), Some(want));
        assert_eq!(store.get_conversation(c.id).await.unwrap().unwrap(), before);
    }
    let done = store
        .transfer(&t(TransferTarget::Queue(GENERAL_QUEUE_ID)))
        .await
        .unwrap()
        .expect("moved");
    assert_eq!(
        (done.conversation.state, done.conversation.agent_id),
        (ConversationState::Waiting, None)
    );
    assert_eq!(done.message.seq, before.last_seq + 1);
    store
        .end_conversation(c.id, "ended", now_millis())
        .await
        .unwrap();
    let got = store
        .transfer(&t(TransferTarget::Agent(a.id)))
        .await
        .unwrap();
    assert_eq!(got.err(), Some(TransferRefusal::Ended));
}

async fn deactivation_ends_tokens_and_sign_in(db: TestDb) {
    let store = db.node().await;
    let a = agent(store.as_ref(), "leaver").await;
    let now = now_millis();
    store
        .insert_agent_token(&[7u8; 32], a.id, now + 60_000)
        .await
        .unwrap();
    store.set_presence(a.id, Presence::Available).await.unwrap();
    assert!(store
        .find_agent_by_token(&[7u8; 32], now)
        .await
        .unwrap()
        .is_some());
    store
        .update_agent(
            a.id,
            &AgentPatch {
                active: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        store.find_agent_by_token(&[7u8; 32], now).await.unwrap(),
        None
    );
    assert!(store.find_agent_by_email(&a.email).await.unwrap().is_none());
    let d = store.desk_agent(a.id).await.unwrap().unwrap();
    assert_eq!((d.active, d.status), (false, Presence::Offline));
    // A deactivated agent is never assigned.
    assert!(!store.anything_to_assign().await.unwrap());
    assert!(store
        .update_agent(
            Uuid::new_v4(),
            &AgentPatch {
                name: Some("x".into()),
                ..Default::default()
            }
        )
        .await
        .is_err());
}
