//! Who is calling the console API: an agent by `Authorization: Bearer <token>` or by the
//! console's `vouch_agent` cookie. Cookie-authenticated state-changing requests must come from
//! the service's own origin (CSRF). Customer session tokens are never agent tokens.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method};

use super::error::ApiError;
use super::{origin_of, AppState};
use crate::storage::{Agent, Role};

/// The console's cookie.
pub const COOKIE_NAME: &str = "vouch_agent";

/// The bearer token of a request and whether it came from the cookie.
pub fn token_of(headers: &HeaderMap) -> Option<(String, bool)> {
    if let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let (scheme, token) = v.trim().split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return None;
        }
        return Some((token.trim().to_string(), false));
    }
    for v in headers.get_all(header::COOKIE) {
        let Ok(s) = v.to_str() else { continue };
        for pair in s.split(';') {
            if let Some((k, val)) = pair.trim().split_once('=') {
                if k == COOKIE_NAME && !val.is_empty() {
                    return Some((val.to_string(), true));
                }
            }
        }
    }
    None
}

/// A signed-in agent (any role).
#[derive(Debug, Clone)]
pub struct AgentAuth {
    pub agent: Agent,
    pub token: String,
    pub via_cookie: bool,
}

impl FromRequestParts<AppState> for AgentAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, chat: &AppState) -> Result<Self, ApiError> {
        let (token, via_cookie) = token_of(&parts.headers).ok_or_else(ApiError::unauthorized)?;
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if via_cookie && !safe {
            match origin_of(&parts.headers) {
                Some(o) if chat.is_own_origin(&o) => {}
                _ => return Err(ApiError::origin_not_allowed()),
            }
        }
        let agent = chat
            .agent_for_token(&token)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(ApiError::unauthorized)?;
        Ok(AgentAuth {
            agent,
            token,
            via_cookie,
        })
    }
}

/// A signed-in admin; agents get `403 {"error":"forbidden"}`.
#[derive(Debug, Clone)]
pub struct AdminAuth(pub Agent);

impl FromRequestParts<AppState> for AdminAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, chat: &AppState) -> Result<Self, ApiError> {
        let a = AgentAuth::from_request_parts(parts, chat).await?;
        if a.agent.role != Role::Admin {
            return Err(ApiError::forbidden("this needs an admin"));
        }
        Ok(AdminAuth(a.agent))
    }
}
