//! The protocol layer: routes, extractors, middleware. Handlers are thin: parse, call the domain,
//! map the error.
//!
//! * `api.rs` — the widget's public routes (config, sessions) with their CORS rules.
//! * `agent.rs`, `admin.rs`, `contacts.rs` — the console's JSON API.
//! * `ws/` — the two WebSockets: one driver (`ws/mod.rs`), the customer's and the agent's role
//!   (`ws/customer.rs`, `ws/agent.rs`), the writer and the protocol's limits (`ws/writer.rs`).
//! * `pages.rs` — the widget's bootstrapper and modules, console and admin pages, static files.
//! * `auth.rs` — agent/admin authentication (Bearer or cookie, with origin checks).
//! * `middleware.rs` — security headers and request logging without secrets.
//! * `request_id.rs` — the `x-request-id` of every request (kept if safe, else generated).
//! * `health.rs`, `metrics.rs`, `openapi.rs` — `/healthz`, `/readyz`, `/metrics` and
//!   `/api/v1/openapi.json`.
//! * `error.rs` — [`error::ApiError`].

pub mod admin;
pub mod agent;
pub mod api;
pub mod attachments;
pub mod auth;
pub mod canned;
pub mod contacts;
pub mod desk;
pub mod error;
pub mod health;
pub mod metrics;
pub mod middleware;
pub mod notes;
pub mod offline;
pub mod openapi;
pub mod pages;
pub mod ratings;
pub mod reports;
pub mod request_id;
pub mod search;
pub mod tokens;
pub mod webhooks;
pub mod ws;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::routing::{get, patch, post, put};
use axum::Router;
use bytes::Bytes;
use serde_json::{Map, Value};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};

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

    // Uploads may be larger than every other body: the file and its multipart framing.
    let upload_limit = DefaultBodyLimit::max(
        chat.limits
            .max_attachment_bytes
            .saturating_add(attachments::MULTIPART_OVERHEAD),
    );
    // The customer's REST routes, called from the site's origin with the session token
    // (CORS by the session's widget).
    let customer_routes = Router::new()
        .route(
            "/api/v1/chat/attachments",
            post(attachments::customer_upload).layer(upload_limit),
        )
        .route("/api/v1/chat/rating", post(ratings::rate))
        .route(
            "/api/v1/chat/transcript-email",
            post(offline::transcript_email),
        )
        .layer(axum::middleware::from_fn_with_state(
            chat.clone(),
            attachments::session_cors,
        ));

    Router::new()
        .merge(widget_routes)
        .merge(customer_routes)
        .route(
            "/api/v1/agent/conversations/{id}/attachments",
            post(attachments::agent_upload).layer(upload_limit),
        )
        .route("/api/v1/attachments/{id}", get(attachments::get_attachment))
        .route("/api/v1/admin/reports/summary", get(reports::summary))
        .route("/api/v1/agent/search", get(search::search))
        .route("/api/v1/chat", get(ws::customer::upgrade))
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
        .route(
            "/api/v1/agent/conversations/{id}/notes",
            get(notes::list_notes).post(notes::add_note),
        )
        .route(
            "/api/v1/agent/conversations/{id}/render",
            post(notes::render),
        )
        .route(
            "/api/v1/agent/canned-replies",
            get(canned::list_for_agent).post(canned::create_for_agent),
        )
        .route(
            "/api/v1/agent/canned-replies/{id}",
            put(canned::update_for_agent).delete(canned::delete_for_agent),
        )
        .route(
            "/api/v1/admin/canned-replies",
            get(canned::list_shared).post(canned::create_shared),
        )
        .route(
            "/api/v1/admin/canned-replies/{id}",
            put(canned::update_shared).delete(canned::delete_shared),
        )
        .route("/api/v1/agent/ws", get(ws::agent::upgrade))
        .route("/api/v1/agent/presence", put(desk::put_presence))
        .route("/api/v1/agent/queues", get(desk::agent_queues))
        .route("/api/v1/agent/agents", get(desk::agent_colleagues))
        .route(
            "/api/v1/agent/conversations/{id}/transfer",
            post(desk::transfer),
        )
        .route(
            "/api/v1/admin/queues",
            get(desk::list_queues).post(desk::create_queue),
        )
        .route("/api/v1/admin/queues/{id}/members", put(desk::set_members))
        .route(
            "/api/v1/admin/widgets/{app_id}/routing",
            get(desk::get_routing).put(desk::put_routing),
        )
        .route(
            "/api/v1/admin/agents",
            get(desk::list_agents).post(desk::create_agent),
        )
        .route("/api/v1/admin/agents/{id}", patch(desk::patch_agent))
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
            "/api/v1/admin/webhooks",
            get(webhooks::list).post(webhooks::create),
        )
        .route(
            "/api/v1/admin/webhooks/{id}",
            axum::routing::delete(webhooks::delete),
        )
        .route(
            "/api/v1/admin/webhooks/{id}/deliveries",
            get(webhooks::deliveries),
        )
        .route(
            "/api/v1/admin/webhooks/{id}/deliveries/{event_id}/redeliver",
            post(webhooks::redeliver),
        )
        .route(
            "/api/v1/admin/api-tokens",
            get(tokens::list).post(tokens::create),
        )
        .route(
            "/api/v1/admin/api-tokens/{id}",
            axum::routing::delete(tokens::delete),
        )
        .route("/api/v1/contacts", get(tokens::contacts))
        .route("/api/v1/conversations", get(tokens::conversations))
        .route(
            "/livechatwidget/scripts/LiveChatBootstrapper.js",
            get(pages::widget_js),
        )
        .route(
            "/livechatwidget/scripts/widget/{name}",
            get(pages::widget_module_latest),
        )
        .route(
            "/livechatwidget/scripts/widget/{version}/{name}",
            get(pages::widget_module),
        )
        .route("/agent", get(pages::agent_page))
        .route("/admin", get(pages::admin_page))
        .route("/static/{name}", get(pages::static_file))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::metrics))
        .route("/api/v1/openapi.json", get(openapi::openapi_json))
        // Counts every route above by its template (keep this after the last route).
        .route_layer(axum::middleware::from_fn_with_state(
            chat.clone(),
            metrics::track_http,
        ))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(error::json_errors))
        .layer(axum::middleware::from_fn_with_state(
            chat.clone(),
            middleware::security_headers,
        ))
        // Outermost first: an unsafe incoming x-request-id is dropped, one is made if none is
        // left, the answer echoes it, and the trace span carries it.
        .layer(middleware::trace_layer())
        .layer(PropagateRequestIdLayer::new(request_id::HEADER.clone()))
        .layer(SetRequestIdLayer::new(
            request_id::HEADER.clone(),
            MakeRequestUuid,
        ))
        .layer(axum::middleware::from_fn(request_id::drop_unsafe))
        .with_state(chat)
}

/// Unknown routes: `404`, counted as `route="unmatched"`.
async fn not_found(State(chat): State<AppState>, method: axum::http::Method) -> ApiError {
    chat.metrics
        .http_request("unmatched", &method, StatusCode::NOT_FOUND.as_u16());
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

/// A typed JSON answer, written with its object keys in sorted order at every level (the order
/// every answer of this API has always had).
#[derive(Debug)]
pub struct Answer<T>(pub T);

impl<T: serde::Serialize> axum::response::IntoResponse for Answer<T> {
    fn into_response(self) -> axum::response::Response {
        match serde_json::to_value(&self.0) {
            Ok(v) => axum::Json(v).into_response(),
            Err(e) => {
                tracing::error!(error = %e, "serializing an answer failed");
                ApiError::internal().into_response()
            }
        }
    }
}
