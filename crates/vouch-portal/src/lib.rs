//! The portal: the website side of vouch.
//!
//! Customers sign in (argon2id passwords, server-side sessions, CSRF-protected forms,
//! throttled sign-in), and the page's chat widget gets a signed RS256 token for the
//! signed-in customer from `GET /token`. The chat service verifies it with the keys
//! published at `/publickey`, `/publickeys` and `/.well-known/jwks.json`.
//!
//! Layout: [`config`] (flags), `store` (SQLite, the only SQL), `core` (sign-in, sessions,
//! tokens), `keystore` (key files and rotation), `throttle`, `password`, `web` (routes,
//! middleware, pages).

pub mod clock;
pub mod config;
mod core;
pub mod error;
mod keystore;
pub mod metrics;
mod password;
mod secrets;
mod store;
mod throttle;
pub mod users;
mod web;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

pub use clock::{Clock, ManualClock, SystemClock};
pub use config::PortalConfig;
pub use error::PortalError;
pub use keystore::{RetiredKey, RotationReport};
pub use users::{NewUser, User};

use crate::core::Core;
use crate::keystore::KeyDir;
use crate::password::Passwords;
use crate::secrets::CookieNames;
use crate::store::Store;

/// How often a running portal looks for a key rotation made by another process.
const KEY_RELOAD_INTERVAL: Duration = Duration::from_secs(5);
/// How often expired session rows are deleted.
const SESSION_SWEEP_INTERVAL: Duration = Duration::from_secs(300);

/// A ready portal: database, keys and settings. Cheap to clone.
#[derive(Clone)]
pub struct Portal {
    core: Arc<Core>,
}

impl std::fmt::Debug for Portal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Portal")
            .field("public_origin", &self.core.settings.public_origin)
            .field("issuer", &self.core.settings.issuer)
            .finish_non_exhaustive()
    }
}

fn create_data_dir(config: &PortalConfig) -> Result<(), PortalError> {
    std::fs::create_dir_all(&config.data_dir).map_err(|e| PortalError::io(&config.data_dir, e))
}

impl Portal {
    /// Creates the data directory, the SQLite file (with migrations) and the first signing
    /// key when they do not exist, and loads everything.
    pub async fn open(config: &PortalConfig) -> Result<Portal, PortalError> {
        Portal::open_with_clock(config, Arc::new(SystemClock)).await
    }

    /// [`Portal::open`] with another source of "now" (tests move a [`ManualClock`]).
    pub async fn open_with_clock(
        config: &PortalConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Portal, PortalError> {
        let settings = config.settings()?;
        create_data_dir(config)?;
        let store = Store::open(config).await?;
        let key_dir = KeyDir::new(config.keys_dir());
        let (bits, now) = (config.key_bits, clock.now());
        let ring = {
            let dir = KeyDir::new(config.keys_dir());
            tokio::task::spawn_blocking(move || dir.open(bits, now))
                .await
                .map_err(|e| PortalError::key(config.keys_dir(), e.to_string()))??
        };
        let passwords = Passwords::new(config.max_concurrent_hashes as usize);
        let cookies = CookieNames::new(settings.secure_cookies);
        let core = Core {
            throttle: throttle::from_config(config),
            settings,
            store,
            passwords,
            ring: RwLock::new(Arc::new(ring)),
            key_dir,
            clock,
            cookies,
            metrics: metrics::Metrics::new(),
            metrics_token: config.metrics_token.clone(),
        };
        Ok(Portal {
            core: Arc::new(core),
        })
    }

    /// All routes with their middleware. Serve it with connect info
    /// (`into_make_service_with_connect_info::<SocketAddr>`) so sign-in throttling sees
    /// client addresses; [`Portal::serve`] does.
    pub fn router(&self) -> axum::Router {
        web::router(self.core.clone())
    }

    /// Re-reads the signing keys from disk (a rotation by `vouch portal keys rotate` is
    /// also picked up by a serving portal within a few seconds).
    pub async fn reload_keys(&self) -> Result<(), PortalError> {
        self.core.reload_keys().await
    }

    /// The `kid` of the key that signs tokens now.
    pub fn current_kid(&self) -> String {
        self.core.ring().current.kid().to_string()
    }

    /// The issuer (`iss`) of issued tokens.
    pub fn issuer(&self) -> &str {
        &self.core.settings.issuer
    }

    /// Serves until `shutdown` completes, then finishes in-flight requests and closes the
    /// database.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), PortalError> {
        if let Ok(addr) = listener.local_addr() {
            tracing::info!(%addr, issuer = %self.core.settings.issuer, "portal listening");
        }
        let housekeeping = tokio::spawn(housekeeping(self.core.clone()));
        let app = self
            .router()
            .into_make_service_with_connect_info::<SocketAddr>();
        let result = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(PortalError::Serve);
        housekeeping.abort();
        self.core.store.close().await;
        result
    }
}

/// Background chores of a serving portal: notice key rotations, sweep expired sessions.
async fn housekeeping(core: Arc<Core>) {
    let mut last_mtime = core.key_dir.manifest_mtime();
    let mut reload = tokio::time::interval(KEY_RELOAD_INTERVAL);
    let mut sweep = tokio::time::interval(SESSION_SWEEP_INTERVAL);
    loop {
        tokio::select! {
            _ = reload.tick() => {
                let mtime = core.key_dir.manifest_mtime();
                if mtime.is_some() && mtime != last_mtime {
                    match core.reload_keys().await {
                        Ok(()) => {
                            last_mtime = mtime;
                            tracing::info!(kid = core.ring().current.kid(), "signing keys reloaded");
                        }
                        Err(e) => tracing::error!(error = %e, "could not reload signing keys; keeping the previous ones"),
                    }
                }
            }
            _ = sweep.tick() => {
                match core.delete_expired_sessions().await {
                    Ok(0) => {}
                    Ok(n) => tracing::debug!(sessions = n, "expired sessions deleted"),
                    Err(e) => tracing::warn!(error = %e, "session sweep failed"),
                }
            }
        }
    }
}

/// Adds a website user (`vouch portal users add`). The email is stored lower-cased; a
/// duplicate email is [`PortalError::DuplicateEmail`]; without a contact id a random one
/// is chosen.
pub async fn add_user(config: &PortalConfig, user: NewUser) -> Result<User, PortalError> {
    let valid = users::validate(&user)?;
    config.settings()?;
    create_data_dir(config)?;
    let store = Store::open(config).await?;
    let passwords = Passwords::new(1);
    let hash = passwords.hash(user.password).await?;
    let result = store.insert_user(&valid, &hash, SystemClock.now()).await;
    store.close().await;
    result
}

/// The user with this email (case-insensitive), if any.
pub async fn find_user_by_email(
    config: &PortalConfig,
    email: &str,
) -> Result<Option<User>, PortalError> {
    let Some(email) = users::normalize_email(email) else {
        return Ok(None);
    };
    create_data_dir(config)?;
    let store = Store::open(config).await?;
    let result = store.find_user_by_email(&email).await;
    store.close().await;
    result
}

/// A new signing key (`vouch portal keys rotate`). The previous key stays published until
/// its last token can no longer be valid (`--token-ttl` + `--rotation-grace`), and keys
/// past that are deleted. A serving portal picks the change up within seconds.
pub async fn rotate_keys(config: &PortalConfig) -> Result<RotationReport, PortalError> {
    rotate_keys_at(config, SystemClock.now()).await
}

/// [`rotate_keys`] as if it were `now` (unix seconds).
pub async fn rotate_keys_at(
    config: &PortalConfig,
    now: i64,
) -> Result<RotationReport, PortalError> {
    let settings = config.settings()?;
    create_data_dir(config)?;
    let dir = KeyDir::new(config.keys_dir());
    let bits = config.key_bits;
    tokio::task::spawn_blocking(move || {
        dir.rotate(bits, settings.token_ttl, settings.rotation_grace, now)
    })
    .await
    .map_err(|e| PortalError::key(config.keys_dir(), e.to_string()))?
}
