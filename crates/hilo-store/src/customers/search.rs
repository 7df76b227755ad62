//! The customer search index (migration 0014): each live profile's words, in FTS5 on
//! SQLite and in a GIN-indexed `tsvector` on PostgreSQL, read by prefix queries that
//! never touch the profiles. On PostgreSQL the pairs of words are also rows of a
//! B-tree (migration 0029), which gives a pair's profiles in order. The words are made in the domain (`customers::search`);
//! this module only stores and queries them.

use hilo_domain::CustomerId;
use hilo_domain::customers::search::{PAIR_JOINER, SearchQuery, SearchTier, to_tsvector};
use serde_json::{Map, Value};

use super::many::{PageFragment, ROOTS, assemble_page, ids_json, page_rows_of, postgres_page};
use super::privacy::ConsentRow;
use super::{CustomerRecord, parse_customer_id};
use crate::tx::Tx;
use crate::{Store, StoreResult, corrupt};

/// What a live profile is found by: its identifiers and each fragment's stored traits.
#[derive(Debug, Clone)]
pub struct SearchSource {
    pub root: CustomerId,
    /// `(type, value)` of every identifier of every fragment.
    pub identities: Vec<(String, String)>,
    /// Each fragment's traits as stored: name → `{"v": value, "t": millis, "by": actor}`.
    pub fragments: Vec<Map<String, Value>>,
}

/// A list of ids as one parameter on PostgreSQL: an array.
fn ids_text(ids: &[CustomerId]) -> Vec<String> {
    ids.iter().map(ToString::to_string).collect()
}

/// Takes these rows out of the SQLite FTS table, in one statement. FTS5 reads a
/// `rowid IN (...)` as one lookup by rowid per value.
async fn delete_fts_rows(
    conn: &mut sqlx::SqliteConnection,
    docs: impl Iterator<Item = i64>,
) -> StoreResult<()> {
    let docs: Vec<i64> = docs.collect();
    if docs.is_empty() {
        return Ok(());
    }
    sqlx::query("DELETE FROM search_words WHERE rowid IN (SELECT value FROM json_each($1))")
        .bind(serde_json::to_string(&docs).unwrap_or_default())
        .execute(conn)
        .await?;
    Ok(())
}

impl Store {
    /// The live profile each of these ids belongs to now, in one statement, for those
    /// that still exist (an erased one has none).
    pub async fn customer_roots(
        &self,
        ids: &[CustomerId],
    ) -> StoreResult<Vec<(CustomerId, CustomerId)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let (sqlite, postgres) = ROOTS;
        let rows: Vec<(String, String)> = match self {
            Self::Sqlite(pool) => {
                sqlx::query_as(sqlite)
                    .bind(ids_json(ids))
                    .fetch_all(pool)
                    .await?
            }
            Self::Postgres(pool) => {
                sqlx::query_as(postgres)
                    .bind(ids_text(ids))
                    .fetch_all(pool)
                    .await?
            }
        };
        rows.iter()
            .map(|(id, root)| Ok((parse_customer_id(id)?, parse_customer_id(root)?)))
            .collect()
    }
}

impl Tx {
    /// The live profile each of these fragments belongs to now, for those that still
    /// exist (an erased one has none).
    pub async fn roots_of(
        &mut self,
        ids: &[CustomerId],
    ) -> StoreResult<Vec<(CustomerId, CustomerId)>> {
        let (sqlite, postgres) = ROOTS;
        let rows: Vec<(String, String)> = match self {
            Self::Sqlite(conn, _) => {
                sqlx::query_as(sqlite)
                    .bind(ids_json(ids))
                    .fetch_all(&mut **conn)
                    .await?
            }
            Self::Postgres(conn) => {
                sqlx::query_as(postgres)
                    .bind(ids_text(ids))
                    .fetch_all(&mut **conn)
                    .await?
            }
        };
        rows.iter()
            .map(|(id, root)| Ok((parse_customer_id(id)?, parse_customer_id(root)?)))
            .collect()
    }

    /// What each of these live profiles is found by, in one read per table.
    pub async fn search_sources(&mut self, roots: &[CustomerId]) -> StoreResult<Vec<SearchSource>> {
        const IDENTITIES_SQLITE: &str = "SELECT p.root_id, i.kind, i.value FROM profiles p \
            JOIN identities i ON i.profile_id = p.id \
            WHERE p.root_id IN (SELECT value FROM json_each($1))";
        const IDENTITIES_POSTGRES: &str = "SELECT p.root_id, i.kind, i.value FROM profiles p \
            JOIN identities i ON i.profile_id = p.id WHERE p.root_id = ANY($1)";
        const TRAITS_SQLITE: &str = "SELECT root_id, traits FROM profiles \
            WHERE root_id IN (SELECT value FROM json_each($1))";
        const TRAITS_POSTGRES: &str =
            "SELECT root_id, traits FROM profiles WHERE root_id = ANY($1)";
        type Rows = (Vec<(String, String, String)>, Vec<(String, String)>);
        let (identities, traits): Rows = match self {
            Self::Sqlite(conn, _) => {
                let list = ids_json(roots);
                let identities = sqlx::query_as(IDENTITIES_SQLITE)
                    .bind(&list)
                    .fetch_all(&mut **conn)
                    .await?;
                let traits = sqlx::query_as(TRAITS_SQLITE)
                    .bind(&list)
                    .fetch_all(&mut **conn)
                    .await?;
                (identities, traits)
            }
            Self::Postgres(conn) => {
                let list = ids_text(roots);
                let identities = sqlx::query_as(IDENTITIES_POSTGRES)
                    .bind(&list)
                    .fetch_all(&mut **conn)
                    .await?;
                let traits = sqlx::query_as(TRAITS_POSTGRES)
                    .bind(&list)
                    .fetch_all(&mut **conn)
                    .await?;
                (identities, traits)
            }
        };
        let mut sources: Vec<SearchSource> = roots
            .iter()
            .map(|root| SearchSource {
                root: *root,
                identities: Vec::new(),
                fragments: Vec::new(),
            })
            .collect();
        let position: std::collections::HashMap<String, usize> = roots
            .iter()
            .enumerate()
            .map(|(n, root)| (root.to_string(), n))
            .collect();
        for (root, kind, value) in identities {
            if let Some(&n) = position.get(&root) {
                sources[n].identities.push((kind, value));
            }
        }
        for (root, text) in traits {
            if let Some(&n) = position.get(&root) {
                sources[n]
                    .fragments
                    .push(serde_json::from_str(&text).unwrap_or_default());
            }
        }
        Ok(sources)
    }

    /// Sets the words each profile is found by (each profile once in `docs`).
    pub async fn put_search_words(
        &mut self,
        docs: &[(CustomerId, Vec<String>)],
    ) -> StoreResult<()> {
        if docs.is_empty() {
            return Ok(());
        }
        match self {
            // A fixed number of statements for the whole batch: every statement passes
            // through the driver's worker thread, and three per profile made the thread
            // hand-offs, not FTS5, most of the index's cost (and of the time the
            // ingestion writer waited for its turn).
            Self::Sqlite(conn, _) => {
                let ids: Vec<CustomerId> = docs.iter().map(|(id, _)| *id).collect();
                let list = ids_json(&ids);
                let existing: Vec<(i64, String)> = sqlx::query_as(
                    "SELECT doc, profile_id FROM search_docs \
                     WHERE profile_id IN (SELECT value FROM json_each($1))",
                )
                .bind(&list)
                .fetch_all(&mut **conn)
                .await?;
                delete_fts_rows(conn, existing.iter().map(|(doc, _)| *doc)).await?;
                let mut doc_of: std::collections::HashMap<String, i64> =
                    existing.into_iter().map(|(doc, id)| (id, doc)).collect();
                let new: Vec<String> = ids
                    .iter()
                    .map(ToString::to_string)
                    .filter(|id| !doc_of.contains_key(id))
                    .collect();
                if !new.is_empty() {
                    let added: Vec<(i64, String)> = sqlx::query_as(
                        "INSERT INTO search_docs (profile_id) \
                         SELECT value FROM json_each($1) RETURNING doc, profile_id",
                    )
                    .bind(serde_json::to_string(&new).unwrap_or_default())
                    .fetch_all(&mut **conn)
                    .await?;
                    doc_of.extend(added.into_iter().map(|(doc, id)| (id, doc)));
                }
                let rows: Vec<Value> = docs
                    .iter()
                    .filter_map(|(id, words)| {
                        let doc = doc_of.get(&id.to_string())?;
                        Some(serde_json::json!([doc, words.join(" ")]))
                    })
                    .collect();
                sqlx::query(
                    "INSERT INTO search_words (rowid, words) \
                     SELECT value ->> 0, value ->> 1 FROM json_each($1)",
                )
                .bind(Value::Array(rows).to_string())
                .execute(&mut **conn)
                .await?;
            }
            // One statement: the documents, then their pairs' rows (migration 0029):
            // those no longer held go, the new ones come, the rest stay. The two sets
            // never share a row, as the statement's parts see one snapshot.
            Self::Postgres(conn) => {
                let pairs: Vec<(String, &String)> = docs
                    .iter()
                    .flat_map(|(id, words)| {
                        words
                            .iter()
                            .filter(|word| word.contains(PAIR_JOINER))
                            .map(move |word| (id.to_string(), word))
                    })
                    .collect();
                sqlx::query(
                    "WITH docs AS (INSERT INTO search_docs (profile_id, words) \
                     SELECT id, CAST(words AS tsvector) FROM unnest($1::text[], $2::text[]) \
                     AS v(id, words) \
                     ON CONFLICT (profile_id) DO UPDATE SET words = EXCLUDED.words \
                     RETURNING doc, profile_id), \
                     pairs AS (SELECT DISTINCT d.doc, p.term FROM unnest($3::text[], $4::text[]) \
                     AS p(id, term) JOIN docs d ON d.profile_id = p.id), \
                     gone AS (DELETE FROM search_pairs s USING docs d WHERE s.doc = d.doc \
                     AND NOT EXISTS (SELECT 1 FROM pairs n WHERE n.doc = s.doc AND n.term = s.term)) \
                     INSERT INTO search_pairs (term, doc) SELECT term, doc FROM pairs \
                     ON CONFLICT DO NOTHING",
                )
                .bind(
                    docs.iter()
                        .map(|(id, _)| id.to_string())
                        .collect::<Vec<_>>(),
                )
                .bind(
                    docs.iter()
                        .map(|(_, words)| to_tsvector(words))
                        .collect::<Vec<_>>(),
                )
                .bind(pairs.iter().map(|(id, _)| id.clone()).collect::<Vec<_>>())
                .bind(pairs.iter().map(|(_, term)| (*term).clone()).collect::<Vec<_>>())
                .execute(&mut **conn)
                .await?;
            }
        }
        Ok(())
    }

    /// Takes these profiles out of the index (merged away or erased).
    pub async fn drop_search_words(&mut self, ids: &[CustomerId]) -> StoreResult<()> {
        if ids.is_empty() {
            return Ok(());
        }
        match self {
            Self::Sqlite(conn, _) => {
                let docs: Vec<i64> = sqlx::query_scalar(
                    "DELETE FROM search_docs WHERE profile_id IN (SELECT value FROM json_each($1)) \
                     RETURNING doc",
                )
                .bind(ids_json(ids))
                .fetch_all(&mut **conn)
                .await?;
                delete_fts_rows(conn, docs.into_iter()).await?;
            }
            Self::Postgres(conn) => {
                sqlx::query("DELETE FROM search_docs WHERE profile_id = ANY($1)")
                    .bind(ids_text(ids))
                    .execute(&mut **conn)
                    .await?;
            }
        }
        Ok(())
    }
}

/// One page of one part of a search's results.
#[derive(Debug, Default)]
pub struct SearchRows {
    /// `(doc, live profile)` in index order, one more than the page when there are more.
    pub found: Vec<(i64, CustomerId)>,
    /// The live profiles `found` names, each once, in its order, with their consent
    /// decisions: on PostgreSQL, read in the same statement; `None` on SQLite, where
    /// the caller reads them ([`Store::customers`]).
    pub customers: Option<Vec<(CustomerRecord, Vec<ConsentRow>)>>,
}

/// A row of a PostgreSQL search with its page (see [`postgres_with_page`]).
#[derive(sqlx::FromRow)]
struct FoundFragment {
    /// Every match as JSON `[[doc, live profile], …]`, on the first row only.
    found: Option<String>,
    #[sqlx(flatten)]
    page: PageFragment,
}

/// `found` (a statement giving `(doc, live profile)` rows) followed by the page of the
/// customers it names, in one statement: a search is then one round trip on
/// PostgreSQL besides the caller's key. The matches come on the first row of the
/// page; when nothing matches there is no row (nor when the profiles matched went away
/// since the index last heard of them: the next search finds the rest).
fn postgres_with_page(found: &str) -> String {
    const PAGE: &str = postgres_page!("(SELECT root FROM matches)");
    format!(
        "WITH matches (doc, root) AS MATERIALIZED ({found}) \
         SELECT CASE WHEN row_number() OVER (ORDER BY page.created_at, page.id) = 1 \
         THEN (SELECT json_agg(json_build_array(doc, root) ORDER BY doc) FROM matches)::text \
         END AS found, page.* FROM ({PAGE}) page ORDER BY page.created_at, page.id"
    )
}

/// The matches and customers of [`postgres_with_page`]'s rows.
fn search_rows_of(read: Vec<FoundFragment>) -> StoreResult<SearchRows> {
    let Some(found) = read.first().and_then(|row| row.found.clone()) else {
        return Ok(SearchRows::default());
    };
    let found: Vec<(i64, String)> =
        serde_json::from_str(&found).map_err(|e| corrupt("search matches", e))?;
    let found: Vec<(i64, CustomerId)> = found
        .iter()
        .map(|(doc, id)| Ok((*doc, parse_customer_id(id)?)))
        .collect::<StoreResult<_>>()?;
    let mut seen = std::collections::BTreeSet::new();
    let roots: Vec<CustomerId> = found
        .iter()
        .map(|(_, root)| *root)
        .filter(|root| seen.insert(*root))
        .collect();
    let rows = page_rows_of(read.into_iter().map(|row| row.page).collect())?;
    Ok(SearchRows {
        found,
        customers: Some(assemble_page(&roots, rows)),
    })
}

impl Store {
    /// Profiles in one part (`tier`) of `query`'s results, in index order after
    /// `after`, one more than `limit` when there are more; with their customers on
    /// PostgreSQL.
    pub async fn search_customers(
        &self,
        query: &SearchQuery,
        tier: SearchTier,
        after: i64,
        limit: u32,
    ) -> StoreResult<SearchRows> {
        // Each found profile's live profile comes in the same statement: the index may
        // lag a merge by a moment.
        const SQLITE: &str = "SELECT d.doc, COALESCE(p.root_id, p.id) FROM search_words w \
            CROSS JOIN search_docs d ON d.doc = w.rowid CROSS JOIN profiles p ON p.id = d.profile_id \
            WHERE search_words MATCH $1 AND w.rowid > $2 ORDER BY w.rowid LIMIT $3";
        // PostgreSQL's planner picks between walking the documents in order until a
        // page is found (right for a common word: a few hundred rows) and the GIN
        // index (right for a rare combination), and guessed wrong both ways: it walked
        // 15,000 rows for "jose garc" and all of them for a phone number. So a broad
        // query (one word, the first letters of a name) reads the next 2,000 documents
        // in order first, which fills a page when it is common; any other query, or
        // one those do not fill, takes every match from the index. Both read in `doc`
        // order from the same place, so the page is the same either way.
        const POSTGRES_WINDOW: &str = "SELECT f.doc, COALESCE(p.root_id, p.id) FROM (\
            SELECT doc, profile_id FROM (SELECT doc, profile_id, words FROM search_docs \
            WHERE doc > $2 ORDER BY doc LIMIT 2000) w \
            WHERE words @@ CAST($1 AS tsquery) ORDER BY doc LIMIT $3) f \
            JOIN profiles p ON p.id = f.profile_id ORDER BY f.doc";
        const POSTGRES: &str = "WITH found AS MATERIALIZED (SELECT doc, profile_id \
            FROM search_docs WHERE words @@ CAST($1 AS tsquery) AND doc > $2) \
            SELECT f.doc, COALESCE(p.root_id, p.id) FROM (SELECT doc, profile_id FROM found \
            ORDER BY doc LIMIT $3) f JOIN profiles p ON p.id = f.profile_id ORDER BY f.doc";
        let page = i64::from(limit) + 1;
        match self {
            Self::Sqlite(pool) => {
                let rows: Vec<(i64, String)> = sqlx::query_as(SQLITE)
                    .bind(query.to_fts5(tier))
                    .bind(after)
                    .bind(page)
                    .fetch_all(pool)
                    .await?;
                let found = rows
                    .iter()
                    .map(|(doc, id)| Ok((*doc, parse_customer_id(id)?)))
                    .collect::<StoreResult<_>>()?;
                Ok(SearchRows {
                    found,
                    customers: None,
                })
            }
            Self::Postgres(pool) if tier == SearchTier::Written => {
                let ranges = query.pair_ranges();
                let unpaired = query.unpaired_tsquery();
                let sql = postgres_pairs_statement(ranges.len(), unpaired.is_some());
                // Made of numbered placeholders alone: every value is bound.
                let mut statement = sqlx::query_as::<_, FoundFragment>(sqlx::AssertSqlSafe(
                    postgres_with_page(&sql),
                ));
                for (from, to) in ranges {
                    statement = statement.bind(from).bind(to);
                }
                statement = statement.bind(after).bind(page);
                if let Some(words) = unpaired {
                    statement = statement.bind(words);
                }
                search_rows_of(statement.fetch_all(pool).await?)
            }
            Self::Postgres(pool) => {
                let tsquery = query.to_tsquery(tier);
                let run = |sql: &'static str| {
                    sqlx::query_as::<_, FoundFragment>(sqlx::AssertSqlSafe(postgres_with_page(sql)))
                        .bind(tsquery.clone())
                        .bind(after)
                        .bind(page)
                        .fetch_all(pool)
                };
                if query.is_broad() {
                    let near = search_rows_of(run(POSTGRES_WINDOW).await?)?;
                    if near.found.len() as i64 == page {
                        return Ok(near);
                    }
                }
                search_rows_of(run(POSTGRES).await?)
            }
        }
    }
}

/// The first part of a search on PostgreSQL, for `ranges` ranges of pairs (bound first,
/// each as its two ends), then the document to start after and the rows wanted, then
/// the words in no pair when `with_words`. Each range's rows come from the pairs'
/// B-tree alone (migration 0029), never from the wide documents, and are kept apart
/// (`MATERIALIZED`) so the planner cannot walk every pair in document order instead:
/// with parameters it cannot tell a pair of 600 profiles from one of 100,000. A
/// profile is listed when every range holds one of its pairs. A range of a very common
/// pair ("a c" for A Coruña) is read whole before its first page is sorted out.
fn postgres_pairs_statement(ranges: usize, with_words: bool) -> String {
    let after = 2 * ranges + 1;
    let held = (0..ranges)
        .map(|n| {
            format!(
                "SELECT doc FROM search_pairs WHERE term >= ${} AND term < ${} AND doc > ${after}",
                2 * n + 1,
                2 * n + 2
            )
        })
        .collect::<Vec<_>>()
        .join(" INTERSECT ");
    let (limit, words) = (after + 1, after + 2);
    let page = if with_words {
        format!(
            "SELECT h.doc FROM held h JOIN search_docs w ON w.doc = h.doc \
             WHERE w.words @@ CAST(${words} AS tsquery) ORDER BY h.doc LIMIT ${limit}"
        )
    } else {
        format!("SELECT doc FROM held ORDER BY doc LIMIT ${limit}")
    };
    format!(
        "WITH held AS MATERIALIZED ({held}) SELECT f.doc, COALESCE(p.root_id, p.id) \
         FROM ({page}) f JOIN search_docs d ON d.doc = f.doc \
         JOIN profiles p ON p.id = d.profile_id ORDER BY f.doc"
    )
}
