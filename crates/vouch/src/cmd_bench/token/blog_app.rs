//! The blog's Node.js app (`tests/blog-app`: express + jsonwebtoken, its two routes verbatim)
//! as a child process on 127.0.0.1 with a free port: `vouch bench token`'s same-run baseline.
//! It signs with the bench's key, from the files its code reads on every request. Its output
//! goes to a log file in its own temporary directory, removed when the app stopped after a clean
//! run and kept (its path printed) when something failed.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, BufReader, Lines};
use vouch_jwt::SigningKey;
use vouch_testkit::process::drain;

use super::client::{BenchClient, Route};
use super::{load, Phase, Rate};
use crate::cmd_bench::procstat;

/// How long the app may take to print `listening <port>`.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// `tests/blog-app` under the current directory (a checkout), else in the checkout this binary
/// was built from.
pub fn default_dir() -> PathBuf {
    let here = Path::new("tests").join("blog-app");
    if here.join("app.js").is_file() {
        return here;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/blog-app")
}

/// Why the app cannot run here (no app, its packages not installed, no `node`), or None.
pub async fn unavailable(node: &Path, app: &Path) -> Option<String> {
    if !app.join("app.js").is_file() {
        return Some(format!("no blog app at {} (--blog-app DIR)", app.display()));
    }
    for package in ["express", "jsonwebtoken"] {
        if !app
            .join("node_modules")
            .join(package)
            .join("package.json")
            .is_file()
        {
            return Some(format!(
                "its packages are not installed (run `npm ci` in {})",
                app.display()
            ));
        }
    }
    let status = tokio::process::Command::new(node)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await;
    match status {
        Ok(s) if s.success() => None,
        Ok(s) => Some(format!("`{} --version` failed ({s})", node.display())),
        Err(e) => Some(format!("no `{}` to run it ({e})", node.display())),
    }
}

/// What the app's phases measured: its rate, and CPU per request of the app *and* this process
/// (the load generator), as the portal's figure counts both.
pub struct BlogFigures {
    pub rate: Rate,
    pub errors: u64,
}

/// The app under the bench's load: its process, one client per portal client, and what the
/// phases counted so far.
pub struct BlogLoad {
    app: BlogApp,
    clients: Vec<BenchClient>,
    measured: Phase,
    errors: u64,
}

impl BlogLoad {
    pub async fn start(
        node: &Path,
        app: &Path,
        key: &SigningKey,
        clients: u16,
    ) -> anyhow::Result<BlogLoad> {
        let app = BlogApp::start(node, app, key).await?;
        let mut conns = Vec::with_capacity(usize::from(clients));
        for _ in 0..clients {
            let conn = BenchClient::connect(app.addr, None).await;
            conns.push(conn.with_context(|| {
                format!(
                    "connecting to the blog's app; its output: {}",
                    app.log.display()
                )
            })?);
        }
        Ok(BlogLoad {
            app,
            clients: conns,
            measured: Phase::default(),
            errors: 0,
        })
    }

    /// One phase: every client asks for `/privatekey` on a fresh connection (Node closes
    /// connections idle for 5 s, as long as a phase of the other kinds may last).
    pub async fn phase(&mut self, duration: Duration) -> anyhow::Result<()> {
        for client in &mut self.clients {
            client.reconnect().await.with_context(|| {
                format!(
                    "reconnecting to the blog's app; its output: {}",
                    self.app.log.display()
                )
            })?;
        }
        let before = self.app.cpu();
        let clients = std::mem::take(&mut self.clients);
        let (clients, mut measured, errors) = load(clients, Route::BlogToken, duration).await?;
        measured.cpu += self.app.cpu().saturating_sub(before);
        self.clients = clients;
        self.measured += measured;
        self.errors += errors;
        Ok(())
    }

    /// Stops the app and returns what it measured.
    pub async fn finish(self) -> BlogFigures {
        if let Some(log) = self.app.stop(self.errors > 0).await {
            eprintln!(
                "bench: {} requests to the blog's app failed; its output: {}",
                self.errors,
                log.display()
            );
        }
        BlogFigures {
            rate: self.measured.into(),
            errors: self.errors,
        }
    }
}

/// The running app.
struct BlogApp {
    addr: SocketAddr,
    pid: u32,
    dir: PathBuf,
    log: PathBuf,
    child: tokio::process::Child,
}

impl BlogApp {
    async fn start(node: &Path, app: &Path, key: &SigningKey) -> anyhow::Result<BlogApp> {
        let script = app
            .join("app.js")
            .canonicalize()
            .context("locating the blog's app")?;
        let dir = std::env::temp_dir().join(format!(
            "vouch-bench-blog-app-{}-{}",
            std::process::id(),
            crate::cmd_token::unix_now()
        ));
        let keys = dir.join("keys");
        std::fs::create_dir_all(&keys)?;
        // The formats the blog's openssl commands write: PKCS#8 and SPKI PEM.
        std::fs::write(keys.join("private.key"), key.to_pkcs8_pem())?;
        std::fs::write(keys.join("public.key"), key.public_key().to_spki_pem())?;
        let log = dir.join("blog-app.log");
        let mut child = tokio::process::Command::new(node)
            .arg(&script)
            .current_dir(&dir)
            .env("PORT", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(std::fs::File::create(&log)?))
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", node.display()))?;
        let pid = child.id().context("the blog's app exited at once")?;
        let stdout = child.stdout.take().context("no stdout of the blog's app")?;
        let mut lines = BufReader::new(stdout).lines();
        let port = tokio::time::timeout(START_TIMEOUT, listening_port(&mut lines)).await;
        let Ok(Some(port)) = port else {
            bail!(
                "the blog's app did not start within {START_TIMEOUT:?}; its output: {}",
                log.display()
            );
        };
        drain(lines);
        Ok(BlogApp {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            pid,
            dir,
            log,
            child,
        })
    }

    /// The app's CPU time so far (zero once it is gone).
    fn cpu(&self) -> Duration {
        Duration::from_micros(procstat::cpu_micros(self.pid).unwrap_or(0))
    }

    /// Stops the app; removes its directory, or keeps it and returns its log's path when `keep`.
    async fn stop(mut self, keep: bool) -> Option<PathBuf> {
        let _ = self.child.kill().await;
        if keep {
            return Some(self.log);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
        None
    }
}

/// Reads the app's stdout until it prints `listening <port>`.
async fn listening_port<R: AsyncBufRead + Unpin>(lines: &mut Lines<R>) -> Option<u16> {
    while let Ok(Some(line)) = lines.next_line().await {
        if let Some(port) = line.trim().strip_prefix("listening ") {
            return port.parse().ok();
        }
    }
    None
}
