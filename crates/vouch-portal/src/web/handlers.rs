//! Route handlers: parse, call the domain, map the outcome. Nothing here touches SQL.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};

use super::pages::{self, Viewer, Widget};
use super::{AppState, WebError};
use crate::core::{Core, Session, SignInError};
use crate::secrets::{self, cookie_value};
use crate::throttle::AddrKey;
use crate::users::{MAX_EMAIL_LEN, MAX_PASSWORD_LEN};

const FAILED_SIGN_IN: &str = "Incorrect email or password.";

/// The client's address group, for throttling (absent when served without connect info).
pub(crate) struct ClientAddr(AddrKey);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        Ok(ClientAddr(AddrKey::from_ip(ip)))
    }
}

fn session_cookie<'a>(core: &Core, headers: &'a HeaderMap) -> Option<&'a str> {
    cookie_value(headers.get_all(header::COOKIE).iter(), core.cookies.session)
}

async fn current_session(core: &Core, headers: &HeaderMap) -> Result<Option<Session>, WebError> {
    Ok(core.session(session_cookie(core, headers)).await?)
}

fn with_cookie(mut res: Response, cookie: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(cookie) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

/// A URL-encoded form, read with a size limit. Duplicate fields are refused.
struct Form(Vec<(String, String)>);

impl Form {
    async fn read(headers: &HeaderMap, body: Body, limit: usize) -> Result<Form, WebError> {
        let form_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| {
                v.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            });
        if !form_type {
            return Err(WebError::UnsupportedMediaType);
        }
        let declared = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit as u64) {
            return Err(WebError::TooLarge(limit));
        }
        let bytes = axum::body::to_bytes(body, limit)
            .await
            .map_err(|_| WebError::TooLarge(limit))?;
        let mut fields: Vec<(String, String)> = Vec::new();
        for (k, v) in url::form_urlencoded::parse(&bytes) {
            if fields.iter().any(|(name, _)| *name == k) {
                return Err(WebError::BadRequest(format!(
                    "The form field \"{}\" was sent more than once.",
                    k.chars().take(40).collect::<String>()
                )));
            }
            fields.push((k.into_owned(), v.into_owned()));
        }
        Ok(Form(fields))
    }

    fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }
}

fn widget(core: &Core) -> Option<Widget<'_>> {
    core.settings.widget_app_id.as_deref().map(|app_id| Widget {
        chat_base: &core.settings.chat_base,
        app_id,
    })
}

pub(crate) async fn home(
    State(core): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let session = current_session(&core, &headers).await?;
    let html = match &session {
        Some(s) => {
            let r = &s.record;
            let v = Viewer {
                given_name: &r.given_name,
                family_name: &r.family_name,
                email: &r.email,
                contact_id: &r.contact_id,
                csrf_token: &r.csrf_token,
            };
            pages::home(Some(&v), widget(&core).as_ref())
        }
        None => pages::home(None, widget(&core).as_ref()),
    };
    Ok(Html(html).into_response())
}

/// The login form's CSRF token: the pre-session cookie's value, or a new one to set.
fn login_csrf(core: &Core, headers: &HeaderMap) -> (String, Option<String>) {
    match cookie_value(headers.get_all(header::COOKIE).iter(), core.cookies.csrf) {
        Some(v) => (v.to_string(), None),
        None => {
            let v = secrets::random_secret();
            let cookie = core.cookies.csrf_cookie(&v);
            (v, Some(cookie))
        }
    }
}

fn login_response(
    status: StatusCode,
    core: &Core,
    headers: &HeaderMap,
    email: &str,
    error: Option<&str>,
) -> Response {
    let (token, set) = login_csrf(core, headers);
    let res = (status, Html(pages::login(&token, email, error))).into_response();
    match set {
        Some(c) => with_cookie(res, &c),
        None => res,
    }
}

pub(crate) async fn login_page(
    State(core): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    if current_session(&core, &headers).await?.is_some() {
        return Ok(Redirect::to("/").into_response());
    }
    Ok(login_response(StatusCode::OK, &core, &headers, "", None))
}

fn minutes(secs: i64) -> String {
    let m = (secs + 59) / 60;
    if m <= 1 {
        "1 minute".to_string()
    } else {
        format!("{m} minutes")
    }
}

pub(crate) async fn login(
    State(core): State<AppState>,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, WebError> {
    let form = Form::read(&headers, body, core.settings.max_form_bytes).await?;
    let expected = cookie_value(headers.get_all(header::COOKIE).iter(), core.cookies.csrf);
    let sent = form.get("csrf_token");
    match expected {
        Some(e) if secrets::constant_time_eq(e, sent) => {}
        _ => return Err(WebError::Csrf),
    }
    let email = form.get("email");
    let password = form.get("password");
    if email.chars().count() > MAX_EMAIL_LEN {
        return Err(WebError::BadRequest(format!(
            "The email address is longer than {MAX_EMAIL_LEN} characters."
        )));
    }
    if password.len() > MAX_PASSWORD_LEN {
        return Err(WebError::BadRequest(format!(
            "The password is longer than {MAX_PASSWORD_LEN} bytes."
        )));
    }
    let previous = current_session(&core, &headers).await?;
    let result = core.sign_in(email, password, addr, previous.as_ref()).await;
    core.metrics.sign_in(match &result {
        Ok(_) => "ok",
        Err(SignInError::Invalid) => "invalid",
        Err(SignInError::TooManyAttempts { .. }) => "throttled",
        Err(SignInError::Locked { .. }) => "locked",
        Err(SignInError::Busy) => "busy",
        Err(SignInError::Internal(_)) => "error",
    });
    match result {
        Ok(new) => {
            let cookie = core
                .cookies
                .session_cookie(&new.cookie_value, core.settings.session_max_age);
            Ok(with_cookie(Redirect::to("/").into_response(), &cookie))
        }
        Err(SignInError::Invalid) => Ok(login_response(
            StatusCode::UNAUTHORIZED,
            &core,
            &headers,
            email,
            Some(FAILED_SIGN_IN),
        )),
        Err(SignInError::TooManyAttempts { retry_after }) => {
            let msg = format!(
                "Too many sign-in attempts. Please wait {retry_after} seconds and try again."
            );
            Ok(throttled(&core, &headers, email, &msg, retry_after))
        }
        Err(SignInError::Locked { retry_after }) => {
            let msg = format!(
                "This account is temporarily locked after too many failed sign-in attempts. \
                 Try again in {}.",
                minutes(retry_after)
            );
            Ok(throttled(&core, &headers, email, &msg, retry_after))
        }
        Err(SignInError::Busy) => Err(WebError::Busy),
        Err(SignInError::Internal(e)) => Err(e.into()),
    }
}

fn throttled(core: &Core, headers: &HeaderMap, email: &str, msg: &str, retry: i64) -> Response {
    let mut res = login_response(
        StatusCode::TOO_MANY_REQUESTS,
        core,
        headers,
        email,
        Some(msg),
    );
    if let Ok(v) = HeaderValue::from_str(&retry.max(1).to_string()) {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    res
}

pub(crate) async fn logout(
    State(core): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, WebError> {
    let form = Form::read(&headers, body, core.settings.max_form_bytes).await?;
    let clear = core.cookies.clear_session();
    let Some(session) = current_session(&core, &headers).await? else {
        return Ok(with_cookie(Redirect::to("/").into_response(), &clear));
    };
    if !secrets::constant_time_eq(&session.record.csrf_token, form.get("csrf_token")) {
        return Err(WebError::Csrf);
    }
    core.sign_out(&session).await?;
    Ok(with_cookie(Redirect::to("/").into_response(), &clear))
}

fn plain(status: StatusCode, content_type: &'static str, body: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body,
    )
        .into_response()
}

/// `/token` and `/privatekey`: the signed-in user's JWT. Never cached, never CORS.
/// (Takes the request rather than a `HeaderMap`, which axum would clone for the handler.)
pub(crate) async fn token(State(core): State<AppState>, req: Request) -> Response {
    let session = match core.session(session_cookie(&core, req.headers())).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "session lookup failed");
            return plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                "text/plain; charset=utf-8",
                "token service unavailable\n".into(),
            );
        }
    };
    let Some(session) = session else {
        return plain(
            StatusCode::UNAUTHORIZED,
            "text/plain; charset=utf-8",
            "not signed in\n".into(),
        );
    };
    match core.issue_token(&session) {
        Ok(jwt) => {
            core.metrics.token_issued();
            plain(StatusCode::OK, "application/jwt", jwt)
        }
        Err(e) => {
            tracing::error!(error = %e, "token signing failed");
            plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                "text/plain; charset=utf-8",
                "token service unavailable\n".into(),
            )
        }
    }
}

fn public(content_type: &'static str, max_age: &'static str, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static(max_age)),
        ],
        body,
    )
        .into_response()
}

const KEY_CACHE: &str = "public, max-age=300";

pub(crate) async fn public_key(State(core): State<AppState>) -> Response {
    public(
        "text/plain; charset=utf-8",
        KEY_CACHE,
        core.ring().current_pem.clone(),
    )
}

pub(crate) async fn public_keys(State(core): State<AppState>) -> Response {
    let ring = core.ring();
    let doc = vouch_jwt::multi_key_list(&ring.published(core.now()));
    public("application/json", KEY_CACHE, doc.to_string())
}

pub(crate) async fn jwks(State(core): State<AppState>) -> Response {
    let ring = core.ring();
    let keys: Vec<_> = ring
        .published(core.now())
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    let doc = vouch_jwt::jwks_document(&keys);
    public("application/json", KEY_CACHE, doc.to_string())
}

pub(crate) async fn healthz() -> Response {
    plain(StatusCode::OK, "text/plain; charset=utf-8", "ok\n".into())
}

pub(crate) async fn readyz(State(core): State<AppState>) -> Response {
    match core.store.ping().await {
        Ok(()) => plain(
            StatusCode::OK,
            "text/plain; charset=utf-8",
            "ready\n".into(),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "text/plain; charset=utf-8",
                "database unavailable\n".into(),
            )
        }
    }
}

pub(crate) async fn site_css() -> Response {
    public(
        "text/css; charset=utf-8",
        "public, max-age=3600",
        include_str!("../../assets/site.css").to_string(),
    )
}

pub(crate) async fn auth_js() -> Response {
    public(
        "text/javascript; charset=utf-8",
        "public, max-age=3600",
        include_str!("../../assets/auth.js").to_string(),
    )
}

pub(crate) async fn not_found() -> WebError {
    WebError::NotFound
}

pub(crate) async fn method_not_allowed() -> WebError {
    WebError::MethodNotAllowed
}
