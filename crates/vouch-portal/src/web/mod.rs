//! HTTP: routes, middleware (security headers, same-origin guard) and the error page type.

mod handlers;
pub(crate) mod pages;
mod request_id;

use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;
use tracing::Instrument;

use crate::core::Core;

pub(crate) type AppState = Arc<Core>;

pub(crate) fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(handlers::home))
        .route("/login", get(handlers::login_page).post(handlers::login))
        .route("/logout", post(handlers::logout))
        .route("/token", get(handlers::token))
        .route("/privatekey", get(handlers::token))
        .route("/publickey", get(handlers::public_key))
        .route("/publickeys", get(handlers::public_keys))
        .route("/.well-known/jwks.json", get(handlers::jwks))
        .route("/healthz", get(handlers::healthz))
        .route("/readyz", get(handlers::readyz))
        .route("/assets/site.css", get(handlers::site_css))
        .route("/assets/auth.js", get(handlers::auth_js))
        .route("/metrics", get(metrics))
        .fallback(handlers::not_found)
        .method_not_allowed_fallback(handlers::method_not_allowed)
        .layer(CatchPanicLayer::custom(
            |_: Box<dyn std::any::Any + Send>| {
                tracing::error!("a request handler panicked");
                WebError::Internal.into_response()
            },
        ))
        // Outermost, so every answer (a panic's included) carries the headers and the id.
        .layer(middleware::from_fn_with_state(
            Arc::new(Envelope::new(state.clone())),
            envelope,
        ))
        .with_state(state)
}

/// `GET /metrics`: only with `--metrics-token`, and only to `Authorization: Bearer <token>`
/// (404 without the flag, 401 without the token), so it is never public by accident.
async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(expected) = &state.metrics_token else {
        return handlers::not_found().await.into_response();
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim());
    match presented {
        Some(t) if expected.matches(t) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
                ),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
            state.metrics.render(),
        )
            .into_response(),
        _ => (
            StatusCode::UNAUTHORIZED,
            [(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"metrics\""),
            )],
            "send Authorization: Bearer <the --metrics-token>\n",
        )
            .into_response(),
    }
}

/// What every request goes through, in one layer (outermost first): its id (kept or made),
/// its span, the same-origin guard, and on the way out the request metric, the security
/// headers and the id. (`Router::layer` wraps each route, after routing: `MatchedPath` is there.)
///
/// One `from_fn` layer instead of the seven (tower-http's request-id and trace layers and four
/// `from_fn` functions) this replaced: each `from_fn` clones the boxed inner service and boxes
/// a future per request, and the response's header map grew several times (what that cost per
/// request: docs/benchmarks.md, "`/token`").
struct Envelope {
    core: AppState,
    /// The headers every response carries, built once (not parsed again for every response).
    fixed: Vec<(HeaderName, HeaderValue)>,
}

impl Envelope {
    fn new(core: AppState) -> Envelope {
        let mut fixed = Vec::new();
        match HeaderValue::from_str(&core.settings.csp) {
            Ok(csp) => fixed.push((header::CONTENT_SECURITY_POLICY, csp)),
            Err(_) => tracing::error!("the Content-Security-Policy is not a valid header value"),
        }
        fixed.extend([
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (
                header::REFERRER_POLICY,
                HeaderValue::from_static("strict-origin-when-cross-origin"),
            ),
            (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
            (
                HeaderName::from_static("cross-origin-opener-policy"),
                HeaderValue::from_static("same-origin"),
            ),
            (
                HeaderName::from_static("permissions-policy"),
                HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=()"),
            ),
        ]);
        if core.settings.secure_cookies {
            fixed.push((
                header::STRICT_TRANSPORT_SECURITY,
                HeaderValue::from_static("max-age=31536000"),
            ));
        }
        Envelope { core, fixed }
    }
}

async fn envelope(State(env): State<Arc<Envelope>>, mut req: Request, next: Next) -> Response {
    let id = request_id::take_or_make(req.headers_mut());
    // Request lines carry method, path and status only: no headers (cookies), no bodies, no
    // query; the span carries the request id.
    let span = request_id::span(&id, &req);
    // MatchedPath clones without copying the text; fallbacks (no route) are not counted.
    let route = req.extensions().get::<MatchedPath>().cloned();
    let method = req.method().clone();
    async move {
        let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
        let mut res = if safe || is_same_origin(req.headers(), &env.core) {
            next.run(req).await
        } else {
            // Forms also carry a CSRF token (checked in the handlers): this guard covers
            // browsers that say where a request comes from, the token covers the rest.
            WebError::CrossSite.into_response()
        };
        if res.status().is_server_error() {
            tracing::error!(status = res.status().as_u16(), "request failed");
        } else {
            tracing::debug!(status = res.status().as_u16(), "request finished");
        }
        if let Some(route) = &route {
            env.core
                .metrics
                .http_request(route.as_str(), &method, res.status());
        }
        let h = res.headers_mut();
        h.reserve(env.fixed.len() + 2);
        for (name, value) in &env.fixed {
            h.insert(name.clone(), value.clone());
        }
        // Pages carry per-user data and CSRF tokens: not cached unless a handler says otherwise.
        if !h.contains_key(header::CACHE_CONTROL) {
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        h.insert(request_id::HEADER.clone(), id);
        res
    }
    .instrument(span)
    .await
}

fn is_same_origin(headers: &HeaderMap, state: &Core) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        if !matches!(site.to_str(), Ok("same-origin") | Ok("none")) {
            return false;
        }
    }
    match headers.get(header::ORIGIN) {
        None => true,
        Some(origin) => {
            let Ok(origin) = origin.to_str() else {
                return false;
            };
            if origin == state.settings.public_origin {
                return true;
            }
            // The origin the request was actually sent to (covers `--addr` with port 0 and
            // a public URL left at its default).
            match headers.get(header::HOST).and_then(|h| h.to_str().ok()) {
                Some(host) => origin == format!("{}://{host}", state.settings.public_scheme),
                None => false,
            }
        }
    }
}

/// Every failure a page request can end in. Rendered as a small HTML page; internal
/// details go to the log, never to the client.
#[derive(Debug)]
pub(crate) enum WebError {
    BadRequest(String),
    /// Missing or stale CSRF token.
    Csrf,
    /// Origin / Sec-Fetch-Site says another site sent this.
    CrossSite,
    TooLarge(usize),
    UnsupportedMediaType,
    NotFound,
    MethodNotAllowed,
    Busy,
    Internal,
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let (status, title, text, link) = match &self {
            WebError::BadRequest(m) => (
                StatusCode::BAD_REQUEST,
                "Something is wrong with that request",
                m.clone(),
                ("/", "Back to the shop"),
            ),
            WebError::Csrf => (
                StatusCode::FORBIDDEN,
                "This form has expired",
                "The form's security token (CSRF token) is missing or out of date, so nothing was \
                 done. Reload the page and try again."
                    .to_string(),
                ("/login", "Reload the sign-in page"),
            ),
            WebError::CrossSite => (
                StatusCode::FORBIDDEN,
                "Request refused",
                "This form was sent from another website (cross-site request refused). Open our \
                 site directly and try again."
                    .to_string(),
                ("/", "Go to Contoso Outfitters"),
            ),
            WebError::TooLarge(limit) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "Form too large",
                format!(
                    "The form sent more than {limit} bytes, which is more than this site accepts."
                ),
                ("/login", "Back to sign in"),
            ),
            WebError::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Unsupported form encoding",
                "Forms must be sent as application/x-www-form-urlencoded.".to_string(),
                ("/", "Back to the shop"),
            ),
            WebError::NotFound => (
                StatusCode::NOT_FOUND,
                "Page not found",
                "We couldn't find that page. It may have moved, or the address may be mistyped."
                    .to_string(),
                ("/", "Back to the shop"),
            ),
            WebError::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "Not allowed",
                "That address does not accept this kind of request.".to_string(),
                ("/", "Back to the shop"),
            ),
            WebError::Busy => (
                StatusCode::SERVICE_UNAVAILABLE,
                "We're busy",
                "Too many sign-ins are being processed right now. Please try again in a moment."
                    .to_string(),
                ("/login", "Back to sign in"),
            ),
            WebError::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "An unexpected error occurred on our side. Please try again.".to_string(),
                ("/", "Back to the shop"),
            ),
        };
        let mut res = (status, Html(pages::message(title, &text, link))).into_response();
        if matches!(self, WebError::Busy) {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        res
    }
}

impl From<crate::error::PortalError> for WebError {
    fn from(e: crate::error::PortalError) -> WebError {
        tracing::error!(error = %e, "request failed");
        WebError::Internal
    }
}
