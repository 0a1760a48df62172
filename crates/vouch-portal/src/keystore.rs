//! Signing keys on disk and in memory, and their rotation.
//!
//! Layout of `<data-dir>/keys/`:
//! * `<kid>.pem` — each key's PKCS#8 PEM (mode 0600); `kid` is the RFC 7638 thumbprint;
//! * `keys.json` — the manifest: which key is current, when the others were retired and
//!   until when they stay published;
//! * `private.key` / `public.key` — the current key, the same files as the blog's (a
//!   `private.key` put there before the first start, e.g. from openssl, is adopted);
//! * `.lock` — taken while the manifest changes, so two processes never rotate at once.
//!
//! A rotated-out key stays published until every token it signed has expired and the
//! verifiers' leeway has passed (`retired_at + token_ttl + rotation_grace`), then the next
//! rotation or start deletes it.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use vouch_jwt::{PublicKey, SigningKey};

use crate::error::PortalError;

const MANIFEST: &str = "keys.json";
/// How long the current key is announced as valid in the multi-key list (rolling).
const CURRENT_KEY_HORIZON: i64 = 365 * 24 * 60 * 60;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    kid: String,
    created_at: i64,
    /// When it stopped signing; `None` for the current key.
    #[serde(default)]
    retired_at: Option<i64>,
    /// Published until (unix seconds); `None` for the current key.
    #[serde(default)]
    expires_at: Option<i64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Manifest {
    keys: Vec<Entry>,
}

/// What a rotation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationReport {
    /// The key that signs from now on.
    pub new_kid: String,
    /// The key that signed until now (if any) and until when it stays published.
    pub retired: Option<RetiredKey>,
    /// Keys deleted because their last token can no longer be valid.
    pub dropped: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetiredKey {
    pub kid: String,
    pub published_until: i64,
}

/// A published public key.
#[derive(Debug, Clone)]
pub(crate) struct Published {
    pub public: PublicKey,
    /// `None` for the current key.
    pub expires_at: Option<i64>,
}

/// The keys a running portal uses: one signs, all are published.
#[derive(Debug)]
pub(crate) struct KeyRing {
    pub current: SigningKey,
    pub current_pem: String,
    pub keys: Vec<Published>,
}

impl KeyRing {
    /// Published keys still valid at `now`, with the expiry announced in `/publickeys`.
    pub fn published(&self, now: i64) -> Vec<(&PublicKey, i64)> {
        self.keys
            .iter()
            .filter_map(|k| match k.expires_at {
                None => Some((&k.public, now + CURRENT_KEY_HORIZON)),
                Some(until) if until > now => Some((&k.public, until)),
                Some(_) => None,
            })
            .collect()
    }
}

pub(crate) struct KeyDir {
    dir: PathBuf,
}

struct DirLock(File);

impl Drop for DirLock {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

fn key_err(path: &Path, e: impl std::fmt::Display) -> PortalError {
    PortalError::key(path, e.to_string())
}

/// Writes `bytes` to `path` atomically (temporary file + rename) with `mode` on unix.
fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), PortalError> {
    let tmp = path.with_extension("tmp");
    let mut opts = OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut f = opts.open(&tmp).map_err(|e| PortalError::io(&tmp, e))?;
    f.write_all(bytes).map_err(|e| PortalError::io(&tmp, e))?;
    f.sync_all().map_err(|e| PortalError::io(&tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| PortalError::io(path, e))
}

impl KeyDir {
    pub fn new(dir: PathBuf) -> KeyDir {
        KeyDir { dir }
    }

    fn manifest_path(&self) -> PathBuf {
        self.dir.join(MANIFEST)
    }

    fn key_path(&self, kid: &str) -> PathBuf {
        self.dir.join(format!("{kid}.pem"))
    }

    fn ensure_dir(&self) -> Result<(), PortalError> {
        fs::create_dir_all(&self.dir).map_err(|e| PortalError::io(&self.dir, e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&self.dir, fs::Permissions::from_mode(0o700))
                .map_err(|e| PortalError::io(&self.dir, e))?;
        }
        Ok(())
    }

    fn lock(&self) -> Result<DirLock, PortalError> {
        let path = self.dir.join(".lock");
        let f = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| PortalError::io(&path, e))?;
        f.lock().map_err(|e| PortalError::io(&path, e))?;
        Ok(DirLock(f))
    }

    /// When the manifest last changed (to notice a rotation by another process).
    pub fn manifest_mtime(&self) -> Option<SystemTime> {
        fs::metadata(self.manifest_path())
            .and_then(|m| m.modified())
            .ok()
    }

    fn read_manifest(&self) -> Result<Option<Manifest>, PortalError> {
        let path = self.manifest_path();
        match fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| key_err(&path, format!("unreadable manifest: {e}"))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(PortalError::io(&path, e)),
        }
    }

    fn write_manifest(&self, m: &Manifest) -> Result<(), PortalError> {
        let text = serde_json::to_vec_pretty(m).map_err(|e| key_err(&self.manifest_path(), e))?;
        write_atomic(&self.manifest_path(), &text, 0o600)
    }

    fn read_key(&self, kid: &str) -> Result<SigningKey, PortalError> {
        let path = self.key_path(kid);
        let pem = fs::read_to_string(&path).map_err(|e| PortalError::io(&path, e))?;
        let key = SigningKey::from_pem(&pem).map_err(|e| key_err(&path, e))?;
        if key.kid() != kid {
            return Err(key_err(
                &path,
                "the key in this file does not match its name (kid)",
            ));
        }
        Ok(key)
    }

    fn write_key(&self, key: &SigningKey) -> Result<(), PortalError> {
        write_atomic(
            &self.key_path(key.kid()),
            key.to_pkcs8_pem().as_bytes(),
            0o600,
        )
    }

    /// `private.key` / `public.key`: the current key, as the blog keeps it.
    fn write_current_files(&self, key: &SigningKey) -> Result<(), PortalError> {
        write_atomic(
            &self.dir.join("private.key"),
            key.to_pkcs8_pem().as_bytes(),
            0o600,
        )?;
        write_atomic(
            &self.dir.join("public.key"),
            key.public_key().to_spki_pem().as_bytes(),
            0o644,
        )
    }

    fn generate(bits: u32) -> Result<SigningKey, PortalError> {
        SigningKey::generate(bits as usize)
            .map_err(|e| PortalError::key("<new key>", e.to_string()))
    }

    /// Deletes keys whose publication ended; returns their kids.
    fn prune(&self, m: &mut Manifest, now: i64) -> Vec<String> {
        let mut dropped = Vec::new();
        m.keys.retain(|e| match e.expires_at {
            Some(until) if e.retired_at.is_some() && until <= now => {
                dropped.push(e.kid.clone());
                false
            }
            _ => true,
        });
        for kid in &dropped {
            let path = self.key_path(kid);
            if let Err(e) = fs::remove_file(&path) {
                if e.kind() != std::io::ErrorKind::NotFound {
                    tracing::warn!(path = %path.display(), error = %e, "could not delete a dropped key");
                }
            }
        }
        dropped
    }

    /// Opens the key directory at start-up: creates the first key (or adopts an existing
    /// `private.key`) when there is none, drops expired keys, and loads the ring.
    pub fn open(&self, bits: u32, now: i64) -> Result<KeyRing, PortalError> {
        self.ensure_dir()?;
        let _lock = self.lock()?;
        let mut manifest = match self.read_manifest()? {
            Some(m) => m,
            None => self.first_key(bits, now)?,
        };
        let dropped = self.prune(&mut manifest, now);
        if !dropped.is_empty() {
            self.write_manifest(&manifest)?;
        }
        self.ring(&manifest)
    }

    fn first_key(&self, bits: u32, now: i64) -> Result<Manifest, PortalError> {
        let adopt = self.dir.join("private.key");
        let key = match fs::read_to_string(&adopt) {
            Ok(pem) => {
                let key = SigningKey::from_pem(&pem).map_err(|e| key_err(&adopt, e))?;
                tracing::info!(
                    kid = key.kid(),
                    "adopted the existing private.key as the signing key"
                );
                key
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = Self::generate(bits)?;
                tracing::info!(kid = key.kid(), bits, "generated the first signing key");
                key
            }
            Err(e) => return Err(PortalError::io(&adopt, e)),
        };
        self.write_key(&key)?;
        self.write_current_files(&key)?;
        let manifest = Manifest {
            keys: vec![Entry {
                kid: key.kid().to_string(),
                created_at: now,
                retired_at: None,
                expires_at: None,
            }],
        };
        self.write_manifest(&manifest)?;
        Ok(manifest)
    }

    /// Loads the ring without changing anything (a running server noticing a rotation).
    pub fn load(&self) -> Result<KeyRing, PortalError> {
        match self.read_manifest()? {
            Some(m) => self.ring(&m),
            None => Err(key_err(&self.manifest_path(), "missing key manifest")),
        }
    }

    fn ring(&self, m: &Manifest) -> Result<KeyRing, PortalError> {
        let current_entry = m
            .keys
            .iter()
            .filter(|e| e.retired_at.is_none())
            .max_by_key(|e| e.created_at)
            .ok_or_else(|| key_err(&self.manifest_path(), "no current signing key"))?;
        let current = self.read_key(&current_entry.kid)?;
        let mut keys = vec![Published {
            public: current.public_key().clone(),
            expires_at: None,
        }];
        for e in m.keys.iter().filter(|e| e.kid != current_entry.kid) {
            // A retired key whose file is gone can no longer be published; say so and go on.
            match self.read_key(&e.kid) {
                Ok(k) => keys.push(Published {
                    public: k.public_key().clone(),
                    expires_at: Some(e.expires_at.unwrap_or(0)),
                }),
                Err(err) => tracing::warn!(kid = %e.kid, error = %err, "skipping a retired key"),
            }
        }
        let current_pem = current.public_key().to_spki_pem();
        Ok(KeyRing {
            current,
            current_pem,
            keys,
        })
    }

    /// A new signing key; the previous one stays published for `ttl + grace` seconds.
    pub fn rotate(
        &self,
        bits: u32,
        ttl: i64,
        grace: i64,
        now: i64,
    ) -> Result<RotationReport, PortalError> {
        self.ensure_dir()?;
        let _lock = self.lock()?;
        let mut manifest = match self.read_manifest()? {
            Some(m) => m,
            None => self.first_key(bits, now)?,
        };
        let new_key = Self::generate(bits)?;
        self.write_key(&new_key)?;
        let mut retired = None;
        for e in manifest.keys.iter_mut().filter(|e| e.retired_at.is_none()) {
            let until = now + ttl + grace;
            e.retired_at = Some(now);
            e.expires_at = Some(until);
            retired = Some(RetiredKey {
                kid: e.kid.clone(),
                published_until: until,
            });
        }
        manifest.keys.push(Entry {
            kid: new_key.kid().to_string(),
            created_at: now,
            retired_at: None,
            expires_at: None,
        });
        let dropped = self.prune(&mut manifest, now);
        self.write_manifest(&manifest)?;
        self.write_current_files(&new_key)?;
        tracing::info!(new_kid = new_key.kid(), "rotated the signing key");
        Ok(RotationReport {
            new_kid: new_key.kid().to_string(),
            retired,
            dropped,
        })
    }
}
