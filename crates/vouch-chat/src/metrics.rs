//! The chat service's Prometheus metrics: one [`Metrics`] per service (no global registry),
//! recorded where the event happens (the domain records sessions, verification results, state
//! changes and stored messages; the protocol layer records requests, acks and open sockets) and
//! rendered in the text exposition format by `GET /metrics`.
//!
//! Key fetches are not counted twice: the key fetcher keeps its own counters
//! ([`crate::keys::FetchStats`]) and they are copied into the registry at scrape time.

use std::sync::Mutex;

use axum::http::Method;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};
use subtle::ConstantTimeEq;

use crate::keys::FetchStats;
use crate::storage::{ConversationState, Sender};

/// Ack latency buckets in seconds: 0.25 ms … 2.5 s (an ack waits for the durable commit).
const ACK_BUCKETS: &[f64] = &[
    0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// The token that unlocks `GET /metrics` (`--metrics-token`). Never shown by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct MetricsToken(String);

/// Shortest accepted `--metrics-token`.
pub const MIN_METRICS_TOKEN_CHARS: usize = 16;

impl MetricsToken {
    /// Constant-time comparison with a presented bearer token.
    pub fn matches(&self, presented: &str) -> bool {
        bool::from(self.0.as_bytes().ct_eq(presented.as_bytes()))
    }
}

impl std::str::FromStr for MetricsToken {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.chars().count() < MIN_METRICS_TOKEN_CHARS {
            return Err(format!(
                "the metrics token must be at least {MIN_METRICS_TOKEN_CHARS} characters \
                 (make one with: openssl rand -hex 32)"
            ));
        }
        if !s.chars().all(|c| c.is_ascii_graphic()) {
            return Err("the metrics token must be printable ASCII without spaces".into());
        }
        Ok(MetricsToken(s.to_string()))
    }
}

impl std::fmt::Debug for MetricsToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetricsToken(<redacted>)")
    }
}

/// Every metric of one chat service.
pub struct Metrics {
    registry: Registry,
    http_requests: IntCounterVec,
    token_verifications: IntCounterVec,
    sessions_created: IntCounterVec,
    conversation_transitions: IntCounterVec,
    messages_stored: IntCounterVec,
    ack_latency: HistogramVec,
    key_fetches: IntCounterVec,
    open_sockets: IntGaugeVec,
    group_commits: prometheus::IntCounter,
    /// Serializes scrapes (the key-fetch counters are brought up to date during a scrape).
    scrape: Mutex<()>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

fn counter(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), labels)
        .unwrap_or_else(|e| unreachable!("metric {name} is well-formed: {e}"));
    registry
        .register(Box::new(c.clone()))
        .unwrap_or_else(|e| unreachable!("metric {name} registered once: {e}"));
    c
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let registry = Registry::new();
        let http_requests = counter(
            &registry,
            "vouch_chat_http_requests_total",
            "HTTP requests answered, by route template, method and status.",
            &["route", "method", "status"],
        );
        let token_verifications = counter(
            &registry,
            "vouch_chat_token_verifications_total",
            "Customer token verifications, by result (ok or failed) and failure reason.",
            &["result", "reason"],
        );
        let sessions_created = counter(
            &registry,
            "vouch_chat_sessions_created_total",
            "Widget sessions created, by whether the customer is verified.",
            &["verified"],
        );
        let conversation_transitions = counter(
            &registry,
            "vouch_chat_conversation_transitions_total",
            "Conversation state changes (from \"none\" when a conversation is created).",
            &["from", "to"],
        );
        let messages_stored = counter(
            &registry,
            "vouch_chat_messages_stored_total",
            "Messages durably stored (resends of a stored message not counted), by sender.",
            &["sender"],
        );
        let ack_latency = HistogramVec::new(
            HistogramOpts::new(
                "vouch_chat_ack_latency_seconds",
                "Time from a send frame received to its ack sent, by socket kind.",
            )
            .buckets(ACK_BUCKETS.to_vec()),
            &["socket"],
        )
        .unwrap_or_else(|e| unreachable!("ack histogram is well-formed: {e}"));
        registry
            .register(Box::new(ack_latency.clone()))
            .unwrap_or_else(|e| unreachable!("ack histogram registered once: {e}"));
        let key_fetches = counter(
            &registry,
            "vouch_chat_key_fetches_total",
            "Fetches of public key URLs, by result (ok or failed).",
            &["result"],
        );
        let open_sockets = IntGaugeVec::new(
            Opts::new(
                "vouch_chat_open_sockets",
                "WebSockets open now, by kind (customer or agent).",
            ),
            &["socket"],
        )
        .unwrap_or_else(|e| unreachable!("socket gauge is well-formed: {e}"));
        registry
            .register(Box::new(open_sockets.clone()))
            .unwrap_or_else(|e| unreachable!("socket gauge registered once: {e}"));

        let group_commits = prometheus::IntCounter::new(
            "vouch_chat_db_group_commits_total",
            "Transactions the SQLite writer committed, each a group of writes (one fsync); \
             0 on PostgreSQL, which commits each write on its own.",
        )
        .unwrap_or_else(|e| unreachable!("group commit counter is well-formed: {e}"));
        registry
            .register(Box::new(group_commits.clone()))
            .unwrap_or_else(|e| unreachable!("group commit counter registered once: {e}"));

        // Series that exist from the start, so dashboards and rate() see zeros, not gaps.
        token_verifications.with_label_values(&["ok", ""]);
        // Every reason code of token verification (design.md).
        for r in vouch_jwt::Reason::ALL {
            token_verifications.with_label_values(&["failed", r.as_str()]);
        }
        for v in ["true", "false"] {
            sessions_created.with_label_values(&[v]);
        }
        for (from, to) in [
            ("none", "waiting"),
            ("waiting", "active"),
            ("waiting", "ended"),
            ("active", "ended"),
        ] {
            conversation_transitions.with_label_values(&[from, to]);
        }
        for s in ["customer", "agent", "system"] {
            messages_stored.with_label_values(&[s]);
        }
        for s in ["customer", "agent"] {
            ack_latency.with_label_values(&[s]);
            open_sockets.with_label_values(&[s]);
        }
        for r in ["ok", "failed"] {
            key_fetches.with_label_values(&[r]);
        }
        Metrics {
            registry,
            http_requests,
            token_verifications,
            sessions_created,
            conversation_transitions,
            messages_stored,
            ack_latency,
            key_fetches,
            open_sockets,
            group_commits,
            scrape: Mutex::new(()),
        }
    }

    /// One answered HTTP request. `route` is the route template (`/api/v1/agent/conversations/{id}`),
    /// never the concrete path, so ids do not explode the series; a method outside the
    /// standard nine is `other`, so a client cannot mint label values either.
    pub fn http_request(&self, route: &str, method: &Method, status: u16) {
        let method = if is_standard(method) {
            method.as_str()
        } else {
            "other"
        };
        self.http_requests
            .with_label_values(&[route, method, &status.to_string()])
            .inc();
    }

    /// A token verified.
    pub fn token_ok(&self) {
        self.token_verifications
            .with_label_values(&["ok", ""])
            .inc();
    }

    /// A token refused, with its reason code (the same call that feeds the diagnostics page).
    pub fn token_failed(&self, reason: &str) {
        self.token_verifications
            .with_label_values(&["failed", reason])
            .inc();
    }

    pub fn session_created(&self, verified: bool) {
        self.sessions_created
            .with_label_values(&[if verified { "true" } else { "false" }])
            .inc();
    }

    /// A conversation changed state; `from` is None for a new conversation.
    pub fn conversation_transition(&self, from: Option<ConversationState>, to: ConversationState) {
        let from = from.map_or("none", ConversationState::as_str);
        self.conversation_transitions
            .with_label_values(&[from, to.as_str()])
            .inc();
    }

    pub fn message_stored(&self, sender: Sender) {
        self.messages_stored
            .with_label_values(&[sender.as_str()])
            .inc();
    }

    /// The time from a `send` frame received to its `ack` written.
    pub fn ack_sent(&self, socket: Sender, since: std::time::Instant) {
        self.ack_latency
            .with_label_values(&[socket.as_str()])
            .observe(since.elapsed().as_secs_f64());
    }

    /// Counts an open socket until the guard is dropped.
    pub fn socket_open(&self, socket: Sender) -> SocketGuard {
        let g = self.open_sockets.with_label_values(&[socket.as_str()]);
        g.inc();
        SocketGuard(g)
    }

    /// Brings the group commit counter up to the store's count (at each scrape, before
    /// [`Metrics::render`]); `None` (a store that does not group) leaves it at 0.
    pub fn group_commits(&self, total: Option<u64>) {
        let _one = self.scrape.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(total) = total {
            let c = &self.group_commits;
            c.inc_by(total.saturating_sub(c.get()));
        }
    }

    /// The text exposition of every metric, with the key fetcher's counters brought up to date.
    pub fn render(&self, fetches: FetchStats) -> String {
        let _one = self.scrape.lock().unwrap_or_else(|p| p.into_inner());
        for (label, total) in [("ok", fetches.ok), ("failed", fetches.failed)] {
            let c = self.key_fetches.with_label_values(&[label]);
            c.inc_by(total.saturating_sub(c.get()));
        }
        let mut out = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::error!(error = %e, "encoding metrics failed");
        }
        String::from_utf8(out).unwrap_or_default()
    }
}

/// An open socket, counted in `vouch_chat_open_sockets` while held.
pub struct SocketGuard(prometheus::IntGauge);

impl Drop for SocketGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// GET, HEAD, POST, PUT, DELETE, CONNECT, OPTIONS, TRACE, PATCH (RFC 9110 and RFC 5789).
fn is_standard(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET
            | Method::HEAD
            | Method::POST
            | Method::PUT
            | Method::DELETE
            | Method::CONNECT
            | Method::OPTIONS
            | Method::TRACE
            | Method::PATCH
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_key_fetches() {
        let m = Metrics::new();
        m.http_request("/healthz", &Method::GET, 200);
        let brew = Method::from_bytes(b"BREW").unwrap();
        m.http_request("/healthz", &brew, 405);
        m.token_failed("expired");
        m.conversation_transition(None, ConversationState::Waiting);
        let text = m.render(FetchStats {
            ok: 3,
            failed: 1,
            cached_urls: 1,
        });
        assert!(text.contains(
            r#"vouch_chat_http_requests_total{method="GET",route="/healthz",status="200"} 1"#
        ));
        assert!(text.contains(
            r#"vouch_chat_http_requests_total{method="other",route="/healthz",status="405"} 1"#
        ));
        assert!(!text.contains("BREW"), "{text}");
        assert!(text.contains(
            r#"vouch_chat_token_verifications_total{reason="expired",result="failed"} 1"#
        ));
        assert!(text.contains(r#"vouch_chat_key_fetches_total{result="ok"} 3"#));
        // A second scrape does not add the fetches again.
        let text = m.render(FetchStats {
            ok: 4,
            failed: 1,
            cached_urls: 1,
        });
        assert!(text.contains(r#"vouch_chat_key_fetches_total{result="ok"} 4"#));
        assert!(text.contains(r#"vouch_chat_key_fetches_total{result="failed"} 1"#));
    }

    #[test]
    fn socket_guard_counts_down() {
        let m = Metrics::new();
        let g = m.socket_open(Sender::Customer);
        assert!(m
            .render(FetchStats::default())
            .contains(r#"vouch_chat_open_sockets{socket="customer"} 1"#));
        drop(g);
        assert!(m
            .render(FetchStats::default())
            .contains(r#"vouch_chat_open_sockets{socket="customer"} 0"#));
    }

    #[test]
    fn token_is_checked_and_redacted() {
        assert!("short".parse::<MetricsToken>().is_err());
        let t: MetricsToken = "0123456789abcdef0123".parse().expect("long enough");
        assert!(t.matches("0123456789abcdef0123"));
        assert!(!t.matches("0123456789abcdef012"));
        assert_eq!(format!("{t:?}"), "MetricsToken(<redacted>)");
    }
}
