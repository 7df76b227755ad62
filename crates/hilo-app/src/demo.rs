//! A small, realistic sample so a first run shows a working system. Each part of Hilo
//! adds its own sample here as it lands.

use hilo_domain::{Role, Secret, SecretKind, SourceChannel};
use tracing::info;

use crate::{AppResult, Hilo};

/// What the demo created, with the secrets a person needs to try it (shown once).
#[derive(Debug, Default)]
pub struct DemoCredentials {
    pub users: Vec<(String, Role, Secret)>,
    pub sources: Vec<(String, SourceChannel, Secret)>,
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
            self.create_user(email, name, role, &password).await?;
            credentials.users.push((email.to_owned(), role, password));
        }
        for (name, channel) in SOURCES {
            let (_, write_key) = self.create_source(name, channel).await?;
            credentials
                .sources
                .push((name.to_owned(), channel, write_key));
        }
        info!(
            users = credentials.users.len(),
            sources = credentials.sources.len(),
            "demo data loaded"
        );
        Ok(Some(credentials))
    }
}
