//! Attachments: `POST /api/v1/chat/attachments?session_token=…` (the customer),
//! `POST /api/v1/agent/conversations/{id}/attachments` (the assigned agent), both
//! `multipart/form-data` with exactly one `file` part → `201 {"id","filename","content_type","size"}`;
//! `GET /api/v1/attachments/{id}` with the conversation's session token or an agent's
//! bearer/cookie → the bytes, as a download that no browser renders as a page.
//!
//! Also the CORS of the customer's REST routes (`/api/v1/chat/…`): the widget calls them from
//! the site's origin, which must be one its session's widget allows.

use axum::extract::multipart::{Field, MultipartError};
use axum::extract::{Multipart, Path, RawQuery, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::BytesMut;

use super::auth::{token_of, AgentAuth};
use super::error::{ApiError, ApiResult};
use super::{origin_of, path_uuid, Answer, AppState};
use crate::domain::attachments::Upload;
use crate::domain::sessions::SessionContext;
use crate::domain::Chat;
use crate::error::{ChatError, ErrorCode};
use crate::storage::{Attachment, AttachmentMeta};

/// Room for the multipart framing around the file (boundaries, part headers).
pub const MULTIPART_OVERHEAD: usize = 64 * 1024;

/// A query parameter.
pub fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query?.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The session of `?session_token=`; `401` when unknown or expired.
pub async fn session_of(chat: &Chat, query: Option<&str>) -> ApiResult<SessionContext> {
    let token = query_param(query, "session_token").unwrap_or_default();
    chat.session_for_token(&token).await.map_err(|e| match e {
        ChatError::Unauthorized => ApiError::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthorized,
            "unknown or expired session: create a new one",
        ),
        e => e.into(),
    })
}

/// CORS for `/api/v1/chat/…` (and the preflight): the session's widget must allow the origin.
pub async fn session_cors(State(chat): State<AppState>, req: Request, next: Next) -> Response {
    let origin = origin_of(req.headers());
    let allowed = match origin.as_deref() {
        Some(o) => match session_of(&chat, req.uri().query()).await {
            Ok(ctx) => ctx.widget.allows_origin(o),
            Err(_) => false,
        },
        None => false,
    };
    super::api::with_cors(req, next, origin.filter(|_| allowed), "Content-Type", None).await
}

fn multipart_error(e: MultipartError, max: usize) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ChatError::TooLarge { max }.into()
    } else {
        ApiError::bad_request(format!(
            "the multipart body is malformed: {}",
            e.body_text()
        ))
    }
}

/// Reads one part whole, stopping at `max` bytes (`413` beyond it).
async fn read_part(mut field: Field<'_>, max: usize) -> ApiResult<bytes::Bytes> {
    let mut buf = BytesMut::new();
    while let Some(chunk) = field.chunk().await.map_err(|e| multipart_error(e, max))? {
        if buf.len() + chunk.len() > max {
            return Err(ChatError::TooLarge { max }.into());
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

/// The body's one `file` part. Another part (a second file, any other field) is `422`.
async fn one_file(chat: &Chat, mut form: Multipart) -> ApiResult<Upload> {
    let max = chat.limits.max_attachment_bytes;
    let mut upload = None;
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| multipart_error(e, max))?
    {
        if field.name() != Some("file") || upload.is_some() {
            return Err(ChatError::validation(
                "file",
                "send exactly one part, named file (one file per upload)",
            )
            .into());
        }
        let filename = field.file_name().map(str::to_string);
        let declared_type = field.content_type().map(str::to_string);
        let data = read_part(field, max).await?;
        upload = Some(Upload {
            filename,
            declared_type,
            data,
        });
    }
    upload.ok_or_else(|| ChatError::validation("file", "the file part is missing").into())
}

fn created(meta: AttachmentMeta) -> Response {
    (StatusCode::CREATED, Answer(meta)).into_response()
}

/// `POST /api/v1/chat/attachments?session_token=…`
#[utoipa::path(post, path = "/api/v1/chat/attachments", tag = "widget",
    params(("session_token" = String, Query, description = "The session's token")),
    request_body(content_type = "multipart/form-data", description = "Exactly one part named `file`"),
    responses(
        (status = 400, description = "`bad_request`: not a well-formed multipart body", body = super::error::ErrorBody),
        (status = 201, description = "Stored (durably)", body = AttachmentMeta),
        (status = 401, description = "`unauthorized`: unknown or expired session", body = super::error::ErrorBody),
        (status = 409, description = "`conversation_ended`", body = super::error::ErrorBody),
        (status = 413, description = "`too_large`", body = super::error::ErrorBody),
        (status = 415, description = "`unsupported_media_type`", body = super::error::ErrorBody),
        (status = 422, description = "`validation_failed`: no file, an empty file, or more than one part", body = super::error::ErrorBody),
    ))]
pub async fn customer_upload(
    State(chat): State<AppState>,
    RawQuery(query): RawQuery,
    form: Multipart,
) -> ApiResult<Response> {
    let ctx = session_of(&chat, query.as_deref()).await?;
    let upload = one_file(&chat, form).await?;
    Ok(created(chat.customer_upload(&ctx, upload).await?))
}

/// `POST /api/v1/agent/conversations/{id}/attachments`
#[utoipa::path(post, path = "/api/v1/agent/conversations/{id}/attachments", tag = "agent",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = String, Path, description = "The conversation's id")),
    request_body(content_type = "multipart/form-data", description = "Exactly one part named `file`"),
    responses(
        (status = 400, description = "`bad_request`: not a well-formed multipart body", body = super::error::ErrorBody),
        (status = 201, description = "Stored (durably)", body = AttachmentMeta),
        (status = 401, description = "`unauthorized`", body = super::error::ErrorBody),
        (status = 403, description = "`forbidden`: not the assigned agent", body = super::error::ErrorBody),
        (status = 404, description = "`not_found`", body = super::error::ErrorBody),
        (status = 409, description = "`conversation_ended`", body = super::error::ErrorBody),
        (status = 413, description = "`too_large`", body = super::error::ErrorBody),
        (status = 415, description = "`unsupported_media_type`", body = super::error::ErrorBody),
        (status = 422, description = "`validation_failed`", body = super::error::ErrorBody),
    ))]
pub async fn agent_upload(
    State(chat): State<AppState>,
    auth: AgentAuth,
    Path(id): Path<String>,
    form: Multipart,
) -> ApiResult<Response> {
    let id = path_uuid(&id, "conversation")?;
    let upload = one_file(&chat, form).await?;
    Ok(created(chat.agent_upload(&auth.agent, id, upload).await?))
}

/// `Content-Disposition: attachment; filename="…"` (an ASCII fallback; `filename*` carries
/// the UTF-8 name when it has other characters).
fn disposition(name: &str) -> HeaderValue {
    let ascii: String = name
        .chars()
        .map(|c| {
            if (c.is_ascii_graphic() && c != '"' && c != '\\') || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut v = format!("attachment; filename=\"{ascii}\"");
    if ascii != name {
        let encoded: String = url::form_urlencoded::byte_serialize(name.as_bytes())
            .collect::<String>()
            .replace('+', "%20");
        v.push_str(&format!("; filename*=UTF-8''{encoded}"));
    }
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

fn download(a: Attachment, data: Vec<u8>) -> Response {
    let content_type = HeaderValue::from_str(&a.content_type)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    let headers = [
        (header::CONTENT_TYPE, content_type),
        (header::CONTENT_DISPOSITION, disposition(&a.filename)),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("sandbox"),
        ),
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-store"),
        ),
        // The widget shows image previews on the site's origin (the token is the guard).
        (
            HeaderName::from_static("cross-origin-resource-policy"),
            HeaderValue::from_static("cross-origin"),
        ),
    ];
    (StatusCode::OK, headers, data).into_response()
}

/// `GET /api/v1/attachments/{id}`
#[utoipa::path(get, path = "/api/v1/attachments/{id}", tag = "widget",
    params(
        ("id" = String, Path, description = "The attachment's id"),
        ("session_token" = Option<String>, Query, description = "The conversation's session token (customers); agents use their bearer token or cookie"),
    ),
    responses(
        (status = 200, description = "The bytes, with the sniffed Content-Type, `Content-Disposition: attachment`, `nosniff` and `Content-Security-Policy: sandbox`"),
        (status = 404, description = "`not_found`: no such attachment, or not yours to read", body = super::error::ErrorBody),
    ))]
pub async fn get_attachment(
    State(chat): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let not_found = || ApiError::not_found("attachment not found");
    let id = path_uuid(&id, "attachment")?;
    let found = if query_param(query.as_deref(), "session_token").is_some() {
        let ctx = session_of(&chat, query.as_deref())
            .await
            .map_err(|_| not_found())?;
        chat.attachment_for_customer(&ctx, id).await
    } else {
        let (token, _) = token_of(&headers).ok_or_else(not_found)?;
        match chat.agent_for_token(&token).await? {
            Some(_) => chat.attachment_for_agent(id).await,
            None => return Err(not_found()),
        }
    };
    match found {
        Ok((a, data)) => Ok(download(a, data)),
        Err(ChatError::NotFound(_)) => Err(not_found()),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispositions_quote_safely() {
        assert_eq!(
            disposition("photo 1.png").to_str().unwrap(),
            "attachment; filename=\"photo 1.png\""
        );
        assert_eq!(
            disposition("Übersicht.pdf").to_str().unwrap(),
            "attachment; filename=\"_bersicht.pdf\"; filename*=UTF-8''%C3%9Cbersicht.pdf"
        );
    }
}
