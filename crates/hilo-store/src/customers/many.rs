//! Many live profiles read at once, for pages of customers (search results, lists): a
//! handful of statements for the whole page, each naming every profile, instead of a
//! handful per profile. On SQLite every statement passes through the driver's worker
//! thread, and a page of twenty profiles read one by one cost some 140 statements.

use std::collections::HashMap;

use hilo_domain::CustomerId;

use super::privacy::ConsentRow;
use super::{Activity, CustomerRecord, IdentityRow, ProfileRow, parse_customer_id};
use crate::{Store, StoreResult};

/// A statement over the profiles whose ids are in `$1`, per engine: a JSON array read
/// with `json_each` on SQLite, an array on PostgreSQL.
macro_rules! for_each_id {
    ($before:literal, $after:literal) => {
        (
            concat!($before, "(SELECT value FROM json_each($1))", $after),
            concat!($before, "(SELECT unnest(CAST($1 AS text[])))", $after),
        )
    };
}

#[derive(sqlx::FromRow)]
struct Rooted<T> {
    root: String,
    #[sqlx(flatten)]
    row: T,
}

#[derive(sqlx::FromRow)]
struct RootedActivity {
    root: String,
    events: i64,
    first_seen: Option<i64>,
    last_seen: Option<i64>,
    /// The distinct channels, comma-separated.
    channels: Option<String>,
}

/// Runs a statement made by `for_each_id!` with the ids bound as each engine takes them.
macro_rules! fetch_for_ids {
    ($store:expr, $statements:expr, $row:ty, $ids:expr) => {{
        let (sqlite, postgres) = $statements;
        match $store {
            Store::Sqlite(pool) => {
                sqlx::query_as::<_, $row>(sqlite)
                    .bind(ids_json($ids))
                    .fetch_all(pool)
                    .await?
            }
            Store::Postgres(pool) => {
                sqlx::query_as::<_, $row>(postgres)
                    .bind($ids.iter().map(ToString::to_string).collect::<Vec<_>>())
                    .fetch_all(pool)
                    .await?
            }
        }
    }};
}

/// A list of ids as one parameter on SQLite: a JSON array, read with `json_each`.
pub(crate) fn ids_json(ids: &[CustomerId]) -> String {
    serde_json::Value::Array(
        ids.iter()
            .map(|id| serde_json::Value::String(id.to_string()))
            .collect(),
    )
    .to_string()
}

/// The live profile of each id in `$1` that exists: `(id, root)`.
pub(crate) const ROOTS: (&str, &str) = for_each_id!(
    "SELECT id, COALESCE(root_id, id) FROM profiles WHERE id IN ",
    ""
);

impl Store {
    /// Everything stored for each of these live profiles, in their order, with their
    /// consent decisions (oldest first).
    pub async fn customers(
        &self,
        roots: &[CustomerId],
    ) -> StoreResult<Vec<(CustomerRecord, Vec<ConsentRow>)>> {
        if roots.is_empty() {
            return Ok(Vec::new());
        }
        let fragments = fetch_for_ids!(
            self,
            for_each_id!(
                "SELECT p.root_id AS root, p.id, p.merged_into, p.created_at, p.updated_at, \
                 p.traits, p.first_seen, p.last_seen, p.event_count, p.channels FROM profiles p \
                 WHERE p.root_id IN ",
                " ORDER BY p.created_at, p.id"
            ),
            Rooted<ProfileRow>,
            roots
        );
        // The rest is read by fragment, not by root: each statement then goes straight
        // to its rows by `profile_id`, instead of through the root's profiles again.
        let fragment_ids: Vec<CustomerId> = fragments
            .iter()
            .map(|fragment| parse_customer_id(&fragment.row.id))
            .collect::<StoreResult<_>>()?;
        let root_of: HashMap<String, String> = fragments
            .iter()
            .map(|fragment| (fragment.row.id.clone(), fragment.root.clone()))
            .collect();
        let identities = fetch_for_ids!(
            self,
            for_each_id!(
                "SELECT i.profile_id AS root, i.kind, i.value, i.profile_id, i.first_seen, \
                 i.last_seen, i.sources FROM identities i WHERE i.profile_id IN ",
                " ORDER BY i.first_seen, i.kind, i.value"
            ),
            Rooted<IdentityRow>,
            &fragment_ids
        );
        let consents = fetch_for_ids!(
            self,
            for_each_id!(
                "SELECT c.profile_id AS root, c.id, c.profile_id, c.channel, c.purpose, \
                 c.granted, c.at, c.via, c.source_id, c.actor FROM consents c \
                 WHERE c.profile_id IN ",
                " ORDER BY c.at, c.id"
            ),
            Rooted<ConsentRow>,
            &fragment_ids
        );
        // Activity is read from the timeline (see `Store::customer`); on SQLite through
        // both halves of the per-customer index (migration 0008). CROSS JOIN keeps
        // SQLite's join order: left to choose, it scanned the whole timeline with a
        // Bloom filter instead of reading the few rows by key (20-70 ms against 0.03).
        // One pass over each fragment's timeline gives counts, dates and channels
        // (channel names hold no comma).
        let activity_sql = for_each_id!(
            "WITH tree (id) AS ",
            ", items (seq, fragment) AS (SELECT k.seq, t.id FROM tree t \
             CROSS JOIN timeline_by_customer k ON k.profile_id = t.id UNION SELECT x.seq, t.id FROM timeline_tail x \
             JOIN tree t ON x.profile_id = t.id) \
             SELECT i.fragment AS root, \
             COALESCE(SUM(CASE WHEN l.item_type = 'event' THEN 1 ELSE 0 END), 0) \
             AS events, MIN(l.at) AS first_seen, MAX(l.at) AS last_seen, \
             GROUP_CONCAT(DISTINCT l.channel) AS channels \
             FROM items i CROSS JOIN timeline l ON l.seq = i.seq GROUP BY i.fragment"
        )
        .0;
        let postgres_activity = for_each_id!(
            "SELECT l.profile_id AS root, \
             COALESCE(SUM(CASE WHEN l.item_type = 'event' THEN 1 ELSE 0 END), 0) AS events, \
             MIN(l.at) AS first_seen, MAX(l.at) AS last_seen, \
             string_agg(DISTINCT l.channel, ',') AS channels FROM timeline l \
             WHERE l.profile_id IN ",
            " GROUP BY l.profile_id"
        )
        .1;
        let activity = fetch_for_ids!(
            self,
            (activity_sql, postgres_activity),
            RootedActivity,
            &fragment_ids
        );
        let root = |fragment: &str| root_of.get(fragment).cloned().unwrap_or_default();

        let position: HashMap<String, usize> = roots
            .iter()
            .enumerate()
            .map(|(n, root)| (root.to_string(), n))
            .collect();
        let mut out: Vec<(CustomerRecord, Vec<ConsentRow>)> = roots
            .iter()
            .map(|root| {
                (
                    CustomerRecord {
                        id: *root,
                        fragments: Vec::new(),
                        identities: Vec::new(),
                        activity: Activity::default(),
                    },
                    Vec::new(),
                )
            })
            .collect();
        let slot = |root: &str| position.get(root).copied();
        for Rooted { root, row } in fragments {
            if let Some(n) = slot(&root) {
                out[n].0.fragments.push(row);
            }
        }
        for Rooted {
            root: fragment,
            row,
        } in identities
        {
            if let Some(n) = slot(&root(&fragment)) {
                out[n].0.identities.push(row);
            }
        }
        for Rooted {
            root: fragment,
            row,
        } in consents
        {
            if let Some(n) = slot(&root(&fragment)) {
                out[n].1.push(row);
            }
        }
        // A customer's activity is that of all its fragments.
        for row in activity {
            if let Some(n) = slot(&root(&row.root)) {
                let activity = &mut out[n].0.activity;
                activity.event_count += row.events;
                activity.first_seen = match (activity.first_seen, row.first_seen) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                activity.last_seen = activity.last_seen.max(row.last_seen);
                activity.channels.extend(
                    row.channels
                        .as_deref()
                        .unwrap_or_default()
                        .split(',')
                        .filter(|channel| !channel.is_empty())
                        .map(str::to_owned),
                );
            }
        }
        for (record, _) in &mut out {
            record.activity.channels.sort();
            record.activity.channels.dedup();
        }
        Ok(out)
    }
}
