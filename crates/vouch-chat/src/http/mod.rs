//! The protocol layer: routes, extractors, middleware. Handlers are thin: parse, call the domain,
//! map the error.
//!
//! * `api.rs` — the widget's public routes (config, sessions) with their CORS rules.
//! * `agent.rs`, `admin.rs`, `contacts.rs` — the console's JSON API.
//! * `ws_customer.rs`, `ws_agent.rs` — the two WebSockets.
//! * `pages.rs` — the widget script, console and admin pages, static files.
//! * `socket.rs` — what both sockets share: sending with a deadline, closing, keep-alive.
//! * `auth.rs` — agent/admin authentication (Bearer or cookie, with origin checks).
//! * `middleware.rs` — security headers and request logging without secrets.
//! * `error.rs` — [`error::ApiError`].

pub mod admin;
pub mod agent;
pub mod api;
pub mod auth;
pub mod contacts;
pub mod error;
pub mod middleware;
pub mod pages;
pub mod socket;
pub mod ws_agent;
pub mod ws_customer;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use axum::Router;
use bytes::Bytes;
use serde_json::{Map, Value};

use crate::domain::Chat;
use error::ApiError;

/// Shared state of every handler.
pub type AppState = Arc<Chat>;

/// Largest request body accepted anywhere.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Every route of the chat service.
pub fn router(chat: Arc<Chat>) -> Router {
    let widget_routes = Router::new()
        .route("/api/v1/widgets/{app_id}/config", get(api::widget_config))
        .route(
            "/api/v1/widgets/{app_id}/sessions",
            post(api::create_session),
        )
        .layer(axum::middleware::from_fn_with_state(
            chat.clone(),
            api::widget_cors,
        ));

    Router::new()
        .merge(widget_routes)
        .route("/api/v1/chat", get(ws_customer::upgrade))
        .route("/api/v1/agent/login", post(agent::login))
        .route("/api/v1/agent/logout", post(agent::logout))
        .route("/api/v1/agent/me", get(agent::me))
        .route("/api/v1/agent/conversations", get(agent::list))
        .route("/api/v1/agent/conversations/{id}", get(agent::detail))
        .route(
            "/api/v1/agent/conversations/{id}/accept",
            post(agent::accept),
        )
        .route("/api/v1/agent/conversations/{id}/end", post(agent::end))
        .route("/api/v1/agent/ws", get(ws_agent::upgrade))
        .route("/api/v1/contacts/{id}", get(contacts::get_contact))
        .route(
            "/api/v1/admin/auth-settings",
            get(admin::list_auth_settings).post(admin::create_auth_settings),
        )
        .route(
            "/api/v1/admin/auth-settings/{id}",
            put(admin::update_auth_settings),
        )
        .route(
            "/api/v1/admin/widgets",
            get(admin::list_widgets).post(admin::create_widget),
        )
        .route("/api/v1/admin/widgets/{app_id}", put(admin::update_widget))
        .route(
            "/api/v1/admin/verification-failures",
            get(admin::verification_failures),
        )
        .route(
            "/livechatwidget/scripts/LiveChatBootstrapper.js",
            get(pages::widget_js),
        )
        .route("/agent", get(pages::agent_page))
        .route("/admin", get(pages::admin_page))
        .route("/static/{name}", get(pages::static_file))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            chat.clone(),
            middleware::security_headers,
        ))
        .layer(middleware::trace_layer())
        .with_state(chat)
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(chat): State<AppState>) -> impl IntoResponse {
    match chat.store.ping().await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(e) => {
            tracing::error!(error = %e, "readiness check: database does not answer");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    }
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such route")
}

/// The client's address (the TCP peer; proxies' headers are not trusted).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip())
                .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
        ))
    }
}

/// The request's `Origin` header, if any and readable.
pub fn origin_of(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get(axum::http::header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// A JSON object body (empty body = empty object); anything else is `400 bad_request`.
pub fn json_object(body: &Bytes) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ApiError::bad_request("the body must be a JSON object")),
        Err(_) => Err(ApiError::bad_request("the body is not valid JSON")),
    }
}

/// A path id that must be a UUID; anything else is `404`.
pub fn path_uuid(s: &str, what: &str) -> Result<uuid::Uuid, ApiError> {
    uuid::Uuid::parse_str(s).map_err(|_| ApiError::not_found(format!("{what} not found")))
}
