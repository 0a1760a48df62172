//! The integration tests of vouch-chat: one binary, one module per area.

mod keys;
