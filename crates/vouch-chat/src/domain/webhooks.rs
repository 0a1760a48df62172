//! Webhooks (admin): create (the secret answered once), list, delete, the deliveries of one,
//! and redeliver a failed one. Events are written by the storage flows; the deliverer
//! ([`crate::webhooks`]) sends them.

use std::sync::Arc;

use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::Chat;
use crate::error::ChatError;
use crate::storage::webhooks::{Delivery, DeliveryStatus, EventType, Webhook};
use crate::storage::{now_millis, rfc3339, ser_rfc3339, Millis};
use crate::webhooks::{check_webhook_url, WebhookClock, WebhookOptions};

/// Most webhooks a service keeps.
pub const MAX_WEBHOOKS: usize = 50;
/// Longest webhook URL.
pub const MAX_URL_CHARS: usize = 2048;
/// Most deliveries one list answers (newest first).
pub const DELIVERIES_LIMIT: u32 = 200;

/// The webhook rules of one service and the deliverer's clock.
#[derive(Debug, Clone, Default)]
pub struct WebhookSettings {
    pub options: WebhookOptions,
    pub clock: Arc<WebhookClock>,
}

/// A webhook as listed (never its secret).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WebhookView {
    pub id: Uuid,
    pub url: String,
    pub events: Vec<String>,
    #[serde(serialize_with = "ser_rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Millis,
}

/// A webhook just created: with its secret, shown this once.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CreatedWebhook {
    #[serde(flatten)]
    pub webhook: WebhookView,
    /// The HMAC key of `Vouch-Signature`; never answered again.
    pub secret: String,
}

impl From<&Webhook> for WebhookView {
    fn from(w: &Webhook) -> Self {
        WebhookView {
            id: w.id,
            url: w.url.clone(),
            events: w.events.clone(),
            created_at: w.created_at,
        }
    }
}

/// One delivery as the deliveries list shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeliveryView {
    pub event_id: Uuid,
    #[serde(rename = "type")]
    pub event_type: String,
    #[schema(required = true)]
    pub conversation_id: Option<Uuid>,
    /// `pending`, `delivered` or `failed`.
    #[schema(value_type = String)]
    pub status: DeliveryStatus,
    pub attempts: i64,
    #[schema(required = true)]
    pub last_status_code: Option<i64>,
    /// Why the last attempt failed (no status code, or not a 2xx); null after a success.
    #[schema(required = true)]
    pub last_error: Option<String>,
    /// When the next attempt is due; null unless pending.
    #[schema(required = true, format = DateTime)]
    pub next_attempt_at: Option<String>,
    #[serde(serialize_with = "ser_rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Millis,
}

impl From<Delivery> for DeliveryView {
    fn from(d: Delivery) -> Self {
        DeliveryView {
            event_id: d.event_id,
            event_type: d.event_type,
            conversation_id: d.conversation_id,
            status: d.status,
            attempts: d.attempts,
            last_status_code: d.last_status_code,
            last_error: d.last_error,
            next_attempt_at: (d.status == DeliveryStatus::Pending)
                .then(|| rfc3339(d.next_attempt_at)),
            created_at: d.created_at,
        }
    }
}

/// The `events` field: a non-empty array of known event types, each once.
fn parse_events(v: Option<&Value>) -> Result<Vec<String>, ChatError> {
    let bad = |m: &str| ChatError::validation("events", m);
    let Some(Value::Array(items)) = v else {
        return Err(bad(
            "give an array of event types, e.g. [\"message.created\"]",
        ));
    };
    if items.is_empty() {
        return Err(bad("give at least one event type"));
    }
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        let Some(kind) = item.as_str().and_then(EventType::parse) else {
            return Err(bad(&format!(
                "unknown event type {item}; known: {}",
                EventType::ALL.map(EventType::as_str).join(", ")
            )));
        };
        if !out.iter().any(|e| e == kind.as_str()) {
            out.push(kind.as_str().to_string());
        }
    }
    Ok(out)
}

impl Chat {
    /// `POST /api/v1/admin/webhooks {url, events}`: validated (URL rules as for key URLs), stored,
    /// answered with the secret.
    pub async fn create_webhook_from(
        &self,
        body: &Map<String, Value>,
    ) -> Result<CreatedWebhook, ChatError> {
        let url = match body.get("url") {
            Some(Value::String(u)) if !u.trim().is_empty() => u.trim(),
            _ => {
                return Err(ChatError::validation(
                    "url",
                    "give the receiver's http(s) URL",
                ))
            }
        };
        if url.chars().count() > MAX_URL_CHARS {
            return Err(ChatError::validation(
                "url",
                format!("at most {MAX_URL_CHARS} characters"),
            ));
        }
        let parsed = check_webhook_url(url, self.webhooks.options.allow_private)
            .map_err(|m| ChatError::validation("url", m))?;
        let events = parse_events(body.get("events"))?;
        if self.store.list_webhooks().await?.len() >= MAX_WEBHOOKS {
            return Err(ChatError::Conflict(format!(
                "at most {MAX_WEBHOOKS} webhooks: delete one first"
            )));
        }
        let w = Webhook {
            id: Uuid::new_v4(),
            url: parsed.to_string(),
            events,
            secret: super::new_secret("whsec_"),
            created_at: now_millis(),
        };
        self.store.insert_webhook(&w).await?;
        tracing::info!(webhook_id = %w.id, "webhook created");
        Ok(CreatedWebhook {
            webhook: WebhookView::from(&w),
            secret: w.secret,
        })
    }

    pub async fn list_webhooks(&self) -> Result<Vec<WebhookView>, ChatError> {
        Ok(self
            .store
            .list_webhooks()
            .await?
            .iter()
            .map(WebhookView::from)
            .collect())
    }

    /// Deletes a webhook and its deliveries.
    pub async fn delete_webhook(&self, id: Uuid) -> Result<(), ChatError> {
        self.store
            .delete_webhook(id)
            .await
            .map_err(|e| not_found_as(e, "webhook"))
    }

    /// The webhook's deliveries, newest first.
    pub async fn webhook_deliveries(&self, id: Uuid) -> Result<Vec<DeliveryView>, ChatError> {
        if self.store.get_webhook(id).await?.is_none() {
            return Err(ChatError::NotFound("webhook"));
        }
        Ok(self
            .store
            .list_deliveries(id, DELIVERIES_LIMIT)
            .await?
            .into_iter()
            .map(DeliveryView::from)
            .collect())
    }

    /// Makes a failed delivery pending again (due now, a fresh 24 h window). `409` unless failed.
    pub async fn redeliver(&self, webhook_id: Uuid, event_id: Uuid) -> Result<(), ChatError> {
        let now = self.webhooks.clock.now();
        match self.store.redeliver(webhook_id, event_id, now).await {
            Ok(()) => Ok(()),
            Err(crate::storage::StoreError::NotFound) => {
                // Told apart on this rare path: no such delivery, or one that has not failed.
                let known = self
                    .store
                    .list_deliveries(webhook_id, DELIVERIES_LIMIT)
                    .await?
                    .into_iter()
                    .any(|d| d.event_id == event_id);
                Err(if known {
                    ChatError::Conflict("only a failed delivery can be redelivered".into())
                } else {
                    ChatError::NotFound("delivery")
                })
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// `NotFound` from storage as the domain's `NotFound(what)`.
pub(crate) fn not_found_as(e: crate::storage::StoreError, what: &'static str) -> ChatError {
    match e {
        crate::storage::StoreError::NotFound => ChatError::NotFound(what),
        e => e.into(),
    }
}
