//! The widget's public routes: its config and session creation, with CORS answered only to the
//! widget's allowed origins (the exact origin echoed; methods GET, POST; headers
//! AuthenticatedUserToken, Content-Type; no credentials).

use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Serialize;
use uuid::Uuid;

use super::error::ApiResult;
use super::{json_object, origin_of, Answer, AppState, ClientAddr};
use crate::domain::sessions::{SessionRequest, WidgetConfig};
use crate::storage::{ser_rfc3339, Contact, ConversationState, Millis};

/// Optional body of `POST /api/v1/widgets/{app_id}/sessions`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionBody {
    /// Context variables: an object of primitives (≤100 entries, names ≤100 chars, values ≤4000 chars).
    #[schema(value_type = Option<Object>)]
    pub context: Option<serde_json::Map<String, serde_json::Value>>,
}

/// `201` of `POST /api/v1/widgets/{app_id}/sessions`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionCreated {
    /// The customer socket's bearer secret (`GET /api/v1/chat?session_token=…`).
    pub session_token: String,
    pub conversation_id: Uuid,
    pub verified: bool,
    #[schema(required = true)]
    pub contact: Option<Contact>,
    #[serde(serialize_with = "ser_rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Millis,
    pub state: ConversationState,
}

/// The header that carries the customer's token.
pub const TOKEN_HEADER: &str = "authenticatedusertoken";

fn app_id_of_path(path: &str) -> Option<&str> {
    path.strip_prefix("/api/v1/widgets/")?.split('/').next()
}

/// CORS for the widget routes, including the preflight.
pub async fn widget_cors(State(chat): State<AppState>, req: Request, next: Next) -> Response {
    let origin = origin_of(req.headers());
    let allowed = match (origin.as_deref(), app_id_of_path(req.uri().path())) {
        (Some(o), Some(app_id)) => match chat.widget_for(app_id).await {
            Ok(w) => w.allows_origin(o),
            Err(_) => false,
        },
        _ => false,
    };
    with_cors(
        req,
        next,
        origin.filter(|_| allowed),
        "AuthenticatedUserToken, Content-Type",
        Some("Retry-After"),
    )
    .await
}

/// Runs the request (a preflight is answered `204` here) and, when `allowed_origin` is given (the
/// caller found that the widget allows it), adds CORS for exactly that origin: methods GET and
/// POST, `allow_headers`, `expose` if any, no credentials. `Vary: Origin` always. The one shape
/// of every route the widget calls from the site (the widget routes, the customer's REST routes).
pub(crate) async fn with_cors(
    req: Request,
    next: Next,
    allowed_origin: Option<String>,
    allow_headers: &'static str,
    expose: Option<&'static str>,
) -> Response {
    let mut res = if req.method() == Method::OPTIONS {
        StatusCode::NO_CONTENT.into_response()
    } else {
        next.run(req).await
    };
    let h = res.headers_mut();
    h.append(header::VARY, HeaderValue::from_static("Origin"));
    if let Some(v) = allowed_origin.and_then(|o| HeaderValue::from_str(&o).ok()) {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(allow_headers),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
        if let Some(expose) = expose {
            h.insert(
                header::ACCESS_CONTROL_EXPOSE_HEADERS,
                HeaderValue::from_static(expose),
            );
        }
    }
    res
}

/// `GET /api/v1/widgets/{app_id}/config`
#[utoipa::path(get, path = "/api/v1/widgets/{app_id}/config", tag = "widget",
    params(("app_id" = String, Path, description = "The widget's app id")),
    responses(
        (status = 200, description = "The widget's public config", body = WidgetConfig),
        (status = 404, description = "`unknown_widget`", body = super::error::ErrorBody),
    ))]
pub async fn widget_config(
    State(chat): State<AppState>,
    Path(app_id): Path<String>,
) -> ApiResult<Answer<WidgetConfig>> {
    Ok(Answer(chat.widget_config(&app_id).await?))
}

fn token_header(headers: &HeaderMap) -> Option<String> {
    headers
        .get(TOKEN_HEADER)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

/// `POST /api/v1/widgets/{app_id}/sessions`
#[utoipa::path(post, path = "/api/v1/widgets/{app_id}/sessions", tag = "widget",
    params(
        ("app_id" = String, Path, description = "The widget's app id"),
        ("AuthenticatedUserToken" = Option<String>, Header, description = "The customer's JWT (required when the widget requires auth)"),
    ),
    request_body(content = Option<SessionBody>, description = "Optional context variables"),
    responses(
        (status = 201, description = "Session and conversation created (or the open conversation of the same verified contact joined)", body = SessionCreated),
        (status = 400, description = "`bad_request`: the body is not a JSON object", body = super::error::ErrorBody),
        (status = 401, description = "`auth_required` or `invalid_token` (with `reason`)", body = super::error::ErrorBody),
        (status = 403, description = "`origin_not_allowed`: the Origin header is missing or not allowed", body = super::error::ErrorBody),
        (status = 404, description = "`unknown_widget`", body = super::error::ErrorBody),
        (status = 422, description = "`validation_failed`: bad context", body = super::error::ErrorBody),
        (status = 429, description = "`rate_limited`", body = super::error::ErrorBody),
    ))]
pub async fn create_session(
    State(chat): State<AppState>,
    Path(app_id): Path<String>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let mut obj = json_object(&body)?;
    let s = chat
        .create_session(SessionRequest {
            app_id,
            origin: origin_of(&headers),
            token: token_header(&headers),
            context: obj.remove("context"),
            client,
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        Answer(SessionCreated {
            session_token: s.session_token,
            conversation_id: s.conversation.id,
            verified: s.verified,
            contact: s.contact,
            expires_at: s.expires_at,
            state: s.conversation.state,
        }),
    )
        .into_response())
}
