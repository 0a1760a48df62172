//! Abuse limits: keyed token buckets and a per-address socket counter. In memory, per process.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

/// Token buckets keyed by `K`: `rate` tokens per `per_secs` seconds, holding at most `burst`.
pub struct RateLimiter<K> {
    rate_per_sec: f64,
    burst: f64,
    buckets: Mutex<HashMap<K, Bucket>>,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Buckets beyond this many trigger a sweep of the full (idle) ones.
const SWEEP_AT: usize = 10_000;

impl<K: Eq + Hash + Clone> RateLimiter<K> {
    pub fn new(rate: u32, per_secs: u32, burst: u32) -> Self {
        RateLimiter {
            rate_per_sec: f64::from(rate.max(1)) / f64::from(per_secs.max(1)),
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<K, Bucket>> {
        self.buckets.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes one token for `key`; false when the bucket is empty.
    pub fn check(&self, key: &K) -> bool {
        let now = Instant::now();
        let mut map = self.lock();
        if map.len() >= SWEEP_AT && !map.contains_key(key) {
            let (rate, burst) = (self.rate_per_sec, self.burst);
            map.retain(|_, b| b.tokens + now.duration_since(b.at).as_secs_f64() * rate < burst);
        }
        let bucket = map.entry(key.clone()).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        let refill = now.duration_since(bucket.at).as_secs_f64() * self.rate_per_sec;
        bucket.tokens = (bucket.tokens + refill).min(self.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Counts open sockets per client address.
#[derive(Clone)]
pub struct SocketCounter {
    max: usize,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

/// Holds one socket slot; the slot is released on drop.
pub struct SocketSlot {
    addr: IpAddr,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl SocketCounter {
    pub fn new(max: usize) -> Self {
        SocketCounter {
            max: max.max(1),
            open: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// A slot for one more socket from `addr`, or None at the limit.
    pub fn acquire(&self, addr: IpAddr) -> Option<SocketSlot> {
        let mut map = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let n = map.entry(addr).or_insert(0);
        if *n >= self.max {
            return None;
        }
        *n += 1;
        Some(SocketSlot {
            addr,
            open: self.open.clone(),
        })
    }
}

impl Drop for SocketSlot {
    fn drop(&mut self) {
        let mut map = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get_mut(&self.addr) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                map.remove(&self.addr);
            }
        }
    }
}

/// Sign-in throttling for agents and admins: token buckets per (account, address) and per
/// account, and a temporary lock of an account whose bucket runs dry (the per-address bucket is
/// the [`RateLimiter`] in front of it).
///
/// Every attempt reserves a token from both buckets before the password is checked (so parallel
/// attempts cannot overrun a limit); a successful sign-in gives them back. Only an empty
/// *account* bucket locks the account. [`crate::ChatService::open`] requires the pair's burst and
/// rate to be below the account's, so one address alone can never drain an account: locking an
/// agent out takes several addresses working together, at the configured rate.
pub struct LoginThrottle {
    pair: Limit,
    account: Limit,
    lockout: i64,
    inner: Mutex<LoginInner>,
}

#[derive(Debug, Clone, Copy)]
struct Limit {
    burst: f64,
    per_sec: f64,
}

#[derive(Debug, Clone, Copy)]
struct SecBucket {
    tokens: f64,
    at: i64,
}

impl SecBucket {
    fn full(l: Limit, now: i64) -> Self {
        SecBucket {
            tokens: l.burst,
            at: now,
        }
    }
    fn refill(&mut self, l: Limit, now: i64) {
        let elapsed = (now - self.at).max(0) as f64;
        self.tokens = (self.tokens + elapsed * l.per_sec).min(l.burst);
        self.at = now.max(self.at);
    }
    /// Whole seconds until one token is available (at least 1 when empty).
    fn wait(&self, l: Limit) -> i64 {
        if self.tokens >= 1.0 {
            0
        } else {
            ((1.0 - self.tokens) / l.per_sec).ceil().max(1.0) as i64
        }
    }
    fn is_full(&self, l: Limit, now: i64) -> bool {
        let mut b = *self;
        b.refill(l, now);
        b.tokens >= l.burst
    }
}

#[derive(Debug, Clone, Copy)]
struct AccountState {
    bucket: SecBucket,
    locked_until: Option<i64>,
}

#[derive(Default)]
struct LoginInner {
    pairs: HashMap<(String, u128), SecBucket>,
    accounts: HashMap<String, AccountState>,
}

/// Why a sign-in attempt is refused before its password is looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginRefusal {
    /// This address made too many failed attempts on this account (or the account's bucket is
    /// momentarily empty under parallel attempts).
    TooManyAttempts { retry_after: i64 },
    /// The account is locked for everyone.
    Locked { retry_after: i64 },
}

/// One reserved attempt; hand it to [`LoginThrottle::succeeded`] or [`LoginThrottle::failed`].
#[derive(Debug)]
pub struct LoginAttempt {
    account: String,
    addr: u128,
}

/// Client addresses grouped as the throttle sees them: IPv4 (and IPv4-mapped) by address, IPv6
/// by /64 (one customer network).
fn addr_key(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => u128::from(u32::from(v4)),
            None => (u128::from(v6) & (u128::MAX << 64)) | (1 << 32),
        },
    }
}

/// Tracked entries above which full (idle) buckets are forgotten.
const LOGIN_MAX_ENTRIES: usize = 100_000;

impl LoginThrottle {
    /// Bursts and per-minute rates of the (account, address) pair and of the account; the lock
    /// length in seconds.
    pub fn new(
        pair_burst: u32,
        pair_per_minute: u32,
        account_burst: u32,
        account_per_minute: u32,
        lockout_secs: u64,
    ) -> Self {
        let limit = |burst: u32, per_minute: u32| Limit {
            burst: f64::from(burst.max(1)),
            per_sec: f64::from(per_minute.max(1)) / 60.0,
        };
        LoginThrottle {
            pair: limit(pair_burst, pair_per_minute),
            account: limit(account_burst, account_per_minute),
            lockout: i64::try_from(lockout_secs.max(1)).unwrap_or(i64::MAX),
            inner: Mutex::new(LoginInner::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, LoginInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Reserves one attempt for `account` (a normalised email) from `addr` at `now` (Unix s).
    pub fn begin(
        &self,
        account: &str,
        addr: IpAddr,
        now: i64,
    ) -> Result<LoginAttempt, LoginRefusal> {
        let addr = addr_key(addr);
        let mut g = self.lock();
        let inner = &mut *g;
        if inner.accounts.len() > LOGIN_MAX_ENTRIES || inner.pairs.len() > LOGIN_MAX_ENTRIES {
            let (pair, acct) = (self.pair, self.account);
            inner.pairs.retain(|_, b| !b.is_full(pair, now));
            inner.accounts.retain(|_, s| {
                s.locked_until.is_some_and(|u| u > now) || !s.bucket.is_full(acct, now)
            });
            if inner.pairs.len() > LOGIN_MAX_ENTRIES {
                // Under a flood of distinct pairs the per-pair detail goes first; the address
                // and account limits still hold.
                inner.pairs.clear();
            }
        }
        let acct = inner
            .accounts
            .entry(account.to_string())
            .or_insert(AccountState {
                bucket: SecBucket::full(self.account, now),
                locked_until: None,
            });
        if let Some(until) = acct.locked_until {
            if now < until {
                return Err(LoginRefusal::Locked {
                    retry_after: until - now,
                });
            }
            acct.locked_until = None;
            acct.bucket = SecBucket::full(self.account, now);
        }
        acct.bucket.refill(self.account, now);
        let p = inner
            .pairs
            .entry((account.to_string(), addr))
            .or_insert(SecBucket::full(self.pair, now));
        p.refill(self.pair, now);
        let wait = p.wait(self.pair);
        if wait > 0 {
            return Err(LoginRefusal::TooManyAttempts { retry_after: wait });
        }
        if acct.bucket.tokens < 1.0 {
            return Err(LoginRefusal::TooManyAttempts {
                retry_after: acct.bucket.wait(self.account),
            });
        }
        p.tokens -= 1.0;
        acct.bucket.tokens -= 1.0;
        Ok(LoginAttempt {
            account: account.to_string(),
            addr,
        })
    }

    /// The password was right: the tokens go back and the pair starts afresh.
    pub fn succeeded(&self, attempt: LoginAttempt, now: i64) {
        let mut g = self.lock();
        g.pairs.remove(&(attempt.account.clone(), attempt.addr));
        if let Some(s) = g.accounts.get_mut(&attempt.account) {
            s.bucket.refill(self.account, now);
            s.bucket.tokens = (s.bucket.tokens + 1.0).min(self.account.burst);
        }
    }

    /// The password was wrong (or the account unknown): the tokens stay spent; an account whose
    /// bucket is now empty is locked. Returns the lock's length when this attempt locked it.
    pub fn failed(&self, attempt: LoginAttempt, now: i64) -> Option<i64> {
        let mut g = self.lock();
        let s = g.accounts.get_mut(&attempt.account)?;
        s.bucket.refill(self.account, now);
        if s.bucket.tokens < 1.0 && s.locked_until.is_none() {
            s.locked_until = Some(now + self.lockout);
            return Some(self.lockout);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_burst_then_refuses() {
        let l = RateLimiter::new(1, 3600, 5);
        for _ in 0..5 {
            assert!(l.check(&1));
        }
        assert!(!l.check(&1));
        assert!(l.check(&2), "other keys are unaffected");
    }

    #[test]
    fn socket_slots_are_released() {
        let c = SocketCounter::new(2);
        let ip: IpAddr = [127, 0, 0, 1].into();
        let a = c.acquire(ip).unwrap();
        let _b = c.acquire(ip).unwrap();
        assert!(c.acquire(ip).is_none());
        drop(a);
        assert!(c.acquire(ip).is_some());
    }

    fn throttle() -> LoginThrottle {
        LoginThrottle::new(3, 1, 6, 2, 600)
    }

    fn ip(n: u8) -> IpAddr {
        [10, 0, 0, n].into()
    }

    #[test]
    fn one_address_is_throttled_but_never_locks_the_account() {
        let t = throttle();
        let mut now = 1_000;
        for _ in 0..3 {
            let a = t.begin("x@example.com", ip(1), now).unwrap();
            assert_eq!(t.failed(a, now), None);
        }
        assert!(matches!(
            t.begin("x@example.com", ip(1), now),
            Err(LoginRefusal::TooManyAttempts { .. })
        ));
        // An hour at the fastest rate the pair allows: never locked.
        for _ in 0..60 {
            now += 60;
            if let Ok(a) = t.begin("x@example.com", ip(1), now) {
                assert_eq!(t.failed(a, now), None);
            }
        }
        let a = t.begin("x@example.com", ip(2), now).unwrap();
        t.succeeded(a, now);
    }

    #[test]
    fn several_addresses_lock_the_account_for_everyone_then_it_unlocks() {
        let t = throttle();
        let now = 1_000;
        let mut locked = None;
        for n in 1..=6 {
            let a = t.begin("x@example.com", ip(n), now).unwrap();
            locked = t.failed(a, now);
        }
        assert_eq!(locked, Some(600));
        assert_eq!(
            t.begin("x@example.com", ip(9), now + 10).unwrap_err(),
            LoginRefusal::Locked { retry_after: 590 }
        );
        assert!(t.begin("y@example.com", ip(9), now + 10).is_ok());
        assert!(t.begin("x@example.com", ip(9), now + 600).is_ok());
    }

    #[test]
    fn successes_give_their_tokens_back() {
        let t = throttle();
        for _ in 0..50 {
            let a = t.begin("x@example.com", ip(1), 5).unwrap();
            t.succeeded(a, 5);
        }
    }
}
