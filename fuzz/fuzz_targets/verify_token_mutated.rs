//! libFuzzer entry point; what must hold is in `vouch_fuzz::targets::verify_token_mutated`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vouch_fuzz::targets::verify_token_mutated::run(data));
