//! The key fetcher against real HTTP servers on loopback (port 0).
//!
//! Every server here binds 127.0.0.1 or ::1 only. Fetchers that must reach them are built with
//! `allow_private: true`; the refusal tests build them without it and prove the server saw no
//! connection at all. No test sends a packet anywhere else: redirects to other addresses are
//! refused before any connection is attempted.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use serde_json::json;
use vouch_chat::keys::{diagnose, FetcherOptions, KeyFetchError, KeyFetcher, Severity};
use vouch_jwt::{KeySourceFormat, Reason, SigningKey, Validation};
use vouch_testkit::{now, Counting, ISSUER, RSA_1024_PUBLIC_PEM};

/// Three 2048-bit keys, generated once per test binary.
fn keys() -> &'static [SigningKey; 3] {
    static KEYS: OnceLock<[SigningKey; 3]> = OnceLock::new();
    KEYS.get_or_init(|| {
        let g = || SigningKey::generate(2048).expect("generate test key");
        [g(), g(), g()]
    })
}

fn token(key: &SigningKey, sub: &str) -> String {
    let t = now();
    key.sign(&json!({"iss": ISSUER, "sub": sub, "iat": t, "exp": t + 600}))
        .expect("sign")
}

fn validation() -> Validation {
    Validation::new(now()).with_issuer(ISSUER)
}

fn pem_of(k: &SigningKey) -> String {
    k.public_key().to_spki_pem()
}

fn jwks_of(ks: &[&SigningKey]) -> String {
    let pubs: Vec<_> = ks.iter().map(|k| k.public_key()).collect();
    vouch_jwt::jwks_document(&pubs).to_string()
}

fn multi_of(ks: &[&SigningKey]) -> String {
    let exp = now() + 86400;
    let pubs: Vec<_> = ks.iter().map(|k| (k.public_key(), exp)).collect();
    vouch_jwt::multi_key_list(&pubs).to_string()
}

fn dev_opts() -> FetcherOptions {
    FetcherOptions {
        allow_private: true,
        ..FetcherOptions::default()
    }
}

/// A cache whose default lifetime (100 ms) and refetch interval (50 ms) both pass within a test.
fn short_ttl() -> FetcherOptions {
    FetcherOptions {
        cache_ttl: Duration::from_millis(100),
        min_refetch_interval: Duration::from_millis(50),
        ..dev_opts()
    }
}

/// A token of `key` (subject `s`) verifies through `f`; `what` names the step that failed.
async fn verifies(f: &KeyFetcher, url: &str, key: &SigningKey, what: &str) {
    f.verify(url, &token(key, "s"), &validation())
        .await
        .expect(what);
}

fn fetcher(opts: FetcherOptions) -> KeyFetcher {
    KeyFetcher::new(opts).expect("build fetcher")
}

fn text(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

/// A key server whose `/keys` answers after `delay` with `body`, or whatever the returned state
/// holds by then.
async fn key_server(body: String, delay: Duration) -> (Counting, Arc<Mutex<String>>) {
    let state = Arc::new(Mutex::new(body));
    let server = Counting::start(switchable(state.clone(), delay)).await;
    (server, state)
}

/// A server whose `/keys` serves whatever body is currently in `state`.
fn switchable(state: Arc<Mutex<String>>, delay: Duration) -> Router {
    Router::new().route(
        "/keys",
        get(move || {
            let state = state.clone();
            async move {
                tokio::time::sleep(delay).await;
                let body = state.lock().unwrap().clone();
                text(body)
            }
        }),
    )
}

#[tokio::test]
async fn serves_each_format_and_verifies_its_tokens() {
    let [a, b, _] = keys();
    let (pem, multi, jwks) = (pem_of(a), multi_of(&[a, b]), jwks_of(&[a, b]));
    let router = Router::new()
        .route("/publickey", get(move || async move { text(pem) }))
        .route("/publickeys", get(move || async move { text(multi) }))
        .route(
            "/.well-known/jwks.json",
            get(move || async move {
                ([(header::CONTENT_TYPE, "application/json")], jwks).into_response()
            }),
        );
    let srv = Counting::start(router).await;
    let f = fetcher(dev_opts());

    let ks = f.load(&srv.url("/publickey")).await.expect("pem");
    assert_eq!(ks.len(), 1);
    assert_eq!(ks.keys[0].key.bits(), 2048);
    let ks = f
        .load(&srv.url("/publickeys"))
        .await
        .expect("multi-key list");
    assert_eq!(ks.len(), 2);
    assert!(ks.keys.iter().all(|k| k.expiry.is_some()));
    let ks = f
        .load(&srv.url("/.well-known/jwks.json"))
        .await
        .expect("jwks");
    assert_eq!(ks.len(), 2);

    for path in ["/publickey", "/publickeys", "/.well-known/jwks.json"] {
        let v = f
            .verify(&srv.url(path), &token(a, "contact-1"), &validation())
            .await
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(v.claims.sub, "contact-1");
    }
    // b is in the two lists but not in the PEM.
    let e = f
        .verify(&srv.url("/publickey"), &token(b, "x"), &validation())
        .await
        .unwrap_err();
    assert_eq!(e.reason, Reason::UnknownKid);
    assert!(f
        .verify(&srv.url("/publickeys"), &token(b, "x"), &validation())
        .await
        .is_ok());
    let stats = f.stats();
    assert!(stats.ok >= 3, "{stats:?}");
    assert_eq!(stats.failed, 0);
}

#[tokio::test]
async fn verify_fetches_on_first_use_then_serves_from_cache() {
    let [a, _, _] = keys();
    let (srv, _) = key_server(jwks_of(&[a]), Duration::ZERO).await;
    let f = fetcher(dev_opts());
    for _ in 0..5 {
        f.verify(&srv.url("/keys"), &token(a, "s"), &validation())
            .await
            .expect("verifies");
    }
    assert_eq!(srv.requests(), 1);
}

#[tokio::test]
async fn rotation_refetches_once_per_interval() {
    let [a, b, c] = keys();
    let (srv, state) = key_server(jwks_of(&[a]), Duration::ZERO).await;
    let f = fetcher(dev_opts());
    let url = srv.url("/keys");
    f.load(&url).await.expect("load");
    assert_eq!(srv.requests(), 1);
    verifies(&f, &url, a, "a").await;
    assert_eq!(srv.requests(), 1, "cached");

    // The portal rotates to b: b's kid is unknown to the cache, one refetch finds it.
    *state.lock().unwrap() = jwks_of(&[b]);
    verifies(&f, &url, b, "b after refetch").await;
    assert_eq!(srv.requests(), 2);

    // Another unknown kid within the interval: refused without asking the server again.
    let e = f
        .verify(&url, &token(c, "s"), &validation())
        .await
        .unwrap_err();
    assert_eq!(e.reason, Reason::UnknownKid);
    assert_eq!(srv.requests(), 2);
    // The rotated-out key is gone from the cache as well.
    let e = f
        .verify(&url, &token(a, "s"), &validation())
        .await
        .unwrap_err();
    assert_eq!(e.reason, Reason::UnknownKid);
    assert_eq!(srv.requests(), 2);
}

#[tokio::test]
async fn rotation_refetches_again_after_the_interval() {
    let [a, b, c] = keys();
    let (srv, state) = key_server(jwks_of(&[a]), Duration::ZERO).await;
    let f = fetcher(FetcherOptions {
        min_refetch_interval: Duration::from_millis(200),
        ..dev_opts()
    });
    let url = srv.url("/keys");
    f.load(&url).await.expect("load");
    *state.lock().unwrap() = jwks_of(&[b]);
    verifies(&f, &url, b, "b").await;
    assert_eq!(srv.requests(), 2);
    *state.lock().unwrap() = jwks_of(&[c]);
    tokio::time::sleep(Duration::from_millis(400)).await;
    verifies(&f, &url, c, "c").await;
    assert_eq!(srv.requests(), 3);
}

#[tokio::test]
async fn bad_signature_triggers_a_refetch_too() {
    // A PEM source gives its key a thumbprint kid; a token that names that kid but is signed
    // by the new key fails the signature with the cached key.
    let [a, b, _] = keys();
    let (srv, state) = key_server(pem_of(a), Duration::ZERO).await;
    let f = fetcher(dev_opts());
    let url = srv.url("/keys");
    f.load(&url).await.expect("load");
    *state.lock().unwrap() = pem_of(b);
    // No kid: every cached key is tried, none matches -> bad_signature -> refetch -> b.
    let t = now();
    let no_kid = b
        .sign_with_kid(
            &json!({"iss": "portal.test", "sub": "s", "iat": t, "exp": t + 600}),
            None,
        )
        .expect("sign");
    f.verify(&url, &no_kid, &validation())
        .await
        .expect("b after refetch");
    assert_eq!(srv.requests(), 2);
}

#[tokio::test]
async fn single_flight_fifty_concurrent_unknown_kids_make_one_request() {
    let [a, b, _] = keys();
    // A slow answer keeps all 50 callers waiting on the same fetch.
    let (srv, state) = key_server(jwks_of(&[a]), Duration::from_millis(300)).await;
    let f = fetcher(dev_opts());
    let url = srv.url("/keys");
    f.load(&url).await.expect("load");
    assert_eq!(srv.requests(), 1);
    *state.lock().unwrap() = jwks_of(&[a, b]);

    let tok = token(b, "s");
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let (f, url, tok) = (f.clone(), url.clone(), tok.clone());
        tasks.push(tokio::spawn(async move {
            f.verify(&url, &tok, &validation()).await
        }));
    }
    for t in tasks {
        t.await
            .expect("task")
            .expect("verifies after the shared refetch");
    }
    assert_eq!(srv.requests(), 2, "50 callers shared one refetch");
}

#[tokio::test]
async fn single_flight_on_an_empty_cache() {
    let [a, _, _] = keys();
    let (srv, _) = key_server(jwks_of(&[a]), Duration::from_millis(300)).await;
    let f = fetcher(dev_opts());
    let url = srv.url("/keys");
    let tok = token(a, "s");
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let (f, url, tok) = (f.clone(), url.clone(), tok.clone());
        tasks.push(tokio::spawn(async move {
            f.verify(&url, &tok, &validation()).await
        }));
    }
    for t in tasks {
        t.await.expect("task").expect("verifies");
    }
    assert_eq!(srv.requests(), 1);
}

fn with_cache_control(body: String, cc: &'static str) -> Router {
    Router::new().route(
        "/keys",
        get(move || {
            let body = body.clone();
            async move {
                (
                    [
                        (header::CONTENT_TYPE, "application/json"),
                        (header::CACHE_CONTROL, cc),
                    ],
                    body,
                )
                    .into_response()
            }
        }),
    )
}

#[tokio::test]
async fn cache_control_max_age_shortens_the_cache() {
    let [a, _, _] = keys();
    let srv = Counting::start(with_cache_control(jwks_of(&[a]), "public, max-age=1")).await;
    // Default TTL one hour, but the server says 1 s (the lower clamp is the refetch interval).
    let f = fetcher(FetcherOptions {
        min_refetch_interval: Duration::from_millis(100),
        ..dev_opts()
    });
    let url = srv.url("/keys");
    verifies(&f, &url, a, "first").await;
    verifies(&f, &url, a, "cached").await;
    assert_eq!(srv.requests(), 1);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    verifies(&f, &url, a, "after max-age").await;
    assert_eq!(srv.requests(), 2, "max-age=1 expired the cache");
}

/// Verifies with `key`, waits past the 100 ms default TTL, verifies again: how many times the
/// key server was asked.
async fn fetches_across_the_default_ttl(srv: &Counting, key: &SigningKey) -> usize {
    let f = fetcher(short_ttl());
    let url = srv.url("/keys");
    verifies(&f, &url, key, "first").await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    verifies(&f, &url, key, "second").await;
    srv.requests()
}

#[tokio::test]
async fn cache_control_max_age_lengthens_the_cache() {
    let [a, _, _] = keys();
    let srv = Counting::start(with_cache_control(jwks_of(&[a]), "max-age=3600")).await;
    // A 100 ms default TTL would expire; the server's max-age keeps the keys.
    assert_eq!(fetches_across_the_default_ttl(&srv, a).await, 1);
}

#[tokio::test]
async fn without_max_age_the_default_ttl_applies() {
    let [a, _, _] = keys();
    let (srv, _) = key_server(jwks_of(&[a]), Duration::ZERO).await;
    assert_eq!(fetches_across_the_default_ttl(&srv, a).await, 2);
}

#[tokio::test]
async fn stale_keys_keep_serving_when_the_server_is_gone() {
    let [a, _, _] = keys();
    let (srv, _) = key_server(jwks_of(&[a]), Duration::ZERO).await;
    let f = fetcher(short_ttl());
    let url = srv.url("/keys");
    f.load(&url).await.expect("load");
    drop(srv); // the listener closes: connections are now refused
    tokio::time::sleep(Duration::from_millis(300)).await;
    let v = f.verify(&url, &token(a, "s"), &validation()).await;
    assert!(v.is_ok(), "stale keys still verify: {v:?}");
    assert!(
        f.stats().failed >= 1,
        "the revalidation was attempted and failed"
    );
}

#[tokio::test]
async fn nothing_cached_and_no_server_is_key_unavailable() {
    let [a, _, _] = keys();
    // Bind, learn the port, close: nothing listens there any more.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let url = format!("http://127.0.0.1:{port}/keys");
    let f = fetcher(dev_opts());
    let e = f
        .verify(&url, &token(a, "s"), &validation())
        .await
        .unwrap_err();
    assert_eq!(e.reason, Reason::KeyUnavailable);
    assert!(e.detail.contains("connection refused"), "{}", e.detail);
    let e = f.load(&url).await.unwrap_err();
    assert_eq!(e.code(), "connect");
    assert_eq!(e.to_string(), "connection refused");
    assert!(!e.to_string().contains(&token(a, "s")));
}

#[tokio::test]
async fn slow_server_times_out() {
    let [a, _, _] = keys();
    let (srv, _) = key_server(jwks_of(&[a]), Duration::from_secs(3)).await;
    let f = fetcher(FetcherOptions {
        timeout: Duration::from_millis(300),
        ..dev_opts()
    });
    let e = f.load(&srv.url("/keys")).await.unwrap_err();
    assert_eq!(e.code(), "timeout", "{e}");
    assert_eq!(e.to_string(), "timed out after 300 ms");
    let e = f
        .verify(&srv.url("/keys"), &token(a, "s"), &validation())
        .await
        .unwrap_err();
    assert_eq!(e.reason, Reason::KeyUnavailable);
}

/// A key server whose `/keys` answers a body of `chunk`-sized pieces, one every `every`, made
/// lazily up to `total` bytes (no Content-Length); the counter says how many bytes it made.
async fn trickling_server(
    chunk: usize,
    every: Duration,
    total: usize,
) -> (Counting, Arc<AtomicUsize>) {
    let produced = Arc::new(AtomicUsize::new(0));
    let p = produced.clone();
    let router = Router::new().route(
        "/keys",
        get(move || {
            let p = p.clone();
            async move { vouch_testkit::servers::trickle(total, chunk, every, p) }
        }),
    );
    (Counting::start(router).await, produced)
}

#[tokio::test]
async fn endless_slow_body_times_out() {
    let (srv, _) = trickling_server(8, Duration::from_millis(20), usize::MAX).await;
    let f = fetcher(FetcherOptions {
        timeout: Duration::from_millis(300),
        ..dev_opts()
    });
    let e = f.load(&srv.url("/keys")).await.unwrap_err();
    assert_eq!(e.code(), "timeout", "{e}");
}

#[tokio::test]
async fn endless_fast_body_stops_at_the_limit() {
    // 100 MB without Content-Length, as fast as the socket takes it.
    let (srv, produced) = trickling_server(16 * 1024, Duration::ZERO, 100 * 1024 * 1024).await;
    let f = fetcher(dev_opts());
    let e = f.load(&srv.url("/keys")).await.unwrap_err();
    assert_eq!(e.code(), "too_large", "{e}");
    assert_eq!(e.to_string(), "the body is larger than 64 KiB");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let made = produced.load(Ordering::SeqCst);
    assert!(
        made < 32 * 1024 * 1024,
        "the fetcher stopped reading early ({made} bytes produced)"
    );
}

#[tokio::test]
async fn declared_huge_body_is_refused_from_its_length() {
    let router = Router::new().route(
        "/keys",
        get(|| async {
            let mut r = Response::new(Body::from(vec![b'A'; 200 * 1024]));
            r.headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from(200 * 1024));
            r
        }),
    );
    let srv = Counting::start(router).await;
    let e = fetcher(dev_opts())
        .load(&srv.url("/keys"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "too_large");
}

#[tokio::test]
async fn redirect_to_the_same_host_is_followed() {
    let [a, _, _] = keys();
    let pem = pem_of(a);
    let router = Router::new()
        .route("/old", get(|| async { Redirect::temporary("/mid") }))
        .route("/mid", get(|| async { Redirect::permanent("/publickey") }))
        .route("/publickey", get(move || async move { text(pem) }));
    let srv = Counting::start(router).await;
    let f = fetcher(dev_opts());
    let ks = f
        .load(&srv.url("/old"))
        .await
        .expect("followed two same-host redirects");
    assert_eq!(ks.len(), 1);
    assert_eq!(srv.requests(), 3);
}

#[tokio::test]
async fn more_than_three_redirects_are_refused() {
    let router = Router::new()
        .route("/r1", get(|| async { Redirect::temporary("/r2") }))
        .route("/r2", get(|| async { Redirect::temporary("/r3") }))
        .route("/r3", get(|| async { Redirect::temporary("/r4") }))
        .route("/r4", get(|| async { Redirect::temporary("/r5") }))
        .route("/r5", get(|| async { "never reached" }));
    let srv = Counting::start(router).await;
    let e = fetcher(dev_opts()).load(&srv.url("/r1")).await.unwrap_err();
    assert_eq!(e.code(), "redirect", "{e}");
    assert_eq!(e.to_string(), "more than 3 redirects");
    assert_eq!(srv.requests(), 4, "the fourth redirect was not followed");
}

#[tokio::test]
async fn redirect_to_another_host_is_refused_before_any_connection() {
    let [a, _, _] = keys();
    let pem = pem_of(a);
    let target =
        Counting::start(Router::new().route("/publickey", get(move || async move { text(pem) })))
            .await;
    // Same machine, different host name: still another host.
    let elsewhere = format!("http://localhost:{}/publickey", target.addr.port());
    let router = Router::new()
        .route(
            "/to-localhost",
            get(move || {
                let to = elsewhere.clone();
                async move { Redirect::temporary(&to) }
            }),
        )
        // Never connected to: the policy refuses the hop before any socket is opened.
        .route(
            "/to-metadata",
            get(|| async { Redirect::temporary("http://169.254.169.254/latest/meta-data/") }),
        )
        .route(
            "/to-file",
            get(|| async { Redirect::temporary("file:///etc/passwd") }),
        );
    let srv = Counting::start(router).await;
    let f = fetcher(dev_opts());
    let e = f.load(&srv.url("/to-localhost")).await.unwrap_err();
    assert_eq!(e.code(), "redirect", "{e}");
    assert_eq!(
        e.to_string(),
        "redirect to another host (localhost) refused"
    );
    let e = f.load(&srv.url("/to-metadata")).await.unwrap_err();
    assert_eq!(e.code(), "redirect", "{e}");
    let e = f.load(&srv.url("/to-file")).await.unwrap_err();
    assert_eq!(e.code(), "bad_scheme", "{e}");
    assert_eq!(target.connections(), 0);
}

/// What loading `path` from a server of `router` fails with.
async fn load_error(router: Router, path: &str) -> KeyFetchError {
    let srv = Counting::start(router).await;
    fetcher(dev_opts()).load(&srv.url(path)).await.unwrap_err()
}

#[tokio::test]
async fn http_error_status_is_reported() {
    let e = load_error(Router::new(), "/missing").await;
    assert_eq!(e.code(), "http_status");
    assert_eq!(e.to_string(), "the URL answered 404 Not Found");
}

#[tokio::test]
async fn html_body_is_reported() {
    let router = Router::new().route(
        "/keys",
        get(|| async { axum::response::Html("<!DOCTYPE html><html><body>Sign in</body></html>") }),
    );
    let e = load_error(router, "/keys").await;
    assert_eq!(e.code(), "parse");
    assert_eq!(e.to_string(), "the body is HTML, not a PEM key");
}

#[tokio::test]
async fn weak_key_is_refused() {
    let router = Router::new().route(
        "/keys",
        get(|| async { text(RSA_1024_PUBLIC_PEM.to_string()) }),
    );
    let srv = Counting::start(router).await;
    let f = fetcher(dev_opts());
    let e = f.load(&srv.url("/keys")).await.unwrap_err();
    assert_eq!(e.code(), "weak_key", "{e}");
    assert_eq!(
        e.to_string(),
        "RSA key of 1024 bits: at least 2048 required"
    );
    let e = f
        .verify(&srv.url("/keys"), &token(&keys()[0], "s"), &validation())
        .await
        .unwrap_err();
    assert_eq!(e.reason, Reason::KeyUnavailable);
}

fn jwks_with(n: usize) -> String {
    vouch_testkit::jwks_with(&keys()[0], n)
}

#[tokio::test]
async fn jwks_with_ten_thousand_keys_is_refused() {
    let body = jwks_with(10_000);
    let srv = Counting::start(with_cache_control(body, "max-age=60")).await;
    // With the default limit the body is simply too large…
    let e = fetcher(dev_opts())
        .load(&srv.url("/keys"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "too_large", "{e}");
    // …and with the fetch limit raised to take it, the parser still refuses the body (its own
    // 1 MiB cap), and a key set that fits in bytes but has too many keys is refused by count.
    let big = fetcher(FetcherOptions {
        max_body: 16 * 1024 * 1024,
        ..dev_opts()
    });
    let e = big.load(&srv.url("/keys")).await.unwrap_err();
    assert_eq!(e.code(), "parse", "{e}");
    assert!(e.to_string().contains("at most"), "{e}");
    let many = Counting::start(with_cache_control(
        jwks_with(vouch_jwt::MAX_SOURCE_KEYS + 1),
        "max-age=60",
    ))
    .await;
    let e = big.load(&many.url("/keys")).await.unwrap_err();
    assert_eq!(e.code(), "parse", "{e}");
    assert!(e.to_string().contains("too many keys"), "{e}");
    // The fetcher still serves other URLs.
    let ok = Counting::start(with_cache_control(jwks_with(2), "max-age=60")).await;
    assert_eq!(
        big.load(&ok.url("/keys")).await.expect("small jwks").len(),
        2
    );
}

#[tokio::test]
async fn non_http_schemes_and_userinfo_are_refused() {
    let f = fetcher(dev_opts());
    for (u, code) in [
        ("file:///etc/passwd", "bad_scheme"),
        ("ftp://127.0.0.1/key.pem", "bad_scheme"),
        (
            "data:text/plain,-----BEGIN%20PUBLIC%20KEY-----",
            "bad_scheme",
        ),
        ("gopher://127.0.0.1:70/", "bad_scheme"),
        ("http://user:pass@127.0.0.1/keys", "bad_url"),
        ("not a url", "bad_url"),
    ] {
        let e = f.load(u).await.unwrap_err();
        assert_eq!(e.code(), code, "{u}: {e}");
    }
    let e = f.load("file:///etc/passwd").await.unwrap_err();
    assert_eq!(e.to_string(), "https or http URLs only (this one is file:)");
}

/// The critical one: without `allow_private`, no spelling of a loopback address reaches the
/// loopback key server — not one TCP connection.
#[tokio::test]
async fn private_addresses_are_refused_in_every_spelling_without_a_single_connection() {
    let [a, _, _] = keys();
    let pem = pem_of(a);
    let router = Router::new().route(
        "/publickey",
        get(move || {
            let pem = pem.clone();
            async move { text(pem) }
        }),
    );
    let v4 = Counting::start(router.clone()).await;
    let port = v4.addr.port();
    // The same port on ::1 where possible, so `localhost` → ::1 would be counted too.
    let v6 = match std::net::TcpListener::bind(("::1", port)) {
        Ok(probe) => {
            drop(probe);
            Some(
                Counting::start_on(
                    SocketAddr::from(([0u16, 0, 0, 0, 0, 0, 0, 1], port)),
                    router.clone(),
                )
                .await
                .expect("bind ::1"),
            )
        }
        Err(_) => None,
    };

    let strict = fetcher(FetcherOptions::default());
    let spellings = [
        format!("http://127.0.0.1:{port}/publickey"),
        format!("http://localhost:{port}/publickey"),
        format!("http://LOCALHOST:{port}/publickey"),
        format!("http://127.1.2.3:{port}/publickey"),
        format!("http://127.1:{port}/publickey"),
        format!("http://2130706433:{port}/publickey"),
        format!("http://0x7f.1:{port}/publickey"),
        format!("http://0177.0.0.1:{port}/publickey"),
        format!("http://[::1]:{port}/publickey"),
        format!("http://[::ffff:127.0.0.1]:{port}/publickey"),
        format!("http://[0:0:0:0:0:ffff:7f00:1]:{port}/publickey"),
        format!("http://0.0.0.0:{port}/publickey"),
        format!("https://127.0.0.1:{port}/publickey"),
    ];
    for url in &spellings {
        let e = strict.load(url).await.unwrap_err();
        assert_eq!(e.code(), "private_address", "{url}: {e}");
        assert!(
            e.to_string()
                .contains("private, loopback and link-local addresses are refused (start with --allow-private-key-urls for development)"),
            "{url}: {e}"
        );
        let v = strict
            .verify(url, &token(a, "s"), &validation())
            .await
            .unwrap_err();
        assert_eq!(v.reason, Reason::KeyUnavailable, "{url}");
    }
    // A trailing dot: refused whatever the resolver makes of it (loopback or no answer).
    let e = strict
        .load(&format!("http://localhost.:{port}/publickey"))
        .await
        .unwrap_err();
    assert!(matches!(e.code(), "private_address" | "dns"), "{e}");

    let e = strict
        .load(&format!("http://127.0.0.1:{port}/publickey"))
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "127.0.0.1 is a loopback address; private, loopback and link-local addresses are refused (start with --allow-private-key-urls for development)"
    );
    let e = strict
        .load(&format!("http://localhost:{port}/publickey"))
        .await
        .unwrap_err();
    assert!(e.to_string().starts_with("localhost resolves to "), "{e}");

    assert_eq!(
        v4.connections(),
        0,
        "the loopback key server saw no connection"
    );
    assert_eq!(v4.requests(), 0);
    if let Some(v6) = &v6 {
        assert_eq!(v6.connections(), 0);
    }

    // The same server is reachable with allow_private: the refusals above were the rule,
    // not a broken server.
    let dev = fetcher(dev_opts());
    dev.load(&format!("http://localhost:{port}/publickey"))
        .await
        .expect("reachable in development mode");
    let total = v4.connections() + v6.as_ref().map_or(0, |s| s.connections());
    assert_eq!(total, 1);
}

#[tokio::test]
async fn diagnose_explains_keys_and_token() {
    let [a, b, _] = keys();
    let body = jwks_of(&[a]);
    let srv = Counting::start(with_cache_control(body, "max-age=600")).await;
    let f = fetcher(dev_opts());
    let url = srv.url("/keys");

    let findings = diagnose(&f, &url, Some(&token(a, "contact-9")), &validation()).await;
    let all: Vec<String> = findings.iter().map(|x| x.to_string()).collect();
    let joined = all.join("\n");
    assert!(
        findings.iter().all(|x| x.severity != Severity::Error),
        "{joined}"
    );
    assert!(joined.contains("a JWKS with 1 key"), "{joined}");
    assert!(joined.contains("RSA 2048 bits"), "{joined}");
    assert!(joined.contains(a.kid()), "{joined}");
    assert!(joined.contains("max-age 600 s"), "{joined}");
    assert!(joined.contains("sub=\"contact-9\""), "{joined}");
    assert!(joined.contains("the token verifies"), "{joined}");
    assert!(joined.contains("(loopback)"), "{joined}");

    let findings = diagnose(&f, &url, Some(&token(b, "x")), &validation()).await;
    let joined = findings
        .iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(joined.contains("is not among the URL's keys"), "{joined}");
    assert!(joined.contains("invalid token: unknown_kid"), "{joined}");

    let before = srv.requests();
    let strict = fetcher(FetcherOptions::default());
    let findings = diagnose(&strict, &url, None, &validation()).await;
    assert_eq!(findings[0].severity, Severity::Error);
    assert!(
        findings[0].message.contains("loopback address"),
        "{findings:?}"
    );
    assert_eq!(srv.requests(), before, "the strict doctor sent nothing");
}

#[tokio::test]
async fn formats_are_detected_by_content_not_header() {
    // A JWKS served as text/plain and a PEM served as application/json still parse.
    let [a, _, _] = keys();
    let (jwks, pem) = (jwks_of(&[a]), pem_of(a));
    let router = Router::new()
        .route("/j", get(move || async move { text(jwks) }))
        .route(
            "/p",
            get(move || async move {
                ([(header::CONTENT_TYPE, "application/json")], pem).into_response()
            }),
        );
    let srv = Counting::start(router).await;
    let f = fetcher(dev_opts());
    assert_eq!(f.load(&srv.url("/j")).await.expect("jwks").len(), 1);
    assert_eq!(f.load(&srv.url("/p")).await.expect("pem").len(), 1);
    let _ = KeySourceFormat::Jwks; // the format enum is re-checked by diagnose above
}

#[test]
fn errors_are_actionable_sentences() {
    let e = KeyFetchError::Dns {
        host: "keys.example".into(),
    };
    assert_eq!(e.to_string(), "could not resolve host keys.example");
    assert_eq!(e.code(), "dns");
}
