//! The records the chat service keeps. Times are Unix milliseconds ([`Millis`]) in storage and
//! RFC 3339 UTC strings on the wire (see [`rfc3339`]).

use serde::Serialize;
use uuid::Uuid;

/// Unix time in milliseconds.
pub type Millis = i64;

/// The current time in Unix milliseconds.
pub fn now_millis() -> Millis {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as Millis
}

/// RFC 3339 UTC (`2024-05-01T10:00:00.123Z`) of Unix milliseconds.
pub fn rfc3339(ms: Millis) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Serializes Unix milliseconds as RFC 3339.
pub fn ser_rfc3339<S: serde::Serializer>(ms: &Millis, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&rfc3339(*ms))
}

/// A chat authentication setting: where the website's public key is and how the widget gets a token.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct AuthSettings {
    pub id: Uuid,
    pub name: String,
    pub public_key_url: String,
    pub function_name: String,
    #[schema(required = true)]
    pub issuer: Option<String>,
    pub leeway_secs: u64,
    /// Keys found at the URL when the setting was last saved.
    pub key_count: u32,
    #[serde(serialize_with = "ser_rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Millis,
}

/// A chat widget that a website embeds.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Widget {
    pub app_id: Uuid,
    pub name: String,
    pub allowed_origins: Vec<String>,
    pub auth_settings_id: Option<Uuid>,
    pub require_auth: bool,
    pub title: String,
    #[serde(serialize_with = "ser_rfc3339")]
    pub created_at: Millis,
    /// When the team is at work; `None`: always.
    pub business_hours: Option<crate::domain::hours::BusinessHours>,
    /// What the widget says while the team is offline; empty: the widget's own words.
    pub offline_message: String,
}

impl Widget {
    /// Whether `origin` (as the browser sent it) may use this widget.
    pub fn allows_origin(&self, origin: &str) -> bool {
        self.allowed_origins.iter().any(|o| o == origin)
    }
}

/// An agent's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Agent,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Admin => "admin",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "agent" => Ok(Role::Agent),
            "admin" => Ok(Role::Admin),
            other => Err(format!("unknown role {other:?}: use agent or admin")),
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A support agent (or admin).
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Agent {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub role: Role,
    #[serde(skip)]
    pub created_at: Millis,
}

/// The fields of a contact that come from a token's claims.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContactFields {
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub preferred_username: Option<String>,
}

/// A verified customer, keyed by (auth settings, the token's `sub`).
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Contact {
    pub id: Uuid,
    /// The website's contact id: the token's `sub`.
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
    #[serde(skip)]
    pub auth_settings_id: Uuid,
    #[serde(serialize_with = "ser_rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Millis,
    #[serde(serialize_with = "ser_rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Millis,
}

/// `waiting` → `active` → `ended`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ConversationState {
    Waiting,
    Active,
    Ended,
}

impl ConversationState {
    pub fn as_str(self) -> &'static str {
        match self {
            ConversationState::Waiting => "waiting",
            ConversationState::Active => "active",
            ConversationState::Ended => "ended",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "waiting" => Some(ConversationState::Waiting),
            "active" => Some(ConversationState::Active),
            "ended" => Some(ConversationState::Ended),
            _ => None,
        }
    }
}

/// One chat between a customer and (eventually) an agent.
#[derive(Debug, Clone, PartialEq)]
pub struct Conversation {
    pub id: Uuid,
    pub widget_app_id: Uuid,
    pub state: ConversationState,
    pub verified: bool,
    pub contact_id: Option<Uuid>,
    pub context: serde_json::Map<String, serde_json::Value>,
    pub agent_id: Option<Uuid>,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub ended_at: Option<Millis>,
    /// The last `seq` given to a message (0 before the first).
    pub last_seq: i64,
    /// The queue it waits in (or waited in): routing picks it at session creation.
    pub queue_id: Uuid,
}

/// Merges `over` into the context variables `base`, never past `max_entries` entries (an entry
/// already present is always updated). Whether anything changed.
pub fn merge_context(
    base: &mut serde_json::Map<String, serde_json::Value>,
    over: &serde_json::Map<String, serde_json::Value>,
    max_entries: usize,
) -> bool {
    let mut changed = false;
    for (k, v) in over {
        if base.get(k) == Some(v) {
            continue;
        }
        if base.contains_key(k) || base.len() < max_entries {
            base.insert(k.clone(), v.clone());
            changed = true;
        }
    }
    changed
}

/// A verified customer's contact as a new session names it.
#[derive(Debug, Clone)]
pub struct ContactKey {
    pub auth_settings_id: Uuid,
    /// The token's `sub`.
    pub external_id: String,
    pub fields: ContactFields,
}

/// What a new customer session stores ([`crate::storage::SessionStore::start_session`]).
#[derive(Debug, Clone)]
pub struct SessionStart {
    /// The verified customer; `None` for a Not verified session (always a new conversation).
    pub contact: Option<ContactKey>,
    /// The conversation to create when the contact has no open one (the store sets its
    /// `contact_id`); when it has one, this one's context is merged into it instead.
    pub conversation: Conversation,
    /// Most context entries a joined conversation may hold after the merge.
    pub max_context_entries: usize,
    /// The session (the store sets its `conversation_id` to the conversation it lands in).
    pub session: CustomerSession,
}

/// What [`crate::storage::SessionStore::start_session`] stored.
#[derive(Debug, Clone)]
pub struct SessionStarted {
    pub contact: Option<Contact>,
    /// The conversation the session belongs to, as stored.
    pub conversation: Conversation,
    /// True when the conversation was created for this session (false: joined an open one).
    pub created: bool,
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Sender {
    Customer,
    Agent,
    System,
}

impl Sender {
    pub fn as_str(self) -> &'static str {
        match self {
            Sender::Customer => "customer",
            Sender::Agent => "agent",
            Sender::System => "system",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "customer" => Some(Sender::Customer),
            "agent" => Some(Sender::Agent),
            "system" => Some(Sender::System),
            _ => None,
        }
    }
}

/// A message to append.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub conversation_id: Uuid,
    pub sender: Sender,
    /// The agent who wrote it (for agent messages).
    pub agent_id: Option<Uuid>,
    pub text: String,
    pub client_msg_id: Option<String>,
    pub sent_at: Millis,
    /// Attachments uploaded to this conversation by this sender, to send with the message.
    pub attachments: Vec<Uuid>,
}

/// A stored message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Message {
    pub conversation_id: Uuid,
    pub seq: i64,
    pub sender: Sender,
    pub text: String,
    #[serde(serialize_with = "ser_rfc3339")]
    pub sent_at: Millis,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_msg_id: Option<String>,
    /// The files it carries (absent when none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<super::AttachmentMeta>,
}

/// The outcome of [`crate::storage::ConversationStore::append_message`].
#[derive(Debug, Clone)]
pub struct Appended {
    pub message: Message,
    /// True when this was a resend of a stored message: nothing new was stored.
    pub duplicate: bool,
    /// The conversation's assigned agent when the message was stored (whom to tell).
    pub agent_id: Option<Uuid>,
}

/// One line of a transcript.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct TranscriptEntry {
    pub seq: i64,
    #[schema(value_type = Sender)]
    pub sender: String,
    pub text: String,
    #[schema(format = DateTime)]
    pub sent_at: String,
}

/// Something that happened with a contact; today: an ended chat with its transcript.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Activity {
    pub id: Uuid,
    pub conversation_id: Uuid,
    /// `chat_transcript`
    pub kind: String,
    #[serde(serialize_with = "ser_rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Millis,
    pub transcript: Vec<TranscriptEntry>,
    /// The customer's rating of the conversation (filled in by the domain when read).
    #[schema(required = true)]
    pub rating: Option<super::Rating>,
    #[serde(skip)]
    pub contact_id: Uuid,
}

/// The outcome of [`crate::storage::ConversationStore::end_conversation`].
#[derive(Debug, Clone)]
pub struct Ended {
    /// The conversation before it ended (its previous state and agent).
    pub before: Conversation,
    pub conversation: Conversation,
    pub message: Message,
    pub activity: Option<Activity>,
}

/// A widget session of a customer's browser. Only the hash of its bearer token is stored.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerSession {
    pub token_hash: Vec<u8>,
    pub conversation_id: Uuid,
    pub widget_app_id: Uuid,
    /// The token's `sub` for a verified session.
    pub verified_sub: Option<String>,
    /// The JWT's `exp` (Unix seconds) for a verified session: the identity must be renewed then.
    pub jwt_exp: Option<i64>,
    pub created_at: Millis,
    pub expires_at: Millis,
}

/// A refused customer token, for the settings page (never the token itself).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct VerificationFailure {
    #[serde(serialize_with = "ser_rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: Millis,
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
