//! Arbitrary bytes as the body behind a public key URL (PEM, multi-key list or JWKS):
//! `vouch_jwt::parse_key_source` must never panic, must respect its key-count limit, and every
//! key it returns must be a usable RSA key of an allowed size.

pub fn run(data: &[u8]) {
    match vouch_jwt::parse_key_source(data) {
        Ok((_format, set)) => {
            assert!(!set.is_empty(), "a key source parsed into no keys");
            assert!(set.len() <= vouch_jwt::MAX_SOURCE_KEYS);
            for k in &set.keys {
                let bits = k.key.bits();
                assert!(
                    (vouch_jwt::MIN_RSA_BITS..=vouch_jwt::MAX_RSA_BITS).contains(&bits),
                    "accepted a {bits}-bit key"
                );
                if let Some(kid) = &k.kid {
                    assert!(kid.chars().count() <= vouch_jwt::MAX_KID_LEN);
                }
            }
        }
        Err(e) => {
            // The message is shown to an administrator: it must stay a sentence, not the body.
            let msg = e.to_string();
            assert!(msg.len() <= 1024, "error message of {} bytes", msg.len());
        }
    }
}
