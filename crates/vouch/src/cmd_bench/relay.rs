//! The Node.js `ws` relay of `bench/node-relay` as a child process on 127.0.0.1 with a free
//! port: `vouch bench chat --baseline`'s same-run baseline (no authentication, no storage, no
//! acks; the same frames). Its output goes to a log file in the bench's directory.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use vouch_testkit::process::drain;
use vouch_testkit::ws::open;

use super::server::Ws;

/// How long the relay may take to print `listening <port>`.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// `bench/node-relay` under the current directory (a checkout), else in the checkout this binary
/// was built from.
pub fn default_dir() -> PathBuf {
    let here = Path::new("bench").join("node-relay");
    if here.join("relay.js").is_file() {
        return here;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/node-relay")
}

/// Why the relay cannot run here (no relay, `ws` not installed, no `node`), or None.
pub async fn unavailable(node: &Path, dir: &Path) -> Option<String> {
    if !dir.join("relay.js").is_file() {
        return Some(format!("no relay at {} (--relay-dir DIR)", dir.display()));
    }
    if !dir.join("node_modules/ws/package.json").is_file() {
        return Some(format!(
            "its `ws` package is not installed (run `npm ci` in {})",
            dir.display()
        ));
    }
    match tokio::process::Command::new(node)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await
    {
        Ok(s) if s.success() => None,
        Ok(s) => Some(format!("`{} --version` failed ({s})", node.display())),
        Err(e) => Some(format!("no `{}` to run it ({e})", node.display())),
    }
}

/// The running relay.
pub struct NodeRelay {
    child: tokio::process::Child,
    pub pid: u32,
    ws_base: String,
}

impl NodeRelay {
    /// Starts `node relay.js` in `dir` with its output in `log_dir/node-relay.log`.
    pub async fn start(node: &Path, dir: &Path, log_dir: &Path) -> anyhow::Result<NodeRelay> {
        let log_path = log_dir.join("node-relay.log");
        let log = std::fs::File::create(&log_path)?;
        let mut child = tokio::process::Command::new(node)
            .arg("relay.js")
            .current_dir(dir)
            .env("PORT", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .kill_on_drop(true)
            .spawn()
            .context("starting the Node.js relay")?;
        let pid = child.id().context("the relay's pid")?;
        let stdout = child.stdout.take().context("no stdout of the relay")?;
        let mut lines = BufReader::new(stdout).lines();
        let port = tokio::time::timeout(START_TIMEOUT, async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(p) = line.trim().strip_prefix("listening ") {
                    return p.parse::<u16>().ok();
                }
            }
            None
        })
        .await;
        let Ok(Some(port)) = port else {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            bail!("the Node.js relay did not start; its output:\n{log}");
        };
        drain(lines);
        Ok(NodeRelay {
            child,
            pid,
            ws_base: format!("ws://127.0.0.1:{port}"),
        })
    }

    /// The customer socket of conversation `id`.
    pub async fn customer(&self, id: &str) -> anyhow::Result<Ws> {
        let req = format!("{}/chat?conversation={id}", self.ws_base).into_client_request()?;
        open(req).await.context("relay customer socket")
    }

    /// An agent socket holding the conversations `ids`.
    pub async fn agent(&self, ids: &[String]) -> anyhow::Result<Ws> {
        let req = format!("{}/agent?conversations={}", self.ws_base, ids.join(","))
            .into_client_request()?;
        open(req).await.context("relay agent socket")
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}
