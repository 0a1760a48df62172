//! Issue 6, item 4: abuse limits of the chat service, each configurable, each answered clearly,
//! and each leaving other clients working. Clients speak from distinct 127.x.y.z addresses.
//! (Portal sign-in throttling: crates/vouch-portal/tests/it/throttle.rs; message floods and
//! oversized frames per socket: crates/vouch-chat/tests/it/chat.rs.)

use std::time::Duration;

use reqwest::StatusCode;
use vouch_chat::Role;

use crate::support::*;

#[tokio::test]
async fn agent_sign_in_brute_force_is_throttled_then_locked_and_one_address_cannot_lock_anyone_out()
{
    let app = ChatApp::start(true, |c| {
        c.limits.login_account_address_burst = 3;
        c.limits.login_account_address_per_minute = 1;
        c.limits.login_account_burst = 6;
        c.limits.login_account_per_minute = 2;
        c.limits.login_lockout = 3;
    })
    .await;
    app.add_agent("target@example.com", Role::Agent).await;
    let target = "target@example.com";

    // One address: three guesses, then throttled with a clear message — even the right password
    // is not looked at while it waits.
    let attacker = client_from(loopback(10));
    for _ in 0..3 {
        let (s, v) = app.login_from(&attacker, target, "guess").await;
        assert_eq!(
            (s, v["error"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("invalid_credentials"))
        );
    }
    let (s, v) = app.login_from(&attacker, target, "guess").await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")),
        "{v}"
    );
    let msg = v["message"].as_str().unwrap_or_default();
    assert!(
        msg.starts_with("Too many sign-in attempts. Please wait "),
        "{msg}"
    );
    let retry: i64 = v["retry_after_header"]
        .as_str()
        .and_then(|r| r.parse().ok())
        .expect("Retry-After");
    assert!((1..=60).contains(&retry), "{retry}");
    let (s, _) = app.login_from(&attacker, target, PASSWORD).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    // Hammering on from the same address (bounded) never locks the account…
    for _ in 0..20 {
        let (s, v) = app.login_from(&attacker, target, "guess").await;
        assert_eq!(v["error"], "rate_limited", "{s} {v}");
    }
    // …so the owner, from their own address, signs in.
    let owner = client_from(loopback(20));
    let (s, v) = app.login_from(&owner, target, PASSWORD).await;
    assert_eq!(s, StatusCode::OK, "{v}");

    // Several addresses together drain the account: it is locked for everyone, with a message.
    let mut locked = false;
    'outer: for n in 11..=16 {
        let helper = client_from(loopback(n));
        for _ in 0..3 {
            let (s, v) = app.login_from(&helper, target, "guess").await;
            if v["error"] == "account_locked" {
                locked = true;
                break 'outer;
            }
            assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
        }
        let (_, v) = app.login_from(&owner, target, PASSWORD).await;
        if v["error"] == "account_locked" {
            locked = true;
            break;
        }
    }
    assert!(locked, "several addresses lock the account");
    let (s, v) = app.login_from(&owner, target, PASSWORD).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("account_locked")),
        "{v}"
    );
    assert!(
        v["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("This account is temporarily locked after too many failed sign-in attempts. Try again in")),
        "{v}"
    );
    let retry: i64 = v["retry_after_header"]
        .as_str()
        .and_then(|r| r.parse().ok())
        .expect("Retry-After");
    assert!((1..=3).contains(&retry), "{retry}");
    // Another agent is unaffected, from the same address.
    let (s, _) = app.login_from(&owner, "agent@example.com", PASSWORD).await;
    assert_eq!(s, StatusCode::OK);
    // The lock ends (3 s here; bounded wait).
    let mut back = false;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        if app.login_from(&owner, target, PASSWORD).await.0 == StatusCode::OK {
            back = true;
            break;
        }
    }
    assert!(back, "the lock ends after --login-lockout");
}

#[tokio::test]
async fn one_address_must_stay_below_the_account_limits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut c = vouch_chat::ChatConfig::with_data_dir(dir.path());
    c.limits.login_account_address_burst = 20;
    c.limits.login_account_burst = 20;
    let e = vouch_chat::ChatService::open(&c)
        .await
        .err()
        .expect("refused");
    assert!(e.to_string().contains("cannot lock an account"), "{e}");

    // The portal holds the same rule for website sign-ins.
    let mut p = vouch_portal::PortalConfig::new(dir.path().join("portal"));
    p.login_account_address_per_minute = 2;
    p.login_account_per_minute = 2;
    let e = vouch_portal::Portal::open(&p).await.expect_err("refused");
    assert!(e.to_string().contains("cannot lock an account"), "{e}");
}

#[tokio::test]
async fn session_floods_are_limited_per_address_and_other_addresses_are_unaffected() {
    let app = ChatApp::start(true, |c| {
        c.limits.session_rate = 1;
        c.limits.session_burst = 5;
    })
    .await;
    let app_id = app.create_widget(None, false).await;
    let flooder = client_from(loopback(30));
    let mut created = 0;
    let mut refused = None;
    for _ in 0..30 {
        let (s, v) = app.session_from(&flooder, &app_id, Some(SITE), None).await;
        match s {
            201 => created += 1,
            _ => {
                refused = Some((s, v));
                break;
            }
        }
    }
    let (s, v) = refused.expect("the flood is refused");
    assert_eq!((s, v["error"].as_str()), (429, Some("rate_limited")), "{v}");
    assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert!((5..30).contains(&created), "{created}");
    // Another address is unaffected while the flooder waits.
    let other = client_from(loopback(31));
    let (s, v) = app.session_from(&other, &app_id, Some(SITE), None).await;
    assert_eq!(s, 201, "{v}");
}

#[tokio::test]
async fn idle_sockets_from_one_address_are_bounded_and_others_keep_chatting() {
    const LIMIT: usize = 50;
    let app = ChatApp::start(true, |c| c.limits.max_sockets_per_address = LIMIT).await;
    let app_id = app.create_widget(None, false).await;
    let (s, session) = app.session(&app_id, None).await;
    assert_eq!(s, 201);
    let token = session["session_token"]
        .as_str()
        .expect("token")
        .to_string();

    let hog = loopback(40);
    let mut open = Vec::new();
    let mut refused = Vec::new();
    for _ in 0..LIMIT + 10 {
        match app.customer_ws_from(hog, &token, Some(SITE)).await {
            Ok(ws) => open.push(ws),
            Err(status) => refused.push(status),
        }
    }
    assert_eq!(open.len(), LIMIT);
    assert_eq!(refused, vec![429; 10]);
    // Agents from that address count too.
    assert_eq!(
        app.agent_ws_from(hog, &app.agent_token).await.err(),
        Some(429)
    );

    // Another address chats normally meanwhile, customer and agent.
    let other = loopback(41);
    let (s, mine) = app
        .session_from(&client_from(other), &app_id, Some(SITE), None)
        .await;
    assert_eq!(s, 201, "{mine}");
    let mut ws = app
        .customer_ws_from(
            other,
            mine["session_token"].as_str().expect("t"),
            Some(SITE),
        )
        .await
        .expect("socket from another address");
    assert_eq!(ws.try_say("hello-1", "still served").await, Ok(1));
    assert!(app.agent_ws_from(other, &app.agent_token).await.is_ok());

    // Closing frees the slots (bounded wait for the server to notice).
    drop(open);
    let mut reopened = false;
    for _ in 0..100 {
        if app.customer_ws_from(hog, &token, Some(SITE)).await.is_ok() {
            reopened = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(reopened);
}
