//! Business hours, the offline widget config, offline notices and transcript email (issue 16
//! item 4). Email goes to a loopback SMTP receiver (`vouch_testkit::SmtpReceiver`).

use reqwest::StatusCode;
use serde_json::{json, Value};
use uuid::Uuid;
use vouch_chat::storage::{EmailKind, EmailStatus, OutboxEmail};
use vouch_testkit::SmtpReceiver;

use crate::support::*;

const NOTIFY: &str = "support-lead@shop.test";
const ALWAYS_OPEN: &str = r#"{"timezone": "Europe/Berlin", "days": {"mon": [["00:00","24:00"]], "tue": [["00:00","24:00"]], "wed": [["00:00","24:00"]], "thu": [["00:00","24:00"]], "fri": [["00:00","24:00"]], "sat": [["00:00","24:00"]], "sun": [["00:00","24:00"]]}}"#;
const NEVER_OPEN: &str = r#"{"timezone": "America/New_York", "days": {}}"#;

fn hours(s: &str) -> Value {
    serde_json::from_str(s).expect("hours")
}

/// `PUT /api/v1/admin/widgets/{app_id}` of the anonymous widget with these offline fields.
async fn put_widget(
    app: &TestApp,
    app_id: &str,
    require_auth: bool,
    extra: Value,
) -> (StatusCode, Value) {
    let mut body = json!({
        "name": "Widget", "allowed_origins": [SITE], "auth_settings_id": app.settings_id,
        "require_auth": require_auth,
    });
    for (k, v) in extra.as_object().expect("object") {
        body[k] = v.clone();
    }
    let r = app
        .http
        .put(app.agent_url(&format!("/api/v1/admin/widgets/{app_id}")))
        .bearer_auth(&app.admin_token)
        .json(&body)
        .send()
        .await
        .expect("put widget");
    let s = r.status();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn config(app: &TestApp, app_id: &str) -> Value {
    let r = app
        .http
        .get(app.url(&format!("/api/v1/widgets/{app_id}/config")))
        .send()
        .await
        .expect("config");
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.expect("json")
}

async fn outbox(app: &TestApp, conversation: &str) -> Vec<OutboxEmail> {
    app.service
        .chat()
        .emails_of_conversation(Uuid::parse_str(conversation).expect("id"))
        .await
        .expect("outbox")
}

/// Waits until the conversation's outbox rows satisfy `f` (panics after `WAIT`).
async fn outbox_until(
    app: &TestApp,
    conversation: &str,
    what: &str,
    f: impl Fn(&[OutboxEmail]) -> bool,
) -> Vec<OutboxEmail> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let rows = outbox(app, conversation).await;
        if f(&rows) {
            return rows;
        }
        assert!(tokio::time::Instant::now() < deadline, "{what}: {rows:?}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

fn conversation_of(session: &Value) -> String {
    session["conversation_id"]
        .as_str()
        .expect("conversation_id")
        .to_string()
}

#[tokio::test]
async fn business_hours_are_checked_on_save_and_nothing_is_half_stored() {
    let app = TestApp::start().await;
    let refused = [
        (json!("9 to 5"), "object or null"),
        (
            json!({"timezone": "Mars/Olympus_Mons", "days": {}}),
            "IANA time zone",
        ),
        (
            json!({"timezone": "Europe/Berlin", "days": {"mon": [["9:00", "17:00"]]}}),
            "is not a time",
        ),
        (
            json!({"timezone": "Europe/Berlin", "days": {"mon": [["09:00", "25:00"]]}}),
            "is not a time",
        ),
        (
            json!({"timezone": "Europe/Berlin", "days": {"tue": [["17:00", "09:00"]]}}),
            "ends before it starts",
        ),
        (
            json!({"timezone": "Europe/Berlin", "days": {"wed": [["09:00", "13:00"], ["12:00", "17:00"]]}}),
            "overlap",
        ),
        (
            json!({"timezone": "Europe/Berlin", "days": {"someday": []}}),
            "unknown day",
        ),
    ];
    for (bad, words) in refused {
        let (s, v) = app
            .post_as(
                &app.admin_token,
                "/api/v1/admin/widgets",
                json!({"name": "Hours", "allowed_origins": [SITE], "business_hours": bad}),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {v}");
        assert_eq!(v["error"], "validation_failed");
        assert_eq!(v["field"], "business_hours", "{v}");
        assert!(
            v["message"].as_str().expect("message").contains(words),
            "{bad}: {v}"
        );
        // The same on update: the widget keeps what it had.
        let (s, v) = put_widget(
            &app,
            &app.anon_app_id,
            false,
            json!({"business_hours": bad, "title": "Changed"}),
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    }
    let (s, v) = app
        .post_as(
            &app.admin_token,
            "/api/v1/admin/widgets",
            json!({"name": "Hours", "allowed_origins": [SITE], "offline_message": 5}),
        )
        .await;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("offline_message")),
        "{v}"
    );
    let (_, list) = app.get_as(&app.admin_token, "/api/v1/admin/widgets").await;
    let widgets = list["widgets"].as_array().expect("widgets");
    assert_eq!(widgets.len(), 2, "no refused widget was stored: {list}");
    assert!(
        widgets
            .iter()
            .all(|w| w["title"] != "Changed" && w["business_hours"].is_null()),
        "{list}"
    );

    // A good one is stored as given (ranges sorted) and read back; an update without the fields
    // keeps them.
    let good = json!({"timezone": "Europe/Berlin", "days": {"mon": [["13:00", "17:00"], ["09:00", "12:00"]], "sat": [["10:00", "24:00"]]}});
    let (s, w) = app
        .post_as(
            &app.admin_token,
            "/api/v1/admin/widgets",
            json!({"name": "Hours", "allowed_origins": [SITE], "business_hours": good, "offline_message": "Back at 9."}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{w}");
    let want = json!({"timezone": "Europe/Berlin", "days": {"mon": [["09:00", "12:00"], ["13:00", "17:00"]], "sat": [["10:00", "24:00"]]}});
    assert_eq!(w["business_hours"], want);
    assert_eq!(w["offline_message"], "Back at 9.");
    let app_id = w["app_id"].as_str().expect("app_id");
    let (s, w) = put_widget(&app, app_id, false, json!({"title": "Renamed"})).await;
    assert_eq!(s, StatusCode::OK, "{w}");
    assert_eq!(
        (&w["business_hours"], &w["offline_message"]),
        (&want, &json!("Back at 9."))
    );
    let (s, w) = put_widget(
        &app,
        app_id,
        false,
        json!({"business_hours": null, "offline_message": null}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{w}");
    assert_eq!(
        (&w["business_hours"], &w["offline_message"]),
        (&Value::Null, &json!(""))
    );
}

#[tokio::test]
async fn config_is_online_only_inside_hours_with_someone_available() {
    let app = TestApp::start().await;
    // Signed in is not enough: a sign-in starts `offline`.
    let c = config(&app, &app.anon_app_id).await;
    assert_eq!(c["online"], json!(false), "{c}");
    // No hours (always inside them) and a member of the default queue (General) available.
    set_presence(&app, "available").await;
    let c = config(&app, &app.anon_app_id).await;
    assert_eq!(
        (&c["online"], &c["offline_message"]),
        (&json!(true), &Value::Null),
        "{c}"
    );

    let (s, v) = put_widget(
        &app,
        &app.anon_app_id,
        false,
        json!({"business_hours": hours(NEVER_OPEN), "offline_message": "We answer tomorrow."}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let c = config(&app, &app.anon_app_id).await;
    assert_eq!(
        (&c["online"], &c["offline_message"]),
        (&json!(false), &json!("We answer tomorrow.")),
        "{c}"
    );

    put_widget(
        &app,
        &app.anon_app_id,
        false,
        json!({"business_hours": hours(ALWAYS_OPEN)}),
    )
    .await;
    assert_eq!(config(&app, &app.anon_app_id).await["online"], true);

    // Inside hours, but nobody available (the agent is away): offline.
    set_presence(&app, "away").await;
    let c = config(&app, &app.anon_app_id).await;
    assert_eq!(c["online"], false, "{c}");
}

#[tokio::test]
async fn a_conversation_started_offline_sends_one_notice() {
    let smtp = SmtpReceiver::start().await;
    let url = smtp.url();
    let app = TestApp::start_with(|c| {
        c.mail.smtp_url = Some(url);
        c.mail.notify_email = Some(NOTIFY.into());
    })
    .await;
    put_widget(
        &app,
        &app.app_id,
        true,
        json!({"business_hours": hours(NEVER_OPEN)}),
    )
    .await;

    // A verified customer opens the widget twice (two browsers): one conversation, one notice.
    let first = app.session("offline-1").await;
    let again = app.session("offline-1").await;
    let conv = conversation_of(&first);
    assert_eq!(conversation_of(&again), conv);
    let got = smtp.wait_for(1).await;
    let rows = outbox_until(&app, &conv, "notice sent", |r| {
        r.iter().any(|e| e.status == EmailStatus::Sent)
    })
    .await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].kind, EmailKind::OfflineNotice);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].to, vec![NOTIFY.to_string()]);
    assert!(
        got[0].data.contains(&conv),
        "the notice names the conversation"
    );
    assert!(got[0].data.contains("offline"), "{}", got[0].data);
    assert!(
        got[0].data.contains("offline-1"),
        "the notice names the contact id"
    );

    // The customer can still write while offline (the conversation waits).
    let mut ws = app
        .customer_ws(first["session_token"].as_str().expect("token"))
        .await;
    assert_eq!(ws.say("m-1", "are you there?").await, 1);

    // Inside hours with an agent available: no notice for a new conversation.
    set_presence(&app, "available").await;
    put_widget(
        &app,
        &app.app_id,
        true,
        json!({"business_hours": hours(ALWAYS_OPEN)}),
    )
    .await;
    let online = app.session("online-1").await;
    assert!(outbox(&app, &conversation_of(&online)).await.is_empty());
    assert_eq!(smtp.received().len(), 1, "still one email");
}

#[tokio::test]
async fn a_notice_waits_out_an_smtp_outage_and_is_sent_once() {
    // A port where nothing listens yet: the relay is down.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let app = TestApp::start_with(|c| {
        c.mail.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
        c.mail.notify_email = Some(NOTIFY.into());
    })
    .await;
    put_widget(
        &app,
        &app.anon_app_id,
        false,
        json!({"business_hours": hours(NEVER_OPEN)}),
    )
    .await;
    let conv = conversation_of(&app.anon_session().await);
    let rows = outbox_until(&app, &conv, "a refused attempt", |r| {
        r.len() == 1
            && r[0].attempts >= 1
            && r[0].status == EmailStatus::Pending
            && r[0].last_error.is_some()
    })
    .await;
    assert_eq!(rows[0].kind, EmailKind::OfflineNotice);

    // The relay comes back: the retry delivers it, once.
    let smtp = SmtpReceiver::start_on(port)
        .await
        .expect("the relay's port again");
    let got = smtp.wait_for(1).await;
    outbox_until(&app, &conv, "sent", |r| r[0].status == EmailStatus::Sent).await;
    assert_eq!(got[0].to, vec![NOTIFY.to_string()]);
    assert_eq!(smtp.received().len(), 1);
}

#[tokio::test]
async fn a_transcript_goes_only_to_the_verified_contacts_email() {
    let smtp = SmtpReceiver::start().await;
    let url = smtp.url();
    let app = TestApp::start_with(|c| c.mail.smtp_url = Some(url)).await;
    let s = app.session("transcript-1").await;
    let token = s["session_token"].as_str().expect("token");
    let mut ws = app.customer_ws(token).await;
    ws.say("m-1", "Where is parcel 4711?").await;

    // The body names another address: it is never read.
    let r = app
        .http
        .post(app.url(&format!("/api/v1/chat/transcript-email?session_token={token}")))
        .header("Origin", SITE)
        .json(&json!({"email": "mallory@evil.test", "to": "mallory@evil.test", "recipient": "mallory@evil.test"}))
        .send()
        .await
        .expect("transcript");
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    assert_eq!(
        r.headers()
            .get("access-control-allow-origin")
            .and_then(|v| v.to_str().ok()),
        Some(SITE)
    );
    let got = smtp.wait_for(1).await;
    assert_eq!(
        got[0].to,
        vec!["alex@example.com".to_string()],
        "the contact's own email from the token"
    );
    assert!(
        got[0].data.contains("Where is parcel 4711?"),
        "{}",
        got[0].data
    );
    let conv = conversation_of(&s);
    outbox_until(&app, &conv, "sent", |r| {
        r.iter().all(|e| e.status == EmailStatus::Sent)
    })
    .await;
    assert!(smtp
        .received()
        .iter()
        .all(|m| m.to.iter().all(|t| !t.contains("evil"))));

    // Not verified: refused. No or a bad session: 401. Nothing queued for either.
    let anon = app.anon_session().await;
    let anon_token = anon["session_token"].as_str().expect("token");
    let post = |q: String| {
        app.http
            .post(app.url(&format!("/api/v1/chat/transcript-email{q}")))
            .send()
    };
    let r = post(format!("?session_token={anon_token}"))
        .await
        .expect("anon");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(outbox(&app, &conversation_of(&anon)).await.is_empty());
    for q in [
        String::new(),
        "?session_token=vcs_nope".into(),
        format!("?session_token={}", app.agent_token),
    ] {
        let r = post(q.clone()).await.expect("bad");
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{q}");
    }
    assert_eq!(smtp.received().len(), 1);
}

#[tokio::test]
async fn without_smtp_no_email_is_promised() {
    let app = TestApp::start().await;
    let s = app.session("no-mail").await;
    let token = s["session_token"].as_str().expect("token");
    let r = app
        .http
        .post(app.url(&format!(
            "/api/v1/chat/transcript-email?session_token={token}"
        )))
        .send()
        .await
        .expect("transcript");
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert!(outbox(&app, &conversation_of(&s)).await.is_empty());
}

#[tokio::test]
async fn transcripts_per_conversation_are_capped() {
    let smtp = SmtpReceiver::start().await;
    let url = smtp.url();
    let app = TestApp::start_with(|c| c.mail.smtp_url = Some(url)).await;
    let s = app.session("transcript-cap").await;
    let token = s["session_token"].as_str().expect("token");
    let post = || {
        app.http
            .post(app.url(&format!(
                "/api/v1/chat/transcript-email?session_token={token}"
            )))
            .send()
    };
    let max = vouch_chat::domain::offline::MAX_TRANSCRIPTS;
    for n in 1..=max {
        assert_eq!(post().await.expect("post").status(), StatusCode::ACCEPTED);
        smtp.wait_for(n).await;
        let conv = conversation_of(&s);
        outbox_until(&app, &conv, "sent", |r| {
            r.iter().all(|e| e.status == EmailStatus::Sent)
        })
        .await;
    }
    let r = post().await.expect("post");
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(outbox(&app, &conversation_of(&s)).await.len(), max);
    assert_eq!(smtp.received().len(), max);
}

#[tokio::test]
async fn email_flags_are_checked_at_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = [
        (
            None,
            Some("lead@shop.test"),
            "--notify-email needs --smtp-url",
        ),
        (
            Some("http://127.0.0.1:25"),
            None,
            "--smtp-url must be smtp://",
        ),
        (
            Some("smtp://127.0.0.1:25"),
            Some("not an address"),
            "--notify-email",
        ),
    ];
    for (url, notify, words) in cases {
        let mut c = vouch_chat::ChatConfig::with_data_dir(dir.path());
        c.mail.smtp_url = url.map(str::to_string);
        c.mail.notify_email = notify.map(str::to_string);
        let err = match vouch_chat::ChatService::open(&c).await {
            Ok(_) => panic!("{url:?} {notify:?} started"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains(words), "{err}");
    }
}

/// The test agent's presence.
async fn set_presence(app: &TestApp, status: &str) {
    let r = app
        .http
        .put(app.agent_url("/api/v1/agent/presence"))
        .bearer_auth(&app.agent_token)
        .json(&json!({ "status": status }))
        .send()
        .await
        .expect("presence");
    assert_eq!(r.status(), StatusCode::OK);
}
