//! Live traffic: the in-process fan-out of frames ([`hub::Hub`]) and the WebSocket frame formats
//! ([`frames`]). The sockets themselves are in `crate::http::ws_customer` / `ws_agent`.

pub mod frames;
pub mod hub;
