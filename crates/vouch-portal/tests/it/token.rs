use reqwest::header::ORIGIN;
use reqwest::StatusCode;
use uuid::Uuid;

use crate::common::{kid_of, verify_with, TestApp};

#[tokio::test]
async fn token_carries_the_signed_in_users_claims_and_verifies_with_every_key_source() {
    let contact = Uuid::parse_str("66cb446f-5e43-ea11-a812-000d3a24c087").unwrap();
    let app = TestApp::start_with(|c| {
        c.issuer = Some("shop.example.test".into());
        c.token_ttl = 600;
    })
    .await;
    app.add_user_with("dan@example.com", |u| {
        u.given_name = "Dan".into();
        u.family_name = "Test".into();
        u.contact_id = Some(contact);
        u.context.insert("tier".into(), "gold".into());
        u.context.insert("orders".into(), 7.into());
    })
    .await;
    let b = app.signed_in("dan@example.com").await;

    for path in ["/token", "/privatekey"] {
        let res = b.get(path).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        assert_eq!(res.headers()["content-type"], "application/jwt");
        assert_eq!(res.headers()["cache-control"], "no-store");
        let token = res.text().await.unwrap();
        assert_eq!(token.split('.').count(), 3);

        for source in ["/publickey", "/.well-known/jwks.json", "/publickeys"] {
            let v = verify_with(&app, source, &token)
                .await
                .unwrap_or_else(|e| panic!("{path} against {source}: {e}"));
            let c = v.claims;
            assert_eq!(c.iss, "shop.example.test");
            assert_eq!(c.sub, contact.to_string());
            assert_eq!(c.iat, app.now());
            assert_eq!(c.exp, c.iat + 600);
            assert_eq!(c.preferred_username.as_deref(), Some("dan@example.com"));
            assert_eq!(c.email.as_deref(), Some("dan@example.com"));
            assert_eq!(c.given_name.as_deref(), Some("Dan"));
            assert_eq!(c.family_name.as_deref(), Some("Test"));
            assert_eq!(c.phone_number.as_deref(), Some("+1 555 0100"));
            // lwicontexts is a *string* holding the JSON object.
            let raw = c.all["lwicontexts"]
                .as_str()
                .expect("lwicontexts is a string");
            let ctx: serde_json::Value = serde_json::from_str(raw).unwrap();
            assert_eq!(ctx, serde_json::json!({"tier": "gold", "orders": 7}));
            assert_eq!(v.kid.as_deref(), Some(app.portal.current_kid().as_str()));
        }
        // A verifier expecting another issuer refuses it.
        let body = reqwest::Client::builder()
            .no_proxy()
            .build()
            .unwrap()
            .get(app.url("/publickey"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let (_, keys) = vouch_jwt::parse_key_source(&body).unwrap();
        let err = vouch_jwt::verify(
            &token,
            &keys,
            &vouch_jwt::Validation::new(app.now()).with_issuer("other"),
        )
        .unwrap_err();
        assert_eq!(err.reason, vouch_jwt::Reason::WrongIssuer);
    }
}

#[tokio::test]
async fn default_issuer_is_the_public_host_and_no_context_means_no_lwicontexts() {
    let app = TestApp::start_with(|c| {
        c.public_url = Some("http://portal.example.test:8080/".parse().unwrap());
    })
    .await;
    app.add_user_with("alex@example.com", |u| u.phone = None)
        .await;
    let b = app.signed_in("alex@example.com").await;
    let token = b.token().await.text().await.unwrap();
    let v = verify_with(&app, "/publickey", &token).await.unwrap();
    assert_eq!(v.claims.iss, "portal.example.test");
    assert_eq!(v.claims.exp - v.claims.iat, 900);
    assert!(!v.claims.all.contains_key("lwicontexts"));
    assert_eq!(v.claims.phone_number.as_deref(), Some(""));
    assert_eq!(kid_of(&token), app.portal.current_kid());
}

#[tokio::test]
async fn no_session_no_token_and_never_cors() {
    let app = TestApp::start().await;
    app.add_user("alex@example.com").await;
    let anon = app.browser();
    for path in ["/token", "/privatekey"] {
        let res = anon.get(path).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(res.headers()["cache-control"], "no-store");
        assert_ne!(res.headers()["content-type"], "application/jwt");
        let body = res.text().await.unwrap();
        assert!(!body.contains('.'), "no token in {body:?}");
    }
    // Signed in, but asked cross-origin: the token is same-origin only, no CORS headers.
    let b = app.signed_in("alex@example.com").await;
    let res = b
        .http
        .get(b.url("/token"))
        .header(ORIGIN, "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());
    assert!(res
        .headers()
        .get("access-control-allow-credentials")
        .is_none());
    let res = b
        .http
        .request(reqwest::Method::OPTIONS, b.url("/token"))
        .header(ORIGIN, "https://evil.example")
        .header("access-control-request-method", "GET")
        .send()
        .await
        .unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn public_key_endpoints_have_the_contract_content_types() {
    let app = TestApp::start().await;
    let b = app.browser();
    let res = b.get("/publickey").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "text/plain; charset=utf-8");
    let pem = res.text().await.unwrap();
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----"));
    // The same as the blog's public.key file on disk.
    let on_disk = std::fs::read_to_string(app.config.data_dir.join("keys/public.key")).unwrap();
    assert_eq!(pem, on_disk);

    let res = b.get("/.well-known/jwks.json").await;
    assert_eq!(res.headers()["content-type"], "application/json");
    let jwks: serde_json::Value = res.json().await.unwrap();
    let k = &jwks["keys"][0];
    assert_eq!(k["kty"], "RSA");
    assert_eq!(k["use"], "sig");
    assert_eq!(k["alg"], "RS256");
    assert_eq!(k["kid"], app.portal.current_kid());

    let res = b.get("/publickeys").await;
    assert_eq!(res.headers()["content-type"], "application/json");
    let list: serde_json::Value = res.json().await.unwrap();
    let entry = &list[0];
    assert_eq!(entry["kid"], app.portal.current_kid());
    assert!(entry["expiry"].as_i64().unwrap() > app.now());
    use base64::Engine;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(entry["publicKey"].as_str().unwrap())
        .unwrap();
    assert_eq!(String::from_utf8(decoded).unwrap(), pem);
}
