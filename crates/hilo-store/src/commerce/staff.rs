//! Store staff (migration 0038): the store whose desk a user or an API key works.

use hilo_domain::{LocationId, Timestamp};

use super::parse;
use crate::{Store, StoreResult, on_pool};

/// A member bound to a store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffRecord {
    /// `user:<id>` or `api_key:<id>`.
    pub member: String,
    pub location_id: LocationId,
    pub assigned_by: String,
    pub assigned_at: Timestamp,
}

type StaffRow = (String, String, String, i64);

fn record(row: StaffRow) -> StoreResult<StaffRecord> {
    let (member, location, by, at) = row;
    Ok(StaffRecord {
        member,
        location_id: parse("staff location id", &location)?,
        assigned_by: by,
        assigned_at: Timestamp::from_millis(at),
    })
}

impl Store {
    /// Binds `member` to a store; a member bound elsewhere moves here.
    pub async fn assign_staff(&self, staff: &StaffRecord) -> StoreResult<()> {
        const SQL: &str = "INSERT INTO store_staff (member, location_id, assigned_by, assigned_at) \
            VALUES ($1, $2, $3, $4) ON CONFLICT (member) DO UPDATE SET \
            location_id = excluded.location_id, assigned_by = excluded.assigned_by, \
            assigned_at = excluded.assigned_at";
        on_pool!(self, |pool| sqlx::query(SQL)
            .bind(&staff.member)
            .bind(staff.location_id.to_string())
            .bind(&staff.assigned_by)
            .bind(staff.assigned_at.millis())
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// Frees `member` from this store; false when it was not bound to it.
    pub async fn unassign_staff(&self, member: &str, location: LocationId) -> StoreResult<bool> {
        const SQL: &str = "DELETE FROM store_staff WHERE member = $1 AND location_id = $2";
        let done = on_pool!(self, |pool| sqlx::query(SQL)
            .bind(member)
            .bind(location.to_string())
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(done > 0)
    }

    pub async fn staff_of(&self, location: LocationId) -> StoreResult<Vec<StaffRecord>> {
        const SQL: &str = "SELECT member, location_id, assigned_by, assigned_at \
            FROM store_staff WHERE location_id = $1 ORDER BY member";
        let rows: Vec<StaffRow> = on_pool!(self, |pool| sqlx::query_as(SQL)
            .bind(location.to_string())
            .fetch_all(pool)
            .await)?;
        rows.into_iter().map(record).collect()
    }

    /// The store `member` works at, when it is bound to one.
    pub async fn desk_of(&self, member: &str) -> StoreResult<Option<LocationId>> {
        const SQL: &str = "SELECT location_id FROM store_staff WHERE member = $1";
        let row: Option<(String,)> = on_pool!(self, |pool| sqlx::query_as(SQL)
            .bind(member)
            .fetch_optional(pool)
            .await)?;
        row.map(|(id,)| parse("staff location id", &id)).transpose()
    }
}
