//! The portal's Prometheus metrics (`GET /metrics`, only with `--metrics-token`): requests by
//! route template and status, sign-ins by result, tokens issued. One registry per portal.

use axum::http::{Method, StatusCode};
use prometheus::{Encoder, IntCounter, IntCounterVec, Opts, Registry, TextEncoder};
use subtle::ConstantTimeEq;

/// The token that unlocks `GET /metrics`. Never shown by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct MetricsToken(String);

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
        if s.chars().count() < 16 || !s.chars().all(|c| c.is_ascii_graphic()) {
            return Err(
                "the metrics token must be at least 16 printable characters without \
                        spaces (make one with: openssl rand -hex 32)"
                    .into(),
            );
        }
        Ok(MetricsToken(s.to_string()))
    }
}

impl std::fmt::Debug for MetricsToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetricsToken(<redacted>)")
    }
}

pub(crate) struct Metrics {
    registry: Registry,
    http_requests: IntCounterVec,
    sign_ins: IntCounterVec,
    tokens_issued: IntCounter,
}

fn counter(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), labels)
        .unwrap_or_else(|e| unreachable!("metric {name} is well-formed: {e}"));
    registry
        .register(Box::new(c.clone()))
        .unwrap_or_else(|e| unreachable!("metric {name} registered once: {e}"));
    c
}

impl Metrics {
    pub(crate) fn new() -> Metrics {
        let registry = Registry::new();
        let http_requests = counter(
            &registry,
            "vouch_portal_http_requests_total",
            "HTTP requests answered, by route template, method and status.",
            &["route", "method", "status"],
        );
        let sign_ins = counter(
            &registry,
            "vouch_portal_sign_ins_total",
            "Sign-in attempts by result (ok, invalid, throttled, locked, busy, error).",
            &["result"],
        );
        let tokens_issued = IntCounter::new(
            "vouch_portal_tokens_issued_total",
            "Customer tokens (JWTs) signed for /token.",
        )
        .unwrap_or_else(|e| unreachable!("token counter is well-formed: {e}"));
        registry
            .register(Box::new(tokens_issued.clone()))
            .unwrap_or_else(|e| unreachable!("token counter registered once: {e}"));
        for r in ["ok", "invalid", "throttled", "locked", "busy", "error"] {
            sign_ins.with_label_values(&[r]);
        }
        Metrics {
            registry,
            http_requests,
            sign_ins,
            tokens_issued,
        }
    }

    /// One answered request of a route (`route` is its template); a method outside the
    /// standard nine is `other`, so a client cannot mint label values.
    pub(crate) fn http_request(&self, route: &str, method: &Method, status: StatusCode) {
        self.http_requests
            .with_label_values(&[route, method_label(method), status.as_str()])
            .inc();
    }

    pub(crate) fn sign_in(&self, result: &str) {
        self.sign_ins.with_label_values(&[result]).inc();
    }

    pub(crate) fn token_issued(&self) {
        self.tokens_issued.inc();
    }

    pub(crate) fn render(&self) -> String {
        let mut out = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::error!(error = %e, "encoding metrics failed");
        }
        String::from_utf8(out).unwrap_or_default()
    }
}

/// The method as a metric label: the standard ones by name, any other as `other`, so a client
/// cannot mint label values.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}
