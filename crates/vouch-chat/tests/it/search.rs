//! Agents' search (issue 16 item 5): the storage contract on both back-ends (SQLite FTS5 kept by
//! triggers, PostgreSQL tsvector + GIN), the migration's backfill of existing rows, and the
//! route's rules (agents only, 1–256 characters, at most 50 of each, newest first).

use std::borrow::Cow;
use std::str::FromStr;

use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::ConnectOptions;
use uuid::Uuid;
use vouch_chat::domain::hours::BusinessHours;
use vouch_chat::storage::{
    now_millis, Agent, AuthSettings, Backend, ContactFields, Conversation, ConversationState,
    NewMessage, NewNote, SearchTerms, Sender, Store, Widget,
};
use vouch_chat::Role;

use crate::storage::TestDb;
use crate::support::*;

/// Runs `$name(db)` once per back-end (PostgreSQL when `VOUCH_TEST_DATABASE_URL` is set).
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

on_both!(
    finds_contacts_and_messages_newest_first,
    hostile_queries_are_words_and_results_are_capped,
    the_migration_indexes_rows_that_were_there_before,
    widgets_keep_their_hours,
);

async fn fixtures(store: &dyn Store) -> Widget {
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
        allowed_origins: vec![SITE.into()],
        auth_settings_id: Some(s.id),
        require_auth: false,
        title: "Chat".into(),
        created_at: now,
        business_hours: None,
        offline_message: String::new(),
    };
    store.insert_widget(&w).await.expect("widget");
    w
}

async fn contact(
    store: &dyn Store,
    w: &Widget,
    ext: &str,
    given: &str,
    family: &str,
    email: &str,
) -> Uuid {
    let fields = ContactFields {
        given_name: Some(given.into()),
        family_name: Some(family.into()),
        email: Some(email.into()),
        phone: None,
        preferred_username: None,
    };
    store
        .upsert_contact(
            w.auth_settings_id.expect("settings"),
            ext,
            &fields,
            now_millis(),
        )
        .await
        .expect("contact")
        .id
}

async fn conversation(store: &dyn Store, w: &Widget, contact: Option<Uuid>) -> Uuid {
    let now = now_millis();
    let c = Conversation {
        id: Uuid::new_v4(),
        widget_app_id: w.app_id,
        state: ConversationState::Waiting,
        verified: contact.is_some(),
        contact_id: contact,
        context: serde_json::Map::new(),
        agent_id: None,
        created_at: now,
        updated_at: now,
        ended_at: None,
        last_seq: 0,
        queue_id: vouch_chat::storage::GENERAL_QUEUE_ID,
    };
    store.insert_conversation(&c).await.expect("conversation");
    c.id
}

async fn say(store: &dyn Store, conv: Uuid, sender: Sender, text: &str, sent_at: i64) {
    store
        .append_message(&NewMessage {
            conversation_id: conv,
            sender,
            agent_id: None,
            text: text.into(),
            client_msg_id: (sender != Sender::System).then(|| Uuid::new_v4().simple().to_string()),
            sent_at,
            attachments: Vec::new(),
        })
        .await
        .expect("append");
}

async fn conversations_for(store: &dyn Store, q: &str) -> Vec<Uuid> {
    store
        .search_conversations(&SearchTerms::of(q), 50)
        .await
        .unwrap_or_else(|e| panic!("{q:?}: {e}"))
        .into_iter()
        .map(|h| h.conversation.id)
        .collect()
}

async fn contacts_for(store: &dyn Store, q: &str) -> Vec<Uuid> {
    store
        .search_contacts(&SearchTerms::of(q), 50)
        .await
        .unwrap_or_else(|e| panic!("{q:?}: {e}"))
        .into_iter()
        .map(|c| c.id)
        .collect()
}

async fn finds_contacts_and_messages_newest_first(db: TestDb) {
    let store = db.node().await;
    let s = store.as_ref();
    let w = fixtures(s).await;
    let alex = contact(s, &w, "ext-1", "Alex", "Doe", "alex@example.com").await;
    let kim = contact(s, &w, "kim-2", "Kim", "Park", "kim@example.org").await;
    let (c1, c2, c3) = (
        conversation(s, &w, Some(alex)).await,
        conversation(s, &w, Some(kim)).await,
        conversation(s, &w, None).await,
    );
    let t = now_millis();
    say(s, c1, Sender::Customer, "My parcel never arrived", t).await;
    say(
        s,
        c2,
        Sender::Customer,
        "The PARCEL arrived damaged",
        t + 1000,
    )
    .await;
    say(
        s,
        c2,
        Sender::Agent,
        "Sorry to hear that: a refund is on its way",
        t + 2000,
    )
    .await;
    say(s, c3, Sender::System, "parcel desk joined", t + 3000).await;

    assert_eq!(
        conversations_for(s, "parcel").await,
        vec![c2, c1],
        "newest first, system lines not searched"
    );
    assert_eq!(conversations_for(s, "Parcel  ARRIVED").await, vec![c2, c1]);
    assert_eq!(
        conversations_for(s, "parcel damaged").await,
        vec![c2],
        "every word must match"
    );
    assert_eq!(
        conversations_for(s, "refund").await,
        vec![c2],
        "agent messages too"
    );
    assert!(conversations_for(s, "invoice").await.is_empty());
    let hit = &store
        .search_conversations(&SearchTerms::of("never"), 50)
        .await
        .unwrap()[0];
    assert_eq!(
        (hit.conversation.id, hit.text.as_str()),
        (c1, "My parcel never arrived")
    );

    // Internal notes find their conversation too, by the newest match of either kind.
    let author = Agent {
        id: Uuid::new_v4(),
        email: format!("{}@example.com", Uuid::new_v4().simple()),
        name: "Sam".into(),
        role: Role::Agent,
        created_at: t,
    };
    s.insert_agent(&author, "$argon2id$hash")
        .await
        .expect("agent");
    s.add_note(&NewNote {
        id: Uuid::new_v4(),
        conversation_id: c1,
        author_id: author.id,
        text: "Parcel escalated to the courier".into(),
        created_at: t + 5000,
    })
    .await
    .expect("note");
    assert_eq!(
        conversations_for(s, "courier").await,
        vec![c1],
        "a note's words"
    );
    assert_eq!(
        conversations_for(s, "parcel").await,
        vec![c1, c2],
        "the note is now the newest match"
    );

    assert_eq!(contacts_for(s, "alex").await, vec![alex]);
    assert_eq!(contacts_for(s, "PARK").await, vec![kim]);
    assert_eq!(contacts_for(s, "alex@example.com").await, vec![alex]);
    assert_eq!(contacts_for(s, "kim-2").await, vec![kim], "external id");
    assert!(contacts_for(s, "nobody").await.is_empty());

    // A contact's new email replaces the old one in the index.
    let fields = ContactFields {
        email: Some("alex@new.test".into()),
        ..ContactFields::default()
    };
    s.upsert_contact(
        w.auth_settings_id.unwrap(),
        "ext-1",
        &fields,
        now_millis() + 5,
    )
    .await
    .unwrap();
    assert_eq!(contacts_for(s, "alex@new.test").await, vec![alex]);
    assert!(contacts_for(s, "alex@example.com").await.is_empty());
    assert_eq!(contacts_for(s, "alex").await, vec![alex], "the names stay");
}

async fn hostile_queries_are_words_and_results_are_capped(db: TestDb) {
    let store = db.node().await;
    let s = store.as_ref();
    let w = fixtures(s).await;
    let t = now_millis();
    let mut convs = Vec::new();
    for i in 0..55 {
        let c = conversation(s, &w, None).await;
        say(
            s,
            c,
            Sender::Customer,
            &format!("bulk message number {i}"),
            t + i,
        )
        .await;
        convs.push(c);
    }
    let found = conversations_for(s, "bulk").await;
    assert_eq!(found.len(), 50, "at most 50");
    let newest: Vec<Uuid> = convs.iter().rev().take(50).copied().collect();
    assert_eq!(found, newest, "the 50 newest, newest first");
    for q in [
        "\"",
        "bulk\"",
        "AND OR NOT",
        "bulk*",
        "NEAR(bulk",
        "text:bulk",
        "'; DROP TABLE messages; --",
        "bulk -message",
        "(bulk)",
        "^bulk",
        "bulk & !message | x",
        "{text}: bulk",
    ] {
        // Any text is words: never an error, never an operator.
        conversations_for(s, q).await;
        contacts_for(s, q).await;
    }
    assert_eq!(
        conversations_for(s, "bulk OR nothing").await,
        Vec::<Uuid>::new(),
        "OR is a word here"
    );
    assert_eq!(conversations_for(s, "number 7").await, vec![convs[7]]);
    assert_eq!(
        conversations_for(s, "bulk").await.len(),
        50,
        "the table is still there"
    );
}

/// The database as it was before this migration, with a contact and a message in it; the
/// migration must index them.
async fn the_migration_indexes_rows_that_were_there_before(db: TestDb) {
    let (s, w, c, v) = (
        Uuid::new_v4(),
        Uuid::new_v4(),
        Uuid::new_v4(),
        Uuid::new_v4(),
    );
    let rows = [
        format!("INSERT INTO auth_settings (id, name, public_key_url, function_name, issuer, leeway_secs, key_count, created_at) VALUES ('{s}', 'S', 'http://127.0.0.1:9/k', 'auth.get', NULL, 60, 1, 1)"),
        format!("INSERT INTO widgets (app_id, name, allowed_origins, auth_settings_id, require_auth, title, created_at) VALUES ('{w}', 'W', '[]', '{s}', false, 'W', 1)"),
        format!("INSERT INTO contacts (id, auth_settings_id, external_id, given_name, family_name, email, phone, preferred_username, created_at, updated_at) VALUES ('{c}', '{s}', 'old-7', 'Olga', 'Oldfield', 'olga@old.test', NULL, NULL, 1, 1)"),
        format!("INSERT INTO conversations (id, widget_app_id, state, verified, contact_id, context, agent_id, created_at, updated_at, ended_at, last_seq) VALUES ('{v}', '{w}', 'waiting', true, '{c}', '{{}}', NULL, 1, 1, NULL, 2)"),
        format!("INSERT INTO messages (conversation_id, seq, sender, agent_id, text, client_msg_id, sent_at) VALUES ('{v}', 1, 'customer', NULL, 'an archived complaint', 'm1', 1)"),
        format!("INSERT INTO messages (conversation_id, seq, sender, agent_id, text, client_msg_id, sent_at) VALUES ('{v}', 2, 'system', NULL, 'archived system line', NULL, 2)"),
    ];
    let before = |m: sqlx::migrate::Migrator| sqlx::migrate::Migrator {
        migrations: Cow::Owned(
            m.migrations
                .iter()
                .filter(|x| x.version < 20261203130000)
                .cloned()
                .collect(),
        ),
        ..m
    };
    match Backend::of_url(&db.url).expect("backend") {
        Backend::Sqlite => {
            let mut conn = sqlx::sqlite::SqliteConnectOptions::from_str(&db.url)
                .expect("url")
                .create_if_missing(true)
                .connect()
                .await
                .expect("connect");
            before(sqlx::migrate!("./migrations/sqlite"))
                .run(&mut conn)
                .await
                .expect("old migrations");
            for r in &rows {
                sqlx::query(r)
                    .execute(&mut conn)
                    .await
                    .unwrap_or_else(|e| panic!("{r}: {e}"));
            }
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&db.url).await.expect("connect");
            before(sqlx::migrate!("./migrations/postgres"))
                .run(&pool)
                .await
                .expect("old migrations");
            for r in &rows {
                sqlx::query(r)
                    .execute(&pool)
                    .await
                    .unwrap_or_else(|e| panic!("{r}: {e}"));
            }
            pool.close().await;
        }
    }
    let store = db.node().await;
    let s = store.as_ref();
    assert_eq!(
        conversations_for(s, "archived").await,
        vec![v],
        "the customer message, not the system line"
    );
    let hit = &s
        .search_conversations(&SearchTerms::of("archived"), 50)
        .await
        .unwrap()[0];
    assert_eq!(hit.text, "an archived complaint");
    assert_eq!(contacts_for(s, "Oldfield").await, vec![c]);
    assert_eq!(contacts_for(s, "olga@old.test").await, vec![c]);
    // The widget from before has no hours and no offline message.
    let widget = s.get_widget(w).await.unwrap().expect("widget");
    assert_eq!(
        (widget.business_hours, widget.offline_message.as_str()),
        (None, "")
    );
}

async fn widgets_keep_their_hours(db: TestDb) {
    let store = db.node().await;
    let mut w = fixtures(store.as_ref()).await;
    w.business_hours = BusinessHours::from_json(&json!({"timezone": "Asia/Tokyo", "days": {"fri": [["08:30", "12:00"], ["13:00", "18:00"]]}})).unwrap();
    w.offline_message = "We are closed — leave a message.".into();
    store.update_widget(&w).await.unwrap();
    assert_eq!(store.get_widget(w.app_id).await.unwrap(), Some(w.clone()));
    w.business_hours = None;
    store.update_widget(&w).await.unwrap();
    assert_eq!(store.list_widgets().await.unwrap(), vec![w]);
}

// --- the route -------------------------------------------------------------------------------

async fn search(app: &TestApp, token: &str, q: &str) -> (StatusCode, Value) {
    let r = app
        .http
        .get(app.agent_url("/api/v1/agent/search"))
        .query(&[("q", q)])
        .bearer_auth(token)
        .send()
        .await
        .expect("search");
    let s = r.status();
    (s, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn agents_search_contacts_and_conversations() {
    let app = TestApp::start().await;
    let s = app.session("acct-9931").await;
    let conv = s["conversation_id"].as_str().expect("id");
    let contact_id = s["contact"]["id"].as_str().expect("contact");
    let mut ws = app
        .customer_ws(s["session_token"].as_str().expect("token"))
        .await;
    ws.say("m-1", "My espresso machine leaks water").await;

    let (st, v) = search(&app, &app.agent_token, "espresso leaks").await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let convs = v["conversations"].as_array().expect("conversations");
    assert_eq!(convs.len(), 1, "{v}");
    assert_eq!(convs[0]["id"], conv);
    assert_eq!(convs[0]["state"], "waiting");
    assert_eq!(convs[0]["snippet"], "My espresso machine leaks water");
    assert_eq!(convs[0]["contact"]["id"], contact_id);
    assert_eq!(v["contacts"], json!([]));

    for q in ["Alex", "doe", "alex@example.com", "acct-9931"] {
        let (st, v) = search(&app, &app.agent_token, q).await;
        assert_eq!(st, StatusCode::OK);
        let ids: Vec<&Value> = v["contacts"]
            .as_array()
            .expect("contacts")
            .iter()
            .map(|c| &c["id"])
            .collect();
        assert_eq!(ids, vec![&json!(contact_id)], "{q}: {v}");
        assert_eq!(v["contacts"][0]["external_id"], "acct-9931");
    }
}

#[tokio::test]
async fn search_refuses_bad_queries_and_anyone_but_agents() {
    let app = TestApp::start().await;
    let long = "x".repeat(257);
    let huge = "word ".repeat(2048);
    for q in ["", "   ", long.as_str(), huge.as_str()] {
        let (st, v) = search(&app, &app.agent_token, q).await;
        assert_eq!(
            st,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{} chars: {v}",
            q.len()
        );
        assert_eq!(
            (v["error"].as_str(), v["field"].as_str()),
            (Some("validation_failed"), Some("q"))
        );
    }
    let r = app
        .http
        .get(app.agent_url("/api/v1/agent/search"))
        .bearer_auth(&app.agent_token)
        .send()
        .await
        .expect("no q");
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        search(&app, &"x".repeat(256), "ok").await.0,
        StatusCode::UNAUTHORIZED
    );

    // A customer's session token is no credential here, in any place it could be put.
    let s = app.session("cust-1").await;
    let token = s["session_token"].as_str().expect("token");
    assert_eq!(
        search(&app, token, "alex").await.0,
        StatusCode::UNAUTHORIZED
    );
    let r = app
        .http
        .get(app.agent_url(&format!(
            "/api/v1/agent/search?q=alex&session_token={token}"
        )))
        .send()
        .await
        .expect("query token");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}
