//! `vouch bench sessions --duration S --concurrency C`: widget session creations per second over
//! HTTP against a `vouch chat` child process — each one verifies a real RS256 customer token
//! against the setting's (cached) key and writes the contact, the conversation and the session —
//! beside raw verifications per second of the same token with the same library on every core,
//! measured in the same run. Tokens are signed before the clock starts, one distinct subject
//! each; when the run outlasts them it cycles (the same subject then joins its open
//! conversation, so the JSON tells fresh and repeated subjects apart).

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use serde_json::{json, Value};
use vouch_jwt::{KeySet, Validation};
use vouch_testkit::{ISSUER, SITE};

use super::chat::sign_tokens;
use super::procstat::cpu_micros;
use super::server::{BenchServer, ChildLimits};
use super::stats::{profile, round};
use super::topology::{ServerArgs, Topology};
use super::MAX_SECONDS;

/// Issue 7's target for session creation.
const TARGET_PER_S: f64 = 10_000.0;

#[derive(Args, Debug)]
pub struct SessionsBenchArgs {
    /// Seconds of load for each of the two measurements (at most 120).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=MAX_SECONDS))]
    duration: u64,
    /// Concurrent HTTP clients creating sessions (at most 1,024).
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=1024))]
    concurrency: u32,
    /// Distinct customer tokens signed before the run (at most 200,000).
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..=200_000))]
    tokens: u32,
    #[command(flatten)]
    server: ServerArgs,
}

pub async fn run(args: SessionsBenchArgs) -> anyhow::Result<()> {
    let limits = ChildLimits {
        sockets: 64,
        msg_rate: 20,
        msg_burst: 100,
    };
    let topology = Topology::single(&args.server);
    let server = BenchServer::start(&args.server, &topology, 0, limits).await?;
    let result = measure(&server, &args).await;
    server.stop().await;
    let report = result?;
    println!("{report}");
    eprintln!(
        "sessions: {}/s over HTTP with {} clients (target ≥ {TARGET_PER_S}); raw verification of the same token: \
         {}/s on {} cores; ratio {}; {} µs server CPU per session",
        report["sessions_per_s"],
        args.concurrency,
        report["raw_verify_per_s"],
        report["cores"],
        report["ratio"],
        report["server_cpu_us_per_session"],
    );
    Ok(())
}

async fn measure(server: &BenchServer, args: &SessionsBenchArgs) -> anyhow::Result<Value> {
    let duration = Duration::from_secs(args.duration);
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let run_id = format!("{}-{}", std::process::id(), crate::cmd_token::unix_now());
    let tokens =
        Arc::new(sign_tokens(server, &format!("sess-{run_id}"), args.tokens as usize).await?);

    // The baseline first: verify one of these very tokens on every core, as the service does.
    let raw_per_s = raw_verifies_per_second(server, tokens[0].clone(), cores, duration).await?;

    let next = Arc::new(AtomicUsize::new(0));
    let ok = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let first_error = Arc::new(std::sync::Mutex::new(None::<u16>));
    let running = Arc::new(AtomicBool::new(true));
    let cpu0 = server.pid().and_then(cpu_micros);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.concurrency {
        let (next, ok, errors, first_error, running, tokens) = (
            next.clone(),
            ok.clone(),
            errors.clone(),
            first_error.clone(),
            running.clone(),
            tokens.clone(),
        );
        let http = server.http.clone();
        let url = format!(
            "{}/api/v1/widgets/{}/sessions",
            server.base(),
            server.app_id
        );
        tasks.push(tokio::spawn(async move {
            while running.load(Ordering::Relaxed) {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let token = &tokens[i % tokens.len()];
                let status = match http
                    .post(&url)
                    .header("origin", SITE)
                    .header("authenticatedusertoken", token)
                    .send()
                    .await
                {
                    Ok(res) => {
                        let s = res.status().as_u16();
                        res.bytes().await.map(|_| s).ok()
                    }
                    Err(_) => None,
                };
                if status == Some(201) {
                    ok.fetch_add(1, Ordering::Relaxed);
                } else {
                    errors.fetch_add(1, Ordering::Relaxed);
                    if let Ok(mut f) = first_error.lock() {
                        f.get_or_insert(status.unwrap_or(0));
                    }
                }
            }
        }));
    }
    tokio::time::sleep(duration).await;
    running.store(false, Ordering::Relaxed);
    for t in tasks {
        t.await?;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let cpu1 = server.pid().and_then(cpu_micros);
    let created = ok.load(Ordering::Relaxed);
    let attempts = next.load(Ordering::Relaxed);
    let per_s = created as f64 / elapsed;
    let cpu_per = match (cpu0, cpu1) {
        (Some(a), Some(b)) if created > 0 => {
            Some(round(b.saturating_sub(a) as f64 / created as f64, 1))
        }
        _ => None,
    };
    let first_error = first_error.lock().ok().and_then(|f| *f);
    Ok(json!({
        "bench": "sessions",
        "build": profile(),
        "cores": cores,
        "duration_s": args.duration,
        "concurrency": args.concurrency,
        "created": created,
        "errors": errors.load(Ordering::Relaxed),
        "first_error_status": first_error,
        "fresh_subjects": attempts.min(tokens.len()),
        "repeated_subjects": attempts.saturating_sub(tokens.len()),
        "sessions_per_s": round(per_s, 1),
        "raw_verify_per_s": round(raw_per_s, 1),
        "ratio": round(per_s / raw_per_s, 3),
        "server_cpu_us_per_session": cpu_per,
        "target_per_s": TARGET_PER_S,
        "meets_target": per_s >= TARGET_PER_S,
    }))
}

/// Verifies `token` against the bench key with the service's rules (issuer, leeway) on `threads`
/// OS threads for `duration`.
async fn raw_verifies_per_second(
    server: &BenchServer,
    token: String,
    threads: usize,
    duration: Duration,
) -> anyhow::Result<f64> {
    let keys = KeySet::single(server.key.public_key().clone());
    let v = Validation::new(crate::cmd_token::unix_now())
        .with_issuer(ISSUER)
        .with_leeway(60);
    vouch_jwt::verify(&token, &keys, &v)?;
    tokio::task::spawn_blocking(move || {
        let count = AtomicU64::new(0);
        let start = Instant::now();
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| {
                    while start.elapsed() < duration {
                        if vouch_jwt::verify(&token, &keys, &v).is_ok() {
                            count.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                });
            }
        });
        count.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
    })
    .await
    .map_err(Into::into)
}
