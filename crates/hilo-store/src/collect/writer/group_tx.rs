//! An ingestion group's transaction: what it has read of the identity graph is answered
//! from memory afterwards, and what it writes is kept in memory and written, when the
//! group ends, in a few set-at-a-time statements.
//!
//! On PostgreSQL every statement is a round trip, and linking a new customer takes a
//! dozen; with this layer a group of thousands of messages costs about as many
//! statements as one message did. Merges are rare and touch rows all over the graph:
//! before one, everything pending is written and everything remembered is forgotten.

use std::collections::{HashMap, HashSet};

use hilo_domain::customers::changes::ChangeKind;
use hilo_domain::customers::identity::{Identifier, IdentifierType};
use hilo_domain::{CustomerId, SourceId, Timestamp};

use crate::StoreResult;
use crate::collect::writer::ingest_tx::IngestTx;
use crate::customers::privacy::NewConsent;
use crate::customers::{
    IdentityRow, NewChange, NewConflict, NewProfile, NewTimelineItem, ProfileRow, parse_customer_id,
};

/// A stored identifier, the fragment holding it and that fragment's `merged_into`.
#[derive(Debug)]
struct Held {
    row: IdentityRow,
    /// `row.profile_id`, parsed once: every message asks for it.
    fragment: CustomerId,
    merged_into: Option<String>,
}

impl Held {
    /// From what a store read returns.
    fn from_stored(stored: Option<(IdentityRow, Option<String>)>) -> StoreResult<Owner> {
        stored
            .map(|(row, merged_into)| {
                Ok(Box::new(Self {
                    fragment: parse_customer_id(&row.profile_id)?,
                    row,
                    merged_into,
                }))
            })
            .transpose()
    }

    fn stored(&self) -> (IdentityRow, Option<String>) {
        (self.row.clone(), self.merged_into.clone())
    }
}

/// Who holds an identifier, or `None` when no one does. Boxed: the map of owners grows
/// to hundreds of thousands of entries, and growing it moves every entry (at ~200 bytes
/// each, growing it had cost 3% of the writer's time in faulting in fresh pages).
type Owner = Option<Box<Held>>;

/// A consent decision waiting to be written.
struct PendingConsent {
    id: String,
    profile_id: CustomerId,
    channel: String,
    purpose: String,
    granted: bool,
    at: Timestamp,
    via: String,
    source_id: Option<SourceId>,
    actor: Option<String>,
}

/// What a group learned of the identity graph — who holds which identifier, which
/// fragments were merged, holdings, profile rows — all as stored once the group commits.
/// A sole writer hands it to its next group unless another connection wrote meanwhile.
#[derive(Debug, Default)]
pub struct GraphMemory {
    owners: HashMap<Identifier, Owner>,
    /// Fragment → the profile it was merged into (`None`: live).
    parents: HashMap<CustomerId, Option<CustomerId>>,
    holdings: HashMap<CustomerId, Vec<(String, i64)>>,
    profiles: HashMap<CustomerId, ProfileRow>,
    /// On PostgreSQL, the graph version this memory is true at: the one the group that
    /// learned it committed, if no one else changed the graph while it ran. `None`
    /// on SQLite, where the single writer compares versions as it begins (see
    /// `EmbeddedWriter::begin`).
    version: Option<i64>,
}

/// Entries remembered at most between groups (a few hundred bytes each); beyond, a group
/// starts afresh. Keeps a million-event, hundred-thousand-customer instance well inside
/// its memory budget.
const MEMORY_LIMIT: usize = 600_000;

impl GraphMemory {
    fn clear(&mut self) {
        self.owners.clear();
        self.parents.clear();
        self.holdings.clear();
        self.profiles.clear();
        self.version = None;
    }

    /// Whether another writer's commit can be told apart by version (PostgreSQL).
    pub fn versioned(&self) -> bool {
        self.version.is_some()
    }

    fn len(&self) -> usize {
        self.owners.len() + self.parents.len() + self.holdings.len() + self.profiles.len()
    }
}

pub struct GroupTx<T: IngestTx> {
    inner: T,
    locked: HashSet<i64>,
    memory: GraphMemory,
    /// On PostgreSQL, the graph version when this group last checked: what it reads is
    /// at least that recent, so its memory is true at that version if nobody else
    /// changed the graph before this group commits.
    seen_version: Option<i64>,
    // Writes waiting for the end of the group, in the order they were made.
    new_profiles: Vec<NewProfile>,
    new_identities: Vec<Identifier>,
    touched_identities: Vec<Identifier>,
    pending_identities: HashSet<Identifier>,
    saved_profiles: Vec<CustomerId>,
    saved: HashSet<CustomerId>,
    changes: Vec<NewChange>,
    consents: Vec<PendingConsent>,
}

impl<T: IngestTx> GroupTx<T> {
    pub fn new(inner: T) -> Self {
        Self::with_memory(inner, GraphMemory::default())
    }

    /// Starts from what an earlier group learned. Only for a writer no one else writes
    /// beside: the caller checks that.
    pub fn with_memory(inner: T, memory: GraphMemory) -> Self {
        let memory = if memory.len() > MEMORY_LIMIT {
            GraphMemory::default()
        } else {
            memory
        };
        Self {
            inner,
            locked: HashSet::new(),
            memory,
            seen_version: None,
            new_profiles: Vec::new(),
            new_identities: Vec::new(),
            touched_identities: Vec::new(),
            pending_identities: HashSet::new(),
            saved_profiles: Vec::new(),
            saved: HashSet::new(),
            changes: Vec::new(),
            consents: Vec::new(),
        }
    }

    /// Reads, in one go, the identifiers held by these live profiles.
    pub async fn prefetch_holdings(&mut self, roots: &[CustomerId]) -> StoreResult<()> {
        let wanted: Vec<CustomerId> = roots
            .iter()
            .filter(|r| !self.memory.holdings.contains_key(r))
            .copied()
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        if wanted.is_empty() {
            return Ok(());
        }
        for root in &wanted {
            self.memory
                .holdings
                .insert(*root, self.pending_held_by(*root));
        }
        for (root, kind, first_seen) in self.inner.holdings_many(&wanted).await? {
            self.memory
                .holdings
                .entry(root)
                .or_default()
                .push((kind, first_seen));
        }
        Ok(())
    }

    /// Reads, in one go, these profiles' rows.
    pub async fn prefetch_profiles(&mut self, ids: &[CustomerId]) -> StoreResult<()> {
        let wanted: Vec<CustomerId> = ids
            .iter()
            .filter(|id| !self.memory.profiles.contains_key(id))
            .copied()
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        if wanted.is_empty() {
            return Ok(());
        }
        for row in self.inner.profiles_many(&wanted).await? {
            self.memory
                .profiles
                .insert(parse_customer_id(&row.id)?, row);
        }
        Ok(())
    }

    /// Reads, in one go, who holds these identifiers, for those the memory does not know.
    pub async fn remember_owners(&mut self, identifiers: &[&Identifier]) -> StoreResult<()> {
        let unknown: Vec<&Identifier> = identifiers
            .iter()
            .filter(|i| !self.memory.owners.contains_key(**i))
            .copied()
            .collect();
        if unknown.is_empty() {
            return Ok(());
        }
        let mut found: HashMap<Identifier, (IdentityRow, Option<String>)> = HashMap::new();
        for (row, merged_into) in self.inner.identity_owners_many(&unknown).await? {
            if let Ok(kind) = row.kind.parse::<IdentifierType>() {
                let identifier = Identifier {
                    kind,
                    value: row.value.clone(),
                };
                found.insert(identifier, (row, merged_into));
            }
        }
        for identifier in unknown {
            let owner = Held::from_stored(found.remove(identifier))?;
            self.remember_owner(identifier.clone(), owner)?;
        }
        Ok(())
    }

    /// The live customer holding an identifier, if any: answered from memory once known,
    /// without copying the identifier's row.
    pub async fn holder_root(
        &mut self,
        identifier: &Identifier,
    ) -> StoreResult<Option<CustomerId>> {
        let known = self
            .memory
            .owners
            .get(identifier)
            .map(|owner| owner.as_ref().map(|held| held.fragment));
        let fragment = match known {
            Some(fragment) => fragment,
            None => self.load_owner(identifier).await?,
        };
        match fragment {
            Some(fragment) => self.root_of(fragment).await.map(Some),
            None => Ok(None),
        }
    }

    /// Reads who holds an identifier the memory does not know, remembers it, and returns
    /// the fragment holding it.
    async fn load_owner(&mut self, identifier: &Identifier) -> StoreResult<Option<CustomerId>> {
        let owner = Held::from_stored(self.inner.identity_owner(identifier).await?)?;
        let fragment = owner.as_ref().map(|held| held.fragment);
        self.remember_owner(identifier.clone(), owner)?;
        Ok(fragment)
    }

    /// The stored row of an identifier the memory knows to be held.
    pub fn held_row(&self, identifier: &Identifier) -> Option<&IdentityRow> {
        match self.memory.owners.get(identifier) {
            Some(Some(held)) => Some(&held.row),
            _ => None,
        }
    }

    /// Identifiers attached in this group and not written yet, held by `root`.
    fn pending_held_by(&self, root: CustomerId) -> Vec<(String, i64)> {
        self.new_identities
            .iter()
            .filter_map(|i| match self.memory.owners.get(i) {
                Some(Some(held)) if held.fragment == root => {
                    Some((held.row.kind.clone(), held.row.first_seen))
                }
                _ => None,
            })
            .collect()
    }

    fn remember_owner(&mut self, identifier: Identifier, owner: Owner) -> StoreResult<()> {
        if let Some(held) = &owner {
            let parent = held
                .merged_into
                .as_deref()
                .map(parse_customer_id)
                .transpose()?;
            self.memory.parents.insert(held.fragment, parent);
        }
        self.memory.owners.insert(identifier, owner);
        Ok(())
    }

    /// Writes everything pending.
    async fn flush(&mut self) -> StoreResult<()> {
        if !self.new_profiles.is_empty() {
            self.inner.insert_profiles(&self.new_profiles).await?;
            self.new_profiles.clear();
        }
        let rows_of = |ids: &[Identifier], owners: &HashMap<Identifier, Owner>| {
            ids.iter()
                .filter_map(|i| match owners.get(i) {
                    Some(Some(held)) => Some(held.row.clone()),
                    _ => None,
                })
                .collect::<Vec<_>>()
        };
        if !self.new_identities.is_empty() {
            let rows = rows_of(&self.new_identities, &self.memory.owners);
            self.inner.insert_identities(&rows).await?;
            self.new_identities.clear();
        }
        if !self.touched_identities.is_empty() {
            let rows = rows_of(&self.touched_identities, &self.memory.owners);
            self.inner.update_identities(&rows).await?;
            self.touched_identities.clear();
        }
        self.pending_identities.clear();
        if !self.saved_profiles.is_empty() {
            let rows: Vec<ProfileRow> = self
                .saved_profiles
                .iter()
                .filter_map(|id| self.memory.profiles.get(id).cloned())
                .collect();
            self.inner.save_profiles(&rows).await?;
            self.saved_profiles.clear();
            self.saved.clear();
        }
        for consent in std::mem::take(&mut self.consents) {
            self.inner
                .record_consent(
                    &consent.id,
                    &NewConsent {
                        profile_id: consent.profile_id,
                        channel: &consent.channel,
                        purpose: &consent.purpose,
                        granted: consent.granted,
                        at: consent.at,
                        via: &consent.via,
                        source_id: consent.source_id,
                        actor: consent.actor.as_deref(),
                    },
                )
                .await?;
        }
        if !self.changes.is_empty() {
            self.inner.record_changes(&self.changes).await?;
            self.changes.clear();
        }
        Ok(())
    }

    fn forget_graph(&mut self) {
        self.memory.clear();
    }

    /// Commits, and returns what the group knows of the graph, now as stored. Profile
    /// rows are left out: they carry traits, are large, and only identify messages
    /// read them. On PostgreSQL the memory carries the version it is true at, or none
    /// (so the next group starts afresh) when another writer changed the graph after
    /// this group last checked.
    pub async fn commit_remembering(mut self) -> StoreResult<GraphMemory> {
        self.flush().await?;
        let Self {
            inner,
            mut memory,
            seen_version,
            ..
        } = self;
        let commit = inner.commit().await?;
        memory.version = match (commit, seen_version) {
            (Some(commit), Some(seen)) if commit.previous == seen => Some(commit.current),
            _ => None,
        };
        memory.profiles = HashMap::new();
        Ok(memory)
    }

    /// Keeps what earlier groups, and this one so far, learned only if no other writer
    /// changed the graph since, by the graph version; call it holding the locks on the
    /// identifiers about to be used, so nobody changes them before this transaction
    /// ends. On SQLite the writer's transaction answers `None`: its single writer
    /// compared versions as it began, and the caller decided already.
    pub async fn check_memory(&mut self) -> StoreResult<()> {
        let Some(now) = self.inner.graph_version().await? else {
            return Ok(());
        };
        if self
            .seen_version
            .or(self.memory.version)
            .is_some_and(|kept| kept != now)
        {
            self.flush().await?;
            self.forget_graph();
        }
        self.seen_version = Some(now);
        Ok(())
    }

    fn mark_touched(&mut self, identifier: &Identifier) {
        if self.pending_identities.insert(identifier.clone()) {
            self.touched_identities.push(identifier.clone());
        }
    }
}

impl<T: IngestTx> IngestTx for GroupTx<T> {
    fn graph_unchanged_by_others(&self) -> bool {
        self.inner.graph_unchanged_by_others()
    }

    fn locks_identifiers(&self) -> bool {
        self.inner.locks_identifiers()
    }

    async fn lock_keys(&mut self, keys: &[i64]) -> StoreResult<()> {
        let new: Vec<i64> = keys
            .iter()
            .filter(|k| !self.locked.contains(k))
            .copied()
            .collect();
        if !new.is_empty() {
            self.inner.lock_keys(&new).await?;
            self.locked.extend(new);
            // Another node may have changed these identifiers since the memory was
            // checked; they were not locked then.
            self.check_memory().await?;
        }
        Ok(())
    }

    async fn known_message_ids(
        &mut self,
        source: SourceId,
        message_ids: &[&str],
    ) -> StoreResult<HashSet<String>> {
        self.inner.known_message_ids(source, message_ids).await
    }

    async fn identity_owners_many(
        &mut self,
        identifiers: &[&Identifier],
    ) -> StoreResult<Vec<(IdentityRow, Option<String>)>> {
        self.remember_owners(identifiers).await?;
        Ok(identifiers
            .iter()
            .filter_map(|i| match self.memory.owners.get(*i) {
                Some(Some(held)) => Some(held.stored()),
                _ => None,
            })
            .collect())
    }

    async fn identity_owner(
        &mut self,
        identifier: &Identifier,
    ) -> StoreResult<Option<(IdentityRow, Option<String>)>> {
        if !self.memory.owners.contains_key(identifier) {
            self.load_owner(identifier).await?;
        }
        Ok(self
            .memory
            .owners
            .get(identifier)
            .and_then(|owner| owner.as_ref().map(|held| held.stored())))
    }

    async fn root_of(&mut self, fragment: CustomerId) -> StoreResult<CustomerId> {
        let mut current = fragment;
        // Bounded like the stored walk: only a corrupt cycle could run long.
        for _ in 0..10_000 {
            match self.memory.parents.get(&current) {
                Some(None) => return Ok(current),
                Some(Some(parent)) => current = *parent,
                None => {
                    let root = self.inner.root_of(current).await?;
                    self.memory.parents.insert(root, None);
                    if current != root {
                        // A shortcut: only the root is ever asked of a fragment.
                        self.memory.parents.insert(current, Some(root));
                    }
                    return Ok(root);
                }
            }
        }
        self.inner.root_of(fragment).await
    }

    async fn holdings(&mut self, root: CustomerId) -> StoreResult<Vec<(String, i64)>> {
        if !self.memory.holdings.contains_key(&root) {
            self.prefetch_holdings(&[root]).await?;
        }
        Ok(self.memory.holdings.get(&root).cloned().unwrap_or_default())
    }

    async fn separations(
        &mut self,
        root: CustomerId,
    ) -> StoreResult<Vec<(CustomerId, CustomerId)>> {
        self.inner.separations(root).await
    }

    async fn insert_profile(
        &mut self,
        id: CustomerId,
        at: Timestamp,
        created_by: Option<&str>,
    ) -> StoreResult<()> {
        self.new_profiles.push(NewProfile {
            id,
            at,
            created_by: created_by.map(str::to_owned),
        });
        self.memory.parents.insert(id, None);
        self.memory.holdings.insert(id, Vec::new());
        self.memory.profiles.insert(
            id,
            ProfileRow {
                id: id.to_string(),
                merged_into: None,
                created_at: at.millis(),
                updated_at: at.millis(),
                traits: "{}".to_owned(),
                first_seen: None,
                last_seen: None,
                event_count: 0,
                channels: "[]".to_owned(),
            },
        );
        Ok(())
    }

    async fn merge_profiles(
        &mut self,
        merge_id: &str,
        survivor: CustomerId,
        absorbed: CustomerId,
        cause: &Identifier,
        message_id: Option<&str>,
        source: Option<SourceId>,
        at: Timestamp,
    ) -> StoreResult<()> {
        self.flush().await?;
        self.forget_graph();
        self.inner
            .merge_profiles(merge_id, survivor, absorbed, cause, message_id, source, at)
            .await
    }

    async fn attach_identity(
        &mut self,
        identifier: &Identifier,
        profile: CustomerId,
        at: Timestamp,
        sources: &str,
    ) -> StoreResult<()> {
        let row = IdentityRow {
            kind: identifier.kind.as_str().to_owned(),
            value: identifier.value.clone(),
            profile_id: profile.to_string(),
            first_seen: at.millis(),
            last_seen: at.millis(),
            sources: sources.to_owned(),
        };
        if let Some(held) = self.memory.holdings.get_mut(&profile) {
            held.push((row.kind.clone(), row.first_seen));
        }
        let parent = *self.memory.parents.entry(profile).or_insert(None);
        self.memory.owners.insert(
            identifier.clone(),
            Some(Box::new(Held {
                row,
                fragment: profile,
                merged_into: parent.map(|p| p.to_string()),
            })),
        );
        self.pending_identities.insert(identifier.clone());
        self.new_identities.push(identifier.clone());
        Ok(())
    }

    async fn touch_identity(
        &mut self,
        identifier: &Identifier,
        at: Timestamp,
        sources: &str,
    ) -> StoreResult<()> {
        match self.memory.owners.get_mut(identifier) {
            Some(Some(held)) => {
                let row = &mut held.row;
                row.last_seen = row.last_seen.max(at.millis());
                row.first_seen = row.first_seen.min(at.millis());
                sources.clone_into(&mut row.sources);
                self.mark_touched(identifier);
                Ok(())
            }
            _ => self.inner.touch_identity(identifier, at, sources).await,
        }
    }

    async fn record_conflict(&mut self, id: &str, conflict: &NewConflict<'_>) -> StoreResult<()> {
        // Conflicts reference nothing by key, so they need not wait; they are rare.
        self.inner.record_conflict(id, conflict).await
    }

    async fn profile(&mut self, id: CustomerId) -> StoreResult<Option<ProfileRow>> {
        if !self.memory.profiles.contains_key(&id) {
            self.prefetch_profiles(&[id]).await?;
        }
        Ok(self.memory.profiles.get(&id).cloned())
    }

    async fn save_profile(&mut self, row: &ProfileRow) -> StoreResult<()> {
        let id = parse_customer_id(&row.id)?;
        self.memory.profiles.insert(id, row.clone());
        if self.saved.insert(id) {
            self.saved_profiles.push(id);
        }
        Ok(())
    }

    async fn record_change(
        &mut self,
        kind: ChangeKind,
        profile: CustomerId,
        data: &str,
        at: Timestamp,
    ) -> StoreResult<()> {
        self.changes.push(NewChange {
            kind,
            profile,
            data: data.to_owned(),
            at,
        });
        Ok(())
    }

    async fn record_consent(&mut self, id: &str, consent: &NewConsent<'_>) -> StoreResult<()> {
        self.consents.push(PendingConsent {
            id: id.to_owned(),
            profile_id: consent.profile_id,
            channel: consent.channel.to_owned(),
            purpose: consent.purpose.to_owned(),
            granted: consent.granted,
            at: consent.at,
            via: consent.via.to_owned(),
            source_id: consent.source_id,
            actor: consent.actor.map(str::to_owned),
        });
        Ok(())
    }

    async fn any_suppression_exists(&mut self) -> StoreResult<bool> {
        self.inner.any_suppression_exists().await
    }

    async fn any_suppressed(&mut self, digests: &[String]) -> StoreResult<bool> {
        self.inner.any_suppressed(digests).await
    }

    async fn append_timeline_many(&mut self, items: &[NewTimelineItem<'_>]) -> StoreResult<u64> {
        self.inner.append_timeline_many(items).await
    }

    async fn insert_profiles(&mut self, rows: &[NewProfile]) -> StoreResult<()> {
        for row in rows {
            self.insert_profile(row.id, row.at, row.created_by.as_deref())
                .await?;
        }
        Ok(())
    }

    // Rows written around the memory: write what is pending first, and forget what the
    // memory says about identifiers afterwards.
    async fn insert_identities(&mut self, rows: &[IdentityRow]) -> StoreResult<()> {
        self.flush().await?;
        self.forget_graph();
        self.inner.insert_identities(rows).await
    }

    async fn update_identities(&mut self, rows: &[IdentityRow]) -> StoreResult<()> {
        self.flush().await?;
        self.forget_graph();
        self.inner.update_identities(rows).await
    }

    async fn save_profiles(&mut self, rows: &[ProfileRow]) -> StoreResult<()> {
        for row in rows {
            self.save_profile(row).await?;
        }
        Ok(())
    }

    async fn record_changes(&mut self, rows: &[NewChange]) -> StoreResult<()> {
        self.changes.extend_from_slice(rows);
        Ok(())
    }

    async fn holdings_many(
        &mut self,
        roots: &[CustomerId],
    ) -> StoreResult<Vec<(CustomerId, String, i64)>> {
        self.prefetch_holdings(roots).await?;
        let mut found = Vec::new();
        for root in roots {
            for (kind, first_seen) in self.memory.holdings.get(root).cloned().unwrap_or_default() {
                found.push((*root, kind, first_seen));
            }
        }
        Ok(found)
    }

    async fn profiles_many(&mut self, ids: &[CustomerId]) -> StoreResult<Vec<ProfileRow>> {
        self.prefetch_profiles(ids).await?;
        Ok(ids
            .iter()
            .filter_map(|id| self.memory.profiles.get(id).cloned())
            .collect())
    }

    async fn graph_version(&mut self) -> StoreResult<Option<i64>> {
        self.inner.graph_version().await
    }

    async fn commit(mut self) -> StoreResult<Option<crate::tx::VersionedCommit>> {
        self.flush().await?;
        self.inner.commit().await
    }
}
