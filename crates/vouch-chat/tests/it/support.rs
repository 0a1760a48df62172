//! A real chat service on 127.0.0.1:0 with a tempdir SQLite database, a loopback key server
//! serving the test signing key's PEM, real reqwest and tokio-tungstenite clients (the shared
//! pieces come from `vouch-testkit`).
//!
//! Topology (`VOUCH_TEST_TOPOLOGY`): `sqlite` (default) is one node on a tempdir SQLite file;
//! `postgres-2-nodes` is two nodes on a scratch PostgreSQL database (`VOUCH_TEST_DATABASE_URL`,
//! dropped after the test) joined by NATS (`VOUCH_TEST_NATS_URL`, a subject prefix of the
//! test's own). Then customers (sessions, customer sockets, `url()`) use node A and agents
//! (`login`, `get_as`, `post_as`, `agent_ws`) use node B, so every conversation crosses nodes.

use reqwest::StatusCode;
use serde_json::Value;
use vouch_chat::{ChatConfig, ChatService, Role};
use vouch_testkit::chat::{
    add_admin_and_agent, add_person, create_settings, create_widget, serve_node,
};
use vouch_testkit::http::{create_session, http_client, login};
use vouch_testkit::ScratchDatabase;

pub use vouch_testkit::{
    claims, forged, now, sign, site_key, stranger_key, token, KeyServer, Ws, SITE, WAIT,
};

/// The password of every agent and admin [`TestApp`] adds.
const PASSWORD: &str = "secret";

/// The topology the contract tests run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topology {
    Sqlite,
    PostgresTwoNodes,
}

pub fn topology() -> Topology {
    match std::env::var("VOUCH_TEST_TOPOLOGY").as_deref() {
        Err(_) | Ok("") | Ok("sqlite") => Topology::Sqlite,
        Ok("postgres-2-nodes") => Topology::PostgresTwoNodes,
        Ok(other) => panic!("VOUCH_TEST_TOPOLOGY={other:?}: use sqlite or postgres-2-nodes"),
    }
}

fn required_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("VOUCH_TEST_TOPOLOGY=postgres-2-nodes needs {name} (scripts/test sets it)")
    })
}

async fn bind_loopback() -> tokio::net::TcpListener {
    tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind")
}

/// A running chat service with an admin, an agent, one verified widget and one anonymous widget.
pub struct TestApp {
    /// Node A: customers and everything not agent-specific.
    pub base: String,
    pub ws_base: String,
    /// Node B in the two-node topology (else node A): agents.
    pub agent_base: String,
    pub agent_ws_base: String,
    pub http: reqwest::Client,
    pub service: ChatService,
    pub config: ChatConfig,
    pub keys: KeyServer,
    pub settings_id: String,
    /// Requires auth (verified customers).
    pub app_id: String,
    /// Allows anonymous customers.
    pub anon_app_id: String,
    pub admin_token: String,
    pub agent_token: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    _other_nodes: Vec<tokio::sync::oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
    _pg: Option<ScratchDatabase>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        for tx in self._other_nodes.drain(..) {
            let _ = tx.send(());
        }
    }
}

impl TestApp {
    pub async fn start() -> TestApp {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(tune: impl FnOnce(&mut ChatConfig)) -> TestApp {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = ChatConfig::with_data_dir(dir.path());
        config.allow_private_key_urls = true;
        let topology = topology();
        let pg = match topology {
            Topology::Sqlite => None,
            Topology::PostgresTwoNodes => {
                let db = ScratchDatabase::create(&required_env("VOUCH_TEST_DATABASE_URL"))
                    .await
                    .expect("scratch PostgreSQL database");
                config.database_url = Some(db.url.clone());
                config.nats_url = Some(required_env("VOUCH_TEST_NATS_URL"));
                config.nats_subject_prefix = format!("vouchtest{}", uuid::Uuid::new_v4().simple());
                Some(db)
            }
        };
        tune(&mut config);
        let listener = bind_loopback().await;
        if topology == Topology::PostgresTwoNodes && config.public_url.is_none() {
            // Both nodes behind one public address, as behind a load balancer: node A's.
            config.public_url = Some(format!("http://{}", listener.local_addr().expect("addr")));
        }
        let keys = KeyServer::start().await;
        let service = ChatService::open(&config).await.expect("open chat service");
        let (addr, tx) = serve_node(service.clone(), listener).await;
        let mut other_nodes = Vec::new();
        let agent_addr = match topology {
            Topology::Sqlite => addr,
            Topology::PostgresTwoNodes => {
                let b = ChatService::open(&config).await.expect("open node B");
                let (b_addr, b_stop) = serve_node(b, bind_loopback().await).await;
                other_nodes.push(b_stop);
                b_addr
            }
        };
        add_admin_and_agent(&config, PASSWORD).await;
        let settings = create_settings(&service, "Shop", keys.url("/publickey"), Some(0)).await;
        let widget = create_widget(&service, "Shop chat", &settings, true, None).await;
        let anon = create_widget(&service, "Open chat", &settings, false, Some("Ask us")).await;
        let http = http_client();
        let mut app = TestApp {
            base: format!("http://{addr}"),
            ws_base: format!("ws://{addr}"),
            agent_base: format!("http://{agent_addr}"),
            agent_ws_base: format!("ws://{agent_addr}"),
            http,
            service,
            config,
            keys,
            settings_id: settings.id.to_string(),
            app_id: widget.app_id.to_string(),
            anon_app_id: anon.app_id.to_string(),
            admin_token: String::new(),
            agent_token: String::new(),
            stop: Some(tx),
            _other_nodes: other_nodes,
            _dir: dir,
            _pg: pg,
        };
        app.admin_token = app.login("admin@example.com").await;
        app.agent_token = app.login("agent@example.com").await;
        app
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A URL on the agents' node.
    pub fn agent_url(&self, path: &str) -> String {
        format!("{}{path}", self.agent_base)
    }

    pub async fn login(&self, email: &str) -> String {
        login(&self.http, &self.agent_base, email, PASSWORD).await
    }

    /// Adds another agent and signs it in.
    pub async fn new_agent(&self, email: &str) -> String {
        let name = email.split('@').next().unwrap_or("x");
        add_person(&self.config, email, name, Role::Agent, PASSWORD)
            .await
            .expect("add agent");
        self.login(email).await
    }

    /// `POST …/sessions` from the site's origin; returns (status, body).
    pub async fn session_raw(
        &self,
        app_id: &str,
        origin: Option<&str>,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        create_session(&self.http, &self.base, app_id, origin, token, body)
            .await
            .expect("session request")
    }

    /// A verified session for `sub`; returns the 201 body.
    pub async fn session(&self, sub: &str) -> Value {
        let (s, v) = self
            .session_raw(&self.app_id, Some(SITE), Some(&token(sub)), None)
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v
    }

    /// An anonymous session; returns the 201 body.
    pub async fn anon_session(&self) -> Value {
        let (s, v) = self
            .session_raw(&self.anon_app_id, Some(SITE), None, None)
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v
    }

    pub async fn get_as(&self, token: &str, path: &str) -> (StatusCode, Value) {
        vouch_testkit::get_as(&self.http, &self.agent_url(path), token).await
    }

    pub async fn post_as(&self, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
        vouch_testkit::post_as(&self.http, &self.agent_url(path), token, body).await
    }

    /// A customer socket from the site's origin.
    pub async fn customer_ws(&self, session_token: &str) -> Ws {
        self.try_customer_ws(session_token, Some(SITE))
            .await
            .expect("customer socket")
    }

    /// A customer socket; Err(status) when the upgrade is refused.
    pub async fn try_customer_ws(
        &self,
        session_token: &str,
        origin: Option<&str>,
    ) -> Result<Ws, u16> {
        Ws::customer(&self.ws_base, session_token, origin).await
    }

    /// An agent socket authenticated by Bearer.
    pub async fn agent_ws(&self, token: &str) -> Ws {
        Ws::agent(&self.agent_ws_base, token)
            .await
            .expect("agent socket")
    }
}
