//! Arbitrary bytes as a compact JWT: `vouch_jwt::verify` must never panic, a refusal's detail
//! must never echo the token, and an acceptance must satisfy the independent oracle
//! (`crate::check_accepted`). Non-UTF-8 input is read lossily (U+FFFD), as a header value
//! decoded by a lenient server would be.

pub fn run(data: &[u8]) {
    let token = String::from_utf8_lossy(data);
    let result = vouch_jwt::verify(&token, crate::keyset(), &crate::validation());
    crate::check_result(&token, &result);
}
