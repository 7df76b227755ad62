//! Agents and the queue of waiting conversations (migration 0024).

use hilo_domain::conversations::assignment::Availability;
use hilo_domain::{ConversationId, Timestamp, UserId};

use super::parse_id;
use crate::tx::{Tx, on_tx};
use crate::{Store, StoreResult, on_pool};

/// A console user who answers customers, with what assignment needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentRecord {
    pub user: UserId,
    pub email: String,
    pub name: String,
    pub role: String,
    pub availability: Availability,
    /// Their own capacity, if set (else the settings' default).
    pub capacity: Option<u32>,
    pub last_assigned_at: Option<Timestamp>,
    /// Open and pending conversations assigned to them.
    pub open: u32,
}

#[derive(sqlx::FromRow)]
struct AgentRow {
    id: String,
    email: String,
    name: String,
    role: String,
    availability: Option<String>,
    capacity: Option<i64>,
    last_assigned_at: Option<i64>,
    open: i64,
}

impl TryFrom<AgentRow> for AgentRecord {
    type Error = crate::StoreError;

    fn try_from(row: AgentRow) -> StoreResult<Self> {
        Ok(Self {
            user: parse_id("user id", &row.id)?,
            email: row.email,
            name: row.name,
            role: row.role,
            availability: match row.availability {
                Some(text) => parse_id("availability", &text)?,
                None => Availability::Offline,
            },
            capacity: row.capacity.and_then(|c| u32::try_from(c).ok()),
            last_assigned_at: row.last_assigned_at.map(Timestamp::from_millis),
            open: u32::try_from(row.open).unwrap_or(u32::MAX),
        })
    }
}

/// Statuses that count in an agent's load and go back to the queue when they leave.
const HELD: &str = "('open', 'pending')";

const AGENTS: &str = "SELECT u.id, u.email, u.name, u.role, a.availability, a.capacity, \
    a.last_assigned_at, (SELECT COUNT(*) FROM conversations c WHERE \
    c.assignee_id = u.id AND c.status IN ('open', 'pending')) AS open \
    FROM users u LEFT JOIN agents a ON a.user_id = u.id \
    WHERE u.role IN ('admin', 'agent') ORDER BY u.email";
const WAITING: &str = "SELECT id, team_id FROM conversations WHERE status = 'open' \
    AND assignee_id IS NULL ORDER BY created_at, id LIMIT $1";
/// The advisory lock that lets one transaction at a time run the queue on PostgreSQL
/// (SQLite's write lock does it there): two runs reading the same loads at once would
/// each fill the same agent's room.
const QUEUE_LOCK: i64 = 0x6869_6c6f_6173_7367;

impl Store {
    /// The users who answer customers (admins and agents), by email.
    pub async fn agents(&self) -> StoreResult<Vec<AgentRecord>> {
        let rows = on_pool!(self, |pool| sqlx::query_as::<_, AgentRow>(AGENTS)
            .fetch_all(pool)
            .await?);
        rows.into_iter().map(AgentRecord::try_from).collect()
    }
}

impl Tx {
    /// Takes the queue for this transaction: other runs wait until it ends.
    pub async fn lock_assignment_queue(&mut self) -> StoreResult<()> {
        if let Tx::Postgres(transaction) = self {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(QUEUE_LOCK)
                .execute(&mut **transaction)
                .await?;
        }
        Ok(())
    }

    /// The agents, read in this transaction.
    pub async fn agents(&mut self) -> StoreResult<Vec<AgentRecord>> {
        let rows = on_tx!(self, |conn| sqlx::query_as::<_, AgentRow>(AGENTS)
            .fetch_all(conn)
            .await?);
        rows.into_iter().map(AgentRecord::try_from).collect()
    }

    /// Open conversations nobody has, oldest first, with their team.
    pub async fn waiting_conversations(
        &mut self,
        limit: u32,
    ) -> StoreResult<Vec<(ConversationId, Option<String>)>> {
        let rows = on_tx!(self, |conn| sqlx::query_as::<_, (String, Option<String>)>(
            WAITING
        )
        .bind(i64::from(limit))
        .fetch_all(conn)
        .await?);
        rows.into_iter()
            .map(|(id, team)| Ok((parse_id("conversation id", &id)?, team)))
            .collect()
    }

    /// Sets an agent's availability and, when given, capacity (`Some(None)` clears it).
    pub async fn set_agent(
        &mut self,
        user: UserId,
        availability: Option<Availability>,
        capacity: Option<Option<u32>>,
        now: Timestamp,
    ) -> StoreResult<()> {
        const SQL: &str = "INSERT INTO agents (user_id, availability, capacity, updated_at) \
            VALUES ($1, COALESCE($2, 'offline'), $3, $5) ON CONFLICT (user_id) DO UPDATE SET \
            availability = COALESCE($2, agents.availability), \
            capacity = CASE WHEN $4 = 1 THEN $3 ELSE agents.capacity END, updated_at = $5";
        on_tx!(self, |conn| sqlx::query(SQL)
            .bind(user.to_string())
            .bind(availability.map(Availability::as_str))
            .bind(capacity.flatten().map(i64::from))
            .bind(i64::from(capacity.is_some()))
            .bind(now.millis())
            .execute(conn)
            .await?
            .rows_affected());
        Ok(())
    }

    /// Gives a waiting conversation to `user`, unless someone took it or it is no
    /// longer open; `true` when given.
    pub async fn assign_waiting(
        &mut self,
        conversation: ConversationId,
        user: UserId,
        at: Timestamp,
    ) -> StoreResult<bool> {
        const ASSIGN: &str = "UPDATE conversations SET assignee_id = $1, updated_at = $2 \
            WHERE id = $3 AND assignee_id IS NULL AND status = 'open'";
        const TURN: &str = "UPDATE agents SET last_assigned_at = $1 WHERE user_id = $2";
        let given = on_tx!(self, |conn| sqlx::query(ASSIGN)
            .bind(user.to_string())
            .bind(at.millis())
            .bind(conversation.to_string())
            .execute(conn)
            .await?
            .rows_affected());
        if given == 1 {
            on_tx!(self, |conn| sqlx::query(TURN)
                .bind(at.millis())
                .bind(user.to_string())
                .execute(conn)
                .await?
                .rows_affected());
        }
        Ok(given == 1)
    }

    /// Takes the open and pending conversations away from `user` (who went offline);
    /// the ones taken.
    pub async fn release_conversations(
        &mut self,
        user: UserId,
        at: Timestamp,
    ) -> StoreResult<Vec<ConversationId>> {
        let select = format!(
            "SELECT id FROM conversations WHERE assignee_id = $1 AND status IN {HELD} ORDER BY id"
        );
        let update = format!(
            "UPDATE conversations SET assignee_id = NULL, updated_at = $2 \
             WHERE assignee_id = $1 AND status IN {HELD}"
        );
        let ids = on_tx!(self, |conn| sqlx::query_scalar::<_, String>(
            sqlx::AssertSqlSafe(select.clone())
        )
        .bind(user.to_string())
        .fetch_all(&mut *conn)
        .await?);
        on_tx!(self, |conn| sqlx::query(sqlx::AssertSqlSafe(
            update.clone()
        ))
        .bind(user.to_string())
        .bind(at.millis())
        .execute(conn)
        .await?
        .rows_affected());
        ids.iter()
            .map(|id| parse_id("conversation id", id))
            .collect()
    }
}
