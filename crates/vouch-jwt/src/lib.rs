//! RSA keys, key-source formats, RS256 signing and strict JWT verification. No I/O.
//!
//! * [`SigningKey`]: an RSA private key parsed once (aws-lc-rs); generates 2048/3072/4096-bit
//!   keys, reads PKCS#8 (`BEGIN PRIVATE KEY`) and PKCS#1 (`BEGIN RSA PRIVATE KEY`) PEM — the
//!   files of `openssl genpkey` load as they are — and signs RS256 tokens whose header is
//!   `{"alg":"RS256","typ":"JWT","kid":<RFC 7638 thumbprint>}`.
//! * [`PublicKey`]: parsed once for fast repeated verification; SPKI/PKCS#1 PEM, JWK, thumbprint.
//! * [`parse_key_source`]: a key URL's body as PEM, the Omnichannel multi-key list or a JWKS,
//!   told apart by content, with errors a person can act on; [`jwks_document`] and
//!   [`multi_key_list`] write the two JSON formats.
//! * [`verify`]: the strict verifier. One code path; every refusal carries one [`Reason`].
//!
//! # Verification rules
//!
//! Checks run in this order; the first that fails decides the reason, so each attack has
//! exactly one well-defined code.
//!
//! | # | check | refused with |
//! |---|---|---|
//! | 1 | token longer than 16 KiB | `malformed` |
//! | 2 | not exactly 3 `.`-separated segments (JWE shape, extra or missing segments) | `malformed` |
//! | 3 | header not canonical base64url without padding (padding, `+`/`/`, non-zero trailing bits) | `malformed` |
//! | 4 | header not a JSON object, or a duplicate key in it (at any depth) | `malformed` |
//! | 5 | `alg` missing, not a string, or not exactly `RS256` (`none`, `None`, `HS256`, `ES256`, `PS256`, `rs256`…) | `unsupported_alg` |
//! | 6 | any of `crit`, `jku`, `x5u`, `jwk`, `x5c` present (never followed) | `forbidden_header` |
//! | 7 | `kid` present but not a string, or longer than 256 characters | `malformed` |
//! | 8 | payload segment not canonical base64url | `malformed` |
//! | 9 | signature segment not canonical base64url | `malformed` |
//! | 10 | the key set is empty | `key_unavailable` |
//! | 11 | `kid` given and no key of the set has it (compared exactly, never used as a path or query) | `unknown_kid` |
//! | 12 | every candidate key has expired (`expiry` ≤ now; keys without expiry never expire). With `kid`: the keys with that kid; without: every key | `key_unavailable` |
//! | 13 | RS256 signature over the raw `header.payload` bytes does not verify with a candidate (wrong, truncated, empty, other key, changed payload) — checked **before** the payload is parsed | `bad_signature` |
//! | 14 | payload not a JSON object, or a duplicate key in it | `malformed` |
//! | 15 | `iss`, `sub`, `iat` or `exp` absent | `missing_claim` |
//! | 16 | `iat`, `exp`, `nbf` not a JSON number (string, null, bool…), negative, or above 2^53; a fraction is a valid NumericDate and is floored | `invalid_claim` |
//! | 17 | `iss` not a string; `sub` not a string of 1–255 characters | `invalid_claim` |
//! | 18 | `exp` ≤ now − leeway | `expired` |
//! | 19 | `nbf` > now + leeway, or `iat` > now + leeway | `not_yet_valid` |
//! | 20 | an issuer is required and `iss` differs (exact, case-sensitive) | `wrong_issuer` |
//! | 21 | `preferred_username`, `email`, `given_name`, `family_name`, `phone_number` present, not null and not a string | `invalid_claim` |
//! | 22 | `lwicontexts` present and not a string; the string not a JSON object (or with duplicate keys); a value that is an object or array; more than 100 entries; a name over 100 characters; a value over 4000 characters as text | `invalid_claim` |
//!
//! Notes on the decisions:
//! * A number JSON itself cannot hold as a finite double (`1e400`) fails JSON parsing, so it
//!   is `malformed` (step 14), not `invalid_claim`.
//! * The leeway applies to `exp` (`exp = now − leeway` is expired, `now − leeway + 1` is not),
//!   to `nbf` and to `iat` (`now + leeway` is accepted, one second later is not).
//! * `typ` and other unknown header parameters are ignored; unknown claims are kept in
//!   [`Claims::all`].
//! * The [`VerifyError`] detail never contains the token or its signature. Attacker-chosen
//!   strings (an `alg`, a `kid`, an issuer) appear escaped and cut to 64 characters.
//! * The token is not trimmed: surrounding whitespace makes it `malformed`.

mod json;
mod keys;
mod pem;
mod source;
mod verify;

pub use keys::{
    KeyError, PublicKey, SignError, SigningKey, MAX_KID_LEN, MAX_RSA_BITS, MIN_RSA_BITS,
};
pub use source::{
    jwks_document, multi_key_list, parse_key_source, KeySet, KeySourceError, KeySourceFormat,
    SourceKey, MAX_SOURCE_BYTES, MAX_SOURCE_KEYS,
};
pub use verify::{
    verify, Claims, Reason, Validation, Verified, VerifyError, DEFAULT_LEEWAY_SECS,
    FORBIDDEN_HEADERS, MAX_CONTEXT_ENTRIES, MAX_CONTEXT_NAME_LEN, MAX_CONTEXT_VALUE_LEN,
    MAX_NUMERIC_DATE, MAX_SUB_LEN, MAX_TOKEN_LEN, PROFILE_CLAIMS,
};

/// The strict base64url engine of JWS: no padding accepted, non-zero trailing bits refused.
pub(crate) const B64: base64::engine::GeneralPurpose =
    base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// An attacker-chosen string made safe for an error message: at most 64 characters.
/// Callers format it with `{:?}`, which escapes control characters and quotes.
pub(crate) fn shorten(s: &str) -> String {
    const MAX: usize = 64;
    if s.chars().count() <= MAX {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(MAX).collect();
        out.push('…');
        out
    }
}

/// The Rust example of `docs/integrate.md`, compiled and run as a doc test so the guide
/// cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/integrate.md")]
pub struct IntegrationGuide;
