//! Keeps the customer search index up to date: a consumer of the change feed that, for
//! every profile a batch of changes touched, writes again the words of the live profile
//! it belongs to now, and takes merged-away and erased profiles out. It acts in the
//! transaction that saves its position, so the index never misses a change and a crash
//! only makes it redo a batch. Words are rebuilt from the profile as it is, so redoing
//! is harmless and changes may be read in any grouping.

use std::collections::BTreeSet;

use hilo_domain::CustomerId;
use hilo_domain::customers::search::document_words;
use hilo_store::customers::feed::ChangeRecord;
use serde_json::Value;

use super::{Customers, shown_traits};
use crate::AppResult;

/// The feed consumer's name (its saved position).
const CONSUMER: &str = "customers.search";
/// Changes read per transaction. Small, because on SQLite the ingestion writer waits
/// for the batch's turn at the lock (`Hilo::write_turn`).
const BATCH: u32 = 200;

/// The profiles a change names: its own, and the one merged in or split off.
fn touched(changes: &[ChangeRecord]) -> Vec<CustomerId> {
    let mut ids = BTreeSet::new();
    for change in changes {
        // A message or a call changes nothing the profile is found by.
        if change.kind.is_some_and(|kind| !kind.changes_the_profile()) {
            continue;
        }
        ids.insert(change.customer);
        for key in ["absorbed", "restored"] {
            if let Some(id) = change
                .data
                .get(key)
                .and_then(Value::as_str)
                .and_then(|text| text.parse().ok())
            {
                ids.insert(id);
            }
        }
    }
    ids.into_iter().collect()
}

impl Customers<'_> {
    /// Whether changes wait that the search index has not taken in yet.
    pub async fn search_index_behind(&self) -> AppResult<bool> {
        Ok(self.hilo.store.changes_waiting(CONSUMER).await?)
    }

    /// Brings the search index up to every change on disk, or by one batch while
    /// ingestion runs. Returns whether changes are left to read soon: held back
    /// behind a transaction still running (PostgreSQL), or left while yielding.
    pub(crate) async fn index_changes(&self) -> AppResult<bool> {
        if !self.hilo.store.changes_waiting(CONSUMER).await? {
            return Ok(false);
        }
        loop {
            let waited = std::time::Instant::now();
            let mut claim = self.hilo.claim_changes(CONSUMER, BATCH).await?;
            let started = std::time::Instant::now();
            if claim.changes().is_empty() {
                return Ok(claim.held_back());
            }
            let (tx, changes) = claim.parts();
            let ids = touched(changes);
            let roots = tx.roots_of(&ids).await?;
            // A fragment that is no longer a live profile itself (merged away, erased)
            // has no words of its own.
            let live: BTreeSet<CustomerId> = roots.iter().map(|(_, root)| *root).collect();
            let gone: Vec<CustomerId> = ids.into_iter().filter(|id| !live.contains(id)).collect();
            let live: Vec<CustomerId> = live.into_iter().collect();
            let docs: Vec<(CustomerId, Vec<String>)> = tx
                .search_sources(&live)
                .await?
                .into_iter()
                .map(|source| {
                    let traits = shown_traits(source.fragments);
                    let words = document_words(
                        source
                            .identities
                            .iter()
                            .map(|(kind, value)| (kind.as_str(), value.as_str())),
                        traits.values(),
                    );
                    (source.root, words)
                })
                .collect();
            let read = started.elapsed();
            tx.drop_search_words(&gone).await?;
            tx.put_search_words(&docs).await?;
            let written = started.elapsed();
            let done = claim.changes().len() < BATCH as usize;
            let held_back = claim.held_back();
            let count = claim.changes().len();
            claim.commit().await?;
            tracing::debug!(
                changes = count,
                profiles = docs.len(),
                waited = ?(started - waited),
                ?read,
                ?written,
                committed = ?started.elapsed(),
                "search index batch"
            );
            if done {
                return Ok(held_back);
            }
            if self.hilo.ingesting() {
                // One batch per run while ingestion runs (the next run comes with the
                // feed's next signal): the index lags a little under heavy load rather
                // than taking the writer's time. Measured: catching up in one go cost
                // ingestion 60% of its rate. It catches up once ingestion pauses.
                return Ok(true);
            }
        }
    }
}
