//! What the fuzz targets share: the committed key fixtures, the fixed key set and clock, a valid
//! signed token, and an independent oracle for what an accepted token must look like.
//!
//! Everything here is harness: a panic in it means the fixtures are broken, not that vouch is.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use serde_json::{json, Map, Value};
use std::sync::OnceLock;
pub mod targets;

use vouch_jwt::{KeySet, SigningKey, SourceKey, Validation, Verified, VerifyError};

/// The fixed "now" of every verification, so committed tokens never expire.
pub const NOW: i64 = 1_750_000_000;
/// The issuer the validation requires.
pub const ISS: &str = "portal.example";
/// Leeway used by the targets (the default).
pub const LEEWAY: i64 = vouch_jwt::DEFAULT_LEEWAY_SECS as i64;

/// The key tokens are signed with (openssl genpkey, RSA 2048).
pub const PRIVATE_PEM: &str = include_str!("../fixtures/private_key.pem");
/// Its public half (openssl rsa -pubout).
pub const PUBLIC_PEM: &str = include_str!("../fixtures/public_key.pem");
/// Another key, present in the key set under kid `other`.
pub const OTHER_PUBLIC_PEM: &str = include_str!("../fixtures/other_public_key.pem");

/// The signing key, parsed once.
pub fn signing_key() -> &'static SigningKey {
    static K: OnceLock<SigningKey> = OnceLock::new();
    K.get_or_init(|| SigningKey::from_pem(PRIVATE_PEM).expect("fixture private_key.pem"))
}

/// The key set every token is verified against: the signing key under its thumbprint, the same
/// key again under an expired kid, another key under kid `other`. So the verifier's kid lookup,
/// expiry filter and try-every-key path are all reachable.
pub fn keyset() -> &'static KeySet {
    static K: OnceLock<KeySet> = OnceLock::new();
    K.get_or_init(|| {
        let main = vouch_jwt::PublicKey::from_pem(PUBLIC_PEM).expect("fixture public_key.pem");
        assert_eq!(&main, signing_key().public_key(), "fixture keys differ");
        let other =
            vouch_jwt::PublicKey::from_pem(OTHER_PUBLIC_PEM).expect("fixture other_public_key.pem");
        KeySet {
            keys: vec![
                SourceKey {
                    kid: Some("other".into()),
                    key: other,
                    expiry: None,
                },
                SourceKey {
                    kid: Some("retired".into()),
                    key: main.clone(),
                    expiry: Some(NOW - 1),
                },
                SourceKey {
                    kid: Some(main.thumbprint()),
                    key: main,
                    expiry: None,
                },
            ],
        }
    })
}

/// The validation of every target: fixed clock, issuer required, default leeway.
pub fn validation() -> Validation {
    Validation::new(NOW).with_issuer(ISS)
}

/// Claims of the base token: every claim the verifier reads, `lwicontexts` included.
pub fn base_claims() -> Value {
    json!({
        "iss": ISS,
        "sub": "8f1c3a52-2b1e-4d7a-9c61-0b7f7e5a1d20",
        "iat": NOW - 10,
        "nbf": NOW - 10,
        "exp": NOW + 890,
        "preferred_username": "alex",
        "email": "customer@example.com",
        "given_name": "Alex",
        "family_name": "Doe",
        "phone_number": "+1 555 0100",
        "lwicontexts": "{\"plan\":\"gold\",\"visits\":3,\"vip\":true,\"note\":null}",
    })
}

/// A valid token over [`base_claims`], signed once. Verifying it must succeed.
pub fn base_token() -> &'static str {
    static T: OnceLock<String> = OnceLock::new();
    T.get_or_init(|| {
        let t = signing_key().sign(&base_claims()).expect("sign base token");
        if let Err(e) = vouch_jwt::verify(&t, keyset(), &validation()) {
            panic!("harness: the base token does not verify: {e:?}");
        }
        t
    })
}

/// Signs `header.payload` (the raw JSON texts) with the fixture key.
pub fn sign_raw(header: &[u8], payload: &[u8]) -> String {
    let input = format!("{}.{}", B64.encode(header), B64.encode(payload));
    let sig = signing_key()
        .sign_bytes(input.as_bytes())
        .expect("sign_bytes");
    format!("{input}.{}", B64.encode(sig))
}

/// Checks every result of `verify` on attacker input, whatever it was:
/// * a refusal's detail is bounded (attacker strings are cut to 64 characters, escaped: at most
///   ~10 bytes each) and never repeats the token's signature or payload segment
///   (no token material in a log line);
/// * an acceptance is of a token an independent reading agrees is acceptable.
pub fn check_result(token: &str, result: &Result<Verified, VerifyError>) {
    match result {
        Err(e) => {
            let detail = e.to_string();
            assert!(
                detail.chars().count() <= 1024,
                "error detail is {} chars: {detail:?}",
                detail.chars().count()
            );
            // Only long runs of the base64url alphabet: a segment made of words can match the
            // message's own text ("header is not canonical base64ur…" was one, found by the fuzzer).
            let b64url = |s: &str| {
                s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            };
            for seg in token.split('.').skip(1) {
                if seg.len() >= 24 && b64url(seg) {
                    assert!(
                        !detail.contains(seg),
                        "error detail repeats a token segment: {detail:?}"
                    );
                }
            }
        }
        Ok(v) => check_accepted(token, v),
    }
}

/// The oracle for an accepted token: decodes it without vouch-jwt and checks each rule of the
/// design ("Token verification") on the raw JSON, and that [`Verified`] reports what the token says.
pub fn check_accepted(token: &str, v: &Verified) {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "accepted a token without 3 segments");
    let header = decode_object(parts[0]).expect("accepted a token whose header is not JSON");
    let payload = decode_object(parts[1]).expect("accepted a token whose payload is not JSON");

    assert_eq!(header.get("alg"), Some(&json!("RS256")), "accepted alg");
    for h in ["crit", "jku", "x5u", "jwk", "x5c"] {
        assert!(!header.contains_key(h), "accepted a token with {h}");
    }
    match header.get("kid") {
        None => assert_eq!(v.kid, None),
        Some(Value::String(k)) => {
            assert_eq!(v.kid.as_deref(), Some(k.as_str()));
            let ks = keyset();
            assert!(
                ks.keys
                    .iter()
                    .any(|sk| sk.kid.as_deref() == Some(k.as_str())
                        && sk.expiry.is_none_or(|e| e > NOW)),
                "accepted kid {k:?} of no usable key"
            );
        }
        Some(other) => panic!("accepted a non-string kid {other}"),
    }

    let c = &v.claims;
    assert_eq!(payload.get("iss"), Some(&json!(ISS)), "accepted iss");
    assert_eq!(c.iss, ISS);
    match payload.get("sub") {
        Some(Value::String(s)) => {
            assert_eq!(&c.sub, s);
            let n = s.chars().count();
            assert!((1..=255).contains(&n), "accepted sub of {n} chars");
        }
        other => panic!("accepted sub {other:?}"),
    }
    let exp = numeric(&payload, "exp").expect("accepted exp that is not a NumericDate");
    let iat = numeric(&payload, "iat").expect("accepted iat that is not a NumericDate");
    assert_eq!(c.exp, exp);
    assert_eq!(c.iat, iat);
    assert!(exp > NOW - LEEWAY, "accepted expired token: exp {exp}");
    assert!(iat <= NOW + LEEWAY, "accepted future iat {iat}");
    match payload.get("nbf") {
        None => assert_eq!(c.nbf, None),
        Some(_) => {
            let nbf = numeric(&payload, "nbf").expect("accepted nbf that is not a NumericDate");
            assert_eq!(c.nbf, Some(nbf));
            assert!(nbf <= NOW + LEEWAY, "accepted future nbf {nbf}");
        }
    }
    for name in vouch_jwt::PROFILE_CLAIMS {
        assert!(
            matches!(
                payload.get(name),
                None | Some(Value::Null) | Some(Value::String(_))
            ),
            "accepted a non-string {name}"
        );
    }
    match payload.get("lwicontexts") {
        None => assert!(c.lwicontexts.is_none()),
        Some(Value::String(s)) => {
            let m: Map<String, Value> =
                serde_json::from_str(s).expect("accepted lwicontexts that is not an object");
            assert!(m.len() <= 100, "accepted {} context entries", m.len());
            for (k, val) in &m {
                assert!(k.chars().count() <= 100, "accepted context name {k:?}");
                assert!(
                    !matches!(val, Value::Object(_) | Value::Array(_)),
                    "accepted nested context value"
                );
            }
            assert_eq!(c.lwicontexts.as_ref(), Some(&m));
        }
        Some(other) => panic!("accepted lwicontexts {other}"),
    }
    assert_eq!(c.all, payload, "Claims::all differs from the payload");
}

fn decode_object(seg: &str) -> Option<Map<String, Value>> {
    let bytes = B64.decode(seg).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

/// A NumericDate as the design defines it: a JSON number in [0, 2^53], fractions floored.
fn numeric(m: &Map<String, Value>, name: &str) -> Option<i64> {
    let Value::Number(n) = m.get(name)? else {
        return None;
    };
    const MAX: u64 = 1 << 53;
    if let Some(u) = n.as_u64() {
        return (u <= MAX).then_some(u as i64);
    }
    let f = n.as_f64()?;
    (f.is_finite() && (0.0..=MAX as f64).contains(&f)).then(|| f.floor() as i64)
}
