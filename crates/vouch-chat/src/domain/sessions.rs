//! Customer sessions: where a customer's token is checked ([`Chat::verify_customer_token`]) and
//! mapped to a contact and a conversation.
//!
//! A verified customer is the contact of (auth setting, `sub`): created on first sight from the
//! claims, its names and email updated on later visits; the same `sub` on another browser gets
//! its open conversation. Anonymous sessions (where the widget allows them) are Not verified.
//! Context variables are the token's `lwicontexts` merged over the session body's `context`.

use std::net::IpAddr;

use serde_json::{Map, Value};
use uuid::Uuid;
use vouch_jwt::{Validation, Verified};

use super::{new_secret, secret_hash, unix_now, Chat};
use crate::error::ChatError;
use crate::live::{frames, hub::Audience};
use crate::storage::{
    merge_context, now_millis, AuthSettings, Contact, ContactFields, ContactKey, Conversation,
    ConversationState, CustomerSession, Millis, SessionStart, SessionStarted, Widget,
};

/// Most context variables per conversation.
pub const MAX_CONTEXT_ENTRIES: usize = 100;
/// Longest context variable name.
pub const MAX_CONTEXT_NAME: usize = 100;
/// Longest context variable value, as text.
pub const MAX_CONTEXT_VALUE: usize = 4000;
/// Longest token accepted in a header or frame (the verifier refuses more than 16 KiB anyway).
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// `POST /api/v1/widgets/{app_id}/sessions`, as the protocol layer read it.
#[derive(Debug, Clone)]
pub struct SessionRequest {
    pub app_id: String,
    pub origin: Option<String>,
    /// The `AuthenticatedUserToken` header.
    pub token: Option<String>,
    /// The body's `context`, if any.
    pub context: Option<Value>,
    pub client: IpAddr,
}

/// A created session.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// The bearer secret for the customer socket; stored only as a hash.
    pub session_token: String,
    pub conversation: Conversation,
    pub verified: bool,
    pub contact: Option<Contact>,
    pub expires_at: Millis,
}

/// A widget's public config (`GET /api/v1/widgets/{app_id}/config`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct WidgetConfig {
    pub title: String,
    pub require_auth: bool,
    /// How the page gets a token; null for a widget without a chat authentication setting.
    #[schema(required = true)]
    pub auth: Option<WidgetAuth>,
    /// Inside business hours and someone available to answer.
    pub online: bool,
    /// What to say while offline; null: the widget's own words.
    #[schema(required = true)]
    pub offline_message: Option<String>,
}

/// How the widget gets a customer token.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct WidgetAuth {
    /// The page's JS function that returns a token, e.g. `auth.getAuthenticationToken`.
    pub function_name: String,
}

/// What a customer socket is bound to.
#[derive(Debug, Clone)]
pub struct SessionContext {
    pub session: CustomerSession,
    pub widget: Widget,
    pub settings: Option<AuthSettings>,
    pub conversation_id: Uuid,
}

impl SessionContext {
    /// When the verified identity must be renewed (JWT `exp` plus the setting's leeway), Unix s.
    pub fn identity_deadline(&self) -> Option<i64> {
        let leeway = self.settings.as_ref().map_or(0, |s| s.leeway_secs as i64);
        self.session.jwt_exp.map(|exp| exp.saturating_add(leeway))
    }
}

/// The outcome of an `auth` frame.
#[derive(Debug, Clone)]
pub enum Reauth {
    /// Same `sub`: the identity is renewed until this JWT `exp` (Unix seconds).
    Renewed { jwt_exp: i64 },
    /// Another `sub`: the conversation has been ended and the session revoked.
    SubjectChanged,
}

/// Checks a context object: primitives only, ≤100 entries, names ≤100 chars, values ≤4000 chars.
pub fn check_context(v: &Value) -> Result<Map<String, Value>, String> {
    let Value::Object(map) = v else {
        return Err("context must be a JSON object".into());
    };
    if map.len() > MAX_CONTEXT_ENTRIES {
        return Err(format!(
            "context may hold at most {MAX_CONTEXT_ENTRIES} entries"
        ));
    }
    for (k, v) in map {
        if k.is_empty() || k.chars().count() > MAX_CONTEXT_NAME {
            return Err(format!(
                "context names must be 1 to {MAX_CONTEXT_NAME} characters"
            ));
        }
        let len = match v {
            Value::String(s) => s.chars().count(),
            Value::Number(n) => n.to_string().len(),
            Value::Bool(_) | Value::Null => 0,
            _ => {
                return Err(format!(
                    "context value {k:?} must be a string, number, boolean or null"
                ))
            }
        };
        if len > MAX_CONTEXT_VALUE {
            return Err(format!(
                "context value {k:?} is longer than {MAX_CONTEXT_VALUE} characters"
            ));
        }
    }
    Ok(map.clone())
}

fn contact_fields(v: &Verified) -> ContactFields {
    let c = &v.claims;
    let clean = |s: &Option<String>| {
        s.as_ref()
            .map(|s| s.trim().chars().take(500).collect::<String>())
            .filter(|s| !s.is_empty())
    };
    ContactFields {
        given_name: clean(&c.given_name),
        family_name: clean(&c.family_name),
        email: clean(&c.email),
        phone: clean(&c.phone_number),
        preferred_username: clean(&c.preferred_username),
    }
}

impl Chat {
    /// The widget of an app id (any string from a URL).
    pub async fn widget_for(&self, app_id: &str) -> Result<Widget, ChatError> {
        let id = Uuid::parse_str(app_id).map_err(|_| ChatError::UnknownWidget)?;
        self.store
            .get_widget(id)
            .await?
            .ok_or(ChatError::UnknownWidget)
    }

    /// The public config of the widget of an app id.
    pub async fn widget_config(&self, app_id: &str) -> Result<WidgetConfig, ChatError> {
        let w = self.widget_for(app_id).await?;
        let auth = match w.auth_settings_id {
            Some(id) => self.store.get_auth_settings(id).await?.map(|s| WidgetAuth {
                function_name: s.function_name,
            }),
            None => None,
        };
        let online = self.is_online(&w, now_millis()).await?;
        Ok(WidgetConfig {
            online,
            offline_message: Some(w.offline_message).filter(|m| !m.is_empty()),
            title: w.title,
            require_auth: w.require_auth,
            auth,
        })
    }

    /// Checks a customer token against the setting's keys, issuer and leeway. Every refusal is
    /// recorded for the diagnostics page.
    pub async fn verify_customer_token(
        &self,
        settings: &AuthSettings,
        token: &str,
    ) -> Result<Verified, ChatError> {
        let validation = Validation {
            issuer: settings.issuer.clone(),
            leeway_secs: settings.leeway_secs,
            now: unix_now(),
        };
        let result = if token.len() > MAX_TOKEN_BYTES {
            Err((
                "malformed",
                format!("the token is longer than {MAX_TOKEN_BYTES} bytes"),
            ))
        } else {
            self.keys
                .verify(&settings.public_key_url, token, &validation)
                .await
                .map_err(|e| (e.reason.as_str(), e.detail))
        };
        match result {
            Ok(v) => {
                self.metrics.token_ok();
                Ok(v)
            }
            Err((reason, detail)) => {
                self.record_failure(token, Some(settings.id), reason, &detail)
                    .await;
                Err(ChatError::InvalidToken {
                    reason: reason.to_string(),
                    detail,
                })
            }
        }
    }

    async fn settings_of(&self, widget: &Widget) -> Result<Option<AuthSettings>, ChatError> {
        match widget.auth_settings_id {
            None => Ok(None),
            Some(id) => match self.store.get_auth_settings(id).await? {
                Some(s) => Ok(Some(s)),
                None => Err(ChatError::Internal(format!(
                    "widget {} refers to missing auth settings {id}",
                    widget.app_id
                ))),
            },
        }
    }

    /// Creates a customer session and its conversation (state `waiting`), or joins the open
    /// conversation of the same verified contact.
    pub async fn create_session(&self, req: SessionRequest) -> Result<NewSession, ChatError> {
        if !self.session_limiter.check(&req.client) {
            return Err(ChatError::RateLimited);
        }
        let widget = self.widget_for(&req.app_id).await?;
        match &req.origin {
            Some(o) if widget.allows_origin(o) => {}
            _ => return Err(ChatError::OriginNotAllowed),
        }
        let body_context = match &req.context {
            None | Some(Value::Null) => Map::new(),
            Some(v) => check_context(v).map_err(|m| ChatError::validation("context", m))?,
        };
        let settings = self.settings_of(&widget).await?;
        let token = req
            .token
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty());
        let verified = match (token, &settings) {
            (Some(token), Some(settings)) => {
                Some(self.verify_customer_token(settings, token).await?)
            }
            (None, _) if widget.require_auth => return Err(ChatError::AuthRequired),
            // A widget without a setting cannot verify anyone: the session is Not verified.
            _ => None,
        };
        let now = now_millis();
        let mut context = body_context;
        let contact = match (&verified, &settings) {
            (Some(v), Some(settings)) => {
                if let Some(lwi) = &v.claims.lwicontexts {
                    merge_context(&mut context, lwi, MAX_CONTEXT_ENTRIES);
                }
                Some(ContactKey {
                    auth_settings_id: settings.id,
                    external_id: v.claims.sub.clone(),
                    fields: contact_fields(v),
                })
            }
            _ => None,
        };
        // Routing sees the verified token's own context only, never the body's.
        let queue_id = self
            .route(
                widget.app_id,
                contact.is_some(),
                verified
                    .as_ref()
                    .and_then(|v| v.claims.lwicontexts.as_ref()),
            )
            .await?;
        let session_token = new_secret("vcs_");
        let expires_at = now + self.session_ttl.as_millis() as Millis;
        let started = self
            .store
            .start_session(SessionStart {
                conversation: Conversation {
                    id: Uuid::new_v4(),
                    widget_app_id: widget.app_id,
                    state: ConversationState::Waiting,
                    verified: contact.is_some(),
                    contact_id: None,
                    context,
                    agent_id: None,
                    created_at: now,
                    updated_at: now,
                    ended_at: None,
                    last_seq: 0,
                    queue_id,
                },
                contact,
                max_context_entries: MAX_CONTEXT_ENTRIES,
                session: CustomerSession {
                    token_hash: secret_hash(&session_token),
                    conversation_id: Uuid::nil(),
                    widget_app_id: widget.app_id,
                    verified_sub: verified.as_ref().map(|v| v.claims.sub.clone()),
                    jwt_exp: verified.as_ref().map(|v| v.claims.exp),
                    created_at: now,
                    expires_at,
                },
            })
            .await?;
        let SessionStarted {
            contact,
            conversation,
            created,
        } = started;
        self.metrics.session_created(verified.is_some());
        if created {
            self.metrics
                .conversation_transition(None, ConversationState::Waiting);
            let summary = self.conversation_summary(&conversation).await?;
            self.hub
                .publish_agents(Audience::All, frames::conversation_for_agents(&summary));
            // Joining at the back moves nobody: no positions to tell (the new customer's socket
            // learns its own on connect).
            self.auto_assign().await;
            self.note_offline_start(&widget, &conversation).await;
        }
        tracing::info!(conversation = %conversation.id, verified = verified.is_some(), joined = !created, "customer session created");
        Ok(NewSession {
            session_token,
            verified: verified.is_some(),
            conversation,
            contact,
            expires_at,
        })
    }

    /// The session of a customer socket's `session_token`; `Unauthorized` if unknown or expired.
    pub async fn session_for_token(&self, token: &str) -> Result<SessionContext, ChatError> {
        if !token.starts_with("vcs_") || token.len() > 128 {
            return Err(ChatError::Unauthorized);
        }
        let session = self
            .store
            .find_session(&secret_hash(token), now_millis())
            .await?
            .ok_or(ChatError::Unauthorized)?;
        let widget = self
            .store
            .get_widget(session.widget_app_id)
            .await?
            .ok_or(ChatError::Unauthorized)?;
        let settings = self.settings_of(&widget).await?;
        Ok(SessionContext {
            conversation_id: session.conversation_id,
            session,
            widget,
            settings,
        })
    }

    /// The session as stored now (another socket of it may have renewed its identity).
    pub async fn reload_session(&self, ctx: &mut SessionContext) -> Result<bool, ChatError> {
        match self
            .store
            .find_session(&ctx.session.token_hash, now_millis())
            .await?
        {
            Some(s) => {
                ctx.session = s;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// An `auth` frame: a fresh token for a verified session.
    pub async fn reauthenticate(
        &self,
        ctx: &mut SessionContext,
        token: &str,
    ) -> Result<Reauth, ChatError> {
        let (Some(settings), Some(sub)) = (ctx.settings.clone(), ctx.session.verified_sub.clone())
        else {
            return Err(ChatError::NotVerified);
        };
        let v = self.verify_customer_token(&settings, token.trim()).await?;
        if v.claims.sub != sub {
            tracing::info!(conversation = %ctx.conversation_id, "customer identity changed: ending the conversation");
            self.store.delete_session(&ctx.session.token_hash).await?;
            match self.end_conversation_by_system(ctx.conversation_id).await {
                Ok(()) | Err(ChatError::Conflict(_)) => {}
                Err(e) => return Err(e),
            }
            return Ok(Reauth::SubjectChanged);
        }
        self.store
            .upsert_contact(settings.id, &sub, &contact_fields(&v), now_millis())
            .await?;
        self.store
            .update_session_jwt_exp(&ctx.session.token_hash, Some(v.claims.exp))
            .await?;
        ctx.session.jwt_exp = Some(v.claims.exp);
        Ok(Reauth::Renewed {
            jwt_exp: v.claims.exp,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn context_rules() {
        assert!(check_context(&json!({"a": "x", "b": 1, "c": true, "d": null})).is_ok());
        assert!(check_context(&json!({"a": {"nested": 1}})).is_err());
        assert!(check_context(&json!({"a": [1]})).is_err());
        assert!(check_context(&json!("str")).is_err());
        assert!(check_context(&json!({"a": "x".repeat(4001)})).is_err());
        assert!(check_context(&json!({"n".repeat(101): 1})).is_err());
        let big: Map<String, Value> = (0..101).map(|i| (format!("k{i}"), json!(i))).collect();
        assert!(check_context(&Value::Object(big)).is_err());
    }

    #[test]
    fn merge_caps_entries_and_lets_later_win() {
        let mut base: Map<String, Value> = (0..100).map(|i| (format!("k{i}"), json!(i))).collect();
        let over: Map<String, Value> = [
            ("k1".to_string(), json!("new")),
            ("extra".to_string(), json!(1)),
        ]
        .into_iter()
        .collect();
        assert!(merge_context(&mut base, &over, MAX_CONTEXT_ENTRIES));
        assert_eq!(base.len(), 100);
        assert_eq!(base["k1"], json!("new"));
        assert!(!base.contains_key("extra"));
        // Nothing new: nothing changed (so a joining session writes nothing).
        assert!(!merge_context(&mut base, &over, MAX_CONTEXT_ENTRIES));
    }
}
