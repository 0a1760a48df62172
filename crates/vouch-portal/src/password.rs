//! argon2id password hashing off the async runtime, with a cap on concurrent hashes.

use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::rngs::OsRng;
use rand::RngCore;
use tokio::sync::Semaphore;

use crate::error::PortalError;

/// How long a sign-in waits for a free hashing slot before the server says it is busy.
const SLOT_WAIT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub(crate) enum HashError {
    #[error("all password hashing slots are busy")]
    Busy,
    #[error("{0}")]
    Failed(String),
}

impl From<HashError> for PortalError {
    fn from(e: HashError) -> PortalError {
        PortalError::PasswordHash(e.to_string())
    }
}

#[derive(Clone)]
pub(crate) struct Passwords {
    slots: Arc<Semaphore>,
    /// A real hash of a random password: unknown users are verified against it so that
    /// "no such user" costs the same time as "wrong password".
    dummy_hash: Arc<str>,
}

fn hash_blocking(password: &[u8]) -> Result<String, HashError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password, &salt)
        .map(|h| h.to_string())
        .map_err(|e| HashError::Failed(e.to_string()))
}

fn verify_blocking(password: &[u8], phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default().verify_password(password, &parsed).is_ok(),
        Err(_) => false,
    }
}

impl Passwords {
    pub async fn new(max_concurrent: usize) -> Result<Passwords, PortalError> {
        let mut random = [0u8; 32];
        OsRng.fill_bytes(&mut random);
        let dummy = tokio::task::spawn_blocking(move || hash_blocking(&random))
            .await
            .map_err(|e| PortalError::PasswordHash(e.to_string()))??;
        Ok(Passwords {
            slots: Arc::new(Semaphore::new(max_concurrent.max(1))),
            dummy_hash: dummy.into(),
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let permit = tokio::time::timeout(SLOT_WAIT, self.slots.clone().acquire_owned())
            .await
            .map_err(|_| HashError::Busy)?
            .map_err(|_| HashError::Busy)?;
        let out = tokio::task::spawn_blocking(move || {
            let out = f();
            drop(permit);
            out
        })
        .await
        .map_err(|e| HashError::Failed(e.to_string()))?;
        Ok(out)
    }

    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        self.run(move || hash_blocking(password.as_bytes())).await?
    }

    /// `true` only when `phc` is `Some` and matches. With `None` the dummy hash is checked
    /// (and the answer is always `false`), so both failures take the same time.
    pub async fn verify(&self, password: String, phc: Option<String>) -> Result<bool, HashError> {
        let known = phc.is_some();
        let target = phc.unwrap_or_else(|| self.dummy_hash.to_string());
        let ok = self
            .run(move || verify_blocking(password.as_bytes(), &target))
            .await?;
        Ok(ok && known)
    }
}
