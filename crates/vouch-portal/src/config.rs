//! Command-line / environment configuration of the portal and its validated form.

use std::net::SocketAddr;
use std::path::PathBuf;

use url::Url;

use crate::error::PortalError;

pub const DEFAULT_ADDR: &str = "127.0.0.1:3000";
pub const DEFAULT_DATA_DIR: &str = "./vouch-data";
pub const DEFAULT_CHAT_URL: &str = "http://127.0.0.1:3001";
pub const DEFAULT_TOKEN_TTL: u32 = 900;
pub const DEFAULT_ROTATION_GRACE: u32 = 60;
pub const DEFAULT_KEY_BITS: u32 = 2048;
pub const DEFAULT_SESSION_IDLE_TIMEOUT: u32 = 30 * 60;
pub const DEFAULT_SESSION_MAX_AGE: u32 = 12 * 60 * 60;
pub const DEFAULT_LOGIN_ADDRESS_BURST: u32 = 30;
pub const DEFAULT_LOGIN_ADDRESS_PER_MINUTE: u32 = 10;
pub const DEFAULT_LOGIN_ACCOUNT_ADDRESS_BURST: u32 = 5;
pub const DEFAULT_LOGIN_ACCOUNT_ADDRESS_PER_MINUTE: u32 = 1;
pub const DEFAULT_LOGIN_ACCOUNT_BURST: u32 = 20;
pub const DEFAULT_LOGIN_ACCOUNT_PER_MINUTE: u32 = 2;
pub const DEFAULT_LOGIN_LOCKOUT: u32 = 15 * 60;
pub const DEFAULT_MAX_CONCURRENT_HASHES: u32 = 2;
/// Most concurrent hashes allowed: each holds a 19 MiB argon2 block from start-up (64: 1.2 GiB).
pub const MAX_CONCURRENT_HASHES: u32 = 64;
pub const DEFAULT_MAX_FORM_BYTES: u32 = 16 * 1024;

/// Every setting of the website side. Each flag has a `VOUCH_…` environment variable.
#[derive(clap::Args, Debug, Clone)]
pub struct PortalConfig {
    /// Address the portal listens on.
    #[arg(long, env = "VOUCH_PORTAL_ADDR", default_value = DEFAULT_ADDR)]
    pub addr: SocketAddr,

    /// Directory for the portal's SQLite file (`portal.db`) and signing keys (`keys/`).
    /// Created on first start.
    #[arg(long, env = "VOUCH_DATA_DIR", default_value = DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,

    /// Database URL: `sqlite://PATH` or `postgres://USER@HOST/DB` (several portals may share one).
    /// Default: `sqlite://<data-dir>/portal.db`.
    #[arg(long, env = "VOUCH_PORTAL_DATABASE_URL")]
    pub database_url: Option<String>,

    /// The URL customers use to reach the portal (decides the `Secure` cookie flag and the
    /// default issuer). Default: `http://<addr>`.
    #[arg(long, env = "VOUCH_PUBLIC_URL")]
    pub public_url: Option<Url>,

    /// The `iss` claim of issued tokens. Default: the host of `--public-url`.
    #[arg(long, env = "VOUCH_ISSUER")]
    pub issuer: Option<String>,

    /// Lifetime of issued tokens in seconds (`exp` = `iat` + ttl).
    #[arg(long, env = "VOUCH_TOKEN_TTL", default_value_t = DEFAULT_TOKEN_TTL)]
    pub token_ttl: u32,

    /// Base URL of the chat service; the page's widget snippet loads from here.
    #[arg(long, env = "VOUCH_CHAT_URL", default_value = DEFAULT_CHAT_URL)]
    pub chat_url: Url,

    /// App id of the chat widget to embed on the page. Without it the page shows no widget.
    #[arg(long, env = "VOUCH_WIDGET_APP_ID")]
    pub widget_app_id: Option<String>,

    /// Seconds of inactivity after which a session ends.
    #[arg(long, env = "VOUCH_SESSION_IDLE_TIMEOUT", default_value_t = DEFAULT_SESSION_IDLE_TIMEOUT)]
    pub session_idle_timeout: u32,

    /// Seconds after sign-in after which a session ends regardless of activity.
    #[arg(long, env = "VOUCH_SESSION_MAX_AGE", default_value_t = DEFAULT_SESSION_MAX_AGE)]
    pub session_max_age: u32,

    /// RSA modulus size of newly generated signing keys (2048, 3072 or 4096).
    #[arg(long, env = "VOUCH_KEY_BITS", default_value_t = DEFAULT_KEY_BITS)]
    pub key_bits: u32,

    /// Extra seconds a rotated-out key stays published after its last token expired
    /// (covers verifiers' clock skew leeway).
    #[arg(long, env = "VOUCH_ROTATION_GRACE", default_value_t = DEFAULT_ROTATION_GRACE)]
    pub rotation_grace: u32,

    /// Failed sign-ins one client address may make in a burst (all accounts together).
    #[arg(long, env = "VOUCH_LOGIN_ADDRESS_BURST", default_value_t = DEFAULT_LOGIN_ADDRESS_BURST)]
    pub login_address_burst: u32,

    /// Failed sign-ins per minute one client address regains after its burst.
    #[arg(long, env = "VOUCH_LOGIN_ADDRESS_PER_MINUTE", default_value_t = DEFAULT_LOGIN_ADDRESS_PER_MINUTE)]
    pub login_address_per_minute: u32,

    /// Failed sign-ins one client address may make against one account in a burst.
    #[arg(long, env = "VOUCH_LOGIN_ACCOUNT_ADDRESS_BURST", default_value_t = DEFAULT_LOGIN_ACCOUNT_ADDRESS_BURST)]
    pub login_account_address_burst: u32,

    /// Failed sign-ins per minute one client address regains against one account. Keep it
    /// below `--login-account-per-minute` so one address alone can never lock an account.
    #[arg(long, env = "VOUCH_LOGIN_ACCOUNT_ADDRESS_PER_MINUTE", default_value_t = DEFAULT_LOGIN_ACCOUNT_ADDRESS_PER_MINUTE)]
    pub login_account_address_per_minute: u32,

    /// Failed sign-ins one account may receive (from all addresses) before it is locked.
    #[arg(long, env = "VOUCH_LOGIN_ACCOUNT_BURST", default_value_t = DEFAULT_LOGIN_ACCOUNT_BURST)]
    pub login_account_burst: u32,

    /// Failed sign-ins per minute an account regains.
    #[arg(long, env = "VOUCH_LOGIN_ACCOUNT_PER_MINUTE", default_value_t = DEFAULT_LOGIN_ACCOUNT_PER_MINUTE)]
    pub login_account_per_minute: u32,

    /// Seconds an account stays locked once its failed sign-ins exceed the limit.
    #[arg(long, env = "VOUCH_LOGIN_LOCKOUT", default_value_t = DEFAULT_LOGIN_LOCKOUT)]
    pub login_lockout: u32,

    /// Password hashes computed at the same time (argon2id is CPU and memory heavy): each one
    /// holds a 19 MiB memory block, set aside at start-up.
    #[arg(long, env = "VOUCH_MAX_CONCURRENT_HASHES", default_value_t = DEFAULT_MAX_CONCURRENT_HASHES)]
    pub max_concurrent_hashes: u32,

    /// Largest accepted form body in bytes; larger requests get 413.
    #[arg(long, env = "VOUCH_MAX_FORM_BYTES", default_value_t = DEFAULT_MAX_FORM_BYTES)]
    pub max_form_bytes: u32,

    /// Bearer token that unlocks GET /metrics (Prometheus text format): scrape with
    /// `Authorization: Bearer <token>`. Without it /metrics answers 404. At least 16 characters.
    #[arg(long, env = "VOUCH_PORTAL_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<crate::metrics::MetricsToken>,
}

impl PortalConfig {
    /// The defaults of every flag, with data under `data_dir` (for tests and embedding).
    pub fn new(data_dir: impl Into<PathBuf>) -> PortalConfig {
        PortalConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 3000)),
            data_dir: data_dir.into(),
            database_url: None,
            public_url: None,
            issuer: None,
            token_ttl: DEFAULT_TOKEN_TTL,
            chat_url: Url::parse(DEFAULT_CHAT_URL).expect("the default chat URL is valid"),
            widget_app_id: None,
            session_idle_timeout: DEFAULT_SESSION_IDLE_TIMEOUT,
            session_max_age: DEFAULT_SESSION_MAX_AGE,
            key_bits: DEFAULT_KEY_BITS,
            rotation_grace: DEFAULT_ROTATION_GRACE,
            login_address_burst: DEFAULT_LOGIN_ADDRESS_BURST,
            login_address_per_minute: DEFAULT_LOGIN_ADDRESS_PER_MINUTE,
            login_account_address_burst: DEFAULT_LOGIN_ACCOUNT_ADDRESS_BURST,
            login_account_address_per_minute: DEFAULT_LOGIN_ACCOUNT_ADDRESS_PER_MINUTE,
            login_account_burst: DEFAULT_LOGIN_ACCOUNT_BURST,
            login_account_per_minute: DEFAULT_LOGIN_ACCOUNT_PER_MINUTE,
            login_lockout: DEFAULT_LOGIN_LOCKOUT,
            max_concurrent_hashes: DEFAULT_MAX_CONCURRENT_HASHES,
            max_form_bytes: DEFAULT_MAX_FORM_BYTES,
            metrics_token: None,
        }
    }

    /// `sqlite://<data-dir>/portal.db` unless `--database-url` says otherwise.
    pub fn effective_database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.data_dir.join("portal.db").display()),
        }
    }

    pub fn keys_dir(&self) -> PathBuf {
        self.data_dir.join("keys")
    }

    /// Checks every value and derives what the server needs.
    pub(crate) fn settings(&self) -> Result<Settings, PortalError> {
        let bad = |m: String| Err(PortalError::Config(m));
        let public_url = match &self.public_url {
            Some(u) => u.clone(),
            None => match Url::parse(&format!("http://{}/", self.addr)) {
                Ok(u) => u,
                Err(e) => return bad(format!("--public-url: cannot derive from --addr: {e}")),
            },
        };
        if !matches!(public_url.scheme(), "http" | "https") || public_url.host_str().is_none() {
            return bad("--public-url must be an http:// or https:// URL with a host".into());
        }
        if !matches!(self.chat_url.scheme(), "http" | "https") || self.chat_url.host_str().is_none()
        {
            return bad("--chat-url must be an http:// or https:// URL with a host".into());
        }
        if self.chat_url.query().is_some() || self.chat_url.fragment().is_some() {
            return bad("--chat-url must not carry a query or fragment".into());
        }
        let issuer = match &self.issuer {
            Some(i) => i.clone(),
            None => public_url.host_str().unwrap_or_default().to_string(),
        };
        if issuer.is_empty() || issuer.len() > 512 || issuer.chars().any(char::is_control) {
            return bad("--issuer must be 1-512 printable characters".into());
        }
        if let Some(id) = &self.widget_app_id {
            let ok = !id.is_empty()
                && id.len() <= 100
                && id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !ok {
                return bad("--widget-app-id must be 1-100 characters of A-Z a-z 0-9 - _".into());
            }
        }
        if !(1..=86_400).contains(&self.token_ttl) {
            return bad("--token-ttl must be between 1 and 86400 seconds".into());
        }
        if self.rotation_grace > 86_400 {
            return bad("--rotation-grace must be at most 86400 seconds".into());
        }
        if !matches!(self.key_bits, 2048 | 3072 | 4096) {
            return bad("--key-bits must be 2048, 3072 or 4096".into());
        }
        if self.session_idle_timeout == 0 || self.session_max_age == 0 {
            return bad("--session-idle-timeout and --session-max-age must be positive".into());
        }
        for (name, v) in [
            ("--login-address-burst", self.login_address_burst),
            ("--login-address-per-minute", self.login_address_per_minute),
            (
                "--login-account-address-burst",
                self.login_account_address_burst,
            ),
            (
                "--login-account-address-per-minute",
                self.login_account_address_per_minute,
            ),
            ("--login-account-burst", self.login_account_burst),
            ("--login-account-per-minute", self.login_account_per_minute),
            ("--max-concurrent-hashes", self.max_concurrent_hashes),
        ] {
            if v == 0 {
                return bad(format!("{name} must be at least 1"));
            }
        }
        if self.max_concurrent_hashes > MAX_CONCURRENT_HASHES {
            return bad(format!(
                "--max-concurrent-hashes must be at most {MAX_CONCURRENT_HASHES} (each holds a \
                 19 MiB block from start-up)"
            ));
        }
        if self.login_account_address_burst >= self.login_account_burst
            || self.login_account_address_per_minute >= self.login_account_per_minute
        {
            return bad(
                "--login-account-address-burst and --login-account-address-per-minute must be \
                 below --login-account-burst and --login-account-per-minute, so that one address \
                 alone cannot lock an account"
                    .into(),
            );
        }
        if !(1024..=1024 * 1024).contains(&self.max_form_bytes) {
            return bad("--max-form-bytes must be between 1024 and 1048576".into());
        }

        let chat_base = self.chat_url.as_str().trim_end_matches('/').to_string();
        let chat_origin = self.chat_url.origin().ascii_serialization();
        let chat_ws_origin = match chat_origin.strip_prefix("https://") {
            Some(rest) => format!("wss://{rest}"),
            None => format!("ws://{}", chat_origin.trim_start_matches("http://")),
        };
        let csp = format!(
            "default-src 'self'; script-src 'self' {chat_origin}; \
             connect-src 'self' {chat_origin} {chat_ws_origin}; \
             style-src 'self' 'unsafe-inline' {chat_origin}; img-src 'self' data: {chat_origin}; \
             font-src 'self' {chat_origin}; frame-src {chat_origin}; object-src 'none'; \
             base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
        );
        Ok(Settings {
            secure_cookies: public_url.scheme() == "https",
            public_scheme: public_url.scheme().to_string(),
            public_origin: public_url.origin().ascii_serialization(),
            issuer,
            token_ttl: i64::from(self.token_ttl),
            rotation_grace: i64::from(self.rotation_grace),
            chat_base,
            widget_app_id: self.widget_app_id.clone(),
            csp,
            session_idle_timeout: i64::from(self.session_idle_timeout),
            session_max_age: i64::from(self.session_max_age),
            max_form_bytes: self.max_form_bytes as usize,
        })
    }
}

/// Validated, derived settings used at run time.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub secure_cookies: bool,
    pub public_scheme: String,
    pub public_origin: String,
    pub issuer: String,
    pub token_ttl: i64,
    pub rotation_grace: i64,
    pub chat_base: String,
    pub widget_app_id: Option<String>,
    pub csp: String,
    pub session_idle_timeout: i64,
    pub session_max_age: i64,
    pub max_form_bytes: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each hashing slot holds 19 MiB from start-up, so the flag is bounded: a typo cannot make
    /// the portal try to set aside gigabytes.
    #[test]
    fn concurrent_hashes_are_bounded() {
        let with = |n| PortalConfig {
            max_concurrent_hashes: n,
            ..PortalConfig::new("/nonexistent-vouch-test")
        };
        assert!(with(MAX_CONCURRENT_HASHES).settings().is_ok());
        for n in [0, MAX_CONCURRENT_HASHES + 1, 100_000] {
            let Err(e) = with(n).settings() else {
                panic!("--max-concurrent-hashes {n} was accepted");
            };
            let e = e.to_string();
            assert!(e.contains("--max-concurrent-hashes"), "{n}: {e}");
        }
    }
}
