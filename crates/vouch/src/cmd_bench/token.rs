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
    /// Seconds of load for each of the two measurements (split over the rounds).
    #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u64).range(1..=MAX_SECONDS))]
    seconds: u64,
    /// Alternations of raw signing and `/token` load. The cores' speed drifts by several per cent
    /// within a minute on a shared machine; alternating short phases (raw, HTTP, raw, …, raw)
    /// exposes both measurements to the same drift instead of measuring one before the other.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=20))]
    rounds: u16,
}

pub async fn run(args: TokenBenchArgs) -> anyhow::Result<()> {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let phase = Duration::from_secs(args.seconds) / u32::from(args.rounds);

    let dir = tempdir()?;
    let result = measure(&dir, args.clients, threads, args.rounds, phase).await;
    let _ = std::fs::remove_dir_all(&dir);
    let figures = result?;
    let (raw, http, errors) = (&figures.raw, &figures.token, figures.errors);
    let (raw_per_s, http_rps) = (raw.per_s, http.per_s);

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
            "ratio": (ratio * 1000.0).round() / 1000.0,
            "target_ratio": 0.9,
            "node_baseline_rps": NODE_BASELINE_RPS,
            "vs_node": (http_rps / NODE_BASELINE_RPS * 10.0).round() / 10.0,
            "errors": errors,
            "cpu_us_per_raw_sign": (raw.cpu_us * 10.0).round() / 10.0,
            "cpu_us_per_token_request": (http.cpu_us * 10.0).round() / 10.0,
            "cpu_ratio": (cpu_ratio * 1000.0).round() / 1000.0,
            "cpu_us_per_healthz_request": (figures.healthz_cpu_us * 10.0).round() / 10.0,
        })
    );
    eprintln!(
        "/token over HTTP: {http_rps:.0}/s with {} clients; raw RSA-2048 signing: {raw_per_s:.0}/s on {threads} cores; \
         ratio {ratio:.2} (target ≥ 0.90); {:.1}× the blog's Node.js app ({NODE_BASELINE_RPS}/s)",
        args.clients,
        http_rps / NODE_BASELINE_RPS
    );
    eprintln!(
        "CPU (whole process, load generator included): {:.0} µs per /token request, {:.0} µs per raw sign; \
         ratio {cpu_ratio:.2}; {:.0} µs per /healthz request on the same connections (HTTP alone)",
        http.cpu_us, raw.cpu_us, figures.healthz_cpu_us
    );
    Ok(())
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

/// Starts a real portal on loopback and signs `clients` users in through the form; then
/// alternates raw signing on every core with every client fetching `/token` in a loop
/// (`rounds` times, ending with raw signing), and finally has the same clients ask for
/// `/healthz` for comparison.
async fn measure(
    dir: &std::path::Path,
    clients: u16,
    threads: usize,
    rounds: u16,
    phase: Duration,
) -> anyhow::Result<Figures> {
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
        signed_in.push(BenchClient::connect(config.addr, &cookie).await?);
    }
    // The same library and key size the portal signs with; the key parsed once, as there.
    let key = Arc::new(SigningKey::generate(2048)?);
    let (mut raw, mut token, mut errors) = (Phase::default(), Phase::default(), 0);
    for _ in 0..rounds {
        raw += raw_signs(key.clone(), threads, phase).await?;
        let (back, measured, failed) = load(signed_in, Route::Token, phase).await?;
        (signed_in, errors) = (back, errors + failed);
        token += measured;
    }
    raw += raw_signs(key, threads, phase).await?;
    // The same clients on the same connections, through the same middleware, to a route with
    // no session read and no signature: what HTTP itself costs on these cores.
    let (_, health, health_errors) =
        load(signed_in, Route::Healthz, phase.min(HEALTHZ_PHASE)).await?;
    let _ = stop_tx.send(true);
    server.await??;
    Ok(Figures {
        raw: raw.into(),
        token: token.into(),
        healthz_cpu_us: Rate::from(health).cpu_us,
        errors: errors + health_errors,
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
    let (start, cpu) = (Instant::now(), process_cpu());
    let mut tasks = Vec::new();
    for mut client in clients {
        let (running, ok, errors) = (running.clone(), ok.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            while running.load(Ordering::Relaxed) {
                match client.fetch(route).await {
                    Ok(()) => {
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(error = %e, path = route.path(), "request failed; reconnecting");
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

/// Largest answer the client accepts: a token is under 2 KiB, the headers under 1 KiB.
const MAX_RESPONSE_BYTES: usize = 16 * 1024;

/// The routes the bench asks for.
#[derive(Clone, Copy)]
enum Route {
    Token,
    Healthz,
}

impl Route {
    fn path(self) -> &'static str {
        match self {
            Route::Token => "/token",
            Route::Healthz => "/healthz",
        }
    }
}

/// One signed-in browser tab asking for `/token` over one keep-alive HTTP/1.1 connection.
///
/// Written by hand on purpose: the bench measures the *server*, and the load generator shares
/// the same two cores. A general client (reqwest on hyper: URL parsing, a connection pool,
/// header maps, a dispatch task per connection) cost about as much CPU per request as the
/// portal's own HTTP framing, so the bench was largely measuring its client. This one writes a
/// prebuilt request and reads one `Content-Length` answer; everything the server does is
/// unchanged. Every answer is checked — status 200, `Cache-Control: no-store`, and for `/token`
/// `Content-Type: application/jwt` with a JWT-shaped body — anything else is an error, never a
/// request served.
struct BenchClient {
    addr: std::net::SocketAddr,
    stream: tokio::net::TcpStream,
    token_request: Vec<u8>,
    healthz_request: Vec<u8>,
    buf: Vec<u8>,
}

impl BenchClient {
    async fn connect(addr: std::net::SocketAddr, cookie: &str) -> anyhow::Result<BenchClient> {
        let request = |path: &str| {
            format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\n\r\n").into_bytes()
        };
        Ok(BenchClient {
            addr,
            stream: Self::open(addr).await?,
            token_request: request(Route::Token.path()),
            healthz_request: request(Route::Healthz.path()),
            buf: Vec::with_capacity(4096),
        })
    }

    async fn open(addr: std::net::SocketAddr) -> anyhow::Result<tokio::net::TcpStream> {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }

    async fn reconnect(&mut self) -> anyhow::Result<()> {
        self.buf.clear();
        self.stream = Self::open(self.addr).await?;
        Ok(())
    }

    /// One `GET`: Ok when the answer is a 200 with the body `route` must have.
    async fn fetch(&mut self, route: Route) -> anyhow::Result<()> {
        use tokio::io::AsyncWriteExt;
        let (request, content_type) = match route {
            Route::Token => (&self.token_request, "application/jwt"),
            Route::Healthz => (&self.healthz_request, "text/plain; charset=utf-8"),
        };
        self.stream.write_all(request).await?;
        self.buf.clear();
        let (head_len, body_len) = loop {
            if let Some(end) = find(&self.buf, b"\r\n\r\n") {
                let head = std::str::from_utf8(&self.buf[..end])?;
                break (end + 4, check_head(head, content_type)?);
            }
            self.read_more().await?;
        };
        while self.buf.len() < head_len + body_len {
            self.read_more().await?;
        }
        if self.buf.len() != head_len + body_len {
            bail!("bytes after the answer's body");
        }
        let body = &self.buf[head_len..];
        let good = match route {
            Route::Token => is_jwt_shaped(body),
            Route::Healthz => body == b"ok\n",
        };
        if !good {
            bail!("unexpected body from {}", route.path());
        }
        Ok(())
    }

    /// Appends what the socket has to `buf` (its capacity is kept between requests).
    async fn read_more(&mut self) -> anyhow::Result<()> {
        use tokio::io::AsyncReadExt;
        if self.buf.len() >= MAX_RESPONSE_BYTES {
            bail!("answer larger than {MAX_RESPONSE_BYTES} bytes");
        }
        if self.stream.read_buf(&mut self.buf).await? == 0 {
            bail!("the server closed the connection");
        }
        Ok(())
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Checks the status line and headers of an answer; returns the body's length.
fn check_head(head: &str, content_type: &str) -> anyhow::Result<usize> {
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or("");
    if !status.starts_with("HTTP/1.1 200 ") {
        bail!("status line {status:?}");
    }
    let (mut length, mut typed, mut no_store) = (None, false, false);
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            bail!("malformed header line");
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = Some(value.parse::<usize>()?);
        } else if name.eq_ignore_ascii_case("content-type") {
            typed = value == content_type;
        } else if name.eq_ignore_ascii_case("cache-control") {
            no_store = value == "no-store";
        } else if name.eq_ignore_ascii_case("transfer-encoding")
            || (name.eq_ignore_ascii_case("connection") && value.eq_ignore_ascii_case("close"))
        {
            bail!("unexpected {name}: {value}");
        }
    }
    if !typed || !no_store {
        bail!("missing Content-Type: {content_type} or Cache-Control: no-store");
    }
    length.context("no Content-Length")
}

/// Three non-empty base64url segments separated by dots.
fn is_jwt_shaped(body: &[u8]) -> bool {
    let mut parts = 0;
    for part in body.split(|b| *b == b'.') {
        parts += 1;
        if part.is_empty()
            || !part
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
        {
            return false;
        }
    }
    parts == 3
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

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str =
        "HTTP/1.1 200 OK\r\ncontent-type: application/jwt\r\ncache-control: no-store\r\n\
                        content-length: 12";

    #[test]
    fn only_a_200_jwt_that_is_not_cached_counts() {
        assert_eq!(check_head(GOOD, "application/jwt").unwrap(), 12);
        let refused = [
            GOOD.replace("200 OK", "401 Unauthorized"),
            GOOD.replace("application/jwt", "text/plain; charset=utf-8"),
            GOOD.replace("no-store", "public, max-age=60"),
            GOOD.replace("content-length: 12", "transfer-encoding: chunked"),
            format!("{GOOD}\r\nconnection: close"),
            "HTTP/1.1 200 OK\r\nbroken header".to_string(),
        ];
        for head in refused {
            assert!(check_head(&head, "application/jwt").is_err(), "{head}");
        }
    }

    #[test]
    fn a_jwt_is_three_base64url_segments() {
        assert!(is_jwt_shaped(b"eyJh.eyJz.c2ln-_"));
        for bad in [
            &b"eyJh.eyJz"[..],
            b"eyJh..c2ln",
            b"eyJh.eyJz.c2ln.x",
            b"not signed in\n",
            b"",
        ] {
            assert!(!is_jwt_shaped(bad), "{}", String::from_utf8_lossy(bad));
        }
    }
}
