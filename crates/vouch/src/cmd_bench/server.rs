//! The chat service under test: `vouch chat` started as a child process (so its CPU time and RSS
//! are its own, not the load generator's) on 127.0.0.1:0 with a temporary SQLite directory, or a
//! service already running on loopback (`--chat-url`). Beside it, a loopback key server that
//! publishes the bench's signing key, and the settings, widget and agents the load needs — all
//! created through the service's real admin API.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use clap::Args;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use vouch_chat::{ChatConfig, NewAgent, Role};
use vouch_jwt::SigningKey;

/// The website origin the bench widget allows (a name only: nothing is ever sent there).
pub const SITE_ORIGIN: &str = "http://shop.localhost";
/// The issuer of the bench's customer tokens.
pub const ISSUER: &str = "bench.localhost";
/// Password of the agents the bench creates in its own temporary database.
const BENCH_PASSWORD: &str = "bench agent password";
/// How long the child may take to print its address.
const START_TIMEOUT: Duration = Duration::from_secs(60);

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Where the service under test comes from.
#[derive(Args, Debug, Clone)]
pub struct ServerArgs {
    /// Bench a chat service already running on loopback (http://127.0.0.1:PORT) instead of
    /// starting `vouch chat` as a child process. It must run with --allow-private-key-urls and
    /// with its per-address limits raised; agents' and the admin's password in VOUCH_BENCH_PASSWORD.
    #[arg(long)]
    pub chat_url: Option<String>,
    /// With --chat-url: the service's process id, for its CPU and RSS figures (null without it).
    #[arg(long, requires = "chat_url")]
    pub server_pid: Option<u32>,
    /// With --chat-url: an admin's email (creates the bench's auth setting and widget).
    #[arg(long, requires = "chat_url")]
    pub admin_email: Option<String>,
    /// With --chat-url: an agent's email; repeat for several agents.
    #[arg(long = "agent-email", requires = "chat_url")]
    pub agent_emails: Vec<String>,
    /// Log filter of the child chat service (its VOUCH_LOG); its log goes to a file in the
    /// bench's temporary directory.
    #[arg(long, default_value = "warn")]
    pub server_log: String,
}

/// Limits the child is started with, raised so one loopback address can carry the whole load.
pub struct ChildLimits {
    pub sockets: usize,
    pub msg_rate: u32,
    pub msg_burst: u32,
}

/// A running service under test, ready for customers and agents.
pub struct BenchServer {
    pub base: String,
    ws_base: String,
    pub http: reqwest::Client,
    pub key: Arc<SigningKey>,
    pub app_id: String,
    /// Sign-in tokens of the agents, one per agent.
    pub agent_tokens: Vec<String>,
    pub pid: Option<u32>,
    child: Option<tokio::process::Child>,
    dir: Option<PathBuf>,
    _keys: KeyServer,
}

impl Drop for BenchServer {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.start_kill();
        }
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// `/publickey` on 127.0.0.1:0 with the bench key's PEM.
struct KeyServer {
    url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl KeyServer {
    async fn start(pem: String) -> anyhow::Result<KeyServer> {
        let app =
            axum::Router::new().route("/publickey", axum::routing::get(move || async move { pem }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/publickey", listener.local_addr()?);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(KeyServer {
            url,
            stop: Some(tx),
        })
    }
}

impl Drop for KeyServer {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

/// Refuses anything but a plain-HTTP URL whose host is a loopback address (or `localhost`).
fn loopback_base(url: &str) -> anyhow::Result<String> {
    let parsed = url::Url::parse(url).with_context(|| format!("--chat-url {url:?}"))?;
    if parsed.scheme() != "http" {
        bail!("--chat-url must be http:// on loopback (the bench never leaves this machine)");
    }
    let loopback = match parsed.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    if !loopback {
        bail!("--chat-url must name 127.0.0.0/8, ::1 or localhost: the bench sends load only to loopback");
    }
    Ok(url.trim_end_matches('/').to_string())
}

impl BenchServer {
    /// Starts (or reaches) the service, creates the auth setting and widget through the admin
    /// API and signs `agents` agents in.
    pub async fn start(
        args: &ServerArgs,
        agents: usize,
        limits: ChildLimits,
    ) -> anyhow::Result<BenchServer> {
        let key = tokio::task::spawn_blocking(|| SigningKey::generate(2048)).await??;
        let key = Arc::new(key);
        let keys = KeyServer::start(key.public_key().to_spki_pem()).await?;
        let http = reqwest::Client::builder()
            .no_proxy()
            .pool_max_idle_per_host(1024)
            .timeout(Duration::from_secs(30))
            .build()?;

        let (base, pid, child, dir, admin, agent_emails, password) = match &args.chat_url {
            Some(url) => {
                let password = std::env::var("VOUCH_BENCH_PASSWORD").map_err(|_| {
                    anyhow!(
                        "--chat-url needs the admin's and agents' password in VOUCH_BENCH_PASSWORD"
                    )
                })?;
                let admin = args.admin_email.clone().ok_or_else(|| {
                    anyhow!("--chat-url needs --admin-email (to create the bench's widget)")
                })?;
                if args.agent_emails.len() < agents {
                    bail!(
                        "--chat-url needs {agents} --agent-email (one per agent); got {}",
                        args.agent_emails.len()
                    );
                }
                let agent_emails = args.agent_emails[..agents].to_vec();
                (
                    loopback_base(url)?,
                    args.server_pid,
                    None,
                    None,
                    admin,
                    agent_emails,
                    password,
                )
            }
            None => {
                let dir = super::tempdir()?;
                let agent_emails: Vec<String> = (0..agents)
                    .map(|i| format!("agent{i}@bench.localhost"))
                    .collect();
                let admin = "admin@bench.localhost".to_string();
                seed_agents(&dir, &admin, &agent_emails).await?;
                let (child, base) = spawn_child(&dir, &args.server_log, &limits, agents).await?;
                (
                    base,
                    child.id(),
                    Some(child),
                    Some(dir),
                    admin,
                    agent_emails,
                    BENCH_PASSWORD.to_string(),
                )
            }
        };
        if let Some(pid) = pid {
            eprintln!(
                "bench: chat service {base}, pid {pid} (profile it with `perf record -p {pid}`)"
            );
        }
        let ws_base = format!("ws{}", base.trim_start_matches("http"));
        let mut server = BenchServer {
            base,
            ws_base,
            http,
            key,
            app_id: String::new(),
            agent_tokens: Vec::new(),
            pid,
            child,
            dir,
            _keys: keys,
        };
        let admin_token = server.login(&admin, &password).await?;
        server.app_id = server
            .create_widget(&admin_token, &server._keys.url)
            .await?;
        for email in &agent_emails {
            let token = server.login(email, &password).await?;
            server.agent_tokens.push(token);
        }
        Ok(server)
    }

    async fn login(&self, email: &str, password: &str) -> anyhow::Result<String> {
        let res = self
            .http
            .post(format!("{}/api/v1/agent/login", self.base))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .context("agent sign-in")?;
        let status = res.status();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        match body.get("token").and_then(Value::as_str) {
            Some(t) if status.is_success() => Ok(t.to_string()),
            _ => bail!("sign-in of {email} answered {status}: {body}"),
        }
    }

    /// An auth setting on the bench key server and a widget requiring sign-in, via the admin API.
    async fn create_widget(&self, admin: &str, key_url: &str) -> anyhow::Result<String> {
        let settings = self
            .admin_post(
                admin,
                "/api/v1/admin/auth-settings",
                json!({"name": "Bench", "public_key_url": key_url,
                       "function_name": "auth.getAuthenticationToken", "issuer": ISSUER}),
            )
            .await?;
        let Some(settings_id) = settings.get("id").and_then(Value::as_str) else {
            bail!("auth settings answered without id: {settings}");
        };
        let widget = self
            .admin_post(
                admin,
                "/api/v1/admin/widgets",
                json!({"name": "Bench", "allowed_origins": [SITE_ORIGIN],
                       "auth_settings_id": settings_id, "require_auth": true}),
            )
            .await?;
        match widget.get("app_id").and_then(Value::as_str) {
            Some(id) => Ok(id.to_string()),
            None => bail!("widget answered without app_id: {widget}"),
        }
    }

    async fn admin_post(&self, token: &str, path: &str, body: Value) -> anyhow::Result<Value> {
        let res = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .with_context(|| format!("POST {path}"))?;
        let status = res.status();
        let v: Value = res.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            bail!("POST {path} answered {status}: {v}");
        }
        Ok(v)
    }

    /// A customer token of the bench key for `sub` (valid for an hour).
    pub fn claims(sub: &str) -> Value {
        let now = crate::cmd_token::unix_now();
        json!({"iss": ISSUER, "sub": sub, "iat": now, "exp": now + 3600,
               "given_name": "Bench", "family_name": "Customer",
               "email": format!("{sub}@bench.localhost"), "preferred_username": sub})
    }

    /// `POST …/sessions` with a customer token; the status, and the body when 201.
    pub async fn create_session(
        &self,
        token: &str,
    ) -> Result<(String, String), (Option<u16>, String)> {
        let res = self
            .http
            .post(format!(
                "{}/api/v1/widgets/{}/sessions",
                self.base, self.app_id
            ))
            .header("origin", SITE_ORIGIN)
            .header("authenticatedusertoken", token)
            .send()
            .await
            .map_err(|e| (None, e.to_string()))?;
        let status = res.status();
        let body = res.bytes().await.map_err(|e| (None, e.to_string()))?;
        if status != reqwest::StatusCode::CREATED {
            return Err((
                Some(status.as_u16()),
                String::from_utf8_lossy(&body).into_owned(),
            ));
        }
        let v: Value = serde_json::from_slice(&body).map_err(|e| (None, e.to_string()))?;
        match (
            v.get("session_token").and_then(Value::as_str),
            v.get("conversation_id").and_then(Value::as_str),
        ) {
            (Some(s), Some(c)) => Ok((s.to_string(), c.to_string())),
            _ => Err((Some(201), format!("session answer without token: {v}"))),
        }
    }

    /// The agent `agent` accepts conversation `id`.
    pub async fn accept(&self, agent: usize, id: &str) -> anyhow::Result<()> {
        let res = self
            .http
            .post(format!(
                "{}/api/v1/agent/conversations/{id}/accept",
                self.base
            ))
            .bearer_auth(&self.agent_tokens[agent])
            .send()
            .await
            .context("accept")?;
        if !res.status().is_success() {
            bail!("accept of {id} answered {}", res.status());
        }
        Ok(())
    }

    /// A customer socket for a session (with the widget's allowed `Origin`).
    pub async fn connect_customer(&self, session_token: &str) -> anyhow::Result<Ws> {
        let mut req = format!("{}/api/v1/chat?session_token={session_token}", self.ws_base)
            .into_client_request()?;
        req.headers_mut()
            .insert("origin", HeaderValue::from_static(SITE_ORIGIN));
        let (ws, _) = tokio_tungstenite::connect_async_with_config(req, None, true)
            .await
            .context("customer socket")?;
        Ok(ws)
    }

    /// The socket of agent `agent` (Bearer sign-in).
    pub async fn connect_agent(&self, agent: usize) -> anyhow::Result<Ws> {
        let mut req = format!("{}/api/v1/agent/ws", self.ws_base).into_client_request()?;
        req.headers_mut().insert(
            "authorization",
            HeaderValue::from_str(&format!("Bearer {}", self.agent_tokens[agent]))?,
        );
        let (ws, _) = tokio_tungstenite::connect_async_with_config(req, None, true)
            .await
            .context("agent socket")?;
        Ok(ws)
    }

    /// Stops the child (SIGTERM, then SIGKILL after 10 s) and removes the temporary directory.
    pub async fn stop(mut self) {
        if let (Some(child), Some(pid)) = (&mut self.child, self.pid) {
            if let Ok(pid) = libc::pid_t::try_from(pid) {
                // SAFETY: kill(2) on the pid of our own child, which we have not reaped yet.
                unsafe {
                    libc::kill(pid, libc::SIGTERM);
                }
            }
            if tokio::time::timeout(Duration::from_secs(10), child.wait())
                .await
                .is_err()
            {
                let _ = child.kill().await;
            }
        }
    }
}

/// The admin and the agents, written into the child's database before it starts.
async fn seed_agents(dir: &std::path::Path, admin: &str, agents: &[String]) -> anyhow::Result<()> {
    let config = ChatConfig::with_data_dir(dir);
    let people = std::iter::once((admin.to_string(), Role::Admin))
        .chain(agents.iter().map(|e| (e.clone(), Role::Agent)));
    for (i, (email, role)) in people.enumerate() {
        vouch_chat::add_agent(
            &config,
            NewAgent {
                email,
                name: format!("Bench agent {i}"),
                role,
                password: BENCH_PASSWORD.into(),
            },
        )
        .await
        .context("adding a bench agent")?;
    }
    Ok(())
}

/// `vouch chat` on 127.0.0.1:0 as a child process; returns it and its base URL once it listens.
async fn spawn_child(
    dir: &std::path::Path,
    log: &str,
    limits: &ChildLimits,
    agents: usize,
) -> anyhow::Result<(tokio::process::Child, String)> {
    let exe = std::env::current_exe().context("locating the vouch binary")?;
    let log_file = std::fs::File::create(dir.join("server.log"))?;
    let mut cmd = tokio::process::Command::new(exe);
    // The child's configuration is the flags below, never the caller's VOUCH_* environment.
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("VOUCH_") {
            cmd.env_remove(name);
        }
    }
    let sign_ins = (agents + 10).max(60).to_string();
    cmd.env("VOUCH_LOG", log)
        .arg("chat")
        .args(["--addr", "127.0.0.1:0", "--allow-private-key-urls"])
        .arg("--data-dir")
        .arg(dir)
        .args(["--max-sockets-per-address", &limits.sockets.to_string()])
        .args(["--session-rate", "1000000", "--session-burst", "1000000"])
        .args(["--msg-rate", &limits.msg_rate.to_string()])
        .args(["--msg-burst", &limits.msg_burst.to_string()])
        .args([
            "--login-burst",
            &sign_ins,
            "--login-rate-per-minute",
            &sign_ins,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log_file))
        .kill_on_drop(true);
    let mut child = cmd.spawn().context("starting `vouch chat`")?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| anyhow!("no stdout of the child"))?;
    let mut lines = BufReader::new(stdout).lines();
    let base = tokio::time::timeout(START_TIMEOUT, async {
        while let Some(line) = lines.next_line().await? {
            if let Some(url) = line.strip_prefix("chat: ") {
                return Ok::<_, std::io::Error>(Some(url.trim().to_string()));
            }
        }
        Ok(None)
    })
    .await;
    let base = match base {
        Ok(Ok(Some(base))) => base,
        _ => {
            let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
            bail!("`vouch chat` did not start; its log:\n{log}");
        }
    };
    // Keep reading (and dropping) whatever else it prints, so it never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    loopback_base(&base)?;
    Ok((child, base))
}

/// User + system CPU time of a process so far, in microseconds (`/proc/<pid>/stat`).
pub fn cpu_micros(pid: u32) -> Option<u64> {
    cpu_split_micros(pid).map(|(user, system)| user + system)
}

/// (user, system) CPU time of a process so far, in microseconds (`/proc/<pid>/stat`).
pub fn cpu_split_micros(pid: u32) -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start at field 3 (state).
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let ticks = u64::try_from(ticks).ok().filter(|t| *t > 0)?;
    Some((utime * 1_000_000 / ticks, stime * 1_000_000 / ticks))
}

/// Resident set size of a process, in KiB (`VmRSS` of `/proc/<pid>/status`).
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}
