//! libFuzzer entry point; what must hold is in `vouch_fuzz::targets::chat_frame`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vouch_fuzz::targets::chat_frame::run(data));
