//! Linking identifiers to one customer: the part of identity resolution that touches
//! storage. [`hilo_domain::customers::identity::plan`] decides; this applies the plan.

use std::collections::{BTreeMap, BTreeSet};

use hilo_domain::collect::segment::RejectedIdentifier;
use hilo_domain::customers::changes::ChangeKind;
use hilo_domain::customers::identity::{
    self, Claim, Holdings, Identifier, IdentifierType, IdentityRules,
};
use hilo_domain::{CustomerId, SourceId, Timestamp};
use hilo_store::collect::IngestTx;
use hilo_store::customers::{IdentityRow, NewConflict};
use serde_json::json;

use crate::AppResult;

/// Where the identifiers came from, for the merge and conflict records.
#[derive(Debug, Clone, Copy, Default)]
pub struct LinkOrigin<'a> {
    pub message_id: Option<&'a str>,
    pub source_id: Option<SourceId>,
    /// Who created a profile by hand (staff), if that is how it came to be.
    pub created_by: Option<&'a str>,
}

/// Links `identifiers` (seen at `at`) to one live customer under `rules`: the customer
/// that holds the most trusted of them, with the others merged in, or a new one. Records
/// every merge, every identifier the rules refused, and every unparseable one.
#[allow(clippy::too_many_arguments)]
pub async fn link<T: IngestTx>(
    tx: &mut T,
    rules: &IdentityRules,
    identifiers: &[Identifier],
    rejected: &[RejectedIdentifier],
    at: Timestamp,
    now: Timestamp,
    origin: &LinkOrigin<'_>,
) -> AppResult<Linked> {
    lock_identifiers(tx, identifiers).await?;

    let resolution = resolve(tx, rules, identifiers, at).await?;
    let plan = resolution.plan;
    let created = plan.target.is_none();
    let target = match plan.target {
        Some(target) => target,
        None => {
            let id = CustomerId::generate();
            tx.insert_profile(id, now, origin.created_by).await?;
            tx.record_change(ChangeKind::ProfileCreated, id, "{}", now)
                .await?;
            id
        }
    };
    for (absorbed, cause) in &plan.merges {
        tx.merge_profiles(
            &uuid::Uuid::now_v7().to_string(),
            target,
            *absorbed,
            cause,
            origin.message_id,
            origin.source_id,
            now,
        )
        .await?;
        let data = json!({"absorbed": absorbed.to_string(), "identifier": cause.to_string()});
        tx.record_change(ChangeKind::ProfileMerged, target, &data.to_string(), now)
            .await?;
    }
    let source_json = match origin.source_id {
        Some(source) => format!("[\"{source}\"]"),
        None => "[]".to_owned(),
    };
    for identifier in &plan.attach {
        tx.attach_identity(identifier, target, at, &source_json)
            .await?;
    }
    if !created && !plan.attach.is_empty() {
        // For the search index: the profile is now found by these too. Types only.
        let kinds: BTreeSet<&str> = plan.attach.iter().map(|i| i.kind.as_str()).collect();
        let data = json!({ "identifiers": kinds });
        tx.record_change(
            ChangeKind::ProfileIdentified,
            target,
            &data.to_string(),
            now,
        )
        .await?;
    }
    let dropped: BTreeSet<&Identifier> = plan.dropped.iter().map(|d| &d.identifier).collect();
    for (identifier, row) in &resolution.existing {
        if dropped.contains(identifier) {
            continue;
        }
        let new_sources = origin
            .source_id
            .and_then(|source| row.sources_with(&source.to_string()));
        // Last use is kept to the minute: most messages change nothing here, and then
        // write nothing.
        let stale = at.millis() > row.last_seen + 60_000 || at.millis() < row.first_seen;
        if new_sources.is_some() || stale {
            let sources = new_sources.unwrap_or_else(|| row.sources.clone());
            tx.touch_identity(identifier, at, &sources).await?;
        }
    }
    for dropped in &plan.dropped {
        let detail = dropped.reason.describe();
        tx.record_conflict(
            &uuid::Uuid::now_v7().to_string(),
            &NewConflict {
                reason: dropped.reason.code(),
                detail: &detail,
                identifier: &dropped.identifier,
                profile_id: Some(target),
                other_profile_id: dropped.owner,
                message_id: origin.message_id,
                source_id: origin.source_id,
                at: now,
            },
        )
        .await?;
    }
    for bad in rejected {
        let identifier = Identifier {
            kind: bad
                .kind
                .parse()
                .unwrap_or_else(|_| IdentifierType::user_id()),
            value: bad.raw.chars().take(255).collect(),
        };
        let detail = format!("not linked: {}", bad.reason);
        tx.record_conflict(
            &uuid::Uuid::now_v7().to_string(),
            &NewConflict {
                reason: "unparseable",
                detail: &detail,
                identifier: &identifier,
                profile_id: Some(target),
                other_profile_id: None,
                message_id: origin.message_id,
                source_id: origin.source_id,
                at: now,
            },
        )
        .await?;
    }

    Ok(Linked {
        customer: target,
        created,
        merged: !plan.merges.is_empty(),
    })
}

/// The customer identifiers were linked to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Linked {
    pub customer: CustomerId,
    /// Whether linking created the customer.
    pub created: bool,
    /// Whether linking merged customers.
    pub merged: bool,
}

/// The claims a message makes and what their owners hold.
struct Resolution {
    plan: identity::Plan,
    /// Identifiers already held by some profile, with their stored rows.
    existing: Vec<(Identifier, IdentityRow)>,
}

async fn resolve<T: IngestTx>(
    tx: &mut T,
    rules: &IdentityRules,
    identifiers: &[Identifier],
    at: Timestamp,
) -> AppResult<Resolution> {
    let mut claims = Vec::with_capacity(identifiers.len());
    let mut existing = Vec::new();
    for identifier in identifiers {
        let owner = match tx.identity_owner(identifier).await? {
            Some((row, parent)) => {
                let fragment = row.holder()?;
                existing.push((identifier.clone(), row));
                Some(match parent {
                    None => fragment,
                    Some(_) => tx.root_of(fragment).await?,
                })
            }
            None => None,
        };
        claims.push(Claim {
            identifier: identifier.clone(),
            owner,
        });
    }
    let owners: BTreeSet<CustomerId> = claims.iter().filter_map(|c| c.owner).collect();
    // The common case: every identifier is already held by the same customer. Nothing
    // can merge, attach or break a limit, so there is nothing to plan.
    if owners.len() == 1 && claims.iter().all(|c| c.owner.is_some()) {
        let target = owners.into_iter().next();
        return Ok(Resolution {
            plan: identity::Plan {
                target,
                ..Default::default()
            },
            existing,
        });
    }
    let mut holdings = BTreeMap::new();
    let mut separated = BTreeSet::new();
    for owner in &owners {
        let mut held = Holdings::new();
        for (kind, first_seen) in tx.holdings(*owner).await? {
            if let Ok(kind) = kind.parse::<IdentifierType>() {
                held.entry(kind)
                    .or_default()
                    .push(Timestamp::from_millis(first_seen));
            }
        }
        holdings.insert(*owner, held);
        if owners.len() > 1 {
            for (a, b) in tx.separations(*owner).await? {
                let a = tx.root_of(a).await?;
                let b = tx.root_of(b).await?;
                if a != b && owners.contains(&a) && owners.contains(&b) {
                    separated.insert((a, b));
                }
            }
        }
    }
    let plan = identity::plan(rules, &claims, &holdings, &separated, at);
    Ok(Resolution { plan, existing })
}

/// Takes, in a fixed order, a lock per identifier, so nodes resolving overlapping
/// identifiers at the same time take turns instead of splitting a customer.
async fn lock_identifiers<T: IngestTx>(tx: &mut T, identifiers: &[Identifier]) -> AppResult<()> {
    let keys: Vec<i64> = identifiers.iter().map(Identifier::lock_key).collect();
    tx.lock_keys(&keys).await?;
    Ok(())
}
