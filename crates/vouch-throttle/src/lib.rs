//! Sign-in throttling shared by the portal (website users) and the chat service (agents):
//! token buckets per client address, per (account, address) and per account, and a temporary
//! lock of an account whose bucket runs dry. No I/O; the caller passes "now" in Unix seconds.
//!
//! Every attempt reserves one token from each bucket before the password is checked (so
//! parallel attempts cannot overrun a limit) and a successful sign-in gives the tokens back.
//! Failures only ever drain buckets; only an empty *account* bucket locks the account. When an
//! (account, address) pair refills more slowly than the account does, one address alone can
//! never drain an account: locking someone out takes several addresses working together, at
//! the configured rate. Both services refuse to start with settings that break that rule.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// Above this many tracked entries, full (idle) buckets are forgotten.
const MAX_ENTRIES: usize = 100_000;

/// Client addresses are grouped: IPv4 by address, IPv6 by /64 (one customer's network).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AddrKey(u128);

impl AddrKey {
    /// `None` (no peer address known) is one shared key.
    pub fn from_ip(ip: Option<IpAddr>) -> AddrKey {
        match ip {
            None => AddrKey(0),
            Some(IpAddr::V4(v4)) => AddrKey(u128::from(u32::from(v4))),
            Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
                Some(v4) => AddrKey(u128::from(u32::from(v4))),
                None => AddrKey((u128::from(v6) & (u128::MAX << 64)) | (1 << 32)),
            },
        }
    }
}

/// A token bucket's size and refill rate.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    burst: f64,
    per_sec: f64,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: i64,
}

impl Bucket {
    fn full(limit: Limit, now: i64) -> Bucket {
        Bucket {
            tokens: limit.burst,
            at: now,
        }
    }
    fn refill(&mut self, limit: Limit, now: i64) {
        let elapsed = (now - self.at).max(0) as f64;
        self.tokens = (self.tokens + elapsed * limit.per_sec).min(limit.burst);
        self.at = now.max(self.at);
    }
    /// Seconds until one token is available.
    fn wait(&self, limit: Limit) -> i64 {
        if self.tokens >= 1.0 {
            0
        } else {
            ((1.0 - self.tokens) / limit.per_sec).ceil().max(1.0) as i64
        }
    }
    fn is_full(&self, limit: Limit, now: i64) -> bool {
        let mut b = *self;
        b.refill(limit, now);
        b.tokens >= limit.burst
    }
}

#[derive(Debug, Clone, Copy)]
struct AccountState {
    bucket: Bucket,
    locked_until: Option<i64>,
}

/// Why an attempt is refused before its password is looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// This address (or this address on this account) made too many failed attempts.
    TooManyAttempts { retry_after: i64 },
    /// The account is locked for everyone.
    Locked { retry_after: i64 },
}

/// Tokens taken for one attempt; give them to [`Throttle::succeeded`] or [`Throttle::failed`].
#[derive(Debug)]
pub struct Attempt {
    account: String,
    addr: AddrKey,
}

#[derive(Default)]
struct Inner {
    addresses: HashMap<AddrKey, Bucket>,
    pairs: HashMap<(String, AddrKey), Bucket>,
    accounts: HashMap<String, AccountState>,
}

pub struct Throttle {
    address: Option<Limit>,
    pair: Limit,
    account: Limit,
    lockout: i64,
    inner: Mutex<Inner>,
}

impl Limit {
    /// A bucket of `burst` tokens regaining `per_minute` tokens a minute (each at least 1).
    pub fn per_minute(burst: u32, per_minute: u32) -> Limit {
        Limit {
            burst: f64::from(burst.max(1)),
            per_sec: f64::from(per_minute.max(1)) / 60.0,
        }
    }
}

impl Throttle {
    /// `address`: the bucket per client address, or `None` when the caller limits addresses in
    /// front of the throttle; `pair`: per (account, address); `account`: per account, which
    /// locks it for `lockout_secs` when it runs dry.
    pub fn new(address: Option<Limit>, pair: Limit, account: Limit, lockout_secs: i64) -> Throttle {
        Throttle {
            address,
            pair,
            account,
            lockout: lockout_secs.max(1),
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A poisoned lock only means another request panicked mid-update; the counters
        // are still usable.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Reserves one attempt for `account` (a normalised email) from `addr`.
    pub fn begin(&self, account: &str, addr: AddrKey, now: i64) -> Result<Attempt, Refusal> {
        let mut g = self.lock();
        let inner = &mut *g;
        if inner.accounts.len() > MAX_ENTRIES
            || inner.pairs.len() > MAX_ENTRIES
            || inner.addresses.len() > MAX_ENTRIES
        {
            self.prune(inner, now);
        }

        let acct = inner
            .accounts
            .entry(account.to_string())
            .or_insert(AccountState {
                bucket: Bucket::full(self.account, now),
                locked_until: None,
            });
        if let Some(until) = acct.locked_until {
            if now < until {
                return Err(Refusal::Locked {
                    retry_after: until - now,
                });
            }
            acct.locked_until = None;
            acct.bucket = Bucket::full(self.account, now);
        }
        acct.bucket.refill(self.account, now);

        let a = self.address.map(|limit| {
            let a = inner
                .addresses
                .entry(addr)
                .or_insert(Bucket::full(limit, now));
            a.refill(limit, now);
            (a, limit)
        });
        let p = inner
            .pairs
            .entry((account.to_string(), addr))
            .or_insert(Bucket::full(self.pair, now));
        p.refill(self.pair, now);
        let wait = a
            .as_ref()
            .map_or(0, |(a, limit)| a.wait(*limit))
            .max(p.wait(self.pair));
        if wait > 0 {
            return Err(Refusal::TooManyAttempts { retry_after: wait });
        }
        if acct.bucket.tokens < 1.0 {
            // Only reachable when the account bucket is empty but not locked (e.g. parallel
            // attempts in flight): refuse without locking.
            return Err(Refusal::TooManyAttempts {
                retry_after: acct.bucket.wait(self.account),
            });
        }
        if let Some((a, _)) = a {
            a.tokens -= 1.0;
        }
        p.tokens -= 1.0;
        acct.bucket.tokens -= 1.0;
        Ok(Attempt {
            account: account.to_string(),
            addr,
        })
    }

    /// The password was right: the reserved tokens go back, the pair starts afresh.
    pub fn succeeded(&self, attempt: Attempt, now: i64) {
        let mut g = self.lock();
        if let (Some(limit), Some(a)) = (self.address, g.addresses.get_mut(&attempt.addr)) {
            a.refill(limit, now);
            a.tokens = (a.tokens + 1.0).min(limit.burst);
        }
        g.pairs.remove(&(attempt.account.clone(), attempt.addr));
        if let Some(s) = g.accounts.get_mut(&attempt.account) {
            s.bucket.refill(self.account, now);
            s.bucket.tokens = (s.bucket.tokens + 1.0).min(self.account.burst);
        }
    }

    /// The password was wrong (or the account unknown): the tokens stay spent, and an
    /// account whose bucket is now empty is locked. Returns the lock's length when it locked.
    pub fn failed(&self, attempt: Attempt, now: i64) -> Option<i64> {
        let mut g = self.lock();
        let s = g.accounts.get_mut(&attempt.account)?;
        s.bucket.refill(self.account, now);
        if s.bucket.tokens < 1.0 && s.locked_until.is_none() {
            s.locked_until = Some(now + self.lockout);
            return Some(self.lockout);
        }
        None
    }

    fn prune(&self, inner: &mut Inner, now: i64) {
        let (address, pair, account) = (self.address, self.pair, self.account);
        inner
            .addresses
            .retain(|_, b| address.is_some_and(|l| !b.is_full(l, now)));
        inner.pairs.retain(|_, b| !b.is_full(pair, now));
        inner.accounts.retain(|_, s| {
            s.locked_until.is_some_and(|u| u > now) || !s.bucket.is_full(account, now)
        });
        if inner.pairs.len() > MAX_ENTRIES {
            // Under a flood of distinct (account, address) pairs the per-pair detail is
            // given up first; address and account limits still hold.
            tracing::warn!(
                "login throttle: too many tracked (account, address) pairs, forgetting them"
            );
            inner.pairs.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn throttle(address: Option<Limit>) -> Throttle {
        Throttle::new(
            address,
            Limit::per_minute(3, 1),
            Limit::per_minute(6, 2),
            600,
        )
    }

    fn ip(n: u8) -> AddrKey {
        AddrKey::from_ip(Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, n))))
    }

    #[test]
    fn one_address_is_throttled_but_cannot_lock_the_account() {
        let t = throttle(Some(Limit::per_minute(10, 10)));
        let mut now = 1_000;
        for _ in 0..3 {
            let a = t.begin("x@example.com", ip(1), now).unwrap();
            assert_eq!(t.failed(a, now), None);
        }
        assert!(matches!(
            t.begin("x@example.com", ip(1), now),
            Err(Refusal::TooManyAttempts { .. })
        ));
        // Keep hammering at the highest rate the pair allows for an hour: never locked.
        for _ in 0..60 {
            now += 60;
            if let Ok(a) = t.begin("x@example.com", ip(1), now) {
                assert_eq!(t.failed(a, now), None);
            }
        }
        // Another address can still sign in.
        let a = t.begin("x@example.com", ip(2), now).unwrap();
        t.succeeded(a, now);
    }

    #[test]
    fn many_addresses_lock_the_account_for_everyone_then_it_unlocks() {
        let t = throttle(Some(Limit::per_minute(10, 10)));
        let now = 1_000;
        let mut locked = None;
        for n in 1..=6 {
            let a = t.begin("x@example.com", ip(n), now).unwrap();
            locked = t.failed(a, now);
        }
        assert_eq!(locked, Some(600));
        assert_eq!(
            t.begin("x@example.com", ip(9), now + 10).unwrap_err(),
            Refusal::Locked { retry_after: 590 }
        );
        // Other accounts are unaffected.
        assert!(t.begin("y@example.com", ip(9), now + 10).is_ok());
        // After the lock, a fresh start.
        assert!(t.begin("x@example.com", ip(9), now + 600).is_ok());
    }

    #[test]
    fn success_gives_tokens_back() {
        let t = throttle(Some(Limit::per_minute(10, 10)));
        for _ in 0..20 {
            let a = t.begin("x@example.com", ip(1), 5).unwrap();
            t.succeeded(a, 5);
        }
    }

    #[test]
    fn ipv6_groups_by_prefix() {
        let a: IpAddr = "2001:db8::1".parse().unwrap();
        let b: IpAddr = "2001:db8::ffff:2".parse().unwrap();
        let c: IpAddr = "2001:db8:0:1::1".parse().unwrap();
        assert_eq!(AddrKey::from_ip(Some(a)), AddrKey::from_ip(Some(b)));
        assert_ne!(AddrKey::from_ip(Some(a)), AddrKey::from_ip(Some(c)));
    }

    #[test]
    fn without_an_address_bucket_only_pair_and_account_count() {
        let t = throttle(None);
        // Twelve failed attempts from one address on distinct accounts (more than an address
        // bucket of 10 would allow): none refused, and no address bucket is kept.
        for n in 0..12u8 {
            let account = format!("u{n}@example.com");
            let a = t.begin(&account, ip(1), 5).unwrap();
            t.failed(a, 5);
        }
        assert!(t.lock().addresses.is_empty());
    }
}
