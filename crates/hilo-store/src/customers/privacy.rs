//! Consent records, erasure and suppression, and the audit log.

use hilo_domain::customers::redaction::Redaction;
use hilo_domain::{CustomerId, SourceId, Timestamp};

use crate::customers::{ConflictRow, IdentityRow, like_in_order};
use crate::sql::{self, tree};
use crate::tx::{Tx, on_tx};
use crate::{Store, StoreResult, on_pool};

/// A fragment's timeline rows on SQLite, found through both halves of its index (see
/// migration 0008); triggers remove their index entries.
const ERASE_TIMELINE_SQLITE: &str = "DELETE FROM timeline WHERE seq IN (\
    SELECT seq FROM timeline_by_customer WHERE profile_id = $1 \
    UNION SELECT seq FROM timeline_tail WHERE profile_id = $1)";

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ConsentRow {
    pub id: String,
    pub profile_id: String,
    pub channel: String,
    pub purpose: String,
    pub granted: i64,
    pub at: i64,
    pub via: String,
    pub source_id: Option<String>,
    pub actor: Option<String>,
}

/// A consent decision to record.
#[derive(Debug, Clone)]
pub struct NewConsent<'a> {
    pub profile_id: CustomerId,
    pub channel: &'a str,
    pub purpose: &'a str,
    pub granted: bool,
    pub at: Timestamp,
    pub via: &'a str,
    pub source_id: Option<SourceId>,
    pub actor: Option<&'a str>,
}

/// What an erasure removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Erased {
    pub profiles: u64,
    pub identities: u64,
    pub timeline_items: u64,
    pub consents: u64,
    pub redacted_items: u64,
    /// Other customers' fragments whose traits named the person and were redacted.
    pub redacted_profiles: Vec<CustomerId>,
}

impl Tx {
    pub async fn record_consent(&mut self, id: &str, consent: &NewConsent<'_>) -> StoreResult<()> {
        const SQL: &str = sql::RECORD_CONSENT;
        on_tx!(self, |conn| sqlx::query(SQL)
            .bind(id)
            .bind(consent.profile_id.to_string())
            .bind(consent.channel)
            .bind(consent.purpose)
            .bind(i64::from(consent.granted))
            .bind(consent.at.millis())
            .bind(consent.via)
            .bind(consent.source_id.map(|s| s.to_string()))
            .bind(consent.actor)
            .execute(conn)
            .await?
            .rows_affected());
        Ok(())
    }

    /// Whether any identifier was ever suppressed.
    pub async fn any_suppression_exists(&mut self) -> StoreResult<bool> {
        let found = on_tx!(self, |conn| sqlx::query_scalar::<_, i32>(
            sql::ANY_SUPPRESSION
        )
        .fetch_optional(conn)
        .await?);
        Ok(found.is_some())
    }

    /// Whether any of these suppression digests is recorded.
    pub async fn any_suppressed(&mut self, digests: &[String]) -> StoreResult<bool> {
        for digest in digests {
            let found = on_tx!(self, |conn| sqlx::query_scalar::<_, i32>(sql::SUPPRESSED)
                .bind(digest)
                .fetch_optional(conn)
                .await?);
            if found.is_some() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    pub async fn suppress(&mut self, digest: &str, at: Timestamp) -> StoreResult<()> {
        const SQL: &str =
            "INSERT INTO suppressions (digest, at) VALUES ($1, $2) ON CONFLICT (digest) DO NOTHING";
        on_tx!(self, |conn| sqlx::query(SQL)
            .bind(digest)
            .bind(at.millis())
            .execute(conn)
            .await?
            .rows_affected());
        Ok(())
    }

    /// The identities of every fragment of a live profile.
    pub async fn identities_of(&mut self, root: CustomerId) -> StoreResult<Vec<IdentityRow>> {
        const SQL: &str = tree!(
            "SELECT i.kind, i.value, i.profile_id, i.first_seen, i.last_seen, i.sources \
             FROM identities i WHERE i.profile_id IN (SELECT id FROM tree)"
        );
        Ok(on_tx!(self, |conn| sqlx::query_as::<_, IdentityRow>(SQL)
            .bind(root.to_string())
            .fetch_all(conn)
            .await?))
    }

    /// Deletes everything stored about the fragments `fragments` and the identifier
    /// values `values`; where another customer's timeline quotes one of those values (a
    /// message the rules kept apart), the value is replaced by `[erased]`.
    pub async fn erase(
        &mut self,
        fragments: &[CustomerId],
        identities: &[IdentityRow],
        redaction: &Redaction,
    ) -> StoreResult<Erased> {
        let mut erased = Erased::default();
        for identity in identities {
            on_tx!(self, |conn| {
                sqlx::query(
                "DELETE FROM identity_conflicts WHERE identifier_kind = $1 AND identifier_value = $2"
            )
            .bind(&identity.kind)
            .bind(&identity.value)
            .execute(conn)
            .await?
            .rows_affected()
            });
        }
        for fragment in fragments {
            let id = fragment.to_string();
            on_tx!(self, |conn| sqlx::query(
                "UPDATE profiles SET merged_into = NULL WHERE id = $1"
            )
            .bind(&id)
            .execute(conn)
            .await?
            .rows_affected());
        }
        for fragment in fragments {
            let id = fragment.to_string();
            let timeline_sql = match self {
                Tx::Sqlite(..) => ERASE_TIMELINE_SQLITE,
                Tx::Postgres(_) => "DELETE FROM timeline WHERE profile_id = $1",
            };
            let counts = on_tx!(self, |conn| {
                let timeline = sqlx::query(timeline_sql)
                    .bind(&id)
                    .execute(&mut *conn)
                    .await?
                    .rows_affected();
                let consents = sqlx::query("DELETE FROM consents WHERE profile_id = $1")
                    .bind(&id)
                    .execute(&mut *conn)
                    .await?
                    .rows_affected();
                let identities = sqlx::query("DELETE FROM identities WHERE profile_id = $1")
                    .bind(&id)
                    .execute(&mut *conn)
                    .await?
                    .rows_affected();
                for sql in [
                    "DELETE FROM changes WHERE profile_id = $1",
                    "DELETE FROM merges WHERE survivor_id = $1 OR absorbed_id = $1",
                    "DELETE FROM separations WHERE a = $1 OR b = $1",
                    "DELETE FROM identity_conflicts WHERE profile_id = $1 OR other_profile_id = $1",
                ] {
                    sqlx::query(sql).bind(&id).execute(&mut *conn).await?;
                }
                (timeline, consents, identities)
            });
            erased.timeline_items += counts.0;
            erased.consents += counts.1;
            erased.identities += counts.2;
        }
        for fragment in fragments {
            on_tx!(self, |conn| sqlx::query(
                "DELETE FROM profiles WHERE id = $1"
            )
            .bind(fragment.to_string())
            .execute(conn)
            .await?
            .rows_affected());
            erased.profiles += 1;
        }
        let ids: Vec<String> = fragments.iter().map(ToString::to_string).collect();
        self.scrub_webhook_messages(&ids).await?;
        // Not found by search from this commit on, before the index hears of it.
        self.drop_search_words(fragments).await?;
        // What is left of the person sits in other customers' records: messages that
        // quoted them (a referral, a gift, a shared device) and traits naming them.
        let (items, profiles) = self.redact_everywhere(redaction).await?;
        erased.redacted_items += items;
        erased.redacted_profiles = profiles;
        Ok(erased)
    }

    /// Cuts the person's identifiers out of every timeline body and every profile's
    /// traits that hold one; how many rows changed, and the profiles among them. One scan per table narrows the rows
    /// (`LIKE` on the lowercased text, every spelling of a phone included); the
    /// redaction then decides on the parsed JSON.
    async fn redact_everywhere(
        &mut self,
        redaction: &Redaction,
    ) -> StoreResult<(u64, Vec<CustomerId>)> {
        let patterns: Vec<String> = redaction
            .fragments()
            .iter()
            .map(|pieces| like_in_order(pieces))
            .collect();
        if patterns.is_empty() {
            return Ok((0, Vec::new()));
        }
        let mut changed = 0;
        let mut profiles = Vec::new();
        for (table, key, column) in [("timeline", "seq", "body"), ("profiles", "id", "traits")] {
            let matching = (1..=patterns.len())
                .map(|n| format!("lower({column}) LIKE ${n} ESCAPE '\\'"))
                .collect::<Vec<_>>()
                .join(" OR ");
            let select =
                format!("SELECT CAST({key} AS TEXT), {column} FROM {table} WHERE {matching}");
            let rows: Vec<(String, String)> = on_tx!(self, |conn| {
                let mut query = sqlx::query_as(sqlx::AssertSqlSafe(select.clone()));
                for pattern in &patterns {
                    query = query.bind(pattern);
                }
                query.fetch_all(conn).await?
            });
            let update = match (table, &*self) {
                ("timeline", Tx::Postgres(_)) => {
                    "UPDATE timeline SET body = $1 WHERE seq = CAST($2 AS BIGINT)"
                }
                ("timeline", Tx::Sqlite(..)) => "UPDATE timeline SET body = $1 WHERE seq = $2",
                _ => "UPDATE profiles SET traits = $1 WHERE id = $2",
            };
            for (id, text) in rows {
                let Ok(mut value) = serde_json::from_str::<serde_json::Value>(&text) else {
                    continue;
                };
                if !redaction.apply(&mut value) {
                    continue;
                }
                on_tx!(self, |conn| sqlx::query(update)
                    .bind(value.to_string())
                    .bind(&id)
                    .execute(conn)
                    .await?
                    .rows_affected());
                changed += 1;
                if table == "profiles" {
                    profiles.push(super::parse_customer_id(&id)?);
                }
            }
        }
        Ok((changed, profiles))
    }

    pub async fn audit(
        &mut self,
        id: &str,
        at: Timestamp,
        actor: &str,
        action: &str,
        subject: &str,
        detail: &str,
    ) -> StoreResult<()> {
        const SQL: &str = "INSERT INTO audit_log (id, at, actor, action, subject_id, detail) \
                           VALUES ($1, $2, $3, $4, $5, $6)";
        on_tx!(self, |conn| sqlx::query(SQL)
            .bind(id)
            .bind(at.millis())
            .bind(actor)
            .bind(action)
            .bind(subject)
            .bind(detail)
            .execute(conn)
            .await?
            .rows_affected());
        Ok(())
    }
}

impl Store {
    /// Every consent decision of a live profile, oldest first.
    pub async fn consents_of(&self, root: CustomerId) -> StoreResult<Vec<ConsentRow>> {
        const SQL: &str = tree!(
            "SELECT c.id, c.profile_id, c.channel, c.purpose, c.granted, c.at, c.via, c.source_id, \
             c.actor FROM consents c WHERE c.profile_id IN (SELECT id FROM tree) ORDER BY c.at, c.id"
        );
        Ok(on_pool!(self, |pool| sqlx::query_as::<_, ConsentRow>(SQL)
            .bind(root.to_string())
            .fetch_all(pool)
            .await?))
    }

    /// Conflicts that involve any fragment of a live profile.
    pub async fn conflicts_of(&self, root: CustomerId) -> StoreResult<Vec<ConflictRow>> {
        const SQL: &str = tree!(
            "SELECT DISTINCT c.id, c.at, c.reason, c.detail, c.identifier_kind, c.identifier_value, \
             c.profile_id, c.other_profile_id, c.message_id, c.source_id FROM identity_conflicts c \
             WHERE (c.profile_id IN (SELECT id FROM tree) OR c.other_profile_id IN (SELECT id FROM tree)) ORDER BY c.id"
        );
        Ok(on_pool!(self, |pool| sqlx::query_as::<_, ConflictRow>(SQL)
            .bind(root.to_string())
            .fetch_all(pool)
            .await?))
    }

    /// Audit records about a subject, oldest first.
    pub async fn audit_of(
        &self,
        subject: &str,
    ) -> StoreResult<Vec<(String, i64, String, String, String)>> {
        const SQL: &str =
            "SELECT id, at, actor, action, detail FROM audit_log WHERE subject_id = $1 ORDER BY id";
        Ok(on_pool!(self, |pool| sqlx::query_as::<
            _,
            (String, i64, String, String, String),
        >(SQL)
        .bind(subject)
        .fetch_all(pool)
        .await?))
    }
}
