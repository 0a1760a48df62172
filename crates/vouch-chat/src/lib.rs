//! The chat service: the Omnichannel side of vouch.

pub mod assets;
pub mod keys;
pub mod storage;
