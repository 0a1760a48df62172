//! The chat service's rules, between the protocol layer (`crate::http`) and storage. Calls
//! answer typed results (e.g. [`conversations::ConversationSummary`]) or a
//! [`crate::error::ChatError`]; the protocol layer turns both into JSON or frames.
//!
//! * [`sessions`]: where a customer token is checked and mapped to a contact and a conversation.
//! * [`conversations`]: sending, history, accept, end — and the live frames each one publishes.
//! * [`agents`]: agents, passwords (argon2id) and sign-in tokens.
//! * [`desk`]: queues, routing, presence, auto-assignment, transfer, queue positions.
//! * [`settings`]: chat authentication settings and widgets, validated on save.
//! * [`diagnostics`]: verification failures counted per reason (never the token).
//! * [`limits`]: rate limits and socket counts.
//! * [`readiness`]: what `/readyz` checks (database, key URLs).
//! * [`notes`]: internal notes (agents only, never a customer). [`canned`]: canned replies and
//!   [`render`], their placeholders filled by plain substitution.

pub mod agents;
pub mod attachments;
pub mod canned;
pub mod conversations;
pub mod desk;
pub mod diagnostics;
pub mod hours;
pub mod limits;
pub mod notes;
pub mod offline;
pub mod ratings;
pub mod readiness;
pub mod render;
pub mod reports;
pub mod search;
pub mod sending;
pub mod sessions;
pub mod settings;
pub mod tokens;
pub mod webhooks;

use std::net::IpAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::config::Limits;
use crate::keys::KeyFetcher;
use crate::live::hub::Hub;
use crate::metrics::{Metrics, MetricsToken};
use crate::storage::{Sender, Store};

use self::agents::Passwords;
use self::limits::{LoginThrottle, RateLimiter, SocketCounter};

/// Frames a conversation's sockets may fall behind by before they are closed (and resume). Every
/// open conversation allocates its buffer whole, so this is most of an idle customer socket's
/// memory (about 64 bytes a slot); a socket task drains its buffer at once unless its client
/// stops reading, so 64 frames is far above what a live socket ever holds.
const CONVERSATION_BUFFER: usize = 64;
/// The same for an agent's sockets (every frame for that agent: all its conversations). Each
/// agent with a socket open allocates it whole, about 100 bytes a slot: 1,024 slots are 10 s of
/// an agent carrying 20 conversations at 5 msg/s (as long as one write may wait on a client,
/// `SEND_TIMEOUT`, before the socket is dropped anyway), ~100 KiB an agent; 4,096 were ~400 KiB,
/// which for 50 agents sharing 1,000 conversations was ~20 KiB of every conversation (issue 17).
const AGENT_BUFFER: usize = 1024;

/// The chat service's state: storage, the key fetcher, the live hub and the limits.
/// Shared by every handler behind an `Arc`.
pub struct Chat {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) keys: KeyFetcher,
    pub(crate) hub: Hub,
    pub(crate) limits: Limits,
    pub(crate) session_ttl: Duration,
    /// The service's own origins (for the console's cookie checks and the snippet), first = canonical.
    own_origins: RwLock<Vec<String>>,
    pub(crate) passwords: Passwords,
    pub(crate) msg_limiter: RateLimiter<(Uuid, Sender)>,
    pub(crate) typing_limiter: RateLimiter<(Uuid, Sender)>,
    /// Uploads per conversation and sender (each may be `--max-attachment-bytes` on disk).
    pub(crate) upload_limiter: RateLimiter<(Uuid, Sender)>,
    pub(crate) session_limiter: RateLimiter<IpAddr>,
    pub(crate) login_limiter: RateLimiter<IpAddr>,
    pub(crate) login_throttle: LoginThrottle,
    pub(crate) sockets: SocketCounter,
    /// The support desk's per-node state (queue positions, assignment rates).
    pub(crate) desk: self::desk::DeskState,
    /// Flips to true when the service shuts down; open sockets close.
    shutdown: tokio::sync::watch::Sender<bool>,
    /// Prometheus metrics of this service (`GET /metrics`).
    pub metrics: Metrics,
    /// Unlocks `GET /metrics`; without it the route answers 404.
    pub(crate) metrics_token: Option<MetricsToken>,
    /// Email (`--smtp-url`); none: no email is sent.
    pub(crate) mail: Option<Arc<offline::MailSetup>>,
    /// Webhook rules (URL addresses) and the deliverer's clock.
    pub(crate) webhooks: webhooks::WebhookSettings,
}

impl Chat {
    pub(crate) fn new(
        store: Arc<dyn Store>,
        keys: KeyFetcher,
        limits: Limits,
        session_ttl: Duration,
        own_origins: Vec<String>,
    ) -> Chat {
        Chat {
            store,
            keys,
            hub: Hub::new(CONVERSATION_BUFFER, AGENT_BUFFER),
            msg_limiter: RateLimiter::new(limits.msg_rate, 1, limits.msg_burst),
            typing_limiter: RateLimiter::new(5, 1, 10),
            upload_limiter: RateLimiter::new(
                attachments::UPLOADS_PER_MINUTE,
                60,
                attachments::UPLOADS_PER_MINUTE,
            ),
            session_limiter: RateLimiter::new(limits.session_rate, 1, limits.session_burst),
            login_limiter: RateLimiter::new(limits.login_rate_per_minute, 60, limits.login_burst),
            login_throttle: limits::login_throttle(
                limits.login_account_address_burst,
                limits.login_account_address_per_minute,
                limits.login_account_burst,
                limits.login_account_per_minute,
                limits.login_lockout,
            ),
            sockets: SocketCounter::new(limits.max_sockets_per_address),
            desk: Default::default(),
            limits,
            session_ttl,
            own_origins: RwLock::new(own_origins),
            passwords: Passwords::new(),
            shutdown: tokio::sync::watch::channel(false).0,
            metrics: Metrics::new(),
            metrics_token: None,
            mail: None,
            webhooks: webhooks::WebhookSettings::default(),
        }
    }

    /// Serves `GET /metrics` to requests bearing this token (`--metrics-token`).
    pub(crate) fn with_metrics_token(mut self, token: Option<MetricsToken>) -> Chat {
        self.metrics_token = token;
        self
    }

    /// Sets the webhook rules (`--allow-private-webhook-urls` …).
    pub(crate) fn with_webhooks(mut self, w: webhooks::WebhookSettings) -> Chat {
        self.webhooks = w;
        self
    }

    /// Resolves when the service shuts down.
    pub(crate) fn shutdown_signal(&self) -> tokio::sync::watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    /// Tells every open socket to close.
    pub(crate) fn begin_shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    /// The service's canonical origin (`http://127.0.0.1:3001`).
    pub fn public_origin(&self) -> String {
        self.own_origins
            .read()
            .ok()
            .and_then(|o| o.first().cloned())
            .unwrap_or_default()
    }

    /// Whether `origin` is the service's own (the console's).
    pub fn is_own_origin(&self, origin: &str) -> bool {
        self.own_origins
            .read()
            .map(|o| o.iter().any(|x| x == origin))
            .unwrap_or(false)
    }

    /// Sets the own origins once the listening address is known (when `--public-url` was not given).
    pub(crate) fn set_own_origins(&self, origins: Vec<String>) {
        if let Ok(mut o) = self.own_origins.write() {
            *o = origins;
        }
    }
}

/// A random bearer secret: `prefix` + 32 random bytes in base64url. The prefix tells agent
/// tokens (`vca_`) and customer session tokens (`vcs_`) apart at a glance; the stores keep them
/// in separate tables, so one can never be used as the other.
pub(crate) fn new_secret(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// The SHA-256 of a bearer secret: what the database stores and looks up.
pub(crate) fn secret_hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// The current Unix time in seconds.
pub(crate) fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}
