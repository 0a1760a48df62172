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
}
