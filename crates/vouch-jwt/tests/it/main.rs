//! Integration tests of vouch-jwt (one binary; modules by topic).

mod common;
mod formats;
