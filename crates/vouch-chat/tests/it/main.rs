//! The integration tests of vouch-chat: one binary, one module per area.

mod agents;
mod chat;
mod desk;
mod desk_storage;
mod faults;
mod group_commit;
mod keys;
mod limits;
mod ops;
mod sessions;
mod storage;
mod support;
