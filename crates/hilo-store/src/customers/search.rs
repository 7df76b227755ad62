//! The customer search index (migration 0014): each live profile's words, in FTS5 on
//! SQLite and in a GIN-indexed `tsvector` on PostgreSQL, read by prefix queries that
//! never touch the profiles. The words are made in the domain (`customers::search`);
//! this module only stores and queries them.

use hilo_domain::CustomerId;
use hilo_domain::customers::search::{SearchQuery, to_tsvector};
use serde_json::{Map, Value};

use super::many::{ROOTS, ids_json};
use super::parse_customer_id;
use crate::tx::Tx;
use crate::{Store, StoreResult};

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

impl Tx {
    /// The live profile each of these fragments belongs to now, for those that still
    /// exist (an erased one has none).
    pub async fn roots_of(
        &mut self,
        ids: &[CustomerId],
    ) -> StoreResult<Vec<(CustomerId, CustomerId)>> {
        let (sqlite, postgres) = ROOTS;
        let rows: Vec<(String, String)> = match self {
            Self::Sqlite(conn) => {
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
            Self::Sqlite(conn) => {
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
            Self::Sqlite(conn) => {
                for (id, words) in docs {
                    let doc: i64 = sqlx::query_scalar(
                        "INSERT INTO search_docs (profile_id) VALUES ($1) \
                         ON CONFLICT (profile_id) DO UPDATE SET profile_id = excluded.profile_id \
                         RETURNING doc",
                    )
                    .bind(id.to_string())
                    .fetch_one(&mut **conn)
                    .await?;
                    sqlx::query("DELETE FROM search_words WHERE rowid = $1")
                        .bind(doc)
                        .execute(&mut **conn)
                        .await?;
                    sqlx::query("INSERT INTO search_words (rowid, words) VALUES ($1, $2)")
                        .bind(doc)
                        .bind(words.join(" "))
                        .execute(&mut **conn)
                        .await?;
                }
            }
            Self::Postgres(conn) => {
                sqlx::query(
                    "INSERT INTO search_docs (profile_id, words) \
                     SELECT id, CAST(words AS tsvector) FROM unnest($1::text[], $2::text[]) \
                     AS v(id, words) \
                     ON CONFLICT (profile_id) DO UPDATE SET words = EXCLUDED.words",
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
            Self::Sqlite(conn) => {
                let docs: Vec<i64> = sqlx::query_scalar(
                    "DELETE FROM search_docs WHERE profile_id IN (SELECT value FROM json_each($1)) \
                     RETURNING doc",
                )
                .bind(ids_json(ids))
                .fetch_all(&mut **conn)
                .await?;
                for doc in docs {
                    sqlx::query("DELETE FROM search_words WHERE rowid = $1")
                        .bind(doc)
                        .execute(&mut **conn)
                        .await?;
                }
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

impl Store {
    /// Live profiles holding every word of `query`, in index order after `after`:
    /// `(doc, profile)`, one more than `limit` when there are more.
    pub async fn search_customers(
        &self,
        query: &SearchQuery,
        after: i64,
        limit: u32,
    ) -> StoreResult<Vec<(i64, CustomerId)>> {
        const SQLITE: &str = "SELECT d.doc, d.profile_id FROM search_words w \
            JOIN search_docs d ON d.doc = w.rowid \
            WHERE search_words MATCH $1 AND w.rowid > $2 ORDER BY w.rowid LIMIT $3";
        // PostgreSQL's planner picks between walking the documents in order until a
        // page is found (right for a common word: a few hundred rows) and the GIN
        // index (right for a rare combination), and guessed wrong both ways: it walked
        // 15,000 rows for "jose garc" and all of them for a phone number. So a broad
        // query (one word, the first letters of a name) reads the next 2,000 documents
        // in order first, which fills a page when it is common; any other query, or
        // one those do not fill, takes every match from the index. Both read in `doc`
        // order from the same place, so the page is the same either way.
        const POSTGRES_WINDOW: &str = "SELECT doc, profile_id FROM (SELECT doc, profile_id, \
            words FROM search_docs WHERE doc > $2 ORDER BY doc LIMIT 2000) w \
            WHERE words @@ CAST($1 AS tsquery) ORDER BY doc LIMIT $3";
        const POSTGRES: &str = "WITH found AS MATERIALIZED (SELECT doc, profile_id \
            FROM search_docs WHERE words @@ CAST($1 AS tsquery) AND doc > $2) \
            SELECT doc, profile_id FROM found ORDER BY doc LIMIT $3";
        let rows: Vec<(i64, String)> = match self {
            Self::Sqlite(pool) => {
                sqlx::query_as(SQLITE)
                    .bind(query.to_fts5())
                    .bind(after)
                    .bind(i64::from(limit) + 1)
                    .fetch_all(pool)
                    .await?
            }
            Self::Postgres(pool) => {
                let page = i64::from(limit) + 1;
                let near: Vec<(i64, String)> = if query.is_broad() {
                    sqlx::query_as(POSTGRES_WINDOW)
                        .bind(query.to_tsquery())
                        .bind(after)
                        .bind(page)
                        .fetch_all(pool)
                        .await?
                } else {
                    Vec::new()
                };
                if near.len() as i64 == page {
                    near
                } else {
                    sqlx::query_as(POSTGRES)
                        .bind(query.to_tsquery())
                        .bind(after)
                        .bind(page)
                        .fetch_all(pool)
                        .await?
                }
            }
        };
        rows.iter()
            .map(|(doc, id)| Ok((*doc, parse_customer_id(id)?)))
            .collect()
    }
}
