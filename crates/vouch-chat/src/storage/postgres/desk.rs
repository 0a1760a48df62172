//! PostgreSQL's SQL of the desk ([`DeskStore`], [`DeskSteps`]). The locks that keep
//! auto-assignment right with several nodes are described in [`super::super::desk`]: the
//! conversation picked `FOR UPDATE OF c SKIP LOCKED`, the agent's row locked before its active
//! conversations are counted.

use async_trait::async_trait;
use uuid::Uuid;

use super::super::desk::{self, DeskSteps};
use super::super::rows::{cols, json_text};
use super::steps::{all, one, PgSteps};
use super::*;

/// An agent's active conversations, for a query over `agents`.
macro_rules! active_count {
    () => {
        "(SELECT COUNT(*) FROM conversations x WHERE x.agent_id = agents.id AND x.state = 'active')"
    };
}

/// Columns of a [`desk::DeskAgent`].
macro_rules! desk_agent_cols {
    () => {
        concat!(
            "id, email, name, role, capacity, active, status, ",
            active_count!()
        )
    };
}

const QUEUE_COLS: &str = "id, name, priority, auto_assign, is_default, created_at";

/// An available, active agent below capacity, if any.
const ANYONE_WITH_ROOM: &str = concat!(
    "SELECT agents.id FROM agents WHERE agents.active AND agents.status = 'available' AND ",
    active_count!(),
    " < agents.capacity LIMIT 1"
);

/// The assignable conversations, locked, skipping those another transaction holds.
const NEXT_ASSIGNABLE: &str = concat!(
    "SELECT c.id, c.queue_id FROM conversations c JOIN queues q ON q.id = c.queue_id
     WHERE c.state = 'waiting' AND q.auto_assign AND EXISTS (
       SELECT 1 FROM queue_members m JOIN agents ON agents.id = m.agent_id
       WHERE m.queue_id = c.queue_id AND agents.active AND agents.status = 'available' AND ",
    active_count!(),
    " < agents.capacity)
     ORDER BY q.priority DESC, c.created_at, c.id LIMIT $1"
);

impl DeskSteps for PgSteps {
    async fn next_assignable(&mut self, skip: &[Uuid]) -> StoreResult<Option<(Uuid, Uuid)>> {
        let sql = format!("{NEXT_ASSIGNABLE} FOR UPDATE OF c SKIP LOCKED");
        let rows: Vec<desk::IdPair> = all(sqlx::query(&sql)
            .bind((skip.len() + 1) as i64)
            .fetch_all(&mut *self.0)
            .await?)?;
        Ok(rows
            .into_iter()
            .map(|p| (p.0, p.1))
            .find(|(id, _)| !skip.contains(id)))
    }

    async fn assign_candidates(&mut self, queue_id: Uuid) -> StoreResult<Vec<Uuid>> {
        let sql = concat!(
            "SELECT agents.id FROM queue_members m JOIN agents ON agents.id = m.agent_id
             WHERE m.queue_id = $1 AND agents.active AND agents.status = 'available'
             ORDER BY ",
            active_count!(),
            ", COALESCE(agents.last_assigned_at, 0), agents.id"
        );
        let rows: Vec<desk::OneId> = all(sqlx::query(sql)
            .bind(queue_id)
            .fetch_all(&mut *self.0)
            .await?)?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    async fn lock_agent_with_room(&mut self, agent_id: Uuid) -> StoreResult<Option<Agent>> {
        // The lock first, in its own statement: once it is ours, any other assignment to this
        // agent has committed, and the count below (a later statement) sees it. SKIP LOCKED: an
        // agent another node is assigning to right now is passed over, never waited for — a
        // transaction holding one agent's lock never waits for another's, so none deadlock
        // (that node's run assigns again after it commits, so nothing is left waiting).
        let locked = sqlx::query("SELECT 1 FROM agents WHERE id = $1 FOR UPDATE SKIP LOCKED")
            .bind(agent_id)
            .fetch_optional(&mut *self.0)
            .await?;
        if locked.is_none() {
            return Ok(None);
        }
        let sql = concat!(
            "SELECT ",
            cols!(agent),
            " FROM agents WHERE id = $1 AND active AND status = 'available' AND ",
            active_count!(),
            " < capacity"
        );
        one(sqlx::query(sql)
            .bind(agent_id)
            .fetch_optional(&mut *self.0)
            .await?)
    }

    async fn mark_assigned(&mut self, agent_id: Uuid, now: Millis) -> StoreResult<()> {
        sqlx::query("UPDATE agents SET last_assigned_at = $1 WHERE id = $2")
            .bind(now)
            .bind(agent_id)
            .execute(&mut *self.0)
            .await?;
        Ok(())
    }

    async fn active_agent(&mut self, id: Uuid) -> StoreResult<Option<Agent>> {
        let sql = concat!(
            "SELECT ",
            cols!(agent),
            " FROM agents WHERE id = $1 AND active"
        );
        one(sqlx::query(sql)
            .bind(id)
            .fetch_optional(&mut *self.0)
            .await?)
    }

    async fn queue_name(&mut self, id: Uuid) -> StoreResult<Option<String>> {
        Ok(sqlx::query_scalar("SELECT name FROM queues WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *self.0)
            .await?)
    }

    async fn reassign(
        &mut self,
        id: Uuid,
        agent_id: Option<Uuid>,
        state: ConversationState,
        queue_id: Uuid,
        now: Millis,
    ) -> StoreResult<()> {
        let done = sqlx::query(
            "UPDATE conversations SET agent_id = $1, state = $2, queue_id = $3, updated_at = $4, accepted_at = CASE WHEN $1::UUID IS NULL THEN accepted_at ELSE COALESCE(accepted_at, $4) END WHERE id = $5",
        )
        .bind(agent_id)
        .bind(state.as_str())
        .bind(queue_id)
        .bind(now)
        .bind(id)
        .execute(&mut *self.0)
        .await?;
        updated(done.rows_affected())
    }
}

impl PgStore {
    async fn queues(&self, only: Option<Uuid>) -> StoreResult<Vec<Queue>> {
        let mut list: Vec<desk::QueueRow> = match only {
            Some(id) => all(sqlx::query(&format!(
                "SELECT {QUEUE_COLS} FROM queues WHERE id = $1"
            ))
            .bind(id)
            .fetch_all(&self.pool)
            .await?)?,
            None => all(sqlx::query(&format!("SELECT {QUEUE_COLS} FROM queues"))
                .fetch_all(&self.pool)
                .await?)?,
        };
        let members: Vec<desk::MemberRow> = all(sqlx::query(
            "SELECT queue_id, agent_id FROM queue_members ORDER BY agent_id",
        )
        .fetch_all(&self.pool)
        .await?)?;
        desk::sort_queues(&mut list);
        Ok(desk::with_members(list, members))
    }
}

#[async_trait]
impl DeskStore for PgStore {
    async fn list_queues(&self) -> StoreResult<Vec<Queue>> {
        self.queues(None).await
    }

    async fn get_queue(&self, id: Uuid) -> StoreResult<Option<Queue>> {
        Ok(self.queues(Some(id)).await?.pop())
    }

    async fn insert_queue(&self, q: &Queue) -> StoreResult<()> {
        let res = sqlx::query(&format!(
            "INSERT INTO queues ({QUEUE_COLS}) VALUES ($1, $2, $3, $4, $5, $6)"
        ))
        .bind(q.id)
        .bind(&q.name)
        .bind(q.priority)
        .bind(q.auto_assign)
        .bind(q.default)
        .bind(q.created_at)
        .execute(&self.pool)
        .await;
        match res {
            Ok(_) => Ok(()),
            Err(e) if vouch_db::is_unique_violation(&e) => {
                Err(StoreError::Conflict(Conflict::NameTaken(q.name.clone())))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn set_queue_members(&self, queue_id: Uuid, agent_ids: &[Uuid]) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        // The queue's row locked: two admins saving members at once apply one after the other.
        let found = sqlx::query("SELECT 1 FROM queues WHERE id = $1 FOR UPDATE")
            .bind(queue_id)
            .fetch_optional(&mut *tx)
            .await?;
        if found.is_none() {
            return Err(StoreError::NotFound);
        }
        sqlx::query("DELETE FROM queue_members WHERE queue_id = $1")
            .bind(queue_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO queue_members (queue_id, agent_id) SELECT $1, a FROM UNNEST($2::uuid[]) a ON CONFLICT DO NOTHING",
        )
        .bind(queue_id)
        .bind(agent_ids)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn get_routing(&self, widget: Uuid) -> StoreResult<Option<Routing>> {
        let row: Option<desk::RoutingRow> = one(sqlx::query(
            "SELECT rules, default_queue_id FROM widget_routing WHERE widget_app_id = $1",
        )
        .bind(widget)
        .fetch_optional(&self.pool)
        .await?)?;
        Ok(row.map(|r| r.0))
    }

    async fn put_routing(&self, widget: Uuid, r: &Routing, now: Millis) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO widget_routing (widget_app_id, rules, default_queue_id, updated_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (widget_app_id) DO UPDATE SET rules = excluded.rules,
               default_queue_id = excluded.default_queue_id, updated_at = excluded.updated_at",
        )
        .bind(widget)
        .bind(json_text(&r.rules)?)
        .bind(r.default_queue_id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn list_desk_agents(&self) -> StoreResult<Vec<DeskAgent>> {
        let sql = concat!(
            "SELECT ",
            desk_agent_cols!(),
            " FROM agents ORDER BY name, email"
        );
        all(sqlx::query(sql).fetch_all(&self.pool).await?)
    }

    async fn desk_agent(&self, id: Uuid) -> StoreResult<Option<DeskAgent>> {
        let sql = concat!("SELECT ", desk_agent_cols!(), " FROM agents WHERE id = $1");
        one(sqlx::query(sql).bind(id).fetch_optional(&self.pool).await?)
    }

    async fn update_agent(&self, id: Uuid, p: &AgentPatch) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "UPDATE agents SET name = COALESCE($1, name), role = COALESCE($2, role),
               capacity = COALESCE($3, capacity), active = COALESCE($4, active),
               password_hash = COALESCE($5, password_hash) WHERE id = $6",
        )
        .bind(&p.name)
        .bind(p.role.map(Role::as_str))
        .bind(p.capacity)
        .bind(p.active)
        .bind(&p.password_hash)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        updated(done.rows_affected())?;
        if p.active == Some(false) {
            sqlx::query("DELETE FROM agent_tokens WHERE agent_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("UPDATE agents SET status = 'offline' WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn set_presence(&self, id: Uuid, status: Presence) -> StoreResult<()> {
        let done = sqlx::query("UPDATE agents SET status = $1 WHERE id = $2")
            .bind(status.as_str())
            .bind(id)
            .execute(&self.pool)
            .await?;
        updated(done.rows_affected())
    }

    async fn count_socket(&self, id: Uuid, delta: i64, now: Millis) -> StoreResult<i64> {
        let n: Option<i64> = sqlx::query_scalar(
            "UPDATE agents SET open_sockets = GREATEST(open_sockets + $1, 0), sockets_changed_at = $2
             WHERE id = $3 RETURNING open_sockets",
        )
        .bind(delta)
        .bind(now)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        n.ok_or(StoreError::NotFound)
    }

    async fn offline_if_idle(&self, id: Uuid, closed_at: Millis) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE agents SET status = 'offline' WHERE id = $1 AND open_sockets = 0
               AND sockets_changed_at <= $2 AND status <> 'offline'",
        )
        .bind(id)
        .bind(closed_at)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn anything_to_assign(&self) -> StoreResult<bool> {
        // The cheap question first: is any agent available with room at all?
        let room = sqlx::query(ANYONE_WITH_ROOM)
            .fetch_optional(&self.pool)
            .await?;
        if room.is_none() {
            return Ok(false);
        }
        let rows = sqlx::query(NEXT_ASSIGNABLE)
            .bind(1i64)
            .fetch_all(&self.pool)
            .await?;
        Ok(!rows.is_empty())
    }

    async fn assign_next(&self, now: Millis) -> StoreResult<Option<Assigned>> {
        let mut tx = self.begin().await?;
        let out = desk::assign_next(&mut tx, now).await?;
        if out.is_some() {
            tx.commit().await?;
        }
        Ok(out)
    }

    async fn transfer(
        &self,
        t: &TransferRequest,
    ) -> StoreResult<Result<Transferred, TransferRefusal>> {
        let mut tx = self.begin().await?;
        let out = desk::transfer(&mut tx, t).await?;
        if out.is_ok() {
            tx.commit().await?;
        }
        Ok(out)
    }

    async fn waiting_in_queue(&self, queue_id: Uuid, limit: u32) -> StoreResult<Vec<Uuid>> {
        let rows: Vec<desk::OneId> = all(sqlx::query(
            "SELECT id FROM conversations WHERE state = 'waiting' AND queue_id = $1
             ORDER BY created_at, id LIMIT $2",
        )
        .bind(queue_id)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?)?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }
}
