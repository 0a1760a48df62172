//! One guarded HTTP GET of a key URL: scheme and address rules, same-host redirects, a total
//! deadline, and a body read in chunks that stops at the size limit.

use std::error::Error as StdError;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, ACCEPT, CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use reqwest::redirect::{Attempt, Policy};
use url::Url;

use super::addr::{check_url, GuardedResolver};
use super::{FetcherOptions, KeyFetchError};

/// At most this many redirects are followed (each to the same host, each re-checked).
pub const MAX_REDIRECTS: usize = 3;
/// `Cache-Control: max-age` is clamped to at most this.
pub const MAX_CACHE_AGE: Duration = Duration::from_secs(24 * 3600);

/// A successful answer of a key URL.
#[derive(Debug)]
pub(crate) struct Fetched {
    pub body: Vec<u8>,
    /// `Cache-Control: max-age` (or 0 for `no-store`/`no-cache`), unclamped.
    pub max_age: Option<Duration>,
    pub content_type: Option<String>,
    /// The URL that finally answered (after same-host redirects).
    pub final_url: Url,
}

#[derive(Clone, Debug)]
pub(crate) struct Http {
    client: reqwest::Client,
    opts: FetcherOptions,
}

fn redirect_policy(allow_private: bool) -> Policy {
    Policy::custom(move |attempt: Attempt| {
        let previous = attempt.previous();
        if previous.len() > MAX_REDIRECTS {
            return attempt.error(KeyFetchError::TooManyRedirects { max: MAX_REDIRECTS });
        }
        let next = attempt.url().clone();
        let Some(first) = previous.first().cloned() else {
            return attempt.error(KeyFetchError::RedirectOffHost {
                to: next.host_str().unwrap_or("").to_string(),
            });
        };
        if let Err(e) = check_url(&next, allow_private) {
            return attempt.error(e);
        }
        if next.host() != first.host() {
            return attempt.error(KeyFetchError::RedirectOffHost {
                to: next.host_str().unwrap_or("").to_string(),
            });
        }
        if first.scheme() == "https" && next.scheme() != "https" {
            return attempt.error(KeyFetchError::RedirectDowngrade);
        }
        attempt.follow()
    })
}

impl Http {
    pub(crate) fn new(opts: FetcherOptions) -> Result<Http, KeyFetchError> {
        let client = reqwest::Client::builder()
            .use_rustls_tls()
            .no_proxy()
            .redirect(redirect_policy(opts.allow_private))
            .dns_resolver(Arc::new(GuardedResolver {
                allow_private: opts.allow_private,
            }))
            .timeout(opts.timeout)
            .connect_timeout(opts.timeout)
            .referer(false)
            .user_agent(concat!("vouch-key-fetcher/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| KeyFetchError::Client {
                detail: e.to_string(),
            })?;
        Ok(Http { client, opts })
    }

    pub(crate) fn options(&self) -> &FetcherOptions {
        &self.opts
    }

    /// Checks `raw` and fetches it within the total deadline.
    pub(crate) async fn get(&self, raw: &str) -> Result<Fetched, KeyFetchError> {
        let url = super::addr::check_url_str(raw, self.opts.allow_private)?;
        let limit = self.opts.timeout;
        match tokio::time::timeout(limit, self.get_inner(url)).await {
            Ok(r) => r,
            Err(_) => Err(KeyFetchError::Timeout { after: limit }),
        }
    }

    async fn get_inner(&self, url: Url) -> Result<Fetched, KeyFetchError> {
        let mut resp = self
            .client
            .get(url)
            .header(
                ACCEPT,
                "application/jwk-set+json, application/json;q=0.9, \
                 application/x-pem-file;q=0.9, text/plain;q=0.8, */*;q=0.1",
            )
            .send()
            .await
            .map_err(|e| map_reqwest(e, self.opts.timeout))?;
        let status = resp.status();
        if status.is_redirection() {
            // reqwest hands back a redirect it would not follow (e.g. to a non-http scheme):
            // say why in terms of our rules.
            let next = resp
                .headers()
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|loc| resp.url().join(loc).ok());
            if let Some(next) = next {
                check_url(&next, self.opts.allow_private)?;
                return Err(KeyFetchError::RedirectOffHost {
                    to: next.host_str().unwrap_or("").to_string(),
                });
            }
        }
        if !status.is_success() {
            return Err(KeyFetchError::HttpStatus {
                status: status.as_u16(),
                reason: status.canonical_reason().unwrap_or("").to_string(),
            });
        }
        let max = self.opts.max_body;
        if resp.content_length().is_some_and(|len| len > max as u64) {
            return Err(KeyFetchError::TooLarge { limit: max });
        }
        let max_age = cache_max_age(resp.headers());
        let content_type = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let final_url = resp.url().clone();
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| map_reqwest(e, self.opts.timeout))?
        {
            if body.len() + chunk.len() > max {
                return Err(KeyFetchError::TooLarge { limit: max });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Fetched {
            body,
            max_age,
            content_type,
            final_url,
        })
    }
}

/// `max-age` from `Cache-Control`; `no-store` / `no-cache` count as 0 (the caller clamps).
pub(crate) fn cache_max_age(headers: &HeaderMap) -> Option<Duration> {
    let mut found = None;
    for value in headers.get_all(CACHE_CONTROL) {
        let Ok(value) = value.to_str() else { continue };
        for directive in value.split(',') {
            let directive = directive.trim();
            let (name, arg) = match directive.split_once('=') {
                Some((n, a)) => (n.trim(), Some(a.trim().trim_matches('"'))),
                None => (directive, None),
            };
            if name.eq_ignore_ascii_case("no-store") || name.eq_ignore_ascii_case("no-cache") {
                return Some(Duration::ZERO);
            }
            if name.eq_ignore_ascii_case("max-age") {
                if let Some(secs) = arg.and_then(|a| a.parse::<u64>().ok()) {
                    found.get_or_insert(Duration::from_secs(secs));
                } else if arg
                    .is_some_and(|a| !a.is_empty() && a.bytes().all(|b| b.is_ascii_digit()))
                {
                    // More digits than u64 holds: effectively forever (clamped later).
                    found.get_or_insert(MAX_CACHE_AGE);
                }
            }
        }
    }
    found
}

/// Finds a [`KeyFetchError`] we raised ourselves (resolver, redirect policy) inside reqwest's
/// error chain, looking through `io::Error` wrappers, whose `source()` skips their payload.
fn find_ours(err: &(dyn StdError + 'static)) -> Option<KeyFetchError> {
    let mut cur: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(ours) = e.downcast_ref::<KeyFetchError>() {
            return Some(ours.clone());
        }
        if let Some(io) = e.downcast_ref::<io::Error>() {
            if let Some(inner) = io.get_ref() {
                if let Some(found) = find_ours(inner) {
                    return Some(found);
                }
            }
        }
        cur = e.source();
    }
    None
}

fn io_kind(err: &(dyn StdError + 'static)) -> Option<io::ErrorKind> {
    let mut cur: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(io) = e.downcast_ref::<io::Error>() {
            if io.kind() != io::ErrorKind::Other {
                return Some(io.kind());
            }
        }
        cur = e.source();
    }
    None
}

fn root_message(err: &(dyn StdError + 'static)) -> String {
    let mut cur = err;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

pub(crate) fn map_reqwest(e: reqwest::Error, timeout: Duration) -> KeyFetchError {
    if let Some(ours) = find_ours(&e) {
        return ours;
    }
    if e.is_timeout() {
        return KeyFetchError::Timeout { after: timeout };
    }
    if e.is_redirect() {
        return KeyFetchError::TooManyRedirects { max: MAX_REDIRECTS };
    }
    match io_kind(&e) {
        Some(io::ErrorKind::ConnectionRefused) => return KeyFetchError::ConnectionRefused,
        Some(io::ErrorKind::ConnectionReset) | Some(io::ErrorKind::ConnectionAborted) => {
            return KeyFetchError::Connect {
                detail: "the connection was reset".into(),
            }
        }
        Some(io::ErrorKind::TimedOut) => return KeyFetchError::Timeout { after: timeout },
        _ => {}
    }
    if e.is_connect() {
        return KeyFetchError::Connect {
            detail: root_message(&e),
        };
    }
    KeyFetchError::Http {
        detail: root_message(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn age(values: &[&str]) -> Option<Duration> {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(CACHE_CONTROL, HeaderValue::from_str(v).unwrap());
        }
        cache_max_age(&h)
    }

    #[test]
    fn cache_control_parsing() {
        assert_eq!(age(&[]), None);
        assert_eq!(age(&["public"]), None);
        assert_eq!(age(&["max-age=600"]), Some(Duration::from_secs(600)));
        assert_eq!(
            age(&["public, MAX-AGE = 30"]),
            Some(Duration::from_secs(30))
        );
        assert_eq!(age(&["max-age=\"45\""]), Some(Duration::from_secs(45)));
        assert_eq!(
            age(&["s-maxage=9, max-age=10"]),
            Some(Duration::from_secs(10))
        );
        assert_eq!(age(&["max-age=600", "no-store"]), Some(Duration::ZERO));
        assert_eq!(age(&["no-cache"]), Some(Duration::ZERO));
        assert_eq!(age(&["max-age=abc"]), None);
        assert_eq!(age(&["max-age=-5"]), None);
        assert_eq!(
            age(&["max-age=99999999999999999999999"]),
            Some(MAX_CACHE_AGE)
        );
    }
}
