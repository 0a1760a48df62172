//! `GET /api/v1/admin/reports/summary?from=RFC3339&to=RFC3339` (admins): the period's
//! conversations, verified share, medians of wait and first response, ratings.

use axum::extract::{RawQuery, State};

use super::attachments::query_param;
use super::auth::AdminAuth;
use super::error::ApiResult;
use super::{Answer, AppState};
use crate::domain::reports::{ReportSummary, DEFAULT_PERIOD_MS};
use crate::error::ChatError;
use crate::storage::{now_millis, Millis};

/// A query's RFC 3339 time as Unix milliseconds; `422` naming the field when it is not one.
fn time_param(query: Option<&str>, name: &str) -> Result<Option<Millis>, ChatError> {
    let Some(v) = query_param(query, name) else {
        return Ok(None);
    };
    let t = time::OffsetDateTime::parse(&v, &time::format_description::well_known::Rfc3339)
        .map_err(|_| {
            ChatError::validation(
                name,
                format!("{name} must be an RFC 3339 time (2026-01-31T00:00:00Z)"),
            )
        })?;
    Ok(Some((t.unix_timestamp_nanos() / 1_000_000) as Millis))
}

/// `GET /api/v1/admin/reports/summary`
#[utoipa::path(get, path = "/api/v1/admin/reports/summary", tag = "admin",
    security(("bearer" = []), ("cookie" = [])),
    params(
        ("from" = Option<String>, Query, description = "Start (inclusive), RFC 3339; default: 30 days before `to`"),
        ("to" = Option<String>, Query, description = "End (exclusive), RFC 3339; default: now"),
    ),
    responses(
        (status = 200, description = "The summary", body = ReportSummary),
        (status = 401, description = "`unauthorized`", body = super::error::ErrorBody),
        (status = 403, description = "`forbidden`: not an admin", body = super::error::ErrorBody),
        (status = 422, description = "`validation_failed`: a bad time, `to` not after `from`, or more than 366 days", body = super::error::ErrorBody),
    ))]
pub async fn summary(
    State(chat): State<AppState>,
    _admin: AdminAuth,
    RawQuery(query): RawQuery,
) -> ApiResult<Answer<ReportSummary>> {
    let from = time_param(query.as_deref(), "from")?;
    let to = time_param(query.as_deref(), "to")?.unwrap_or_else(now_millis);
    let from = from.unwrap_or(to - DEFAULT_PERIOD_MS);
    Ok(Answer(chat.report_summary(from, to).await?))
}
