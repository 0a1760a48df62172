//! The adversarial suite of issue 6 (see SECURITY.md at the repository root for the map of
//! which test proves which defence). One binary, one module per area.

mod support;
mod token_attacks;
mod key_urls;
