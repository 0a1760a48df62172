//! What every test suite of vouch and `vouch bench` share, so each helper has one behaviour:
//!
//! - the test website: [`SITE`], [`ISSUER`], its signing key [`site_key`] and the tokens it
//!   signs ([`claims`], [`token`], [`sign`], [`forged`]);
//! - [`servers`]: loopback HTTP servers — [`KeyServer`] publishing the site key, and
//!   [`Counting`], which counts every connection and request it gets;
//! - [`http`]: reqwest clients on loopback and the agent API calls ([`get_as`], [`post_as`]);
//! - [`ws`]: the [`Ws`] WebSocket client and the request builders the bench uses raw;
//! - `chat` (feature `chat`): seeding a chat service in-process (agents, auth settings,
//!   widgets);
//! - [`process`]: the `vouch` binary as a child process, read until it listens;
//! - [`smtp`]: [`SmtpReceiver`], a loopback SMTP server that keeps what it is given;
//! - [`scratch`]: [`ScratchDatabase`], a PostgreSQL database of one test or bench run, and the
//!   `VOUCH_TEST_*` service variables.
//!
//! Everything here talks to 127.0.0.0/8 only.

#[cfg(feature = "chat")]
pub mod chat;
pub mod http;
pub mod process;
pub mod scratch;
pub mod servers;
pub mod smtp;
pub mod ws;

use std::sync::OnceLock;
use std::time::Duration;

use serde_json::{json, Value};
use vouch_jwt::SigningKey;

pub use http::{client_from, get_as, http_client, loopback, post_as};
pub use scratch::{service_url, ScratchDatabase};
pub use servers::{Counting, KeyServer};
pub use smtp::SmtpReceiver;
pub use ws::Ws;

/// The website origin every test widget allows (a name only: nothing is ever sent there).
pub const SITE: &str = "http://shop.test";
/// The issuer of the test website's tokens.
pub const ISSUER: &str = "portal.test";
/// The password of the people the adversarial suite and the portal's tests add.
pub const PASSWORD: &str = "correct horse battery staple";
/// The longest any single wait in a test may take before it fails.
pub const WAIT: Duration = Duration::from_secs(30);

/// A 1024-bit RSA public key (`openssl genrsa 1024 | openssl rsa -pubout`), too weak to accept.
pub const RSA_1024_PUBLIC_PEM: &str = "-----BEGIN PUBLIC KEY-----
MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQCoCXKQ7+0itHdGATSxeHrxmDVJ
6hrCqQ0PYZoD1RSq9kHJl/qvuXnsAA6EBKCQnw08I6FP3rAmsgcv09f262A4kZVa
7+S8/BVE+gWNrRf80WuVY0bCoOiMhY6quskFu1xWIj4KpPNoz2c4dzKYp1WJXUHU
PMiwlfFDGre+qTvHIwIDAQAB
-----END PUBLIC KEY-----
";

fn generated(cell: &'static OnceLock<SigningKey>) -> &'static SigningKey {
    cell.get_or_init(|| SigningKey::generate(2048).expect("generate a 2048-bit test key"))
}

/// The website's signing key (what [`KeyServer`] publishes), generated once per process.
pub fn site_key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    generated(&KEY)
}

/// A second key a key server may publish beside the site key (so `kid` selection matters).
pub fn second_key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    generated(&KEY)
}

/// A key nobody publishes: the attacker's. Its tokens must be refused.
pub fn stranger_key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    generated(&KEY)
}

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64
}

/// Claims of a customer token from [`ISSUER`] for `sub`, valid for `ttl` seconds from now.
pub fn claims(sub: &str, ttl: i64) -> Value {
    let t = now();
    json!({
        "iss": ISSUER, "sub": sub, "iat": t, "exp": t + ttl,
        "given_name": "Alex", "family_name": "Doe", "email": "alex@example.com",
        "phone_number": "+1 555 0100", "preferred_username": "alex",
    })
}

/// A customer token for `sub` signed by the site key, valid for ten minutes.
pub fn token(sub: &str) -> String {
    sign(&claims(sub, 600))
}

/// `c` signed by the site key.
pub fn sign(c: &Value) -> String {
    site_key().sign(c).expect("sign")
}

/// A forgery: signed by [`stranger_key`] but naming the site key's `kid` (→ `bad_signature`).
pub fn forged(c: &Value) -> String {
    stranger_key()
        .sign_with_kid(c, Some(site_key().kid()))
        .expect("sign")
}

/// A JWKS of `n` copies of `key`'s public key, with kids `k0`, `k1`, ….
pub fn jwks_with(key: &SigningKey, n: usize) -> String {
    let jwk = key.public_key().to_jwk("k");
    let keys: Vec<Value> = (0..n)
        .map(|i| {
            let mut j = jwk.clone();
            j["kid"] = json!(format!("k{i}"));
            j
        })
        .collect();
    json!({ "keys": keys }).to_string()
}
