//! The portal's domain: sign-in, sessions and token issuance. No HTTP types here.

use std::sync::{Arc, RwLock};

use serde::Serialize;

use crate::clock::Clock;
use crate::config::Settings;
use crate::error::PortalError;
use crate::keystore::{KeyDir, KeyRing};
use crate::password::{HashError, Passwords};
use crate::secrets::{self, CookieNames};
use crate::store::{SessionRecord, Store};
use crate::throttle::{AddrKey, Refusal, Throttle};
use crate::users::{normalize_email, MAX_PASSWORD_LEN};

/// A session refreshes `last_seen_at` at most this often, so `/token` does not write.
const TOUCH_INTERVAL: i64 = 60;

pub(crate) struct Core {
    pub settings: Settings,
    pub store: Store,
    pub passwords: Passwords,
    pub throttle: Throttle,
    pub ring: RwLock<Arc<KeyRing>>,
    pub key_dir: KeyDir,
    pub clock: Arc<dyn Clock>,
    pub cookies: CookieNames,
    pub metrics: crate::metrics::Metrics,
    pub metrics_token: Option<crate::metrics::MetricsToken>,
}

/// A live session and its user.
pub(crate) struct Session {
    pub id_hash: [u8; 32],
    pub record: SessionRecord,
}

#[derive(Debug)]
pub(crate) enum SignInError {
    /// Unknown user or wrong password: one answer for both.
    Invalid,
    TooManyAttempts {
        retry_after: i64,
    },
    Locked {
        retry_after: i64,
    },
    Busy,
    Internal(PortalError),
}

impl From<PortalError> for SignInError {
    fn from(e: PortalError) -> SignInError {
        SignInError::Internal(e)
    }
}

impl From<HashError> for SignInError {
    fn from(e: HashError) -> SignInError {
        match e {
            HashError::Busy => SignInError::Busy,
            other => SignInError::Internal(other.into()),
        }
    }
}

/// A fresh session: the cookie value (the only copy of the id) and its lifetime.
pub(crate) struct NewSession {
    pub cookie_value: String,
}

#[derive(Serialize)]
struct TokenClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    iat: i64,
    exp: i64,
    preferred_username: &'a str,
    email: &'a str,
    given_name: &'a str,
    family_name: &'a str,
    phone_number: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    lwicontexts: Option<&'a str>,
}

impl Core {
    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    pub fn ring(&self) -> Arc<KeyRing> {
        match self.ring.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    pub fn set_ring(&self, ring: KeyRing) {
        let ring = Arc::new(ring);
        match self.ring.write() {
            Ok(mut g) => *g = ring,
            Err(p) => *p.into_inner() = ring,
        }
    }

    /// The session a cookie value names, if it exists and has not expired. An expired one
    /// is deleted. `last_seen_at` is refreshed at most once a minute.
    pub async fn session(&self, cookie: Option<&str>) -> Result<Option<Session>, PortalError> {
        let Some(value) = cookie.filter(|v| secrets::is_well_formed(v)) else {
            return Ok(None);
        };
        let id_hash = secrets::hash_secret(value);
        let Some(record) = self.store.session(&id_hash).await? else {
            return Ok(None);
        };
        let now = self.now();
        let s = &self.settings;
        if now >= record.created_at + s.session_max_age
            || now >= record.last_seen_at + s.session_idle_timeout
        {
            self.store.delete_session(&id_hash).await?;
            return Ok(None);
        }
        if now - record.last_seen_at >= TOUCH_INTERVAL {
            self.store.touch_session(&id_hash, now).await?;
        }
        Ok(Some(Session { id_hash, record }))
    }

    /// Checks the credentials under the throttle and, on success, starts a new session
    /// (a new id every time: no fixation) and ends `previous` if there was one.
    pub async fn sign_in(
        &self,
        email: &str,
        password: &str,
        addr: AddrKey,
        previous: Option<&Session>,
    ) -> Result<NewSession, SignInError> {
        let Some(email) = normalize_email(email) else {
            return Err(SignInError::Invalid);
        };
        if password.is_empty() || password.len() > MAX_PASSWORD_LEN {
            return Err(SignInError::Invalid);
        }
        let now = self.now();
        let attempt = self
            .throttle
            .begin(&email, addr, now)
            .map_err(|r| match r {
                Refusal::TooManyAttempts { retry_after } => {
                    SignInError::TooManyAttempts { retry_after }
                }
                Refusal::Locked { retry_after } => SignInError::Locked { retry_after },
            })?;
        let creds = match self.store.credentials(&email).await {
            Ok(c) => c,
            Err(e) => {
                self.throttle.succeeded(attempt, now); // not the caller's fault: give back
                return Err(e.into());
            }
        };
        let (user_id, phc) = match creds {
            Some(c) => (Some(c.user_id), Some(c.password_hash)),
            None => (None, None),
        };
        let ok = match self.passwords.verify(password.to_string(), phc).await {
            Ok(ok) => ok,
            Err(e) => {
                self.throttle.succeeded(attempt, self.now());
                return Err(e.into());
            }
        };
        let now = self.now();
        let user_id = match (ok, user_id) {
            (true, Some(id)) => id,
            _ => {
                if let Some(secs) = self.throttle.failed(attempt, now) {
                    // The email is an identifier chosen by the client; a hash keeps the log
                    // useful without recording what was typed.
                    let tag = hex::encode(&secrets::hash_secret(&email)[..6]);
                    tracing::warn!(account = %tag, lock_secs = secs, "sign-in locked after too many failures");
                }
                return Err(SignInError::Invalid);
            }
        };
        self.throttle.succeeded(attempt, now);
        if let Some(prev) = previous {
            self.store.delete_session(&prev.id_hash).await?;
        }
        let cookie_value = secrets::random_secret();
        let csrf = secrets::random_secret();
        self.store
            .create_session(&secrets::hash_secret(&cookie_value), user_id, &csrf, now)
            .await?;
        tracing::info!(user_id, "signed in");
        Ok(NewSession { cookie_value })
    }

    pub async fn sign_out(&self, session: &Session) -> Result<(), PortalError> {
        self.store.delete_session(&session.id_hash).await
    }

    /// The signed-in user's token, signed with the current key (parsed once, at load).
    pub fn issue_token(&self, session: &Session) -> Result<String, PortalError> {
        let r = &session.record;
        let iat = self.now();
        let claims = TokenClaims {
            iss: &self.settings.issuer,
            sub: &r.contact_id,
            iat,
            exp: iat + self.settings.token_ttl,
            preferred_username: &r.email,
            email: &r.email,
            given_name: &r.given_name,
            family_name: &r.family_name,
            phone_number: r.phone.as_deref().unwrap_or(""),
            lwicontexts: (r.context_json != "{}" && !r.context_json.is_empty())
                .then_some(r.context_json.as_str()),
        };
        self.ring()
            .current
            .sign(&claims)
            .map_err(|e| PortalError::Signing(e.to_string()))
    }

    /// Re-reads the key directory (after a rotation by another process).
    pub async fn reload_keys(self: &Arc<Self>) -> Result<(), PortalError> {
        let me = self.clone();
        let ring = tokio::task::spawn_blocking(move || me.key_dir.load())
            .await
            .map_err(|e| PortalError::Signing(format!("key reload task failed: {e}")))??;
        self.set_ring(ring);
        Ok(())
    }

    pub async fn delete_expired_sessions(&self) -> Result<u64, PortalError> {
        let now = self.now();
        self.store
            .delete_expired_sessions(
                now - self.settings.session_idle_timeout,
                now - self.settings.session_max_age,
            )
            .await
    }
}
