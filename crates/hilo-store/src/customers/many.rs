//! Many live profiles read at once, for pages of customers (search results, lists):
//! statements for the whole page, each naming every profile, instead of a handful per
//! profile. On SQLite every statement passes through the driver's worker thread, and a
//! page of twenty profiles read one by one cost some 140 statements: it reads a page
//! with a statement per table. On PostgreSQL every statement is a round trip planned on
//! its own: it reads a page in one, the identities and consents as JSON.

use std::collections::HashMap;

use hilo_domain::CustomerId;

use super::privacy::ConsentRow;
use super::{Activity, CustomerRecord, IdentityRow, ProfileRow, parse_customer_id};
use crate::{Store, StoreResult, corrupt};
use serde_json::Value;

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
        let rows = match self {
            Store::Postgres(pool) => page_rows_postgres(pool, roots).await?,
            Store::Sqlite(pool) => page_rows_sqlite(pool, roots).await?,
        };
        Ok(assemble_page(roots, rows))
    }
}

/// A page's rows on SQLite: a statement per table, each naming every profile in a JSON
/// array read with `json_each`.
async fn page_rows_sqlite(pool: &sqlx::SqlitePool, roots: &[CustomerId]) -> StoreResult<PageRows> {
    const FRAGMENTS: &str = "SELECT p.root_id AS root, p.id, p.merged_into, p.created_at, \
        p.updated_at, p.traits, p.first_seen, p.last_seen, p.event_count, p.channels \
        FROM profiles p WHERE p.root_id IN (SELECT value FROM json_each($1)) \
        ORDER BY p.created_at, p.id";
    const IDENTITIES: &str = "SELECT i.profile_id AS root, i.kind, i.value, i.profile_id, \
        i.first_seen, i.last_seen, i.sources FROM identities i \
        WHERE i.profile_id IN (SELECT value FROM json_each($1)) \
        ORDER BY i.first_seen, i.kind, i.value";
    const CONSENTS: &str = "SELECT c.profile_id AS root, c.id, c.profile_id, c.channel, \
        c.purpose, c.granted, c.at, c.via, c.source_id, c.actor FROM consents c \
        WHERE c.profile_id IN (SELECT value FROM json_each($1)) ORDER BY c.at, c.id";
    // Activity is read from the timeline (see `Store::customer`) through both halves of
    // the per-customer index (migration 0008). CROSS JOIN keeps SQLite's join order:
    // left to choose, it scanned the whole timeline with a Bloom filter instead of
    // reading the few rows by key (20-70 ms against 0.03). One pass over each
    // fragment's timeline gives counts, dates and channels (channel names hold no
    // comma).
    const ACTIVITY: &str = "WITH tree (id) AS (SELECT value FROM json_each($1)), \
        items (seq, fragment) AS (SELECT k.seq, t.id FROM tree t \
        CROSS JOIN timeline_by_customer k ON k.profile_id = t.id UNION SELECT x.seq, t.id \
        FROM timeline_tail x JOIN tree t ON x.profile_id = t.id) \
        SELECT i.fragment AS root, \
        COALESCE(SUM(CASE WHEN l.item_type = 'event' THEN 1 ELSE 0 END), 0) AS events, \
        MIN(l.at) AS first_seen, MAX(l.at) AS last_seen, \
        GROUP_CONCAT(DISTINCT l.channel) AS channels \
        FROM items i CROSS JOIN timeline l ON l.seq = i.seq GROUP BY i.fragment";
    let fragments: Vec<Rooted<ProfileRow>> = sqlx::query_as(FRAGMENTS)
        .bind(ids_json(roots))
        .fetch_all(pool)
        .await?;
    // The rest is read by fragment, not by root: each statement then goes straight to
    // its rows by `profile_id`, instead of through the root's profiles again.
    let fragment_ids: Vec<CustomerId> = fragments
        .iter()
        .map(|fragment| parse_customer_id(&fragment.row.id))
        .collect::<StoreResult<_>>()?;
    let list = ids_json(&fragment_ids);
    let identities = sqlx::query_as(IDENTITIES)
        .bind(&list)
        .fetch_all(pool)
        .await?;
    let consents = sqlx::query_as(CONSENTS).bind(&list).fetch_all(pool).await?;
    let activity = sqlx::query_as(ACTIVITY).bind(&list).fetch_all(pool).await?;
    Ok(PageRows {
        fragments,
        identities,
        consents,
        activity,
    })
}

/// What a page of customers is made of, each row with the fragment it belongs to
/// (`root` is the live profile for `fragments`, the fragment itself for the rest);
/// identities and consents in their display order.
pub(crate) struct PageRows {
    fragments: Vec<Rooted<ProfileRow>>,
    identities: Vec<Rooted<IdentityRow>>,
    consents: Vec<Rooted<ConsentRow>>,
    activity: Vec<RootedActivity>,
}

/// The columns of a page of customers on PostgreSQL, one row per fragment of the live
/// profiles `{roots}` names (an SQL expression giving their ids): the fragment, its
/// identities and consents as JSON, its activity. Read into [`PageFragment`].
macro_rules! postgres_page {
    ($roots:literal) => {
        concat!(
            "SELECT p.root_id AS root, p.id, p.merged_into, p.created_at, \
        p.updated_at, p.traits, p.first_seen, p.last_seen, p.event_count, p.channels, \
        (SELECT json_agg(json_build_array(i.kind, i.value, i.first_seen, i.last_seen, i.sources)) \
         FROM identities i WHERE i.profile_id = p.id)::text AS identities, \
        (SELECT json_agg(json_build_array(c.id, c.channel, c.purpose, c.granted, c.at, c.via, \
         c.source_id, c.actor)) FROM consents c WHERE c.profile_id = p.id)::text AS consents, \
        a.events, a.active_from, a.active_to, a.active_channels FROM profiles p \
        CROSS JOIN LATERAL (SELECT COALESCE(SUM(CASE WHEN l.item_type = 'event' THEN 1 ELSE 0 END), 0) \
         AS events, MIN(l.at) AS active_from, MAX(l.at) AS active_to, \
         string_agg(DISTINCT l.channel, ',') AS active_channels FROM timeline l \
         WHERE l.profile_id = p.id) a \
        WHERE p.root_id IN ",
            $roots,
            " ORDER BY p.created_at, p.id"
        )
    };
}
pub(crate) use postgres_page;

/// A row of [`postgres_page`].
#[derive(sqlx::FromRow)]
pub(crate) struct PageFragment {
    root: String,
    #[sqlx(flatten)]
    row: ProfileRow,
    identities: Option<String>,
    consents: Option<String>,
    events: i64,
    active_from: Option<i64>,
    active_to: Option<i64>,
    active_channels: Option<String>,
}

/// A page's rows on PostgreSQL, in one statement. Every statement is a round trip with
/// its own planning, and the four of the SQLite path were most of a search page's cost.
async fn page_rows_postgres(pool: &sqlx::PgPool, roots: &[CustomerId]) -> StoreResult<PageRows> {
    const PAGE: &str = postgres_page!("(SELECT unnest(CAST($1 AS text[])))");
    let read: Vec<PageFragment> = sqlx::query_as(PAGE)
        .bind(roots.iter().map(ToString::to_string).collect::<Vec<_>>())
        .fetch_all(pool)
        .await?;
    page_rows_of(read)
}

/// The page rows of [`postgres_page`]'s rows.
pub(crate) fn page_rows_of(read: Vec<PageFragment>) -> StoreResult<PageRows> {
    let mut rows = PageRows {
        fragments: Vec::with_capacity(read.len()),
        identities: Vec::new(),
        consents: Vec::new(),
        activity: Vec::with_capacity(read.len()),
    };
    for fragment in read {
        let id = fragment.row.id.clone();
        for item in json_rows(fragment.identities.as_deref(), "identities")? {
            rows.identities.push(Rooted {
                root: id.clone(),
                row: IdentityRow {
                    kind: text_at(&item, 0)?,
                    value: text_at(&item, 1)?,
                    profile_id: id.clone(),
                    first_seen: number_at(&item, 2)?,
                    last_seen: number_at(&item, 3)?,
                    sources: text_at(&item, 4)?,
                },
            });
        }
        for item in json_rows(fragment.consents.as_deref(), "consents")? {
            rows.consents.push(Rooted {
                root: id.clone(),
                row: ConsentRow {
                    id: text_at(&item, 0)?,
                    profile_id: id.clone(),
                    channel: text_at(&item, 1)?,
                    purpose: text_at(&item, 2)?,
                    granted: number_at(&item, 3)?,
                    at: number_at(&item, 4)?,
                    via: text_at(&item, 5)?,
                    source_id: item.get(6).and_then(Value::as_str).map(str::to_owned),
                    actor: item.get(7).and_then(Value::as_str).map(str::to_owned),
                },
            });
        }
        rows.activity.push(RootedActivity {
            root: id,
            events: fragment.events,
            first_seen: fragment.active_from,
            last_seen: fragment.active_to,
            channels: fragment.active_channels,
        });
        rows.fragments.push(Rooted {
            root: fragment.root,
            row: fragment.row,
        });
    }
    // In the order the statements of the SQLite path give them.
    rows.identities.sort_by(|a, b| {
        (a.row.first_seen, &a.row.kind, &a.row.value).cmp(&(
            b.row.first_seen,
            &b.row.kind,
            &b.row.value,
        ))
    });
    rows.consents
        .sort_by(|a, b| (a.row.at, &a.row.id).cmp(&(b.row.at, &b.row.id)));
    Ok(rows)
}

/// The rows of a JSON array of arrays a page statement aggregated (`NULL`: none).
fn json_rows(text: Option<&str>, what: &'static str) -> StoreResult<Vec<Vec<Value>>> {
    match text {
        None => Ok(Vec::new()),
        Some(text) => serde_json::from_str(text).map_err(|e| corrupt(what, e)),
    }
}

fn text_at(item: &[Value], n: usize) -> StoreResult<String> {
    item.get(n)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| corrupt("page row", format!("no text at {n}")))
}

fn number_at(item: &[Value], n: usize) -> StoreResult<i64> {
    item.get(n)
        .and_then(Value::as_i64)
        .ok_or_else(|| corrupt("page row", format!("no number at {n}")))
}

/// Each live profile of `roots`, in their order, from its page rows.
pub(crate) fn assemble_page(
    roots: &[CustomerId],
    rows: PageRows,
) -> Vec<(CustomerRecord, Vec<ConsentRow>)> {
    let PageRows {
        fragments,
        identities,
        consents,
        activity,
    } = rows;
    let root_of: HashMap<String, String> = fragments
        .iter()
        .map(|fragment| (fragment.row.id.clone(), fragment.root.clone()))
        .collect();
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
    out
}
