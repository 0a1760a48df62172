//! Session ids, CSRF tokens and the cookies that carry them.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// 32 random bytes as base64url: 43 characters.
pub(crate) const SECRET_LEN: usize = 43;

pub(crate) fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Only well-formed secrets are looked up; anything else is "no session".
pub(crate) fn is_well_formed(s: &str) -> bool {
    s.len() == SECRET_LEN
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// What the database stores instead of the session id.
pub(crate) fn hash_secret(s: &str) -> [u8; 32] {
    Sha256::digest(s.as_bytes()).into()
}

pub(crate) fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// Cookie names. With https the `__Host-` prefix pins them to this exact host and path.
#[derive(Debug, Clone)]
pub(crate) struct CookieNames {
    pub session: &'static str,
    pub csrf: &'static str,
    pub secure: bool,
}

impl CookieNames {
    pub fn new(secure: bool) -> CookieNames {
        if secure {
            CookieNames {
                session: "__Host-vouch_session",
                csrf: "__Host-vouch_csrf",
                secure,
            }
        } else {
            CookieNames {
                session: "vouch_session",
                csrf: "vouch_csrf",
                secure,
            }
        }
    }

    fn attrs(&self, same_site: &str, max_age: i64) -> String {
        let secure = if self.secure { "; Secure" } else { "" };
        format!("; Path=/; HttpOnly; SameSite={same_site}; Max-Age={max_age}{secure}")
    }

    pub fn session_cookie(&self, value: &str, max_age: i64) -> String {
        format!("{}={value}{}", self.session, self.attrs("Lax", max_age))
    }

    pub fn clear_session(&self) -> String {
        format!("{}={}", self.session, self.attrs("Lax", 0))
    }

    pub fn csrf_cookie(&self, value: &str) -> String {
        format!("{}={value}{}", self.csrf, self.attrs("Strict", 2 * 60 * 60))
    }
}

/// The value of cookie `name` from every `Cookie` header, when exactly one well-formed
/// value is present (a duplicate, e.g. one planted for a parent domain, counts as none).
pub(crate) fn cookie_value<'a>(
    headers: impl Iterator<Item = &'a axum::http::HeaderValue>,
    name: &str,
) -> Option<&'a str> {
    let mut found = None;
    for h in headers {
        let Ok(text) = h.to_str() else { continue };
        for pair in text.split(';') {
            let Some((k, v)) = pair.trim().split_once('=') else {
                continue;
            };
            if k.trim() == name {
                if found.is_some() {
                    return None;
                }
                found = Some(v.trim().trim_matches('"'));
            }
        }
    }
    found.filter(|v| is_well_formed(v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn secrets_are_well_formed_and_hashed() {
        let s = random_secret();
        assert!(is_well_formed(&s));
        assert_ne!(random_secret(), s);
        assert_eq!(hash_secret(&s), hash_secret(&s));
        assert!(!is_well_formed("short"));
        assert!(!is_well_formed(&format!("{}=", &s[..42])));
    }

    #[test]
    fn cookie_parsing_is_strict() {
        let s = random_secret();
        let h = [HeaderValue::from_str(&format!("a=b; vouch_session={s}; c=d")).unwrap()];
        assert_eq!(cookie_value(h.iter(), "vouch_session"), Some(s.as_str()));
        let dup =
            [HeaderValue::from_str(&format!("vouch_session={s}; vouch_session={s}")).unwrap()];
        assert_eq!(cookie_value(dup.iter(), "vouch_session"), None);
        let bad = [HeaderValue::from_static("vouch_session=%00garbage")];
        assert_eq!(cookie_value(bad.iter(), "vouch_session"), None);
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "ab"));
    }
}
