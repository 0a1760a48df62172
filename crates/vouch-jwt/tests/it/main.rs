//! Integration tests of vouch-jwt (one binary; modules by topic).

mod attacks;
mod common;
mod formats;
mod props;
