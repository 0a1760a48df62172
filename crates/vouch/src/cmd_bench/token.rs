//! `vouch bench token`: `/token` over HTTP with signed-in clients, beside raw RSA-2048 signing
//! and the blog's Node.js app (`tests/blog-app`), both measured in the same run with the same
//! key; the app only when Node.js and its packages are here (else a line says why, and no Node.js
//! figure is printed).
//!
//! * [`client`]: the hand-written HTTP client every phase uses.
//! * [`blog_app`]: the blog's app as a child process and its load phases.

mod blog_app;
mod client;

use std::path::{Path, PathBuf};
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
use blog_app::{BlogFigures, BlogLoad};
use client::{BenchClient, Route};

#[derive(Args, Debug)]
pub struct TokenBenchArgs {
    /// Concurrent signed-in clients (and as many connections to the blog's app).
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=256))]
    clients: u16,
    /// Seconds of load for each measurement (raw signing, `/token`, the blog's app), split over
    /// the rounds.
    #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u64).range(1..=MAX_SECONDS))]
    seconds: u64,
    /// Alternations of raw signing, `/token` load and the blog app's load. The cores' speed
    /// drifts by several per cent within a minute on a shared machine; alternating short phases
    /// (raw, HTTP, Node, raw, …, raw) exposes every measurement to the same drift instead of
    /// measuring one before the other.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=20))]
    rounds: u16,
    /// The blog's Node.js app, measured in the same run as the baseline [default:
    /// tests/blog-app of the current directory, else of the checkout vouch was built from].
    #[arg(long, value_name = "DIR")]
    blog_app: Option<PathBuf>,
    /// The Node.js binary that runs it.
    #[arg(long, value_name = "PATH", default_value = "node")]
    node: PathBuf,
}

pub async fn run(args: TokenBenchArgs) -> anyhow::Result<()> {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let phase = Duration::from_secs(args.seconds) / u32::from(args.rounds);
    let app = args.blog_app.clone().unwrap_or_else(blog_app::default_dir);
    let skipped = blog_app::unavailable(&args.node, &app).await;
    if let Some(why) = &skipped {
        eprintln!("bench: the blog's Node.js app is not measured in this run: {why}");
    }
    let node = skipped
        .is_none()
        .then_some((args.node.as_path(), app.as_path()));

    let dir = tempdir()?;
    let result = measure(&dir, &args, threads, phase, node).await;
    let _ = std::fs::remove_dir_all(&dir);
    let figures = result?;
    let (raw, http, errors) = (&figures.raw, &figures.token, figures.errors);
    let (raw_per_s, http_rps) = (raw.per_s, http.per_s);
    let blog = figures.blog.as_ref();
    let vs_node = blog
        .filter(|b| b.rate.per_s > 0.0)
        .map(|b| http_rps / b.rate.per_s);

    let ratio = http_rps / raw_per_s;
    // CPU time of the whole process per operation: unlike the rates, it barely moves when
    // other programs share the cores, so it shows where the time goes on a busy machine.
    let cpu_ratio = raw.cpu_us / http.cpu_us;
    println!(
        "{}",
        json!({
            "bench": "token",
            "clients": args.clients,
            "seconds": args.seconds,
            "rounds": args.rounds,
            "cores": threads,
            "token_http_rps": http_rps.round(),
            "raw_rsa2048_signs_per_s": raw_per_s.round(),
            "ratio": rounded(ratio, 1000.0),
            "target_ratio": 0.9,
            "node_baseline_rps": blog.map(|b| b.rate.per_s.round()),
            "vs_node": vs_node.map(|v| rounded(v, 100.0)),
            "cpu_us_per_node_request": blog.map(|b| rounded(b.rate.cpu_us, 10.0)),
            "node_errors": blog.map(|b| b.errors),
            "node_baseline_skipped": skipped,
            "errors": errors,
            "cpu_us_per_raw_sign": rounded(raw.cpu_us, 10.0),
            "cpu_us_per_token_request": rounded(http.cpu_us, 10.0),
            "cpu_ratio": rounded(cpu_ratio, 1000.0),
            "cpu_us_per_healthz_request": rounded(figures.healthz_cpu_us, 10.0),
        })
    );
    eprintln!(
        "/token over HTTP: {http_rps:.0}/s with {} clients; raw RSA-2048 signing: {raw_per_s:.0}/s on {threads} cores; \
         ratio {ratio:.2} (target ≥ 0.90)",
        args.clients,
    );
    match (blog, vs_node) {
        (Some(b), Some(vs)) => eprintln!(
            "the blog's Node.js app, same run, same client and {} connections: {:.0}/s, {:.0} µs CPU per request \
             (app + load generator); vouch's /token {vs:.1}× its rate",
            args.clients, b.rate.per_s, b.rate.cpu_us
        ),
        _ => eprintln!("the blog's Node.js app: not measured (no figure printed)"),
    }
    eprintln!(
        "CPU (whole process, load generator included): {:.0} µs per /token request, {:.0} µs per raw sign; \
         ratio {cpu_ratio:.2}; {:.0} µs per /healthz request on the same connections (HTTP alone)",
        http.cpu_us, raw.cpu_us, figures.healthz_cpu_us
    );
    Ok(())
}

/// `x` rounded to `1 / scale`.
fn rounded(x: f64, scale: f64) -> f64 {
    (x * scale).round() / scale
}

/// What one phase counted: operations, wall time and process CPU time.
#[derive(Clone, Copy, Default)]
struct Phase {
    count: u64,
    elapsed: Duration,
    cpu: Duration,
}

impl Phase {
    /// A phase that began at `start` with the process at `cpu_at_start` and counted `count`.
    fn ended(count: u64, start: Instant, cpu_at_start: Duration) -> Phase {
        Phase {
            count,
            elapsed: start.elapsed(),
            cpu: process_cpu() - cpu_at_start,
        }
    }
}

impl std::ops::AddAssign for Phase {
    fn add_assign(&mut self, other: Phase) {
        self.count += other.count;
        self.elapsed += other.elapsed;
        self.cpu += other.cpu;
    }
}

/// A rate and the process CPU time spent per operation while it was measured.
struct Rate {
    per_s: f64,
    cpu_us: f64,
}

impl From<Phase> for Rate {
    fn from(p: Phase) -> Rate {
        let n = p.count.max(1) as f64;
        Rate {
            per_s: p.count as f64 / p.elapsed.as_secs_f64().max(1e-9),
            cpu_us: p.cpu.as_secs_f64() * 1e6 / n,
        }
    }
}

/// User + system CPU time of this process so far (every thread).
fn process_cpu() -> Duration {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage only writes the struct it is given; RUSAGE_SELF cannot fail.
    let usage = unsafe {
        libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr());
        usage.assume_init()
    };
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// Signs a portal-shaped claim set with `key` on `threads` OS threads for `duration`.
async fn raw_signs(
    key: Arc<SigningKey>,
    threads: usize,
    duration: Duration,
) -> anyhow::Result<Phase> {
    tokio::task::spawn_blocking(move || {
        let count = AtomicU64::new(0);
        let (start, cpu) = (Instant::now(), process_cpu());
        std::thread::scope(|scope| {
            for _ in 0..threads {
                let (key, count) = (&key, &count);
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
        Phase::ended(count.load(Ordering::Relaxed), start, cpu)
    })
    .await
    .context("raw signing threads")
}

fn bench_claims() -> serde_json::Value {
    json!({"iss": "127.0.0.1", "sub": "66cb446f-5e43-4a11-a812-000d3a24c087", "iat": 1_700_000_000,
           "exp": 1_700_000_900, "preferred_username": "bench@example.com", "email": "bench@example.com",
           "given_name": "Bench", "family_name": "User", "phone_number": "+1 555 0100"})
}

/// Starts a real portal on loopback and signs `clients` users in through the form, and the
/// blog's app when `node` names it (Node.js, the app's directory); then alternates raw signing
/// on every core, every client fetching `/token` in a loop and as many connections fetching the
/// app's `/privatekey` (`rounds` times, ending with raw signing), and finally has the portal's
/// clients ask for `/healthz` for comparison.
async fn measure(
    dir: &Path,
    args: &TokenBenchArgs,
    threads: usize,
    phase: Duration,
    node: Option<(&Path, &Path)>,
) -> anyhow::Result<Figures> {
    let clients = args.clients;
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
        let cookie = sign_in(&base).await?;
        signed_in.push(BenchClient::connect(config.addr, Some(&cookie)).await?);
    }
    // The same library and key size the portal signs with; the key parsed once, as there.
    let key = Arc::new(SigningKey::generate(2048)?);
    let mut blog = match node {
        Some((node, app)) => Some(BlogLoad::start(node, app, &key, clients).await?),
        None => None,
    };
    let (mut raw, mut token, mut errors) = (Phase::default(), Phase::default(), 0);
    for _ in 0..args.rounds {
        raw += raw_signs(key.clone(), threads, phase).await?;
        let (back, measured, failed) = load(signed_in, Route::Token, phase).await?;
        (signed_in, errors) = (back, errors + failed);
        token += measured;
        if let Some(blog) = blog.as_mut() {
            blog.phase(phase).await?;
        }
    }
    raw += raw_signs(key, threads, phase).await?;
    // The same clients on the same connections, through the same middleware, to a route with
    // no session read and no signature: what HTTP itself costs on these cores.
    let (_, health, health_errors) =
        load(signed_in, Route::Healthz, phase.min(HEALTHZ_PHASE)).await?;
    let _ = stop_tx.send(true);
    server.await??;
    let blog = match blog {
        Some(blog) => Some(blog.finish().await),
        None => None,
    };
    Ok(Figures {
        raw: raw.into(),
        token: token.into(),
        healthz_cpu_us: Rate::from(health).cpu_us,
        errors: errors + health_errors,
        blog,
    })
}

/// How long the `/healthz` comparison runs (CPU per request settles within a second).
const HEALTHZ_PHASE: Duration = Duration::from_secs(2);

/// What the bench measured.
struct Figures {
    raw: Rate,
    token: Rate,
    /// Process CPU per `GET /healthz` on the same connections.
    healthz_cpu_us: f64,
    errors: u64,
    /// The blog's app, when it ran.
    blog: Option<BlogFigures>,
}

/// Every client asks for `route` in a loop for `duration`; returns the clients (for the next
/// phase), the good answers with the time and CPU they took, and the errors.
async fn load(
    clients: Vec<BenchClient>,
    route: Route,
    duration: Duration,
) -> anyhow::Result<(Vec<BenchClient>, Phase, u64)> {
    let running = Arc::new(AtomicBool::new(true));
    let ok = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let warned = Arc::new(AtomicBool::new(false));
    let (start, cpu) = (Instant::now(), process_cpu());
    let mut tasks = Vec::new();
    for mut client in clients {
        let (running, ok, errors, warned) =
            (running.clone(), ok.clone(), errors.clone(), warned.clone());
        tasks.push(tokio::spawn(async move {
            while running.load(Ordering::Relaxed) {
                match client.fetch(route).await {
                    Ok(()) => {
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                        // One line per phase: a server that went away must not flood the
                        // terminal; the rest are counted.
                        if !warned.swap(true, Ordering::Relaxed) {
                            tracing::warn!(error = %e, path = route.path(), "request failed; reconnecting (further failures in this phase are only counted)");
                        }
                        // A fresh connection (bounded by the loop's deadline like the rest).
                        if client.reconnect().await.is_err() {
                            tokio::time::sleep(Duration::from_millis(10)).await;
                        }
                    }
                }
            }
            client
        }));
    }
    tokio::time::sleep(duration).await;
    running.store(false, Ordering::Relaxed);
    let mut clients = Vec::with_capacity(tasks.len());
    for task in tasks {
        clients.push(task.await?);
    }
    let phase = Phase::ended(ok.load(Ordering::Relaxed), start, cpu);
    Ok((clients, phase, errors.load(Ordering::Relaxed)))
}

/// Signs in through the real login form (CSRF token and cookie), like a browser, and returns
/// the `Cookie` header the browser would send to `/token`.
async fn sign_in(base: &str) -> anyhow::Result<String> {
    let jar = Arc::new(reqwest::cookie::Jar::default());
    let client = reqwest::Client::builder()
        .cookie_provider(jar.clone())
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
    let url = format!("{base}/token").parse()?;
    let cookie =
        reqwest::cookie::CookieStore::cookies(&*jar, &url).context("no cookie after signing in")?;
    Ok(cookie.to_str()?.to_string())
}
