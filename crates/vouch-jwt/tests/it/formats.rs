//! Key formats: openssl files, PEM round trips, RFC 7638, key sources.

use crate::common::*;
use vouch_jwt::*;

#[test]
fn openssl_pkcs8_and_pkcs1_private_keys_load_and_agree() {
    let pkcs8 = SigningKey::from_pem(&fixture("private_key.pem")).unwrap();
    let pkcs1 = SigningKey::from_pem(&fixture("private_key_pkcs1.pem")).unwrap();
    assert_eq!(pkcs8.public_key(), pkcs1.public_key());
    assert_eq!(pkcs8.kid(), pkcs1.kid());
    assert_eq!(pkcs8.public_key().bits(), 2048);
    let spki = PublicKey::from_pem(&fixture("public_key.pem")).unwrap();
    let rsa_pub = PublicKey::from_pem(&fixture("public_key_pkcs1.pem")).unwrap();
    assert_eq!(&spki, pkcs8.public_key());
    assert_eq!(&rsa_pub, pkcs8.public_key());
    // our SPKI PEM is byte-identical to `openssl rsa -pubout`
    assert_eq!(pkcs8.public_key().to_spki_pem(), fixture("public_key.pem"));
    // and our PKCS#8 export is byte-identical to `openssl genpkey`
    assert_eq!(pkcs8.to_pkcs8_pem(), fixture("private_key.pem"));
}

#[test]
fn token_signed_by_openssl_verifies() {
    let token = fixture("openssl_signed.jwt");
    let keys = KeySet::single(PublicKey::from_pem(&fixture("public_key.pem")).unwrap());
    let v = Validation::new(1_700_000_100).with_issuer("blog.example");
    let ok = verify(token.trim(), &keys, &v).unwrap();
    assert_eq!(ok.kid, None);
    assert_eq!(ok.claims.sub, "00000000-0000-0000-0000-000000000042");
    assert_eq!(ok.claims.given_name.as_deref(), Some("Alex"));
    assert_eq!(ok.claims.exp, 1_700_000_900);
}

#[test]
fn our_token_verifies() {
    let t = key().sign(&claims()).unwrap();
    let ok = verify(&t, &keyset(), &Validation::new(NOW).with_issuer(ISS)).unwrap();
    assert_eq!(ok.kid.as_deref(), Some(key().kid()));
    assert_eq!(ok.claims.email.as_deref(), Some("customer@example.com"));
}

#[test]
fn pkcs8_and_pkcs1_private_pem_round_trips() {
    let k = other_key();
    let pem8 = k.to_pkcs8_pem();
    assert!(pem8.starts_with("-----BEGIN PRIVATE KEY-----\n"));
    let back = SigningKey::from_pem(&pem8).unwrap();
    assert_eq!(back.public_key(), k.public_key());
    assert_eq!(back.to_pkcs8_pem(), pem8);
    // a token from the reloaded key verifies with the original's public key
    let t = back.sign(&claims()).unwrap();
    let keys = KeySet::single(k.public_key().clone());
    assert!(verify(&t, &keys, &Validation::new(NOW)).is_ok());
    // CRLF line endings and surrounding blank lines still load
    let crlf = format!(
        "\r\n{}\r\n",
        fixture("private_key_pkcs1.pem").replace('\n', "\r\n")
    );
    assert_eq!(SigningKey::from_pem(&crlf).unwrap().kid(), key().kid());
}

#[test]
fn public_pem_round_trips() {
    let pk = key().public_key();
    let again = PublicKey::from_pem(&pk.to_spki_pem()).unwrap();
    assert_eq!(&again, pk);
    assert_eq!(again.thumbprint(), key().kid());
    assert_eq!(
        PublicKey::from_spki_der(pk.to_spki_der())
            .unwrap()
            .thumbprint(),
        pk.thumbprint()
    );
    assert_eq!(PublicKey::from_pkcs1_der(&pk.to_pkcs1_der()).unwrap(), *pk);
}

#[test]
fn small_and_wrong_keys_are_refused_with_clear_messages() {
    let e = PublicKey::from_pem(&fixture("public_key_1024.pem")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "RSA key of 1024 bits: at least 2048 required"
    );
    let e = SigningKey::from_pem(&fixture("private_key_1024.pem")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "RSA key of 1024 bits: at least 2048 required"
    );
    assert_eq!(
        SigningKey::from_pem(&fixture("public_key.pem")).unwrap_err(),
        KeyError::PublicKeyGiven
    );
    assert_eq!(
        PublicKey::from_pem(&fixture("private_key.pem")).unwrap_err(),
        KeyError::PrivateKeyGiven
    );
    assert!(matches!(
        SigningKey::from_pem("hello").unwrap_err(),
        KeyError::NotPem { .. }
    ));
    let encrypted =
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n";
    assert_eq!(
        SigningKey::from_pem(encrypted).unwrap_err(),
        KeyError::Encrypted
    );
    let legacy = fixture("private_key_pkcs1.pem").replace(
        "-----BEGIN RSA PRIVATE KEY-----\n",
        "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\n",
    );
    assert_eq!(
        SigningKey::from_pem(&legacy).unwrap_err(),
        KeyError::Encrypted
    );
    let garbage = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
    assert!(matches!(
        SigningKey::from_pem(garbage).unwrap_err(),
        KeyError::Invalid(_)
    ));
    assert!(matches!(
        SigningKey::generate(1024).unwrap_err(),
        KeyError::UnsupportedSize { bits: 1024 }
    ));
    assert!(SigningKey::generate(8192).is_err());
}

#[test]
fn debug_never_prints_key_material() {
    let k = key();
    let dbg = format!("{k:?}");
    assert!(dbg.contains(k.kid()));
    let pem = k.to_pkcs8_pem();
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    for chunk in body.as_bytes().chunks(16) {
        assert!(!dbg.contains(std::str::from_utf8(chunk).unwrap()));
    }
    assert!(!dbg.to_lowercase().contains("private"));
    let pdbg = format!("{:?}", k.public_key());
    assert!(pdbg.contains("2048"));
}

#[test]
fn sign_header_shapes() {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = |t: &str| -> serde_json::Value {
        serde_json::from_slice(&b64.decode(t.split('.').next().unwrap()).unwrap()).unwrap()
    };
    let t = key().sign(&claims()).unwrap();
    assert_eq!(
        header(&t),
        serde_json::json!({"alg": "RS256", "typ": "JWT", "kid": key().kid()})
    );
    let t = key().sign_with_kid(&claims(), None).unwrap();
    assert_eq!(
        header(&t),
        serde_json::json!({"alg": "RS256", "typ": "JWT"})
    );
    assert!(verify(&t, &keyset(), &Validation::new(NOW)).is_ok());
    let t = key().sign_with_kid(&claims(), Some("2024-01")).unwrap();
    assert_eq!(header(&t)["kid"], "2024-01");
    assert!(matches!(
        key().sign_with_kid(&claims(), Some("")),
        Err(SignError::InvalidKid)
    ));
    assert!(matches!(
        key().sign_with_kid(&claims(), Some(&"k".repeat(257))),
        Err(SignError::InvalidKid)
    ));
    assert!(matches!(key().sign(&[1, 2]), Err(SignError::NotAnObject)));
    assert!(matches!(key().sign(&"str"), Err(SignError::NotAnObject)));
}

#[test]
fn generated_keys_of_every_size() {
    for bits in [2048, 3072, 4096] {
        let k = SigningKey::generate(bits).unwrap();
        assert_eq!(k.public_key().bits(), bits);
        let t = k.sign(&claims()).unwrap();
        let keys = KeySet::single(k.public_key().clone());
        assert_eq!(
            verify(&t, &keys, &Validation::new(NOW)).unwrap().claims.sub,
            claims()["sub"]
        );
    }
}

#[test]
fn pem_source() {
    let (fmt, set) = parse_key_source(fixture("public_key.pem").as_bytes()).unwrap();
    assert_eq!(fmt, KeySourceFormat::Pem);
    assert_eq!(set.keys.len(), 1);
    assert_eq!(set.keys[0].kid.as_deref(), Some(key().kid()));
    assert_eq!(set.keys[0].expiry, None);
    let (fmt, set) = parse_key_source(fixture("public_key_pkcs1.pem").as_bytes()).unwrap();
    assert_eq!(fmt, KeySourceFormat::Pem);
    assert_eq!(&set.keys[0].key, key().public_key());
    // a token by the portal's key verifies against the parsed source
    let t = key().sign(&claims()).unwrap();
    assert!(verify(&t, &set, &Validation::new(NOW)).is_ok());
    // two concatenated PEM keys
    let two = format!(
        "{}{}",
        key().public_key().to_spki_pem(),
        other_key().public_key().to_spki_pem()
    );
    let (_, set) = parse_key_source(two.as_bytes()).unwrap();
    assert_eq!(set.keys.len(), 2);
    let t = other_key().sign_with_kid(&claims(), None).unwrap();
    assert!(verify(&t, &set, &Validation::new(NOW)).is_ok());
}

#[test]
fn jwks_source() {
    let doc = jwks_document(&[key().public_key(), other_key().public_key()]);
    assert_eq!(doc["keys"][0]["kty"], "RSA");
    assert_eq!(doc["keys"][0]["use"], "sig");
    assert_eq!(doc["keys"][0]["alg"], "RS256");
    assert_eq!(doc["keys"][0]["kid"], key().kid());
    assert_eq!(doc["keys"][0]["e"], "AQAB");
    let (fmt, set) = parse_key_source(doc.to_string().as_bytes()).unwrap();
    assert_eq!(fmt, KeySourceFormat::Jwks);
    assert_eq!(set.keys.len(), 2);
    assert_eq!(set.keys[1].kid.as_deref(), Some(other_key().kid()));
    let t = other_key().sign(&claims()).unwrap();
    assert!(verify(&t, &set, &Validation::new(NOW)).is_ok());

    // entries that are not RSA signing keys are skipped
    let mut mixed = doc.clone();
    let keys = mixed["keys"].as_array_mut().unwrap();
    keys.insert(
        0,
        serde_json::json!({"kty": "EC", "crv": "P-256", "x": "a", "y": "b"}),
    );
    let mut enc = key().public_key().to_jwk("enc");
    enc["use"] = "enc".into();
    keys.push(enc);
    let mut ps = key().public_key().to_jwk("ps");
    ps["alg"] = "PS256".into();
    keys.push(ps);
    let (_, set) = parse_key_source(mixed.to_string().as_bytes()).unwrap();
    assert_eq!(set.keys.len(), 2);

    let none_left = serde_json::json!({"keys": [{"kty": "EC", "crv": "P-256"}]});
    assert_eq!(
        parse_key_source(none_left.to_string().as_bytes())
            .unwrap_err()
            .to_string(),
        "the JWKS has no RSA signing key (kty \"RSA\", use \"sig\")"
    );
    let empty = serde_json::json!({"keys": []});
    assert!(parse_key_source(empty.to_string().as_bytes()).is_err());

    // a private JWK published by mistake
    let mut private = key().public_key().to_jwk("k");
    private["d"] = "AQAB".into();
    let body = serde_json::json!({ "keys": [private] }).to_string();
    assert!(parse_key_source(body.as_bytes())
        .unwrap_err()
        .to_string()
        .contains("this is a PRIVATE key: publish only the public key"));
    // a bare JWK
    let bare = key().public_key().to_jwk("k").to_string();
    assert!(parse_key_source(bare.as_bytes())
        .unwrap_err()
        .to_string()
        .contains("wrap it"));
}

#[test]
fn multi_key_list_source() {
    let doc = multi_key_list(&[
        (key().public_key(), NOW + 3600),
        (other_key().public_key(), NOW - 1),
    ]);
    assert_eq!(doc[0]["kid"], key().kid());
    assert_eq!(doc[0]["expiry"], NOW + 3600);
    let (fmt, set) = parse_key_source(doc.to_string().as_bytes()).unwrap();
    assert_eq!(fmt, KeySourceFormat::MultiKeyList);
    assert_eq!(set.keys.len(), 2);
    assert_eq!(set.keys[0].expiry, Some(NOW + 3600));
    assert_eq!(&set.keys[0].key, key().public_key());
    let t = key().sign(&claims()).unwrap();
    assert!(verify(&t, &set, &Validation::new(NOW)).is_ok());
    // the second key has expired: its tokens are refused
    let t = other_key().sign(&claims()).unwrap();
    assert_eq!(
        verify(&t, &set, &Validation::new(NOW)).unwrap_err().reason,
        Reason::KeyUnavailable
    );
    // the Omnichannel sample shape, with a PEM made by openssl
    use base64::Engine;
    let body = serde_json::json!([{
        "kid": "key-1",
        "publicKey": base64::engine::general_purpose::STANDARD.encode(fixture("public_key.pem")),
        "expiry": 4102444800i64,
    }]);
    let (_, set) = parse_key_source(body.to_string().as_bytes()).unwrap();
    assert_eq!(set.keys[0].kid.as_deref(), Some("key-1"));
    // a private key in the list is refused with the human message
    let body = serde_json::json!([{
        "kid": "oops",
        "publicKey": base64::engine::general_purpose::STANDARD.encode(fixture("private_key.pem")),
        "expiry": 4102444800i64,
    }]);
    let e = parse_key_source(body.to_string().as_bytes())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("this is a PRIVATE key: publish only the public key"),
        "{e}"
    );
    assert_eq!(
        parse_key_source(b"[]").unwrap_err().to_string(),
        "the key list is empty"
    );
    let e = parse_key_source(br#"[{"kid":"a"}]"#)
        .unwrap_err()
        .to_string();
    assert_eq!(e, "key list entry 1: missing \"publicKey\"");
}

#[test]
fn bad_sources_are_explained() {
    let msg = |body: &[u8]| parse_key_source(body).unwrap_err().to_string();
    assert_eq!(msg(b""), "the body is empty");
    assert_eq!(msg(b"  \n\t "), "the body is empty");
    assert_eq!(
        msg(b"<!DOCTYPE html><html><body>Sign in</body></html>"),
        "the body is HTML, not a PEM key"
    );
    assert_eq!(
        msg(b"<html><head></head></html>"),
        "the body is HTML, not a PEM key"
    );
    assert_eq!(
        msg(fixture("public_key_1024.pem").as_bytes()),
        "RSA key of 1024 bits: at least 2048 required"
    );
    assert_eq!(
        msg(fixture("private_key.pem").as_bytes()),
        "this is a PRIVATE key: publish only the public key"
    );
    assert_eq!(
        msg(fixture("private_key_pkcs1.pem").as_bytes()),
        "this is a PRIVATE key: publish only the public key"
    );
    assert_eq!(
        msg(br#"{"hello":"world"}"#),
        "JSON but neither a JWKS nor a key list"
    );
    assert_eq!(
        msg(br#"{"keys":"none"}"#),
        "JSON but neither a JWKS nor a key list"
    );
    assert!(msg(b"{not json").starts_with("the body is not valid JSON"));
    assert!(msg(&[0x30, 0x82, 0x01, 0x22, 0xff, 0xfe]).contains("not text"));
    assert!(msg(b"just some words").contains("neither a PEM public key"));
    assert!(
        msg(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
            .contains("certificate")
    );

    // too many keys: counted before any key is parsed
    let many = serde_json::json!({ "keys": vec![serde_json::json!({"kty": "RSA", "n": "AQAB", "e": "AQAB"}); 10_000] });
    assert_eq!(
        msg(many.to_string().as_bytes()),
        "too many keys (10000): at most 100"
    );
    let pem = key().public_key().to_spki_pem().repeat(101);
    assert_eq!(msg(pem.as_bytes()), "too many keys (101): at most 100");
    // 1024-bit key inside a JWKS
    let small = PublicKey::from_pem(&fixture("public_key.pem")).unwrap();
    let mut jwk = small.to_jwk("small");
    use base64::Engine;
    let n = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(jwk["n"].as_str().unwrap())
        .unwrap();
    jwk["n"] = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(&n[..128])
        .into();
    let e = msg(serde_json::json!({ "keys": [jwk] }).to_string().as_bytes());
    assert!(
        e.contains("RSA key of 1024 bits: at least 2048 required"),
        "{e}"
    );
}

#[test]
fn keys_are_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<SigningKey>();
    assert_send_sync::<PublicKey>();
    assert_send_sync::<KeySet>();
    assert_send_sync::<VerifyError>();
    assert_send_sync::<KeySourceError>();
    let t = key().sign(&claims()).unwrap();
    let keys = keyset();
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                assert!(verify(&t, &keys, &Validation::new(NOW)).is_ok());
                assert!(key().sign(&claims()).is_ok());
            });
        }
    });
}

#[test]
fn oversized_source_is_refused() {
    let body = vec![b' '; MAX_SOURCE_BYTES + 1];
    assert_eq!(
        parse_key_source(&body).unwrap_err(),
        KeySourceError::TooLarge(MAX_SOURCE_BYTES + 1)
    );
}

/// The blog's Node.js `jsonwebtoken` shape: header `{"alg":"RS256","typ":"JWT"}`, its exact
/// payload (empty `phone_number`), the openssl-made key, PEM published as `/publickey`.
#[test]
fn blog_token_shape_verifies() {
    let payload = serde_json::json!({
        "sub": "66cb446f-5e43-ea11-a812-000d3a24c087",
        "preferred_username": "danijel.buljat@test.com",
        "phone_number": "",
        "given_name": "Dan",
        "family_name": "Test",
        "email": "danijel.buljat@test.com",
        "iat": NOW,
        "exp": NOW + 3600,
        "iss": "omnichannel-custom-portal.azurewebsites.net"
    });
    let t = raw_token(
        key(),
        r#"{"alg":"RS256","typ":"JWT"}"#,
        &payload.to_string(),
    );
    let (_, keys) = parse_key_source(fixture("public_key.pem").as_bytes()).unwrap();
    let v = Validation::new(NOW).with_issuer("omnichannel-custom-portal.azurewebsites.net");
    let ok = verify(&t, &keys, &v).unwrap();
    assert_eq!(ok.kid, None);
    assert_eq!(ok.claims.sub, "66cb446f-5e43-ea11-a812-000d3a24c087");
    assert_eq!(ok.claims.phone_number.as_deref(), Some(""));
    assert_eq!(ok.claims.given_name.as_deref(), Some("Dan"));
}
