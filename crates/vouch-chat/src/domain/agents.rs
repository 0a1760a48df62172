//! Agents and admins: argon2id passwords (the shared `vouch_password` pool: off the runtime, a
//! few at a time, in preallocated memory) and sign-in tokens (only their SHA-256 is stored).

use std::net::IpAddr;

use uuid::Uuid;
use vouch_password::PasswordError;

use super::limits::LoginRefusal;
use super::{new_secret, secret_hash, unix_now, Chat};
use crate::error::ChatError;
use crate::storage::{now_millis, Agent, Millis, Role, Store, StoreError};
use vouch_throttle::AddrKey;

/// A new agent or admin.
#[derive(Debug, Clone)]
pub struct NewAgent {
    pub email: String,
    pub name: String,
    pub role: Role,
    pub password: String,
}

/// A successful sign-in.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The bearer token (also set as the console's cookie). Shown once, stored only as a hash.
    pub token: String,
    pub agent: Agent,
    pub expires_at: Millis,
}

/// Hashes computed at the same time (each holds a preallocated 19 MiB block), so a sign-in
/// flood can neither starve chat traffic of CPU nor grow memory.
const HASH_SLOTS: usize = 2;

/// The chat service's password hashing: the shared [`vouch_password`] pool with
/// [`HASH_SLOTS`] slots; a sign-in waits for a free slot as long as it takes.
pub struct Passwords(vouch_password::Passwords);

impl Default for Passwords {
    fn default() -> Self {
        Self::new()
    }
}

fn hash_failed(e: PasswordError) -> ChatError {
    ChatError::Internal(format!("password hashing failed: {e}"))
}

impl Passwords {
    /// Allocates the slots' memory now.
    pub fn new() -> Self {
        Passwords(vouch_password::Passwords::new(HASH_SLOTS))
    }

    /// The argon2id PHC string of `password`.
    pub async fn hash(&self, password: String) -> Result<String, ChatError> {
        self.0.hash(password).await.map_err(hash_failed)
    }

    /// Whether `password` matches the PHC string `hash`; with `None` (unknown email) a hash of
    /// the same cost is computed and the answer is `false`. A stored string that parses but is
    /// not a usable argon2 hash matches nothing; one that does not parse is an error.
    pub async fn verify(&self, password: String, hash: Option<String>) -> Result<bool, ChatError> {
        match self.0.verify(password, hash).await {
            Err(PasswordError::Unsupported(_)) => Ok(false),
            other => other.map_err(hash_failed),
        }
    }
}

fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Validates and stores a new agent.
pub(crate) async fn add_agent(
    store: &dyn Store,
    passwords: &Passwords,
    a: NewAgent,
) -> Result<Agent, ChatError> {
    let email = normalize_email(&a.email);
    if email.is_empty()
        || email.len() > 254
        || !email.contains('@')
        || email.contains(char::is_whitespace)
    {
        return Err(ChatError::validation("email", "must be an email address"));
    }
    let name = a.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(ChatError::validation("name", "must be 1 to 200 characters"));
    }
    if a.password.is_empty() || a.password.len() > 1024 {
        return Err(ChatError::validation("password", "must be 1 to 1024 bytes"));
    }
    let hash = passwords.hash(a.password).await?;
    let agent = Agent {
        id: Uuid::new_v4(),
        email,
        name,
        role: a.role,
        created_at: now_millis(),
    };
    match store.insert_agent(&agent, &hash).await {
        Ok(()) => Ok(agent),
        Err(StoreError::Conflict(m)) => Err(ChatError::Conflict(m.to_string())),
        Err(e) => Err(e.into()),
    }
}

impl Chat {
    /// Signs an agent in. Unknown email and wrong password are one error and take the same time.
    pub async fn login(
        &self,
        email: &str,
        password: &str,
        client: IpAddr,
    ) -> Result<SignedIn, ChatError> {
        if !self.login_limiter.check(&client) {
            return Err(ChatError::RateLimited);
        }
        if password.len() > 1024 || email.len() > 254 {
            return Err(ChatError::InvalidCredentials);
        }
        let account = normalize_email(email);
        let attempt = self
            .login_throttle
            .begin(&account, AddrKey::from_ip(Some(client)), unix_now())
            .map_err(|r| match r {
                LoginRefusal::TooManyAttempts { retry_after } => {
                    ChatError::TooManyAttempts { retry_after }
                }
                LoginRefusal::Locked { retry_after } => ChatError::AccountLocked { retry_after },
            })?;
        let found = self.store.find_agent_by_email(&account).await?;
        let (agent, hash) = match found {
            Some((agent, hash)) => (Some(agent), Some(hash)),
            None => (None, None),
        };
        let ok = self.passwords.verify(password.to_string(), hash).await?;
        let agent = match (agent, ok) {
            (Some(agent), true) => {
                self.login_throttle.succeeded(attempt, unix_now());
                agent
            }
            _ => {
                if let Some(secs) = self.login_throttle.failed(attempt, unix_now()) {
                    tracing::warn!(
                        lock_secs = secs,
                        "agent account locked after too many failed sign-ins"
                    );
                }
                return Err(ChatError::InvalidCredentials);
            }
        };
        let token = new_secret("vca_");
        let expires_at = now_millis() + self.session_ttl.as_millis() as Millis;
        self.store
            .insert_agent_token(&secret_hash(&token), agent.id, expires_at)
            .await?;
        self.signed_in_offline(agent.id).await?;
        tracing::info!(agent = %agent.id, role = %agent.role, "agent signed in");
        Ok(SignedIn {
            token,
            agent,
            expires_at,
        })
    }

    /// The agent signed in with this bearer token, if it is valid and unexpired.
    pub async fn agent_for_token(&self, token: &str) -> Result<Option<Agent>, ChatError> {
        if !token.starts_with("vca_") || token.len() > 128 {
            return Ok(None);
        }
        Ok(self
            .store
            .find_agent_by_token(&secret_hash(token), now_millis())
            .await?)
    }

    /// Revokes a sign-in token.
    pub async fn logout(&self, token: &str) -> Result<(), ChatError> {
        Ok(self.store.delete_agent_token(&secret_hash(token)).await?)
    }
}
