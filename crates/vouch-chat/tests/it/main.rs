//! The integration tests of vouch-chat: one binary, one module per area.

mod agents;
mod chat;
mod faults;
mod group_commit;
mod keys;
mod limits;
mod ops;
mod outbox;
mod sessions;
mod storage;
mod support;
mod webhooks;
