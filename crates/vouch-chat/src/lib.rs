//! The chat service: the Omnichannel side of vouch.
//!
//! Where things are:
//! * `http/` — routes, JSON API, WebSocket sockets, pages, security headers ([`http::router`]).
//! * `domain/` — the rules: sessions (where a customer token is checked), conversations, agents,
//!   settings validation, diagnostics, limits.
//! * `live/` — the in-process fan-out of frames and the WebSocket frame formats.
//! * `storage/` — the [`storage::Store`] capability traits and their SQLite and PostgreSQL
//!   back-ends (where a message is stored: [`storage::ConversationStore::append_message`]).
//! * `keys/` — fetching and caching the public keys that verify customer tokens.
//! * `assets/` — the browser code (widget, console, admin pages), embedded.
//! * `metrics.rs` — the Prometheus metrics of one service (`GET /metrics`).

pub mod assets;
pub mod config;
pub mod domain;
pub mod error;
pub mod http;
pub mod keys;
pub mod live;
pub mod metrics;
mod service;
pub mod storage;

pub use config::{ChatConfig, Limits};
pub use domain::agents::NewAgent;
pub use domain::settings::{NewAuthSettings, NewWidget};
pub use error::ChatError;
pub use service::{add_agent, find_agent_by_email, ChatService};
pub use storage::{Agent, AuthSettings, Contact, Role, Widget};
