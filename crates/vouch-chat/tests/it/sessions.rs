//! Settings validation, widgets, CORS, sessions and contacts over real HTTP.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::*;

async fn create_settings(app: &TestApp, body: Value) -> (StatusCode, Value) {
    app.post_as(&app.admin_token, "/api/v1/admin/auth-settings", body)
        .await
}

#[tokio::test]
async fn auth_settings_are_validated_on_save_field_by_field() {
    let app = TestApp::start().await;
    let good = json!({
        "name": "Portal", "public_key_url": app.keys.url("/publickey"),
        "function_name": "auth.getAuthenticationToken", "issuer": "portal.test",
    });
    let (s, v) = create_settings(&app, good.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["key_count"], 1);
    assert_eq!(v["name"], "Portal");
    assert_eq!(v["issuer"], "portal.test");
    assert_eq!(v["function_name"], "auth.getAuthenticationToken");
    assert!(v["id"].as_str().is_some());

    let with = |k: &str, val: Value| {
        let mut b = good.clone();
        b[k] = val;
        b
    };
    let cases = [
        (with("name", json!("")), "name", "empty"),
        (with("name", json!(5)), "name", "string"),
        (
            with("public_key_url", json!(app.keys.url("/missing"))),
            "public_key_url",
            "404",
        ),
        (
            with("public_key_url", json!(app.keys.url("/html"))),
            "public_key_url",
            "",
        ),
        (
            with("public_key_url", json!("file:///etc/passwd")),
            "public_key_url",
            "",
        ),
        (
            with("function_name", json!("auth.get Token()")),
            "function_name",
            "auth.getAuthenticationToken",
        ),
        (with("issuer", json!(7)), "issuer", "string"),
        (with("leeway_secs", json!(-1)), "leeway_secs", ""),
        // The first invalid field in request order is named: name before function_name.
        (
            json!({"name": "", "public_key_url": app.keys.url("/publickey"), "function_name": "x y"}),
            "name",
            "",
        ),
        // An unreachable key URL is named before a bad function name after it.
        (
            json!({"name": "A", "public_key_url": app.keys.url("/missing"), "function_name": "x y"}),
            "public_key_url",
            "",
        ),
    ];
    for (body, field, words) in cases {
        let (s, v) = create_settings(&app, body.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body} → {v}");
        assert_eq!(v["error"], "validation_failed", "{v}");
        assert_eq!(v["field"], field, "{body} → {v}");
        let msg = v["message"].as_str().unwrap_or_default();
        assert!(
            msg.contains(words),
            "{body}: message {msg:?} should mention {words:?}"
        );
    }

    let (s, v) = app
        .get_as(&app.admin_token, "/api/v1/admin/auth-settings")
        .await;
    assert_eq!(s, StatusCode::OK);
    // The fixture's setting and the one created above; no invalid one was stored.
    assert_eq!(v["auth_settings"].as_array().map(Vec::len), Some(2), "{v}");
}

#[tokio::test]
async fn widgets_are_created_with_a_snippet_and_validated() {
    let app = TestApp::start().await;
    let (s, v) = app
        .post_as(
            &app.admin_token,
            "/api/v1/admin/widgets",
            json!({"name": "Help", "allowed_origins": ["https://Shop.Example.com/"], "auth_settings_id": app.settings_id, "require_auth": true}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let app_id = v["app_id"].as_str().expect("app_id");
    assert_eq!(v["allowed_origins"], json!(["https://shop.example.com"]));
    assert_eq!(v["require_auth"], true);
    let snippet = v["snippet"].as_str().expect("snippet");
    assert!(
        snippet.starts_with("<script id=\"Microsoft_Omnichannel_LCWidget\""),
        "{snippet}"
    );
    assert!(snippet.contains(&format!("data-app-id=\"{app_id}\"")));
    assert!(snippet.contains(&format!("data-org-url=\"{}\"", app.base)));
    assert!(snippet.contains(&format!(
        "src=\"{}/livechatwidget/scripts/LiveChatBootstrapper.js\"",
        app.base
    )));

    let (s, v) = app
        .get_as("", &format!("/api/v1/widgets/{app_id}/config"))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        v,
        // Offline: no agent has made themselves available yet (sign-in starts `offline`).
        json!({"title": "Help", "require_auth": true, "auth": {"function_name": "auth.getAuthenticationToken"}, "online": false, "offline_message": null})
    );

    for (body, field) in [
        (
            json!({"name": "x", "allowed_origins": ["https://a.com/path"]}),
            "allowed_origins",
        ),
        (
            json!({"name": "x", "allowed_origins": []}),
            "allowed_origins",
        ),
        (
            json!({"name": "x", "allowed_origins": ["https://a.com"], "auth_settings_id": uuid::Uuid::new_v4()}),
            "auth_settings_id",
        ),
        (
            json!({"name": "x", "allowed_origins": ["https://a.com"], "require_auth": true}),
            "require_auth",
        ),
        (json!({"allowed_origins": ["https://a.com"]}), "name"),
    ] {
        let (s, v) = app
            .post_as(&app.admin_token, "/api/v1/admin/widgets", body.clone())
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body} → {v}");
        assert_eq!(v["field"], field, "{body} → {v}");
    }

    let listed = app.service.list_widgets().await.expect("list");
    assert!(listed.iter().any(|w| w.app_id.to_string() == app_id));

    let r = app
        .http
        .get(app.url("/livechatwidget/scripts/LiveChatBootstrapper.js"))
        .send()
        .await
        .expect("js");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.headers()["content-type"],
        "application/javascript; charset=utf-8"
    );
}

#[tokio::test]
async fn cors_answers_only_allowed_origins() {
    let app = TestApp::start().await;
    let path = app.url(&format!("/api/v1/widgets/{}/sessions", app.app_id));
    let pre = |origin: &str| {
        app.http
            .request(reqwest::Method::OPTIONS, &path)
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header(
                "Access-Control-Request-Headers",
                "authenticatedusertoken, content-type",
            )
            .send()
    };
    let r = pre(SITE).await.expect("preflight");
    assert!(r.status().is_success());
    let h = r.headers();
    assert_eq!(h["access-control-allow-origin"], SITE);
    assert_eq!(h["access-control-allow-methods"], "GET, POST");
    assert_eq!(
        h["access-control-allow-headers"],
        "AuthenticatedUserToken, Content-Type"
    );
    assert!(h.get("access-control-allow-credentials").is_none());

    let r = pre("https://evil.test").await.expect("preflight");
    assert!(r.headers().get("access-control-allow-origin").is_none());

    // The actual answers too, errors included, so the widget can read them.
    let r = app
        .http
        .get(app.url(&format!("/api/v1/widgets/{}/config", app.app_id)))
        .header("Origin", SITE)
        .send()
        .await
        .expect("config");
    assert_eq!(r.headers()["access-control-allow-origin"], SITE);
    let r = app
        .http
        .post(&path)
        .header("Origin", SITE)
        .send()
        .await
        .expect("session");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.headers()["access-control-allow-origin"], SITE);
    let r = app
        .http
        .get(app.url(&format!("/api/v1/widgets/{}/config", app.app_id)))
        .header("Origin", "https://evil.test")
        .send()
        .await
        .expect("config");
    assert!(r.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn sessions_verify_or_refuse_with_the_design_errors() {
    let app = TestApp::start().await;
    // Verified.
    let v = app.session("contact-1").await;
    assert_eq!(v["verified"], true);
    assert!(v["session_token"].as_str().is_some_and(|t| t.len() > 30));
    assert!(v["conversation_id"].as_str().is_some());
    assert_eq!(v["contact"]["external_id"], "contact-1");
    assert_eq!(v["contact"]["given_name"], "Alex");
    assert_eq!(v["contact"]["email"], "alex@example.com");
    assert_eq!(v["contact"]["phone"], "+1 555 0100");
    assert!(v["expires_at"].as_str().is_some_and(|s| s.ends_with('Z')));

    // Anonymous where allowed → Not verified.
    let v = app.anon_session().await;
    assert_eq!(v["verified"], false);
    assert_eq!(v["contact"], Value::Null);

    // auth_required.
    let (s, v) = app.session_raw(&app.app_id, Some(SITE), None, None).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("auth_required"))
    );

    // invalid_token with its reason.
    let bad = [
        (forged(&claims("x", 600)), "bad_signature"),
        (
            stranger_key().sign(&claims("x", 600)).expect("sign"),
            "unknown_kid",
        ),
        (sign(&claims("x", -120)), "expired"),
        (
            sign(&{
                let mut c = claims("x", 600);
                c["iss"] = json!("evil");
                c
            }),
            "wrong_issuer",
        ),
        ("not.a.token".to_string(), "malformed"),
    ];
    for (t, reason) in bad {
        let (s, v) = app
            .session_raw(&app.app_id, Some(SITE), Some(&t), None)
            .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
        assert_eq!(v["error"], "invalid_token", "{v}");
        assert_eq!(v["reason"], reason, "{v}");
    }
    // A bad token is refused on an anonymous-allowed widget too (never silently downgraded).
    let (s, v) = app
        .session_raw(&app.anon_app_id, Some(SITE), Some("not.a.token"), None)
        .await;
    assert_eq!(
        (s, v["reason"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("malformed"))
    );

    // unknown_widget, origin_not_allowed (missing or other).
    let (s, v) = app
        .session_raw(
            &uuid::Uuid::new_v4().to_string(),
            Some(SITE),
            Some(&token("x")),
            None,
        )
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("unknown_widget"))
    );
    let (s, v) = app.session_raw("nonsense", Some(SITE), None, None).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("unknown_widget"))
    );
    let (s, v) = app
        .session_raw(
            &app.app_id,
            Some("https://evil.test"),
            Some(&token("x")),
            None,
        )
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("origin_not_allowed"))
    );
    let (s, v) = app
        .session_raw(&app.app_id, None, Some(&token("x")), None)
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("origin_not_allowed"))
    );

    // Diagnostics counted the failures per reason, without the token.
    let (s, v) = app
        .get_as(&app.admin_token, "/api/v1/admin/verification-failures")
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["counts"]["bad_signature"], 1, "{v}");
    assert_eq!(v["counts"]["malformed"], 2, "{v}");
    assert_eq!(v["counts"]["expired"], 1, "{v}");
    assert_eq!(v["counts"]["unknown_kid"], 1, "{v}");
    let recent = v["recent"].as_array().expect("recent");
    assert_eq!(recent.len(), 6);
    assert_eq!(recent[0]["reason"], "malformed", "newest first");
    let wrong = recent
        .iter()
        .find(|f| f["reason"] == "wrong_issuer")
        .expect("wrong_issuer listed");
    assert_eq!(wrong["iss"], "evil");
    assert_eq!(wrong["sub"], "x");
    assert_eq!(wrong["kid"], site_key().kid());
    assert_eq!(wrong["auth_settings_id"], app.settings_id.as_str());
    let text = v.to_string();
    assert!(
        !text.contains(&sign(&claims("x", -120))[..60]),
        "no token in diagnostics"
    );
}

#[tokio::test]
async fn contacts_are_created_then_updated_and_a_second_browser_joins_the_conversation() {
    let app = TestApp::start().await;
    let first = app.session("contact-7").await;
    let contact_id = first["contact"]["id"]
        .as_str()
        .expect("contact id")
        .to_string();

    // Same sub, new names, from "another browser": same contact, same open conversation.
    let mut c = claims("contact-7", 600);
    c["given_name"] = json!("Alexandra");
    c["email"] = json!("alexandra@example.com");
    c["lwicontexts"] = json!("{\"plan\":\"gold\",\"orders\":3}");
    let (s, second) = app
        .session_raw(
            &app.app_id,
            Some(SITE),
            Some(&sign(&c)),
            Some(json!({"context": {"page": "/cart", "plan": "spoofed"}})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{second}");
    assert_eq!(second["conversation_id"], first["conversation_id"]);
    assert_eq!(second["contact"]["id"], contact_id.as_str());
    assert_eq!(second["contact"]["given_name"], "Alexandra");
    assert_eq!(second["contact"]["family_name"], "Doe");

    let (s, v) = app
        .get_as(&app.agent_token, &format!("/api/v1/contacts/{contact_id}"))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["contact"]["email"], "alexandra@example.com");
    assert_eq!(v["contact"]["external_id"], "contact-7");
    assert_eq!(v["activities"], json!([]));

    // Context: the token's lwicontexts win over the body's context.
    let conv = first["conversation_id"].as_str().expect("id");
    let (_, d) = app
        .get_as(
            &app.agent_token,
            &format!("/api/v1/agent/conversations/{conv}"),
        )
        .await;
    assert_eq!(
        d["context"],
        json!({"plan": "gold", "orders": 3, "page": "/cart"}),
        "{d}"
    );
    assert_eq!(d["verified"], true);

    // History is shared: a message from browser 1 is replayed to browser 2.
    let mut b1 = app
        .customer_ws(first["session_token"].as_str().expect("t"))
        .await;
    let seq = b1.say("m1", "hello from browser one").await;
    let mut b2 = app
        .customer_ws(second["session_token"].as_str().expect("t"))
        .await;
    b2.send(json!({"type": "resume", "after_seq": 0})).await;
    let m = b2.next_type("message").await;
    assert_eq!(
        (m["seq"].as_i64(), m["text"].as_str()),
        (Some(seq), Some("hello from browser one"))
    );

    // Another sub gets another contact and conversation.
    let other = app.session("contact-8").await;
    assert_ne!(other["conversation_id"], first["conversation_id"]);
    assert_ne!(other["contact"]["id"], first["contact"]["id"]);
}

#[tokio::test]
async fn bad_context_and_bad_bodies_are_refused_clearly() {
    let app = TestApp::start().await;
    let (s, v) = app
        .session_raw(
            &app.anon_app_id,
            Some(SITE),
            None,
            Some(json!({"context": {"nested": {"a": 1}}})),
        )
        .await;
    assert_eq!(
        (s, v["error"].as_str(), v["field"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("validation_failed"),
            Some("context")
        )
    );
    let r = app
        .http
        .post(app.url(&format!("/api/v1/widgets/{}/sessions", app.anon_app_id)))
        .header("Origin", SITE)
        .header("Content-Type", "application/json")
        .body("{broken")
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["error"], "bad_request");
}

#[tokio::test]
async fn health_and_security_headers() {
    let app = TestApp::start().await;
    for p in ["/healthz", "/readyz"] {
        let r = app.http.get(app.url(p)).send().await.expect("get");
        assert_eq!(r.status(), StatusCode::OK, "{p}");
    }
    let r = app
        .http
        .get(app.url("/agent"))
        .send()
        .await
        .expect("agent page");
    assert_eq!(r.status(), StatusCode::OK);
    let h = r.headers();
    assert_eq!(h["x-content-type-options"], "nosniff");
    let csp = h["content-security-policy"].to_str().expect("csp");
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"));
    let r = app
        .http
        .get(app.url("/static/agent.js"))
        .send()
        .await
        .expect("static");
    assert_eq!(r.status(), StatusCode::OK);
    let r = app
        .http
        .get(app.url("/static/../Cargo.toml"))
        .send()
        .await
        .expect("static");
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}
