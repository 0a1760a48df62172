use reqwest::header::{COOKIE, ORIGIN};
use reqwest::StatusCode;

use crate::common::{csrf_from, TestApp, PASSWORD};

#[tokio::test]
async fn sign_in_sets_a_strict_session_cookie_and_redirects_home() {
    let app = TestApp::start().await;
    app.add_user("alex@example.com").await;
    let b = app.browser();
    let res = b.login("alex@example.com", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/");
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("vouch_session="))
        .expect("a session cookie");
    assert!(cookie.contains("; HttpOnly"), "{cookie}");
    assert!(cookie.contains("; SameSite=Lax"), "{cookie}");
    assert!(cookie.contains("; Path=/"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain http: no Secure flag");
    let html = b.text("/").await;
    assert!(html.contains(r#"<span data-testid="user-name">Alex Doe</span>"#));
    // Signed in: /login sends you home.
    let res = b.get("/login").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn https_public_url_makes_cookies_secure_and_host_prefixed() {
    let app = TestApp::start_with(|c| {
        c.public_url = Some("https://shop.example.test".parse().unwrap());
    })
    .await;
    let res = app.browser().get("/login").await;
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.starts_with("__Host-vouch_csrf="), "{cookie}");
    assert!(cookie.contains("; Secure"));
    assert!(cookie.contains("; HttpOnly"));
    assert_eq!(app.portal.issuer(), "shop.example.test");
}

#[tokio::test]
async fn emails_are_case_insensitive_at_sign_in() {
    let app = TestApp::start().await;
    app.add_user("Alex.Doe@Example.com").await;
    let b = app.browser();
    let res = b.login("  ALEX.DOE@example.COM", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn unknown_user_and_wrong_password_get_the_same_answer() {
    let app = TestApp::start().await;
    app.add_user("alex@example.com").await;
    let b = app.browser();
    let wrong = b.login("alex@example.com", "not the password").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let wrong = wrong.text().await.unwrap();
    let unknown = b.login("nobody@example.com", "not the password").await;
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    let unknown = unknown.text().await.unwrap();
    assert!(wrong.contains("Incorrect email or password."));
    assert!(unknown.contains("Incorrect email or password."));
    // Same page apart from the echoed email.
    assert_eq!(
        wrong.replace("alex@example.com", "X"),
        unknown.replace("nobody@example.com", "X")
    );
    assert!(b.cookie("vouch_session").is_none());
    assert_eq!(b.token().await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn session_id_changes_at_sign_in() {
    let app = TestApp::start().await;
    app.add_user("alex@example.com").await;
    let b = app.browser();
    // An attacker plants a well-formed session id before the victim signs in.
    let planted = "A".repeat(43);
    b.jar.add_cookie_str(
        &format!("vouch_session={planted}; Path=/"),
        &b.base.parse().unwrap(),
    );
    assert_eq!(
        b.login("alex@example.com", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    let first = b.cookie("vouch_session").unwrap();
    assert_ne!(first, planted);

    // Signing in again while signed in issues yet another id and ends the previous one.
    let csrf = b.cookie("vouch_csrf").unwrap();
    let res = b
        .post_form(
            "/login",
            &[
                ("email", "alex@example.com"),
                ("password", PASSWORD),
                ("csrf_token", &csrf),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let second = b.cookie("vouch_session").unwrap();
    assert_ne!(second, first);
    assert_eq!(b.token().await.status(), StatusCode::OK);
    let replay = app.browser_from(2);
    for old in [&planted, &first] {
        let res = replay
            .http
            .get(replay.url("/token"))
            .header(COOKIE, format!("vouch_session={old}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn logout_ends_the_session_on_the_server() {
    let app = TestApp::start().await;
    let b = app.user_signed_in("alex@example.com").await;
    let old = b.cookie("vouch_session").unwrap();
    assert_eq!(b.token().await.status(), StatusCode::OK);

    let res = b.logout().await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let clear = res.headers()["set-cookie"].to_str().unwrap();
    assert!(
        clear.starts_with("vouch_session=;") && clear.contains("Max-Age=0"),
        "{clear}"
    );
    assert_eq!(b.token().await.status(), StatusCode::UNAUTHORIZED);

    // Replaying the old cookie from elsewhere: the row is gone.
    let other = app.browser_from(2);
    for path in ["/token", "/privatekey"] {
        let res = other
            .http
            .get(other.url(path))
            .header(COOKIE, format!("vouch_session={old}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(res.headers()["cache-control"], "no-store");
        assert_eq!(res.text().await.unwrap(), "not signed in\n");
    }
}

#[tokio::test]
async fn logout_without_its_csrf_token_is_refused_and_keeps_the_session() {
    let app = TestApp::start().await;
    let b = app.user_signed_in("alex@example.com").await;
    let res = b.post_form("/logout", &[]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.text().await.unwrap().contains("CSRF token"));
    let res = b
        .post_form("/logout", &[("csrf_token", &"x".repeat(43))])
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(b.token().await.status(), StatusCode::OK);
}

#[tokio::test]
async fn login_csrf_missing_or_stale_is_refused() {
    let app = TestApp::start().await;
    app.add_user("alex@example.com").await;
    let creds = [("email", "alex@example.com"), ("password", PASSWORD)];

    // No pre-session cookie and no token (a cross-site form post with cookies blocked).
    let b = app.browser();
    let res = b.post_form("/login", &creds).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let text = res.text().await.unwrap();
    assert!(text.contains("This form has expired"));
    assert!(text.contains("CSRF token"));
    assert!(b.cookie("vouch_session").is_none());

    // A token from another browser (stale for this one).
    let other_token = csrf_from(&app.browser_from(2).text("/login").await);
    let _ = b.get("/login").await;
    let res = b
        .post_form(
            "/login",
            &[creds[0], creds[1], ("csrf_token", other_token.as_str())],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    // The right token works.
    assert_eq!(
        b.login("alex@example.com", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn cross_site_form_posts_are_refused_even_with_a_valid_token() {
    let app = TestApp::start().await;
    app.add_user("alex@example.com").await;
    let b = app.browser();
    let csrf = csrf_from(&b.text("/login").await);
    let form = [
        ("email", "alex@example.com"),
        ("password", PASSWORD),
        ("csrf_token", csrf.as_str()),
    ];
    let res = b
        .http
        .post(b.url("/login"))
        .header(ORIGIN, "https://evil.example")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("cross-site request refused"));
    let res = b
        .http
        .post(b.url("/login"))
        .header("sec-fetch-site", "cross-site")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // The page's own origin is fine.
    let res = b
        .http
        .post(b.url("/login"))
        .header(ORIGIN, app.base.clone())
        .header("sec-fetch-site", "same-origin")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn malformed_cookies_are_simply_no_session() {
    let app = TestApp::start().await;
    let b = app.browser();
    for cookie in [
        "vouch_session=",
        "vouch_session=short",
        "vouch_session=%00%ff",
        "vouch_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA; vouch_session=BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB",
        "garbage;;;==;",
        "vouch_session=\"quoted\"",
    ] {
        let res = b.http.get(b.url("/token")).header(COOKIE, cookie).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{cookie}");
        let res = b.http.get(b.url("/")).header(COOKIE, cookie).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{cookie}");
        assert!(res.text().await.unwrap().contains(r#"href="/login""#));
    }
    // Not even valid header text.
    let res = b
        .http
        .get(b.url("/token"))
        .header(
            COOKIE,
            reqwest::header::HeaderValue::from_bytes(b"vouch_session=\xff\xfe").unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn sessions_expire_when_idle_and_at_their_maximum_age() {
    let app = TestApp::start_with(|c| {
        c.session_idle_timeout = 600;
        c.session_max_age = 1800;
    })
    .await;
    // Idle: 9 minutes is fine (and refreshes last-seen), 10 more minutes of silence is not.
    let b = app.user_signed_in("alex@example.com").await;
    app.clock.advance(540);
    assert_eq!(b.token().await.status(), StatusCode::OK);
    app.clock.advance(540);
    assert_eq!(b.token().await.status(), StatusCode::OK);
    app.clock.advance(600);
    assert_eq!(b.token().await.status(), StatusCode::UNAUTHORIZED);

    // Absolute: active every 5 minutes, still ends at 30 minutes.
    let b = app.signed_in("alex@example.com").await;
    for _ in 0..5 {
        app.clock.advance(300);
        assert_eq!(b.token().await.status(), StatusCode::OK);
    }
    app.clock.advance(300);
    assert_eq!(b.token().await.status(), StatusCode::UNAUTHORIZED);
}
