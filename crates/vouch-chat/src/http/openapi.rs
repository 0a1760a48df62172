//! The OpenAPI 3.1 document of the chat service's HTTP API, served at `/api/v1/openapi.json`.
//!
//! The paths come from the `#[utoipa::path]` annotations on the handlers themselves, and the
//! schemas from the very types the handlers answer and read (`ToSchema` on each: the domain's
//! results, the storage records they carry, the edge's bodies), so the document cannot drift
//! from the JSON. `./scripts/schemathesis.sh` runs schemathesis against a live `vouch demo`
//! with this document: every answer must match it and none may be a 5xx.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::storage::{ConversationState, Role, Sender};

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "vouch chat service",
        description = "Authenticated live chat: the widget's public routes, the agent console's \
                       API, the admin API and the operations endpoints. WebSocket frames are \
                       described in design.md.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(
        super::health::healthz,
        super::health::readyz,
        super::metrics::metrics,
        openapi_json,
        super::api::widget_config,
        super::api::create_session,
        super::ws::customer::upgrade,
        super::agent::login,
        super::agent::logout,
        super::agent::me,
        super::agent::list,
        super::agent::detail,
        super::agent::accept,
        super::agent::end,
        super::ws::agent::upgrade,
        super::contacts::get_contact,
        super::admin::list_auth_settings,
        super::admin::create_auth_settings,
        super::admin::update_auth_settings,
        super::admin::list_widgets,
        super::admin::create_widget,
        super::admin::update_widget,
        super::admin::verification_failures,
        super::desk::list_queues,
        super::desk::agent_queues,
        super::desk::agent_colleagues,
        super::desk::create_queue,
        super::desk::set_members,
        super::desk::get_routing,
        super::desk::put_routing,
        super::desk::list_agents,
        super::desk::create_agent,
        super::desk::patch_agent,
        super::desk::put_presence,
        super::desk::transfer,
        super::notes::add_note,
        super::notes::list_notes,
        super::notes::render,
        super::canned::list_for_agent,
        super::canned::create_for_agent,
        super::canned::update_for_agent,
        super::canned::delete_for_agent,
        super::canned::list_shared,
        super::canned::create_shared,
        super::canned::update_shared,
        super::canned::delete_shared,
        super::attachments::customer_upload,
        super::attachments::agent_upload,
        super::attachments::get_attachment,
        super::ratings::rate,
        super::reports::summary,
        super::offline::transcript_email,
        super::search::search,
        super::webhooks::create,
        super::webhooks::list,
        super::webhooks::delete,
        super::webhooks::deliveries,
        super::webhooks::redeliver,
        super::tokens::create,
        super::tokens::list,
        super::tokens::delete,
        super::tokens::contacts,
        super::tokens::conversations,
    ),
    components(schemas(ConversationState, Sender, Role)),
    modifiers(&Security, &StorageUnavailable),
    tags(
        (name = "widget", description = "Public routes the embedded widget calls (CORS for the widget's allowed origins)"),
        (name = "agent", description = "The agent console: Bearer token or the vouch_agent cookie"),
        (name = "admin", description = "Settings and diagnostics (role admin)"),
        (name = "integration", description = "Sync for integrations: Bearer vch_… API tokens with scopes"),
        (name = "operations", description = "Health, readiness, metrics, this document"),
    )
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let c = openapi.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The token of POST /api/v1/agent/login (agents and admins)",
                    ))
                    .build(),
            ),
        );
        c.add_security_scheme(
            "cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                super::auth::COOKIE_NAME,
                "The console's cookie; state-changing requests must carry the service's own Origin",
            ))),
        );
        c.add_security_scheme(
            "metrics_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("The --metrics-token the service was started with"))
                    .build(),
            ),
        );
    }
}

/// Every `/api/v1/` operation that reaches the database may answer `503 storage_unavailable`
/// (the disk is full or read-only, the database is gone): added to each one here rather than
/// repeated on every handler.
struct StorageUnavailable;

impl Modify for StorageUnavailable {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let answer = ResponseBuilder::new()
            .description(
                "`storage_unavailable`: the database cannot be written or read now; retry later",
            )
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build();
        for (path, item) in openapi.paths.paths.iter_mut() {
            if !path.starts_with("/api/v1/") || path == "/api/v1/openapi.json" {
                continue;
            }
            for op in [&mut item.get, &mut item.post, &mut item.put]
                .into_iter()
                .flatten()
            {
                op.responses
                    .responses
                    .entry("503".to_string())
                    .or_insert_with(|| answer.clone().into());
            }
        }
    }
}

/// The document as JSON (built once per call; it is small).
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// `GET /api/v1/openapi.json`
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "operations",
    responses((status = 200, description = "This OpenAPI 3.1 document", content_type = "application/json", body = Object)))]
pub async fn openapi_json() -> Response {
    match document().to_json() {
        Ok(json) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            json,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "rendering the OpenAPI document failed");
            super::error::ApiError::internal().into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("$ref") {
                    out.push(r);
                }
                m.values().for_each(|x| refs(x, out));
            }
            Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
            _ => {}
        }
    }

    #[test]
    fn every_reference_resolves_and_both_upgrades_list_their_answers() {
        let doc = serde_json::to_value(super::document()).expect("document");
        let schemas = doc["components"]["schemas"].as_object().expect("schemas");
        let mut all = Vec::new();
        refs(&doc, &mut all);
        assert!(!all.is_empty());
        for r in all {
            let name = r.strip_prefix("#/components/schemas/").expect(r);
            assert!(schemas.contains_key(name), "{r} does not resolve");
        }
        for path in ["/api/v1/chat", "/api/v1/agent/ws"] {
            let answers = &doc["paths"][path]["get"]["responses"];
            for code in ["101", "400", "401", "403", "426", "429", "503"] {
                assert!(answers.get(code).is_some(), "{path} {code}");
            }
        }
    }
}
