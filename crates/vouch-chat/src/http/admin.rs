//! The admin API (role admin): chat authentication settings, widgets, verification failures.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use bytes::Bytes;
use serde::Serialize;
use uuid::Uuid;

use super::auth::AdminAuth;
use super::error::ApiResult;
use super::{json_object, path_uuid, Answer, AppState};
use crate::domain::diagnostics::FailureReport;
use crate::domain::settings::{NewAuthSettings, NewWidget};
use crate::storage::{ser_rfc3339, AuthSettings, Millis, Widget};

/// `GET /api/v1/admin/auth-settings`
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuthSettingsList {
    pub auth_settings: Vec<AuthSettings>,
}

/// A widget with its embed snippet.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WidgetBody {
    pub app_id: Uuid,
    pub name: String,
    pub allowed_origins: Vec<String>,
    #[schema(required = true)]
    pub auth_settings_id: Option<Uuid>,
    pub require_auth: bool,
    pub title: String,
    /// The `<script id="Microsoft_Omnichannel_LCWidget" …>` tag to paste.
    pub snippet: String,
    /// `{"timezone", "days": {"mon": [["09:00","17:00"]], …}}`; null: always open.
    #[schema(value_type = Option<Object>, required = true)]
    pub business_hours: Option<crate::domain::hours::BusinessHours>,
    /// What the widget says while offline; empty: the widget's own words.
    pub offline_message: String,
    #[serde(serialize_with = "ser_rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Millis,
}

impl WidgetBody {
    fn of(chat: &AppState, w: Widget) -> Self {
        WidgetBody {
            snippet: chat.snippet(w.app_id),
            app_id: w.app_id,
            name: w.name,
            allowed_origins: w.allowed_origins,
            auth_settings_id: w.auth_settings_id,
            require_auth: w.require_auth,
            title: w.title,
            created_at: w.created_at,
            business_hours: w.business_hours,
            offline_message: w.offline_message,
        }
    }
}

/// `GET /api/v1/admin/widgets`
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WidgetList {
    pub widgets: Vec<WidgetBody>,
}

/// `GET /api/v1/admin/auth-settings`
#[utoipa::path(get, path = "/api/v1/admin/auth-settings", tag = "admin",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "Every chat authentication setting", body = AuthSettingsList),
        (status = 401, description = "`unauthorized`: no or a bad token", body = super::error::ErrorBody),
        (status = 403, description = "`forbidden`: not an admin; or `origin_not_allowed`", body = super::error::ErrorBody),
    ))]
pub async fn list_auth_settings(
    State(chat): State<AppState>,
    _a: AdminAuth,
) -> ApiResult<Answer<AuthSettingsList>> {
    let auth_settings = chat.list_auth_settings().await?;
    Ok(Answer(AuthSettingsList { auth_settings }))
}

/// `POST /api/v1/admin/auth-settings` — the key URL is fetched now.
#[utoipa::path(post, path = "/api/v1/admin/auth-settings", tag = "admin",
    security(("bearer" = []), ("cookie" = [])),
    request_body = NewAuthSettings,
    responses(
        (status = 201, description = "Created", body = AuthSettings),
        (status = 400, description = "`bad_request`: not a JSON object", body = super::error::ErrorBody),
        (status = 401, description = "`unauthorized`: no or a bad token", body = super::error::ErrorBody),
        (status = 403, description = "`forbidden`: not an admin; or `origin_not_allowed`", body = super::error::ErrorBody),
        (status = 422, description = "`validation_failed` naming the first invalid field", body = super::error::ErrorBody),
    ))]
pub async fn create_auth_settings(
    State(chat): State<AppState>,
    _a: AdminAuth,
    body: Bytes,
) -> ApiResult<(StatusCode, Answer<AuthSettings>)> {
    let s = chat.create_auth_settings_from(&json_object(&body)?).await?;
    Ok((StatusCode::CREATED, Answer(s)))
}

/// `PUT /api/v1/admin/auth-settings/{id}` — same body and rules as create.
#[utoipa::path(put, path = "/api/v1/admin/auth-settings/{id}", tag = "admin",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = String, Path, description = "The setting's id (a UUID)")),
    request_body = NewAuthSettings,
    responses(
        (status = 200, description = "Updated", body = AuthSettings),
        (status = 400, description = "`bad_request`: not a JSON object", body = super::error::ErrorBody),
        (status = 401, description = "`unauthorized`: no or a bad token", body = super::error::ErrorBody),
        (status = 403, description = "`forbidden`: not an admin; or `origin_not_allowed`", body = super::error::ErrorBody),
        (status = 404, description = "`not_found`", body = super::error::ErrorBody),
        (status = 422, description = "`validation_failed` naming the first invalid field", body = super::error::ErrorBody),
    ))]
pub async fn update_auth_settings(
    State(chat): State<AppState>,
    _a: AdminAuth,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Answer<AuthSettings>> {
    let id = path_uuid(&id, "chat authentication setting")?;
    let s = chat
        .update_auth_settings_from(id, &json_object(&body)?)
        .await?;
    Ok(Answer(s))
}

/// `GET /api/v1/admin/widgets`
#[utoipa::path(get, path = "/api/v1/admin/widgets", tag = "admin",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "Every widget with its snippet", body = WidgetList),
        (status = 401, description = "`unauthorized`: no or a bad token", body = super::error::ErrorBody),
        (status = 403, description = "`forbidden`: not an admin; or `origin_not_allowed`", body = super::error::ErrorBody),
    ))]
pub async fn list_widgets(
    State(chat): State<AppState>,
    _a: AdminAuth,
) -> ApiResult<Answer<WidgetList>> {
    let list = chat.list_widgets().await?;
    let widgets = list.into_iter().map(|w| WidgetBody::of(&chat, w)).collect();
    Ok(Answer(WidgetList { widgets }))
}

/// `POST /api/v1/admin/widgets`
#[utoipa::path(post, path = "/api/v1/admin/widgets", tag = "admin",
    security(("bearer" = []), ("cookie" = [])),
    request_body = NewWidget,
    responses(
        (status = 201, description = "Created", body = WidgetBody),
        (status = 400, description = "`bad_request`: not a JSON object", body = super::error::ErrorBody),
        (status = 401, description = "`unauthorized`: no or a bad token", body = super::error::ErrorBody),
        (status = 403, description = "`forbidden`: not an admin; or `origin_not_allowed`", body = super::error::ErrorBody),
        (status = 422, description = "`validation_failed` naming the first invalid field", body = super::error::ErrorBody),
    ))]
pub async fn create_widget(
    State(chat): State<AppState>,
    _a: AdminAuth,
    body: Bytes,
) -> ApiResult<(StatusCode, Answer<WidgetBody>)> {
    let w = chat.create_widget_from(&json_object(&body)?).await?;
    Ok((StatusCode::CREATED, Answer(WidgetBody::of(&chat, w))))
}

/// `PUT /api/v1/admin/widgets/{app_id}` — same body and rules as create.
#[utoipa::path(put, path = "/api/v1/admin/widgets/{app_id}", tag = "admin",
    security(("bearer" = []), ("cookie" = [])),
    params(("app_id" = String, Path, description = "The widget's app id (a UUID)")),
    request_body = NewWidget,
    responses(
        (status = 200, description = "Updated", body = WidgetBody),
        (status = 400, description = "`bad_request`: not a JSON object", body = super::error::ErrorBody),
        (status = 401, description = "`unauthorized`: no or a bad token", body = super::error::ErrorBody),
        (status = 403, description = "`forbidden`: not an admin; or `origin_not_allowed`", body = super::error::ErrorBody),
        (status = 404, description = "`not_found`", body = super::error::ErrorBody),
        (status = 422, description = "`validation_failed` naming the first invalid field", body = super::error::ErrorBody),
    ))]
pub async fn update_widget(
    State(chat): State<AppState>,
    _a: AdminAuth,
    Path(app_id): Path<String>,
    body: Bytes,
) -> ApiResult<Answer<WidgetBody>> {
    let id = path_uuid(&app_id, "widget")?;
    let w = chat.update_widget_from(id, &json_object(&body)?).await?;
    Ok(Answer(WidgetBody::of(&chat, w)))
}

/// `GET /api/v1/admin/verification-failures`
#[utoipa::path(get, path = "/api/v1/admin/verification-failures", tag = "admin",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "Counts per reason and the newest 100 refusals, newest first", body = FailureReport),
        (status = 401, description = "`unauthorized`: no or a bad token", body = super::error::ErrorBody),
        (status = 403, description = "`forbidden`: not an admin; or `origin_not_allowed`", body = super::error::ErrorBody),
    ))]
pub async fn verification_failures(
    State(chat): State<AppState>,
    _a: AdminAuth,
) -> ApiResult<Answer<FailureReport>> {
    Ok(Answer(chat.verification_failures().await?))
}
