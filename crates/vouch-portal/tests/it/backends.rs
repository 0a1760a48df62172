//! The portal's storage through its real routes, on SQLite and — when `VOUCH_TEST_DATABASE_URL`
//! names a PostgreSQL server (`scripts/test` sets it) — on a scratch PostgreSQL database made
//! for the test and dropped after it. On PostgreSQL two portal instances share the database:
//! a session started on one is valid on the other and ends on both.

use std::sync::Arc;

use reqwest::StatusCode;
use tokio::sync::oneshot;
use vouch_portal::{Clock, ManualClock, NewUser, Portal, PortalError, SystemClock};
use vouch_testkit::ScratchDatabase;

use crate::common::{TestApp, PASSWORD};

fn new_user(email: &str) -> NewUser {
    crate::common::new_user(email, PASSWORD)
}

/// Users, uniqueness, sign-in, tokens, sign-out and a restart, on the database at `url`.
async fn users_sessions_and_restart(url: Option<String>) {
    let app = TestApp::start_with(|c| c.database_url = url.clone()).await;
    let user = app.add_user("Mixed.Case@Example.com").await;
    assert_eq!(user.email, "mixed.case@example.com");
    match vouch_portal::add_user(&app.config, new_user("MIXED.case@example.com")).await {
        Err(PortalError::DuplicateEmail(_)) => {}
        other => panic!("duplicate email accepted: {other:?}"),
    }
    let mut same_contact = new_user("other@example.com");
    same_contact.contact_id = Some(user.contact_id);
    match vouch_portal::add_user(&app.config, same_contact).await {
        Err(PortalError::DuplicateContactId(_)) => {}
        other => panic!("duplicate contact id accepted: {other:?}"),
    }
    let found = vouch_portal::find_user_by_email(&app.config, "MIXED.CASE@example.com")
        .await
        .unwrap()
        .expect("found case-insensitively");
    assert_eq!(found.id, user.id);

    let b = app.signed_in("mixed.case@example.com").await;
    let t = b.token().await;
    assert_eq!(t.status(), StatusCode::OK);
    let jwt = t.text().await.unwrap();
    let claims = crate::common::verify_with(&app, "/publickey", &jwt)
        .await
        .expect("token verifies");
    assert_eq!(claims.claims.sub, user.contact_id.to_string());
    assert_eq!(
        app.browser_from(2)
            .login("mixed.case@example.com", "wrong")
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );

    // A second portal on the same configuration (same database and keys), as after a restart
    // or beside the first behind a load balancer: the session and the user are there.
    let (second, _stop) = serve_again(&app).await;
    let b2 = crate::common::Browser {
        http: b.http.clone(),
        jar: b.jar.clone(),
        base: second.clone(),
    };
    // The cookie jar is per host: carry the session cookie over to the second address.
    let cookies: Vec<String> = {
        use reqwest::cookie::CookieStore;
        let h = b.jar.cookies(&app.base.parse().unwrap()).expect("cookies");
        h.to_str()
            .unwrap()
            .split("; ")
            .map(str::to_string)
            .collect()
    };
    for c in &cookies {
        b.jar.add_cookie_str(c, &second.parse().unwrap());
    }
    assert_eq!(
        b2.token().await.status(),
        StatusCode::OK,
        "session valid on the second portal"
    );
    assert_eq!(b2.logout().await.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        b.token().await.status(),
        StatusCode::UNAUTHORIZED,
        "ended on both"
    );
}

async fn serve_again(app: &TestApp) -> (String, oneshot::Sender<()>) {
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(SystemClock.now()));
    let portal = Portal::open_with_clock(&app.config, clock).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(portal.serve(listener, async move {
        let _ = rx.await;
    }));
    (base, tx)
}

#[tokio::test]
async fn sqlite() {
    users_sessions_and_restart(None).await;
}

#[tokio::test]
async fn postgres() {
    if let Some(db) = ScratchDatabase::from_env("PostgreSQL variant").await {
        users_sessions_and_restart(Some(db.url.clone())).await;
    }
}

#[tokio::test]
async fn unknown_database_scheme_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = vouch_portal::PortalConfig::new(dir.path());
    config.database_url = Some("mysql://x@127.0.0.1/db".into());
    match Portal::open(&config).await {
        Err(PortalError::Config(m)) => assert!(m.contains("postgres://"), "{m}"),
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("mysql URL accepted"),
    }
}
