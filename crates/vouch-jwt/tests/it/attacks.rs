//! Token attacks (issue 6, item 1) against the library verifier, each with its exact reason.

use crate::common::*;
use aws_lc_rs::hmac;
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair as _, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde_json::{json, Value};
use std::collections::HashSet;
use vouch_jwt::*;

fn v() -> Validation {
    Validation::new(NOW).with_issuer(ISS)
}

#[track_caller]
fn reason_of(token: &str, keys: &KeySet, v: &Validation) -> Reason {
    match verify(token, keys, v) {
        Ok(ok) => panic!("token was accepted: {:?}", ok.claims.all),
        Err(e) => {
            assert!(!e.detail.is_empty());
            assert_eq!(
                e.to_string(),
                format!("{}: {}", e.reason.as_str(), e.detail)
            );
            // the detail never echoes the token or its signature
            if token.len() > 20 {
                assert!(!e.detail.contains(token), "detail leaks the token");
            }
            if let Some(sig) = token.rsplit('.').next().filter(|s| s.len() > 16) {
                assert!(!e.detail.contains(sig), "detail leaks the signature");
            }
            e.reason
        }
    }
}

#[track_caller]
fn refused(token: &str, expected: Reason) {
    assert_eq!(reason_of(token, &keyset(), &v()), expected);
}

#[track_caller]
fn accepted(token: &str) -> Verified {
    verify(token, &keyset(), &v()).unwrap_or_else(|e| panic!("refused: {e}"))
}

fn with(mut c: Value, name: &str, value: Value) -> Value {
    c[name] = value;
    c
}

fn without(mut c: Value, name: &str) -> Value {
    c.as_object_mut().unwrap().remove(name);
    c
}

fn header_with(extra: &str) -> String {
    format!(
        r#"{{"alg":"RS256","typ":"JWT","kid":"{}",{extra}}}"#,
        key().kid()
    )
}

/// `header.payload` with a signature made by an HMAC key (the RS/HS confusion).
fn hs_token(alg: &str, algorithm: hmac::Algorithm, secret: &[u8]) -> String {
    let input = format!(
        "{}.{}",
        b64(format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#).as_bytes()),
        b64(claims().to_string().as_bytes())
    );
    let tag = hmac::sign(&hmac::Key::new(algorithm, secret), input.as_bytes());
    format!("{input}.{}", b64(tag.as_ref()))
}

#[test]
fn valid_token_is_accepted() {
    let ok = accepted(&token_with(&claims()));
    assert_eq!(ok.claims.iss, ISS);
    assert_eq!(ok.claims.phone_number.as_deref(), Some("+1 555 0100"));
    assert_eq!(ok.claims.nbf, None);
    assert_eq!(ok.claims.all.len(), 9);
}

#[test]
fn alg_none_in_every_spelling() {
    for alg in ["none", "None", "NONE", "nOnE"] {
        let header = format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#);
        let unsigned = format!(
            "{}.{}.",
            b64(header.as_bytes()),
            b64(claims().to_string().as_bytes())
        );
        refused(&unsigned, Reason::UnsupportedAlg);
        // even with a valid RS256 signature attached
        refused(
            &raw_token(key(), &header, &claims().to_string()),
            Reason::UnsupportedAlg,
        );
    }
}

#[test]
fn alg_variants_other_than_exact_rs256() {
    for header in [
        r#"{"alg":"rs256"}"#,
        r#"{"alg":"RS256 "}"#,
        r#"{"alg":"RS384"}"#,
        r#"{"alg":"RS512"}"#,
        r#"{"alg":""}"#,
        r#"{"alg":null}"#,
        r#"{"alg":256}"#,
        r#"{"alg":["RS256"]}"#,
        r#"{"typ":"JWT"}"#,
    ] {
        refused(
            &raw_token(key(), header, &claims().to_string()),
            Reason::UnsupportedAlg,
        );
    }
}

#[test]
fn hs_signed_with_the_public_key_pem_as_secret() {
    let pem = key().public_key().to_spki_pem();
    for (alg, algorithm) in [
        ("HS256", hmac::HMAC_SHA256),
        ("HS384", hmac::HMAC_SHA384),
        ("HS512", hmac::HMAC_SHA512),
    ] {
        refused(
            &hs_token(alg, algorithm, pem.as_bytes()),
            Reason::UnsupportedAlg,
        );
        refused(
            &hs_token(alg, algorithm, pem.trim_end().as_bytes()),
            Reason::UnsupportedAlg,
        );
        refused(
            &hs_token(alg, algorithm, key().public_key().to_spki_der()),
            Reason::UnsupportedAlg,
        );
    }
}

#[test]
fn es256_and_ps256_tokens() {
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let ec = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
    assert!(!ec.public_key().as_ref().is_empty());
    let input = format!(
        "{}.{}",
        b64(br#"{"alg":"ES256","typ":"JWT"}"#),
        b64(claims().to_string().as_bytes())
    );
    let sig = ec.sign(&rng, input.as_bytes()).unwrap();
    refused(
        &format!("{input}.{}", b64(sig.as_ref())),
        Reason::UnsupportedAlg,
    );

    // PS256 made with the very key the verifier trusts
    let rsa = aws_lc_rs::rsa::KeyPair::from_pkcs8(
        &base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            fixture("private_key.pem")
                .lines()
                .filter(|l| !l.starts_with("-----"))
                .collect::<String>(),
        )
        .unwrap(),
    )
    .unwrap();
    let input = format!(
        "{}.{}",
        b64(format!(r#"{{"alg":"PS256","typ":"JWT","kid":"{}"}}"#, key().kid()).as_bytes()),
        b64(claims().to_string().as_bytes())
    );
    let mut sig = vec![0u8; rsa.public_modulus_len()];
    rsa.sign(
        &aws_lc_rs::signature::RSA_PSS_SHA256,
        &rng,
        input.as_bytes(),
        &mut sig,
    )
    .unwrap();
    refused(&format!("{input}.{}", b64(&sig)), Reason::UnsupportedAlg);
}

fn split(token: &str) -> (String, String, String) {
    let mut p = token.split('.').map(str::to_owned);
    (p.next().unwrap(), p.next().unwrap(), p.next().unwrap())
}

fn sig_bytes(token: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(split(token).2)
        .unwrap()
}

#[test]
fn signature_stripped_truncated_flipped_or_from_another_key() {
    let good = token_with(&claims());
    let (h, p, _) = split(&good);
    let sig = sig_bytes(&good);
    refused(&format!("{h}.{p}."), Reason::BadSignature);
    refused(&format!("{h}.{p}"), Reason::Malformed);
    refused(
        &format!("{h}.{p}.{}", b64(&sig[..sig.len() - 1])),
        Reason::BadSignature,
    );
    refused(
        &format!("{h}.{p}.{}", b64(&sig[..128])),
        Reason::BadSignature,
    );
    refused(&format!("{h}.{p}.{}", b64(&sig[1..])), Reason::BadSignature);
    let mut longer = sig.clone();
    longer.push(0);
    refused(&format!("{h}.{p}.{}", b64(&longer)), Reason::BadSignature);
    for i in [0, 1, 100, sig.len() - 1] {
        for bit in [0, 7] {
            let mut s = sig.clone();
            s[i] ^= 1 << bit;
            refused(&format!("{h}.{p}.{}", b64(&s)), Reason::BadSignature);
        }
    }
    refused(
        &format!("{h}.{p}.{}", b64(&vec![0; 256])),
        Reason::BadSignature,
    );
    // the same header (main key's kid), signed by another key
    let forged = raw_token(other_key(), &default_header(), &claims().to_string());
    refused(&forged, Reason::BadSignature);
    // another key, no kid
    let forged = raw_token(other_key(), r#"{"alg":"RS256"}"#, &claims().to_string());
    refused(&forged, Reason::BadSignature);
}

#[test]
fn payload_changed_after_signing() {
    let good = token_with(&claims());
    let (h, _, s) = split(&good);
    let evil = with(claims(), "sub", json!("someone-else"));
    refused(
        &format!("{h}.{}.{s}", b64(evil.to_string().as_bytes())),
        Reason::BadSignature,
    );
    // header changed after signing (kid removed)
    let (_, p, s) = split(&good);
    refused(
        &format!("{}.{p}.{s}", b64(br#"{"alg":"RS256","typ":"JWT"}"#)),
        Reason::BadSignature,
    );
}

#[test]
fn kid_selection_and_hostile_kid_values() {
    let both = keyset_with(&[(key(), Some("a"), None), (other_key(), Some("b"), None)]);
    let c = claims().to_string();
    // kid pointing at the other key
    let t = raw_token(key(), r#"{"alg":"RS256","kid":"b"}"#, &c);
    assert_eq!(reason_of(&t, &both, &v()), Reason::BadSignature);
    let t = raw_token(key(), r#"{"alg":"RS256","kid":"a"}"#, &c);
    assert_eq!(verify(&t, &both, &v()).unwrap().kid.as_deref(), Some("a"));
    // no kid, several keys: each is tried
    let t = raw_token(other_key(), r#"{"alg":"RS256"}"#, &c);
    assert!(verify(&t, &both, &v()).is_ok());
    let stranger = SigningKey::from_pem(&fixture("private_key_pkcs1.pem")).unwrap();
    let only_other = keyset_with(&[(other_key(), Some("b"), None)]);
    let t = raw_token(&stranger, r#"{"alg":"RS256"}"#, &c);
    assert_eq!(reason_of(&t, &only_other, &v()), Reason::BadSignature);

    for kid in [
        "../../etc/passwd",
        "' OR 1=1 --",
        "",
        "a\u{0}",
        "\n",
        "A",
        " a",
    ] {
        let header = json!({"alg": "RS256", "kid": kid}).to_string();
        let t = raw_token(key(), &header, &c);
        assert_eq!(
            reason_of(&t, &both, &v()),
            Reason::UnknownKid,
            "kid {kid:?}"
        );
        let e = verify(&t, &both, &v()).unwrap_err();
        assert!(!e.detail.contains('\n') && !e.detail.contains('\0'));
    }
    for header in [
        json!({"alg": "RS256", "kid": 1}),
        json!({"alg": "RS256", "kid": null}),
        json!({"alg": "RS256", "kid": ["a"]}),
        json!({"alg": "RS256", "kid": {"a": 1}}),
        json!({"alg": "RS256", "kid": "k".repeat(257)}),
    ] {
        let t = raw_token(key(), &header.to_string(), &c);
        assert_eq!(reason_of(&t, &both, &v()), Reason::Malformed, "{header}");
    }
    let t = raw_token(
        key(),
        &json!({"alg": "RS256", "kid": "k".repeat(256)}).to_string(),
        &c,
    );
    assert_eq!(reason_of(&t, &both, &v()), Reason::UnknownKid);
}

#[test]
fn key_availability_and_expiry() {
    let c = claims().to_string();
    let t = token_with(&claims());
    assert_eq!(
        reason_of(&t, &KeySet::default(), &v()),
        Reason::KeyUnavailable
    );
    let kid = key().kid();
    let expired = keyset_with(&[(key(), Some(kid), Some(NOW))]);
    assert_eq!(reason_of(&t, &expired, &v()), Reason::KeyUnavailable);
    let still = keyset_with(&[(key(), Some(kid), Some(NOW + 1))]);
    assert!(verify(&t, &still, &v()).is_ok());
    let no_kid = raw_token(key(), r#"{"alg":"RS256"}"#, &c);
    assert_eq!(reason_of(&no_kid, &expired, &v()), Reason::KeyUnavailable);
    // an expired key is not tried; a current one is
    let mixed = keyset_with(&[
        (key(), Some("old"), Some(NOW - 1)),
        (other_key(), Some("new"), None),
    ]);
    assert_eq!(reason_of(&no_kid, &mixed, &v()), Reason::BadSignature);
    let mixed = keyset_with(&[
        (other_key(), Some("old"), Some(NOW - 1)),
        (key(), Some("new"), None),
    ]);
    assert!(verify(&no_kid, &mixed, &v()).is_ok());
}

#[test]
fn embedded_key_and_url_headers_are_refused() {
    let c = claims().to_string();
    let attacker_jwk = other_key().public_key().to_jwk("attacker");
    for extra in [
        format!(r#""jwk":{attacker_jwk}"#),
        r#""jku":"http://127.0.0.1:9/jwks.json""#.to_owned(),
        r#""x5u":"http://127.0.0.1:9/cert.pem""#.to_owned(),
        r#""x5c":["MIIB"]"#.to_owned(),
        r#""crit":["exp"]"#.to_owned(),
        r#""crit":[]"#.to_owned(),
        r#""jwk":null"#.to_owned(),
    ] {
        // signed by the attacker's key that the header points to
        let t = raw_token(other_key(), &header_with(&extra), &c);
        refused(&t, Reason::ForbiddenHeader);
        // and even when signed by the trusted key
        let t = raw_token(key(), &header_with(&extra), &c);
        refused(&t, Reason::ForbiddenHeader);
    }
}

#[test]
fn numeric_claim_types() {
    for name in ["iat", "exp", "nbf"] {
        for bad in [
            json!("1750000000"),
            json!(null),
            json!(true),
            json!([NOW]),
            json!({"t": NOW}),
            json!(-1),
            json!(-0.5),
            json!(1e300),
            json!(9007199254740993u64),
            json!(u64::MAX),
            json!(i64::MIN),
        ] {
            let t = token_with(&with(claims(), name, bad.clone()));
            refused(&t, Reason::InvalidClaim);
        }
        // a number JSON cannot hold is a JSON error
        let text =
            without(claims(), name)
                .to_string()
                .replacen('{', &format!(r#"{{"{name}":1e400,"#), 1);
        refused(
            &raw_token(key(), &default_header(), &text),
            Reason::Malformed,
        );
    }
    // fractions are NumericDates, floored
    let ok = accepted(&token_with(&with(
        with(claims(), "exp", json!(NOW as f64 + 100.75)),
        "nbf",
        json!(NOW as f64 - 0.5),
    )));
    assert_eq!(ok.claims.exp, NOW + 100);
    assert_eq!(ok.claims.nbf, Some(NOW - 1));
    // 2^53 itself is the largest accepted value
    assert_eq!(
        accepted(&token_with(&with(claims(), "exp", json!(MAX_NUMERIC_DATE))))
            .claims
            .exp,
        MAX_NUMERIC_DATE
    );
    refused(
        &token_with(&with(claims(), "exp", json!(MAX_NUMERIC_DATE + 1))),
        Reason::InvalidClaim,
    );
}

#[test]
fn leeway_edges() {
    let at = |name: &str, t: i64| token_with(&with(claims(), name, json!(t)));
    refused(&at("exp", NOW - 60), Reason::Expired);
    refused(&at("exp", NOW - 61), Reason::Expired);
    refused(&at("exp", 0), Reason::Expired);
    accepted(&at("exp", NOW - 59));
    accepted(&at("nbf", NOW + 60));
    refused(&at("nbf", NOW + 61), Reason::NotYetValid);
    accepted(&at("iat", NOW + 60));
    refused(&at("iat", NOW + 61), Reason::NotYetValid);
    // no leeway
    let strict = v().with_leeway(0);
    assert_eq!(
        reason_of(&at("exp", NOW), &keyset(), &strict),
        Reason::Expired
    );
    assert!(verify(&at("exp", NOW + 1), &keyset(), &strict).is_ok());
    assert_eq!(
        reason_of(&at("nbf", NOW + 1), &keyset(), &strict),
        Reason::NotYetValid
    );
    assert!(verify(&at("nbf", NOW), &keyset(), &strict).is_ok());
    // a leeway too large for i64 does not overflow
    let huge = v().with_leeway(u64::MAX);
    assert!(verify(&at("exp", 1), &keyset(), &huge).is_ok());
    // expired wins over not-yet-valid (checked first)
    let both = with(
        with(claims(), "exp", json!(NOW - 100)),
        "nbf",
        json!(NOW + 100),
    );
    refused(&token_with(&both), Reason::Expired);
}

#[test]
fn each_required_claim_missing() {
    for name in ["iss", "sub", "iat", "exp"] {
        refused(&token_with(&without(claims(), name)), Reason::MissingClaim);
    }
    refused(&token_with(&json!({})), Reason::MissingClaim);
    // nbf and the profile claims are optional
    let minimal = json!({"iss": ISS, "sub": "x", "iat": NOW, "exp": NOW + 60});
    let ok = accepted(&token_with(&minimal));
    assert_eq!(ok.claims.email, None);
    assert_eq!(ok.claims.lwicontexts, None);
}

#[test]
fn sub_and_iss_variants() {
    for bad in [
        json!(""),
        json!(42),
        json!(null),
        json!(["a"]),
        json!({"id": 1}),
        json!("x".repeat(10 * 1024)),
        json!("x".repeat(256)),
    ] {
        refused(
            &token_with(&with(claims(), "sub", bad)),
            Reason::InvalidClaim,
        );
    }
    accepted(&token_with(&with(claims(), "sub", json!("x".repeat(255)))));
    accepted(&token_with(&with(claims(), "sub", json!("é".repeat(255)))));
    refused(
        &token_with(&with(claims(), "iss", json!(1))),
        Reason::InvalidClaim,
    );
    refused(
        &token_with(&with(claims(), "iss", json!(null))),
        Reason::InvalidClaim,
    );
    refused(
        &token_with(&with(claims(), "iss", json!("evil.example"))),
        Reason::WrongIssuer,
    );
    refused(
        &token_with(&with(claims(), "iss", json!("PORTAL.example"))),
        Reason::WrongIssuer,
    );
    // no issuer configured: any issuer string is accepted
    let t = token_with(&with(claims(), "iss", json!("evil.example")));
    assert!(verify(&t, &keyset(), &Validation::new(NOW)).is_ok());
}

#[test]
fn profile_claims_of_the_wrong_type() {
    for name in PROFILE_CLAIMS {
        refused(
            &token_with(&with(claims(), name, json!(42))),
            Reason::InvalidClaim,
        );
        refused(
            &token_with(&with(claims(), name, json!(["a"]))),
            Reason::InvalidClaim,
        );
        accepted(&token_with(&with(claims(), name, json!(null))));
        accepted(&token_with(&without(claims(), name)));
    }
}

#[test]
fn duplicate_json_keys() {
    let c = claims().to_string();
    for header in [
        r#"{"alg":"RS256","alg":"none"}"#,
        r#"{"alg":"none","alg":"RS256"}"#,
        r#"{"alg":"RS256","kid":"a","kid":"b"}"#,
        r#"{"alg":"RS256","\u0061lg":"RS256"}"#,
    ] {
        refused(&raw_token(key(), header, &c), Reason::Malformed);
    }
    let dup_sub = c.replacen('{', r#"{"sub":"admin","#, 1);
    refused(
        &raw_token(key(), &default_header(), &dup_sub),
        Reason::Malformed,
    );
    let dup_exp = c.replacen('{', r#"{"exp":99999999999,"#, 1);
    refused(
        &raw_token(key(), &default_header(), &dup_exp),
        Reason::Malformed,
    );
}

#[test]
fn header_and_payload_that_are_not_json_objects() {
    let c = claims().to_string();
    for header in ["", "[]", "\"RS256\"", "{", "null", "{\"alg\":\"RS256\"} x"] {
        refused(&raw_token(key(), header, &c), Reason::Malformed);
    }
    for payload in ["", "[]", "1", "{", "null", "\"sub\""] {
        refused(
            &raw_token(key(), &default_header(), payload),
            Reason::Malformed,
        );
    }
}

#[test]
fn padded_and_non_canonical_base64url() {
    let good = token_with(&claims());
    let (h, p, s) = split(&good);
    // padding on any segment
    refused(&format!("{h}=.{p}.{s}"), Reason::Malformed);
    refused(&format!("{h}.{p}=.{s}"), Reason::Malformed);
    refused(&format!("{h}.{p}.{s}="), Reason::Malformed);
    // standard-alphabet characters
    refused(
        &format!("{}.{p}.{s}", h.replace('-', "+").replace('_', "/") + "+"),
        Reason::Malformed,
    );
    refused(
        &format!("{h}.{p}.{}", s.replace('-', "+").replace('_', "/") + "/"),
        Reason::Malformed,
    );
    // whitespace
    refused(&format!(" {good}"), Reason::Malformed);
    refused(&format!("{good}\n"), Reason::Malformed);
    refused(&format!("{h}.{p} .{s}"), Reason::Malformed);
    // non-zero trailing bits: a 256-byte signature is 342 chars + 2 bits of padding
    assert_eq!(s.len(), 342);
    let last = s.chars().last().unwrap();
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let idx = alphabet.find(last).unwrap();
    let twisted = alphabet.as_bytes()[idx ^ 1] as char; // flips a trailing bit only
    let non_canonical = format!("{h}.{p}.{}{twisted}", &s[..s.len() - 1]);
    refused(&non_canonical, Reason::Malformed);
    // one character too few in a segment
    refused(&format!("{h}.{p}.{}", &s[..s.len() - 1]), Reason::Malformed);
    refused(&format!("{}.{p}.{s}", &h[..h.len() - 1]), Reason::Malformed);
}

#[test]
fn wrong_shape_and_size() {
    let good = token_with(&claims());
    let (h, p, s) = split(&good);
    refused("", Reason::Malformed);
    refused(".", Reason::Malformed);
    refused("..", Reason::Malformed);
    refused(&format!("{h}.{p}.{s}."), Reason::Malformed);
    refused(&format!("{h}.{p}.{s}.{s}.{s}"), Reason::Malformed); // JWE shape
    refused(&format!("{h}..{p}.{s}"), Reason::Malformed);
    refused(&format!("{h}.{p}"), Reason::Malformed);
    refused(&h, Reason::Malformed);
    refused(&"a".repeat(1024 * 1024), Reason::Malformed);
    refused(
        &format!("{h}.{}.{s}", "A".repeat(1024 * 1024)),
        Reason::Malformed,
    );
    refused(
        &format!("{good}{}", "A".repeat(MAX_TOKEN_LEN)),
        Reason::Malformed,
    );
    // a valid token just over the limit because of a big claim
    let filler = "f".repeat(MAX_TOKEN_LEN);
    refused(
        &token_with(&with(claims(), "filler", json!(filler))),
        Reason::Malformed,
    );
    // and one just under it verifies
    let filler = "f".repeat(11_000);
    let t = token_with(&with(claims(), "filler", json!(filler)));
    assert!(t.len() <= MAX_TOKEN_LEN);
    accepted(&t);
}

#[test]
fn lwicontexts_variants() {
    let ctx = |v: Value| token_with(&with(claims(), "lwicontexts", v));
    let ok = accepted(&ctx(json!(
        r#"{"plan":"gold","visits":3,"vip":true,"note":null}"#
    )));
    let map = ok.claims.lwicontexts.unwrap();
    assert_eq!(map["plan"], "gold");
    assert_eq!(map["visits"], 3);
    accepted(&ctx(json!("{}")));

    let mut hundred = serde_json::Map::new();
    for i in 0..100 {
        hundred.insert(format!("k{i}"), json!(i));
    }
    accepted(&ctx(json!(Value::Object(hundred.clone()).to_string())));
    let mut too_many = hundred;
    too_many.insert("k100".into(), json!(1));
    let name100 = json!({"n".repeat(100): 1}).to_string();
    let value4000 = json!({"v": "x".repeat(4000)}).to_string();
    accepted(&ctx(json!(name100)));
    accepted(&ctx(json!(value4000)));

    for bad in [
        json!({"plan": "gold"}), // object, not a string
        json!(["plan"]),
        json!(1),
        json!(null),
        json!(r#"{"a":{"b":1}}"#), // nested object
        json!(r#"{"a":[1,2]}"#),   // nested array
        json!(r#"["a"]"#),         // a string holding an array
        json!(r#""text""#),
        json!("not json"),
        json!(""),
        json!(r#"{"a":1,"a":2}"#),                         // duplicate keys
        json!(Value::Object(too_many).to_string()),        // 101 entries
        json!(json!({"n".repeat(101): 1}).to_string()),    // name too long
        json!(json!({"v": "x".repeat(4001)}).to_string()), // value too long
        json!(format!(r#"{{"v":{}}}"#, "1".repeat(4001))), // long number as text
    ] {
        refused(&ctx(bad), Reason::InvalidClaim);
    }
}

/// One case per reason code, proving every code is reachable and distinct.
#[test]
fn every_reason_code_is_produced() {
    let c = claims();
    let cases: Vec<(String, KeySet, Reason)> = vec![
        ("x.y".to_owned(), keyset(), Reason::Malformed),
        (
            raw_token(key(), r#"{"alg":"HS256"}"#, &c.to_string()),
            keyset(),
            Reason::UnsupportedAlg,
        ),
        (
            raw_token(key(), r#"{"alg":"RS256","jku":"x"}"#, &c.to_string()),
            keyset(),
            Reason::ForbiddenHeader,
        ),
        (
            raw_token(key(), r#"{"alg":"RS256","kid":"nope"}"#, &c.to_string()),
            keyset(),
            Reason::UnknownKid,
        ),
        (
            raw_token(other_key(), &default_header(), &c.to_string()),
            keyset(),
            Reason::BadSignature,
        ),
        (
            token_with(&with(c.clone(), "exp", json!(NOW - 3600))),
            keyset(),
            Reason::Expired,
        ),
        (
            token_with(&with(c.clone(), "nbf", json!(NOW + 3600))),
            keyset(),
            Reason::NotYetValid,
        ),
        (
            token_with(&without(c.clone(), "sub")),
            keyset(),
            Reason::MissingClaim,
        ),
        (
            token_with(&with(c.clone(), "exp", json!("soon"))),
            keyset(),
            Reason::InvalidClaim,
        ),
        (
            token_with(&with(c.clone(), "iss", json!("other"))),
            keyset(),
            Reason::WrongIssuer,
        ),
        (token_with(&c), KeySet::default(), Reason::KeyUnavailable),
    ];
    let mut seen = HashSet::new();
    for (token, keys, expected) in &cases {
        assert_eq!(reason_of(token, keys, &v()), *expected);
        seen.insert(*expected);
    }
    assert_eq!(seen, Reason::ALL.into_iter().collect::<HashSet<_>>());
    let codes: Vec<&str> = Reason::ALL.iter().map(Reason::as_str).collect();
    assert_eq!(
        codes,
        [
            "malformed",
            "unsupported_alg",
            "forbidden_header",
            "unknown_kid",
            "bad_signature",
            "expired",
            "not_yet_valid",
            "missing_claim",
            "invalid_claim",
            "wrong_issuer",
            "key_unavailable"
        ]
    );
}
