//! Teams and their members (migration 0032). A conversation's `team_id` holds the
//! team's name.

use std::collections::BTreeMap;

use hilo_domain::{Timestamp, UserId};

use super::parse_id;
use crate::tx::{Tx, on_tx};
use crate::{Store, StoreResult, on_pool};

/// A stored team with its members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamRecord {
    pub name: String,
    pub description: String,
    pub members: Vec<UserId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

type TeamRow = (String, String, i64, i64);

const TEAMS: &str = "SELECT name, description, created_at, updated_at FROM teams ORDER BY name";
const MEMBERS: &str = "SELECT team, user_id FROM team_members ORDER BY team, user_id";

fn teams_of(rows: Vec<TeamRow>, pairs: &[(String, String)]) -> StoreResult<Vec<TeamRecord>> {
    let mut members = members_by_team(pairs)?;
    Ok(rows
        .into_iter()
        .map(|(name, description, created_at, updated_at)| TeamRecord {
            members: members.remove(&name).unwrap_or_default(),
            name,
            description,
            created_at: Timestamp::from_millis(created_at),
            updated_at: Timestamp::from_millis(updated_at),
        })
        .collect())
}

fn members_by_team(pairs: &[(String, String)]) -> StoreResult<BTreeMap<String, Vec<UserId>>> {
    let mut by_team: BTreeMap<String, Vec<UserId>> = BTreeMap::new();
    for (team, user) in pairs {
        by_team
            .entry(team.clone())
            .or_default()
            .push(parse_id("user id", user)?);
    }
    Ok(by_team)
}

impl Store {
    /// Every team with its members, by name.
    pub async fn teams(&self) -> StoreResult<Vec<TeamRecord>> {
        let (rows, pairs) = on_pool!(self, |pool| (
            sqlx::query_as::<_, TeamRow>(TEAMS).fetch_all(pool).await?,
            sqlx::query_as::<_, (String, String)>(MEMBERS)
                .fetch_all(pool)
                .await?
        ));
        teams_of(rows, &pairs)
    }

    pub async fn team(&self, name: &str) -> StoreResult<Option<TeamRecord>> {
        let (rows, pairs) = on_pool!(self, |pool| (
            sqlx::query_as::<_, TeamRow>(
                "SELECT name, description, created_at, updated_at FROM teams WHERE name = $1"
            )
            .bind(name)
            .fetch_all(pool)
            .await?,
            sqlx::query_as::<_, (String, String)>(
                "SELECT team, user_id FROM team_members WHERE team = $1 ORDER BY user_id"
            )
            .bind(name)
            .fetch_all(pool)
            .await?
        ));
        Ok(teams_of(rows, &pairs)?.pop())
    }

    /// Writes a team and its members in one transaction; when it was first made, and
    /// whether that was now.
    pub async fn put_team(&self, team: &TeamRecord) -> StoreResult<(Timestamp, bool)> {
        const UPSERT: &str = "INSERT INTO teams (name, description, created_at, updated_at) \
            VALUES ($1, $2, $3, $3) ON CONFLICT (name) DO UPDATE SET \
            description = excluded.description, updated_at = excluded.updated_at \
            RETURNING created_at";
        let mut tx = self.begin().await?;
        let existed = tx.team_exists(&team.name).await?;
        let created_at = on_tx!(&mut tx, |conn| sqlx::query_scalar::<_, i64>(UPSERT)
            .bind(&team.name)
            .bind(&team.description)
            .bind(team.updated_at.millis())
            .fetch_one(conn)
            .await?);
        on_tx!(&mut tx, |conn| sqlx::query(
            "DELETE FROM team_members WHERE team = $1"
        )
        .bind(&team.name)
        .execute(conn)
        .await?
        .rows_affected());
        for member in &team.members {
            on_tx!(&mut tx, |conn| sqlx::query(
                "INSERT INTO team_members (team, user_id) VALUES ($1, $2)"
            )
            .bind(&team.name)
            .bind(member.to_string())
            .execute(conn)
            .await?
            .rows_affected());
        }
        tx.commit().await?;
        Ok((Timestamp::from_millis(created_at), !existed))
    }

    /// Deletes a team and takes it off its conversations; `false` when there was none.
    pub async fn delete_team(&self, name: &str, now: Timestamp) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        on_tx!(&mut tx, |conn| sqlx::query(
            "UPDATE conversations SET team_id = NULL, updated_at = $2 WHERE team_id = $1"
        )
        .bind(name)
        .bind(now.millis())
        .execute(conn)
        .await?
        .rows_affected());
        let deleted = on_tx!(&mut tx, |conn| sqlx::query(
            "DELETE FROM teams WHERE name = $1"
        )
        .bind(name)
        .execute(conn)
        .await?
        .rows_affected());
        tx.commit().await?;
        Ok(deleted == 1)
    }
}

impl Tx {
    /// Each team's members, read in this transaction.
    pub async fn team_members(&mut self) -> StoreResult<BTreeMap<String, Vec<UserId>>> {
        let pairs = on_tx!(self, |conn| sqlx::query_as::<_, (String, String)>(MEMBERS)
            .fetch_all(conn)
            .await?);
        members_by_team(&pairs)
    }

    /// Whether a team of that name exists, read in this transaction.
    pub async fn team_exists(&mut self, name: &str) -> StoreResult<bool> {
        let found = on_tx!(self, |conn| sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM teams WHERE name = $1"
        )
        .bind(name)
        .fetch_one(conn)
        .await?);
        Ok(found > 0)
    }
}
