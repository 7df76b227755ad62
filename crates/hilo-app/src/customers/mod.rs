//! Reading and editing customers: the one profile assembled from its fragments, lookup
//! by any identifier, search, the timeline, staff edits, unmerge.

pub mod identity_rules;
pub mod linking;
pub mod privacy;
mod search_index;

use std::collections::BTreeSet;

use hilo_domain::customers::changes::ChangeKind;
use hilo_domain::customers::identity::{Identifier, IdentifierType, IdentityRules};
use hilo_domain::customers::search::{SearchCursor, SearchQuery, SearchTier};
use hilo_domain::customers::timeline::ItemType;
use hilo_domain::{CustomerId, Invalid, Principal, Timestamp};
use hilo_store::customers::privacy::ConsentRow;
use hilo_store::customers::{CustomerRecord, NewTimelineItem, ProfileRow, TimelineRow};
use serde_json::{Map, Value, json};
use tracing::{info, instrument};

use crate::collect::ingest::apply_trait;
use crate::customers::linking::{LinkOrigin, Linked, link};
use crate::{AppError, AppResult, Hilo};

/// The customers part's use cases: `hilo.customers()…`.
#[derive(Clone, Copy)]
pub struct Customers<'a> {
    hilo: &'a Hilo,
}

impl Hilo {
    pub fn customers(&self) -> Customers<'_> {
        Customers { hilo: self }
    }
}

/// A customer as every channel sees them.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerView {
    pub id: CustomerId,
    pub identities: Vec<IdentityView>,
    /// Traits; for each, the newest value across every merged fragment.
    pub traits: Map<String, Value>,
    pub first_seen: Option<Timestamp>,
    pub last_seen: Option<Timestamp>,
    pub event_count: i64,
    pub channels: Vec<String>,
    /// Ids of profiles merged into this one; looking any of them up finds this one.
    pub merged_ids: Vec<CustomerId>,
    pub consent: crate::customers::privacy::ConsentMap,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityView {
    pub kind: String,
    pub value: String,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    pub sources: Vec<String>,
}

/// One timeline item.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineItem {
    pub id: String,
    pub item_type: String,
    pub kind: String,
    pub name: Option<String>,
    pub channel: String,
    pub source_id: Option<String>,
    pub at: Timestamp,
    pub received_at: Timestamp,
    pub body: Value,
}

/// A customer record entered by staff or imported from a file.
struct Registration<'a> {
    identifiers: &'a [Identifier],
    traits: &'a Map<String, Value>,
    channel: &'a str,
    actor: &'a str,
    /// Source and key that make it idempotent (imports).
    dedup: Option<(hilo_domain::SourceId, &'a str)>,
}

/// The result of an unmerge: both customers as they are now.
#[derive(Debug, Clone, PartialEq)]
pub struct Unmerged {
    pub merge_id: String,
    pub survivor: CustomerView,
    pub restored: CustomerView,
}

impl Customers<'_> {
    /// The customer an id belongs to, whether it is live or was merged away.
    pub async fn get(&self, id: CustomerId) -> AppResult<CustomerView> {
        let root = self.live_root(id).await?;
        self.customer_view(root).await
    }

    /// The customer holding an identifier (normalised first, so any spelling finds them).
    pub async fn lookup(&self, kind: &str, value: &str) -> AppResult<CustomerView> {
        let kind: IdentifierType = kind.parse().map_err(|e: Invalid| e.in_field("type"))?;
        let identifier = Identifier::normalize(kind, value, &self.hilo.settings.default_region)
            .map_err(|e| e.in_field("value"))?;
        let root = self
            .hilo
            .store
            .customer_by_identifier(&identifier)
            .await?
            .ok_or(AppError::NotFound)?;
        self.customer_view(root).await
    }

    /// Customers holding every word of `query` by prefix, accents and case aside
    /// (`customers::search`): those with the words written together first, each part
    /// in index order (see `search_page`); every customer in id order when it is
    /// blank; nobody when it holds no letter or digit. `after` is the cursor the
    /// previous page returned.
    /// The index follows the change feed, so a change shows in search a moment after
    /// it is acknowledged (when the workers next run).
    pub async fn search(
        &self,
        query: &str,
        after: Option<&str>,
        limit: u32,
    ) -> AppResult<(Vec<CustomerView>, Option<String>)> {
        let parsed = SearchQuery::parse(query);
        if parsed.is_none() && !query.trim().is_empty() {
            // Only punctuation: nothing to find (listing everyone would surprise).
            return Ok((Vec::new(), None));
        }
        let (ids, next, read) = match parsed {
            None => {
                let ids = self
                    .hilo
                    .store
                    .list_customers(after.unwrap_or(""), limit)
                    .await?;
                let more = ids.len() > limit as usize;
                let page: Vec<CustomerId> = ids.into_iter().take(limit as usize).collect();
                let next = more.then(|| page.last().map(ToString::to_string)).flatten();
                (page, next, None)
            }
            Some(query) => self.search_page(&query, after, limit).await?,
        };
        // Both give live profiles; the index, lagging a merge by a moment, may give
        // one twice.
        let mut seen = BTreeSet::new();
        let page: Vec<CustomerId> = ids.into_iter().filter(|id| seen.insert(*id)).collect();
        let views = match read {
            // Read with the matches (PostgreSQL), one per live profile in the order
            // they first appear, the page's one more match included: the page's
            // customers are the first of them.
            Some(records) => records
                .into_iter()
                .take(page.len())
                .map(view_of)
                .collect::<AppResult<_>>()?,
            None => self.customer_views(&page).await?,
        };
        Ok((views, next))
    }

    /// One page of a search's matches from the index (live profiles), and the cursor
    /// of the next. The matches come in two parts when the query has several words:
    /// first the profiles where they are written together as typed, then the others
    /// holding them. The first part is read from the index's short lists of word
    /// pairs and ends its page early rather than reading into the second, which
    /// intersects the long lists of each word: a name as typed costs a fraction of a
    /// millisecond of index, the rest a page asked for. The first part's last page
    /// always leads on to the second.
    async fn search_page(
        &self,
        query: &SearchQuery,
        after: Option<&str>,
        limit: u32,
    ) -> AppResult<SearchPage> {
        let store = &self.hilo.store;
        let mut cursor = match after {
            None => SearchCursor::start(query),
            Some(text) => SearchCursor::parse(text, query)
                .ok_or_else(|| Invalid::new("cursor", "is not a cursor of this search"))?,
        };
        let mut rows = store
            .search_customers(query, cursor.tier, cursor.after, limit)
            .await?;
        if rows.found.is_empty() && cursor.tier == SearchTier::Written {
            // Nobody has the words written together (any more): the others, at once.
            cursor = SearchCursor::start_of(SearchTier::Anywhere);
            rows = store
                .search_customers(query, cursor.tier, cursor.after, limit)
                .await?;
        }
        let more = rows.found.len() > limit as usize;
        let page: Vec<(i64, CustomerId)> = rows.found.into_iter().take(limit as usize).collect();
        let next = match page.last() {
            Some((doc, _)) if more => Some(SearchCursor {
                tier: cursor.tier,
                after: *doc,
            }),
            // The second part follows, without asking whether it holds anyone: on
            // PostgreSQL the answer intersects the long lists of every word, several
            // times the cost of the page it would end (a whole name: 6 ms of the
            // index, against under 1 for its page). Its first page may be empty.
            _ if cursor.tier == SearchTier::Written => {
                Some(SearchCursor::start_of(SearchTier::Anywhere))
            }
            _ => None,
        };
        Ok((
            page.into_iter().map(|(_, id)| id).collect(),
            next.map(|cursor| cursor.to_text(query)),
            rows.customers,
        ))
    }

    /// The customer's timeline, newest first, after `cursor`.
    pub async fn timeline(
        &self,
        id: CustomerId,
        cursor: Option<&str>,
        limit: u32,
    ) -> AppResult<(Vec<TimelineItem>, Option<String>)> {
        let root = self.live_root(id).await?;
        let before = match cursor {
            None => None,
            Some(text) => Some(parse_timeline_cursor(text)?),
        };
        let mut rows = self.hilo.store.timeline(root, before, limit).await?;
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next = if more {
            rows.last().map(|r| format!("{}.{}", r.at, r.seq))
        } else {
            None
        };
        Ok((rows.into_iter().map(timeline_item).collect(), next))
    }

    /// Staff edits to traits (a `null` removes a trait), recorded with who made them.
    #[instrument(skip_all, fields(customer = %id))]
    pub async fn patch(
        &self,
        id: CustomerId,
        traits: &Map<String, Value>,
        by: &Principal,
    ) -> AppResult<CustomerView> {
        check_traits(traits)?;
        let root = self.live_root(id).await?;
        let now = self.hilo.now();
        let mut tx = self.hilo.store.begin().await?;
        let root = tx.root_of(root).await?;
        let Some(mut row) = tx.profile(root).await? else {
            return Err(AppError::NotFound);
        };
        let mut stored = row.trait_entries();
        // A staff edit is the newest word on a trait: stamp it after anything stored.
        // Read through this transaction: a second connection while it holds one starves
        // the pool under concurrent edits.
        let fragments = tx.fragments(root).await?;
        let fragments = tx.profiles_many(&fragments).await?;
        let newest = newest_trait_time(&fragments).max(now.millis());
        for (key, value) in traits {
            apply_trait(&mut stored, key, value, newest, &by.actor());
        }
        row.set_trait_entries(stored);
        row.updated_at = now.millis();
        tx.save_profile(&row).await?;
        let keys: Vec<&String> = traits.keys().collect();
        let data = json!({"traits": keys, "by": by.actor()});
        tx.record_change(ChangeKind::ProfileTraits, root, &data.to_string(), now)
            .await?;
        tx.commit().await?;
        self.hilo.feed_signal.notify_waiters();
        info!("customer edited by staff");
        self.customer_view(root).await
    }

    /// Undoes a merge of this customer: `merge_id`, or the most recent one. Both
    /// profiles come back with their own identities, traits and timeline, and do not
    /// merge again on their own.
    #[instrument(skip_all, fields(customer = %id))]
    pub async fn unmerge(
        &self,
        id: CustomerId,
        merge_id: Option<&str>,
        by: &Principal,
    ) -> AppResult<Unmerged> {
        let root = self.live_root(id).await?;
        let now = self.hilo.now();
        let mut tx = self.hilo.store.begin().await?;
        let merge = match merge_id {
            Some(merge_id) => tx.merge(merge_id).await?,
            None => tx.latest_merge_into(root).await?,
        };
        let Some(merge) = merge.filter(|m| m.undone_at.is_none()) else {
            return Err(
                Invalid::new("merge_id", "no merge in force to undo for this customer").into(),
            );
        };
        let survivor = merge.survivor()?;
        if tx.root_of(survivor).await? != root {
            return Err(Invalid::new("merge_id", "is not a merge of this customer").into());
        }
        tx.undo_merge(&merge, now, &by.actor()).await?;
        let absorbed = merge.absorbed()?;
        let data =
            json!({"merge_id": merge.id, "restored": absorbed.to_string(), "by": by.actor()});
        tx.record_change(ChangeKind::ProfileUnmerged, root, &data.to_string(), now)
            .await?;
        tx.commit().await?;
        self.hilo.feed_signal.notify_waiters();
        info!(merge_id = %merge.id, "merge undone");
        Ok(Unmerged {
            merge_id: merge.id,
            survivor: self.customer_view(root).await?,
            restored: self.customer_view(absorbed).await?,
        })
    }

    /// The live profile an id belongs to; 404 when no profile has this id.
    pub(crate) async fn live_root(&self, id: CustomerId) -> AppResult<CustomerId> {
        self.hilo
            .store
            .customer_root(id)
            .await?
            .ok_or(AppError::NotFound)
    }

    /// Registers a customer from staff input (a store or call-center agent), resolving
    /// the identifiers against existing customers exactly as events are. Returns the
    /// customer and whether it is new.
    #[instrument(skip_all)]
    pub async fn register(
        &self,
        identifiers: &[(String, String)],
        traits: &Map<String, Value>,
        channel: &str,
        by: &Principal,
    ) -> AppResult<(CustomerView, bool)> {
        if identifiers.is_empty() {
            return Err(Invalid::new("identifiers", "name at least one identifier").into());
        }
        if identifiers.len() > 50 {
            return Err(Invalid::new("identifiers", "at most 50 identifiers").into());
        }
        let mut parsed = Vec::with_capacity(identifiers.len());
        for (index, (kind, value)) in identifiers.iter().enumerate() {
            let kind: IdentifierType = kind
                .parse()
                .map_err(|e: Invalid| e.in_field(format!("identifiers[{index}].type")))?;
            let identifier = Identifier::normalize(kind, value, &self.hilo.settings.default_region)
                .map_err(|e| e.in_field(format!("identifiers[{index}].value")))?;
            parsed.push(identifier);
        }
        check_traits(traits)?;
        if channel != "console" && channel.parse::<hilo_domain::SourceChannel>().is_err() {
            return Err(Invalid::new(
                "channel",
                "must be console, web, app, pos, kiosk, call_center, voice_assistant or server",
            )
            .into());
        }
        let actor = by.actor();
        let registration = Registration {
            identifiers: &parsed,
            traits,
            channel,
            actor: &actor,
            dedup: None,
        };
        // Read before the transaction: no second connection while it holds one.
        let rules = self.identity_rules().await?;
        let mut tx = self.hilo.store.begin().await?;
        let linked = self.register_in(&mut tx, &rules, &registration).await?;
        tx.commit().await?;
        self.hilo.feed_signal.notify_waiters();
        let linked =
            linked.ok_or_else(|| AppError::Internal("registration deduplicated".into()))?;
        info!(customer = %linked.customer, created = linked.created, "customer registered by staff");
        let root = self.live_root(linked.customer).await?;
        Ok((self.customer_view(root).await?, linked.created))
    }

    /// Imports one customer record (a row of a file) attributed to `source`: like a staff
    /// registration, but `row_key` makes it idempotent — a row seen before changes nothing.
    pub async fn import(
        &self,
        identifiers: &[Identifier],
        traits: &Map<String, Value>,
        source: &hilo_store::access::sources::SourceRecord,
        row_key: &str,
    ) -> AppResult<Option<Linked>> {
        check_traits(traits)?;
        let actor = format!("import:{}", source.id);
        let registration = Registration {
            identifiers,
            traits,
            channel: source.channel.as_str(),
            actor: &actor,
            dedup: Some((source.id, row_key)),
        };
        // Read before the transaction: no second connection while it holds one.
        let rules = self.identity_rules().await?;
        let mut tx = self.hilo.store.begin().await?;
        let linked = self.register_in(&mut tx, &rules, &registration).await?;
        tx.commit().await?;
        self.hilo.feed_signal.notify_waiters();
        Ok(linked)
    }

    /// Links a registration's identifiers, applies its traits with the actor's stamp and
    /// adds a staff item to the timeline. `None` when its dedup key was seen before.
    async fn register_in(
        &self,
        tx: &mut hilo_store::Tx,
        rules: &IdentityRules,
        registration: &Registration<'_>,
    ) -> AppResult<Option<Linked>> {
        if let Some((source, key)) = registration.dedup
            && tx.timeline_has(source, key).await?
        {
            return Ok(None);
        }
        // A customer is found again by its identifiers: with only placeholders (`null`,
        // test@test.com, 000000), nothing could ever find this profile again.
        if registration
            .identifiers
            .iter()
            .all(|identifier| rules.is_blocked(&identifier.value))
        {
            return Err(Invalid::new(
                "identifiers",
                "every identifier is a placeholder the identity rules block (such as null, \
                 test@test.com or 000000): name at least one that identifies the customer",
            )
            .into());
        }
        let now = self.hilo.now();
        let actor = registration.actor;
        let linked = link(
            tx,
            rules,
            registration.identifiers,
            &[],
            now,
            now,
            &LinkOrigin {
                message_id: registration.dedup.map(|(_, key)| key),
                source_id: registration.dedup.map(|(source, _)| source),
                created_by: Some(actor),
            },
        )
        .await?;
        let target = linked.customer;
        let Some(mut row) = tx.profile(target).await? else {
            return Err(AppError::NotFound);
        };
        let mut stored = row.trait_entries();
        for (key, value) in registration.traits {
            apply_trait(&mut stored, key, value, now.millis(), actor);
        }
        row.set_trait_entries(stored);
        row.updated_at = now.millis();
        tx.save_profile(&row).await?;
        let body = json!({
            "by": actor,
            "identifiers": registration.identifiers.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "traits": registration.traits,
        })
        .to_string();
        tx.append_timeline(&NewTimelineItem {
            profile_id: target,
            item_type: ItemType::Staff,
            kind: if linked.created {
                "registered"
            } else {
                "updated"
            },
            name: None,
            channel: registration.channel,
            source_id: registration.dedup.map(|(source, _)| source),
            message_id: registration.dedup.map(|(_, key)| key),
            at: now,
            received_at: now,
            body: &body,
        })
        .await?;
        Ok(Some(linked))
    }

    /// The merges that made this customer, in force or undone, oldest first, and the
    /// conflicts identity resolution recorded about it: its identity history.
    pub async fn identity_history(
        &self,
        id: CustomerId,
    ) -> AppResult<(
        Vec<hilo_store::customers::MergeRow>,
        Vec<hilo_store::customers::ConflictRow>,
    )> {
        let root = self.live_root(id).await?;
        let merges = self.hilo.store.merges_of(root).await?;
        let conflicts = self.hilo.store.conflicts_of(root).await?;
        Ok((merges, conflicts))
    }

    /// The customers these ids belong to now (merged-away ids find the live one), read
    /// together: for lists that name many. Ids that belong to no one (erased) are left
    /// out; each customer comes once.
    pub async fn many(&self, ids: &[CustomerId]) -> AppResult<Vec<CustomerView>> {
        let mut roots = Vec::with_capacity(ids.len());
        for (_, root) in self.hilo.store.customer_roots(ids).await? {
            if !roots.contains(&root) {
                roots.push(root);
            }
        }
        self.customer_views(&roots).await
    }

    async fn customer_view(&self, root: CustomerId) -> AppResult<CustomerView> {
        self.customer_views(&[root])
            .await?
            .pop()
            .ok_or(AppError::NotFound)
    }

    /// The views of these live profiles, in their order, read together.
    async fn customer_views(&self, roots: &[CustomerId]) -> AppResult<Vec<CustomerView>> {
        self.hilo
            .store
            .customers(roots)
            .await?
            .into_iter()
            .map(view_of)
            .collect()
    }
}

/// A page of search matches: the live profiles, the next cursor, and the customers
/// when the store read them with the matches.
type SearchPage = (
    Vec<CustomerId>,
    Option<String>,
    Option<Vec<(CustomerRecord, Vec<ConsentRow>)>>,
);

/// The view of a customer read with its consent decisions.
fn view_of((record, consents): (CustomerRecord, Vec<ConsentRow>)) -> AppResult<CustomerView> {
    let mut view = assemble(record)?;
    view.consent = privacy::consent_state(consents);
    Ok(view)
}

/// Assembles the one view of a customer from its fragments.
fn assemble(record: CustomerRecord) -> Result<CustomerView, AppError> {
    let traits = shown_traits(record.fragments.iter().map(ProfileRow::trait_entries));
    let mut created_at = i64::MAX;
    let mut updated_at = i64::MIN;
    let mut merged_ids = Vec::new();
    for fragment in &record.fragments {
        created_at = created_at.min(fragment.created_at);
        updated_at = updated_at.max(fragment.updated_at);
        if fragment.id != record.id.to_string() {
            merged_ids.push(fragment.customer()?);
        }
    }
    let identities = record
        .identities
        .iter()
        .map(|row| IdentityView {
            kind: row.kind.clone(),
            value: row.value.clone(),
            first_seen: Timestamp::from_millis(row.first_seen),
            last_seen: Timestamp::from_millis(row.last_seen),
            sources: row.source_list(),
        })
        .collect();
    Ok(CustomerView {
        id: record.id,
        identities,
        traits,
        first_seen: record.activity.first_seen.map(Timestamp::from_millis),
        last_seen: record.activity.last_seen.map(Timestamp::from_millis),
        event_count: record.activity.event_count,
        channels: record.activity.channels.clone(),
        merged_ids,
        consent: Default::default(),
        created_at: Timestamp::from_millis(if created_at == i64::MAX {
            0
        } else {
            created_at
        }),
        updated_at: Timestamp::from_millis(if updated_at == i64::MIN {
            0
        } else {
            updated_at
        }),
    })
}

/// The traits a customer shows from its fragments' stored entries (name →
/// `{"v", "t", "by"}`): per name the newest value, a null one being a removal.
pub(crate) fn shown_traits(
    fragments: impl IntoIterator<Item = Map<String, Value>>,
) -> Map<String, Value> {
    let mut traits: Map<String, Value> = Map::new();
    let mut stamps: std::collections::HashMap<String, i64> = Default::default();
    for stored in fragments {
        for (key, entry) in stored {
            let at = entry.get("t").and_then(Value::as_i64).unwrap_or(0);
            if stamps.get(&key).is_none_or(|seen| at >= *seen) {
                stamps.insert(key.clone(), at);
                traits.insert(key, entry.get("v").cloned().unwrap_or(Value::Null));
            }
        }
    }
    traits.retain(|_, v| !v.is_null());
    traits
}

fn newest_trait_time(fragments: &[ProfileRow]) -> i64 {
    fragments
        .iter()
        .flat_map(|f| f.trait_entries().into_values())
        .filter_map(|entry| entry.get("t").and_then(Value::as_i64))
        .max()
        .unwrap_or(0)
}

/// Trait names and sizes staff may set.
pub fn check_traits(traits: &Map<String, Value>) -> Result<(), Invalid> {
    if traits.len() > 200 {
        return Err(Invalid::new("traits", "at most 200 traits at once"));
    }
    for (key, value) in traits {
        if key.is_empty() || key.chars().count() > 100 {
            return Err(Invalid::new(
                format!("traits.{key}"),
                "names have 1 to 100 characters",
            ));
        }
        if value.to_string().len() > 8 * 1024 {
            return Err(Invalid::new(
                format!("traits.{key}"),
                "must be at most 8 KB",
            ));
        }
    }
    Ok(())
}

fn timeline_item(row: TimelineRow) -> TimelineItem {
    let body = row.body_value();
    TimelineItem {
        id: row.seq.to_string(),
        item_type: row.item_type,
        kind: row.kind,
        name: row.name,
        channel: row.channel,
        source_id: row.source_id,
        at: Timestamp::from_millis(row.at),
        received_at: Timestamp::from_millis(row.received_at),
        body,
    }
}

fn parse_timeline_cursor(text: &str) -> Result<(i64, i64), Invalid> {
    let invalid = || Invalid::new("cursor", "is not a cursor this API returned");
    let (at, seq) = text.split_once('.').ok_or_else(invalid)?;
    Ok((
        at.parse().map_err(|_| invalid())?,
        seq.parse().map_err(|_| invalid())?,
    ))
}
