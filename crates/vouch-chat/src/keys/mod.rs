//! Fetching and caching the public keys that verify customer tokens.
//!
//! * [`addr`] — which addresses a key URL may reach (checked on the resolved address at
//!   connect time, and on IP-literal hosts before any request);
//! * [`fetch`] — one guarded HTTP GET (redirects, deadline, size limit);
//! * [`cache`] — the per-URL key cache with rate-limited, single-flight refetch;
//! * [`diagnose`] — plain-English findings for `vouch doctor`.

mod addr;
mod cache;
mod diagnose;
mod fetch;

use std::net::IpAddr;
use std::time::Duration;

pub use addr::{classify, AddressClass};
pub use cache::{FetchStats, KeyFetcher};
pub use diagnose::{diagnose, Finding, Severity};
pub use fetch::{MAX_CACHE_AGE, MAX_REDIRECTS};
// The same address rules for webhook URLs (crate::webhooks).
pub(crate) use addr::{check_url, check_url_str};
pub(crate) use fetch::map_reqwest;

/// The guarded DNS resolver (addresses checked at connect time) for another HTTP client.
pub(crate) fn guarded_resolver(allow_private: bool) -> std::sync::Arc<addr::GuardedResolver> {
    std::sync::Arc::new(addr::GuardedResolver { allow_private })
}

/// The smallest RSA modulus accepted from a key URL.
pub const MIN_RSA_BITS: usize = 2048;

/// How the key fetcher behaves. One set per process.
#[derive(Clone, Debug)]
pub struct FetcherOptions {
    /// Allow key URLs on private, loopback, link-local and other internal addresses
    /// (`--allow-private-key-urls`; development and the demo only).
    pub allow_private: bool,
    /// How long keys are cached when the key server sends no `Cache-Control: max-age`.
    pub cache_ttl: Duration,
    /// At most one refetch per URL within this interval (unknown `kid`, bad signature, expiry);
    /// also the lower clamp of `Cache-Control: max-age`.
    pub min_refetch_interval: Duration,
    /// Total time for one fetch: connect, redirects, headers and body.
    pub timeout: Duration,
    /// Largest accepted body in bytes.
    pub max_body: usize,
}

impl Default for FetcherOptions {
    fn default() -> Self {
        FetcherOptions {
            allow_private: false,
            cache_ttl: Duration::from_secs(3600),
            min_refetch_interval: Duration::from_secs(60),
            timeout: Duration::from_secs(5),
            max_body: 64 * 1024,
        }
    }
}

/// Why a key URL gave no usable keys. `Display` is a sentence a person can act on;
/// [`KeyFetchError::code`] is a short stable machine code.
#[derive(Clone, Debug, thiserror::Error)]
pub enum KeyFetchError {
    #[error("not a valid URL: {reason}")]
    BadUrl { reason: String },
    #[error("https or http URLs only (this one is {scheme}:)")]
    BadScheme { scheme: String },
    #[error("a user name or password in the key URL is refused")]
    UserInfo,
    #[error("{addr} is {}; private, loopback and link-local addresses are refused (start with --allow-private-key-urls for development)", class.describe())]
    PrivateAddress { addr: IpAddr, class: AddressClass },
    #[error("{host} resolves to {addr}, {}; private, loopback and link-local addresses are refused (start with --allow-private-key-urls for development)", class.describe())]
    PrivateName {
        host: String,
        addr: IpAddr,
        class: AddressClass,
    },
    #[error("could not resolve host {host}")]
    Dns { host: String },
    #[error("connection refused")]
    ConnectionRefused,
    #[error("could not connect: {detail}")]
    Connect { detail: String },
    #[error("timed out after {}", fmt_duration(*after))]
    Timeout { after: Duration },
    #[error("the URL answered {status} {reason}")]
    HttpStatus { status: u16, reason: String },
    #[error("the body is larger than {}", fmt_size(*limit))]
    TooLarge { limit: usize },
    #[error("redirect to another host ({to}) refused")]
    RedirectOffHost { to: String },
    #[error("redirect from https to http refused")]
    RedirectDowngrade,
    #[error("more than {max} redirects")]
    TooManyRedirects { max: usize },
    #[error("{detail}")]
    Parse { detail: String },
    #[error("RSA key of {bits} bits: at least {MIN_RSA_BITS} required")]
    WeakKey { bits: usize },
    #[error("the key source holds no usable RSA key")]
    NoKeys,
    #[error("the request failed: {detail}")]
    Http { detail: String },
    #[error("could not build the HTTP client: {detail}")]
    Client { detail: String },
}

impl KeyFetchError {
    /// A short machine code, stable for metrics, logs and JSON.
    pub fn code(&self) -> &'static str {
        use KeyFetchError::*;
        match self {
            BadUrl { .. } | UserInfo => "bad_url",
            BadScheme { .. } => "bad_scheme",
            PrivateAddress { .. } | PrivateName { .. } => "private_address",
            Dns { .. } => "dns",
            ConnectionRefused | Connect { .. } => "connect",
            Timeout { .. } => "timeout",
            HttpStatus { .. } => "http_status",
            TooLarge { .. } => "too_large",
            RedirectOffHost { .. } | RedirectDowngrade | TooManyRedirects { .. } => "redirect",
            Parse { .. } => "parse",
            WeakKey { .. } => "weak_key",
            NoKeys => "no_keys",
            Http { .. } => "http",
            Client { .. } => "internal",
        }
    }
}

/// Parses a fetched body and applies the key rule: at least one RSA key of
/// [`MIN_RSA_BITS`] bits. (The token core already refuses smaller keys while parsing;
/// that refusal is reported as [`KeyFetchError::WeakKey`].)
pub(crate) fn parse_and_check(
    body: &[u8],
) -> Result<(vouch_jwt::KeySourceFormat, vouch_jwt::KeySet), KeyFetchError> {
    let (format, keys) = vouch_jwt::parse_key_source(body).map_err(parse_error)?;
    if keys.is_empty() {
        return Err(KeyFetchError::NoKeys);
    }
    if let Some(weak) = keys
        .keys
        .iter()
        .map(|k| k.key.bits())
        .find(|b| *b < MIN_RSA_BITS)
    {
        return Err(KeyFetchError::WeakKey { bits: weak });
    }
    Ok((format, keys))
}

fn parse_error(e: vouch_jwt::KeySourceError) -> KeyFetchError {
    use vouch_jwt::{KeyError, KeySourceError};
    match e {
        KeySourceError::Key(KeyError::TooSmall { bits }) => KeyFetchError::WeakKey { bits },
        other => KeyFetchError::Parse {
            detail: other.to_string(),
        },
    }
}

fn fmt_duration(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

fn fmt_size(n: usize) -> String {
    if n >= 1024 * 1024 && n.is_multiple_of(1024 * 1024) {
        format!("{} MiB", n / (1024 * 1024))
    } else if n >= 1024 && n.is_multiple_of(1024) {
        format!("{} KiB", n / 1024)
    } else {
        format!("{n} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_read_as_sentences() {
        let e = KeyFetchError::PrivateAddress {
            addr: "127.0.0.1".parse().unwrap(),
            class: AddressClass::Loopback,
        };
        assert_eq!(
            e.to_string(),
            "127.0.0.1 is a loopback address; private, loopback and link-local addresses are \
             refused (start with --allow-private-key-urls for development)"
        );
        assert_eq!(
            KeyFetchError::Timeout {
                after: Duration::from_secs(5)
            }
            .to_string(),
            "timed out after 5 s"
        );
        assert_eq!(
            KeyFetchError::TooLarge { limit: 64 * 1024 }.to_string(),
            "the body is larger than 64 KiB"
        );
        assert_eq!(
            KeyFetchError::HttpStatus {
                status: 404,
                reason: "Not Found".into()
            }
            .to_string(),
            "the URL answered 404 Not Found"
        );
        assert_eq!(KeyFetchError::WeakKey { bits: 1024 }.code(), "weak_key");
    }
}
