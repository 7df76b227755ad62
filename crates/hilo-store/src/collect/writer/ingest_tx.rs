//! What ingestion and identity linking do inside a transaction, on either kind of
//! transaction: a pooled [`Tx`] (PostgreSQL, and staff actions on SQLite) or the
//! embedded writer's [`crate::collect::writer::embedded::EmbeddedTx`].

use std::collections::HashSet;
use std::future::Future;

use hilo_domain::customers::changes::ChangeKind;
use hilo_domain::customers::identity::Identifier;
use hilo_domain::{CustomerId, SourceId, Timestamp};

use crate::StoreResult;
use crate::customers::privacy::NewConsent;
use crate::customers::{
    IdentityRow, NewChange, NewConflict, NewProfile, NewTimelineItem, ProfileRow,
};
use crate::tx::{Tx, VersionedCommit};

/// The transaction operations of identity resolution and event ingestion.
pub trait IngestTx: Send {
    /// Whether what earlier transactions of this writer learned of the identity graph
    /// still holds: true only for a sole writer that saw no other connection commit.
    fn graph_unchanged_by_others(&self) -> bool {
        false
    }

    /// Whether [`IngestTx::lock_keys`] does anything: false for a sole writer, which
    /// then need not compute the keys.
    fn locks_identifiers(&self) -> bool {
        true
    }

    /// Serialises resolvers that touch the same identifiers (a no-op with one writer).
    fn lock_keys(&mut self, keys: &[i64]) -> impl Future<Output = StoreResult<()>> + Send;
    /// Which of these message ids the source sent before.
    fn known_message_ids(
        &mut self,
        source: SourceId,
        message_ids: &[&str],
    ) -> impl Future<Output = StoreResult<HashSet<String>>> + Send;
    /// The stored rows of these identifiers, with the holder's `merged_into`.
    fn identity_owners_many(
        &mut self,
        identifiers: &[&Identifier],
    ) -> impl Future<Output = StoreResult<Vec<(IdentityRow, Option<String>)>>> + Send;
    /// The stored row of one identifier, with the holder's `merged_into`.
    fn identity_owner(
        &mut self,
        identifier: &Identifier,
    ) -> impl Future<Output = StoreResult<Option<(IdentityRow, Option<String>)>>> + Send;
    /// The live profile a fragment belongs to.
    fn root_of(
        &mut self,
        fragment: CustomerId,
    ) -> impl Future<Output = StoreResult<CustomerId>> + Send;
    /// Identifier types held by a live profile, with when each was first seen.
    fn holdings(
        &mut self,
        root: CustomerId,
    ) -> impl Future<Output = StoreResult<Vec<(String, i64)>>> + Send;
    /// Separation pairs involving any fragment of a live profile.
    fn separations(
        &mut self,
        root: CustomerId,
    ) -> impl Future<Output = StoreResult<Vec<(CustomerId, CustomerId)>>> + Send;
    fn insert_profile(
        &mut self,
        id: CustomerId,
        at: Timestamp,
        created_by: Option<&str>,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    #[allow(clippy::too_many_arguments)]
    fn merge_profiles(
        &mut self,
        merge_id: &str,
        survivor: CustomerId,
        absorbed: CustomerId,
        cause: &Identifier,
        message_id: Option<&str>,
        source: Option<SourceId>,
        at: Timestamp,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn attach_identity(
        &mut self,
        identifier: &Identifier,
        profile: CustomerId,
        at: Timestamp,
        sources: &str,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn touch_identity(
        &mut self,
        identifier: &Identifier,
        at: Timestamp,
        sources: &str,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn record_conflict(
        &mut self,
        id: &str,
        conflict: &NewConflict<'_>,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn profile(
        &mut self,
        id: CustomerId,
    ) -> impl Future<Output = StoreResult<Option<ProfileRow>>> + Send;
    fn save_profile(&mut self, row: &ProfileRow) -> impl Future<Output = StoreResult<()>> + Send;
    fn record_change(
        &mut self,
        kind: ChangeKind,
        profile: CustomerId,
        data: &str,
        at: Timestamp,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn record_consent(
        &mut self,
        id: &str,
        consent: &NewConsent<'_>,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn any_suppression_exists(&mut self) -> impl Future<Output = StoreResult<bool>> + Send;
    fn any_suppressed(
        &mut self,
        digests: &[String],
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Appends timeline items whose message ids `known_message_ids` found new in this
    /// transaction, after locking their identifiers. A duplicate stored meanwhile may
    /// fail the transaction instead of being skipped.
    fn append_timeline_many(
        &mut self,
        items: &[NewTimelineItem<'_>],
    ) -> impl Future<Output = StoreResult<u64>> + Send;
    fn insert_profiles(
        &mut self,
        rows: &[NewProfile],
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn insert_identities(
        &mut self,
        rows: &[IdentityRow],
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Sets first and last use and the sources of stored identifiers.
    fn update_identities(
        &mut self,
        rows: &[IdentityRow],
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn save_profiles(
        &mut self,
        rows: &[ProfileRow],
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Adds to the change feed, in order.
    fn record_changes(
        &mut self,
        rows: &[NewChange],
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// `(root, kind, first_seen)` for every identifier each live profile holds.
    fn holdings_many(
        &mut self,
        roots: &[CustomerId],
    ) -> impl Future<Output = StoreResult<Vec<(CustomerId, String, i64)>>> + Send;
    fn profiles_many(
        &mut self,
        ids: &[CustomerId],
    ) -> impl Future<Output = StoreResult<Vec<ProfileRow>>> + Send;
    /// The graph version other writers' commits raise (PostgreSQL; `None` where one
    /// writer has the database to itself).
    fn graph_version(&mut self) -> impl Future<Output = StoreResult<Option<i64>>> + Send;
    /// Commits; says what it did to the graph version, where there is one.
    fn commit(self) -> impl Future<Output = StoreResult<Option<VersionedCommit>>> + Send;
}

impl IngestTx for Tx {
    async fn lock_keys(&mut self, keys: &[i64]) -> StoreResult<()> {
        Tx::lock_keys(self, keys).await
    }
    async fn known_message_ids(
        &mut self,
        source: SourceId,
        message_ids: &[&str],
    ) -> StoreResult<HashSet<String>> {
        Tx::known_message_ids(self, source, message_ids).await
    }
    async fn identity_owners_many(
        &mut self,
        identifiers: &[&Identifier],
    ) -> StoreResult<Vec<(IdentityRow, Option<String>)>> {
        Tx::identity_owners_many(self, identifiers).await
    }
    async fn identity_owner(
        &mut self,
        identifier: &Identifier,
    ) -> StoreResult<Option<(IdentityRow, Option<String>)>> {
        Tx::identity_owner(self, identifier).await
    }
    async fn root_of(&mut self, fragment: CustomerId) -> StoreResult<CustomerId> {
        Tx::root_of(self, fragment).await
    }
    async fn holdings(&mut self, root: CustomerId) -> StoreResult<Vec<(String, i64)>> {
        Tx::holdings(self, root).await
    }
    async fn separations(
        &mut self,
        root: CustomerId,
    ) -> StoreResult<Vec<(CustomerId, CustomerId)>> {
        Tx::separations(self, root).await
    }
    async fn insert_profile(
        &mut self,
        id: CustomerId,
        at: Timestamp,
        created_by: Option<&str>,
    ) -> StoreResult<()> {
        Tx::insert_profile(self, id, at, created_by).await
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
        Tx::merge_profiles(
            self, merge_id, survivor, absorbed, cause, message_id, source, at,
        )
        .await
    }
    async fn attach_identity(
        &mut self,
        identifier: &Identifier,
        profile: CustomerId,
        at: Timestamp,
        sources: &str,
    ) -> StoreResult<()> {
        Tx::attach_identity(self, identifier, profile, at, sources).await
    }
    async fn touch_identity(
        &mut self,
        identifier: &Identifier,
        at: Timestamp,
        sources: &str,
    ) -> StoreResult<()> {
        Tx::touch_identity(self, identifier, at, sources).await
    }
    async fn record_conflict(&mut self, id: &str, conflict: &NewConflict<'_>) -> StoreResult<()> {
        Tx::record_conflict(self, id, conflict).await
    }
    async fn profile(&mut self, id: CustomerId) -> StoreResult<Option<ProfileRow>> {
        Tx::profile(self, id).await
    }
    async fn save_profile(&mut self, row: &ProfileRow) -> StoreResult<()> {
        Tx::save_profile(self, row).await
    }
    async fn record_change(
        &mut self,
        kind: ChangeKind,
        profile: CustomerId,
        data: &str,
        at: Timestamp,
    ) -> StoreResult<()> {
        Tx::record_change(self, kind, profile, data, at).await
    }
    async fn record_consent(&mut self, id: &str, consent: &NewConsent<'_>) -> StoreResult<()> {
        Tx::record_consent(self, id, consent).await
    }
    async fn any_suppression_exists(&mut self) -> StoreResult<bool> {
        Tx::any_suppression_exists(self).await
    }
    async fn any_suppressed(&mut self, digests: &[String]) -> StoreResult<bool> {
        Tx::any_suppressed(self, digests).await
    }
    async fn append_timeline_many(&mut self, items: &[NewTimelineItem<'_>]) -> StoreResult<u64> {
        Tx::append_timeline_many(self, items).await
    }
    async fn insert_profiles(&mut self, rows: &[NewProfile]) -> StoreResult<()> {
        Tx::insert_profiles(self, rows).await
    }
    async fn insert_identities(&mut self, rows: &[IdentityRow]) -> StoreResult<()> {
        Tx::insert_identities(self, rows).await
    }
    async fn update_identities(&mut self, rows: &[IdentityRow]) -> StoreResult<()> {
        Tx::update_identities(self, rows).await
    }
    async fn save_profiles(&mut self, rows: &[ProfileRow]) -> StoreResult<()> {
        Tx::save_profiles(self, rows).await
    }
    async fn record_changes(&mut self, rows: &[NewChange]) -> StoreResult<()> {
        Tx::record_changes(self, rows).await
    }
    async fn holdings_many(
        &mut self,
        roots: &[CustomerId],
    ) -> StoreResult<Vec<(CustomerId, String, i64)>> {
        Tx::holdings_many(self, roots).await
    }
    async fn profiles_many(&mut self, ids: &[CustomerId]) -> StoreResult<Vec<ProfileRow>> {
        Tx::profiles_many(self, ids).await
    }
    async fn graph_version(&mut self) -> StoreResult<Option<i64>> {
        Tx::graph_version(self).await
    }
    async fn commit(self) -> StoreResult<Option<VersionedCommit>> {
        Tx::commit_versioned(self).await
    }
}
