//! The OpenAPI 3.1 document of the chat service's HTTP API, served at `/api/v1/openapi.json`.
//!
//! The paths come from the `#[utoipa::path]` annotations on the handlers themselves; the types
//! below describe the JSON they answer, with design.md's field names exactly. `./scripts/test`
//! runs schemathesis against a live `vouch demo` with this document: every answer must match it
//! and none may be a 5xx.

use std::collections::BTreeMap;

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};
use uuid::Uuid;

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
        super::ws_customer::upgrade,
        super::agent::login,
        super::agent::logout,
        super::agent::me,
        super::agent::list,
        super::agent::detail,
        super::agent::accept,
        super::agent::end,
        super::ws_agent::upgrade,
        super::contacts::get_contact,
        super::admin::list_auth_settings,
        super::admin::create_auth_settings,
        super::admin::update_auth_settings,
        super::admin::list_widgets,
        super::admin::create_widget,
        super::admin::update_widget,
        super::admin::verification_failures,
    ),
    components(schemas(State, SenderName, RoleName)),
    modifiers(&Security, &StorageUnavailable),
    tags(
        (name = "widget", description = "Public routes the embedded widget calls (CORS for the widget's allowed origins)"),
        (name = "agent", description = "The agent console: Bearer token or the vouch_agent cookie"),
        (name = "admin", description = "Settings and diagnostics (role admin)"),
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

// --- operations ----------------------------------------------------------------------------

/// `GET /healthz`
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok`.
    pub status: String,
}

/// `GET /readyz` when ready.
#[derive(Debug, Serialize, ToSchema)]
pub struct Ready {
    /// `ready`
    pub status: String,
    pub checks: ReadyChecks,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReadyChecks {
    /// `ok`
    pub database: String,
    /// `ok`
    pub keys: String,
}

/// `GET /readyz` when not ready: what is not, for the operator.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotReadyBody {
    /// `not_ready`
    pub status: String,
    pub not_ready: Vec<NotReadyItem>,
}

/// One check that failed: `database` (with a message) or `keys` (one per chat authentication
/// setting whose key URL gives no keys, with the key fetcher's error code).
#[derive(Debug, Serialize, ToSchema)]
pub struct NotReadyItem {
    #[schema(inline)]
    pub check: CheckName,
    pub message: String,
    pub auth_settings_id: Option<Uuid>,
    pub name: Option<String>,
    pub public_key_url: Option<String>,
    pub error: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckName {
    Database,
    Keys,
}

// --- errors --------------------------------------------------------------------------------

/// Every `/api/` error: `{"error","message"}`; `invalid_token` adds `reason`, `validation_failed`
/// adds `field`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// A stable code: `bad_request`, `unauthorized`, `forbidden`, `not_found`,
    /// `origin_not_allowed`, `unknown_widget`, `auth_required`, `invalid_token`,
    /// `invalid_credentials`, `validation_failed`, `conflict`, `rate_limited`, `internal`, …
    pub error: String,
    pub message: String,
    /// For `invalid_token`: the verification reason code.
    pub reason: Option<String>,
    /// For `validation_failed`: the first invalid field in request order.
    pub field: Option<String>,
}

// --- widget --------------------------------------------------------------------------------

/// `GET /api/v1/widgets/{app_id}/config`
#[derive(Debug, Serialize, ToSchema)]
pub struct WidgetConfig {
    pub title: String,
    pub require_auth: bool,
    #[schema(required = true)]
    pub auth: Option<WidgetAuth>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WidgetAuth {
    /// The page's JS function that returns a token, e.g. `auth.getAuthenticationToken`.
    pub function_name: String,
}

/// Optional body of `POST /api/v1/widgets/{app_id}/sessions`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionRequest {
    /// Context variables: an object of primitives (≤100 entries, names ≤100 chars, values ≤4000 chars).
    #[schema(value_type = Option<Object>)]
    pub context: Option<serde_json::Map<String, Value>>,
}

/// `201` of `POST /api/v1/widgets/{app_id}/sessions`
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionCreated {
    /// The customer socket's bearer secret (`GET /api/v1/chat?session_token=…`).
    pub session_token: String,
    pub conversation_id: Uuid,
    pub verified: bool,
    #[schema(required = true)]
    pub contact: Option<Contact>,
    #[schema(format = DateTime)]
    pub expires_at: String,
    #[schema(inline)]
    pub state: State,
}

/// A verified customer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Contact {
    pub id: Uuid,
    /// The website's contact id (the token's `sub`).
    pub external_id: String,
    #[schema(required = true)]
    pub given_name: Option<String>,
    #[schema(required = true)]
    pub family_name: Option<String>,
    #[schema(required = true)]
    pub email: Option<String>,
    #[schema(required = true)]
    pub phone: Option<String>,
    #[schema(required = true)]
    pub preferred_username: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Waiting,
    Active,
    Ended,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SenderName {
    Customer,
    Agent,
    System,
}

// --- agent ---------------------------------------------------------------------------------

/// `POST /api/v1/agent/login`
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

/// `200` of `POST /api/v1/agent/login` (the same token is set as the `vouch_agent` cookie).
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    pub token: String,
    #[schema(inline)]
    pub role: RoleName,
    pub agent: AgentInfo,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RoleName {
    Agent,
    Admin,
}

/// `GET /api/v1/agent/me`
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentInfo {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    #[schema(inline)]
    pub role: RoleName,
}

/// `GET /api/v1/agent/conversations`
#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationList {
    pub conversations: Vec<ConversationSummary>,
}

/// A conversation as the queue lists it (also the answer of accept and end).
#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationSummary {
    pub id: Uuid,
    #[schema(inline)]
    pub state: State,
    pub verified: bool,
    #[schema(required = true)]
    pub contact: Option<Contact>,
    #[schema(required = true)]
    pub agent_id: Option<Uuid>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

/// `GET /api/v1/agent/conversations/{id}`
#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationDetail {
    pub id: Uuid,
    #[schema(inline)]
    pub state: State,
    pub verified: bool,
    #[schema(required = true)]
    pub contact: Option<Contact>,
    #[schema(required = true)]
    pub agent_id: Option<Uuid>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
    /// Context variables (the token's `lwicontexts` and the widget's context).
    #[schema(value_type = Object)]
    pub context: serde_json::Map<String, Value>,
    pub messages: Vec<MessageItem>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MessageItem {
    pub seq: i64,
    #[schema(inline)]
    pub sender: SenderName,
    pub text: String,
    #[schema(format = DateTime)]
    pub sent_at: String,
    /// As its sender chose it; null for `system` messages.
    #[schema(required = true)]
    pub client_msg_id: Option<String>,
}

/// `GET /api/v1/contacts/{id}`
#[derive(Debug, Serialize, ToSchema)]
pub struct ContactWithActivities {
    pub contact: Contact,
    pub activities: Vec<Activity>,
}

/// One ended conversation with its transcript.
#[derive(Debug, Serialize, ToSchema)]
pub struct Activity {
    pub id: Uuid,
    pub conversation_id: Uuid,
    /// `chat_transcript`
    pub kind: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    pub transcript: Vec<TranscriptEntry>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TranscriptEntry {
    pub seq: i64,
    #[schema(inline)]
    pub sender: SenderName,
    pub text: String,
    #[schema(format = DateTime)]
    pub sent_at: String,
}

// --- admin ---------------------------------------------------------------------------------

/// Body of `POST /api/v1/admin/auth-settings` and `PUT /api/v1/admin/auth-settings/{id}`.
/// The key URL is fetched on save and must give at least one RSA key of ≥2048 bits.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuthSettingsRequest {
    #[schema(max_length = 200)]
    pub name: String,
    pub public_key_url: String,
    /// A dotted JS identifier path, ≤100 characters.
    #[schema(max_length = 100)]
    pub function_name: String,
    pub issuer: Option<String>,
    /// Clock leeway in seconds (default 60).
    #[schema(minimum = 0, maximum = 600)]
    pub leeway_secs: Option<u64>,
}

/// A chat authentication setting.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuthSettingsBody {
    pub id: Uuid,
    pub name: String,
    pub public_key_url: String,
    pub function_name: String,
    #[schema(required = true)]
    pub issuer: Option<String>,
    pub leeway_secs: u64,
    /// Keys found at the URL when the setting was saved.
    pub key_count: u32,
    #[schema(format = DateTime)]
    pub created_at: String,
}

/// `GET /api/v1/admin/auth-settings`
#[derive(Debug, Serialize, ToSchema)]
pub struct AuthSettingsList {
    pub auth_settings: Vec<AuthSettingsBody>,
}

/// Body of `POST /api/v1/admin/widgets` and `PUT /api/v1/admin/widgets/{app_id}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct WidgetRequest {
    #[schema(max_length = 200)]
    pub name: String,
    /// Origins (`scheme://host[:port]`) the widget may be used from; at most 50.
    #[schema(max_items = 50)]
    pub allowed_origins: Vec<String>,
    pub auth_settings_id: Option<Uuid>,
    pub require_auth: bool,
    #[schema(max_length = 200)]
    pub title: Option<String>,
}

/// A widget with its embed snippet.
#[derive(Debug, Serialize, ToSchema)]
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
    #[schema(format = DateTime)]
    pub created_at: String,
}

/// `GET /api/v1/admin/widgets`
#[derive(Debug, Serialize, ToSchema)]
pub struct WidgetList {
    pub widgets: Vec<WidgetBody>,
}

/// `GET /api/v1/admin/verification-failures`: counts per reason and the newest 100 refusals.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerificationFailures {
    pub counts: BTreeMap<String, u64>,
    pub recent: Vec<VerificationFailureItem>,
}

/// A refused customer token (never the token itself).
#[derive(Debug, Serialize, ToSchema)]
pub struct VerificationFailureItem {
    #[schema(format = DateTime)]
    pub at: String,
    pub reason: String,
    pub detail: String,
    #[schema(required = true)]
    pub kid: Option<String>,
    #[schema(required = true)]
    pub iss: Option<String>,
    #[schema(required = true)]
    pub sub: Option<String>,
    #[schema(required = true)]
    pub auth_settings_id: Option<Uuid>,
}
