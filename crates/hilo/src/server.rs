//! Starting and stopping a server: open the store, migrate, bootstrap credentials, load
//! demo data when asked, bind, serve until told to stop, then drain requests in flight.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use hilo_app::demo::DemoCredentials;
use hilo_app::{AppSettings, Clock, Hilo, SystemClock};
use hilo_domain::Secret;
use hilo_domain::sealing::SealingKey;
use hilo_domain::webhooks::AddressPolicy;
use hilo_store::{ConnectOptions, Store};
use hilo_web::{AppState, WebConfig};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{info, warn};

use crate::config::Settings;

/// The file in the data directory that receives the first-start admin key.
pub const INITIAL_ADMIN_KEY_FILE: &str = "initial-admin-key";

/// A server running in this process.
pub struct RunningServer {
    /// Where it listens (the real port when the settings asked for port 0).
    pub addr: SocketAddr,
    /// Where it takes mail over SMTP, when it does.
    pub smtp_addr: Option<SocketAddr>,
    /// The admin key created on this start, if the database was empty.
    pub initial_admin_key: Option<Secret>,
    pub store: Store,
    /// The application the server runs, for in-process consumers of its change feed.
    pub hilo: Hilo,
    stop: watch::Sender<bool>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl RunningServer {
    /// Stops accepting connections, lets requests in flight finish, and waits.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(true);
        self.task.await.context("server task failed")?
    }

    /// A handle that asks the server to stop, for signal handlers.
    pub fn stopper(&self) -> watch::Sender<bool> {
        self.stop.clone()
    }

    /// Waits until the server has stopped (after a stop request or a failure).
    pub async fn wait(self) -> anyhow::Result<()> {
        self.task.await.context("server task failed")?
    }
}

/// Opens the store and applies pending migrations.
pub async fn open_store(settings: &Settings) -> anyhow::Result<Store> {
    let store = Store::connect(&ConnectOptions {
        url: settings.database_url.clone(),
        max_connections: settings.database_max_connections,
        sqlite_cache_mib: settings.sqlite_cache_mib,
    })
    .await
    .with_context(|| format!("cannot open the database ({})", settings.database_url))?;
    let applied = store
        .migrate()
        .await
        .with_context(|| format!("cannot migrate the database ({})", settings.database_url))?;
    if !applied.is_empty() {
        info!(?applied, "database migrated");
    }
    match store.autovacuum_on().await {
        Ok(Some(false)) => warn!(
            "PostgreSQL runs with autovacuum off: Hilo's tables are never analysed or \
             vacuumed, and customer reads slow down as they grow; turn it on, or run \
             VACUUM ANALYZE regularly"
        ),
        Ok(_) => {}
        Err(error) => warn!(%error, "could not read PostgreSQL's autovacuum setting"),
    }
    Ok(store)
}

/// Starts a server with the system clock.
pub async fn start(settings: &Settings) -> anyhow::Result<RunningServer> {
    start_with_clock(settings, Arc::new(SystemClock)).await
}

/// Starts a server whose rules read time from `clock`.
pub async fn start_with_clock(
    settings: &Settings,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<RunningServer> {
    std::fs::create_dir_all(&settings.data_dir).with_context(|| {
        format!(
            "cannot create the data directory {}",
            settings.data_dir.display()
        )
    })?;
    let store = open_store(settings).await?;
    let sealing_key = sealing_key(settings, &store).await?;
    let hilo = Hilo::with_settings(
        store.clone(),
        clock,
        AppSettings {
            default_region: settings.default_region.clone(),
            webhook_policy: if settings.webhook_allow_private {
                AddressPolicy::AllowPrivate
            } else {
                AddressPolicy::PublicOnly
            },
            public_url: settings.public_url.clone(),
            sealing_key,
        },
    );
    let initial_admin_key = bootstrap_credentials(&hilo, settings).await?;
    let (stop, mut stopped) = watch::channel(false);
    // Listening before the server answers: no live event after start is missed.
    let live = hilo_app::live::spawn_listener(hilo.clone(), stopped.clone())
        .await
        .context("cannot listen for live events")?;

    let listener = TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    let addr = listener.local_addr()?;
    let state = AppState::new(
        hilo.clone(),
        WebConfig {
            public_url: settings.public_url.clone(),
            body_limit: settings.body_limit,
            body_timeout: settings.body_timeout,
            metrics_token: settings.metrics_token.clone(),
            trusted_proxies: settings.trusted_proxies.clone(),
        },
    );
    if settings.demo {
        match hilo.load_demo().await? {
            Some(credentials) => {
                send_demo_events(&hilo, &state, &credentials).await?;
                hilo.load_demo_conversations().await?;
                hilo.load_demo_commerce().await?;
                print_demo(&credentials, &settings.public_url);
            }
            None => info!("demo data not loaded: the database already holds data"),
        }
    }
    let smtp_addr = match settings.smtp_listen {
        Some(address) => {
            let smtp = TcpListener::bind(address)
                .await
                .with_context(|| format!("cannot listen for SMTP on {address}"))?;
            let bound = smtp.local_addr()?;
            let hostname = smtp_hostname(&settings.public_url);
            tokio::spawn(crate::smtp::serve(
                smtp,
                hilo.clone(),
                hostname,
                stopped.clone(),
            ));
            info!(address = %bound, "taking mail for email channels over SMTP");
            Some(bound)
        }
        None => None,
    };
    let app = hilo_web::router(state);
    let limits = crate::listener::Limits {
        max_connections: settings.max_connections,
        header_timeout: settings.header_timeout,
    };
    let workers = settings
        .run_workers
        .then(|| hilo_app::jobs::spawn_workers(hilo.clone(), stopped.clone()));
    let grace = Duration::from_secs(settings.shutdown_grace_secs);
    let pool = store.clone();
    let task = tokio::spawn(async move {
        let mut drained = stopped.clone();
        let serve = crate::listener::serve(listener, app, limits, stopped.clone());
        let announce = async move {
            let _ = stopped.wait_for(|stop| *stop).await;
            info!("shutting down: finishing requests in flight");
            std::future::pending::<()>().await;
        };
        let deadline = async move {
            let _ = drained.wait_for(|stop| *stop).await;
            tokio::time::sleep(grace).await;
        };
        let result = tokio::select! {
            () = serve => Ok(()),
            () = announce => Ok(()),
            () = deadline => {
                warn!(grace_secs = grace.as_secs(), "requests still in flight after the grace period; closing");
                Ok(())
            }
        };
        if let Some(workers) = workers {
            workers.finish(Duration::from_secs(2)).await;
        }
        if let Some(live) = live {
            live.abort();
        }
        pool.close().await;
        info!("stopped");
        result
    });
    info!(
        address = %addr,
        public_url = %settings.public_url,
        database = %settings.database_url,
        "Hilo {} listening on http://{addr} (console: {}/console)",
        env!("CARGO_PKG_VERSION"),
        settings.public_url,
    );
    Ok(RunningServer {
        addr,
        smtp_addr,
        initial_admin_key,
        store,
        hilo,
        stop,
        task,
    })
}

/// The name the SMTP listener greets with: the public URL's host.
fn smtp_hostname(public_url: &str) -> String {
    public_url
        .split_once("://")
        .map_or(public_url, |(_, rest)| rest)
        .split(['/', ':'])
        .next()
        .filter(|host| !host.is_empty())
        .unwrap_or("localhost")
        .to_owned()
}

/// The key file in the data directory when `HILO_SECRET_KEY` is not set.
pub const SECRET_KEY_FILE: &str = "secret-key";
/// Where the database keeps the fingerprint of the key that sealed its credentials.
const KEY_FINGERPRINT: &str = "sealing_key_fingerprint";

/// The key that seals channel credentials: `HILO_SECRET_KEY`, or the data directory's
/// key file, made on first start. The database remembers the first key's fingerprint,
/// so a node started with another key (a second node without `HILO_SECRET_KEY`, a
/// lost key file) stops here instead of failing on every credential later.
async fn sealing_key(settings: &Settings, store: &Store) -> anyhow::Result<SealingKey> {
    let text = match &settings.secret_key {
        Some(secret) => secret.expose().to_owned(),
        None => {
            let path = settings.data_dir.join(SECRET_KEY_FILE);
            match std::fs::read_to_string(&path) {
                Ok(text) => text.trim().to_owned(),
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                    let text = SealingKey::generate_text()
                        .map_err(|e| anyhow::anyhow!("no random source for a secret key: {e}"))?;
                    write_private_file(&path, &format!("{text}\n"))
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    info!(path = %path.display(), "secret key for channel credentials generated");
                    text
                }
                Err(error) => {
                    return Err(error).with_context(|| format!("cannot read {}", path.display()));
                }
            }
        }
    };
    let key = SealingKey::from_text(&text)
        .map_err(|invalid| anyhow::anyhow!("the secret key {}", invalid.reason))?;
    let fingerprint = key.fingerprint();
    store.claim_setting(KEY_FINGERPRINT, &fingerprint).await?;
    let stored = store.setting(KEY_FINGERPRINT).await?;
    if stored.as_deref() != Some(fingerprint.as_str()) {
        anyhow::bail!(
            "this node's secret key is not the one that sealed the channel credentials in \
             this database: give every node the same HILO_SECRET_KEY (or the first node's \
             {SECRET_KEY_FILE} file)"
        );
    }
    Ok(key)
}

/// On an empty database, makes the first admin key: the operator's preset one, or a
/// new one that is printed once and written to a file only this user can read.
async fn bootstrap_credentials(hilo: &Hilo, settings: &Settings) -> anyhow::Result<Option<Secret>> {
    if let Some(preset) = &settings.admin_key {
        if hilo.access().ensure_preset_admin_key(preset).await? {
            info!("preset admin key from HILO_ADMIN_KEY installed");
        }
        return Ok(None);
    }
    let Some(key) = hilo.access().bootstrap_admin_key().await? else {
        return Ok(None);
    };
    let path = settings.data_dir.join(INITIAL_ADMIN_KEY_FILE);
    write_private_file(&path, &format!("{}\n", key.expose()))
        .with_context(|| format!("cannot write {}", path.display()))?;
    // Printed, not logged: logs are collected and kept; this is shown once by design.
    eprintln!(
        "\nHilo created the first admin API key. It is shown only this once:\n\n    {}\n\n\
         It is also in {} (readable only by this user): store it safely, then delete the file.\n\
         Use it as: Authorization: Bearer <key>\n",
        key.expose(),
        path.display()
    );
    Ok(Some(key))
}

fn write_private_file(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

/// Sends the demo's customer journeys through the same ingestion path as any SDK.
async fn send_demo_events(
    hilo: &Hilo,
    state: &AppState,
    credentials: &DemoCredentials,
) -> anyhow::Result<()> {
    let now = hilo.now();
    for (channel, value) in hilo_app::demo::demo_events(now) {
        let source = credentials
            .source_records
            .iter()
            .find(|s| s.channel == channel)
            .ok_or_else(|| anyhow::anyhow!("the demo has no {channel} source"))?;
        let message = hilo_domain::collect::segment::parse_message(
            value,
            None,
            None,
            &hilo_domain::collect::segment::BatchDefaults::default(),
            now,
            || uuid::Uuid::new_v4().to_string(),
        )
        .map_err(|e| anyhow::anyhow!("demo message: {e}"))?;
        state
            .ingestor
            .submit(source.clone(), vec![message])
            .await
            .map_err(|e| anyhow::anyhow!("demo events: {e}"))?;
    }
    Ok(())
}

fn print_demo(credentials: &DemoCredentials, public_url: &str) {
    let mut text =
        format!("\nDemo data loaded. Sign in to the console at {public_url}/console with:\n");
    for (email, role, password) in &credentials.users {
        text.push_str(&format!(
            "    {role:<9} {email:<32} {}\n",
            password.expose()
        ));
    }
    text.push_str("Write keys of the demo sources (for the collection API):\n");
    for (name, channel, key) in &credentials.sources {
        text.push_str(&format!("    {channel:<16} {name:<36} {}\n", key.expose()));
    }
    eprintln!("{text}");
}
