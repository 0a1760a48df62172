use reqwest::StatusCode;

use crate::common::{TestApp, PASSWORD};

fn small_limits(c: &mut vouch_portal::PortalConfig) {
    c.login_address_burst = 8;
    c.login_address_per_minute = 4;
    c.login_account_address_burst = 3;
    c.login_account_address_per_minute = 1;
    c.login_account_burst = 6;
    c.login_account_per_minute = 2;
    c.login_lockout = 300;
}

#[tokio::test]
async fn one_address_is_throttled_but_cannot_lock_the_owner_out() {
    let app = TestApp::start_with(small_limits).await;
    app.add_user("alex@example.com").await;
    let attacker = app.browser_from(10);
    for _ in 0..3 {
        let res = attacker.login("alex@example.com", "guess").await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let res = attacker.login("alex@example.com", "guess").await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: i64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry));
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("Too many sign-in attempts. Please wait"));
    // Even the right password is not checked while throttled.
    let res = attacker.login("alex@example.com", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);

    // The attacker keeps going at the fastest rate the limit allows for an hour.
    for _ in 0..60 {
        app.clock.advance(60);
        let res = attacker.login("alex@example.com", "guess").await;
        assert_ne!(res.status(), StatusCode::SEE_OTHER);
    }
    // The owner, from their own address, signs in fine: the account was never locked.
    let owner = app.browser_from(20);
    assert_eq!(
        owner.login("alex@example.com", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn many_addresses_lock_the_account_with_a_clear_message_until_the_lock_ends() {
    let app = TestApp::start_with(small_limits).await;
    app.add_user("alex@example.com").await;
    // Six failures from two addresses (three each, each pair's limit) empty the account.
    for n in [11, 12] {
        let b = app.browser_from(n);
        for _ in 0..3 {
            assert_eq!(
                b.login("alex@example.com", "guess").await.status(),
                StatusCode::UNAUTHORIZED
            );
        }
    }
    let owner = app.browser_from(20);
    let res = owner.login("alex@example.com", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(res.headers()["retry-after"], "300");
    let text = res.text().await.unwrap();
    assert!(
        text.contains("This account is temporarily locked"),
        "{text}"
    );
    assert!(text.contains("Try again in 5 minutes."), "{text}");
    // Locking one account touches no other.
    app.add_user("sam@example.com").await;
    assert_eq!(
        owner.login("sam@example.com", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );

    app.clock.advance(300);
    let owner = app.browser_from(21);
    assert_eq!(
        owner.login("alex@example.com", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn unknown_accounts_are_throttled_like_real_ones() {
    let app = TestApp::start_with(small_limits).await;
    let b = app.browser_from(30);
    for _ in 0..3 {
        assert_eq!(
            b.login("ghost@example.com", "x").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        b.login("ghost@example.com", "x").await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn an_address_spraying_many_accounts_is_throttled() {
    let app = TestApp::start_with(small_limits).await;
    let b = app.browser_from(40);
    for i in 0..8 {
        let res = b.login(&format!("user{i}@example.com"), "x").await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let res = b.login("user9@example.com", "x").await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    // Another address is unaffected.
    let res = app.browser_from(41).login("user9@example.com", "x").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}
