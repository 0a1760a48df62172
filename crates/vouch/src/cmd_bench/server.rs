//! The chat service under test: `vouch chat` started as child processes (so their CPU time and
//! RSS are their own, not the load generator's) on 127.0.0.1:0 — one node on a temporary SQLite
//! directory, or 1–5 nodes sharing a fresh PostgreSQL database of their own and joined by NATS
//! — or a service already running on loopback (`--chat-url`); which one, `topology.rs` decides.
//! Beside it, a loopback key server that publishes the bench's signing key (vouch-testkit's,
//! as the test suites use), and the settings, widget and agents the load needs — all created
//! through the service's real admin API on node 0.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use vouch_chat::{ChatConfig, Role};
use vouch_jwt::SigningKey;
use vouch_testkit::process::{chat_url, clean_command, drain};
use vouch_testkit::ws::{agent_request, customer_request, open};
use vouch_testkit::{KeyServer, ScratchDatabase, ISSUER, SITE};

use super::topology::{loopback_base, redacted, Backend, ServerArgs, Topology};

/// Password of the agents the bench creates in its own temporary database.
const BENCH_PASSWORD: &str = "bench agent password";
/// How long the child may take to print its address.
const START_TIMEOUT: Duration = Duration::from_secs(60);

pub use vouch_testkit::ws::Stream as Ws;

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
        let keys = KeyServer::publish(key.public_key().to_spki_pem()).await?;
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
            .create_widget(&admin_token, &server._keys.url("/publickey"))
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
                json!({"name": "Bench", "allowed_origins": [SITE],
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
        let now = vouch_testkit::now();
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
            .header("origin", SITE)
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
        let req = customer_request(&self.nodes[node].ws_base, session_token, Some(SITE))?;
        open(req).await.context("customer socket")
    }

    /// The socket of agent `agent` on `node` (Bearer sign-in).
    pub async fn connect_agent(&self, node: usize, agent: usize) -> anyhow::Result<Ws> {
        let req = agent_request(&self.nodes[node].ws_base, &self.agent_tokens[agent])?;
        open(req).await.context("agent socket")
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

/// The admin and the agents, written into the children's database before they start.
async fn seed_agents(config: &ChatConfig, admin: &str, agents: &[String]) -> anyhow::Result<()> {
    let people = std::iter::once((admin.to_string(), Role::Admin))
        .chain(agents.iter().map(|e| (e.clone(), Role::Agent)));
    for (i, (email, role)) in people.enumerate() {
        let name = format!("Bench agent {i}");
        vouch_testkit::chat::add_person(config, &email, &name, role, BENCH_PASSWORD)
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
    // The child's configuration is the flags below, never the caller's VOUCH_* environment.
    let mut cmd = clean_command(exe);
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
    let base = tokio::time::timeout(START_TIMEOUT, chat_url(&mut lines)).await;
    let base = match base {
        Ok(Ok(Some(base))) => base,
        _ => {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            bail!("`vouch chat` (node {index}) did not start; its log:\n{log}");
        }
    };
    drain(lines);
    loopback_base(&base)?;
    Ok((child, base))
}
