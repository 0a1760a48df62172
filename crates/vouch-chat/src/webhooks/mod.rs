//! Delivering webhook events from the outbox ([`crate::storage::webhooks`]).
//!
//! Every node runs one [`Deliverer`]: it claims due deliveries (a lease keeps a claimed row from
//! every other worker; PostgreSQL's claim skips rows another node holds), POSTs each with its
//! signature ([`sign`]), and records the outcome: a `2xx` delivers it; anything else retries
//! after 1 s, doubling to 1 h, until 24 h have passed since the first try (then it is `failed`,
//! and an admin may redeliver it). Delivery is at least once: a node that dies after sending and
//! before recording sends again (same `Vouch-Event-Id`) once the lease runs out. Per webhook and
//! conversation, an event is sent only when every earlier one is delivered or given up.
//!
//! The HTTP client follows the key fetcher's address rules (loopback, private and link-local
//! addresses refused unless `--allow-private-webhook-urls`, checked on the resolved address at
//! connect time), follows no redirect, reads no response body, and gives up an attempt after the
//! timeout (10 s).

pub mod sign;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, Semaphore};

use crate::keys::{check_url, guarded_resolver, KeyFetchError};
use crate::storage::webhooks::{Claimed, Outcome};
use crate::storage::{now_millis, Millis, Store};

/// The webhook flags of `vouch chat`.
#[derive(clap::Args, Debug, Clone)]
pub struct WebhookFlags {
    /// Allow webhook URLs on private, loopback or link-local addresses (development and tests).
    #[arg(
        long,
        env = "VOUCH_ALLOW_PRIVATE_WEBHOOK_URLS",
        default_value_t = false
    )]
    pub allow_private_webhook_urls: bool,

    /// Seconds one webhook delivery attempt may take before it counts as failed (1-60).
    #[arg(long, env = "VOUCH_WEBHOOK_TIMEOUT_SECS", default_value_t = 10)]
    pub webhook_timeout_secs: u64,

    /// Milliseconds before the first retry of a failed delivery; each later retry waits twice
    /// as long, up to an hour (100-60000).
    #[arg(long, env = "VOUCH_WEBHOOK_RETRY_BASE_MS", default_value_t = 1000)]
    pub webhook_retry_base_ms: u64,

    /// Milliseconds between looks for due deliveries when idle (50-10000).
    #[arg(long, env = "VOUCH_WEBHOOK_POLL_MS", default_value_t = 500)]
    pub webhook_poll_ms: u64,
}

impl Default for WebhookFlags {
    fn default() -> Self {
        WebhookFlags {
            allow_private_webhook_urls: false,
            webhook_timeout_secs: 10,
            webhook_retry_base_ms: 1000,
            webhook_poll_ms: 500,
        }
    }
}

impl WebhookFlags {
    /// The options these flags give, or the flag that is out of range.
    pub fn options(&self) -> Result<WebhookOptions, String> {
        let range = |flag: &str, v: u64, lo: u64, hi: u64| {
            if (lo..=hi).contains(&v) {
                Ok(v)
            } else {
                Err(format!("{flag} {v}: must be {lo} to {hi}"))
            }
        };
        Ok(WebhookOptions {
            allow_private: self.allow_private_webhook_urls,
            timeout: Duration::from_secs(range(
                "--webhook-timeout-secs",
                self.webhook_timeout_secs,
                1,
                60,
            )?),
            retry_base: Duration::from_millis(range(
                "--webhook-retry-base-ms",
                self.webhook_retry_base_ms,
                100,
                60_000,
            )?),
            poll_interval: Duration::from_millis(range(
                "--webhook-poll-ms",
                self.webhook_poll_ms,
                50,
                10_000,
            )?),
            ..WebhookOptions::default()
        })
    }
}

/// How deliveries behave (from the `--webhook-*` flags).
#[derive(Debug, Clone)]
pub struct WebhookOptions {
    /// Allow webhook URLs on loopback, private and link-local addresses.
    pub allow_private: bool,
    /// One attempt's deadline (connect, request, response headers).
    pub timeout: Duration,
    /// The first retry's delay; each later one doubles, up to `retry_max`.
    pub retry_base: Duration,
    pub retry_max: Duration,
    /// No more retries once this long has passed since the first attempt.
    pub give_up_after: Duration,
    /// How often an idle worker looks for due deliveries.
    pub poll_interval: Duration,
    /// Most deliveries in flight at once on this node.
    pub max_in_flight: usize,
    /// Delivered deliveries older than this are deleted (pending and failed ones are kept).
    pub keep_delivered: Duration,
}

impl Default for WebhookOptions {
    fn default() -> Self {
        WebhookOptions {
            allow_private: false,
            timeout: Duration::from_secs(10),
            retry_base: Duration::from_secs(1),
            retry_max: Duration::from_secs(3600),
            give_up_after: Duration::from_secs(24 * 3600),
            poll_interval: Duration::from_millis(500),
            max_in_flight: 32,
            keep_delivered: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

/// The deliverer's clock: the system's, plus an offset tests may move forward (the 24 h
/// give-up is tested without waiting a day).
#[derive(Debug, Default)]
pub struct WebhookClock {
    offset_ms: AtomicI64,
}

impl WebhookClock {
    pub fn now(&self) -> Millis {
        now_millis() + self.offset_ms.load(Ordering::Relaxed)
    }

    /// Moves this clock forward by `d`.
    pub fn advance(&self, d: Duration) {
        self.offset_ms
            .fetch_add(d.as_millis() as i64, Ordering::Relaxed);
    }
}

/// The delay before retry number `attempts` (1 after the first failure): base × 2^(n-1), capped.
pub fn backoff(opts: &WebhookOptions, attempts: i64) -> Duration {
    let exp = (attempts.max(1) - 1).min(30) as u32;
    opts.retry_base
        .saturating_mul(2u32.saturating_pow(exp))
        .min(opts.retry_max)
}

/// The webhook URL rules at creation: an http(s) URL without user info whose host, when it is
/// an IP literal, is public (unless `allow_private`). Host names are checked when connecting.
pub fn check_webhook_url(raw: &str, allow_private: bool) -> Result<url::Url, String> {
    crate::keys::check_url_str(raw, allow_private).map_err(|e| describe(&e))
}

/// An address error in the words of webhooks (the key fetcher's text names its own flag).
fn describe(e: &KeyFetchError) -> String {
    e.to_string()
        .replace("--allow-private-key-urls", "--allow-private-webhook-urls")
        .replace("key URL", "webhook URL")
}

/// One node's delivery worker.
pub struct Deliverer {
    store: Arc<dyn Store>,
    client: reqwest::Client,
    opts: WebhookOptions,
    clock: Arc<WebhookClock>,
    wake: Notify,
    slots: Arc<Semaphore>,
}

impl Deliverer {
    pub fn new(
        store: Arc<dyn Store>,
        opts: WebhookOptions,
        clock: Arc<WebhookClock>,
    ) -> Result<Deliverer, String> {
        let client = reqwest::Client::builder()
            .use_rustls_tls()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(guarded_resolver(opts.allow_private))
            .timeout(opts.timeout)
            .connect_timeout(opts.timeout)
            .referer(false)
            .user_agent(concat!("vouch-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("webhook client: {e}"))?;
        let slots = Arc::new(Semaphore::new(opts.max_in_flight.max(1)));
        Ok(Deliverer {
            store,
            client,
            opts,
            clock,
            wake: Notify::new(),
            slots,
        })
    }

    /// Runs until `shutdown` turns true. Deliveries in flight then finish or are abandoned
    /// (their lease runs out and another worker, or this node after a restart, sends them).
    pub async fn run(self: Arc<Self>, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        // The outbox does not grow without bound: delivered rows go after `keep_delivered`
        // (checked at start and hourly; every node may, the delete is idempotent).
        let mut prune = tokio::time::interval(Duration::from_secs(3600));
        loop {
            if *shutdown.borrow() {
                return;
            }
            if futures_util::FutureExt::now_or_never(prune.tick()).is_some() {
                let before = self.clock.now() - self.opts.keep_delivered.as_millis() as i64;
                match self.store.prune_deliveries(before).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(deleted = n, "old webhook deliveries pruned"),
                    Err(e) => tracing::warn!(error = %e, "webhook deliveries not pruned"),
                }
            }
            let claimed = self.claim().await;
            let busy = !claimed.is_empty();
            for d in claimed {
                let Ok(permit) = self.slots.clone().acquire_owned().await else {
                    return;
                };
                let me = self.clone();
                tokio::spawn(async move {
                    me.deliver(d).await;
                    drop(permit);
                    // The next event of that conversation may be due now.
                    me.wake.notify_one();
                });
            }
            if busy {
                continue;
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(self.opts.poll_interval) => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    /// Due deliveries, leased to this worker (none when every slot is busy).
    async fn claim(&self) -> Vec<Claimed> {
        let free = self.slots.available_permits();
        if free == 0 {
            return Vec::new();
        }
        let now = self.clock.now();
        match self.store.any_due(now).await {
            Ok(true) => {}
            Ok(false) => return Vec::new(),
            Err(e) => {
                tracing::warn!(error = %e, "webhook outbox not readable");
                return Vec::new();
            }
        }
        // The lease outlives one attempt (the deadline), with a margin for recording it.
        let lease = self.opts.timeout + Duration::from_secs(5);
        match self
            .store
            .claim_deliveries(now, now + lease.as_millis() as i64, free as u32)
            .await
        {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "webhook deliveries not claimed");
                Vec::new()
            }
        }
    }

    /// One attempt, and its outcome recorded.
    async fn deliver(&self, d: Claimed) {
        let webhook = match self.store.get_webhook(d.webhook_id).await {
            Ok(Some(w)) => w,
            Ok(None) => return, // deleted meanwhile (its deliveries with it)
            Err(e) => {
                tracing::warn!(error = %e, "webhook not readable");
                return; // the lease runs out and the attempt is made again
            }
        };
        let (code, error) = match self.attempt(&webhook.url, &webhook.secret, &d).await {
            Ok(code) if (200..300).contains(&code) => (Some(code), None),
            Ok(code) => (Some(code), Some(format!("the receiver answered {code}"))),
            Err(e) => (None, Some(e)),
        };
        let outcome = match error {
            None => Outcome::Delivered {
                code: code.unwrap_or(200),
            },
            Some(error) => {
                let now = self.clock.now();
                if now - d.retry_since >= self.opts.give_up_after.as_millis() as i64 {
                    Outcome::GaveUp { code, error }
                } else {
                    Outcome::Retry {
                        code,
                        error,
                        next_attempt_at: now + backoff(&self.opts, d.attempts).as_millis() as i64,
                    }
                }
            }
        };
        tracing::info!(
            webhook_id = %d.webhook_id,
            event_id = %d.event_id,
            attempt = d.attempts,
            status_code = code,
            outcome = match &outcome {
                Outcome::Delivered { .. } => "delivered",
                Outcome::Retry { .. } => "retry",
                Outcome::GaveUp { .. } => "failed",
            },
            "webhook delivery"
        );
        if let Err(e) = self.store.finish_delivery(d.id, &outcome).await {
            tracing::warn!(error = %e, event_id = %d.event_id, "webhook outcome not recorded");
        }
    }

    /// POSTs the event; the status code, or why there is none. The response body is not read.
    async fn attempt(&self, url: &str, secret: &str, d: &Claimed) -> Result<i64, String> {
        let url = url::Url::parse(url).map_err(|e| format!("bad URL: {e}"))?;
        check_url(&url, self.opts.allow_private).map_err(|e| describe(&e))?;
        let t = self.clock.now().div_euclid(1000);
        let signature = sign::signature_header(secret, t, d.body.as_bytes());
        let send = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("Vouch-Event-Id", d.event_id.to_string())
            .header("Vouch-Signature", signature)
            .body(d.body.clone())
            .send();
        match tokio::time::timeout(self.opts.timeout, send).await {
            Ok(Ok(resp)) => Ok(resp.status().as_u16() as i64),
            Ok(Err(e)) => Err(describe(&crate::keys::map_reqwest(e, self.opts.timeout))),
            Err(_) => Err(format!(
                "no answer within {} s",
                self.opts.timeout.as_secs_f32()
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_urls_are_judged_on_their_addresses_without_a_packet() {
        // Public literals and host names pass at creation (host names are checked again on
        // every address they resolve to, at connect time); internal literals are refused,
        // naming the webhook flag, unless it is given.
        for ok in [
            "https://93.184.216.34/hook",
            "https://crm.example.com/hook",
            "http://[2606:4700::1111]/x",
        ] {
            assert!(check_webhook_url(ok, false).is_ok(), "{ok}");
        }
        for (url, class) in [
            ("http://127.0.0.1:8080/hook", "loopback"),
            ("http://[::1]/hook", "loopback"),
            ("http://0x7f.1/hook", "loopback"),
            ("http://10.0.0.5/hook", "private"),
            ("http://192.168.1.1/hook", "private"),
            ("http://[fd00::1]/hook", "private"),
            ("http://169.254.169.254/latest/meta-data", "link-local"),
            ("http://[::ffff:127.0.0.1]/hook", "loopback"),
            ("http://100.64.0.1/hook", "internal"),
        ] {
            let e = check_webhook_url(url, false).expect_err(url);
            assert!(e.contains(class), "{url}: {e}");
            assert!(e.contains("--allow-private-webhook-urls"), "{url}: {e}");
            assert!(!e.contains("key"), "{url}: {e}");
            assert!(check_webhook_url(url, true).is_ok(), "{url} with the flag");
        }
        for bad in [
            "ftp://example.com/x",
            "https://u:p@example.com/x",
            "not a url",
        ] {
            assert!(check_webhook_url(bad, true).is_err(), "{bad}");
        }
    }

    #[test]
    fn backoff_doubles_from_one_second_to_one_hour() {
        let o = WebhookOptions::default();
        let secs: Vec<u64> = (1..=14).map(|n| backoff(&o, n).as_secs()).collect();
        assert_eq!(
            secs,
            [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 3600, 3600]
        );
        assert_eq!(backoff(&o, 1000).as_secs(), 3600);
    }
}
