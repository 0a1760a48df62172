//! Abuse limits: keyed token buckets and a per-address socket counter. In memory, per process.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use vouch_throttle::Limit;

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

/// Sign-in throttling for agents and admins: the shared [`vouch_throttle`] buckets per
/// (account, address) and per account, with a temporary lock of an account whose bucket runs
/// dry (the per-address bucket is the [`RateLimiter`] in front of it, so the throttle keeps
/// none). [`crate::ChatService::open`] requires the pair's burst and rate to be below the
/// account's, so one address alone can never lock an agent out.
pub use vouch_throttle::{
    Attempt as LoginAttempt, Refusal as LoginRefusal, Throttle as LoginThrottle,
};

/// The agents' throttle from the `--login-account-*` and `--login-lockout` flags.
pub fn login_throttle(
    pair_burst: u32,
    pair_per_minute: u32,
    account_burst: u32,
    account_per_minute: u32,
    lockout_secs: u64,
) -> LoginThrottle {
    LoginThrottle::new(
        None,
        Limit::per_minute(pair_burst, pair_per_minute),
        Limit::per_minute(account_burst, account_per_minute),
        i64::try_from(lockout_secs).unwrap_or(i64::MAX),
    )
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
        login_throttle(3, 1, 6, 2, 600)
    }

    fn ip(n: u8) -> vouch_throttle::AddrKey {
        vouch_throttle::AddrKey::from_ip(Some([10, 0, 0, n].into()))
    }

    /// The service's limits reach the shared throttle as meant (pair burst 3, account burst 6,
    /// lockout 600 s); how the throttle behaves over time is vouch-throttle's own tests.
    #[test]
    fn login_throttle_takes_the_services_limits() {
        let t = throttle();
        let now = 1_000;
        // Six failures of the account from addresses 1, 1, 1, 2, 3, 4 (each address within its
        // pair burst of 3): the sixth locks the account (account burst 6) for 600 s.
        let outcomes: Vec<Option<i64>> = [1, 1, 1, 2, 3, 4]
            .map(|n| t.failed(t.begin("x@example.com", ip(n), now).unwrap(), now))
            .to_vec();
        assert_eq!(outcomes, [None, None, None, None, None, Some(600)]);
        let refused = t.begin("x@example.com", ip(9), now + 10).unwrap_err();
        assert_eq!(refused, LoginRefusal::Locked { retry_after: 590 });
        assert!(t.begin("y@example.com", ip(9), now + 10).is_ok());
        assert!(t.begin("x@example.com", ip(9), now + 600).is_ok());
    }

    #[test]
    fn one_address_alone_waits_after_the_pair_burst() {
        let t = throttle();
        for _ in 0..3 {
            let attempt = t.begin("x@example.com", ip(1), 5).unwrap();
            assert_eq!(t.failed(attempt, 5), None);
        }
        let refused = t.begin("x@example.com", ip(1), 5);
        assert!(matches!(refused, Err(LoginRefusal::TooManyAttempts { .. })));
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
