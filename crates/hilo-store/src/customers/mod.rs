//! Customers: profile fragments, identities, merges, conflicts, the timeline and the
//! change feed. Writes happen inside a [`Tx`]; reads go straight to the pool.

pub mod feed;
pub mod many;
pub mod privacy;
pub mod search;

use std::collections::BTreeSet;

use hilo_domain::customers::changes::ChangeKind;
use hilo_domain::customers::identity::{Identifier, IdentifierType};
use hilo_domain::customers::timeline::ItemType;
use hilo_domain::{CustomerId, SourceId, Timestamp};
use serde_json::{Map, Value};

use crate::sql::{self, tree};
use crate::tx::{Tx, on_tx};
use crate::{Store, StoreResult, corrupt, on_pool};

/// One fragment's row.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ProfileRow {
    pub id: String,
    pub merged_into: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub traits: String,
    pub first_seen: Option<i64>,
    pub last_seen: Option<i64>,
    pub event_count: i64,
    pub channels: String,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct IdentityRow {
    pub kind: String,
    pub value: String,
    pub profile_id: String,
    pub first_seen: i64,
    pub last_seen: i64,
    pub sources: String,
}

impl ProfileRow {
    /// The fragment's id.
    pub fn customer(&self) -> StoreResult<CustomerId> {
        parse_customer_id(&self.id)
    }

    /// The fragment's traits as stored: name → `{"v": value, "t": millis, "by": actor}`.
    pub fn trait_entries(&self) -> Map<String, Value> {
        serde_json::from_str(&self.traits).unwrap_or_default()
    }

    pub fn set_trait_entries(&mut self, entries: Map<String, Value>) {
        self.traits = Value::Object(entries).to_string();
    }
}

impl IdentityRow {
    /// The fragment that holds this identifier.
    pub fn holder(&self) -> StoreResult<CustomerId> {
        parse_customer_id(&self.profile_id)
    }

    /// The ids of the sources that sent this identifier.
    pub fn source_list(&self) -> Vec<String> {
        serde_json::from_str(&self.sources).unwrap_or_default()
    }

    /// The stored source list with `source` added, or `None` when it is there already
    /// (nearly always, and then answered without parsing).
    pub fn sources_with(&self, source: &str) -> Option<String> {
        add_to_json_set(&self.sources, source)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MergeRow {
    pub id: String,
    pub survivor_id: String,
    pub absorbed_id: String,
    pub identifier_kind: String,
    pub identifier_value: String,
    pub message_id: Option<String>,
    pub source_id: Option<String>,
    pub at: i64,
    pub undone_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ConflictRow {
    pub id: String,
    pub at: i64,
    pub reason: String,
    pub detail: String,
    pub identifier_kind: String,
    pub identifier_value: String,
    pub profile_id: Option<String>,
    pub other_profile_id: Option<String>,
    pub message_id: Option<String>,
    pub source_id: Option<String>,
}

impl MergeRow {
    pub fn survivor(&self) -> StoreResult<CustomerId> {
        parse_customer_id(&self.survivor_id)
    }

    pub fn absorbed(&self) -> StoreResult<CustomerId> {
        parse_customer_id(&self.absorbed_id)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TimelineRow {
    pub seq: i64,
    pub profile_id: String,
    pub item_type: String,
    pub kind: String,
    pub name: Option<String>,
    pub channel: String,
    pub source_id: Option<String>,
    pub message_id: Option<String>,
    pub at: i64,
    pub received_at: i64,
    pub body: String,
}

impl TimelineRow {
    /// The fragment the item belongs to.
    pub fn customer(&self) -> StoreResult<CustomerId> {
        parse_customer_id(&self.profile_id)
    }

    /// The item's stored body: the message as received, or what staff did.
    pub fn body_value(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

/// A profile to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewProfile {
    pub id: CustomerId,
    pub at: Timestamp,
    pub created_by: Option<String>,
}

/// An entry for the change feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewChange {
    pub kind: ChangeKind,
    pub profile: CustomerId,
    pub data: String,
    pub at: Timestamp,
}

/// A timeline item to append.
#[derive(Debug, Clone)]
pub struct NewTimelineItem<'a> {
    pub profile_id: CustomerId,
    pub item_type: ItemType,
    pub kind: &'a str,
    pub name: Option<&'a str>,
    pub channel: &'a str,
    pub source_id: Option<SourceId>,
    pub message_id: Option<&'a str>,
    pub at: Timestamp,
    pub received_at: Timestamp,
    pub body: &'a str,
}

/// A conflict to record.
#[derive(Debug, Clone)]
pub struct NewConflict<'a> {
    pub reason: &'a str,
    pub detail: &'a str,
    pub identifier: &'a Identifier,
    pub profile_id: Option<CustomerId>,
    pub other_profile_id: Option<CustomerId>,
    pub message_id: Option<&'a str>,
    pub source_id: Option<SourceId>,
    pub at: Timestamp,
}

pub(crate) fn parse_customer_id(text: &str) -> StoreResult<CustomerId> {
    text.parse().map_err(|e| corrupt("profile id", e))
}

impl Tx {
    /// Whether this source already sent a staff or import item with this id.
    pub async fn timeline_has(&mut self, source: SourceId, message_id: &str) -> StoreResult<bool> {
        // Not events: the deduplication index covers the other items only (on SQLite).
        const SQL: &str = "SELECT COUNT(*) FROM timeline WHERE source_id = $1 AND message_id = $2 \
                           AND item_type <> 'event'";
        let count = on_tx!(self, |conn| sqlx::query_scalar::<_, i64>(SQL)
            .bind(source.to_string())
            .bind(message_id)
            .fetch_one(conn)
            .await?);
        Ok(count > 0)
    }

    /// The fragment holding an identifier, and the sources that sent it.
    pub async fn identity(&mut self, identifier: &Identifier) -> StoreResult<Option<IdentityRow>> {
        const SQL: &str = "SELECT kind, value, profile_id, first_seen, last_seen, sources \
                           FROM identities WHERE kind = $1 AND value = $2";
        Ok(on_tx!(self, |conn| sqlx::query_as::<_, IdentityRow>(SQL)
            .bind(identifier.kind.as_str())
            .bind(&identifier.value)
            .fetch_optional(conn)
            .await?))
    }

    /// The fragment holding an identifier and, in the same read, whether that fragment
    /// is itself live (the common case), so most lookups need one query.
    pub async fn identity_owner(
        &mut self,
        identifier: &Identifier,
    ) -> StoreResult<Option<(IdentityRow, Option<String>)>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            identity: IdentityRow,
            merged_into: Option<String>,
        }
        const SQL: &str = sql::IDENTITY_OWNER;
        let row = on_tx!(self, |conn| sqlx::query_as::<_, Row>(SQL)
            .bind(identifier.kind.as_str())
            .bind(&identifier.value)
            .fetch_optional(conn)
            .await?);
        Ok(row.map(|r| (r.identity, r.merged_into)))
    }

    /// The live profile a fragment belongs to.
    pub async fn root_of(&mut self, fragment: CustomerId) -> StoreResult<CustomerId> {
        let root = on_tx!(self, |conn| sqlx::query_scalar::<_, Option<String>>(
            sql::ROOT_OF
        )
        .bind(fragment.to_string())
        .fetch_optional(conn)
        .await?);
        match root.flatten() {
            Some(root) => parse_customer_id(&root),
            None => Ok(fragment),
        }
    }

    /// The live profile of `id` (itself when live); `None` when there is no such profile.
    pub async fn live_root(&mut self, id: CustomerId) -> StoreResult<Option<CustomerId>> {
        let root: Option<String> = on_tx!(self, |conn| sqlx::query_scalar(sql::LIVE_ROOT)
            .bind(id.to_string())
            .fetch_optional(conn)
            .await?);
        root.map(|r| parse_customer_id(&r)).transpose()
    }

    /// The live profile holding an identifier.
    pub async fn root_by_identifier(
        &mut self,
        identifier: &Identifier,
    ) -> StoreResult<Option<CustomerId>> {
        let root: Option<String> = on_tx!(self, |conn| sqlx::query_scalar(sql::ROOT_BY_IDENTIFIER)
            .bind(identifier.kind.as_str())
            .bind(&identifier.value)
            .fetch_optional(conn)
            .await?);
        root.map(|r| parse_customer_id(&r)).transpose()
    }

    /// The fragments of a live profile.
    pub async fn fragments(&mut self, root: CustomerId) -> StoreResult<Vec<CustomerId>> {
        const SQL: &str = tree!("SELECT id FROM tree");
        let ids = on_tx!(self, |conn| sqlx::query_scalar::<_, String>(SQL)
            .bind(root.to_string())
            .fetch_all(conn)
            .await?);
        ids.iter().map(|id| parse_customer_id(id)).collect()
    }

    /// The identifiers a live profile holds, by type, with when each was first seen.
    pub async fn holdings(&mut self, root: CustomerId) -> StoreResult<Vec<(String, i64)>> {
        const SQL: &str = sql::HOLDINGS;
        Ok(on_tx!(self, |conn| sqlx::query_as::<_, (String, i64)>(SQL)
            .bind(root.to_string())
            .fetch_all(conn)
            .await?))
    }

    /// Separation pairs that involve any fragment of this live profile.
    /// The pairs of fragments in this customer's tree that were unmerged: they never
    /// merge again on their own.
    pub async fn separations(
        &mut self,
        root: CustomerId,
    ) -> StoreResult<Vec<(CustomerId, CustomerId)>> {
        const SQL: &str = sql::SEPARATIONS;
        let pairs = on_tx!(self, |conn| sqlx::query_as::<_, (String, String)>(SQL)
            .bind(root.to_string())
            .fetch_all(conn)
            .await?);
        pairs
            .iter()
            .map(|(a, b)| Ok((parse_customer_id(a)?, parse_customer_id(b)?)))
            .collect()
    }

    pub async fn insert_profile(
        &mut self,
        id: CustomerId,
        at: Timestamp,
        created_by: Option<&str>,
    ) -> StoreResult<()> {
        const SQL: &str = sql::INSERT_PROFILE;
        on_tx!(self, |conn| sqlx::query(SQL)
            .bind(id.to_string())
            .bind(at.millis())
            .bind(created_by)
            .execute(conn)
            .await?
            .rows_affected());
        Ok(())
    }

    /// Merges live profile `absorbed` into live profile `survivor`, recording why.
    #[allow(clippy::too_many_arguments)]
    pub async fn merge_profiles(
        &mut self,
        merge_id: &str,
        survivor: CustomerId,
        absorbed: CustomerId,
        cause: &Identifier,
        message_id: Option<&str>,
        source: Option<SourceId>,
        at: Timestamp,
    ) -> StoreResult<()> {
        const POINT: &str = sql::MERGE_POINT;
        const RECORD: &str = sql::MERGE_RECORD;
        on_tx!(self, |conn| {
            sqlx::query(POINT)
                .bind(survivor.to_string())
                .bind(at.millis())
                .bind(absorbed.to_string())
                .execute(&mut *conn)
                .await?;
            sqlx::query(sql::MERGE_REROOT)
                .bind(survivor.to_string())
                .bind(absorbed.to_string())
                .execute(&mut *conn)
                .await?;
            sqlx::query(RECORD)
                .bind(merge_id)
                .bind(survivor.to_string())
                .bind(absorbed.to_string())
                .bind(cause.kind.as_str())
                .bind(&cause.value)
                .bind(message_id)
                .bind(source.map(|s| s.to_string()))
                .bind(at.millis())
                .execute(&mut *conn)
                .await?;
        });
        Ok(())
    }

    /// Gives an identifier no one holds to a fragment.
    pub async fn attach_identity(
        &mut self,
        identifier: &Identifier,
        profile: CustomerId,
        at: Timestamp,
        sources: &str,
    ) -> StoreResult<()> {
        const SQL: &str = sql::ATTACH_IDENTITY;
        on_tx!(self, |conn| sqlx::query(SQL)
            .bind(identifier.kind.as_str())
            .bind(&identifier.value)
            .bind(profile.to_string())
            .bind(at.millis())
            .bind(sources)
            .execute(conn)
            .await?
            .rows_affected());
        Ok(())
    }

    /// Records that an identifier was seen again, and the sources that sent it.
    pub async fn touch_identity(
        &mut self,
        identifier: &Identifier,
        at: Timestamp,
        sources: &str,
    ) -> StoreResult<()> {
        const SQL: &str = sql::TOUCH_IDENTITY;
        on_tx!(self, |conn| sqlx::query(SQL)
            .bind(at.millis())
            .bind(sources)
            .bind(identifier.kind.as_str())
            .bind(&identifier.value)
            .execute(conn)
            .await?
            .rows_affected());
        Ok(())
    }

    pub async fn record_conflict(
        &mut self,
        id: &str,
        conflict: &NewConflict<'_>,
    ) -> StoreResult<()> {
        const SQL: &str = sql::RECORD_CONFLICT;
        on_tx!(self, |conn| sqlx::query(SQL)
            .bind(id)
            .bind(conflict.at.millis())
            .bind(conflict.reason)
            .bind(conflict.detail)
            .bind(conflict.identifier.kind.as_str())
            .bind(&conflict.identifier.value)
            .bind(conflict.profile_id.map(|p| p.to_string()))
            .bind(conflict.other_profile_id.map(|p| p.to_string()))
            .bind(conflict.message_id)
            .bind(conflict.source_id.map(|s| s.to_string()))
            .execute(conn)
            .await?
            .rows_affected());
        Ok(())
    }

    pub async fn profile(&mut self, id: CustomerId) -> StoreResult<Option<ProfileRow>> {
        const SQL: &str = sql::PROFILE;
        Ok(on_tx!(self, |conn| sqlx::query_as::<_, ProfileRow>(SQL)
            .bind(id.to_string())
            .fetch_optional(conn)
            .await?))
    }

    /// Writes a fragment's traits, activity figures and channels.
    pub async fn save_profile(&mut self, row: &ProfileRow) -> StoreResult<()> {
        const SQL: &str = sql::SAVE_PROFILE;
        on_tx!(self, |conn| sqlx::query(SQL)
            .bind(row.updated_at)
            .bind(&row.traits)
            .bind(row.first_seen)
            .bind(row.last_seen)
            .bind(row.event_count)
            .bind(&row.channels)
            .bind(&row.id)
            .execute(conn)
            .await?
            .rows_affected());
        Ok(())
    }

    /// On SQLite, where the timeline ends before appending: the appended rows then go
    /// to the per-customer index's tail with [`Tx::append_tail`]. PostgreSQL indexes rows
    /// as they come and needs neither.
    pub(crate) async fn timeline_end(&mut self) -> StoreResult<i64> {
        match self {
            Self::Sqlite(tx, _) => Ok(sqlx::query_scalar(sql::TIMELINE_END)
                .fetch_one(&mut **tx)
                .await?),
            Self::Postgres(_) => Ok(0),
        }
    }

    /// On SQLite, puts the timeline rows appended after `end` in the per-customer index's
    /// tail (see migration 0008).
    pub(crate) async fn append_tail(&mut self, end: i64) -> StoreResult<()> {
        if let Self::Sqlite(tx, _) = self {
            sqlx::query(sql::SQLITE_APPEND_TAIL)
                .bind(end)
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    /// Appends to the timeline; `false` when the source sent this message id before.
    pub async fn append_timeline(&mut self, item: &NewTimelineItem<'_>) -> StoreResult<bool> {
        const SQL: &str = sql::APPEND_TIMELINE;
        let end = self.timeline_end().await?;
        let inserted = on_tx!(self, |conn| sqlx::query(SQL)
            .bind(item.profile_id.to_string())
            .bind(item.item_type.as_str())
            .bind(item.kind)
            .bind(item.name)
            .bind(item.channel)
            .bind(item.source_id.map(|s| s.to_string()))
            .bind(item.message_id)
            .bind(item.at.millis())
            .bind(item.received_at.millis())
            .bind(item.body)
            .execute(conn)
            .await?
            .rows_affected());
        self.append_tail(end).await?;
        Ok(inserted == 1)
    }

    /// Adds to the change feed.
    pub async fn record_change(
        &mut self,
        kind: ChangeKind,
        profile: CustomerId,
        data: &str,
        at: Timestamp,
    ) -> StoreResult<()> {
        const SQL: &str = sql::RECORD_CHANGE;
        on_tx!(self, |conn| sqlx::query(SQL)
            .bind(at.millis())
            .bind(kind.as_str())
            .bind(profile.to_string())
            .bind(data)
            .execute(conn)
            .await?
            .rows_affected());
        Ok(())
    }

    /// The merge with this id.
    pub async fn merge(&mut self, id: &str) -> StoreResult<Option<MergeRow>> {
        const SQL: &str = "SELECT id, survivor_id, absorbed_id, identifier_kind, identifier_value, \
            message_id, source_id, at, undone_at FROM merges WHERE id = $1";
        Ok(on_tx!(self, |conn| sqlx::query_as::<_, MergeRow>(SQL)
            .bind(id)
            .fetch_optional(conn)
            .await?))
    }

    /// The most recent merge still in force whose survivor is a fragment of `root`.
    pub async fn latest_merge_into(&mut self, root: CustomerId) -> StoreResult<Option<MergeRow>> {
        const SQL: &str = tree!(
            "SELECT m.id, m.survivor_id, m.absorbed_id, m.identifier_kind, m.identifier_value, \
             m.message_id, m.source_id, m.at, m.undone_at FROM merges m WHERE m.survivor_id IN (SELECT id FROM tree) AND m.undone_at IS NULL ORDER BY m.at DESC, m.id DESC LIMIT 1"
        );
        Ok(on_tx!(self, |conn| sqlx::query_as::<_, MergeRow>(SQL)
            .bind(root.to_string())
            .fetch_optional(conn)
            .await?))
    }

    /// Undoes a merge: the absorbed profile is live again, with everything it had, and
    /// the two never merge again automatically.
    pub async fn undo_merge(
        &mut self,
        merge: &MergeRow,
        at: Timestamp,
        by: &str,
    ) -> StoreResult<()> {
        const DETACH: &str =
            "UPDATE profiles SET merged_into = NULL, updated_at = $1 WHERE id = $2";
        const MARK: &str = "UPDATE merges SET undone_at = $1, undone_by = $2 WHERE id = $3";
        const SEPARATE: &str = "INSERT INTO separations (a, b, at) VALUES ($1, $2, $3) \
                                ON CONFLICT (a, b) DO NOTHING";
        on_tx!(self, |conn| {
            sqlx::query(DETACH)
                .bind(at.millis())
                .bind(&merge.absorbed_id)
                .execute(&mut *conn)
                .await?;
            sqlx::query(sql::UNMERGE_REROOT)
                .bind(&merge.absorbed_id)
                .execute(&mut *conn)
                .await?;
            sqlx::query(MARK)
                .bind(at.millis())
                .bind(by)
                .bind(&merge.id)
                .execute(&mut *conn)
                .await?;
            sqlx::query(SEPARATE)
                .bind(&merge.survivor_id)
                .bind(&merge.absorbed_id)
                .bind(at.millis())
                .execute(&mut *conn)
                .await?;
        });
        Ok(())
    }
}

/// A live profile as stored: its fragments, identities and activity.
#[derive(Debug, Clone)]
pub struct CustomerRecord {
    pub id: CustomerId,
    pub fragments: Vec<ProfileRow>,
    pub identities: Vec<IdentityRow>,
    pub activity: Activity,
}

/// What the timeline says about a customer's activity.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Activity {
    pub event_count: i64,
    pub first_seen: Option<i64>,
    pub last_seen: Option<i64>,
    pub channels: Vec<String>,
}

impl Store {
    /// The live profile an id (live or merged away) belongs to.
    pub async fn customer_root(&self, id: CustomerId) -> StoreResult<Option<CustomerId>> {
        let mut tx = self.begin_read().await?;
        if tx.profile(id).await?.is_none() {
            return Ok(None);
        }
        Ok(Some(tx.root_of(id).await?))
    }

    /// The live profile holding an identifier.
    pub async fn customer_by_identifier(
        &self,
        identifier: &Identifier,
    ) -> StoreResult<Option<CustomerId>> {
        let root: Option<String> =
            on_pool!(self, |pool| sqlx::query_scalar(sql::ROOT_BY_IDENTIFIER)
                .bind(identifier.kind.as_str())
                .bind(&identifier.value)
                .fetch_optional(pool)
                .await)?;
        root.map(|r| parse_customer_id(&r)).transpose()
    }

    /// Everything stored for a live profile.
    pub async fn customer(&self, root: CustomerId) -> StoreResult<CustomerRecord> {
        const FRAGMENTS: &str = tree!(
            "SELECT p.id, p.merged_into, p.created_at, p.updated_at, p.traits, p.first_seen, \
             p.last_seen, p.event_count, p.channels FROM profiles p WHERE p.id IN (SELECT id FROM tree) \
             ORDER BY p.created_at, p.id"
        );
        const IDENTITIES: &str = tree!(
            "SELECT i.kind, i.value, i.profile_id, i.first_seen, i.last_seen, i.sources \
             FROM identities i WHERE i.profile_id IN (SELECT id FROM tree) ORDER BY i.first_seen, i.kind, i.value"
        );
        // Activity is read from the timeline rather than kept on the profile, so storing
        // an event never rewrites the profile row.
        const ACTIVITY: &str = tree!(
            "SELECT COALESCE(SUM(CASE WHEN l.item_type = 'event' THEN 1 ELSE 0 END), 0), \
             MIN(l.at), MAX(l.at) FROM timeline l WHERE l.profile_id IN (SELECT id FROM tree)"
        );
        const CHANNELS: &str = tree!(
            "SELECT DISTINCT l.channel FROM timeline l WHERE l.profile_id IN (SELECT id FROM tree) ORDER BY l.channel"
        );
        let (activity, channels) = match self {
            Self::Sqlite(..) => (sql::SQLITE_ACTIVITY, sql::SQLITE_CHANNELS),
            Self::Postgres(_) => (ACTIVITY, CHANNELS),
        };
        let (fragments, identities, counts, channels) = on_pool!(self, |pool| {
            let fragments = sqlx::query_as::<_, ProfileRow>(FRAGMENTS)
                .bind(root.to_string())
                .fetch_all(pool)
                .await?;
            let identities = sqlx::query_as::<_, IdentityRow>(IDENTITIES)
                .bind(root.to_string())
                .fetch_all(pool)
                .await?;
            let counts = sqlx::query_as::<_, (i64, Option<i64>, Option<i64>)>(activity)
                .bind(root.to_string())
                .fetch_one(pool)
                .await?;
            let channels = sqlx::query_scalar::<_, String>(channels)
                .bind(root.to_string())
                .fetch_all(pool)
                .await?;
            (fragments, identities, counts, channels)
        });
        Ok(CustomerRecord {
            id: root,
            fragments,
            identities,
            activity: Activity {
                event_count: counts.0,
                first_seen: counts.1,
                last_seen: counts.2,
                channels,
            },
        })
    }

    /// Timeline items of a live profile, newest first, after the cursor `(at, seq)`.
    pub async fn timeline(
        &self,
        root: CustomerId,
        before: Option<(i64, i64)>,
        limit: u32,
    ) -> StoreResult<Vec<TimelineRow>> {
        const SQL: &str = tree!(
            "SELECT l.seq, l.profile_id, l.item_type, l.kind, l.name, l.channel, l.source_id, \
             l.message_id, l.at, l.received_at, l.body FROM timeline l WHERE l.profile_id IN (SELECT id FROM tree) \
             AND (l.at < $2 OR (l.at = $2 AND l.seq < $3)) ORDER BY l.at DESC, l.seq DESC LIMIT $4"
        );
        let sql = match self {
            Self::Sqlite(..) => sql::SQLITE_TIMELINE_PAGE,
            Self::Postgres(_) => SQL,
        };
        let (at, seq) = before.unwrap_or((i64::MAX, i64::MAX));
        Ok(on_pool!(self, |pool| sqlx::query_as::<_, TimelineRow>(sql)
            .bind(root.to_string())
            .bind(at)
            .bind(seq)
            .bind(i64::from(limit) + 1)
            .fetch_all(pool)
            .await?))
    }

    /// Live profiles in id order after `after`.
    pub async fn list_customers(&self, after: &str, limit: u32) -> StoreResult<Vec<CustomerId>> {
        const SQL: &str =
            "SELECT id FROM profiles WHERE merged_into IS NULL AND id > $1 ORDER BY id LIMIT $2";
        let ids = on_pool!(self, |pool| sqlx::query_scalar::<_, String>(SQL)
            .bind(after)
            .bind(i64::from(limit) + 1)
            .fetch_all(pool)
            .await?);
        ids.iter().map(|id| parse_customer_id(id)).collect()
    }

    /// Recorded identity conflicts, newest first, before the conflict id `before`.
    pub async fn identity_conflicts(
        &self,
        before: &str,
        limit: u32,
    ) -> StoreResult<Vec<ConflictRow>> {
        const SQL: &str = "SELECT id, at, reason, detail, identifier_kind, identifier_value, profile_id, \
            other_profile_id, message_id, source_id FROM identity_conflicts WHERE id < $1 \
            ORDER BY id DESC LIMIT $2";
        Ok(on_pool!(self, |pool| sqlx::query_as::<_, ConflictRow>(SQL)
            .bind(before)
            .bind(i64::from(limit) + 1)
            .fetch_all(pool)
            .await?))
    }

    /// Merges in force or undone that involve any fragment of a live profile.
    pub async fn merges_of(&self, root: CustomerId) -> StoreResult<Vec<MergeRow>> {
        const SQL: &str = tree!(
            "SELECT DISTINCT m.id, m.survivor_id, m.absorbed_id, m.identifier_kind, m.identifier_value, \
             m.message_id, m.source_id, m.at, m.undone_at FROM merges m WHERE (m.survivor_id IN (SELECT id FROM tree) OR m.absorbed_id IN (SELECT id FROM tree)) ORDER BY m.at, m.id"
        );
        Ok(on_pool!(self, |pool| sqlx::query_as::<_, MergeRow>(SQL)
            .bind(root.to_string())
            .fetch_all(pool)
            .await?))
    }

    /// Timeline items after `seq` in append order: the feed of events for the parts that
    /// react to them.
    pub async fn timeline_since(&self, seq: i64, limit: u32) -> StoreResult<Vec<TimelineRow>> {
        const SQL: &str = "SELECT seq, profile_id, item_type, kind, name, channel, source_id, \
            message_id, at, received_at, body FROM timeline WHERE seq > $1 ORDER BY seq LIMIT $2";
        Ok(on_pool!(self, |pool| sqlx::query_as::<_, TimelineRow>(SQL)
            .bind(seq)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?))
    }

    /// A transaction for consistent reads (deferred on SQLite, so it takes no write lock).
    pub(crate) async fn begin_read(&self) -> StoreResult<Tx> {
        Ok(match self {
            Self::Sqlite(pool) => Tx::Sqlite(pool.begin().await?, None),
            Self::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }
}

/// A `LIKE … ESCAPE '\'` pattern matching any text holding `pieces` in this order.
pub(crate) fn like_in_order(pieces: &[String]) -> String {
    let mut pattern = String::from("%");
    for piece in pieces {
        pattern.push_str(&escape_like(piece));
        pattern.push('%');
    }
    pattern
}

/// Escapes `%`, `_` and `\` for a LIKE pattern with `\` as the escape character.
fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Parses a stored identifier type.
pub fn identifier_of(row: &IdentityRow) -> StoreResult<Identifier> {
    Ok(Identifier {
        kind: row
            .kind
            .parse::<IdentifierType>()
            .map_err(|e| corrupt("identity type", e))?,
        value: row.value.clone(),
    })
}

/// Whether a compact JSON array of strings (as written here) holds `value` verbatim. Only
/// a true answer is certain; false means "parse it". For a value without quotes,
/// backslashes, commas, brackets or control characters, a quote after `[` or `,` and
/// before the value opens an element (a closing quote is followed by `,` or `]`, and an
/// escaped one by a backslash), and the quote after the value closes it.
fn json_array_has_plain(json: &str, value: &str) -> bool {
    if value.is_empty()
        || value
            .bytes()
            .any(|b| matches!(b, b'"' | b'\\' | b',' | b'[' | b']') || b < 0x20)
    {
        return false;
    }
    let bytes = json.as_bytes();
    json.match_indices(value).any(|(at, _)| {
        let end = at + value.len();
        at >= 2
            && bytes[at - 1] == b'"'
            && matches!(bytes[at - 2], b'[' | b',')
            && bytes.get(end) == Some(&b'"')
            && matches!(bytes.get(end + 1), Some(b',' | b']'))
    })
}

/// Distinct values of a JSON array of strings, with `extra` added; `None` if unchanged.
pub(crate) fn add_to_json_set(json: &str, extra: &str) -> Option<String> {
    // Nearly always the value is there already (every message touches its identifiers'
    // sets): that answer needs no parsing when it can be read off the text.
    if json_array_has_plain(json, extra) {
        return None;
    }
    // (Values with escapes cannot be borrowed: those take the long way.)
    if let Ok(values) = serde_json::from_str::<Vec<&str>>(json)
        && values.contains(&extra)
    {
        return None;
    }
    let mut set: BTreeSet<String> = serde_json::from_str(json).unwrap_or_default();
    set.insert(extra.to_owned())
        .then(|| serde_json::to_string(&set).unwrap_or_else(|_| "[]".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_and_keep_the_order() {
        assert_eq!(escape_like("50%_a\\b"), "50\\%\\_a\\\\b");
        let digits: Vec<String> = "612".chars().map(String::from).collect();
        assert_eq!(like_in_order(&digits), "%6%1%2%");
        assert_eq!(like_in_order(&["a_b".to_owned()]), "%a\\_b%");
    }

    #[test]
    fn json_sets_gain_only_new_values() {
        assert_eq!(add_to_json_set(r#"["a","b"]"#, "b"), None);
        assert_eq!(
            add_to_json_set(r#"["c","a"]"#, "b").as_deref(),
            Some(r#"["a","b","c"]"#)
        );
        assert_eq!(add_to_json_set(r#"["say \"hi\""]"#, "say \"hi\""), None);
        assert_eq!(
            add_to_json_set(r#"["x\"y"]"#, "y").as_deref(),
            Some(r#"["x\"y","y"]"#)
        );
        assert_eq!(
            add_to_json_set("not json", "a").as_deref(),
            Some(r#"["a"]"#)
        );
    }

    proptest::proptest! {
        #[test]
        fn reading_a_value_off_the_text_agrees_with_parsing(
            values in proptest::collection::btree_set("[a,\\]\"\\\\]{0,3}", 0..5),
            probe in "[a,\\]\"\\\\]{0,2}",
        ) {
            let json = serde_json::to_string(&values).unwrap();
            let found = json_array_has_plain(&json, &probe);
            proptest::prop_assert!(!found || values.contains(&probe), "{json} {probe}");
            let plain = probe.chars().all(|c| c == 'a');
            if plain && !probe.is_empty() {
                proptest::prop_assert_eq!(found, values.contains(&probe), "{} {}", json, probe);
            }
        }
    }

    #[test]
    fn a_value_is_read_off_the_text_only_when_it_is_a_whole_element() {
        assert!(json_array_has_plain(r#"["a","b"]"#, "a"));
        assert!(json_array_has_plain(r#"["a","b"]"#, "b"));
        assert!(!json_array_has_plain(r#"["ab","b2"]"#, "b"));
        assert!(
            !json_array_has_plain(r#"["x\"b\""]"#, "b"),
            "inside an element"
        );
        assert!(!json_array_has_plain(r#"["a,",",x"]"#, ","), "a separator");
        assert!(!json_array_has_plain(r#"[]"#, ""));
        // Not read off the text, but still found by parsing.
        assert_eq!(add_to_json_set(r#"[ "a" ]"#, "a"), None);
        assert_eq!(add_to_json_set(r#"["a,",","]"#, ","), None);
        assert_eq!(
            add_to_json_set(r#"["a,",",x"]"#, ",").as_deref(),
            Some(r#"[",",",x","a,"]"#)
        );
    }
}
