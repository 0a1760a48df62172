//! Issue 6, item 2, the gaps the crates' own suites leave: credentials of one kind never work
//! as another, and a signed-out agent's token is dead everywhere (HTTP and socket).
//! (Portal CSRF, fixation, cookie flags, /token and headers: crates/vouch-portal/tests/it;
//! widget origins, CORS, console CSRF and socket upgrades: crates/vouch-chat/tests/it.)

use reqwest::StatusCode;
use serde_json::json;
use vouch_chat::Role;

use crate::support::*;

#[tokio::test]
async fn a_signed_out_agents_token_and_customer_tokens_open_nothing_in_the_agent_api() {
    let app = ChatApp::start(true, |_| {}).await;
    let app_id = app.create_widget(None, false).await;
    let (s, session) = app.session(&app_id, None).await;
    assert_eq!(s, 201);
    let conv = session["conversation_id"].as_str().expect("id").to_string();
    let customer = session["session_token"].as_str().expect("t").to_string();

    app.add_agent("leaver@example.com", Role::Agent).await;
    let leaver = app.login("leaver@example.com").await;
    let (s, _) = app
        .get_as(&leaver, &format!("/api/v1/agent/conversations/{conv}"))
        .await;
    assert_eq!(s, StatusCode::OK, "a signed-in agent reads it");
    let (s, _) = app
        .post_as(&leaver, "/api/v1/agent/logout", json!({}))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);

    // The revoked token, a customer session token, an admin-looking forgery: all 401.
    let forged = format!("vca_{}", "A".repeat(43));
    for (who, token) in [
        ("signed out", &leaver),
        ("customer", &customer),
        ("forged", &forged),
    ] {
        for path in [
            format!("/api/v1/agent/conversations/{conv}"),
            "/api/v1/agent/conversations?state=waiting".to_string(),
            "/api/v1/agent/me".to_string(),
            "/api/v1/admin/auth-settings".to_string(),
        ] {
            let (s, v) = app.get_as(token, &path).await;
            assert_eq!(s, StatusCode::UNAUTHORIZED, "{who} {path}: {v}");
        }
        let (s, v) = app
            .post_as(
                token,
                &format!("/api/v1/agent/conversations/{conv}/accept"),
                json!({}),
            )
            .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{who} accept: {v}");
        assert_eq!(
            app.agent_ws_from(loopback(1), token).await.err(),
            Some(401),
            "{who} agent socket"
        );
    }
    // Nobody accepted it: still waiting; and an agent token is no customer session.
    let (s, v) = app
        .get_as(
            &app.agent_token,
            &format!("/api/v1/agent/conversations/{conv}"),
        )
        .await;
    assert_eq!((s, v["state"].as_str()), (StatusCode::OK, Some("waiting")));
    assert_eq!(
        app.customer_ws_from(loopback(1), &app.agent_token, Some(SITE))
            .await
            .err(),
        Some(401)
    );
}

#[tokio::test]
async fn console_and_admin_pages_carry_a_strict_csp_and_the_security_headers() {
    let app = ChatApp::start(true, |_| {}).await;
    for path in [
        "/agent",
        "/admin",
        "/static/agent.js",
        "/api/v1/agent/me",
        "/nope",
    ] {
        let r = app.http.get(app.url(path)).send().await.expect("get");
        let h = r.headers();
        let csp = h["content-security-policy"].to_str().expect("csp");
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
            "{path}: {csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(csp.contains("base-uri 'none'"), "{path}: {csp}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        if path == "/agent" || path == "/admin" {
            let directive = |name: &str| {
                csp.split(';')
                    .map(str::trim)
                    .find(|d| d.starts_with(name))
                    .unwrap_or_default()
                    .to_string()
            };
            assert_eq!(directive("script-src"), "script-src 'self'", "{path}");
            assert_eq!(directive("style-src"), "style-src 'self'", "{path}");
            // No inline script or style in the page itself (the CSP would block it anyway).
            let html = r.text().await.expect("html");
            assert!(
                !html.contains("<script>") && !html.contains(" style="),
                "{path}"
            );
        }
    }
}
