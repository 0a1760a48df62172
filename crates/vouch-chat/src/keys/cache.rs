//! The per-URL key cache: keys kept for `max-age` (or the default TTL), refetched at most once
//! per `min_refetch_interval` per URL, with one fetch in flight per URL that every waiting
//! caller shares.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use vouch_jwt::{KeySet, Reason, Validation, Verified, VerifyError};

use super::fetch::{Http, MAX_CACHE_AGE};
use super::{FetcherOptions, KeyFetchError};

/// Fetch counters for metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FetchStats {
    /// Fetches that gave a usable key set.
    pub ok: u64,
    /// Fetches that failed (network, HTTP, parse or key-strength errors).
    pub failed: u64,
    /// URLs currently held in the cache.
    pub cached_urls: u64,
}

/// Fetches, caches and uses the public keys of key URLs. Cheap to clone; one per process.
#[derive(Clone)]
pub struct KeyFetcher {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for KeyFetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyFetcher")
            .field("options", self.inner.http.options())
            .finish_non_exhaustive()
    }
}

/// A successful fetch with the facts `vouch doctor` reports.
pub(crate) struct Loaded {
    pub keys: Arc<KeySet>,
    pub format: vouch_jwt::KeySourceFormat,
    /// How long the keys are cached (max-age clamped, or the default TTL).
    pub ttl: Duration,
    pub max_age: Option<Duration>,
    pub body_len: usize,
    pub content_type: Option<String>,
    pub final_url: String,
}

/// Distinct URLs kept at most; beyond it the least recently fetched entry is dropped.
const MAX_ENTRIES: usize = 1024;

struct Inner {
    http: Http,
    entries: Mutex<HashMap<String, Arc<Entry>>>,
    ok: AtomicU64,
    failed: AtomicU64,
}

#[derive(Default)]
struct Entry {
    state: RwLock<Snapshot>,
    /// Held while this URL is being fetched: the single flight.
    fetching: tokio::sync::Mutex<()>,
}

#[derive(Clone, Default)]
struct Snapshot {
    keys: Option<Arc<KeySet>>,
    /// Bumped on every successful fetch.
    generation: u64,
    expires_at: Option<Instant>,
    /// Any fetch (load, first use, expiry, refetch), successful or not.
    last_attempt: Option<Instant>,
    /// The last refetch triggered by a token the cached keys could not verify.
    last_refetch: Option<Instant>,
    last_error: Option<KeyFetchError>,
}

impl Entry {
    fn snapshot(&self) -> Snapshot {
        match self.state.read() {
            Ok(s) => s.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn update(&self, f: impl FnOnce(&mut Snapshot)) {
        match self.state.write() {
            Ok(mut s) => f(&mut s),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }
}

/// Why a fetch is wanted; decides the rate limit that applies.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Want {
    /// Nothing cached, or the cache expired. Retried at once after a success, but after a
    /// failure only once the refetch interval has passed (no hammering a broken server).
    Fresh,
    /// The cached keys did not verify a token (unknown kid, bad signature, expired keys):
    /// at most once per refetch interval, whatever anyone sends.
    Newer,
}

impl KeyFetcher {
    pub fn new(opts: FetcherOptions) -> Result<KeyFetcher, KeyFetchError> {
        Ok(KeyFetcher {
            inner: Arc::new(Inner {
                http: Http::new(opts)?,
                entries: Mutex::new(HashMap::new()),
                ok: AtomicU64::new(0),
                failed: AtomicU64::new(0),
            }),
        })
    }

    pub fn options(&self) -> &FetcherOptions {
        self.inner.http.options()
    }

    pub fn stats(&self) -> FetchStats {
        let cached = self.inner.entries.lock().map(|m| m.len()).unwrap_or(0);
        FetchStats {
            ok: self.inner.ok.load(Ordering::Relaxed),
            failed: self.inner.failed.load(Ordering::Relaxed),
            cached_urls: cached as u64,
        }
    }

    /// Save-time validation and `vouch doctor`: fetches `url` now (bypassing the cache and the
    /// refetch interval), parses it and requires at least one RSA key of ≥2048 bits. On success
    /// the keys also prime the cache.
    pub async fn load(&self, url: &str) -> Result<Arc<KeySet>, KeyFetchError> {
        Ok(self.load_detailed(url).await?.keys)
    }

    /// [`KeyFetcher::load`] with what `vouch doctor` reports besides the keys.
    pub(crate) async fn load_detailed(&self, url: &str) -> Result<Loaded, KeyFetchError> {
        let entry = self.entry(url);
        let _flight = entry.fetching.lock().await;
        let loaded = self.fetch_keys(url).await?;
        let now = Instant::now();
        entry.update(|s| {
            s.keys = Some(loaded.keys.clone());
            s.generation += 1;
            s.expires_at = Some(now + loaded.ttl);
            s.last_attempt = Some(now);
            s.last_error = None;
        });
        Ok(loaded)
    }

    /// The keys cached for `url` (fresh or stale), without any network traffic.
    pub fn cached(&self, url: &str) -> Option<Arc<KeySet>> {
        let entries = self.inner.entries.lock().ok()?;
        entries.get(url.trim())?.snapshot().keys
    }

    /// Readiness of `url`: keys cached (fresh or stale — stale keys keep verifying) is ready;
    /// otherwise one fetch now, shared with concurrent callers and, after a failure, at most once
    /// per refetch interval (probes cannot hammer a broken key server). The error says why there
    /// are no keys.
    pub async fn ensure(&self, url: &str) -> Result<(), KeyFetchError> {
        let entry = self.entry(url);
        let snap = entry.snapshot();
        if snap.keys.is_some() {
            return Ok(());
        }
        let snap = self
            .refresh(url, &entry, snap.generation, Want::Fresh)
            .await;
        match (snap.keys, snap.last_error) {
            (Some(_), _) => Ok(()),
            (None, Some(e)) => Err(e),
            (None, None) => Err(KeyFetchError::NoKeys),
        }
    }

    /// Verifies `token` against the keys of `url`. Cached keys are used while fresh; an unknown
    /// `kid` or a bad signature refetches (at most once per `min_refetch_interval` per URL, one
    /// fetch shared by all concurrent callers) and retries once. A failed fetch with nothing
    /// cached is `key_unavailable`; with stale keys cached, the stale keys keep serving.
    pub async fn verify(
        &self,
        url: &str,
        token: &str,
        validation: &Validation,
    ) -> Result<Verified, VerifyError> {
        let entry = self.entry(url);
        let mut snap = entry.snapshot();
        let now = Instant::now();
        let expired = snap.expires_at.is_none_or(|t| now >= t);
        if snap.keys.is_none() {
            snap = self
                .refresh(url, &entry, snap.generation, Want::Fresh)
                .await;
        } else if expired {
            // Stale keys keep serving while one caller revalidates; others do not wait.
            if let Ok(flight) = entry.fetching.try_lock() {
                drop(flight);
                snap = self
                    .refresh(url, &entry, snap.generation, Want::Fresh)
                    .await;
            }
        }
        let Some(keys) = snap.keys.clone() else {
            return Err(key_unavailable(snap.last_error.as_ref()));
        };
        match vouch_jwt::verify(token, &keys, validation) {
            // Rotation: a kid we do not know, a signature our keys do not match, or every
            // matching key past its expiry (multi-key list) — the source may have new keys.
            Err(e)
                if matches!(
                    e.reason,
                    Reason::UnknownKid | Reason::BadSignature | Reason::KeyUnavailable
                ) =>
            {
                let newer = self
                    .refresh(url, &entry, snap.generation, Want::Newer)
                    .await;
                match newer.keys {
                    Some(new_keys) if newer.generation != snap.generation => {
                        vouch_jwt::verify(token, &new_keys, validation)
                    }
                    _ => Err(e),
                }
            }
            other => other,
        }
    }

    fn entry(&self, url: &str) -> Arc<Entry> {
        let key = url.trim();
        let mut entries = match self.inner.entries.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(e) = entries.get(key) {
            return e.clone();
        }
        if entries.len() >= MAX_ENTRIES {
            let oldest = entries
                .iter()
                .min_by_key(|(_, e)| e.snapshot().last_attempt)
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                entries.remove(&k);
            }
        }
        let e = Arc::new(Entry::default());
        entries.insert(key.to_string(), e.clone());
        e
    }

    /// One fetch for `url` unless another caller already did what we want, or the refetch
    /// interval has not passed since the last attempt. Returns the entry's state afterwards.
    async fn refresh(&self, url: &str, entry: &Entry, seen: u64, want: Want) -> Snapshot {
        let _flight = entry.fetching.lock().await;
        let snap = entry.snapshot();
        if snap.generation != seen {
            return snap; // another caller fetched newer keys while we waited
        }
        let interval = self.inner.http.options().min_refetch_interval;
        let within = |t: Option<Instant>| t.is_some_and(|t| t.elapsed() < interval);
        let limited = match want {
            // Covers the callers that waited on a fetch that failed, too.
            Want::Fresh => snap.last_error.is_some() && within(snap.last_attempt),
            // Covers the callers that waited on the same refetch, and a second unknown kid
            // (or a flood of them) inside the interval.
            Want::Newer => within(snap.last_refetch),
        };
        if limited {
            return snap;
        }
        let result = self.fetch_keys(url).await;
        let now = Instant::now();
        entry.update(|s| {
            s.last_attempt = Some(now);
            if want == Want::Newer {
                s.last_refetch = Some(now);
            }
            match result {
                Ok(loaded) => {
                    s.keys = Some(loaded.keys);
                    s.generation += 1;
                    s.expires_at = Some(now + loaded.ttl);
                    s.last_error = None;
                }
                Err(e) => s.last_error = Some(e),
            }
        });
        entry.snapshot()
    }

    /// Fetch + parse + key-strength rule; counts the outcome.
    async fn fetch_keys(&self, url: &str) -> Result<Loaded, KeyFetchError> {
        let opts = self.inner.http.options();
        let result: Result<Loaded, KeyFetchError> = async {
            let fetched = self.inner.http.get(url).await?;
            let (format, keys) = super::parse_and_check(&fetched.body)?;
            let ttl = match fetched.max_age {
                Some(age) => age.clamp(opts.min_refetch_interval, MAX_CACHE_AGE),
                None => opts.cache_ttl,
            };
            Ok(Loaded {
                keys: Arc::new(keys),
                format,
                ttl,
                max_age: fetched.max_age,
                body_len: fetched.body.len(),
                content_type: fetched.content_type,
                final_url: fetched.final_url.to_string(),
            })
        }
        .await;
        match &result {
            Ok(_) => {
                self.inner.ok.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                self.inner.failed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(url, code = e.code(), error = %e, "key URL fetch failed");
            }
        }
        result
    }
}

fn key_unavailable(last: Option<&KeyFetchError>) -> VerifyError {
    let detail = match last {
        Some(e) => format!("the key URL gave no keys: {e}"),
        None => "the key URL gave no keys".to_string(),
    };
    VerifyError {
        reason: Reason::KeyUnavailable,
        detail,
    }
}
