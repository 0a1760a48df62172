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
