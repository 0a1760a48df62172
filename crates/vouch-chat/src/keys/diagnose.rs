//! `vouch doctor`: what is wrong with a key URL or a token, in plain words.
//!
//! Nothing here trusts the token: the header and claims are decoded only to describe them,
//! and the verdict comes from the one verification path ([`KeyFetcher::verify`]).

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use base64::Engine;
use serde_json::Value;
use url::Host;

use super::addr::classify;
use super::{KeyFetcher, MIN_RSA_BITS};

/// How a finding should be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// Something checked and found right.
    Ok,
    /// A fact worth knowing.
    Info,
    /// Works, but likely to cause trouble.
    Warning,
    /// The reason it does not work.
    Error,
}

/// One plain-English line of a diagnosis.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub severity: Severity,
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mark = match self.severity {
            Severity::Ok => "ok     ",
            Severity::Info => "info   ",
            Severity::Warning => "warning",
            Severity::Error => "error  ",
        };
        write!(f, "{mark} {}", self.message)
    }
}

struct Report(Vec<Finding>);

impl Report {
    fn push(&mut self, severity: Severity, message: impl Into<String>) {
        self.0.push(Finding {
            severity,
            message: message.into(),
        });
    }
}

/// Diagnoses a key URL and, when given, a token against it: where the URL leads, what it
/// serves (format, keys, sizes, kids, expiry, cache time), what the token says (header and
/// claims, never the signature) and the exact verdict of verification with its reason code.
/// `now` is unix seconds (the same clock as `validation.now`).
pub async fn diagnose(
    fetcher: &KeyFetcher,
    url: &str,
    token: Option<&str>,
    validation: &vouch_jwt::Validation,
) -> Vec<Finding> {
    let mut r = Report(Vec::new());
    let now = validation.now;
    let allow_private = fetcher.options().allow_private;

    match super::addr::check_url_str(url, allow_private) {
        Ok(parsed) => {
            r.push(Severity::Ok, format!("the URL is valid: {parsed}"));
            describe_host(&mut r, &parsed, allow_private).await;
        }
        Err(e) => {
            r.push(Severity::Error, format!("{e} [{}]", e.code()));
            if let Some(t) = token {
                describe_token(&mut r, t, None, now);
            }
            return r.0;
        }
    }

    let keys = match fetcher.load_detailed(url).await {
        Ok(loaded) => {
            let format = match loaded.format {
                vouch_jwt::KeySourceFormat::Pem => "a PEM public key",
                vouch_jwt::KeySourceFormat::MultiKeyList => "an Omnichannel multi-key list",
                vouch_jwt::KeySourceFormat::Jwks => "a JWKS",
            };
            r.push(
                Severity::Ok,
                format!(
                    "fetched {} bytes{}: {format} with {} key{}",
                    loaded.body_len,
                    loaded
                        .content_type
                        .as_deref()
                        .map(|c| format!(" ({c})"))
                        .unwrap_or_default(),
                    loaded.keys.len(),
                    if loaded.keys.len() == 1 { "" } else { "s" }
                ),
            );
            if loaded.final_url.trim_end_matches('/') != url.trim().trim_end_matches('/') {
                r.push(
                    Severity::Info,
                    format!("redirected (same host) to {}", loaded.final_url),
                );
            }
            for (i, k) in loaded.keys.keys.iter().enumerate() {
                let bits = k.key.bits();
                let kid = k.kid.as_deref().unwrap_or("(none)");
                let mut line = format!("key {}: RSA {bits} bits, kid {kid}", i + 1);
                let mut sev = if bits >= MIN_RSA_BITS {
                    Severity::Ok
                } else {
                    Severity::Error
                };
                if let Some(exp) = k.expiry {
                    if exp <= now {
                        line.push_str(&format!(", expired {}", when(exp, now)));
                        sev = Severity::Warning;
                    } else {
                        line.push_str(&format!(", expires {}", when(exp, now)));
                    }
                }
                r.push(sev, line);
            }
            match loaded.max_age {
                Some(age) => r.push(
                    Severity::Info,
                    format!(
                        "Cache-Control max-age {} s: keys are cached for {}",
                        age.as_secs(),
                        human(loaded.ttl)
                    ),
                ),
                None => r.push(
                    Severity::Info,
                    format!(
                        "no Cache-Control max-age: keys are cached for {} (the default)",
                        human(loaded.ttl)
                    ),
                ),
            }
            Some(loaded.keys)
        }
        Err(e) => {
            r.push(Severity::Error, format!("{e} [{}]", e.code()));
            None
        }
    };

    if let Some(t) = token {
        describe_token(&mut r, t, keys.as_deref(), now);
        match fetcher.verify(url, t, validation).await {
            Ok(_) => r.push(Severity::Ok, "the token verifies"),
            Err(e) => r.push(
                Severity::Error,
                format!("invalid token: {}: {}", e.reason.as_str(), e.detail),
            ),
        }
    }
    r.0
}

async fn describe_host(r: &mut Report, url: &url::Url, allow_private: bool) {
    let judge = |ip: IpAddr| {
        let class = classify(ip);
        let sev = if class.is_public() {
            Severity::Ok
        } else if allow_private {
            Severity::Warning
        } else {
            Severity::Error
        };
        (sev, format!("{ip} ({class})"))
    };
    match url.host() {
        Some(Host::Ipv4(v4)) => {
            let (sev, text) = judge(IpAddr::V4(v4));
            r.push(sev, format!("the host is the address {text}"));
        }
        Some(Host::Ipv6(v6)) => {
            let (sev, text) = judge(IpAddr::V6(v6));
            r.push(sev, format!("the host is the address {text}"));
        }
        Some(Host::Domain(d)) => match tokio::net::lookup_host((d.to_string(), 0u16)).await {
            Ok(addrs) => {
                let mut worst = Severity::Ok;
                let mut texts = Vec::new();
                for a in addrs.take(16) {
                    let (sev, text) = judge(a.ip());
                    if sev == Severity::Error || (sev == Severity::Warning && worst == Severity::Ok)
                    {
                        worst = sev;
                    }
                    texts.push(text);
                }
                texts.dedup();
                r.push(worst, format!("{d} resolves to {}", texts.join(", ")));
                if worst == Severity::Warning {
                    r.push(
                        Severity::Warning,
                        "non-public addresses are allowed only because of --allow-private-key-urls",
                    );
                }
            }
            Err(_) => r.push(Severity::Error, format!("could not resolve host {d}")),
        },
        None => {}
    }
}

fn b64_json(part: &str) -> Option<Value> {
    if part.len() > 64 * 1024 {
        return None;
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn short(v: &Value) -> String {
    let s = match v {
        Value::String(s) => format!("\"{s}\""),
        other => other.to_string(),
    };
    if s.chars().count() > 80 {
        format!("{}…", s.chars().take(80).collect::<String>())
    } else {
        s
    }
}

fn describe_token(r: &mut Report, token: &str, keys: Option<&vouch_jwt::KeySet>, now: i64) {
    let token = token.trim();
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        r.push(
            Severity::Error,
            format!(
                "the token has {} parts separated by '.', a signed JWT has 3",
                parts.len()
            ),
        );
        return;
    }
    let Some(header) = b64_json(parts[0]) else {
        r.push(Severity::Error, "the token header is not base64url JSON");
        return;
    };
    let mut items = Vec::new();
    if let Some(obj) = header.as_object() {
        for (k, v) in obj {
            items.push(format!("{k}={}", short(v)));
        }
        for bad in ["jku", "x5u", "jwk", "x5c", "crit"] {
            if obj.contains_key(bad) {
                r.push(
                    Severity::Error,
                    format!(
                        "the token header carries \"{bad}\", which is refused (never followed)"
                    ),
                );
            }
        }
        match obj.get("alg").and_then(Value::as_str) {
            Some("RS256") => {}
            Some(other) => r.push(
                Severity::Error,
                format!("alg is {other}: only RS256 is accepted"),
            ),
            None => r.push(Severity::Error, "the token header has no alg"),
        }
        match (obj.get("kid").and_then(Value::as_str), keys) {
            (Some(kid), Some(keys)) => {
                if keys.keys.iter().any(|k| k.kid.as_deref() == Some(kid)) {
                    r.push(Severity::Ok, format!("kid {kid} is among the URL's keys"));
                } else {
                    let kids: Vec<&str> =
                        keys.keys.iter().filter_map(|k| k.kid.as_deref()).collect();
                    r.push(
                        Severity::Error,
                        format!(
                            "kid {kid} is not among the URL's keys ({})",
                            if kids.is_empty() {
                                "they have no kid".to_string()
                            } else {
                                kids.join(", ")
                            }
                        ),
                    );
                }
            }
            (None, Some(keys)) => r.push(
                Severity::Info,
                format!(
                    "the token has no kid: each of the {} key(s) is tried",
                    keys.len()
                ),
            ),
            _ => {}
        }
    }
    r.push(
        Severity::Info,
        format!("token header: {}", items.join(", ")),
    );

    let Some(claims) = b64_json(parts[1]) else {
        r.push(Severity::Error, "the token payload is not base64url JSON");
        return;
    };
    let Some(obj) = claims.as_object() else {
        r.push(Severity::Error, "the token payload is not a JSON object");
        return;
    };
    let mut items = Vec::new();
    for name in [
        "iss",
        "sub",
        "preferred_username",
        "email",
        "given_name",
        "family_name",
    ] {
        if let Some(v) = obj.get(name) {
            items.push(format!("{name}={}", short(v)));
        }
    }
    for name in ["iss", "sub", "iat", "exp"] {
        if !obj.contains_key(name) {
            r.push(Severity::Error, format!("the claim {name} is missing"));
        }
    }
    for name in ["iat", "nbf", "exp"] {
        match obj.get(name) {
            Some(Value::Number(n)) => match n.as_i64() {
                Some(t) => items.push(format!("{name}={t} ({})", when(t, now))),
                None => r.push(
                    Severity::Error,
                    format!("{name} is {n}: it must be a whole number of seconds"),
                ),
            },
            Some(other) => r.push(
                Severity::Error,
                format!("{name} is {}: it must be a JSON number", short(other)),
            ),
            None => {}
        }
    }
    if let Some(lwi) = obj.get("lwicontexts") {
        if !lwi.is_string() {
            r.push(
                Severity::Error,
                "lwicontexts must be a string holding a JSON object, not raw JSON",
            );
        } else {
            items.push("lwicontexts present".to_string());
        }
    }
    r.push(
        Severity::Info,
        format!("token claims: {}", items.join(", ")),
    );
}

/// "in 5 min", "3 h ago" relative to `now`, with the UTC time.
fn when(t: i64, now: i64) -> String {
    let stamp = time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| "out of range".to_string());
    let delta = t.saturating_sub(now);
    let rel = human(Duration::from_secs(delta.unsigned_abs()));
    if delta >= 0 {
        format!("{stamp}, in {rel}")
    } else {
        format!("{stamp}, {rel} ago")
    }
}

fn human(d: Duration) -> String {
    let s = d.as_secs();
    if s < 120 {
        format!("{s} s")
    } else if s < 2 * 3600 {
        format!("{} min", s / 60)
    } else if s < 2 * 86400 {
        format!("{} h", s / 3600)
    } else {
        format!("{} days", s / 86400)
    }
}
