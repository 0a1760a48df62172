//! Live traffic: the in-process fan-out of frames ([`hub::Hub`]), its bridge to the other chat
//! nodes over NATS ([`nats::NatsBus`]) and the WebSocket frame formats ([`frames`]).
//! The sockets themselves are in `crate::http::ws`.

pub mod frames;
pub mod hub;
pub mod nats;
