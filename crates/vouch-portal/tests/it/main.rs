//! Integration tests: the real portal on 127.0.0.1:0 with a temporary data directory,
//! driven by reqwest with a cookie jar through the real forms.

mod backends;
mod common;
mod keys;
mod limits;
mod pages;
mod sessions;
mod throttle;
mod token;
mod users;
