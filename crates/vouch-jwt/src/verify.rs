//! The strict RS256 verifier. See the crate documentation for the table of checks.

use crate::json::parse_strict;
use crate::source::KeySet;
use crate::{shorten, B64, MAX_KID_LEN};
use base64::Engine;
use serde_json::{Map, Value};
use std::fmt;

/// Longest token accepted (bytes).
pub const MAX_TOKEN_LEN: usize = 16 * 1024;
/// Header parameters that are refused (never followed).
pub const FORBIDDEN_HEADERS: [&str; 5] = ["crit", "jku", "x5u", "jwk", "x5c"];
/// Longest `sub` (characters).
pub const MAX_SUB_LEN: usize = 255;
/// Most entries in `lwicontexts`.
pub const MAX_CONTEXT_ENTRIES: usize = 100;
/// Longest `lwicontexts` name (characters).
pub const MAX_CONTEXT_NAME_LEN: usize = 100;
/// Longest `lwicontexts` value, as text (characters).
pub const MAX_CONTEXT_VALUE_LEN: usize = 4000;
/// Largest NumericDate accepted (2^53, the largest integer every JSON parser holds exactly).
pub const MAX_NUMERIC_DATE: i64 = 1 << 53;

/// Default clock leeway (seconds).
pub const DEFAULT_LEEWAY_SECS: u64 = 60;

/// Why a token was refused. [`Reason::as_str`] gives the design's reason code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    Malformed,
    UnsupportedAlg,
    ForbiddenHeader,
    UnknownKid,
    BadSignature,
    Expired,
    NotYetValid,
    MissingClaim,
    InvalidClaim,
    WrongIssuer,
    KeyUnavailable,
}

impl Reason {
    pub const ALL: [Reason; 11] = [
        Reason::Malformed,
        Reason::UnsupportedAlg,
        Reason::ForbiddenHeader,
        Reason::UnknownKid,
        Reason::BadSignature,
        Reason::Expired,
        Reason::NotYetValid,
        Reason::MissingClaim,
        Reason::InvalidClaim,
        Reason::WrongIssuer,
        Reason::KeyUnavailable,
    ];

    /// The reason code of the design (`"malformed"`, `"unsupported_alg"`, …).
    pub fn as_str(&self) -> &'static str {
        match self {
            Reason::Malformed => "malformed",
            Reason::UnsupportedAlg => "unsupported_alg",
            Reason::ForbiddenHeader => "forbidden_header",
            Reason::UnknownKid => "unknown_kid",
            Reason::BadSignature => "bad_signature",
            Reason::Expired => "expired",
            Reason::NotYetValid => "not_yet_valid",
            Reason::MissingClaim => "missing_claim",
            Reason::InvalidClaim => "invalid_claim",
            Reason::WrongIssuer => "wrong_issuer",
            Reason::KeyUnavailable => "key_unavailable",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refused token: the reason code and a short explanation. The detail never contains the
/// token or its signature; attacker-chosen strings in it (a `kid`, an `alg`) are escaped and
/// shortened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {detail}", reason.as_str())]
pub struct VerifyError {
    pub reason: Reason,
    pub detail: String,
}

fn fail<T>(reason: Reason, detail: impl Into<String>) -> Result<T, VerifyError> {
    Err(VerifyError {
        reason,
        detail: detail.into(),
    })
}

/// What the verifier checks beyond the signature.
#[derive(Debug, Clone)]
pub struct Validation {
    /// When set, `iss` must equal it.
    pub issuer: Option<String>,
    /// Clock skew allowed on `exp`, `nbf` and `iat`.
    pub leeway_secs: u64,
    /// The current time, unix seconds.
    pub now: i64,
}

impl Validation {
    /// No issuer requirement, leeway 60 s.
    pub fn new(now: i64) -> Validation {
        Validation {
            issuer: None,
            leeway_secs: DEFAULT_LEEWAY_SECS,
            now,
        }
    }

    /// Builder-style issuer requirement.
    pub fn with_issuer(mut self, issuer: impl Into<String>) -> Validation {
        self.issuer = Some(issuer.into());
        self
    }

    /// Builder-style leeway.
    pub fn with_leeway(mut self, secs: u64) -> Validation {
        self.leeway_secs = secs;
        self
    }
}

/// A verified token.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The header's `kid`, if it had one.
    pub kid: Option<String>,
    pub claims: Claims,
}

/// The claims of a verified token.
#[derive(Debug, Clone, PartialEq)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    pub iat: i64,
    pub exp: i64,
    pub nbf: Option<i64>,
    pub preferred_username: Option<String>,
    pub email: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub phone_number: Option<String>,
    /// `lwicontexts`, parsed from its string form.
    pub lwicontexts: Option<Map<String, Value>>,
    /// Every claim as received.
    pub all: Map<String, Value>,
}

/// Profile claims read into [`Claims`]; each, when present and not null, must be a string.
pub const PROFILE_CLAIMS: [&str; 5] = [
    "preferred_username",
    "email",
    "given_name",
    "family_name",
    "phone_number",
];

/// Verifies a compact RS256 JWT against `keys`. One code path, checks in the documented order.
pub fn verify(token: &str, keys: &KeySet, v: &Validation) -> Result<Verified, VerifyError> {
    use Reason::*;

    // 1. shape
    if token.len() > MAX_TOKEN_LEN {
        return fail(
            Malformed,
            format!("token is {} bytes: at most {MAX_TOKEN_LEN}", token.len()),
        );
    }
    let mut parts = token.split('.');
    let (Some(h64), Some(p64), Some(s64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        let n = token.split('.').count();
        return fail(
            Malformed,
            format!("{n} dot-separated segments: a JWS has exactly 3"),
        );
    };

    // 2. header
    let header_bytes = B64
        .decode(h64)
        .or_else(|_| fail(Malformed, "header is not canonical base64url"))?;
    let header = match parse_strict(&header_bytes) {
        Ok(Value::Object(h)) => h,
        Ok(_) => return fail(Malformed, "header is not a JSON object"),
        Err(e) => return fail(Malformed, format!("header is not valid JSON: {e}")),
    };
    match header.get("alg") {
        Some(Value::String(a)) if a == "RS256" => {}
        Some(Value::String(a)) => {
            return fail(
                UnsupportedAlg,
                format!("alg {:?} is not allowed: only RS256", shorten(a)),
            )
        }
        Some(_) => return fail(UnsupportedAlg, "alg is not a string: only RS256"),
        None => return fail(UnsupportedAlg, "header has no alg: only RS256"),
    }
    if let Some(name) = FORBIDDEN_HEADERS.iter().find(|h| header.contains_key(**h)) {
        return fail(
            ForbiddenHeader,
            format!("header parameter {name:?} is refused"),
        );
    }
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(k)) if k.chars().count() <= MAX_KID_LEN => Some(k.as_str()),
        Some(Value::String(_)) => {
            return fail(
                Malformed,
                format!("kid is longer than {MAX_KID_LEN} characters"),
            )
        }
        Some(_) => return fail(Malformed, "kid is not a string"),
    };

    // 3. payload and signature encodings
    let payload_bytes = B64
        .decode(p64)
        .or_else(|_| fail(Malformed, "payload is not canonical base64url"))?;
    let signature = B64
        .decode(s64)
        .or_else(|_| fail(Malformed, "signature is not canonical base64url"))?;

    // 4. key selection and signature, over the raw "header.payload" bytes
    if keys.keys.is_empty() {
        return fail(KeyUnavailable, "the key source has no keys");
    }
    let signing_input = &token.as_bytes()[..h64.len() + 1 + p64.len()];
    let usable = |expiry: Option<i64>| expiry.is_none_or(|e| e > v.now);
    match kid {
        Some(k) => {
            let mut found = false;
            let mut any_usable = false;
            let mut ok = false;
            for sk in keys.keys.iter().filter(|sk| sk.kid.as_deref() == Some(k)) {
                found = true;
                if usable(sk.expiry) {
                    any_usable = true;
                    if sk.key.verify_rs256(signing_input, &signature) {
                        ok = true;
                        break;
                    }
                }
            }
            if !found {
                return fail(UnknownKid, format!("no key with kid {:?}", shorten(k)));
            }
            if !any_usable {
                return fail(
                    KeyUnavailable,
                    format!("the key with kid {:?} has expired", shorten(k)),
                );
            }
            if !ok {
                return fail(BadSignature, "signature does not verify");
            }
        }
        None => {
            let mut any_usable = false;
            let mut ok = false;
            for sk in keys.keys.iter().filter(|sk| usable(sk.expiry)) {
                any_usable = true;
                if sk.key.verify_rs256(signing_input, &signature) {
                    ok = true;
                    break;
                }
            }
            if !any_usable {
                return fail(KeyUnavailable, "every key of the source has expired");
            }
            if !ok {
                return fail(BadSignature, "signature does not verify with any key");
            }
        }
    }

    // 5. claims
    let all = match parse_strict(&payload_bytes) {
        Ok(Value::Object(m)) => m,
        Ok(_) => return fail(Malformed, "payload is not a JSON object"),
        Err(e) => return fail(Malformed, format!("payload is not valid JSON: {e}")),
    };
    for name in ["iss", "sub", "iat", "exp"] {
        if !all.contains_key(name) {
            return fail(MissingClaim, format!("claim {name:?} is required"));
        }
    }
    let iat = numeric_date(&all, "iat")?.unwrap_or_default();
    let exp = numeric_date(&all, "exp")?.unwrap_or_default();
    let nbf = numeric_date(&all, "nbf")?;
    let iss = match all.get("iss") {
        Some(Value::String(s)) => s.clone(),
        _ => return fail(InvalidClaim, "claim \"iss\" must be a string"),
    };
    let sub = match all.get("sub") {
        Some(Value::String(s)) if !s.is_empty() && s.chars().count() <= MAX_SUB_LEN => s.clone(),
        _ => {
            return fail(
                InvalidClaim,
                format!("claim \"sub\" must be a string of 1 to {MAX_SUB_LEN} characters"),
            )
        }
    };

    let leeway = i64::try_from(v.leeway_secs).unwrap_or(i64::MAX);
    if exp <= v.now.saturating_sub(leeway) {
        return fail(Expired, format!("token expired at {exp} (now {})", v.now));
    }
    let latest = v.now.saturating_add(leeway);
    if let Some(nbf) = nbf {
        if nbf > latest {
            return fail(
                NotYetValid,
                format!("token not valid before {nbf} (now {})", v.now),
            );
        }
    }
    if iat > latest {
        return fail(
            NotYetValid,
            format!("token issued in the future at {iat} (now {})", v.now),
        );
    }
    if let Some(want) = &v.issuer {
        if &iss != want {
            return fail(
                WrongIssuer,
                format!("issuer {:?} is not the expected one", shorten(&iss)),
            );
        }
    }

    let mut profile: [Option<String>; 5] = Default::default();
    for (slot, name) in profile.iter_mut().zip(PROFILE_CLAIMS) {
        *slot = match all.get(name) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return fail(InvalidClaim, format!("claim {name:?} must be a string")),
        };
    }
    let lwicontexts = match all.get("lwicontexts") {
        None => None,
        Some(value) => Some(lwicontexts(value)?),
    };
    let [preferred_username, email, given_name, family_name, phone_number] = profile;

    Ok(Verified {
        kid: kid.map(str::to_owned),
        claims: Claims {
            iss,
            sub,
            iat,
            exp,
            nbf,
            preferred_username,
            email,
            given_name,
            family_name,
            phone_number,
            lwicontexts,
            all,
        },
    })
}

/// A NumericDate claim: a JSON number, 0 ≤ value ≤ 2^53; a fraction is floored.
fn numeric_date(claims: &Map<String, Value>, name: &str) -> Result<Option<i64>, VerifyError> {
    let invalid = || {
        fail(
            Reason::InvalidClaim,
            format!("claim {name:?} must be a number of seconds between 0 and 2^53"),
        )
    };
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => {
            if let Some(u) = n.as_u64() {
                if u <= MAX_NUMERIC_DATE as u64 {
                    return Ok(Some(u as i64));
                }
                return invalid();
            }
            if n.is_i64() {
                // as_u64 failed, so it is negative
                return invalid();
            }
            match n.as_f64() {
                Some(f) if f.is_finite() && f >= 0.0 && f <= MAX_NUMERIC_DATE as f64 => {
                    Ok(Some(f.floor() as i64))
                }
                _ => invalid(),
            }
        }
        Some(_) => invalid(),
    }
}

fn lwicontexts(value: &Value) -> Result<Map<String, Value>, VerifyError> {
    let bad = |why: String| fail(Reason::InvalidClaim, format!("claim \"lwicontexts\" {why}"));
    let Value::String(text) = value else {
        return bad("must be a string holding a JSON object".to_owned());
    };
    let map = match parse_strict(text.as_bytes()) {
        Ok(Value::Object(m)) => m,
        Ok(_) => return bad("must hold a JSON object".to_owned()),
        Err(e) => return bad(format!("is not valid JSON: {e}")),
    };
    if map.len() > MAX_CONTEXT_ENTRIES {
        return bad(format!(
            "has {} entries: at most {MAX_CONTEXT_ENTRIES}",
            map.len()
        ));
    }
    for (name, value) in &map {
        if name.chars().count() > MAX_CONTEXT_NAME_LEN {
            return bad(format!(
                "has a name longer than {MAX_CONTEXT_NAME_LEN} characters"
            ));
        }
        let len = match value {
            Value::Object(_) | Value::Array(_) => {
                return bad(format!(
                    "value of {:?} is nested: only strings, numbers, booleans and null",
                    shorten(name)
                ))
            }
            Value::String(s) => s.chars().count(),
            other => other.to_string().chars().count(),
        };
        if len > MAX_CONTEXT_VALUE_LEN {
            return bad(format!(
                "value of {:?} is longer than {MAX_CONTEXT_VALUE_LEN} characters",
                shorten(name)
            ));
        }
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_the_designs_and_distinct() {
        let codes: HashSet<&str> = Reason::ALL.iter().map(Reason::as_str).collect();
        assert_eq!(codes.len(), 11);
        assert_eq!(Reason::UnsupportedAlg.as_str(), "unsupported_alg");
        assert_eq!(Reason::KeyUnavailable.to_string(), "key_unavailable");
        let e = VerifyError {
            reason: Reason::Expired,
            detail: "token expired at 1".into(),
        };
        assert_eq!(e.to_string(), "expired: token expired at 1");
    }

    #[test]
    fn numeric_dates() {
        let m = |v: Value| {
            let mut m = Map::new();
            m.insert("t".into(), v);
            numeric_date(&m, "t").map_err(|e| e.reason)
        };
        assert_eq!(m(serde_json::json!(5)), Ok(Some(5)));
        assert_eq!(m(serde_json::json!(5.9)), Ok(Some(5)));
        assert_eq!(m(serde_json::json!(0)), Ok(Some(0)));
        assert_eq!(m(serde_json::json!(-0.0)), Ok(Some(0)));
        assert_eq!(
            m(serde_json::json!(MAX_NUMERIC_DATE)),
            Ok(Some(MAX_NUMERIC_DATE))
        );
        for bad in [
            serde_json::json!(-1),
            serde_json::json!(-0.1),
            serde_json::json!(MAX_NUMERIC_DATE + 1),
            serde_json::json!(1e20),
            serde_json::json!("5"),
            serde_json::json!(null),
        ] {
            assert_eq!(m(bad), Err(Reason::InvalidClaim));
        }
        assert_eq!(numeric_date(&Map::new(), "t"), Ok(None));
    }

    #[test]
    fn attacker_strings_are_escaped_and_cut() {
        let ks = KeySet::default();
        let header = serde_json::json!({"alg": format!("evil\n{}", "x".repeat(500))});
        let token = format!("{}.e30.", B64.encode(header.to_string()));
        let e = verify(&token, &ks, &Validation::new(0)).unwrap_err();
        assert_eq!(e.reason, Reason::UnsupportedAlg);
        assert!(!e.detail.contains('\n'));
        assert!(e.detail.len() < 120, "{}", e.detail);
    }
}
