//! A small, realistic sample so a first run shows a working system. Each part of Hilo
//! adds its own sample here as it lands.

use hilo_domain::{Role, Secret, SecretKind, SourceChannel, Timestamp};
use hilo_store::access::sources::SourceRecord;
use serde_json::{Value, json};
use tracing::info;

use crate::{AppResult, Hilo};

/// What the demo created, with the secrets a person needs to try it (shown once).
#[derive(Debug, Default)]
pub struct DemoCredentials {
    pub users: Vec<(String, Role, Secret)>,
    pub sources: Vec<(String, SourceChannel, Secret)>,
    /// The sources themselves, to send the demo's events through.
    pub source_records: Vec<SourceRecord>,
}

/// Customers known on several channels: (channel, Segment message). Timestamps are
/// minutes before `now`.
pub fn demo_events(now: Timestamp) -> Vec<(SourceChannel, Value)> {
    let at = |minutes: i64| Timestamp::from_millis(now.millis() - minutes * 60_000).to_rfc3339();
    use SourceChannel::*;
    vec![
        // Ana browses strollers anonymously, signs up from an email link, then buys in store.
        (
            Web,
            json!({"type": "page", "anonymousId": "web-7f3a", "name": "Carritos de bebé",
            "properties": {"path": "/bebe/carritos"}, "messageId": "demo-1", "timestamp": at(300)}),
        ),
        (
            Web,
            json!({"type": "track", "anonymousId": "web-7f3a", "event": "Product Viewed",
            "properties": {"sku": "CARRITO-TRIO-X", "price": 549.0}, "messageId": "demo-2", "timestamp": at(295)}),
        ),
        (
            Web,
            json!({"type": "identify", "anonymousId": "web-7f3a", "userId": "cli-1001",
            "traits": {"name": "Ana García", "email": "ana.garcia@example.com", "phone": "+34 612 345 678",
                       "city": "Madrid"}, "messageId": "demo-3", "timestamp": at(290)}),
        ),
        (
            App,
            json!({"type": "screen", "userId": "cli-1001", "anonymousId": "app-ios-22",
            "name": "Carrito", "messageId": "demo-4", "timestamp": at(120)}),
        ),
        (
            Pos,
            json!({"type": "track", "userId": "cli-1001", "event": "Order Completed",
            "properties": {"order_id": "T-88812", "total": 549.0, "currency": "EUR", "store": "Madrid Gran Vía"},
            "context": {"externalIds": [{"id": "LC-1001", "type": "loyalty_card"}]},
            "messageId": "demo-5", "timestamp": at(30)}),
        ),
        // Carlos calls the call center, then uses the kiosk with his loyalty card.
        (
            CallCenter,
            json!({"type": "identify", "userId": "cli-2002",
            "traits": {"name": "Carlos Ruiz", "phone": "699 111 222", "email": "carlos.ruiz@example.com"},
            "messageId": "demo-6", "timestamp": at(600)}),
        ),
        (
            CallCenter,
            json!({"type": "track", "userId": "cli-2002", "event": "Support Call",
            "properties": {"topic": "Envío retrasado"}, "messageId": "demo-7", "timestamp": at(598)}),
        ),
        (
            Kiosk,
            json!({"type": "track", "anonymousId": "kiosk-madrid-1", "event": "Product Searched",
            "properties": {"query": "zapatillas"},
            "context": {"externalIds": [{"id": "LC-2002", "type": "loyalty_card"}],
                        "traits": {"email": "carlos.ruiz@example.com"}},
            "messageId": "demo-8", "timestamp": at(45)}),
        ),
        // Lucía adds to her cart by voice; the phone shows it.
        (
            VoiceAssistant,
            json!({"type": "track", "userId": "cli-3003", "event": "Product Added",
            "properties": {"sku": "CAFE-ORG-1KG", "quantity": 2}, "messageId": "demo-9", "timestamp": at(15)}),
        ),
        (
            App,
            json!({"type": "identify", "userId": "cli-3003",
            "traits": {"name": "Lucía Fernández", "email": "lucia.fernandez@example.com", "language": "es"},
            "messageId": "demo-10", "timestamp": at(10)}),
        ),
    ]
}

const SOURCES: [(&str, SourceChannel); 6] = [
    ("Tienda online / Web shop", SourceChannel::Web),
    ("App móvil / Mobile app", SourceChannel::App),
    ("Tienda Madrid Gran Vía (TPV)", SourceChannel::Pos),
    ("Quiosco Tienda Madrid", SourceChannel::Kiosk),
    (
        "Centro de atención / Call center",
        SourceChannel::CallCenter,
    ),
    (
        "Asistente de voz / Voice assistant",
        SourceChannel::VoiceAssistant,
    ),
];

const USERS: [(&str, &str, Role); 4] = [
    ("admin@demo.hilo.example", "Ana Admin", Role::Admin),
    ("agente@demo.hilo.example", "Carlos Agente", Role::Agent),
    (
        "marketing@demo.hilo.example",
        "Marta Marketing",
        Role::Marketer,
    ),
    ("tienda@demo.hilo.example", "Sergio Tienda", Role::Store),
];

impl Hilo {
    /// Fills an empty database with the demo sample. Returns `None`, changing nothing,
    /// when the demo was loaded before or the database already holds users.
    pub async fn load_demo(&self) -> AppResult<Option<DemoCredentials>> {
        if self.store.count_users().await? > 0
            || !self
                .store
                .claim_setting("demo_loaded_at", &self.now().millis().to_string())
                .await?
        {
            return Ok(None);
        }
        let mut credentials = DemoCredentials::default();
        for (email, name, role) in USERS {
            let password = SecretKind::Session.generate()?;
            let password = Secret::new(password.expose().chars().take(16).collect::<String>());
            self.access()
                .create_user(email, name, role, &password)
                .await?;
            credentials.users.push((email.to_owned(), role, password));
        }
        for (name, channel) in SOURCES {
            let (record, write_key) = self.access().create_source(name, channel).await?;
            credentials
                .sources
                .push((name.to_owned(), channel, write_key));
            credentials.source_records.push(record);
        }
        info!(
            users = credentials.users.len(),
            sources = credentials.sources.len(),
            "demo data loaded"
        );
        Ok(Some(credentials))
    }
}
