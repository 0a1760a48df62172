//! The fuzz targets' bodies, as plain functions of the input bytes: libFuzzer calls them from
//! `fuzz_targets/` (`scripts/fuzz-smoke`), and `tests/corpus.rs` replays every committed input of
//! `corpus/<target>/` through them as an ordinary test in `cargo test`.

pub mod chat_frame;
pub mod key_source;
pub mod verify_token;
pub mod verify_token_mutated;

/// A target: the input bytes in, a panic on anything that must not happen.
pub type Target = fn(&[u8]);

/// Every target by its name (the name of its `corpus/` folder and its libFuzzer binary).
pub const ALL: &[(&str, Target)] = &[
    ("chat_frame", chat_frame::run),
    ("key_source", key_source::run),
    ("verify_token", verify_token::run),
    ("verify_token_mutated", verify_token_mutated::run),
];
