//! Sign and verify throughput on one core (bounded: about one second each).
//!
//! `cargo bench -p vouch-jwt` (release), or quicker to build:
//! `cargo bench -p vouch-jwt --profile dev` (aws-lc-sys is optimised in dev too).

use std::time::{Duration, Instant};
use vouch_jwt::{verify, KeySet, SigningKey, Validation};

fn rate(name: &str, mut f: impl FnMut()) {
    let budget = Duration::from_secs(1);
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < budget && n < 1_000_000 {
        f();
        n += 1;
    }
    let per_sec = n as f64 / start.elapsed().as_secs_f64();
    println!(
        "{name:<32} {per_sec:>10.0} /s  ({n} in {:.2?})",
        start.elapsed()
    );
}

fn main() {
    let now = 1_750_000_000;
    for bits in [2048usize, 3072, 4096] {
        let key = SigningKey::generate(bits).expect("keygen");
        let claims = serde_json::json!({
            "iss": "portal.example", "sub": "8f1c3a52-2b1e-4d7a-9c61-0b7f7e5a1d20",
            "iat": now, "exp": now + 900, "email": "customer@example.com",
            "given_name": "Alex", "family_name": "Doe",
            "lwicontexts": "{\"plan\":\"gold\"}",
        });
        let token = key.sign(&claims).expect("sign");
        let keys = KeySet::single(key.public_key().clone());
        let v = Validation::new(now).with_issuer("portal.example");
        rate(&format!("RS256 sign, {bits} bits"), || {
            std::hint::black_box(key.sign(&claims).expect("sign"));
        });
        let (input, sig) = token.rsplit_once('.').expect("token");
        let sig = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, sig)
            .expect("sig");
        rate(&format!("raw RSA verify, {bits} bits"), || {
            assert!(key.public_key().verify_rs256(input.as_bytes(), &sig));
        });
        rate(&format!("RS256 verify, {bits} bits"), || {
            std::hint::black_box(verify(&token, &keys, &v).expect("verify"));
        });
    }
}
