//! The widget's bootstrapper and modules, the console and admin pages, and their static files.

use axum::extract::{Path, State};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::AppState;
use crate::assets;

/// `GET /livechatwidget/scripts/LiveChatBootstrapper.js` — any site may load it. Cached
/// briefly: it names the current version of the widget's modules.
pub async fn widget_js() -> Response {
    cross_origin_script(assets::widget_bootstrapper(), "public, max-age=300")
}

/// `GET /livechatwidget/scripts/widget/{version}/{name}` — the widget's modules, which the
/// bootstrapper imports cross-origin from the host page (a CORS request, hence
/// `Access-Control-Allow-Origin`). The current version's are cached for good; a stale
/// bootstrapper's version gets the current modules, revalidated each time.
pub async fn widget_module(Path((version, name)): Path<(String, String)>) -> Response {
    let cache = if version == assets::widget_version() {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    match assets::widget_module(&name) {
        Some((_, body)) => cross_origin_script(body, cache),
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

/// `GET /livechatwidget/scripts/widget/{name}` — a module by its unversioned path (the agent
/// console imports `wire.js` from here), revalidated each time.
pub async fn widget_module_latest(Path(name): Path<String>) -> Response {
    match assets::widget_module(&name) {
        Some((_, body)) => cross_origin_script(body, "no-cache"),
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

/// A script any site may load, as a classic script or as a module.
fn cross_origin_script(body: &'static str, cache: &'static str) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                "application/javascript; charset=utf-8",
            ),
            (header::CACHE_CONTROL, cache),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
        [(
            HeaderName::from_static("cross-origin-resource-policy"),
            "cross-origin",
        )],
        body,
    )
        .into_response()
}

/// The pages' CSP: no inline script or style; sockets only to this service.
fn page_csp(chat: &AppState) -> HeaderValue {
    let origin = chat.public_origin();
    let host = origin
        .split_once("://")
        .map(|(_, h)| h)
        .unwrap_or_default()
        .to_string();
    let csp = format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self' ws://{host} wss://{host}; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    );
    HeaderValue::from_str(&csp).unwrap_or_else(|_| {
        HeaderValue::from_static("default-src 'self'; frame-ancestors 'none'; base-uri 'none'")
    })
}

fn page(chat: &AppState, html: &'static str) -> Response {
    let mut res = (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        html,
    )
        .into_response();
    res.headers_mut()
        .insert(header::CONTENT_SECURITY_POLICY, page_csp(chat));
    res
}

pub async fn agent_page(State(chat): State<AppState>) -> Response {
    page(&chat, assets::agent_html())
}

pub async fn admin_page(State(chat): State<AppState>) -> Response {
    page(&chat, assets::admin_html())
}

/// `GET /static/{name}`
pub async fn static_file(Path(name): Path<String>) -> Response {
    match assets::static_file(&name) {
        Some((ct, body)) => (
            [
                (header::CONTENT_TYPE, ct),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            body,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}
