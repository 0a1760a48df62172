//! Issue 6, item 3, end to end through the admin API: a chat service started WITHOUT
//! `--allow-private-key-urls` refuses every spelling of a loopback key URL (and `vouch token
//! verify` does too) while the loopback key server sees not one connection; other schemes are
//! refused; hostile key servers (slow, endless, 100 MB, 10,000 keys, a 1024-bit key, a redirect
//! to another host) each get a 422 with a sentence a person can act on, and the service keeps
//! serving meanwhile. The address classifier itself is unit-tested without sending a packet in
//! crates/vouch-chat/src/keys/addr.rs.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use reqwest::StatusCode;
use serde_json::json;
use vouch_testkit::RSA_1024_PUBLIC_PEM;

use crate::support::*;

const REFUSED: &str = "private, loopback and link-local addresses are refused (start with --allow-private-key-urls for development)";

fn pem_router() -> Router {
    let pem = site_key().public_key().to_spki_pem();
    Router::new().route(
        "/publickey",
        get(move || {
            let pem = pem.clone();
            async move { pem }
        }),
    )
}

#[tokio::test]
async fn without_allow_private_no_spelling_of_loopback_reaches_the_key_server() {
    let v4 = Counting::start(pem_router()).await;
    let port = v4.addr.port();
    // The same port on ::1 when the sandbox has IPv6 loopback, so `[::1]` and a `localhost`
    // that resolves to ::1 would be counted too.
    let v6 = Counting::start_on(
        SocketAddr::from(([0u16, 0, 0, 0, 0, 0, 0, 1], port)),
        pem_router(),
    )
    .await;
    let app = ChatApp::start(false, |_| {}).await;

    let spellings = [
        format!("http://localhost:{port}/publickey"),
        format!("http://LocalHost:{port}/publickey"),
        format!("http://127.0.0.1:{port}/publickey"),
        format!("http://127.1.2.3:{port}/publickey"),
        format!("http://127.1:{port}/publickey"),
        format!("http://2130706433:{port}/publickey"),
        format!("http://0x7f000001:{port}/publickey"),
        format!("http://0177.0.0.1:{port}/publickey"),
        format!("http://[::ffff:127.0.0.1]:{port}/publickey"),
        format!("http://[::1]:{port}/publickey"),
        format!("http://0.0.0.0:{port}/publickey"),
        format!("https://localhost:{port}/publickey"),
    ];
    for url in &spellings {
        let (s, v) = app.create_settings(url).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{url}: {v}");
        assert_eq!(
            (v["error"].as_str(), v["field"].as_str()),
            (Some("validation_failed"), Some("public_key_url")),
            "{url}: {v}"
        );
        let msg = v["message"].as_str().unwrap_or_default();
        assert!(msg.contains(REFUSED), "{url}: {msg}");
    }
    let (_, v) = app
        .create_settings(&format!("http://localhost:{port}/publickey"))
        .await;
    assert!(
        v["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("localhost resolves to ")),
        "a name is reported with what it resolved to: {v}"
    );

    for (url, msg) in [
        (
            "file:///etc/passwd",
            "https or http URLs only (this one is file:)",
        ),
        (
            "ftp://127.0.0.1/publickey",
            "https or http URLs only (this one is ftp:)",
        ),
        (
            "gopher://127.0.0.1:70/",
            "https or http URLs only (this one is gopher:)",
        ),
        (
            "data:text/plain,-----BEGIN%20PUBLIC%20KEY-----",
            "https or http URLs only (this one is data:)",
        ),
    ] {
        let (s, v) = app.create_settings(url).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{url}: {v}");
        assert_eq!(v["message"], msg, "{url}");
    }

    // The CLI follows the same rules.
    let token = site_key()
        .sign(&json!({"iss": ISSUER, "sub": "s", "iat": now(), "exp": now() + 600}))
        .expect("sign");
    for url in &spellings[..4] {
        let cli = cli_verify(url, &[], &token).await;
        assert_eq!(cli.reason(), "key_unavailable", "{url}: {cli:?}");
        assert!(cli.stderr.contains(REFUSED), "{url}: {}", cli.stderr);
    }

    let seen = v4.connections() + v6.as_ref().map_or(0, |s| s.connections());
    assert_eq!(seen, 0, "the loopback key server was contacted");
    assert!(app
        .service
        .list_auth_settings()
        .await
        .expect("list")
        .is_empty());

    // The refusals were the rule, not a dead server: in development mode the same URL works.
    let cli = cli_verify(
        &format!("http://localhost:{port}/publickey"),
        &["--allow-private-key-urls"],
        &token,
    )
    .await;
    assert_eq!(cli.reason(), "ok", "{cli:?}");
    assert!(v4.connections() + v6.as_ref().map_or(0, |s| s.connections()) >= 1);
}

/// A body of `total` bytes in `chunk`-byte pieces with `pause` before each, produced lazily
/// and counted.
fn counted_body(total: usize, chunk: usize, produced: Arc<AtomicUsize>, pause: Duration) -> Body {
    vouch_testkit::servers::trickle(total, chunk, pause, produced)
}

fn jwks_with(n: usize) -> String {
    vouch_testkit::jwks_with(site_key(), n)
}

#[tokio::test]
async fn hostile_key_servers_get_a_clear_422_and_the_service_keeps_serving() {
    const HUNDRED_MB: usize = 100 * 1024 * 1024;
    let declared = Arc::new(AtomicUsize::new(0));
    let chunked = Arc::new(AtomicUsize::new(0));
    let trickled = Arc::new(AtomicUsize::new(0));
    let many = jwks_with(10_000);
    let (d, c, t) = (declared.clone(), chunked.clone(), trickled.clone());
    let pem = site_key().public_key().to_spki_pem();
    let router = Router::new()
        .route(
            "/publickey",
            get(move || {
                let pem = pem.clone();
                async move { pem }
            }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                "too late"
            }),
        )
        .route(
            "/endless",
            get(move || {
                let t = t.clone();
                // 16 bytes every 200 ms, for at most 2 minutes
                async move { counted_body(600 * 16, 16, t, Duration::from_millis(200)) }
            }),
        )
        .route(
            "/huge-declared",
            get(move || {
                let d = d.clone();
                async move {
                    let mut r: Response =
                        counted_body(HUNDRED_MB, 64 * 1024, d, Duration::ZERO).into_response();
                    r.headers_mut().insert(
                        header::CONTENT_LENGTH,
                        header::HeaderValue::from(HUNDRED_MB as u64),
                    );
                    r
                }
            }),
        )
        .route(
            "/huge-chunked",
            get(move || {
                let c = c.clone();
                async move { counted_body(HUNDRED_MB, 64 * 1024, c, Duration::ZERO) }
            }),
        )
        .route(
            "/ten-thousand-keys",
            get(move || {
                let many = many.clone();
                async move { ([(header::CONTENT_TYPE, "application/json")], many) }
            }),
        )
        .route("/weak", get(|| async { RSA_1024_PUBLIC_PEM }));
    let srv = Counting::start(router).await;
    let port = srv.addr.port();
    let srv_router_off_host =
        Router::new().route(
            "/hop",
            get(move || async move {
                Redirect::temporary(&format!("http://127.0.0.2:{port}/publickey"))
            }),
        );
    let hop = Counting::start(srv_router_off_host).await;

    let app = ChatApp::start(true, |_| {}).await;
    let (s, good) = app.create_settings(&srv.url("/publickey")).await;
    assert_eq!(s, StatusCode::CREATED, "{good}");
    let app_id = app.create_widget(good["id"].as_str(), true).await;

    let cases = [
        (srv.url("/slow"), "timed out after 5 s"),
        (srv.url("/endless"), "timed out after 5 s"),
        (srv.url("/huge-declared"), "the body is larger than 64 KiB"),
        (srv.url("/huge-chunked"), "the body is larger than 64 KiB"),
        (
            srv.url("/ten-thousand-keys"),
            "the body is larger than 64 KiB",
        ),
        (
            srv.url("/weak"),
            "RSA key of 1024 bits: at least 2048 required",
        ),
        (
            hop.url("/hop"),
            "redirect to another host (127.0.0.2) refused",
        ),
    ];
    let attacks =
        futures_util::future::join_all(cases.iter().map(|(url, _)| app.create_settings(url)));
    // While the hostile fetches run, a customer of the good setting keeps getting sessions.
    let token = site_key()
        .sign(&json!({"iss": ISSUER, "sub": "busy", "iat": now(), "exp": now() + 600}))
        .expect("sign");
    let other = client_from(loopback(7));
    let meanwhile = async {
        let mut served = 0;
        for _ in 0..10 {
            let (s, v) = app
                .session_from(&other, &app_id, Some(SITE), Some(&token))
                .await;
            assert_eq!((s, v["verified"].clone()), (201, json!(true)), "{v}");
            assert!(app.healthy().await);
            served += 1;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        served
    };
    let (answers, served) = tokio::time::timeout(Duration::from_secs(60), async {
        tokio::join!(attacks, meanwhile)
    })
    .await
    .expect("every hostile fetch ends within the 5 s deadline");
    assert_eq!(served, 10);
    for ((url, want), (status, body)) in cases.iter().zip(answers) {
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{url}: {body}");
        assert_eq!(body["field"], "public_key_url", "{url}");
        assert_eq!(body["message"], *want, "{url}: {body}");
    }
    // The fetcher stopped reading early: nowhere near 100 MB was produced.
    for (name, n) in [("declared", &declared), ("chunked", &chunked)] {
        let n = n.load(Ordering::SeqCst);
        assert!(n < 16 * 1024 * 1024, "{name}: {n} bytes produced");
    }
    assert!(
        trickled.load(Ordering::SeqCst) < 600 * 16,
        "the endless body was cut off"
    );
    // Only the good setting was stored, and it still verifies.
    assert_eq!(
        app.service.list_auth_settings().await.expect("list").len(),
        1
    );
    let (s, v) = app.session(&app_id, Some(&token)).await;
    assert_eq!(s, 201, "{v}");
}
