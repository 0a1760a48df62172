//! The support desk's records and storage capability ([`DeskStore`]): queues and who works them,
//! each widget's routing rules, agents' capacity, active flag and presence, auto-assignment and
//! transfer.
//!
//! Auto-assignment and transfer are flows ([`assign_next`], [`transfer`]) over [`DeskSteps`] (and
//! the shared [`Steps`]), written once for both back-ends; only SQL differs. What makes
//! assignment safe with several nodes on PostgreSQL (two nodes never assign one conversation
//! twice, never push an agent over capacity), in one transaction:
//! * the conversation is picked with `FOR UPDATE … SKIP LOCKED` (another node's pick is skipped,
//!   not waited for) and taken with the conditional `UPDATE … WHERE state = 'waiting'`;
//! * the agent's row is locked (`FOR UPDATE SKIP LOCKED`) before its active conversations are
//!   counted: once the lock is ours, any other assignment to that agent has committed and the
//!   count (a later statement; READ COMMITTED) sees it. An agent locked by another assignment is
//!   passed over rather than waited for, so assignments never wait on each other and cannot
//!   deadlock; the run holding it assigns again after its commit, so nothing is left waiting.
//!
//! SQLite has one writer: each flow runs whole inside its write, nothing to lock.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::flows::{system_message, Steps};
use super::notes::NoteSteps;
use super::rows::{Columns, FromColumns};
use super::webhooks::outbox;
use super::*;

/// The id of `General`, the default queue every start has (the desk migration inserts it).
pub const GENERAL_QUEUE_ID: Uuid = Uuid::from_u128(0x00000000_0000_4000_8000_000000000001);

/// Most capacity an agent may have.
pub const MAX_CAPACITY: i64 = 100;
/// An agent's capacity unless given.
pub const DEFAULT_CAPACITY: i64 = 3;

/// A queue of conversations and the agents who work it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Queue {
    pub id: Uuid,
    pub name: String,
    /// Higher first.
    pub priority: i64,
    pub auto_assign: bool,
    /// The default queue (`General`).
    pub default: bool,
    pub agent_ids: Vec<Uuid>,
    #[serde(skip)]
    pub created_at: Millis,
}

/// An agent's presence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Presence {
    Available,
    Busy,
    Away,
    Offline,
}

impl Presence {
    pub fn as_str(self) -> &'static str {
        match self {
            Presence::Available => "available",
            Presence::Busy => "busy",
            Presence::Away => "away",
            Presence::Offline => "offline",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "available" => Some(Presence::Available),
            "busy" => Some(Presence::Busy),
            "away" => Some(Presence::Away),
            "offline" => Some(Presence::Offline),
            _ => None,
        }
    }
}

/// An agent as the desk sees it (the admin list, `GET /api/v1/agent/me`).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DeskAgent {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub capacity: i64,
    pub active: bool,
    pub status: Presence,
    /// Conversations assigned to the agent that are `active`.
    pub active_count: i64,
}

/// What a conversation must match for a rule to pick its queue (every condition given).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RuleWhen {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified: Option<bool>,
    /// Context variables from the verified token, compared as strings.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub context: BTreeMap<String, String>,
}

/// One routing rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RoutingRule {
    pub when: RuleWhen,
    pub queue_id: Uuid,
}

/// A widget's routing: rules tried in order, else the default queue (`General` when none).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Routing {
    pub rules: Vec<RoutingRule>,
    #[schema(required = true)]
    pub default_queue_id: Option<Uuid>,
}

/// The changes of `PATCH /api/v1/admin/agents/{id}` (validated).
#[derive(Debug, Clone, Default)]
pub struct AgentPatch {
    pub name: Option<String>,
    pub role: Option<Role>,
    pub capacity: Option<i64>,
    pub active: Option<bool>,
    /// The argon2id PHC string of a new password.
    pub password_hash: Option<String>,
}

/// A conversation auto-assignment gave to an agent.
#[derive(Debug, Clone)]
pub struct Assigned {
    pub conversation: Conversation,
    pub agent: Agent,
    /// The `system` message saying who joined.
    pub message: Message,
    /// When the conversation started waiting (for the wait estimate).
    pub waited_since: Millis,
}

/// Where a transfer sends a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferTarget {
    Agent(Uuid),
    Queue(Uuid),
}

/// A transfer as asked (validated).
#[derive(Debug, Clone)]
pub struct TransferRequest {
    pub conversation_id: Uuid,
    pub target: TransferTarget,
    /// Who asks (the assigned agent or an admin).
    pub by: Uuid,
    /// Becomes an internal note of the conversation ([`transfer_note`]).
    pub note: Option<String>,
    pub now: Millis,
}

/// Why a transfer was refused by what it found (nothing of it was stored).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransferRefusal {
    #[error("no such agent (or the agent is deactivated)")]
    UnknownAgent,
    #[error("no such queue")]
    UnknownQueue,
    #[error("the conversation has ended")]
    Ended,
    #[error("the conversation is already assigned to this agent")]
    SameAgent,
}

/// The outcome of a transfer.
#[derive(Debug, Clone)]
pub struct Transferred {
    pub before: Conversation,
    pub conversation: Conversation,
    /// The `system` message naming where it went.
    pub message: Message,
    /// The transfer's note, stored as an internal note (agents only).
    pub note: Option<Note>,
}

/// The desk's storage capability.
#[async_trait]
pub trait DeskStore: Send + Sync + 'static {
    /// Every queue with its members, the default first, then by priority (higher first), name.
    async fn list_queues(&self) -> StoreResult<Vec<Queue>>;
    async fn get_queue(&self, id: Uuid) -> StoreResult<Option<Queue>>;
    /// `Conflict(NameTaken)` when a queue has the name.
    async fn insert_queue(&self, q: &Queue) -> StoreResult<()>;
    /// Replaces the queue's members; `NotFound` for an unknown queue. The caller checks that
    /// the agents exist (the foreign key refuses the rest).
    async fn set_queue_members(&self, queue_id: Uuid, agent_ids: &[Uuid]) -> StoreResult<()>;

    async fn get_routing(&self, widget: Uuid) -> StoreResult<Option<Routing>>;
    async fn put_routing(&self, widget: Uuid, r: &Routing, now: Millis) -> StoreResult<()>;

    async fn list_desk_agents(&self) -> StoreResult<Vec<DeskAgent>>;
    async fn desk_agent(&self, id: Uuid) -> StoreResult<Option<DeskAgent>>;
    /// Applies the patch in one transaction; `active: false` also deletes the agent's sign-in
    /// tokens. `NotFound` for an unknown agent.
    async fn update_agent(&self, id: Uuid, p: &AgentPatch) -> StoreResult<()>;
    /// `NotFound` for an unknown agent.
    async fn set_presence(&self, id: Uuid, status: Presence) -> StoreResult<()>;
    /// One more (or, with `delta = -1`, one fewer) agent socket open; the count after.
    async fn count_socket(&self, id: Uuid, delta: i64, now: Millis) -> StoreResult<i64>;
    /// Sets the agent `offline` if no socket of it opened or closed after `closed_at` and none is
    /// open; whether it did.
    async fn offline_if_idle(&self, id: Uuid, closed_at: Millis) -> StoreResult<bool>;

    /// Whether some waiting conversation of an auto-assign queue has an available member with
    /// room (a read: spares a write when nothing can be assigned).
    async fn anything_to_assign(&self) -> StoreResult<bool>;
    /// Assigns the next conversation ([`assign_next`]); `None` when nothing can be assigned.
    async fn assign_next(&self, now: Millis) -> StoreResult<Option<Assigned>>;
    /// [`transfer`]: `Ok(Err(refusal))` when refused by what it found.
    async fn transfer(
        &self,
        t: &TransferRequest,
    ) -> StoreResult<Result<Transferred, TransferRefusal>>;
    /// The waiting conversations of a queue, longest waiting first, at most `limit`.
    async fn waiting_in_queue(&self, queue_id: Uuid, limit: u32) -> StoreResult<Vec<Uuid>>;
}

/// The desk's single SQL steps, inside one transaction (beside [`Steps`]).
pub(crate) trait DeskSteps {
    /// The next waiting conversation of an auto-assign queue whose queue has an available
    /// member with room: higher-priority queues first, then longest waiting. Locked (PostgreSQL:
    /// `FOR UPDATE SKIP LOCKED`); `skip` are ones this flow already tried. (id, queue id).
    async fn next_assignable(&mut self, skip: &[Uuid]) -> StoreResult<Option<(Uuid, Uuid)>>;
    /// Available, active members of the queue: fewest active conversations first, then the one
    /// assigned longest ago.
    async fn assign_candidates(&mut self, queue_id: Uuid) -> StoreResult<Vec<Uuid>>;
    /// Locks the agent's row (PostgreSQL: `None` at once when another transaction holds it),
    /// then, its count seeing every assignment committed before, the agent if it is active,
    /// available and below its capacity.
    async fn lock_agent_with_room(&mut self, agent_id: Uuid) -> StoreResult<Option<Agent>>;
    /// Records an assignment for the tie rule.
    async fn mark_assigned(&mut self, agent_id: Uuid, now: Millis) -> StoreResult<()>;
    /// An active agent.
    async fn active_agent(&mut self, id: Uuid) -> StoreResult<Option<Agent>>;
    /// The queue's name, if it exists.
    async fn queue_name(&mut self, id: Uuid) -> StoreResult<Option<String>>;
    /// Sets who has the conversation, its state and queue.
    async fn reassign(
        &mut self,
        id: Uuid,
        agent_id: Option<Uuid>,
        state: ConversationState,
        queue_id: Uuid,
        now: Millis,
    ) -> StoreResult<()>;
}

/// Most conversations one assignment looks past (ones whose agents were taken meanwhile).
const ASSIGN_TRIES: usize = 16;

/// [`DeskStore::assign_next`]: the next assignable conversation goes to the first candidate
/// with room; it becomes `active` with a `system` message saying who joined — as an accept.
pub(crate) async fn assign_next(
    s: &mut (impl Steps + DeskSteps),
    now: Millis,
) -> StoreResult<Option<Assigned>> {
    let mut tried = Vec::new();
    while tried.len() < ASSIGN_TRIES {
        let Some((id, queue_id)) = s.next_assignable(&tried).await? else {
            return Ok(None);
        };
        tried.push(id);
        for candidate in s.assign_candidates(queue_id).await? {
            let Some(agent) = s.lock_agent_with_room(candidate).await? else {
                continue;
            };
            let Some(before) = s.conversation(id, false).await? else {
                break;
            };
            if !s.take_waiting(id, agent.id, now).await? {
                break;
            }
            s.mark_assigned(agent.id, now).await?;
            let joined = format!("{} joined the conversation", agent.name);
            let message = system_message(s, id, &joined, now).await?;
            let conversation = s
                .conversation(id, false)
                .await?
                .ok_or(StoreError::NotFound)?;
            outbox::conversation_assigned(s, &conversation, now).await?;
            return Ok(Some(Assigned {
                conversation,
                agent,
                message,
                waited_since: before.created_at,
            }));
        }
    }
    Ok(None)
}

/// [`DeskStore::transfer`]: the conversation (id, history, context, verification unchanged) goes
/// to an agent at once (`active`, capacity not checked) or back to `waiting` in a queue with no
/// agent; a `system` message names where; the note is handed to [`transfer_note`].
pub(crate) async fn transfer(
    s: &mut (impl Steps + DeskSteps + NoteSteps),
    t: &TransferRequest,
) -> StoreResult<Result<Transferred, TransferRefusal>> {
    let Some(before) = s.conversation(t.conversation_id, true).await? else {
        return Err(StoreError::NotFound);
    };
    if before.state == ConversationState::Ended {
        return Ok(Err(TransferRefusal::Ended));
    }
    let text = match t.target {
        TransferTarget::Agent(agent_id) => {
            if before.agent_id == Some(agent_id) {
                return Ok(Err(TransferRefusal::SameAgent));
            }
            let Some(agent) = s.active_agent(agent_id).await? else {
                return Ok(Err(TransferRefusal::UnknownAgent));
            };
            s.reassign(
                t.conversation_id,
                Some(agent.id),
                ConversationState::Active,
                before.queue_id,
                t.now,
            )
            .await?;
            s.mark_assigned(agent.id, t.now).await?;
            format!("The conversation was transferred to {}", agent.name)
        }
        TransferTarget::Queue(queue_id) => {
            let Some(name) = s.queue_name(queue_id).await? else {
                return Ok(Err(TransferRefusal::UnknownQueue));
            };
            s.reassign(
                t.conversation_id,
                None,
                ConversationState::Waiting,
                queue_id,
                t.now,
            )
            .await?;
            format!("The conversation was transferred to the {name} queue")
        }
    };
    let note = match &t.note {
        Some(text) => Some(transfer_note(s, t.conversation_id, t.by, text, t.now).await?),
        None => None,
    };
    let message = system_message(s, t.conversation_id, &text, t.now).await?;
    let conversation = s
        .conversation(t.conversation_id, false)
        .await?
        .ok_or(StoreError::NotFound)?;
    if conversation.agent_id.is_some() {
        // A transfer to an agent assigns it: webhooks hear of it as of any assignment.
        outbox::conversation_assigned(s, &conversation, t.now).await?;
    }
    Ok(Ok(Transferred {
        before,
        conversation,
        message,
        note,
    }))
}

/// A transfer's note becomes an internal note of the conversation, inside the transfer's
/// transaction ([`super::notes::add_note`]): it commits or rolls back with the transfer.
pub(crate) async fn transfer_note(
    s: &mut (impl Steps + DeskSteps + NoteSteps),
    conversation_id: Uuid,
    author_id: Uuid,
    text: &str,
    now: Millis,
) -> StoreResult<Note> {
    let note = NewNote {
        id: Uuid::new_v4(),
        conversation_id,
        author_id,
        text: text.to_string(),
        created_at: now,
    };
    super::notes::add_note(s, &note).await
}

// --- Row mappings (both back-ends read these column lists) ---

/// `id, name, priority, auto_assign, is_default, created_at` of `queues`.
pub(crate) struct QueueRow(Queue);

impl FromColumns for QueueRow {
    fn from_columns(r: &impl Columns) -> StoreResult<Self> {
        Ok(QueueRow(Queue {
            id: r.uuid(0)?,
            name: r.text(1)?,
            priority: r.int(2)?,
            auto_assign: r.flag(3)?,
            default: r.flag(4)?,
            agent_ids: Vec::new(),
            created_at: r.int(5)?,
        }))
    }
}

/// `queue_id, agent_id` of `queue_members`.
pub(crate) struct MemberRow(Uuid, Uuid);

impl FromColumns for MemberRow {
    fn from_columns(r: &impl Columns) -> StoreResult<Self> {
        Ok(MemberRow(r.uuid(0)?, r.uuid(1)?))
    }
}

/// Two ids (a conversation and its queue).
pub(crate) struct IdPair(pub Uuid, pub Uuid);

impl FromColumns for IdPair {
    fn from_columns(r: &impl Columns) -> StoreResult<Self> {
        Ok(IdPair(r.uuid(0)?, r.uuid(1)?))
    }
}

/// One id.
pub(crate) struct OneId(pub Uuid);

impl FromColumns for OneId {
    fn from_columns(r: &impl Columns) -> StoreResult<Self> {
        Ok(OneId(r.uuid(0)?))
    }
}

/// `rules, default_queue_id` of `widget_routing`.
pub(crate) struct RoutingRow(pub Routing);

impl FromColumns for RoutingRow {
    fn from_columns(r: &impl Columns) -> StoreResult<Self> {
        Ok(RoutingRow(Routing {
            rules: r.json(0)?,
            default_queue_id: r.opt_uuid(1)?,
        }))
    }
}

/// `id, email, name, role, capacity, active, status, <active count>`.
impl FromColumns for DeskAgent {
    fn from_columns(r: &impl Columns) -> StoreResult<Self> {
        let status = r.text(6)?;
        Ok(DeskAgent {
            id: r.uuid(0)?,
            email: r.text(1)?,
            name: r.text(2)?,
            role: r.text(3)?.parse().map_err(StoreError::Corrupt)?,
            capacity: r.int(4)?,
            active: r.flag(5)?,
            status: Presence::parse(&status)
                .ok_or_else(|| StoreError::Corrupt(format!("status {status:?}")))?,
            active_count: r.int(7)?,
        })
    }
}

/// The default queue first, then higher priority, then by name.
pub(crate) fn sort_queues(list: &mut [QueueRow]) {
    list.sort_by(|a, b| {
        (!a.0.default, -a.0.priority, &a.0.name).cmp(&(!b.0.default, -b.0.priority, &b.0.name))
    });
}

/// The queues with their members.
pub(crate) fn with_members(list: Vec<QueueRow>, members: Vec<MemberRow>) -> Vec<Queue> {
    let mut out: Vec<Queue> = list.into_iter().map(|q| q.0).collect();
    for MemberRow(queue, agent) in members {
        if let Some(q) = out.iter_mut().find(|q| q.id == queue) {
            q.agent_ids.push(agent);
        }
    }
    out
}
