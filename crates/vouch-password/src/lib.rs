//! Password hashing for both services (website users in the portal, agents in the chat service).
//!
//! It exists so that a burst of sign-ins costs a fixed amount of memory. argon2id with the
//! default parameters fills 19 MiB per hash; allocated per call on whichever blocking thread
//! runs it, those buffers stayed with the allocator's per-thread arenas and a few bursts of
//! sign-ins left hundreds of MB resident. Here a [`Passwords`] allocates its memory blocks once,
//! when it is made (one per hashing slot), and every hash borrows one and gives it back:
//!
//! * argon2id, version 0x13, m=19456 KiB, t=2, p=1 ([`argon2::Params::DEFAULT`]), 16-byte random
//!   salt, 32-byte output, written as a PHC string — the same strings the services stored
//!   before, and every string they stored still verifies;
//! * hashing and verifying run on tokio's blocking pool, at most `slots` at a time;
//! * the computed hash is compared with the stored one in constant time.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{self, Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use subtle::ConstantTimeEq;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Salt length of new hashes, in bytes (what `SaltString::generate` used).
const SALT_LEN: usize = 16;

/// Why a password could not be hashed or checked.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// Every slot stayed busy for the whole wait limit ([`Passwords::with_wait_limit`]).
    #[error("all password hashing slots are busy")]
    Busy,
    /// The stored string is not a PHC string.
    #[error("the stored password hash is not a PHC string: {0}")]
    Malformed(password_hash::Error),
    /// A PHC string that argon2 cannot check (another algorithm, bad parameters or salt).
    #[error("the stored password hash is not a usable argon2 hash: {0}")]
    Unsupported(password_hash::Error),
    /// The stored hash's parameters need more memory than one slot holds.
    #[error("the stored password hash needs {needs_kib} KiB, a hashing slot has {have_kib} KiB")]
    TooCostly { needs_kib: usize, have_kib: usize },
    /// A new hash could not be written as a PHC string.
    #[error("writing the PHC string failed: {0}")]
    Encoding(password_hash::Error),
    /// argon2 refused the input (a password over argon2's length limit).
    #[error("argon2: {0}")]
    Argon2(#[from] argon2::Error),
    /// The blocking task running the hash panicked or was cancelled.
    #[error("the password hashing task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// argon2id hashing with `slots` preallocated memory blocks. Cheap to clone (shared pool).
#[derive(Clone)]
pub struct Passwords {
    pool: Arc<Pool>,
    wait: Option<Duration>,
}

impl std::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passwords")
            .field("slots", &self.pool.slots)
            .field("wait", &self.wait)
            .finish_non_exhaustive()
    }
}

/// The memory blocks and the permits that hand them out: a holder of a permit takes one
/// block and puts it back before the permit is released, so a permit always finds a block.
struct Pool {
    slots: usize,
    permits: Arc<Semaphore>,
    free: Mutex<Vec<Box<[Block]>>>,
}

/// One borrowed block; dropping it (also when the hash panics) returns the block to the pool
/// first and then releases the permit.
struct Slot {
    pool: Arc<Pool>,
    memory: Option<Box<[Block]>>,
    _permit: OwnedSemaphorePermit,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(memory) = self.memory.take() {
            self.pool.free_list().push(memory);
        }
    }
}

impl Pool {
    fn free_list(&self) -> std::sync::MutexGuard<'_, Vec<Box<[Block]>>> {
        self.free.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Passwords {
    /// A pool of `slots` (at least 1) memory blocks of 19 MiB each, allocated and written now,
    /// so that later sign-ins allocate nothing. Callers wait for a free slot as long as it
    /// takes.
    pub fn new(slots: usize) -> Passwords {
        let slots = slots.max(1);
        let blocks = Params::DEFAULT.block_count();
        let free = (0..slots)
            .map(|_| vec![Block::new(); blocks].into_boxed_slice())
            .collect();
        Passwords {
            pool: Arc::new(Pool {
                slots,
                permits: Arc::new(Semaphore::new(slots)),
                free: Mutex::new(free),
            }),
            wait: None,
        }
    }

    /// Waits at most `wait` for a free slot; then the call fails with [`PasswordError::Busy`].
    pub fn with_wait_limit(mut self, wait: Duration) -> Passwords {
        self.wait = Some(wait);
        self
    }

    /// The argon2id PHC string of `password`, with a fresh random salt.
    pub async fn hash(&self, password: String) -> Result<String, PasswordError> {
        self.run(move |memory| hash_with(password.as_bytes(), memory))
            .await?
    }

    /// `true` only when `phc` is `Some` and `password` matches it. With `None` (no such
    /// account) a hash of the same cost is computed and the answer is `false`, so "no such
    /// account" takes as long as "wrong password".
    pub async fn verify(
        &self,
        password: String,
        phc: Option<String>,
    ) -> Result<bool, PasswordError> {
        self.run(move |memory| match phc {
            Some(phc) => verify_with(password.as_bytes(), &phc, memory),
            None => hash_with(password.as_bytes(), memory).map(|_| false),
        })
        .await?
    }

    /// Runs `job` on the blocking pool with one borrowed memory block.
    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut [Block]) -> T + Send + 'static,
    ) -> Result<T, PasswordError> {
        let acquire = self.pool.permits.clone().acquire_owned();
        let permit = match self.wait {
            Some(wait) => tokio::time::timeout(wait, acquire)
                .await
                .map_err(|_| PasswordError::Busy)?,
            None => acquire.await,
        }
        .map_err(|_| PasswordError::Busy)?;
        let memory = self.pool.free_list().pop();
        let mut slot = Slot {
            pool: self.pool.clone(),
            memory,
            _permit: permit,
        };
        let out = tokio::task::spawn_blocking(move || {
            let memory = slot.memory.as_deref_mut().expect(
                "a permit always finds a free block: blocks and permits are equal in number",
            );
            job(memory)
        })
        .await?;
        Ok(out)
    }
}

/// argon2id with the default parameters into `memory`, as a PHC string.
fn hash_with(password: &[u8], memory: &mut [Block]) -> Result<String, PasswordError> {
    let mut salt = [0u8; SALT_LEN];
    OsRng.fill_bytes(&mut salt);
    let params = Params::DEFAULT;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(password, &salt, &mut out, memory)?;
    let encoding = PasswordError::Encoding;
    let salt = SaltString::encode_b64(&salt).map_err(encoding)?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(encoding)?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(encoding)?),
    };
    Ok(phc.to_string())
}

/// Whether `password` hashes to the PHC string `phc` (any argon2 variant and parameters
/// that fit in `memory`), compared in constant time. A PHC string without salt or hash
/// matches nothing.
fn verify_with(password: &[u8], phc: &str, memory: &mut [Block]) -> Result<bool, PasswordError> {
    let parsed = PasswordHash::new(phc).map_err(PasswordError::Malformed)?;
    let unsupported = PasswordError::Unsupported;
    let algorithm = Algorithm::try_from(parsed.algorithm).map_err(unsupported)?;
    let version = match parsed.version {
        Some(v) => Version::try_from(v).map_err(|e| unsupported(e.into()))?,
        None => Version::default(),
    };
    let params = Params::try_from(&parsed).map_err(unsupported)?;
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return Ok(false);
    };
    if params.block_count() > memory.len() {
        return Err(PasswordError::TooCostly {
            needs_kib: params.block_count(),
            have_kib: memory.len(),
        });
    }
    let mut salt_bytes = [0u8; 64];
    let salt = salt.decode_b64(&mut salt_bytes).map_err(unsupported)?;
    let mut out = [0u8; Output::MAX_LENGTH];
    let out = &mut out[..expected.len()];
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password, salt, &mut *out, memory)
        .map_err(|e| unsupported(e.into()))?;
    Ok(out.ct_eq(expected.as_bytes()).into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{PasswordHasher, PasswordVerifier};

    /// What both services stored before this crate: argon2's own hasher, default settings.
    fn previous_phc(password: &str) -> String {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .expect("hash")
            .to_string()
    }

    #[tokio::test]
    async fn hashes_stored_by_the_previous_code_still_verify() {
        let p = Passwords::new(1);
        let phc = previous_phc("correct horse");
        assert!(p
            .verify("correct horse".into(), Some(phc.clone()))
            .await
            .expect("verify"));
        assert!(!p.verify("wrong".into(), Some(phc)).await.expect("verify"));
    }

    #[tokio::test]
    async fn new_hashes_are_the_same_phc_strings_and_argon2_reads_them() {
        let p = Passwords::new(1);
        let phc = p.hash("pw".into()).await.expect("hash");
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert_eq!(phc.len(), previous_phc("pw").len(), "{phc}");
        let parsed = PasswordHash::new(&phc).expect("parse");
        assert!(Argon2::default().verify_password(b"pw", &parsed).is_ok());
        assert!(Argon2::default().verify_password(b"pW", &parsed).is_err());
        assert!(p.verify("pw".into(), Some(phc.clone())).await.expect("ok"));
        assert!(!p.verify("pW".into(), Some(phc)).await.expect("ok"));
    }

    #[tokio::test]
    async fn no_account_matches_nothing() {
        let p = Passwords::new(1);
        assert!(!p.verify("pw".into(), None).await.expect("verify"));
    }

    #[tokio::test]
    async fn stored_strings_it_cannot_check_are_typed_errors() {
        let p = Passwords::new(1);
        let e = p.verify("pw".into(), Some("not a phc".into())).await;
        assert!(matches!(e, Err(PasswordError::Malformed(_))), "{e:?}");
        let pbkdf2 = "$pbkdf2-sha256$i=1000$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA";
        let e = p.verify("pw".into(), Some(pbkdf2.into())).await;
        assert!(matches!(e, Err(PasswordError::Unsupported(_))), "{e:?}");
        let params = Params::new(32 * 1024, 1, 1, None).expect("params");
        let big = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password(b"pw", &SaltString::generate(&mut OsRng))
            .expect("hash")
            .to_string();
        let e = p.verify("pw".into(), Some(big)).await;
        assert!(
            matches!(
                e,
                Err(PasswordError::TooCostly {
                    needs_kib: 32768,
                    have_kib: 19456
                })
            ),
            "{e:?}"
        );
    }

    #[tokio::test]
    async fn a_slot_held_elsewhere_makes_a_zero_wait_call_busy() {
        let p = Passwords::new(1).with_wait_limit(Duration::ZERO);
        let held = p.pool.permits.clone().try_acquire_owned().expect("free");
        let e = p.hash("x".into()).await.expect_err("busy");
        assert!(matches!(e, PasswordError::Busy), "{e:?}");
        drop(held);
        assert!(p.hash("x".into()).await.is_ok());
    }

    #[tokio::test]
    async fn every_block_is_back_after_concurrent_calls() {
        let p = Passwords::new(2);
        let calls = (0..6).map(|i| {
            let p = p.clone();
            tokio::spawn(async move { p.hash(format!("pw{i}")).await })
        });
        for c in calls {
            assert!(c.await.expect("task").is_ok());
        }
        let free = p.pool.free_list();
        assert_eq!(free.len(), 2);
        assert!(free
            .iter()
            .all(|b| b.len() == Params::DEFAULT.block_count()));
    }
}
