//! The chat service: the Omnichannel side of vouch.
//!
//! Where things are:
//! * `http/` — routes, JSON API, pages, security headers ([`http::router`]); `http/ws/` — the
//!   WebSockets: one driver, a customer and an agent role (where a frame is read and answered).
//! * `domain/` — the rules: sessions (where a customer token is checked), conversations (where a
//!   message is validated and fanned out), agents, settings validation, diagnostics, limits.
//!   Its calls return typed results and one error type, [`error::ChatError`], whose
//!   [`error::ErrorCode`] the edges map to `/api/` answers and `error` frames.
//! * `live/` — the fan-out of frames (in process, and between nodes over NATS) and the
//!   WebSocket frame formats.
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
pub mod mail;
pub mod metrics;
mod service;
pub mod storage;
pub mod webhooks;

pub use config::{ChatConfig, Limits};
pub use domain::agents::NewAgent;
pub use domain::settings::{NewAuthSettings, NewWidget};
pub use error::{ChatError, ErrorCode};
pub use service::{add_agent, find_agent_by_email, ChatService};
pub use storage::{Agent, AuthSettings, Contact, Role, Widget};
