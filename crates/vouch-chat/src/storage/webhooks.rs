//! Webhooks and their outbox: the records, the capability ([`WebhookStore`]) and the outbox
//! steps the flows call ([`OutboxSteps`], [`outbox`]).
//!
//! An event is written by the flow that makes the change it reports, inside the same transaction
//! (one row per subscribed webhook in `webhook_deliveries`), so an event exists if and only if its
//! change was committed. A delivery worker ([`crate::webhooks`]) claims due rows, sends them and
//! records the outcome. Per (webhook, conversation) rows are delivered in `id` order: a row is due
//! only when no earlier row of the same conversation is still pending.

use async_trait::async_trait;
use serde::Serialize;
use uuid::Uuid;

use super::rows::{Columns, FromColumns};
use super::*;

/// What a webhook may subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum EventType {
    #[serde(rename = "conversation.created")]
    ConversationCreated,
    #[serde(rename = "conversation.assigned")]
    ConversationAssigned,
    #[serde(rename = "message.created")]
    MessageCreated,
    #[serde(rename = "conversation.ended")]
    ConversationEnded,
    #[serde(rename = "rating.created")]
    RatingCreated,
}

impl EventType {
    pub const ALL: [EventType; 5] = [
        EventType::ConversationCreated,
        EventType::ConversationAssigned,
        EventType::MessageCreated,
        EventType::ConversationEnded,
        EventType::RatingCreated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::ConversationCreated => "conversation.created",
            EventType::ConversationAssigned => "conversation.assigned",
            EventType::MessageCreated => "message.created",
            EventType::ConversationEnded => "conversation.ended",
            EventType::RatingCreated => "rating.created",
        }
    }

    pub fn parse(s: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|e| e.as_str() == s)
    }

    /// How the type appears inside a webhook's stored JSON array of events (`"message.created"`
    /// with its quotes): the subscription match of both back-ends. Event names hold no quote or
    /// wildcard, so a substring match is exact.
    pub(crate) fn quoted(self) -> String {
        format!("\"{}\"", self.as_str())
    }
}

/// A receiver of events. The secret is the HMAC key; it is answered once, at creation.
#[derive(Clone, PartialEq)]
pub struct Webhook {
    pub id: Uuid,
    pub url: String,
    pub events: Vec<String>,
    pub secret: String,
    pub created_at: Millis,
}

impl std::fmt::Debug for Webhook {
    /// Without the secret (so it cannot reach a log line through `{:?}`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("id", &self.id)
            .field("url", &self.url)
            .field("events", &self.events)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Not yet answered with a 2xx (being sent, or waiting for its next attempt).
    Pending,
    Delivered,
    /// Given up (24 h without a 2xx); "redeliver" makes it pending again.
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }
    fn parse(s: &str) -> StoreResult<Self> {
        match s {
            "pending" => Ok(DeliveryStatus::Pending),
            "delivered" => Ok(DeliveryStatus::Delivered),
            "failed" => Ok(DeliveryStatus::Failed),
            other => Err(StoreError::Corrupt(format!("delivery status {other:?}"))),
        }
    }
}

/// One event for one webhook, as the deliveries list shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub id: i64,
    pub webhook_id: Uuid,
    pub event_id: Uuid,
    pub event_type: String,
    pub conversation_id: Option<Uuid>,
    pub status: DeliveryStatus,
    pub attempts: i64,
    pub last_status_code: Option<i64>,
    pub last_error: Option<String>,
    pub next_attempt_at: Millis,
    pub created_at: Millis,
}

/// The column list of [`Delivery`].
pub(crate) const DELIVERY_COLS: &str = "id, webhook_id, event_id, event_type, conversation_id, status, attempts, last_status_code, last_error, next_attempt_at, created_at";

impl FromColumns for Delivery {
    fn from_columns(r: &impl Columns) -> StoreResult<Self> {
        Ok(Delivery {
            id: r.int(0)?,
            webhook_id: r.uuid(1)?,
            event_id: r.uuid(2)?,
            event_type: r.text(3)?,
            conversation_id: r.opt_uuid(4)?,
            status: DeliveryStatus::parse(&r.text(5)?)?,
            attempts: r.int(6)?,
            last_status_code: r.opt_int(7)?,
            last_error: r.opt_text(8)?,
            next_attempt_at: r.int(9)?,
            created_at: r.int(10)?,
        })
    }
}

/// The column list of [`Webhook`].
pub(crate) const WEBHOOK_COLS: &str = "id, url, events, secret, created_at";

impl FromColumns for Webhook {
    fn from_columns(r: &impl Columns) -> StoreResult<Self> {
        Ok(Webhook {
            id: r.uuid(0)?,
            url: r.text(1)?,
            events: r.json(2)?,
            secret: r.text(3)?,
            created_at: r.int(4)?,
        })
    }
}

/// A delivery a worker claimed: what it sends, and where.
#[derive(Clone)]
pub struct Claimed {
    pub id: i64,
    pub webhook_id: Uuid,
    pub event_id: Uuid,
    /// The exact body (the same bytes on every attempt).
    pub body: String,
    /// Attempts so far, this one included.
    pub attempts: i64,
    /// When the 24 h give-up window started.
    pub retry_since: Millis,
}

/// The column list of [`Claimed`].
pub(crate) const CLAIMED_COLS: &str = "id, webhook_id, event_id, body, attempts, retry_since";

impl FromColumns for Claimed {
    fn from_columns(r: &impl Columns) -> StoreResult<Self> {
        Ok(Claimed {
            id: r.int(0)?,
            webhook_id: r.uuid(1)?,
            event_id: r.uuid(2)?,
            body: r.text(3)?,
            attempts: r.int(4)?,
            retry_since: r.int(5)?,
        })
    }
}

/// How an attempt ended, as [`WebhookStore::finish_delivery`] records it.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A 2xx.
    Delivered { code: i64 },
    /// No 2xx: try again at `next_attempt_at`.
    Retry {
        code: Option<i64>,
        error: String,
        next_attempt_at: Millis,
    },
    /// No 2xx and the give-up window is over.
    GaveUp { code: Option<i64>, error: String },
}

/// An event ready for the outbox: its id, type, conversation (the ordering key) and body.
#[derive(Debug, Clone)]
pub struct OutboxEvent {
    pub id: Uuid,
    pub kind: EventType,
    pub conversation_id: Option<Uuid>,
    pub created_at: Millis,
    pub body: String,
}

impl OutboxEvent {
    /// The event with body `{"id", "type", "created_at", "data"}`.
    pub fn new(
        kind: EventType,
        conversation_id: Option<Uuid>,
        now: Millis,
        data: serde_json::Value,
    ) -> StoreResult<OutboxEvent> {
        let id = Uuid::new_v4();
        let body = serde_json::json!({
            "id": id,
            "type": kind.as_str(),
            "created_at": rfc3339(now),
            "data": data,
        });
        Ok(OutboxEvent {
            id,
            kind,
            conversation_id,
            created_at: now,
            body: super::rows::json_text(&body)?,
        })
    }
}

/// Webhooks and their deliveries.
#[async_trait]
pub trait WebhookStore: Send + Sync + 'static {
    async fn insert_webhook(&self, w: &Webhook) -> StoreResult<()>;
    async fn list_webhooks(&self) -> StoreResult<Vec<Webhook>>;
    async fn get_webhook(&self, id: Uuid) -> StoreResult<Option<Webhook>>;
    /// Deletes the webhook and its deliveries; `NotFound` when there is none.
    async fn delete_webhook(&self, id: Uuid) -> StoreResult<()>;
    /// The webhook's deliveries, newest first, at most `limit`.
    async fn list_deliveries(&self, webhook_id: Uuid, limit: u32) -> StoreResult<Vec<Delivery>>;
    /// Whether any delivery is due at `now` (a read: lets an idle worker skip the write).
    async fn any_due(&self, now: Millis) -> StoreResult<bool>;
    /// Claims at most `limit` due deliveries — pending, `next_attempt_at <= now`, not leased, and
    /// no earlier pending delivery of the same (webhook, conversation) — leasing them until
    /// `lease_until` and counting the attempt. Of several workers (nodes) claiming at once, each
    /// row goes to one.
    async fn claim_deliveries(
        &self,
        now: Millis,
        lease_until: Millis,
        limit: u32,
    ) -> StoreResult<Vec<Claimed>>;
    /// Records how the attempt on delivery `id` ended (and lifts its lease).
    async fn finish_delivery(&self, id: i64, outcome: &Outcome) -> StoreResult<()>;
    /// Makes a failed delivery pending again, due at `now`, with a fresh give-up window.
    /// `NotFound` when the webhook has no such failed delivery.
    async fn redeliver(&self, webhook_id: Uuid, event_id: Uuid, now: Millis) -> StoreResult<()>;
    /// Deletes delivered deliveries created before `before` (the outbox keeps what is pending
    /// or failed); how many.
    async fn prune_deliveries(&self, before: Millis) -> StoreResult<u64>;
}

/// The outbox's single SQL steps, inside a flow's transaction. Every back-end's [`super::flows::Steps`]
/// has them.
pub(crate) trait OutboxSteps {
    /// Whether any webhook subscribes to `kind` (so an event nobody wants costs one lookup).
    async fn subscribed(&mut self, kind: EventType) -> StoreResult<bool>;
    /// One delivery row for every webhook subscribed to the event's type.
    async fn enqueue_event(&mut self, e: &OutboxEvent) -> StoreResult<()>;
    /// A contact, for the events that carry one.
    async fn contact_row(&mut self, id: Uuid) -> StoreResult<Option<Contact>>;
}

/// The events the flows write, with their `data` as the agent API shows those things.
pub(crate) mod outbox {
    use serde_json::{json, Value};

    use super::*;

    /// A conversation as agents see it in lists (the agent API's summary).
    fn conversation_json(c: &Conversation, contact: Option<&Contact>) -> Value {
        json!({
            "id": c.id,
            "state": c.state,
            "verified": c.verified,
            "contact": contact,
            "agent_id": c.agent_id,
            "queue_id": c.queue_id,
            "created_at": rfc3339(c.created_at),
            "updated_at": rfc3339(c.updated_at),
        })
    }

    async fn emit(
        s: &mut impl OutboxSteps,
        kind: EventType,
        conversation_id: Uuid,
        now: Millis,
        data: Value,
    ) -> StoreResult<()> {
        s.enqueue_event(&OutboxEvent::new(kind, Some(conversation_id), now, data)?)
            .await
    }

    /// `conversation.created`: the conversation and its verified contact (or null).
    pub(crate) async fn conversation_created(
        s: &mut impl OutboxSteps,
        c: &Conversation,
        contact: Option<&Contact>,
        now: Millis,
    ) -> StoreResult<()> {
        if !s.subscribed(EventType::ConversationCreated).await? {
            return Ok(());
        }
        let data = json!({
            "conversation_id": c.id,
            "conversation": conversation_json(c, contact),
            "contact": contact,
            "context": c.context,
        });
        emit(s, EventType::ConversationCreated, c.id, now, data).await
    }

    /// `conversation.assigned`: the conversation (its agent set) and its contact.
    pub(crate) async fn conversation_assigned(
        s: &mut impl OutboxSteps,
        c: &Conversation,
        now: Millis,
    ) -> StoreResult<()> {
        if !s.subscribed(EventType::ConversationAssigned).await? {
            return Ok(());
        }
        let contact = match c.contact_id {
            Some(id) => s.contact_row(id).await?,
            None => None,
        };
        let data = json!({
            "conversation_id": c.id,
            "agent_id": c.agent_id,
            "conversation": conversation_json(c, contact.as_ref()),
            "contact": contact,
        });
        emit(s, EventType::ConversationAssigned, c.id, now, data).await
    }

    /// `message.created`: the message as the agent API lists it.
    pub(crate) async fn message_created(s: &mut impl OutboxSteps, m: &Message) -> StoreResult<()> {
        if !s.subscribed(EventType::MessageCreated).await? {
            return Ok(());
        }
        let data = json!({
            "conversation_id": m.conversation_id,
            "message": {
                "seq": m.seq,
                "sender": m.sender,
                "text": m.text,
                "sent_at": rfc3339(m.sent_at),
                "client_msg_id": m.client_msg_id,
            },
        });
        emit(
            s,
            EventType::MessageCreated,
            m.conversation_id,
            m.sent_at,
            data,
        )
        .await
    }

    /// `conversation.ended`: the conversation, its contact and the transcript activity.
    pub(crate) async fn conversation_ended(
        s: &mut impl OutboxSteps,
        c: &Conversation,
        activity: Option<&Activity>,
        now: Millis,
    ) -> StoreResult<()> {
        if !s.subscribed(EventType::ConversationEnded).await? {
            return Ok(());
        }
        let contact = match c.contact_id {
            Some(id) => s.contact_row(id).await?,
            None => None,
        };
        let data = json!({
            "conversation_id": c.id,
            "conversation": conversation_json(c, contact.as_ref()),
            "contact": contact,
            "activity": activity,
        });
        emit(s, EventType::ConversationEnded, c.id, now, data).await
    }

    /// `rating.created`: for the ratings flow to call in its transaction, with the rating as
    /// the agent API shows it (`{"score", "comment"}`).
    pub(crate) async fn rating_created(
        s: &mut impl OutboxSteps,
        conversation_id: Uuid,
        rating: Value,
        now: Millis,
    ) -> StoreResult<()> {
        if !s.subscribed(EventType::RatingCreated).await? {
            return Ok(());
        }
        let data = json!({ "conversation_id": conversation_id, "rating": rating });
        emit(s, EventType::RatingCreated, conversation_id, now, data).await
    }
}
