//! The chat service's one typed configuration: every flag has an environment variable and help.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::metrics::MetricsToken;

/// `vouch chat` flags. Validated by [`crate::ChatService::open`].
#[derive(clap::Args, Debug, Clone)]
pub struct ChatConfig {
    /// Address to listen on.
    #[arg(long, env = "VOUCH_CHAT_ADDR", default_value = "127.0.0.1:3001")]
    pub addr: SocketAddr,

    /// Directory for the chat database (created if missing). Used when --database-url is not given.
    #[arg(long, env = "VOUCH_DATA_DIR")]
    pub data_dir: Option<PathBuf>,

    /// Database URL: sqlite://PATH (default: sqlite://<data-dir>/chat.db) or postgres://USER@HOST/DB
    /// (several chat nodes share one PostgreSQL database; add --nats-url).
    #[arg(long, env = "VOUCH_CHAT_DATABASE_URL")]
    pub database_url: Option<String>,

    /// NATS URL (nats://HOST:4222) joining several chat nodes that share one PostgreSQL
    /// database: live frames reach sockets on every node.
    #[arg(long, env = "VOUCH_NATS_URL")]
    pub nats_url: Option<String>,

    /// First token of the NATS subjects this cluster uses (nodes of one cluster share it;
    /// another cluster on the same NATS picks another).
    #[arg(long, env = "VOUCH_NATS_SUBJECT_PREFIX", default_value = "vouch")]
    pub nats_subject_prefix: String,

    /// Allow public key URLs on private, loopback or link-local addresses (the demo sets it).
    #[arg(long, env = "VOUCH_ALLOW_PRIVATE_KEY_URLS", default_value_t = false)]
    pub allow_private_key_urls: bool,

    /// The service's own origin as browsers see it (e.g. https://chat.example.com); used for the
    /// console's cookie origin checks and the widget snippet. Default: http://<addr>.
    #[arg(long, env = "VOUCH_CHAT_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Lifetime of customer session tokens and agent sign-ins, in seconds.
    #[arg(long, env = "VOUCH_CHAT_SESSION_TTL", default_value_t = 12 * 3600)]
    pub session_ttl: u64,

    /// How long public keys fetched from a key URL are kept when it sends no
    /// `Cache-Control: max-age`, in seconds.
    #[arg(long, env = "VOUCH_CHAT_KEY_CACHE_TTL", default_value_t = 3600)]
    pub key_cache_ttl: u64,

    /// At most one refetch of a key URL per this many seconds when a token names an unknown
    /// `kid` or fails its signature (also the shortest `max-age` honoured).
    #[arg(long, env = "VOUCH_CHAT_KEY_REFETCH_INTERVAL", default_value_t = 60)]
    pub key_refetch_interval: u64,

    /// Bearer token that unlocks GET /metrics (Prometheus text format) on the service's own
    /// port: scrape with `Authorization: Bearer <token>`. Without it /metrics answers 404.
    /// At least 16 characters, e.g. `openssl rand -hex 32`.
    #[arg(long, env = "VOUCH_CHAT_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<MetricsToken>,

    #[command(flatten)]
    pub limits: Limits,

    #[command(flatten)]
    pub mail: crate::mail::MailConfig,

    #[command(flatten)]
    pub webhooks: crate::webhooks::WebhookFlags,
}

/// Abuse limits. Defaults are generous enough for many customers behind one corporate NAT.
#[derive(clap::Args, Debug, Clone)]
pub struct Limits {
    /// Sustained messages per second, per conversation and sender.
    #[arg(long, env = "VOUCH_CHAT_MSG_RATE", default_value_t = 20)]
    pub msg_rate: u32,

    /// Message burst per conversation and sender.
    #[arg(long, env = "VOUCH_CHAT_MSG_BURST", default_value_t = 100)]
    pub msg_burst: u32,

    /// Sustained widget session creations per second, per client address.
    #[arg(long, env = "VOUCH_CHAT_SESSION_RATE", default_value_t = 100)]
    pub session_rate: u32,

    /// Burst of widget session creations per client address.
    #[arg(long, env = "VOUCH_CHAT_SESSION_BURST", default_value_t = 2000)]
    pub session_burst: u32,

    /// Largest WebSocket text frame accepted, in bytes.
    #[arg(long, env = "VOUCH_CHAT_MAX_FRAME_BYTES", default_value_t = 16 * 1024)]
    pub max_frame_bytes: usize,

    /// Longest chat message, in characters.
    #[arg(long, env = "VOUCH_CHAT_MAX_TEXT_CHARS", default_value_t = 4000)]
    pub max_text_chars: usize,

    /// Open WebSockets allowed per client address (customers and agents together).
    #[arg(
        long,
        env = "VOUCH_CHAT_MAX_SOCKETS_PER_ADDRESS",
        default_value_t = 5000
    )]
    pub max_sockets_per_address: usize,

    /// Sustained agent sign-in attempts per minute, per client address.
    #[arg(long, env = "VOUCH_CHAT_LOGIN_RATE_PER_MINUTE", default_value_t = 60)]
    pub login_rate_per_minute: u32,

    /// Burst of agent sign-in attempts per client address.
    #[arg(long, env = "VOUCH_CHAT_LOGIN_BURST", default_value_t = 60)]
    pub login_burst: u32,

    /// Failed sign-in attempts one address may make on one account before it must wait.
    /// Must be below --login-account-burst, so one address alone can never lock an account.
    #[arg(
        long,
        env = "VOUCH_CHAT_LOGIN_ACCOUNT_ADDRESS_BURST",
        default_value_t = 5
    )]
    pub login_account_address_burst: u32,

    /// Sustained sign-in attempts per minute by one address on one account (below
    /// --login-account-per-minute).
    #[arg(
        long,
        env = "VOUCH_CHAT_LOGIN_ACCOUNT_ADDRESS_PER_MINUTE",
        default_value_t = 1
    )]
    pub login_account_address_per_minute: u32,

    /// Failed sign-in attempts on one account, from all addresses, before it is locked.
    #[arg(long, env = "VOUCH_CHAT_LOGIN_ACCOUNT_BURST", default_value_t = 20)]
    pub login_account_burst: u32,

    /// Sustained sign-in attempts per minute on one account, from all addresses.
    #[arg(long, env = "VOUCH_CHAT_LOGIN_ACCOUNT_PER_MINUTE", default_value_t = 2)]
    pub login_account_per_minute: u32,

    /// How long a locked account stays locked, in seconds.
    #[arg(long, env = "VOUCH_CHAT_LOGIN_LOCKOUT", default_value_t = 15 * 60)]
    pub login_lockout: u64,

    /// Seconds after an agent's last socket closes before the agent is `offline`.
    #[arg(long, env = "VOUCH_CHAT_PRESENCE_GRACE_SECS", default_value_t = 10)]
    pub presence_grace_secs: u64,
    /// Largest attachment a customer or agent may upload, in bytes (larger: 413 too_large).
    #[arg(
        long,
        env = "VOUCH_CHAT_MAX_ATTACHMENT_BYTES",
        default_value_t = 10 * 1024 * 1024
    )]
    pub max_attachment_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            msg_rate: 20,
            msg_burst: 100,
            session_rate: 100,
            session_burst: 2000,
            max_frame_bytes: 16 * 1024,
            max_text_chars: 4000,
            max_sockets_per_address: 5000,
            login_rate_per_minute: 60,
            login_burst: 60,
            login_account_address_burst: 5,
            login_account_address_per_minute: 1,
            login_account_burst: 20,
            login_account_per_minute: 2,
            login_lockout: 15 * 60,
            presence_grace_secs: 10,
            max_attachment_bytes: 10 * 1024 * 1024,
        }
    }
}

impl ChatConfig {
    /// A configuration with every default, storing its database under `data_dir`.
    pub fn with_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        ChatConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 3001)),
            data_dir: Some(data_dir.into()),
            database_url: None,
            nats_url: None,
            nats_subject_prefix: "vouch".into(),
            allow_private_key_urls: false,
            public_url: None,
            session_ttl: 12 * 3600,
            key_cache_ttl: 3600,
            key_refetch_interval: 60,
            metrics_token: None,
            limits: Limits::default(),
            mail: Default::default(),
            webhooks: crate::webhooks::WebhookFlags::default(),
        }
    }

    pub(crate) fn session_ttl(&self) -> Duration {
        Duration::from_secs(self.session_ttl)
    }
}
