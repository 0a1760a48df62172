//! The integration tests of vouch-chat: one binary, one module per area.

mod agents;
mod chat;
mod desk;
mod desk_assign_storage;
mod desk_notes;
mod desk_storage;
mod faults;
mod files;
mod group_commit;
mod keys;
mod limits;
mod offline;
mod ops;
mod outbox;
mod pipeline;
mod search;
mod sessions;
mod storage;
mod support;
mod upgrade;
mod webhooks;
