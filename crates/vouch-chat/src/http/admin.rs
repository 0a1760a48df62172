//! The admin API (role admin): chat authentication settings, widgets, verification failures.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use bytes::Bytes;
use serde_json::{json, Value};

use super::auth::AdminAuth;
use super::error::ApiResult;
use super::{json_object, path_uuid, AppState};
use crate::storage::{rfc3339, AuthSettings, Widget};

fn settings_json(s: &AuthSettings) -> Value {
    json!({
        "id": s.id,
        "name": s.name,
        "public_key_url": s.public_key_url,
        "function_name": s.function_name,
        "issuer": s.issuer,
        "leeway_secs": s.leeway_secs,
        "key_count": s.key_count,
        "created_at": rfc3339(s.created_at),
    })
}

fn widget_json(chat: &AppState, w: &Widget) -> Value {
    json!({
        "app_id": w.app_id,
        "name": w.name,
        "allowed_origins": w.allowed_origins,
        "auth_settings_id": w.auth_settings_id,
        "require_auth": w.require_auth,
        "title": w.title,
        "snippet": chat.snippet(w.app_id),
        "created_at": rfc3339(w.created_at),
    })
}

/// `GET /api/v1/admin/auth-settings`
#[utoipa::path(get, path = "/api/v1/admin/auth-settings", tag = "admin",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "Every chat authentication setting", body = super::openapi::AuthSettingsList),
        (status = 401, description = "`unauthorized`: no or a bad token", body = super::openapi::ErrorBody),
        (status = 403, description = "`forbidden`: not an admin; or `origin_not_allowed`", body = super::openapi::ErrorBody),
    ))]
pub async fn list_auth_settings(
    State(chat): State<AppState>,
    _a: AdminAuth,
) -> ApiResult<Json<Value>> {
    let list = chat.list_auth_settings().await?;
    Ok(Json(
        json!({"auth_settings": list.iter().map(settings_json).collect::<Vec<_>>()}),
    ))
}

/// `POST /api/v1/admin/auth-settings` — the key URL is fetched now.
#[utoipa::path(post, path = "/api/v1/admin/auth-settings", tag = "admin",
    security(("bearer" = []), ("cookie" = [])),
    request_body = super::openapi::AuthSettingsRequest,
    responses(
        (status = 201, description = "Created", body = super::openapi::AuthSettingsBody),
        (status = 400, description = "`bad_request`: not a JSON object", body = super::openapi::ErrorBody),
        (status = 401, description = "`unauthorized`: no or a bad token", body = super::openapi::ErrorBody),
        (status = 403, description = "`forbidden`: not an admin; or `origin_not_allowed`", body = super::openapi::ErrorBody),
        (status = 422, description = "`validation_failed` naming the first invalid field", body = super::openapi::ErrorBody),
    ))]
pub async fn create_auth_settings(
    State(chat): State<AppState>,
    _a: AdminAuth,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let s = chat.create_auth_settings_from(&json_object(&body)?).await?;
    Ok((StatusCode::CREATED, Json(settings_json(&s))))
}

/// `PUT /api/v1/admin/auth-settings/{id}` — same body and rules as create.
#[utoipa::path(put, path = "/api/v1/admin/auth-settings/{id}", tag = "admin",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = String, Path, description = "The setting's id (a UUID)")),
    request_body = super::openapi::AuthSettingsRequest,
    responses(
        (status = 200, description = "Updated", body = super::openapi::AuthSettingsBody),
        (status = 400, description = "`bad_request`: not a JSON object", body = super::openapi::ErrorBody),
        (status = 401, description = "`unauthorized`: no or a bad token", body = super::openapi::ErrorBody),
        (status = 403, description = "`forbidden`: not an admin; or `origin_not_allowed`", body = super::openapi::ErrorBody),
        (status = 404, description = "`not_found`", body = super::openapi::ErrorBody),
        (status = 422, description = "`validation_failed` naming the first invalid field", body = super::openapi::ErrorBody),
    ))]
pub async fn update_auth_settings(
    State(chat): State<AppState>,
    _a: AdminAuth,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let id = path_uuid(&id, "chat authentication setting")?;
    let s = chat
        .update_auth_settings_from(id, &json_object(&body)?)
        .await?;
    Ok(Json(settings_json(&s)))
}

/// `GET /api/v1/admin/widgets`
#[utoipa::path(get, path = "/api/v1/admin/widgets", tag = "admin",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "Every widget with its snippet", body = super::openapi::WidgetList),
        (status = 401, description = "`unauthorized`: no or a bad token", body = super::openapi::ErrorBody),
        (status = 403, description = "`forbidden`: not an admin; or `origin_not_allowed`", body = super::openapi::ErrorBody),
    ))]
pub async fn list_widgets(State(chat): State<AppState>, _a: AdminAuth) -> ApiResult<Json<Value>> {
    let list = chat.list_widgets().await?;
    Ok(Json(
        json!({"widgets": list.iter().map(|w| widget_json(&chat, w)).collect::<Vec<_>>()}),
    ))
}

/// `POST /api/v1/admin/widgets`
#[utoipa::path(post, path = "/api/v1/admin/widgets", tag = "admin",
    security(("bearer" = []), ("cookie" = [])),
    request_body = super::openapi::WidgetRequest,
    responses(
        (status = 201, description = "Created", body = super::openapi::WidgetBody),
        (status = 400, description = "`bad_request`: not a JSON object", body = super::openapi::ErrorBody),
        (status = 401, description = "`unauthorized`: no or a bad token", body = super::openapi::ErrorBody),
        (status = 403, description = "`forbidden`: not an admin; or `origin_not_allowed`", body = super::openapi::ErrorBody),
        (status = 422, description = "`validation_failed` naming the first invalid field", body = super::openapi::ErrorBody),
    ))]
pub async fn create_widget(
    State(chat): State<AppState>,
    _a: AdminAuth,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let w = chat.create_widget_from(&json_object(&body)?).await?;
    Ok((StatusCode::CREATED, Json(widget_json(&chat, &w))))
}

/// `PUT /api/v1/admin/widgets/{app_id}` — same body and rules as create.
#[utoipa::path(put, path = "/api/v1/admin/widgets/{app_id}", tag = "admin",
    security(("bearer" = []), ("cookie" = [])),
    params(("app_id" = String, Path, description = "The widget's app id (a UUID)")),
    request_body = super::openapi::WidgetRequest,
    responses(
        (status = 200, description = "Updated", body = super::openapi::WidgetBody),
        (status = 400, description = "`bad_request`: not a JSON object", body = super::openapi::ErrorBody),
        (status = 401, description = "`unauthorized`: no or a bad token", body = super::openapi::ErrorBody),
        (status = 403, description = "`forbidden`: not an admin; or `origin_not_allowed`", body = super::openapi::ErrorBody),
        (status = 404, description = "`not_found`", body = super::openapi::ErrorBody),
        (status = 422, description = "`validation_failed` naming the first invalid field", body = super::openapi::ErrorBody),
    ))]
pub async fn update_widget(
    State(chat): State<AppState>,
    _a: AdminAuth,
    Path(app_id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let id = path_uuid(&app_id, "widget")?;
    let w = chat.update_widget_from(id, &json_object(&body)?).await?;
    Ok(Json(widget_json(&chat, &w)))
}

/// `GET /api/v1/admin/verification-failures`
#[utoipa::path(get, path = "/api/v1/admin/verification-failures", tag = "admin",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "Counts per reason and the newest 100 refusals, newest first", body = super::openapi::VerificationFailures),
        (status = 401, description = "`unauthorized`: no or a bad token", body = super::openapi::ErrorBody),
        (status = 403, description = "`forbidden`: not an admin; or `origin_not_allowed`", body = super::openapi::ErrorBody),
    ))]
pub async fn verification_failures(
    State(chat): State<AppState>,
    _a: AdminAuth,
) -> ApiResult<Json<Value>> {
    let report = chat.verification_failures().await?;
    Ok(Json(json!(report)))
}
