//! The portal's password hashing: the shared [`vouch_password`] pool (argon2id off the async
//! runtime, `--max-concurrent-hashes` preallocated slots), with a wait limit for a free slot
//! and the portal's reading of its errors.

use std::time::Duration;

use crate::error::PortalError;

pub(crate) use vouch_password::PasswordError as HashError;

/// How long a sign-in waits for a free hashing slot before the server says it is busy.
const SLOT_WAIT: Duration = Duration::from_secs(10);

impl From<HashError> for PortalError {
    fn from(e: HashError) -> PortalError {
        PortalError::PasswordHash(e.to_string())
    }
}

#[derive(Clone)]
pub(crate) struct Passwords(vouch_password::Passwords);

impl Passwords {
    /// Allocates the memory of `max_concurrent` hashing slots now (19 MiB each).
    pub fn new(max_concurrent: usize) -> Passwords {
        Passwords(vouch_password::Passwords::new(max_concurrent).with_wait_limit(SLOT_WAIT))
    }

    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        self.0.hash(password).await
    }

    /// `true` only when `phc` is `Some` and matches. With `None` a hash of the same cost is
    /// computed (and the answer is always `false`), so both failures take the same time. A
    /// stored string that is not an argon2 hash matches nothing.
    pub async fn verify(&self, password: String, phc: Option<String>) -> Result<bool, HashError> {
        match self.0.verify(password, phc).await {
            Err(HashError::Malformed(_) | HashError::Unsupported(_)) => Ok(false),
            other => other,
        }
    }
}
