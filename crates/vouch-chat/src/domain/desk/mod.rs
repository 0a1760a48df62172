//! The support desk's rules: queues and routing (evaluated at session creation, on context from
//! the verified token only), agent administration, presence (with the grace period after the
//! last socket), auto-assignment (on every trigger the design names), transfer, and the `queue`
//! frames that tell waiting customers their position.

mod assign;
mod presence;
mod transfer;

pub use presence::SocketPresence;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value};
use tokio::sync::mpsc;
use uuid::Uuid;

use super::agents::{add_agent, NewAgent};
use super::Chat;
use crate::error::ChatError;
use crate::live::frames;
use crate::live::hub::{Audience, Frame, Hub};
use crate::storage::{
    now_millis, Agent, AgentPatch, Assigned, ConversationState, DeskAgent, Millis, Presence, Queue,
    Role, Routing, RoutingRule, RuleWhen, Sender, Store, StoreError, TransferRefusal,
    TransferRequest, TransferTarget, GENERAL_QUEUE_ID, MAX_CAPACITY,
};

/// Most queues; most routing rules per widget; most agents named in one membership.
pub const MAX_QUEUES: usize = 200;
pub const MAX_RULES: usize = 100;
pub const MAX_MEMBERS: usize = 1000;
/// Longest transfer note (characters).
pub const MAX_NOTE_CHARS: usize = 4000;
/// Most conversations one auto-assignment run assigns before it yields to its caller.
const ASSIGN_BATCH: usize = 1000;
/// Most waiting conversations of one queue told their position (the rest wait for a change).
const POSITIONS_TOLD: u32 = 1000;
/// How long queue changes gather before positions are sent (a burst of changes, one round).
const POSITION_COALESCE: Duration = Duration::from_millis(50);
/// Assignments remembered per queue for the wait estimate, and how old they may be.
const RATE_SAMPLES: usize = 20;
const RATE_WINDOW_MS: Millis = 3_600_000;

/// The frame that closes an agent's sockets on every node (deactivated).
pub(crate) const SIGNED_OUT: &str = r#"{"type":"signed_out"}"#;

/// The desk's per-node state: the queue-position worker and the assignment rate per queue.
#[derive(Default)]
pub struct DeskState {
    positions: OnceLock<mpsc::UnboundedSender<Uuid>>,
    assignments: Arc<Mutex<HashMap<Uuid, VecDeque<Millis>>>>,
}

/// `GET /api/v1/admin/queues`
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct QueueList {
    pub queues: Vec<Queue>,
}

/// `GET /api/v1/admin/agents`
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AgentList {
    pub agents: Vec<DeskAgent>,
}

fn invalid(field: &str, message: impl Into<String>) -> ChatError {
    ChatError::validation(field, message)
}

fn opt_string<'a>(body: &'a Map<String, Value>, field: &str) -> Result<Option<&'a str>, ChatError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(invalid(field, format!("{field} must be a string"))),
    }
}

fn req_string<'a>(body: &'a Map<String, Value>, field: &str) -> Result<&'a str, ChatError> {
    opt_string(body, field)?.ok_or_else(|| invalid(field, format!("{field} is required")))
}

fn opt_bool(body: &Map<String, Value>, field: &str) -> Result<Option<bool>, ChatError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(invalid(field, format!("{field} must be true or false"))),
    }
}

fn opt_int(
    body: &Map<String, Value>,
    field: &str,
    range: std::ops::RangeInclusive<i64>,
) -> Result<Option<i64>, ChatError> {
    let msg = || {
        format!(
            "{field} must be a whole number from {} to {}",
            range.start(),
            range.end()
        )
    };
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(v) if range.contains(&v) => Ok(Some(v)),
            _ => Err(invalid(field, msg())),
        },
        Some(_) => Err(invalid(field, msg())),
    }
}

fn parse_id(s: &str, field: &str, what: &str) -> Result<Uuid, ChatError> {
    Uuid::parse_str(s.trim()).map_err(|_| invalid(field, format!("{field} must be {what} id")))
}

fn check_role(s: &str, field: &str) -> Result<Role, ChatError> {
    s.parse::<Role>()
        .map_err(|_| invalid(field, "role must be agent or admin"))
}

fn check_name(s: &str, field: &str, max: usize) -> Result<String, ChatError> {
    let name = s.trim();
    if name.is_empty() || name.chars().count() > max || name.chars().any(char::is_control) {
        return Err(invalid(
            field,
            format!("{field} must be 1 to {max} characters"),
        ));
    }
    Ok(name.to_string())
}

/// Whether a rule's conditions all hold for a session: `verified` as given; `context` against
/// the verified token's `lwicontexts` only (compared as strings). A Not verified session has no
/// token context, so a rule with context conditions never matches it.
pub fn rule_matches(
    when: &RuleWhen,
    verified: bool,
    token_context: Option<&Map<String, Value>>,
) -> bool {
    if when.verified.is_some_and(|v| v != verified) {
        return false;
    }
    when.context.iter().all(
        |(name, want)| match token_context.and_then(|c| c.get(name)) {
            Some(Value::String(s)) => s == want,
            Some(Value::Number(n)) => n.to_string() == want.as_str(),
            Some(Value::Bool(b)) => want == if *b { "true" } else { "false" },
            _ => false,
        },
    )
}

/// The queue routing picks: the first rule whose every condition holds, else the default.
pub fn pick_queue(
    routing: &Routing,
    verified: bool,
    token_context: Option<&Map<String, Value>>,
) -> Uuid {
    routing
        .rules
        .iter()
        .find(|r| rule_matches(&r.when, verified, token_context))
        .map(|r| r.queue_id)
        .or(routing.default_queue_id)
        .unwrap_or(GENERAL_QUEUE_ID)
}

impl Chat {
    // --- routing ---

    /// The queue of a new session's conversation: the widget's rules on `verified` and the
    /// verified token's own context (`lwicontexts`), never the request body.
    pub(crate) async fn route(
        &self,
        widget: Uuid,
        verified: bool,
        token_context: Option<&Map<String, Value>>,
    ) -> Result<Uuid, ChatError> {
        let routing = self.store.get_routing(widget).await?.unwrap_or_default();
        Ok(pick_queue(&routing, verified, token_context))
    }

    pub async fn routing(&self, widget: Uuid) -> Result<Routing, ChatError> {
        self.store
            .get_widget(widget)
            .await?
            .ok_or(ChatError::NotFound("widget"))?;
        Ok(self.store.get_routing(widget).await?.unwrap_or_default())
    }

    /// `PUT …/widgets/{app_id}/routing`: every rule's queue must exist.
    pub async fn put_routing_from(
        &self,
        widget: Uuid,
        body: &Map<String, Value>,
    ) -> Result<Routing, ChatError> {
        self.store
            .get_widget(widget)
            .await?
            .ok_or(ChatError::NotFound("widget"))?;
        let rules = match body.get("rules") {
            Some(Value::Array(a)) => a,
            None | Some(Value::Null) => return Err(invalid("rules", "rules is required (a list)")),
            Some(_) => return Err(invalid("rules", "rules must be a list")),
        };
        if rules.len() > MAX_RULES {
            return Err(invalid("rules", format!("at most {MAX_RULES} rules")));
        }
        let mut parsed = Vec::with_capacity(rules.len());
        for r in rules {
            let Value::Object(r) = r else {
                return Err(invalid("rules", "each rule must be an object"));
            };
            let when = match r.get("when") {
                None | Some(Value::Null) => RuleWhen::default(),
                Some(Value::Object(w)) => self.parse_when(w)?,
                Some(_) => return Err(invalid("when", "when must be an object")),
            };
            let queue_id = parse_id(req_string(r, "queue_id")?, "queue_id", "a queue")?;
            if self.store.get_queue(queue_id).await?.is_none() {
                return Err(invalid("queue_id", "no queue has this id"));
            }
            parsed.push(RoutingRule { when, queue_id });
        }
        let default_queue_id = match opt_string(body, "default_queue_id")? {
            None => None,
            Some(s) => {
                let id = parse_id(s, "default_queue_id", "a queue")?;
                if self.store.get_queue(id).await?.is_none() {
                    return Err(invalid("default_queue_id", "no queue has this id"));
                }
                Some(id)
            }
        };
        let routing = Routing {
            rules: parsed,
            default_queue_id,
        };
        self.store
            .put_routing(widget, &routing, now_millis())
            .await?;
        Ok(routing)
    }

    fn parse_when(&self, w: &Map<String, Value>) -> Result<RuleWhen, ChatError> {
        let verified = opt_bool(w, "verified")?;
        let mut context = std::collections::BTreeMap::new();
        match w.get("context") {
            None | Some(Value::Null) => {}
            Some(Value::Object(c)) => {
                if c.len() > super::sessions::MAX_CONTEXT_ENTRIES {
                    return Err(invalid("context", "too many context conditions"));
                }
                for (k, v) in c {
                    if k.is_empty() || k.chars().count() > super::sessions::MAX_CONTEXT_NAME {
                        return Err(invalid(
                            "context",
                            "context names must be 1 to 100 characters",
                        ));
                    }
                    let v = match v {
                        Value::String(s) => s.clone(),
                        Value::Number(_) | Value::Bool(_) => v.to_string(),
                        _ => {
                            return Err(invalid(
                                "context",
                                "context values must be strings (numbers and booleans are compared as text)",
                            ))
                        }
                    };
                    if v.chars().count() > super::sessions::MAX_CONTEXT_VALUE {
                        return Err(invalid(
                            "context",
                            "context values may be at most 4000 characters",
                        ));
                    }
                    context.insert(k.clone(), v);
                }
            }
            Some(_) => return Err(invalid("context", "context must be an object")),
        }
        Ok(RuleWhen { verified, context })
    }

    // --- queues ---

    pub async fn list_queues(&self) -> Result<Vec<Queue>, ChatError> {
        Ok(self.store.list_queues().await?)
    }

    /// `POST /api/v1/admin/queues {name, priority?, auto_assign?}`
    pub async fn create_queue_from(&self, body: &Map<String, Value>) -> Result<Queue, ChatError> {
        let name = check_name(req_string(body, "name")?, "name", 100)?;
        let priority = opt_int(body, "priority", -1000..=1000)?.unwrap_or(0);
        let auto_assign = opt_bool(body, "auto_assign")?.unwrap_or(true);
        if self.store.list_queues().await?.len() >= MAX_QUEUES {
            return Err(invalid("name", format!("at most {MAX_QUEUES} queues")));
        }
        let q = Queue {
            id: Uuid::new_v4(),
            name,
            priority,
            auto_assign,
            default: false,
            agent_ids: Vec::new(),
            created_at: now_millis(),
        };
        match self.store.insert_queue(&q).await {
            Ok(()) => Ok(q),
            Err(StoreError::Conflict(c)) => Err(invalid("name", c.to_string())),
            Err(e) => Err(e.into()),
        }
    }

    /// `PUT /api/v1/admin/queues/{id}/members {"agent_ids": [...]}`: every id must be an agent.
    pub async fn set_members_from(
        &self,
        queue_id: Uuid,
        body: &Map<String, Value>,
    ) -> Result<Queue, ChatError> {
        self.store
            .get_queue(queue_id)
            .await?
            .ok_or(ChatError::NotFound("queue"))?;
        let ids = match body.get("agent_ids") {
            Some(Value::Array(a)) => a,
            None | Some(Value::Null) => return Err(invalid("agent_ids", "agent_ids is required")),
            Some(_) => {
                return Err(invalid(
                    "agent_ids",
                    "agent_ids must be a list of agent ids",
                ))
            }
        };
        if ids.len() > MAX_MEMBERS {
            return Err(invalid(
                "agent_ids",
                format!("at most {MAX_MEMBERS} agents"),
            ));
        }
        let mut agents = Vec::with_capacity(ids.len());
        for v in ids {
            let Value::String(s) = v else {
                return Err(invalid(
                    "agent_ids",
                    "agent_ids must be a list of agent ids",
                ));
            };
            let id = parse_id(s, "agent_ids", "an agent")?;
            if self.store.get_agent(id).await?.is_none() {
                return Err(invalid("agent_ids", format!("no agent has the id {id}")));
            }
            if !agents.contains(&id) {
                agents.push(id);
            }
        }
        match self.store.set_queue_members(queue_id, &agents).await {
            Err(StoreError::NotFound) => return Err(ChatError::NotFound("queue")),
            other => other?,
        }
        self.auto_assign().await;
        self.store
            .get_queue(queue_id)
            .await?
            .ok_or(ChatError::NotFound("queue"))
    }

    // --- agents ---

    pub async fn list_desk_agents(&self) -> Result<Vec<DeskAgent>, ChatError> {
        Ok(self.store.list_desk_agents().await?)
    }

    /// The agent as the desk sees it (`GET /api/v1/agent/me`).
    pub async fn desk_agent(&self, id: Uuid) -> Result<DeskAgent, ChatError> {
        self.store
            .desk_agent(id)
            .await?
            .ok_or(ChatError::NotFound("agent"))
    }

    /// `POST /api/v1/admin/agents {email, name, role, password, capacity?}`
    pub async fn create_agent_from(
        &self,
        body: &Map<String, Value>,
    ) -> Result<DeskAgent, ChatError> {
        let email = req_string(body, "email")?;
        let name = req_string(body, "name")?;
        let role = check_role(req_string(body, "role")?, "role")?;
        let password = req_string(body, "password")?;
        let capacity = opt_int(body, "capacity", 0..=MAX_CAPACITY)?;
        let agent = add_agent(
            self.store.as_ref(),
            &self.passwords,
            NewAgent {
                email: email.into(),
                name: name.into(),
                role,
                password: password.into(),
            },
        )
        .await
        .map_err(|e| match e {
            ChatError::Conflict(m) => invalid("email", m),
            e => e,
        })?;
        if let Some(capacity) = capacity {
            let patch = AgentPatch {
                capacity: Some(capacity),
                ..AgentPatch::default()
            };
            self.store.update_agent(agent.id, &patch).await?;
        }
        tracing::info!(agent = %agent.id, role = %agent.role, "agent created by an admin");
        self.desk_agent(agent.id).await
    }

    /// `PATCH /api/v1/admin/agents/{id} {name?, role?, capacity?, active?, password?}`.
    /// `active: false` ends the agent's sign-ins and sockets at once, on every node.
    pub async fn patch_agent_from(
        &self,
        by: &Agent,
        id: Uuid,
        body: &Map<String, Value>,
    ) -> Result<DeskAgent, ChatError> {
        self.store
            .get_agent(id)
            .await?
            .ok_or(ChatError::NotFound("agent"))?;
        let name = opt_string(body, "name")?
            .map(|s| check_name(s, "name", 200))
            .transpose()?;
        let role = opt_string(body, "role")?
            .map(|s| check_role(s, "role"))
            .transpose()?;
        let capacity = opt_int(body, "capacity", 0..=MAX_CAPACITY)?;
        let active = opt_bool(body, "active")?;
        if active == Some(false) && by.id == id {
            return Err(invalid("active", "you cannot deactivate your own account"));
        }
        if role == Some(Role::Agent) && by.id == id {
            return Err(invalid("role", "you cannot remove your own admin role"));
        }
        let password_hash = match opt_string(body, "password")? {
            None => None,
            Some(p) if p.is_empty() || p.len() > 1024 => {
                return Err(invalid("password", "must be 1 to 1024 bytes"))
            }
            Some(p) => Some(self.passwords.hash(p.to_string()).await?),
        };
        let patch = AgentPatch {
            name,
            role,
            capacity,
            active,
            password_hash,
        };
        self.store
            .update_agent(id, &patch)
            .await
            .map_err(|e| match e {
                StoreError::NotFound => ChatError::NotFound("agent"),
                e => e.into(),
            })?;
        if active == Some(false) {
            tracing::info!(agent = %id, "agent deactivated: sign-ins and sockets ended");
            self.hub
                .publish_agents(Audience::Agent(id), Frame::from(SIGNED_OUT));
        }
        if capacity.is_some() || active == Some(true) {
            self.auto_assign().await;
        }
        self.desk_agent(id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ctx(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn first_matching_rule_wins_else_default() {
        let gold = Uuid::from_u128(7);
        let verified_q = Uuid::from_u128(8);
        let routing = Routing {
            rules: vec![
                RoutingRule {
                    when: RuleWhen {
                        verified: Some(true),
                        context: [("tier".to_string(), "gold".to_string())].into(),
                    },
                    queue_id: gold,
                },
                RoutingRule {
                    when: RuleWhen {
                        verified: Some(true),
                        context: Default::default(),
                    },
                    queue_id: verified_q,
                },
            ],
            default_queue_id: None,
        };
        let t = ctx(json!({"tier": "gold", "cart": 120}));
        assert_eq!(pick_queue(&routing, true, Some(&t)), gold);
        let t = ctx(json!({"tier": "silver"}));
        assert_eq!(pick_queue(&routing, true, Some(&t)), verified_q);
        assert_eq!(pick_queue(&routing, true, None), verified_q);
        // Not verified: no token context, and `verified: true` fails.
        assert_eq!(pick_queue(&routing, false, None), GENERAL_QUEUE_ID);
        // Numbers compare as their text.
        let n = Routing {
            rules: vec![RoutingRule {
                when: RuleWhen {
                    verified: None,
                    context: [("cart".to_string(), "120".to_string())].into(),
                },
                queue_id: gold,
            }],
            default_queue_id: Some(verified_q),
        };
        assert_eq!(pick_queue(&n, true, Some(&ctx(json!({"cart": 120})))), gold);
        assert_eq!(
            pick_queue(&n, true, Some(&ctx(json!({"cart": 99})))),
            verified_q
        );
    }
}
