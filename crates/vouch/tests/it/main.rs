//! The adversarial suite of issue 6 (see SECURITY.md at the repository root for the map of
//! which test proves which defence). One binary, one module per area.

mod abuse;
mod key_urls;
mod support;
mod token_attacks;
mod web;
