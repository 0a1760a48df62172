use reqwest::StatusCode;

use crate::common::TestApp;

#[tokio::test]
async fn signed_out_home_links_to_sign_in_and_has_no_widget_without_app_id() {
    let app = TestApp::start().await;
    let b = app.browser();
    let res = b.get("/").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()["content-type"].to_str().unwrap(),
        "text/html; charset=utf-8"
    );
    let html = res.text().await.unwrap();
    assert!(html.contains(r#"href="/login""#));
    assert!(html.contains("Contoso Outfitters"));
    assert!(!html.contains("Microsoft_Omnichannel_LCWidget"));
    assert!(!html.contains("data-testid=\"user-name\""));
}

#[tokio::test]
async fn widget_snippet_and_auth_script_follow_the_configuration() {
    let app = TestApp::start_with(|c| {
        c.chat_url = "http://127.0.0.1:4555".parse().unwrap();
        c.widget_app_id = Some("0a6c5c4e-demo-app".into());
    })
    .await;
    app.add_user("alex@example.com").await;
    let snippet = r#"<script id="Microsoft_Omnichannel_LCWidget" src="http://127.0.0.1:4555/livechatwidget/scripts/LiveChatBootstrapper.js" data-app-id="0a6c5c4e-demo-app" data-lcw-version="prod" data-org-id="vouch" data-org-url="http://127.0.0.1:4555"></script>"#;

    // Signed out: the widget is still there (it may be anonymous), and so is the function.
    let html = app.browser().text("/").await;
    assert!(html.contains(snippet), "{html}");
    assert!(html.contains(r#"<script src="/assets/auth.js"></script>"#));
    assert!(html.find("/assets/auth.js") < html.find("LiveChatBootstrapper"));

    let b = app.signed_in("alex@example.com").await;
    let html = b.text("/").await;
    assert!(html.contains(snippet));
    assert!(html.contains(r#"<span data-testid="user-name">Alex Doe</span>"#));
    assert!(html.contains(r#"data-testid="logout""#));
    // No inline script anywhere: the CSP forbids it.
    assert_eq!(html.matches("<script").count(), 2);
    assert_eq!(
        html.matches("<script src=").count() + html.matches("<script id=").count(),
        2
    );

    let res = b.get("/assets/auth.js").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()["content-type"].to_str().unwrap(),
        "text/javascript; charset=utf-8"
    );
    let js = res.text().await.unwrap();
    assert!(js.contains("auth.getAuthenticationToken = function (callback)"));
    assert!(js.contains(r#"xhttp.open("GET", "/token", true)"#));
    assert!(js.contains("finish(null)"));
    assert!(js.contains("ontimeout"));
}

#[tokio::test]
async fn security_headers_are_on_every_response() {
    let app = TestApp::start_with(|c| {
        c.chat_url = "https://chat.example.test".parse().unwrap();
    })
    .await;
    let b = app.browser();
    for path in [
        "/",
        "/login",
        "/token",
        "/publickey",
        "/nope",
        "/assets/site.css",
        "/healthz",
    ] {
        let res = b.get(path).await;
        let h = res.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        let script_src = csp
            .split(';')
            .map(str::trim)
            .find(|d| d.starts_with("script-src"))
            .unwrap();
        assert_eq!(
            script_src, "script-src 'self' https://chat.example.test",
            "{path}"
        );
        assert!(!script_src.contains("unsafe-inline"));
        assert!(
            csp.contains("connect-src 'self' https://chat.example.test wss://chat.example.test")
        );
        assert!(csp.contains("frame-ancestors 'none'"));
        assert!(csp.contains("object-src 'none'"));
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "strict-origin-when-cross-origin");
        assert_eq!(h["x-frame-options"], "DENY");
        assert!(h.get("access-control-allow-origin").is_none());
    }
}

#[tokio::test]
async fn unknown_routes_and_methods_get_pages() {
    let app = TestApp::start().await;
    let b = app.browser();
    let res = b.get("/no/such/page").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(res.text().await.unwrap().contains("Page not found"));
    let res = b.http.delete(b.url("/token")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(res.text().await.unwrap().contains("Not allowed"));
}

#[tokio::test]
async fn health_and_readiness() {
    let app = TestApp::start().await;
    let b = app.browser();
    let res = b.get("/healthz").await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = b.get("/readyz").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.text().await.unwrap(), "ready\n");
}

#[tokio::test]
async fn request_ids_are_echoed_when_safe_and_made_otherwise() {
    let app = TestApp::start().await;
    let b = app.browser();
    let res = b
        .http
        .get(b.url("/healthz"))
        .header("x-request-id", "portal-req-1")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "portal-req-1");
    let mut made = Vec::new();
    for bad in [None, Some("two words"), Some("x\"y")] {
        let mut req = b.http.get(b.url("/login"));
        if let Some(v) = bad {
            req = req.header("x-request-id", v);
        }
        let res = req.send().await.unwrap();
        let id = res.headers()["x-request-id"].to_str().unwrap().to_string();
        let parsed = uuid::Uuid::parse_str(&id).unwrap_or_else(|_| panic!("generated: {id}"));
        assert_eq!(parsed.get_version_num(), 4, "a random UUID: {id}");
        assert!(!made.contains(&id), "a fresh id every time: {id}");
        made.push(id);
    }
}

#[tokio::test]
async fn metrics_need_the_flag_and_the_token_and_count_sign_ins_and_tokens() {
    let off = TestApp::start().await;
    let res = off
        .browser()
        .http
        .get(off.url("/metrics"))
        .bearer_auth("0123456789abcdef-anything")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    let token = "portal-metrics-token-0123456789";
    let app = TestApp::start_with(|c| c.metrics_token = Some(token.parse().unwrap())).await;
    let b = app.user_signed_in("alex@example.com").await;
    assert_eq!(b.token().await.status(), StatusCode::OK);
    assert_eq!(b.token().await.status(), StatusCode::OK);
    let wrong = app
        .browser()
        .login("alex@example.com", "wrong password")
        .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    // A made-up method is counted, but cannot mint a label value of its own.
    let odd = reqwest::Method::from_bytes(b"BREW").unwrap();
    let res = b.http.request(odd, b.url("/token")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    let res = b.http.get(b.url("/no-such-page")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    let res = b.http.get(b.url("/metrics")).send().await.unwrap();
    assert_eq!(
        res.status(),
        StatusCode::UNAUTHORIZED,
        "the session cookie is not enough"
    );
    let res = b
        .http
        .get(b.url("/metrics"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let text = res.text().await.unwrap();
    for line in [
        "vouch_portal_sign_ins_total{result=\"ok\"} 1",
        "vouch_portal_sign_ins_total{result=\"invalid\"} 1",
        "vouch_portal_tokens_issued_total 2",
        "vouch_portal_http_requests_total{method=\"GET\",route=\"/token\",status=\"200\"} 2",
        "vouch_portal_http_requests_total{method=\"POST\",route=\"/login\",status=\"401\"} 1",
        "vouch_portal_http_requests_total{method=\"other\",route=\"/token\",status=\"405\"} 1",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} in:\n{text}");
    }
    assert!(!text.contains("BREW"), "{text}");
    assert!(
        !text.contains("no-such-page"),
        "unrouted paths are not labels:\n{text}"
    );
    let e = "short"
        .parse::<vouch_portal::metrics::MetricsToken>()
        .unwrap_err();
    assert!(e.contains("at least 16"), "{e}");
}
