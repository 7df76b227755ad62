//! Consent, export and erasure: what a customer agreed to, everything Hilo holds about
//! them, and forgetting them on request.

use std::collections::BTreeMap;

use hilo_domain::customers::changes::ChangeKind;
use hilo_domain::customers::consent::{ConsentChange, ConsentChannel, Purpose};
use hilo_domain::customers::identity::Identifier;
use hilo_domain::customers::redaction::Redaction;
use hilo_domain::secret::digest_hex;
use hilo_domain::{CustomerId, Invalid, Principal, SecretKind, Timestamp};
use hilo_store::customers::privacy::{ConsentRow, Erased, NewConsent};
use serde_json::{Value, json};
use tracing::{info, instrument};

use crate::customers::CustomerView;
use crate::customers::Customers;
use crate::{AppError, AppResult};

const SUPPRESSION_KEY: &str = "suppression_key";

/// The current decision for one channel and purpose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentState {
    pub granted: bool,
    pub at: Timestamp,
    /// Where it was given or withdrawn: web, pos, call_center, api…
    pub via: String,
}

/// Current consent by (channel, purpose).
pub type ConsentMap = BTreeMap<(String, String), ConsentState>;

impl Customers<'_> {
    /// Records consent decisions made through staff or the API.
    #[instrument(skip_all, fields(customer = %id))]
    pub async fn set_consent(
        &self,
        id: CustomerId,
        changes: &[(String, String, bool)],
        via: &str,
        by: &Principal,
    ) -> AppResult<CustomerView> {
        if changes.is_empty() {
            return Err(Invalid::new("changes", "name at least one decision").into());
        }
        let mut parsed = Vec::new();
        for (index, (channel, purpose, granted)) in changes.iter().enumerate() {
            parsed.push(ConsentChange {
                channel: channel
                    .parse::<ConsentChannel>()
                    .map_err(|e| e.in_field(format!("changes[{index}].channel")))?,
                purpose: purpose
                    .parse::<Purpose>()
                    .map_err(|e| e.in_field(format!("changes[{index}].purpose")))?,
                granted: *granted,
            });
        }
        if via.is_empty() || via.chars().count() > 40 {
            return Err(Invalid::new("via", "must have 1 to 40 characters").into());
        }
        let root = self.live_root(id).await?;
        let now = self.hilo.now();
        let actor = by.actor();
        let mut tx = self.hilo.store.begin().await?;
        let root = tx.root_of(root).await?;
        for change in &parsed {
            tx.record_consent(
                &uuid::Uuid::now_v7().to_string(),
                &NewConsent {
                    profile_id: root,
                    channel: change.channel.as_str(),
                    purpose: change.purpose.as_str(),
                    granted: change.granted,
                    at: now,
                    via,
                    source_id: None,
                    actor: Some(&actor),
                },
            )
            .await?;
        }
        let data = json!({"consent": parsed.len(), "by": actor});
        tx.record_change(ChangeKind::ProfileConsent, root, &data.to_string(), now)
            .await?;
        tx.commit().await?;
        self.hilo.feed_signal.notify_waiters();
        self.get(root).await
    }

    /// The current consent of a live profile: the newest decision per channel and purpose.
    pub async fn consent_of(&self, root: CustomerId) -> AppResult<ConsentMap> {
        Ok(consent_state(self.hilo.store.consents_of(root).await?))
    }

    /// Every consent decision of a customer (any of its ids), oldest first.
    pub async fn consent_history(&self, id: CustomerId) -> AppResult<Vec<ConsentRow>> {
        let root = self.live_root(id).await?;
        Ok(self.hilo.store.consents_of(root).await?)
    }

    /// Everything Hilo holds about a customer, as one JSON document.
    pub async fn export(&self, id: CustomerId) -> AppResult<Value> {
        let view = self.get(id).await?;
        let root = view.id;
        let record = self.hilo.store.customer(root).await?;
        let mut timeline = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let (items, next) = self.timeline(root, cursor.as_deref(), 200).await?;
            timeline.extend(items.into_iter().map(|item| {
                json!({"id": item.id, "type": item.item_type, "kind": item.kind, "name": item.name,
                       "channel": item.channel, "source_id": item.source_id,
                       "at": item.at.to_rfc3339(), "received_at": item.received_at.to_rfc3339(),
                       "body": item.body})
            }));
            match next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        let consent: Vec<Value> = self
            .hilo
            .store
            .consents_of(root)
            .await?
            .into_iter()
            .map(|c| {
                json!({"channel": c.channel, "purpose": c.purpose, "granted": c.granted != 0,
                       "at": Timestamp::from_millis(c.at).to_rfc3339(), "via": c.via,
                       "source_id": c.source_id, "actor": c.actor})
            })
            .collect();
        let merges: Vec<Value> = self
            .hilo
            .store
            .merges_of(root)
            .await?
            .into_iter()
            .map(|m| {
                json!({"id": m.id, "survivor_id": m.survivor_id, "absorbed_id": m.absorbed_id,
                       "identifier": {"type": m.identifier_kind, "value": m.identifier_value},
                       "message_id": m.message_id, "at": Timestamp::from_millis(m.at).to_rfc3339(),
                       "undone_at": m.undone_at.map(|t| Timestamp::from_millis(t).to_rfc3339())})
            })
            .collect();
        let conflicts: Vec<Value> = self
            .hilo
            .store
            .conflicts_of(root)
            .await?
            .into_iter()
            .map(|c| {
                json!({"reason": c.reason, "detail": c.detail,
                       "identifier": {"type": c.identifier_kind, "value": c.identifier_value},
                       "at": Timestamp::from_millis(c.at).to_rfc3339()})
            })
            .collect();
        let fragments: Vec<Value> = record
            .fragments
            .iter()
            .map(|f| {
                json!({"id": f.id, "merged_into": f.merged_into,
                       "created_at": Timestamp::from_millis(f.created_at).to_rfc3339(),
                       "traits": f.trait_entries()})
            })
            .collect();
        let conversations = self.hilo.conversations().export_of(root).await?;
        let commerce = self.hilo.commerce().export_of(root).await?;
        Ok(json!({
            "exported_at": self.hilo.now().to_rfc3339(),
            "conversations": conversations,
            "commerce": commerce,
            "customer_id": root.to_string(),
            "identities": view.identities.iter().map(|i| json!({
                "type": i.kind, "value": i.value, "first_seen": i.first_seen.to_rfc3339(),
                "last_seen": i.last_seen.to_rfc3339(), "sources": i.sources})).collect::<Vec<_>>(),
            "traits": view.traits,
            "profiles": fragments,
            "consent_history": consent,
            "timeline": timeline,
            "merges": merges,
            "identity_conflicts": conflicts,
        }))
    }

    /// Erases a customer everywhere. With `suppress`, their identifiers are remembered
    /// only as keyed digests, so later events carrying them are dropped rather than
    /// recreating the person. An audit record without personal data remains.
    #[instrument(skip_all, fields(customer = %id))]
    pub async fn erase(&self, id: CustomerId, suppress: bool, by: &Principal) -> AppResult<Erased> {
        let key = self.suppression_key().await?;
        let root = self.live_root(id).await?;
        let now = self.hilo.now();
        let mut tx = self.hilo.store.begin().await?;
        let root = tx.root_of(root).await?;
        let fragments = tx.fragments(root).await?;
        let identities = tx.identities_of(root).await?;
        let identifiers = identities
            .iter()
            .map(hilo_store::customers::identifier_of)
            .collect::<Result<Vec<_>, _>>()?;
        if suppress {
            for identifier in &identifiers {
                tx.suppress(&suppression_digest(&key, identifier), now)
                    .await?;
            }
        }
        let redaction = Redaction::new(&identifiers, &self.hilo.settings.default_region);
        let mut erased = tx.erase(&fragments, &identities, &redaction).await?;
        // The person's conversations go in the same transaction.
        let conversations = tx.erase_conversations(&fragments, &redaction).await?;
        erased.redacted_items += conversations.redacted_messages;
        // Their cart goes; their orders stay as sales records without their personal data.
        let commerce = tx.erase_commerce(&fragments).await?;
        let detail = json!({
            "profiles": erased.profiles, "identities": erased.identities,
            "timeline_items": erased.timeline_items, "consents": erased.consents,
            "redacted_items": erased.redacted_items, "suppressed": suppress,
            "conversations": conversations.conversations, "messages": conversations.messages,
            "cart_lines": commerce.cart_lines, "orders_kept_without_personal_data": commerce.orders,
        });
        // For the parts that react: the id alone, since nothing else of the person is left.
        tx.record_change(ChangeKind::ProfileErased, root, "{}", now)
            .await?;
        // Others whose traits named the person changed too (the search index, say,
        // still finds them by the erased value until it hears of it).
        for (_, other) in tx.roots_of(&erased.redacted_profiles).await? {
            tx.record_change(
                ChangeKind::ProfileTraits,
                other,
                r#"{"redacted":true}"#,
                now,
            )
            .await?;
        }
        tx.audit(
            &uuid::Uuid::now_v7().to_string(),
            now,
            &by.actor(),
            "customer.erased",
            &root.to_string(),
            &detail.to_string(),
        )
        .await?;
        tx.commit().await?;
        self.hilo.feed_signal.notify_waiters();
        info!(profiles = erased.profiles, "customer erased");
        Ok(erased)
    }

    /// The instance's secret for suppression digests, made on first use.
    pub(crate) async fn suppression_key(&self) -> AppResult<String> {
        if let Some(key) = self.hilo.store.setting(SUPPRESSION_KEY).await? {
            return Ok(key);
        }
        let fresh = SecretKind::Session.generate()?;
        self.hilo
            .store
            .claim_setting(SUPPRESSION_KEY, fresh.expose())
            .await?;
        self.hilo
            .store
            .setting(SUPPRESSION_KEY)
            .await?
            .ok_or_else(|| AppError::Internal("suppression key vanished".into()))
    }
}

/// A keyed digest of an identifier: recognises it later without storing it.
pub fn suppression_digest(key: &str, identifier: &Identifier) -> String {
    digest_hex(format!("{key}\u{0}{}\u{0}{}", identifier.kind, identifier.value).as_bytes())
}

/// The consent in force per channel and purpose, from decisions oldest first: later
/// ones replace earlier ones.
pub(crate) fn consent_state(rows: Vec<ConsentRow>) -> ConsentMap {
    let mut state = ConsentMap::new();
    for row in rows {
        state.insert(
            (row.channel, row.purpose),
            ConsentState {
                granted: row.granted != 0,
                at: Timestamp::from_millis(row.at),
                via: row.via,
            },
        );
    }
    state
}
