//! Shared keys (generated once per test binary) and token helpers.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use serde_json::{json, Value};
use std::sync::OnceLock;
use vouch_jwt::{KeySet, SigningKey, SourceKey};

pub const NOW: i64 = 1_750_000_000;
pub const ISS: &str = "portal.example";

pub fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The main test key (the committed openssl fixture, so no keygen is needed).
pub fn key() -> &'static SigningKey {
    static K: OnceLock<SigningKey> = OnceLock::new();
    K.get_or_init(|| SigningKey::from_pem(&fixture("private_key.pem")).unwrap())
}

/// A second, generated key ("another key").
pub fn other_key() -> &'static SigningKey {
    static K: OnceLock<SigningKey> = OnceLock::new();
    K.get_or_init(|| SigningKey::generate(2048).unwrap())
}

pub fn keyset() -> KeySet {
    KeySet::single(key().public_key().clone())
}

pub fn b64(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

pub fn claims() -> Value {
    json!({
        "iss": ISS,
        "sub": "8f1c3a52-2b1e-4d7a-9c61-0b7f7e5a1d20",
        "iat": NOW - 10,
        "exp": NOW + 890,
        "preferred_username": "alex",
        "email": "customer@example.com",
        "given_name": "Alex",
        "family_name": "Doe",
        "phone_number": "+1 555 0100",
    })
}

/// A token with an arbitrary raw header and payload text, signed RS256 by `key` over the
/// exact encoded bytes.
pub fn raw_token(key: &SigningKey, header: &str, payload: &str) -> String {
    let input = format!("{}.{}", b64(header.as_bytes()), b64(payload.as_bytes()));
    let sig = key.sign_bytes(input.as_bytes()).unwrap();
    format!("{input}.{}", b64(&sig))
}

pub fn default_header() -> String {
    format!(r#"{{"alg":"RS256","typ":"JWT","kid":"{}"}}"#, key().kid())
}

/// A correctly signed token by the main key with these claims.
pub fn token_with(claims: &Value) -> String {
    raw_token(key(), &default_header(), &claims.to_string())
}

pub fn keyset_with(keys: &[(&SigningKey, Option<&str>, Option<i64>)]) -> KeySet {
    KeySet {
        keys: keys
            .iter()
            .map(|(k, kid, expiry)| SourceKey {
                kid: kid.map(str::to_owned),
                key: k.public_key().clone(),
                expiry: *expiry,
            })
            .collect(),
    }
}
