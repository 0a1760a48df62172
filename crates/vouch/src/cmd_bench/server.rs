//! The chat service under test: `vouch chat` started as child processes (so their CPU time and
//! RSS are their own, not the load generator's) on 127.0.0.1:0 — one node on a temporary SQLite
//! directory, or 1–5 nodes sharing a fresh PostgreSQL database of their own and joined by NATS
//! (`--nodes`, `--database-url`, `--nats-url`) — or a service already running on loopback
//! (`--chat-url`). Beside it, a loopback key server that publishes the bench's signing key, and
//! the settings, widget and agents the load needs — all created through the service's real
//! admin API on node 0.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
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
use vouch_chat::storage::postgres::ScratchDatabase;
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

/// Most chat nodes the bench starts.
pub const MAX_NODES: u8 = 5;

/// How many chat nodes the bench starts, and what they share.
#[derive(Args, Debug, Clone)]
pub struct NodesArgs {
    /// Chat nodes to start (1–5). Customers of pair i connect to node i mod N and their agent to
    /// node (i+1) mod N, so with N ≥ 2 every message crosses nodes (through NATS). More than one
    /// node needs --database-url and --nats-url.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=MAX_NODES as i64))]
    pub nodes: u8,
    /// A PostgreSQL server on loopback (postgres://USER@127.0.0.1:5432/DB, any database there):
    /// the bench creates a fresh database of its own on it for the nodes and drops it at the end.
    /// Without it the one node runs on a temporary SQLite directory.
    #[arg(long)]
    pub database_url: Option<String>,
    /// NATS on loopback (nats://127.0.0.1:4222) joining the nodes; the bench uses subjects of its
    /// own (a fresh --nats-subject-prefix), so other users of that NATS are not disturbed.
    #[arg(long)]
    pub nats_url: Option<String>,
    /// With --nodes 2 or more: skip the same-run baseline (the same load on one PostgreSQL node
    /// without NATS, on a fresh database, before the N-node run) and so the cross-node figures.
    #[arg(long)]
    pub no_baseline: bool,
}

/// The storage the bench's own nodes share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// A temporary SQLite directory (one node).
    Sqlite,
    /// A fresh database made on this PostgreSQL server; the nodes joined by NATS when given.
    Postgres {
        admin_url: String,
        nats_url: Option<String>,
    },
    /// The service at --chat-url (whatever it runs on).
    External,
}

impl Backend {
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres { .. } => "postgres",
            Backend::External => "external",
        }
    }
}

/// What the bench runs against: `nodes` chat processes on `backend`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    pub nodes: usize,
    pub backend: Backend,
}

impl Topology {
    /// One node on SQLite, or the service at `--chat-url`.
    pub fn single(server: &ServerArgs) -> Topology {
        Topology {
            nodes: 1,
            backend: if server.chat_url.is_some() {
                Backend::External
            } else {
                Backend::Sqlite
            },
        }
    }

    /// The same back-end with one node and no NATS: the baseline the cross-node figures are
    /// measured against. None when there is no such baseline (SQLite, --chat-url).
    pub fn one_node_baseline(&self) -> Option<Topology> {
        match &self.backend {
            Backend::Postgres { admin_url, .. } => Some(Topology {
                nodes: 1,
                backend: Backend::Postgres {
                    admin_url: admin_url.clone(),
                    nats_url: None,
                },
            }),
            Backend::Sqlite | Backend::External => None,
        }
    }
}

impl NodesArgs {
    /// Checks the flags together with `--chat-url`: several nodes need a shared PostgreSQL
    /// database and NATS, and every address must be on loopback — the bench never sends a
    /// packet off this machine.
    pub fn topology(&self, server: &ServerArgs) -> anyhow::Result<Topology> {
        let nodes = usize::from(self.nodes);
        if !(1..=usize::from(MAX_NODES)).contains(&nodes) {
            bail!("--nodes {nodes}: 1 to {MAX_NODES}");
        }
        if server.chat_url.is_some() {
            if nodes > 1 || self.database_url.is_some() || self.nats_url.is_some() {
                bail!(
                    "--chat-url benches one running service: --nodes, --database-url and \
                     --nats-url are for the nodes the bench starts itself"
                );
            }
            return Ok(Topology::single(server));
        }
        let Some(database_url) = &self.database_url else {
            if nodes > 1 {
                bail!(
                    "--nodes {nodes} needs --database-url postgres://… and --nats-url nats://…: \
                     several nodes share one PostgreSQL database and are joined by NATS"
                );
            }
            if self.nats_url.is_some() {
                bail!("--nats-url joins nodes sharing a PostgreSQL database: add --database-url postgres://…");
            }
            return Ok(Topology::single(server));
        };
        let db = url::Url::parse(database_url).context("--database-url")?;
        if !matches!(db.scheme(), "postgres" | "postgresql") {
            bail!(
                "--database-url must be postgres://… (the bench makes its own database there; \
                 without the flag it runs one node on a temporary SQLite directory)"
            );
        }
        require_loopback(&db, "--database-url")?;
        // libpq-style `host=` / `hostaddr=` parameters override the URL's host (a path is a
        // Unix socket, which stays on this machine).
        for (name, value) in db.query_pairs() {
            if matches!(&*name, "host" | "hostaddr")
                && !value.starts_with('/')
                && !loopback_name(&value)
            {
                bail!("--database-url: {name}={value} is not on loopback: the bench uses only this machine's PostgreSQL");
            }
        }
        let nats_url = match &self.nats_url {
            Some(url) => {
                let nats = url::Url::parse(url).context("--nats-url")?;
                if nats.scheme() != "nats" {
                    bail!("--nats-url must be nats://127.0.0.1:PORT (plain NATS on loopback)");
                }
                require_loopback(&nats, "--nats-url")?;
                Some(url.clone())
            }
            None if nodes > 1 => {
                bail!("--nodes {nodes} needs --nats-url nats://…: it carries each message to the other nodes' sockets")
            }
            None => None,
        };
        Ok(Topology {
            nodes,
            backend: Backend::Postgres {
                admin_url: database_url.clone(),
                nats_url,
            },
        })
    }
}

/// Limits the child is started with, raised so one loopback address can carry the whole load.
pub struct ChildLimits {
    pub sockets: usize,
    pub msg_rate: u32,
    pub msg_burst: u32,
}

/// One chat node of the service under test.
struct Node {
    base: String,
    ws_base: String,
    pid: Option<u32>,
    child: Option<tokio::process::Child>,
}

impl Node {
    fn new(base: String, pid: Option<u32>, child: Option<tokio::process::Child>) -> Node {
        let ws_base = format!("ws{}", base.trim_start_matches("http"));
        Node {
            base,
            ws_base,
            pid,
            child,
        }
    }
}

/// A running service under test (one or several nodes), ready for customers and agents.
/// Settings, widget and sign-ins go through node 0.
pub struct BenchServer {
    nodes: Vec<Node>,
    backend: &'static str,
    pub http: reqwest::Client,
    pub key: Arc<SigningKey>,
    pub app_id: String,
    /// Sign-in tokens of the agents, one per agent.
    pub agent_tokens: Vec<String>,
    dir: Option<PathBuf>,
    /// The nodes' PostgreSQL database; dropped when the bench ends (also on an error).
    database: Option<ScratchDatabase>,
    _keys: KeyServer,
}

impl Drop for BenchServer {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            if let Some(child) = &mut node.child {
                let _ = child.start_kill();
            }
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
    require_loopback(&parsed, "--chat-url")?;
    Ok(url.trim_end_matches('/').to_string())
}

/// The URL names 127.0.0.0/8, ::1 or `localhost` explicitly (no host at all would let the
/// client pick one from its environment, e.g. PGHOST).
fn require_loopback(url: &url::Url, flag: &str) -> anyhow::Result<()> {
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        // Schemes the URL standard does not know (postgres://, nats://) keep an IPv4 address
        // as an opaque host name.
        Some(url::Host::Domain(d)) => loopback_name(d),
        None => false,
    };
    if !loopback {
        bail!("{flag} must name 127.0.0.0/8, ::1 or localhost: the bench never sends a packet off this machine");
    }
    Ok(())
}

/// A host name or address (no URL around it) that is loopback.
fn loopback_name(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl BenchServer {
    /// Starts the nodes of `topology` (or reaches `--chat-url`), creates the auth setting and
    /// widget through the admin API of node 0 and signs `agents` agents in there.
    pub async fn start(
        args: &ServerArgs,
        topology: &Topology,
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

        let mut server = BenchServer {
            nodes: Vec::new(),
            backend: topology.backend.name(),
            http,
            key,
            app_id: String::new(),
            agent_tokens: Vec::new(),
            dir: None,
            database: None,
            _keys: keys,
        };
        let (admin, agent_emails, password) = match &args.chat_url {
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
                server
                    .nodes
                    .push(Node::new(loopback_base(url)?, args.server_pid, None));
                (admin, args.agent_emails[..agents].to_vec(), password)
            }
            None => {
                let dir = super::tempdir()?;
                server.dir = Some(dir.clone());
                let agent_emails: Vec<String> = (0..agents)
                    .map(|i| format!("agent{i}@bench.localhost"))
                    .collect();
                let admin = "admin@bench.localhost".to_string();
                let mut config = ChatConfig::with_data_dir(&dir);
                let mut store_args: Vec<OsString> = vec!["--data-dir".into(), dir.clone().into()];
                if let Backend::Postgres {
                    admin_url,
                    nats_url,
                } = &topology.backend
                {
                    let db = ScratchDatabase::create(admin_url)
                        .await
                        .context("creating the bench's database (--database-url)")?;
                    eprintln!("bench: database {} (dropped at the end)", redacted(&db.url));
                    config.database_url = Some(db.url.clone());
                    store_args = vec!["--database-url".into(), db.url.clone().into()];
                    if let Some(nats) = nats_url {
                        // Subjects of this run only: other users of that NATS never see them.
                        let prefix = format!("bench{}", uuid::Uuid::new_v4().simple());
                        store_args.extend(
                            [
                                "--nats-url",
                                nats.as_str(),
                                "--nats-subject-prefix",
                                &prefix,
                            ]
                            .map(OsString::from),
                        );
                    }
                    server.database = Some(db);
                }
                seed_agents(&config, &admin, &agent_emails).await?;
                for i in 0..topology.nodes {
                    let (child, base) =
                        spawn_child(&dir, i, &store_args, &args.server_log, &limits, agents)
                            .await?;
                    let pid = child.id();
                    server.nodes.push(Node::new(base, pid, Some(child)));
                }
                (admin, agent_emails, BENCH_PASSWORD.to_string())
            }
        };
        for (i, node) in server.nodes.iter().enumerate() {
            if let Some(pid) = node.pid {
                eprintln!(
                    "bench: chat node {i} {}, pid {pid} (profile it with `perf record -p {pid}`)",
                    node.base
                );
            }
        }
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

    /// How many nodes the service has (customers and agents are spread over them).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// `sqlite`, `postgres` or `external` (--chat-url).
    pub fn backend(&self) -> &'static str {
        self.backend
    }

    /// Node 0's base URL, where the setup goes.
    pub fn base(&self) -> &str {
        &self.nodes[0].base
    }

    /// Node 0's process id (its RSS is the one measured per idle socket).
    pub fn pid(&self) -> Option<u32> {
        self.nodes[0].pid
    }

    /// Every node's process id; None when one is unknown (--chat-url without --server-pid).
    pub fn pids(&self) -> Option<Vec<u32>> {
        self.nodes.iter().map(|n| n.pid).collect()
    }

    async fn login(&self, email: &str, password: &str) -> anyhow::Result<String> {
        let res = self
            .http
            .post(format!("{}/api/v1/agent/login", self.base()))
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
            .post(format!("{}{path}", self.base()))
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

    /// `POST …/sessions` on `node` with a customer token; the status, and the body when 201.
    pub async fn create_session(
        &self,
        node: usize,
        token: &str,
    ) -> Result<(String, String), (Option<u16>, String)> {
        let res = self
            .http
            .post(format!(
                "{}/api/v1/widgets/{}/sessions",
                self.nodes[node].base, self.app_id
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

    /// The agent `agent` accepts conversation `id` on `node`.
    pub async fn accept(&self, node: usize, agent: usize, id: &str) -> anyhow::Result<()> {
        let res = self
            .http
            .post(format!(
                "{}/api/v1/agent/conversations/{id}/accept",
                self.nodes[node].base
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

    /// A customer socket on `node` for a session (with the widget's allowed `Origin`).
    pub async fn connect_customer(&self, node: usize, session_token: &str) -> anyhow::Result<Ws> {
        let mut req = format!(
            "{}/api/v1/chat?session_token={session_token}",
            self.nodes[node].ws_base
        )
        .into_client_request()?;
        req.headers_mut()
            .insert("origin", HeaderValue::from_static(SITE_ORIGIN));
        let (ws, _) = tokio_tungstenite::connect_async_with_config(req, None, true)
            .await
            .context("customer socket")?;
        Ok(ws)
    }

    /// The socket of agent `agent` on `node` (Bearer sign-in).
    pub async fn connect_agent(&self, node: usize, agent: usize) -> anyhow::Result<Ws> {
        let mut req =
            format!("{}/api/v1/agent/ws", self.nodes[node].ws_base).into_client_request()?;
        req.headers_mut().insert(
            "authorization",
            HeaderValue::from_str(&format!("Bearer {}", self.agent_tokens[agent]))?,
        );
        let (ws, _) = tokio_tungstenite::connect_async_with_config(req, None, true)
            .await
            .context("agent socket")?;
        Ok(ws)
    }

    /// Stops the children (SIGTERM to all, then SIGKILL to any still there after 10 s), drops
    /// the PostgreSQL database and removes the temporary directory.
    pub async fn stop(mut self) {
        for node in &self.nodes {
            if let (Some(_), Some(pid)) = (&node.child, node.pid) {
                if let Ok(pid) = libc::pid_t::try_from(pid) {
                    // SAFETY: kill(2) on the pid of our own child, which we have not reaped yet.
                    unsafe {
                        libc::kill(pid, libc::SIGTERM);
                    }
                }
            }
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        for node in &mut self.nodes {
            if let Some(child) = &mut node.child {
                if tokio::time::timeout_at(deadline, child.wait())
                    .await
                    .is_err()
                {
                    let _ = child.kill().await;
                }
            }
        }
        if let Some(db) = self.database.take() {
            if let Err(e) = db.drop_now().await {
                eprintln!("bench: could not drop the bench's database: {e}");
            }
        }
    }
}

/// A database URL without its password, for printing.
fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("***"));
            }
            u.to_string()
        }
        Err(_) => "(unparsable URL)".into(),
    }
}

/// The admin and the agents, written into the children's database before they start.
async fn seed_agents(config: &ChatConfig, admin: &str, agents: &[String]) -> anyhow::Result<()> {
    let people = std::iter::once((admin.to_string(), Role::Admin))
        .chain(agents.iter().map(|e| (e.clone(), Role::Agent)));
    for (i, (email, role)) in people.enumerate() {
        vouch_chat::add_agent(
            config,
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

/// `vouch chat` node `index` on 127.0.0.1:0 as a child process, on the storage `store_args`
/// name; returns it and its base URL once it listens. Its log goes to `node<index>.log` in `dir`.
async fn spawn_child(
    dir: &Path,
    index: usize,
    store_args: &[OsString],
    log: &str,
    limits: &ChildLimits,
    agents: usize,
) -> anyhow::Result<(tokio::process::Child, String)> {
    let exe = std::env::current_exe().context("locating the vouch binary")?;
    let log_path = dir.join(format!("node{index}.log"));
    let log_file = std::fs::File::create(&log_path)?;
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
        .args(store_args)
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
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            bail!("`vouch chat` (node {index}) did not start; its log:\n{log}");
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
    stat_micros(&format!("/proc/{pid}/stat"))
}

/// (user, system) CPU time in microseconds from a `/proc/…/stat` file (a process's or a thread's).
fn stat_micros(path: &str) -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string(path).ok()?;
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

/// CPU time (user + system) of a process's threads so far, in microseconds, summed by thread
/// name (`/proc/<pid>/task/*/{comm,stat}`; the kernel cuts names to 15 bytes). Threads that
/// ended are missing, so the sum may be below [`cpu_micros`].
pub fn thread_cpu_micros(pid: u32) -> Option<std::collections::BTreeMap<String, u64>> {
    let mut by_name = std::collections::BTreeMap::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))
        .ok()?
        .flatten()
    {
        let Ok(tid) = task.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(name) = std::fs::read_to_string(task.path().join("comm")) else {
            continue;
        };
        if let Some((user, system)) = stat_micros(&format!("/proc/{pid}/task/{tid}/stat")) {
            *by_name.entry(name.trim().to_string()).or_default() += user + system;
        }
    }
    Some(by_name)
}

/// Resident set size of a process, in KiB (`VmRSS` of `/proc/<pid>/status`).
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PG: &str = "postgres://postgres@127.0.0.1:5432/postgres";
    const NATS: &str = "nats://127.0.0.1:4222";

    fn server(chat_url: Option<&str>) -> ServerArgs {
        ServerArgs {
            chat_url: chat_url.map(str::to_string),
            server_pid: None,
            admin_email: None,
            agent_emails: Vec::new(),
            server_log: "warn".into(),
        }
    }

    fn nodes(n: u8, db: Option<&str>, nats: Option<&str>) -> NodesArgs {
        NodesArgs {
            nodes: n,
            database_url: db.map(str::to_string),
            nats_url: nats.map(str::to_string),
            no_baseline: false,
        }
    }

    fn refused(n: NodesArgs, chat_url: Option<&str>) -> String {
        match n.topology(&server(chat_url)) {
            Ok(t) => panic!("accepted: {t:?}"),
            Err(e) => format!("{e:#}"),
        }
    }

    #[test]
    fn one_node_defaults_to_sqlite_and_postgres_is_comparable() {
        let t = nodes(1, None, None).topology(&server(None)).unwrap();
        assert_eq!(t.nodes, 1);
        assert_eq!(t.backend, Backend::Sqlite);
        assert_eq!(t.one_node_baseline(), None);

        let t = nodes(1, Some(PG), None).topology(&server(None)).unwrap();
        assert_eq!(t.backend.name(), "postgres");
        assert_eq!(t.nodes, 1);
    }

    #[test]
    fn several_nodes_share_postgres_and_nats_and_compare_with_one_node_without_nats() {
        let t = nodes(3, Some(PG), Some(NATS))
            .topology(&server(None))
            .unwrap();
        assert_eq!(t.nodes, 3);
        assert_eq!(
            t.backend,
            Backend::Postgres {
                admin_url: PG.into(),
                nats_url: Some(NATS.into())
            }
        );
        assert_eq!(
            t.one_node_baseline(),
            Some(Topology {
                nodes: 1,
                backend: Backend::Postgres {
                    admin_url: PG.into(),
                    nats_url: None
                }
            })
        );
        // localhost, other 127/8 addresses, ::1 and a Unix socket are all this machine.
        for (db, nats) in [
            (
                "postgresql://postgres@localhost/postgres",
                "nats://localhost:4222",
            ),
            (
                "postgres://postgres@127.0.0.2:5432/x",
                "nats://127.1.2.3:4222",
            ),
            ("postgres://postgres@[::1]:5432/x", "nats://[::1]:4222"),
            (
                "postgres://postgres@localhost/x?host=/var/run/postgresql",
                NATS,
            ),
        ] {
            nodes(2, Some(db), Some(nats))
                .topology(&server(None))
                .unwrap_or_else(|e| panic!("{db} {nats}: {e}"));
        }
    }

    #[test]
    fn several_nodes_without_postgres_or_nats_are_refused() {
        let e = refused(nodes(2, None, None), None);
        assert!(
            e.contains("--database-url") && e.contains("--nats-url"),
            "{e}"
        );
        let e = refused(nodes(2, Some(PG), None), None);
        assert!(e.contains("needs --nats-url"), "{e}");
        let e = refused(nodes(2, None, Some(NATS)), None);
        assert!(e.contains("--database-url"), "{e}");
        let e = refused(nodes(2, Some("sqlite:///tmp/chat.db"), Some(NATS)), None);
        assert!(e.contains("must be postgres://"), "{e}");
        let e = refused(nodes(1, None, Some(NATS)), None);
        assert!(e.contains("--database-url"), "{e}");
        let e = refused(nodes(6, Some(PG), Some(NATS)), None);
        assert!(e.contains("1 to 5"), "{e}");
        let e = refused(nodes(0, None, None), None);
        assert!(e.contains("1 to 5"), "{e}");
    }

    #[test]
    fn addresses_off_this_machine_are_refused() {
        for db in [
            "postgres://postgres@10.0.0.5:5432/postgres",
            "postgres://postgres@db.example.com/postgres",
            "postgres://postgres@[2001:db8::1]:5432/postgres",
            "postgres://postgres@0.0.0.0:5432/postgres",
            // No host: the client would take one from its environment (PGHOST).
            "postgres:///postgres",
            // A libpq-style host parameter overriding the URL's loopback host.
            "postgres://postgres@127.0.0.1/postgres?host=db.example.com",
            "postgres://postgres@127.0.0.1/postgres?hostaddr=192.0.2.7",
        ] {
            let e = refused(nodes(2, Some(db), Some(NATS)), None);
            assert!(
                e.contains("loopback") || e.contains("127.0.0.0/8"),
                "{db}: {e}"
            );
        }
        for nats in [
            "nats://192.0.2.7:4222",
            "nats://nats.example.com:4222",
            "nats://127.0.0.1:4222,nats://192.0.2.7:4222",
        ] {
            refused(nodes(2, Some(PG), Some(nats)), None);
        }
        let e = refused(nodes(2, Some(PG), Some("tls://127.0.0.1:4222")), None);
        assert!(e.contains("nats://"), "{e}");
        assert!(loopback_base("http://192.0.2.7:3001").is_err());
        assert!(loopback_base("http://127.0.0.1:3001/").is_ok());
    }

    #[test]
    fn a_running_service_is_one_node_the_bench_did_not_start() {
        let url = Some("http://127.0.0.1:3001");
        let t = nodes(1, None, None).topology(&server(url)).unwrap();
        assert_eq!(t.backend, Backend::External);
        for n in [
            nodes(2, None, None),
            nodes(1, Some(PG), None),
            nodes(2, Some(PG), Some(NATS)),
        ] {
            let e = refused(n, url);
            assert!(e.contains("--chat-url"), "{e}");
        }
    }

    #[test]
    fn printed_database_urls_hide_the_password() {
        let shown = redacted("postgres://bench:s3cret@127.0.0.1:5432/vouch_scratch_1");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("vouch_scratch_1"), "{shown}");
    }
}
