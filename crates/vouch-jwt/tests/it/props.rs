//! Property tests: sign→verify round trips and "no mutated token verifies".

use crate::common::*;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use proptest::prelude::*;
use serde_json::{json, Map, Value};
use vouch_jwt::*;

fn claim_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<String>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        Just(Value::Null),
        prop::collection::vec(any::<u32>(), 0..4).prop_map(Value::from),
    ]
}

fn extra_claims() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map("[a-z_]{1,12}x", claim_value(), 0..6)
        .prop_map(|m| m.into_iter().collect())
}

fn lwi() -> impl Strategy<Value = Option<Map<String, Value>>> {
    prop::option::of(
        prop::collection::btree_map(
            "[A-Za-z0-9 _.-]{1,20}",
            prop_oneof![
                ".{0,40}".prop_map(Value::from),
                any::<i32>().prop_map(Value::from),
                any::<bool>().prop_map(Value::from),
            ],
            0..8,
        )
        .prop_map(|m| m.into_iter().collect()),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn sign_verify_round_trip(
        iss in ".{0,60}",
        sub in "\\PC{1,255}",
        iat in 0i64..=NOW,
        ttl in 1i64..100_000,
        email in prop::option::of(".{0,80}"),
        given in prop::option::of("\\PC{0,40}"),
        extra in extra_claims(),
        ctx in lwi(),
        with_kid in any::<bool>(),
    ) {
        let mut c = extra;
        c.insert("iss".into(), json!(iss));
        c.insert("sub".into(), json!(sub));
        c.insert("iat".into(), json!(iat));
        c.insert("exp".into(), json!(NOW + ttl));
        if let Some(e) = &email { c.insert("email".into(), json!(e)); }
        if let Some(g) = &given { c.insert("given_name".into(), json!(g)); }
        if let Some(m) = &ctx { c.insert("lwicontexts".into(), json!(Value::Object(m.clone()).to_string())); }
        let token = if with_kid {
            key().sign(&c).unwrap()
        } else {
            key().sign_with_kid(&c, None).unwrap()
        };
        let v = Validation::new(NOW).with_issuer(iss.clone());
        let ok = verify(&token, &keyset(), &v).unwrap();
        prop_assert_eq!(ok.kid.is_some(), with_kid);
        prop_assert_eq!(&ok.claims.iss, &iss);
        prop_assert_eq!(&ok.claims.sub, &sub);
        prop_assert_eq!(ok.claims.iat, iat);
        prop_assert_eq!(ok.claims.exp, NOW + ttl);
        prop_assert_eq!(&ok.claims.email, &email);
        prop_assert_eq!(&ok.claims.given_name, &given);
        prop_assert_eq!(&ok.claims.lwicontexts, &ctx);
        prop_assert_eq!(&ok.claims.all, &c);
    }

    #[test]
    fn no_token_with_a_changed_character_verifies(
        pos in any::<prop::sample::Index>(),
        replacement in prop::char::any(),
    ) {
        let token = good_token();
        let i = pos.index(token.len());
        let original = token.as_bytes()[i] as char;
        prop_assume!(replacement != original);
        let mut mutated = String::with_capacity(token.len() + 4);
        mutated.push_str(&token[..i]);
        mutated.push(replacement);
        mutated.push_str(&token[i + 1..]);
        prop_assert!(verify(&mutated, &keyset(), &Validation::new(NOW)).is_err());
    }

    #[test]
    fn no_token_with_a_flipped_bit_verifies(
        segment in 0usize..3,
        pos in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let token = good_token();
        let mut parts: Vec<Vec<u8>> = token
            .split('.')
            .map(|s| URL_SAFE_NO_PAD.decode(s).unwrap())
            .collect();
        let bytes = &mut parts[segment];
        let i = pos.index(bytes.len());
        bytes[i] ^= 1 << bit;
        let mutated = parts.iter().map(|p| URL_SAFE_NO_PAD.encode(p)).collect::<Vec<_>>().join(".");
        let e = verify(&mutated, &keyset(), &Validation::new(NOW)).unwrap_err();
        // a change the header still parses with lands on the signature check
        if segment > 0 {
            prop_assert_eq!(e.reason, Reason::BadSignature);
        }
    }

    #[test]
    fn arbitrary_input_never_panics(s in "\\PC{0,400}") {
        let _ = verify(&s, &keyset(), &Validation::new(NOW));
        let _ = parse_key_source(s.as_bytes());
    }

    #[test]
    fn arbitrary_three_segment_tokens_never_verify(
        h in prop::collection::vec(any::<u8>(), 0..64),
        p in prop::collection::vec(any::<u8>(), 0..128),
        s in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        let t = format!("{}.{}.{}", URL_SAFE_NO_PAD.encode(&h), URL_SAFE_NO_PAD.encode(&p), URL_SAFE_NO_PAD.encode(&s));
        prop_assert!(verify(&t, &keyset(), &Validation::new(NOW)).is_err());
    }
}

fn good_token() -> String {
    let t = key().sign(&claims()).unwrap();
    assert!(verify(&t, &keyset(), &Validation::new(NOW)).is_ok());
    t
}
