//! Arbitrary bytes as a compact JWT: `vouch_jwt::verify` must never panic, a refusal's detail
//! must never echo the token, and an acceptance must satisfy the independent oracle
//! (`vouch_fuzz::check_accepted`). Non-UTF-8 input is read lossily (U+FFFD), as a header value
//! decoded by a lenient server would be.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let token = String::from_utf8_lossy(data);
    let result = vouch_jwt::verify(&token, vouch_fuzz::keyset(), &vouch_fuzz::validation());
    vouch_fuzz::check_result(&token, &result);
});
