//! `vouch bench token`: `/token` over HTTP with signed-in clients beside raw RSA-2048 signing
//! measured in the same run.

use std::sync::{
    atomic::{AtomicBool, AtomicU64, Ordering},
    Arc,
};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use serde_json::json;
use vouch_jwt::SigningKey;
use vouch_portal::{NewUser, Portal, PortalConfig};

use super::{tempdir, MAX_SECONDS};

/// The seed's Node.js app (express + jsonwebtoken, the blog's code) measured on this kind of
/// machine (2 cores): `/privatekey` requests per second.
const NODE_BASELINE_RPS: f64 = 883.0;

#[derive(Args, Debug)]
pub struct TokenBenchArgs {
    /// Concurrent signed-in clients.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=256))]
    clients: u16,
    /// Seconds of load for each of the two measurements.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=MAX_SECONDS))]
    seconds: u64,
}

pub async fn run(args: TokenBenchArgs) -> anyhow::Result<()> {
    let duration = Duration::from_secs(args.seconds);
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());

    // Raw signing first, on every core, with the same library and key size the portal uses.
    let raw_per_s = raw_signs_per_second(threads, duration).await?;

    let dir = tempdir()?;
    let result = http_token_rps(&dir, args.clients, duration).await;
    let _ = std::fs::remove_dir_all(&dir);
    let (http_rps, errors) = result?;

    let ratio = http_rps / raw_per_s;
    println!(
        "{}",
        json!({
            "bench": "token",
            "clients": args.clients,
            "seconds": args.seconds,
            "cores": threads,
            "token_http_rps": http_rps.round(),
            "raw_rsa2048_signs_per_s": raw_per_s.round(),
            "ratio": (ratio * 1000.0).round() / 1000.0,
            "target_ratio": 0.9,
            "node_baseline_rps": NODE_BASELINE_RPS,
            "vs_node": (http_rps / NODE_BASELINE_RPS * 10.0).round() / 10.0,
            "errors": errors,
        })
    );
    eprintln!(
        "/token over HTTP: {http_rps:.0}/s with {} clients; raw RSA-2048 signing: {raw_per_s:.0}/s on {threads} cores; \
         ratio {ratio:.2} (target ≥ 0.90); {:.1}× the blog's Node.js app ({NODE_BASELINE_RPS}/s)",
        args.clients,
        http_rps / NODE_BASELINE_RPS
    );
    Ok(())
}

/// Signs a portal-shaped claim set on `threads` OS threads for `duration`.
async fn raw_signs_per_second(threads: usize, duration: Duration) -> anyhow::Result<f64> {
    tokio::task::spawn_blocking(move || -> anyhow::Result<f64> {
        let key = Arc::new(SigningKey::generate(2048)?);
        let count = Arc::new(AtomicU64::new(0));
        let start = Instant::now();
        std::thread::scope(|scope| {
            for _ in 0..threads {
                let (key, count) = (key.clone(), count.clone());
                scope.spawn(move || {
                    let claims = bench_claims();
                    while start.elapsed() < duration {
                        if key.sign(&claims).is_ok() {
                            count.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                });
            }
        });
        Ok(count.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64())
    })
    .await?
}

fn bench_claims() -> serde_json::Value {
    json!({"iss": "127.0.0.1", "sub": "66cb446f-5e43-4a11-a812-000d3a24c087", "iat": 1_700_000_000,
           "exp": 1_700_000_900, "preferred_username": "bench@example.com", "email": "bench@example.com",
           "given_name": "Bench", "family_name": "User", "phone_number": "+1 555 0100"})
}

/// Starts a real portal on loopback, signs `clients` users in through the form, then has
/// each fetch `/token` in a loop for `duration`. Returns (successful requests/s, errors).
async fn http_token_rps(
    dir: &std::path::Path,
    clients: u16,
    duration: Duration,
) -> anyhow::Result<(f64, u64)> {
    let mut config = PortalConfig::new(dir);
    config.addr = "127.0.0.1:0".parse()?;
    // Every bench client signs in from 127.0.0.1: lift the per-address sign-in throttle.
    config.login_address_burst = u32::from(clients) * 2;
    config.login_account_address_burst = u32::from(clients) * 2;
    // (the account's own burst must stay above the per-address one)
    config.login_account_burst = u32::from(clients) * 2 + 1;
    let listener = crate::cmd_portal::bind(&mut config).await?;
    let base = format!("http://{}", config.addr);
    vouch_portal::add_user(
        &config,
        NewUser {
            email: "bench@example.com".into(),
            given_name: "Bench".into(),
            family_name: "User".into(),
            contact_id: None,
            phone: Some("+1 555 0100".into()),
            context: Default::default(),
            password: "bench password".into(),
        },
    )
    .await?;
    let portal = Portal::open(&config).await?;
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let server = tokio::spawn(portal.serve(listener, async move {
        let _ = stop_rx.wait_for(|s| *s).await;
    }));

    let mut signed_in = Vec::with_capacity(usize::from(clients));
    for _ in 0..clients {
        signed_in.push(sign_in(&base).await?);
    }
    let running = Arc::new(AtomicBool::new(true));
    let ok = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for client in signed_in {
        let (running, ok, errors, url) = (
            running.clone(),
            ok.clone(),
            errors.clone(),
            format!("{base}/token"),
        );
        tasks.push(tokio::spawn(async move {
            while running.load(Ordering::Relaxed) {
                match client.get(&url).send().await {
                    Ok(res) if res.status().is_success() => {
                        if res.bytes().await.is_ok() {
                            ok.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    _ => {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    tokio::time::sleep(duration).await;
    running.store(false, Ordering::Relaxed);
    for task in tasks {
        task.await?;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let _ = stop_tx.send(true);
    server.await??;
    Ok((
        ok.load(Ordering::Relaxed) as f64 / elapsed,
        errors.load(Ordering::Relaxed),
    ))
}

/// Signs in through the real login form (CSRF token and cookie), like a browser.
async fn sign_in(base: &str) -> anyhow::Result<reqwest::Client> {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()?;
    let page = client
        .get(format!("{base}/login"))
        .send()
        .await?
        .text()
        .await?;
    let Some(csrf) = page
        .split("name=\"csrf_token\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
    else {
        bail!("the login page has no csrf_token field");
    };
    let res = client
        .post(format!("{base}/login"))
        .header("origin", base)
        .form(&[
            ("email", "bench@example.com"),
            ("password", "bench password"),
            ("csrf_token", csrf),
        ])
        .send()
        .await
        .context("sign-in request")?;
    if res.status() != reqwest::StatusCode::SEE_OTHER {
        bail!("sign-in answered {}", res.status());
    }
    Ok(client)
}
