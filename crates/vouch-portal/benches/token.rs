//! `/token` over HTTP against raw RS256 signing, same run, same machine.
//!
//! `cargo bench -p vouch-portal --bench token` — 16 signed-in clients on loopback for a
//! few seconds, then raw signs on every core for the same time; prints both and the ratio.
//! Bounded: each phase runs `VOUCH_BENCH_SECS` seconds (default 5).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use vouch_portal::{NewUser, Portal, PortalConfig};

const CLIENTS: usize = 16;

fn main() {
    let secs: u64 = std::env::var("VOUCH_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5)
        .clamp(1, 60);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (http_rps, kid) = rt.block_on(http_phase(Duration::from_secs(secs)));
    let raw = raw_phase(Duration::from_secs(secs));
    println!("token over HTTP: {http_rps:.0} requests/s ({CLIENTS} clients, key {kid})");
    println!("raw RS256 signing: {raw:.0} signs/s on every core");
    println!("ratio: {:.3}", http_rps / raw);
}

async fn http_phase(d: Duration) -> (f64, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = PortalConfig::new(dir.path());
    config.addr = "127.0.0.1:0".parse().expect("addr");
    vouch_portal::add_user(
        &config,
        NewUser {
            email: "bench@example.com".into(),
            given_name: "Bench".into(),
            family_name: "Mark".into(),
            contact_id: None,
            phone: None,
            context: serde_json::Map::new(),
            password: "bench".into(),
        },
    )
    .await
    .expect("user");
    let portal = Portal::open(&config).await.expect("portal");
    let kid = portal.current_kid();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(portal.serve(listener, async move {
        let _ = stop_rx.await;
    }));

    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .no_proxy()
            .build()
            .expect("client");
        let page = http
            .get(format!("{base}/login"))
            .send()
            .await
            .expect("login page");
        let html = page.text().await.expect("html");
        let marker = r#"name="csrf_token" value=""#;
        let start = html.find(marker).expect("csrf") + marker.len();
        let csrf = &html[start..start + html[start..].find('"').expect("quote")];
        let res = http
            .post(format!("{base}/login"))
            .form(&[
                ("email", "bench@example.com"),
                ("password", "bench"),
                ("csrf_token", csrf),
            ])
            .send()
            .await
            .expect("login");
        assert!(res.status().is_success() || res.status().is_redirection());
        clients.push(http);
    }
    let count = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for http in clients {
        let (count, stop, url) = (count.clone(), stop.clone(), format!("{base}/token"));
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let res = http.get(&url).send().await.expect("token");
                assert_eq!(res.status(), 200);
                let _ = res.bytes().await.expect("body");
                count.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await; // warm-up
    let start_count = count.load(Ordering::Relaxed);
    let t0 = Instant::now();
    tokio::time::sleep(d).await;
    let n = count.load(Ordering::Relaxed) - start_count;
    let elapsed = t0.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    let _ = stop_tx.send(());
    (n as f64 / elapsed, kid)
}

fn raw_phase(d: Duration) -> f64 {
    let key = Arc::new(vouch_jwt::SigningKey::generate(2048).expect("key"));
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    let claims = serde_json::json!({"iss":"bench","sub":"00000000-0000-0000-0000-000000000000","iat":1,"exp":2});
    let count = Arc::new(AtomicU64::new(0));
    let t0 = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            let (key, count, claims) = (key.clone(), count.clone(), claims.clone());
            s.spawn(move || {
                while t0.elapsed() < d {
                    let _ = key.sign(&claims).expect("sign");
                    count.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });
    count.load(Ordering::Relaxed) as f64 / t0.elapsed().as_secs_f64()
}
