//! SQLite's SQL of the desk ([`DeskStore`], [`DeskSteps`]). One writer: the flows run whole
//! inside one write, so nothing here locks.

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};
use uuid::Uuid;

use super::super::desk::{self, DeskSteps};
use super::super::flows::ready;
use super::super::rows::{cols, json_text};
use super::steps::{execute, query_all, query_one, Id, SqliteSteps};
use super::writer::is_unique_violation;
use super::*;

/// An agent's active conversations, for a query over `agents`.
macro_rules! active_count {
    () => {
        "(SELECT COUNT(*) FROM conversations x WHERE x.agent_id = agents.id AND x.state = 'active')"
    };
}

/// Columns of a [`desk::DeskAgent`] (read by `desk::desk_agent_row`).
macro_rules! desk_agent_cols {
    () => {
        concat!(
            "id, email, name, role, capacity, active, status, ",
            active_count!()
        )
    };
}

fn queues(c: &Connection, only: Option<Uuid>) -> StoreResult<Vec<Queue>> {
    let mut list: Vec<desk::QueueRow> = match only {
        Some(id) => query_all(
            c,
            "SELECT id, name, priority, auto_assign, is_default, created_at FROM queues WHERE id = ?",
            [Id::of(id)],
        )?,
        None => query_all(
            c,
            "SELECT id, name, priority, auto_assign, is_default, created_at FROM queues",
            [],
        )?,
    };
    let members: Vec<desk::MemberRow> = query_all(
        c,
        "SELECT queue_id, agent_id FROM queue_members ORDER BY agent_id",
        [],
    )?;
    desk::sort_queues(&mut list);
    Ok(desk::with_members(list, members))
}

fn agent_with_room(c: &Connection, id: Uuid) -> StoreResult<Option<Agent>> {
    query_one(
        c,
        concat!(
            "SELECT ",
            cols!(agent),
            " FROM agents WHERE id = ? AND active = 1 AND status = 'available' AND ",
            active_count!(),
            " < capacity"
        ),
        [Id::of(id)],
    )
}

/// An available, active agent below capacity, if any.
const ANYONE_WITH_ROOM: &str = concat!(
    "SELECT agents.id FROM agents WHERE agents.active = 1 AND agents.status = 'available' AND ",
    active_count!(),
    " < agents.capacity LIMIT 1"
);

/// The assignable conversations, as [`DeskSteps::next_assignable`] orders them.
const NEXT_ASSIGNABLE: &str = concat!(
    "SELECT c.id, c.queue_id FROM conversations c JOIN queues q ON q.id = c.queue_id
     WHERE c.state = 'waiting' AND q.auto_assign = 1 AND EXISTS (
       SELECT 1 FROM queue_members m JOIN agents ON agents.id = m.agent_id
       WHERE m.queue_id = c.queue_id AND agents.active = 1 AND agents.status = 'available' AND ",
    active_count!(),
    " < agents.capacity)
     ORDER BY q.priority DESC, c.created_at, c.id LIMIT ?"
);

impl DeskSteps for SqliteSteps<'_> {
    async fn next_assignable(&mut self, skip: &[Uuid]) -> StoreResult<Option<(Uuid, Uuid)>> {
        let rows: Vec<desk::IdPair> =
            query_all(self.0, NEXT_ASSIGNABLE, [(skip.len() + 1) as i64])?;
        Ok(rows
            .into_iter()
            .map(|p| (p.0, p.1))
            .find(|(id, _)| !skip.contains(id)))
    }

    async fn assign_candidates(&mut self, queue_id: Uuid) -> StoreResult<Vec<Uuid>> {
        let rows: Vec<desk::OneId> = query_all(
            self.0,
            concat!(
                "SELECT agents.id FROM queue_members m JOIN agents ON agents.id = m.agent_id
                 WHERE m.queue_id = ? AND agents.active = 1 AND agents.status = 'available'
                 ORDER BY ",
                active_count!(),
                ", COALESCE(agents.last_assigned_at, 0), agents.id"
            ),
            [Id::of(queue_id)],
        )?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    async fn lock_agent_with_room(&mut self, agent_id: Uuid) -> StoreResult<Option<Agent>> {
        agent_with_room(self.0, agent_id)
    }

    async fn mark_assigned(&mut self, agent_id: Uuid, now: Millis) -> StoreResult<()> {
        execute(
            self.0,
            "UPDATE agents SET last_assigned_at = ? WHERE id = ?",
            params![now, Id::of(agent_id)],
        )?;
        Ok(())
    }

    async fn active_agent(&mut self, id: Uuid) -> StoreResult<Option<Agent>> {
        query_one(
            self.0,
            concat!(
                "SELECT ",
                cols!(agent),
                " FROM agents WHERE id = ? AND active = 1"
            ),
            [Id::of(id)],
        )
    }

    async fn queue_name(&mut self, id: Uuid) -> StoreResult<Option<String>> {
        Ok(self
            .0
            .prepare_cached("SELECT name FROM queues WHERE id = ?")?
            .query_row([Id::of(id)], |r| r.get(0))
            .optional()?)
    }

    async fn reassign(
        &mut self,
        id: Uuid,
        agent_id: Option<Uuid>,
        state: ConversationState,
        queue_id: Uuid,
        now: Millis,
    ) -> StoreResult<()> {
        updated(execute(
            self.0,
            "UPDATE conversations SET agent_id = ?1, state = ?2, queue_id = ?3, updated_at = ?4, accepted_at = CASE WHEN ?1 IS NULL THEN accepted_at ELSE COALESCE(accepted_at, ?4) END WHERE id = ?5",
            params![Id::opt(agent_id), state.as_str(), Id::of(queue_id), now, Id::of(id)],
        )? as u64)
    }
}

#[async_trait]
impl DeskStore for SqliteStore {
    async fn list_queues(&self) -> StoreResult<Vec<Queue>> {
        self.read(|c| queues(c, None)).await
    }

    async fn get_queue(&self, id: Uuid) -> StoreResult<Option<Queue>> {
        self.read(move |c| Ok(queues(c, Some(id))?.pop())).await
    }

    async fn insert_queue(&self, q: &Queue) -> StoreResult<()> {
        let q = q.clone();
        self.write(move |c| {
            let res = c
                .prepare_cached(
                    "INSERT INTO queues (id, name, priority, auto_assign, is_default, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                )?
                .execute(params![
                    Id::of(q.id),
                    q.name,
                    q.priority,
                    q.auto_assign,
                    q.default,
                    q.created_at
                ]);
            match res {
                Ok(_) => Ok(()),
                Err(e) if is_unique_violation(&e) => {
                    Err(StoreError::Conflict(Conflict::NameTaken(q.name)))
                }
                Err(e) => Err(e.into()),
            }
        })
        .await
    }

    async fn set_queue_members(&self, queue_id: Uuid, agent_ids: &[Uuid]) -> StoreResult<()> {
        let agent_ids = agent_ids.to_vec();
        self.write(move |c| {
            updated(execute(
                c,
                "UPDATE queues SET name = name WHERE id = ?",
                [Id::of(queue_id)],
            )? as u64)?;
            execute(
                c,
                "DELETE FROM queue_members WHERE queue_id = ?",
                [Id::of(queue_id)],
            )?;
            for a in &agent_ids {
                execute(
                    c,
                    "INSERT OR IGNORE INTO queue_members (queue_id, agent_id) VALUES (?, ?)",
                    params![Id::of(queue_id), Id::of(*a)],
                )?;
            }
            Ok(())
        })
        .await
    }

    async fn get_routing(&self, widget: Uuid) -> StoreResult<Option<Routing>> {
        self.lookup(|c| {
            let row: Option<desk::RoutingRow> = query_one(
                c,
                "SELECT rules, default_queue_id FROM widget_routing WHERE widget_app_id = ?",
                [Id::of(widget)],
            )?;
            Ok(row.map(|r| r.0))
        })
    }

    async fn put_routing(&self, widget: Uuid, r: &Routing, now: Millis) -> StoreResult<()> {
        let rules = json_text(&r.rules)?;
        let default = r.default_queue_id;
        self.write(move |c| {
            execute(
                c,
                "INSERT INTO widget_routing (widget_app_id, rules, default_queue_id, updated_at) VALUES (?, ?, ?, ?)
                 ON CONFLICT (widget_app_id) DO UPDATE SET rules = excluded.rules,
                   default_queue_id = excluded.default_queue_id, updated_at = excluded.updated_at",
                params![Id::of(widget), rules, Id::opt(default), now],
            )?;
            Ok(())
        })
        .await
    }

    async fn list_desk_agents(&self) -> StoreResult<Vec<DeskAgent>> {
        self.read(|c| {
            query_all(
                c,
                concat!(
                    "SELECT ",
                    desk_agent_cols!(),
                    " FROM agents ORDER BY name, email"
                ),
                [],
            )
        })
        .await
    }

    async fn desk_agent(&self, id: Uuid) -> StoreResult<Option<DeskAgent>> {
        self.lookup(|c| {
            query_one(
                c,
                concat!("SELECT ", desk_agent_cols!(), " FROM agents WHERE id = ?"),
                [Id::of(id)],
            )
        })
    }

    async fn update_agent(&self, id: Uuid, p: &AgentPatch) -> StoreResult<()> {
        let p = p.clone();
        self.write(move |c| {
            updated(execute(
                c,
                "UPDATE agents SET name = COALESCE(?, name), role = COALESCE(?, role),
                   capacity = COALESCE(?, capacity), active = COALESCE(?, active),
                   password_hash = COALESCE(?, password_hash) WHERE id = ?",
                params![
                    p.name,
                    p.role.map(Role::as_str),
                    p.capacity,
                    p.active,
                    p.password_hash,
                    Id::of(id)
                ],
            )? as u64)?;
            if p.active == Some(false) {
                execute(
                    c,
                    "DELETE FROM agent_tokens WHERE agent_id = ?",
                    [Id::of(id)],
                )?;
                execute(
                    c,
                    "UPDATE agents SET status = 'offline' WHERE id = ?",
                    [Id::of(id)],
                )?;
            }
            Ok(())
        })
        .await
    }

    async fn set_presence(&self, id: Uuid, status: Presence) -> StoreResult<()> {
        self.write(move |c| {
            updated(execute(
                c,
                "UPDATE agents SET status = ? WHERE id = ?",
                params![status.as_str(), Id::of(id)],
            )? as u64)
        })
        .await
    }

    async fn count_socket(&self, id: Uuid, delta: i64, now: Millis) -> StoreResult<i64> {
        self.write(move |c| {
            c.prepare_cached(
                "UPDATE agents SET open_sockets = MAX(open_sockets + ?, 0), sockets_changed_at = ?
                 WHERE id = ? RETURNING open_sockets",
            )?
            .query_row(params![delta, now, Id::of(id)], |r| r.get(0))
            .optional()?
            .ok_or(StoreError::NotFound)
        })
        .await
    }

    async fn offline_if_idle(&self, id: Uuid, closed_at: Millis) -> StoreResult<bool> {
        self.write(move |c| {
            Ok(execute(
                c,
                "UPDATE agents SET status = 'offline' WHERE id = ? AND open_sockets = 0
                   AND sockets_changed_at <= ? AND status <> 'offline'",
                params![Id::of(id), closed_at],
            )? == 1)
        })
        .await
    }

    async fn anything_to_assign(&self) -> StoreResult<bool> {
        self.read(|c| {
            // First the cheap question (most of the time nobody has room, e.g. at night): is
            // any agent available with room at all? Only then the waiting conversations.
            let room: Vec<desk::OneId> = query_all(c, ANYONE_WITH_ROOM, [])?;
            if room.is_empty() {
                return Ok(false);
            }
            let rows: Vec<desk::IdPair> = query_all(c, NEXT_ASSIGNABLE, [1i64])?;
            Ok(!rows.is_empty())
        })
        .await
    }

    async fn assign_next(&self, now: Millis) -> StoreResult<Option<Assigned>> {
        self.write(move |c| ready(desk::assign_next(&mut SqliteSteps(c), now)))
            .await
    }

    async fn transfer(
        &self,
        t: &TransferRequest,
    ) -> StoreResult<Result<Transferred, TransferRefusal>> {
        let t = t.clone();
        self.write(move |c| ready(desk::transfer(&mut SqliteSteps(c), &t)))
            .await
    }

    async fn waiting_in_queue(&self, queue_id: Uuid, limit: u32) -> StoreResult<Vec<Uuid>> {
        self.read(move |c| {
            let rows: Vec<desk::OneId> = query_all(
                c,
                "SELECT id FROM conversations WHERE state = 'waiting' AND queue_id = ?
                 ORDER BY created_at, id LIMIT ?",
                params![Id::of(queue_id), limit as i64],
            )?;
            Ok(rows.into_iter().map(|r| r.0).collect())
        })
        .await
    }
}
