//! [`ChatService`]: opening the database, building the router, serving until shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use crate::config::ChatConfig;
use crate::domain::agents::{self, NewAgent, Passwords};
use crate::domain::settings::normalize_origin;
use crate::domain::Chat;
use crate::error::ChatError;
use crate::keys::{FetcherOptions, KeyFetcher};
use crate::live::nats::NatsBus;
use crate::storage::{Agent, AuthSettings, Store, Widget};
use crate::{NewAuthSettings, NewWidget};

/// The chat service. Cheap to clone (shared state).
#[derive(Clone)]
pub struct ChatService {
    chat: Arc<Chat>,
    /// False when the own origin is to be taken from the listening address.
    public_url_given: bool,
    /// The link to the other nodes (`--nats-url`).
    bus: Option<Arc<NatsBus>>,
    /// This node's webhook delivery worker (runs while the service serves).
    deliverer: Arc<crate::webhooks::Deliverer>,
}

/// The database URL the configuration names.
fn database_url(config: &ChatConfig) -> Result<String, ChatError> {
    if let Some(url) = &config.database_url {
        return Ok(url.clone());
    }
    let Some(dir) = &config.data_dir else {
        return Err(ChatError::Config(
            "give --data-dir DIR (the database is DIR/chat.db) or --database-url sqlite://PATH"
                .into(),
        ));
    };
    std::fs::create_dir_all(dir).map_err(|e| {
        ChatError::Config(format!(
            "--data-dir {}: cannot create the directory: {e}; give a directory this user may \
             create and write",
            dir.display()
        ))
    })?;
    Ok(format!("sqlite://{}", dir.join("chat.db").display()))
}

/// Which flag named the database, for start-up errors.
fn database_flag(config: &ChatConfig) -> String {
    match (&config.database_url, &config.data_dir) {
        (Some(_), _) => "--database-url".to_string(),
        (None, Some(dir)) => format!("--data-dir {}", dir.display()),
        (None, None) => "--data-dir".to_string(),
    }
}

async fn open_store(config: &ChatConfig) -> Result<Arc<dyn Store>, ChatError> {
    let url = database_url(config)?;
    crate::storage::Backend::of_url(&url)
        .map_err(|e| ChatError::Config(format!("--database-url: {e}")))?;
    crate::storage::open(&url).await.map_err(|e| {
        // A PostgreSQL URL may hold a password: only a SQLite path is shown.
        let what = if url.starts_with("sqlite:") {
            format!("the database {url}")
        } else {
            "the PostgreSQL database".to_string()
        };
        ChatError::Config(format!(
            "{}: cannot open {what}: {e}; check that it exists and that this user may read and \
             write it",
            database_flag(config)
        ))
    })
}

/// Every limit must allow something: names the flag, its minimum and its default.
fn check_limits(l: &crate::config::Limits) -> Result<(), ChatError> {
    let d = crate::config::Limits::default();
    let checks: &[(&str, u64, u64, u64)] = &[
        ("--msg-rate", l.msg_rate.into(), 1, d.msg_rate.into()),
        ("--msg-burst", l.msg_burst.into(), 1, d.msg_burst.into()),
        (
            "--session-rate",
            l.session_rate.into(),
            1,
            d.session_rate.into(),
        ),
        (
            "--session-burst",
            l.session_burst.into(),
            1,
            d.session_burst.into(),
        ),
        (
            "--login-rate-per-minute",
            l.login_rate_per_minute.into(),
            1,
            d.login_rate_per_minute.into(),
        ),
        (
            "--login-burst",
            l.login_burst.into(),
            1,
            d.login_burst.into(),
        ),
        (
            "--login-account-address-burst",
            l.login_account_address_burst.into(),
            1,
            d.login_account_address_burst.into(),
        ),
        (
            "--login-account-address-per-minute",
            l.login_account_address_per_minute.into(),
            1,
            d.login_account_address_per_minute.into(),
        ),
        (
            "--login-account-burst",
            l.login_account_burst.into(),
            1,
            d.login_account_burst.into(),
        ),
        (
            "--login-account-per-minute",
            l.login_account_per_minute.into(),
            1,
            d.login_account_per_minute.into(),
        ),
        ("--login-lockout", l.login_lockout, 1, d.login_lockout),
        (
            "--max-frame-bytes",
            l.max_frame_bytes as u64,
            1024,
            d.max_frame_bytes as u64,
        ),
        (
            "--max-text-chars",
            l.max_text_chars as u64,
            1,
            d.max_text_chars as u64,
        ),
        (
            "--max-sockets-per-address",
            l.max_sockets_per_address as u64,
            1,
            d.max_sockets_per_address as u64,
        ),
        (
            "--max-attachment-bytes",
            l.max_attachment_bytes as u64,
            1,
            d.max_attachment_bytes as u64,
        ),
    ];
    for &(flag, value, min, default) in checks {
        if value < min {
            return Err(ChatError::Config(format!(
                "{flag} {value}: must be at least {min} (the default is {default}; leave the flag \
                 out to use it)"
            )));
        }
    }
    Ok(())
}

/// The own origins for a listening address: `http://ADDR`, plus `http://localhost:PORT` on loopback.
fn origins_for_addr(addr: SocketAddr) -> Vec<String> {
    let mut v = vec![format!("http://{addr}")];
    if addr.ip().is_loopback() {
        v.push(format!("http://localhost:{}", addr.port()));
    }
    v
}

impl ChatService {
    /// Validates the configuration, opens (and migrates) the database and builds the service.
    pub async fn open(config: &ChatConfig) -> Result<ChatService, ChatError> {
        if config.nats_url.is_some() {
            let url = database_url(config)?;
            if crate::storage::Backend::of_url(&url).ok() != Some(crate::storage::Backend::Postgres)
            {
                return Err(ChatError::Config(
                    "--nats-url joins several chat nodes, which must share one PostgreSQL database: give --database-url postgres://…".into(),
                ));
            }
            if !crate::live::nats::valid_prefix(&config.nats_subject_prefix) {
                return Err(ChatError::Config(
                    "--nats-subject-prefix: use 1 to 64 of A-Z a-z 0-9 _ -".into(),
                ));
            }
        }
        if config.session_ttl < 60 {
            return Err(ChatError::Config(format!(
                "--session-ttl {}: must be at least 60 seconds (the default is 43200, 12 h)",
                config.session_ttl
            )));
        }
        check_limits(&config.limits)?;
        let l = &config.limits;
        if l.login_account_address_burst >= l.login_account_burst
            || l.login_account_address_per_minute >= l.login_account_per_minute
        {
            return Err(ChatError::Config(
                "--login-account-address-burst and --login-account-address-per-minute must be below \
                 --login-account-burst and --login-account-per-minute, so that one address alone \
                 cannot lock an account"
                    .into(),
            ));
        }
        let (own, given) = match &config.public_url {
            Some(u) => (
                vec![normalize_origin(u).map_err(|m| {
                    ChatError::Config(format!(
                        "--public-url: {m} (e.g. --public-url https://chat.example.com)"
                    ))
                })?],
                true,
            ),
            None => (origins_for_addr(config.addr), false),
        };
        if config.key_refetch_interval == 0 || config.key_cache_ttl < config.key_refetch_interval {
            return Err(ChatError::Config(
                "--key-refetch-interval must be at least 1 second and --key-cache-ttl at least as long"
                    .into(),
            ));
        }
        let mail = crate::domain::offline::mail_setup(&config.mail)?;
        let webhook_options = config.webhooks.options().map_err(ChatError::Config)?;
        let store = open_store(config).await?;
        let webhooks = crate::domain::webhooks::WebhookSettings {
            options: webhook_options,
            clock: Default::default(),
        };
        let deliverer = Arc::new(
            crate::webhooks::Deliverer::new(
                store.clone(),
                webhooks.options.clone(),
                webhooks.clock.clone(),
            )
            .map_err(ChatError::Config)?,
        );
        let keys = KeyFetcher::new(FetcherOptions {
            allow_private: config.allow_private_key_urls,
            cache_ttl: std::time::Duration::from_secs(config.key_cache_ttl),
            min_refetch_interval: std::time::Duration::from_secs(config.key_refetch_interval),
            ..Default::default()
        })
        .map_err(|e| ChatError::Config(format!("key fetcher: {e}")))?;
        let chat = Chat::new(
            store,
            keys,
            config.limits.clone(),
            config.session_ttl(),
            own,
        )
        .with_metrics_token(config.metrics_token.clone())
        .with_mail(mail)
        .with_webhooks(webhooks);
        let bus = match &config.nats_url {
            Some(url) => Some(Arc::new(
                NatsBus::start(url, &config.nats_subject_prefix, chat.hub.clone())
                    .await
                    .map_err(|e| ChatError::Config(format!("--nats-url: {e}")))?,
            )),
            None => None,
        };
        Ok(ChatService {
            chat: Arc::new(chat),
            public_url_given: given,
            bus,
            deliverer,
        })
    }

    /// Every route of the service.
    pub fn router(&self) -> axum::Router {
        crate::http::router(self.chat.clone())
    }

    /// The link to the other nodes, when `--nats-url` was given.
    pub fn bus(&self) -> Option<&NatsBus> {
        self.bus.as_deref()
    }

    /// The webhook deliverer's clock (tests move it forward to reach the 24 h give-up).
    pub fn webhook_clock(&self) -> Arc<crate::webhooks::WebhookClock> {
        self.chat.webhooks.clock.clone()
    }

    /// The domain core (for tests and the CLI's diagnostics).
    pub fn chat(&self) -> &Arc<Chat> {
        &self.chat
    }

    /// Serves on `listener` until `shutdown` completes; open sockets are then closed.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ChatError> {
        let local = listener.local_addr()?;
        if !self.public_url_given {
            self.chat.set_own_origins(origins_for_addr(local));
        }
        tracing::info!(addr = %local, origin = %self.chat.public_origin(), "chat service listening");
        // Fetch every setting's keys now, so /readyz turns ready without waiting for a customer.
        let warm = self.chat.clone();
        tokio::spawn(async move {
            let not_ready = warm.readiness(std::time::Duration::from_secs(10)).await;
            if !not_ready.is_empty() {
                tracing::warn!(not_ready = ?not_ready, "not ready at start-up");
            }
        });
        tokio::spawn(crate::domain::offline::run_outbox(self.chat.clone()));
        // Webhook deliveries, until shutdown.
        tokio::spawn(self.deliverer.clone().run(self.chat.shutdown_signal()));
        let chat = self.chat.clone();
        let app = self
            .router()
            .into_make_service_with_connect_info::<SocketAddr>();
        // TCP_NODELAY: an ack written right after a message frame must not wait for the
        // client's delayed ACK (Nagle), which adds ~40 ms to every send.
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!(error = %e, "TCP_NODELAY not set");
            }
        });
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                shutdown.await;
                chat.begin_shutdown();
            })
            .await?;
        Ok(())
    }

    pub async fn create_auth_settings(
        &self,
        s: NewAuthSettings,
    ) -> Result<AuthSettings, ChatError> {
        self.chat.create_auth_settings(s).await
    }

    pub async fn create_widget(&self, w: NewWidget) -> Result<Widget, ChatError> {
        self.chat.create_widget(w).await
    }

    pub async fn list_auth_settings(&self) -> Result<Vec<AuthSettings>, ChatError> {
        self.chat.list_auth_settings().await
    }

    pub async fn list_widgets(&self) -> Result<Vec<Widget>, ChatError> {
        self.chat.list_widgets().await
    }

    /// Closes the database connections; every later call that needs the database fails (and
    /// `/readyz` answers 503). For an embedder's shutdown, and for tests of readiness.
    pub async fn close_database(&self) {
        self.chat.store.close().await;
    }

    /// The embed snippet of a widget (for the CLI's demo output).
    pub fn snippet(&self, app_id: uuid::Uuid) -> String {
        self.chat.snippet(app_id)
    }
}

/// `vouch chat agents add`: adds an agent or admin to the configured database.
pub async fn add_agent(config: &ChatConfig, a: NewAgent) -> Result<Agent, ChatError> {
    let store = open_store(config).await?;
    agents::add_agent(store.as_ref(), &Passwords::new(), a).await
}

/// The agent with this email, if any (the CLI's demo seeding uses it to stay idempotent).
pub async fn find_agent_by_email(
    config: &ChatConfig,
    email: &str,
) -> Result<Option<Agent>, ChatError> {
    let store = open_store(config).await?;
    Ok(store
        .find_agent_by_email(&email.trim().to_lowercase())
        .await?
        .map(|(a, _)| a))
}
