//! The command line: `hilo serve`, `migrate`, `keys`, `users`, `openapi`, `version`.

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use hilo_app::{Hilo, SystemClock};
use hilo_domain::{PageRequest, Role, Secret, SecretKind};

use crate::config::{Given, GivenSettings, Origin, Settings};
use crate::{logging, server};

#[derive(Debug, Parser)]
#[command(
    name = "hilo",
    version,
    about = "Hilo: one identifier and one history per customer, across every channel.",
    long_about = "Hilo: one identifier and one history per customer, across every channel.\n\n\
        Settings come from flags, then HILO_* environment variables, then the TOML file \
        given with --config, then defaults. With no settings, `hilo serve` keeps an SQLite \
        database in ./hilo-data and listens on 127.0.0.1:7878."
)]
pub struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

/// Settings every command understands.
#[derive(Debug, Args)]
struct GlobalArgs {
    /// TOML file with settings (keys: listen, smtp_listen, data_dir, database_url,
    /// database_max_connections, sqlite_cache_mib, max_connections, trusted_proxies,
    /// public_url, admin_key, metrics_token, secret_key, log_format, log, default_region,
    /// webhook_allow_private, workers, demo)
    /// [env: HILO_CONFIG]
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<String>,
    /// Folder for Hilo's files, including the SQLite database [default: ./hilo-data]
    /// [env: HILO_DATA_DIR]
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<String>,
    /// sqlite://PATH or postgres://USER:PASSWORD@HOST:5432/DATABASE
    /// [default: SQLite in the data directory] [env: HILO_DATABASE_URL]
    #[arg(long, global = true, value_name = "URL")]
    database_url: Option<String>,
    /// Largest number of database connections [default: 10]
    /// [env: HILO_DATABASE_MAX_CONNECTIONS]
    #[arg(long, global = true, value_name = "N")]
    database_max_connections: Option<String>,
    /// Reverse proxies whose X-Forwarded-For names the client, as addresses or networks:
    /// 10.0.0.0/8,::1 [env: HILO_TRUSTED_PROXIES]
    #[arg(long, global = true, value_name = "LIST")]
    trusted_proxies: Option<String>,
    /// HTTP connections served at once; past it a connection gets a 503 and is closed
    /// [default: 1024] [env: HILO_MAX_CONNECTIONS]
    #[arg(long, global = true, value_name = "N")]
    max_connections: Option<String>,
    /// SQLite: page cache of each database connection, in MiB [default: 8]
    /// [env: HILO_SQLITE_CACHE_MIB]
    #[arg(long, global = true, value_name = "MIB")]
    sqlite_cache_mib: Option<String>,
    /// Address to listen on [default: 127.0.0.1:7878] [env: HILO_LISTEN]
    #[arg(long, global = true, value_name = "HOST:PORT")]
    listen: Option<String>,
    /// Take mail for email channels over SMTP on this address, e.g. 127.0.0.1:2525
    /// [default: off] [env: HILO_SMTP_LISTEN]
    #[arg(long, global = true, value_name = "HOST:PORT")]
    smtp_listen: Option<String>,
    /// Base URL the outside world uses to reach Hilo, e.g. https://hilo.example.com
    /// [default: http://<listen>] [env: HILO_PUBLIC_URL]
    #[arg(long, global = true, value_name = "URL")]
    public_url: Option<String>,
    /// Log format: text or json [default: text] [env: HILO_LOG_FORMAT]
    #[arg(long, global = true, value_name = "FORMAT")]
    log_format: Option<String>,
    /// Log filter, e.g. info or info,hilo_app=debug [default: info] [env: HILO_LOG]
    #[arg(long, global = true, value_name = "FILTER")]
    log: Option<String>,
    /// Country (ISO 3166 alpha-2) for phone numbers without a country code [default: ES]
    /// [env: HILO_DEFAULT_REGION]
    #[arg(long, global = true, value_name = "CC")]
    default_region: Option<String>,
    /// Let webhooks reach loopback, private and link-local addresses; off by default,
    /// against server-side request forgery [env: HILO_WEBHOOK_ALLOW_PRIVATE=true]
    #[arg(long, global = true)]
    webhook_allow_private: bool,
    /// Run no background workers on this node (jobs such as webhook deliveries, and the
    /// change feed's consumers), for a node that only serves requests while others do
    /// that work [env: HILO_WORKERS=false]
    #[arg(long, global = true)]
    no_workers: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (HTTP API, collection API and console).
    ///
    /// On the first start of an empty database it creates an admin API key, prints it
    /// once and writes it to <data-dir>/initial-admin-key; set HILO_ADMIN_KEY (at least
    /// 32 characters) to choose it instead. Stops gracefully on SIGINT or SIGTERM.
    Serve {
        /// Fill an empty database with demo sources and users, and print their credentials
        #[arg(long)]
        demo: bool,
    },
    /// Apply pending database migrations and exit (the server also applies them at start).
    Migrate,
    /// Create, list and revoke secret API keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Create, list console users and reset their passwords.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Import customers (CSV) or events (NDJSON of Segment messages); safe to run again.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Measure Hilo on this machine.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Print the OpenAPI document of the HTTP API.
    Openapi,
    /// Print the version.
    Version,
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Create a key and print it (only this once) on standard output.
    Create {
        /// A name people recognise, e.g. "CRM integration"
        #[arg(long)]
        name: String,
        /// admin, agent, marketer, store or read_only
        #[arg(long)]
        role: String,
    },
    /// List keys (never their secrets).
    List,
    /// Revoke a key by id; it stops working at once.
    Revoke {
        /// The key's id, as `hilo keys list` shows it
        id: String,
    },
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Drive the collection API with a realistic mix of Segment batches, then one
    /// message per request, and measure in the same run a bare insert loop and bare HTTP
    /// round trips to compare with. Uses a temporary SQLite database, or PostgreSQL with
    /// --database-url (a table and the data of the run are left there).
    Ingest {
        #[arg(long, default_value_t = 1_000_000)]
        messages: usize,
        #[arg(long, default_value_t = 100_000)]
        customers: usize,
        /// Messages per batch
        #[arg(long, default_value_t = 100)]
        batch: usize,
        /// Concurrent clients sending batches
        #[arg(long, default_value_t = 8)]
        batch_clients: usize,
        /// Requests of one message each
        #[arg(long, default_value_t = 100_000)]
        single_requests: usize,
        /// Concurrent clients sending one message per request
        #[arg(long, default_value_t = 200)]
        single_clients: usize,
    },
    /// Load profiles through the collection API, let the search index catch up, then
    /// search them as people type (names, emails, phones, customer numbers) from many
    /// clients at once, and measure in the same run bare HTTP round trips and profile
    /// reads by identifier to compare with. Temporary SQLite database, or PostgreSQL
    /// with --database-url (use an empty database: the run's data is left there).
    Search {
        #[arg(long, default_value_t = 1_000_000)]
        profiles: usize,
        /// Concurrent clients searching
        #[arg(long, default_value_t = 20)]
        clients: usize,
        /// Searches of every kind mixed (and a sixth as many of each kind alone)
        #[arg(long, default_value_t = 20_000)]
        searches: usize,
    },
    /// Signed webhooks at a steady rate with an agent listening live, many web chat
    /// sockets held at once, and the inbox listed at scale; measures in the same run
    /// bare HTTP round trips to compare with. Temporary SQLite database, or PostgreSQL
    /// with --database-url (use an empty database: the run's data is left there).
    Conversations {
        /// Conversations in the inbox
        #[arg(long, default_value_t = 1_000_000)]
        conversations: usize,
        /// Messages in each
        #[arg(long, default_value_t = 10)]
        messages_per_conversation: usize,
        /// Web chat sockets held at once
        #[arg(long, default_value_t = 10_000)]
        sockets: usize,
        /// Webhooks sent
        #[arg(long, default_value_t = 20_000)]
        webhooks: usize,
        /// Webhooks a second
        #[arg(long, default_value_t = 1_000)]
        rate: usize,
        /// Distinct numbers they come from (fewer than webhooks: mostly known customers)
        #[arg(long, default_value_t = 20_000)]
        senders: usize,
        /// Concurrent clients listing the inbox
        #[arg(long, default_value_t = 10)]
        clients: usize,
        /// A Chromium to open the console in: the inbox's first paint and a live
        /// update's arrival, as an agent's browser sees them
        #[arg(long)]
        chromium: Option<std::path::PathBuf>,
    },
    /// Orders from many clients through the API, stock reserved in each order's
    /// transaction: spread over SKUs and stores, all on one hot SKU, and availability
    /// read while orders are placed; measures in the same run a bare insert loop and
    /// bare HTTP round trips to compare with. Temporary SQLite database, or PostgreSQL
    /// with --database-url (use an empty database: the run's data is left there).
    Commerce {
        /// Orders in each of the three runs
        #[arg(long, default_value_t = 20_000)]
        orders: usize,
        /// Concurrent clients
        #[arg(long, default_value_t = 32)]
        clients: usize,
        /// SKUs in the catalogue
        #[arg(long, default_value_t = 20_000)]
        skus: usize,
        /// Stores
        #[arg(long, default_value_t = 500)]
        stores: usize,
        /// SKUs orders are spread over (stocked in each of the order stores)
        #[arg(long, default_value_t = 10_000)]
        order_skus: usize,
        /// Stores orders are spread over
        #[arg(long, default_value_t = 50)]
        order_stores: usize,
        #[arg(long, default_value_t = 10_000)]
        customers: usize,
        /// Availability reads a second in the steady-rate run
        #[arg(long, default_value_t = 1_000)]
        read_rate: usize,
    },
    /// Holds web chat sockets open for `bench conversations` (a process of its own).
    #[command(hide = true)]
    Sockets {
        #[arg(long)]
        addr: std::net::SocketAddr,
        #[arg(long)]
        channel: String,
        #[arg(long)]
        count: usize,
    },
}

#[derive(Debug, Subcommand)]
enum ImportCommand {
    /// Customers from a CSV file with a header row. Columns user_id, anonymous_id, email,
    /// phone and id:TYPE (e.g. id:loyalty_card) are identifiers; the others are traits.
    /// Rows are resolved against existing customers like live events. Rejected rows go to
    /// FILE.rejected.csv with the reason.
    Customers {
        file: PathBuf,
        /// Attribute the rows to this source (default: a source named "Import")
        #[arg(long)]
        source: Option<String>,
    },
    /// Products from a CSV file with a header row, one row per variant: sku, price
    /// (19.99), currency (EUR when empty), name_es, name_en, description_es,
    /// description_en, category (several separated by ';'), image (likewise), attr:NAME
    /// columns, and product (rows with the same key are one product's variants). A SKU
    /// already in the catalogue is skipped. Rejected rows go to FILE.rejected.csv.
    Products { file: PathBuf },
    /// Events from an NDJSON file, one Segment message per line (identify, track, page,
    /// screen, group, alias). Rejected lines go to FILE.rejected.ndjson with the reason.
    Events {
        file: PathBuf,
        /// Attribute the events to this source (default: a source named "Import")
        #[arg(long)]
        source: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum UsersCommand {
    /// Create a console user. Without --password-stdin, a password is generated and
    /// printed once.
    Create {
        #[arg(long)]
        email: String,
        /// admin, agent, marketer, store or read_only
        #[arg(long)]
        role: String,
        /// Full name shown in the console
        #[arg(long, default_value = "")]
        name: String,
        /// Read the password from the first line of standard input
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a new password and sign the user out everywhere. Without --password-stdin, a
    /// password is generated and printed once.
    ResetPassword {
        #[arg(long)]
        email: String,
        /// Read the password from the first line of standard input
        #[arg(long)]
        password_stdin: bool,
    },
    /// List console users.
    List,
}

/// Parses the command line and runs the command.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    if matches!(cli.command, Command::Version) {
        println!("hilo {}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    if matches!(cli.command, Command::Openapi) {
        print!("{}", hilo_web::openapi::document_json());
        return ExitCode::SUCCESS;
    }
    if let Command::Bench(bench) = &cli.command {
        let database_url = cli
            .global
            .database_url
            .clone()
            .or_else(|| std::env::var("HILO_DATABASE_URL").ok());
        // The pool and cache sizes as serve reads and checks them (flags, HILO_*
        // variables, the file, defaults); the database stays the bench's own.
        let (sqlite_cache_mib, database_max_connections) =
            match given_settings(&cli.global, false).resolve() {
                Ok(settings) => (settings.sqlite_cache_mib, settings.database_max_connections),
                Err(error) => {
                    eprintln!("hilo: {error}");
                    return ExitCode::from(2);
                }
            };
        let filter = std::env::var("HILO_LOG").unwrap_or_else(|_| "warn".into());
        logging::init(crate::config::LogFormat::Text, &filter);
        let runtime = match tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
        {
            Ok(runtime) => runtime,
            Err(error) => {
                eprintln!("hilo: cannot start the async runtime: {error}");
                return ExitCode::FAILURE;
            }
        };
        let result = match bench {
            BenchCommand::Ingest {
                messages,
                customers,
                batch,
                batch_clients,
                single_requests,
                single_clients,
            } => runtime.block_on(crate::bench::ingest(crate::bench::BenchOptions {
                messages: *messages,
                customers: *customers,
                batch: *batch,
                batch_clients: *batch_clients,
                single_requests: *single_requests,
                single_clients: *single_clients,
                database_url,
                workers: !cli.global.no_workers
                    && std::env::var("HILO_WORKERS").map_or(true, |v| v != "false"),
                sqlite_cache_mib,
            })),
            BenchCommand::Conversations {
                conversations,
                messages_per_conversation,
                sockets,
                webhooks,
                rate,
                senders,
                clients,
                chromium,
            } => runtime.block_on(crate::bench::conversations::conversations(
                crate::bench::conversations::ConversationsBenchOptions {
                    conversations: *conversations,
                    messages_per_conversation: *messages_per_conversation,
                    sockets: *sockets,
                    webhooks: *webhooks,
                    rate: *rate,
                    senders: *senders,
                    clients: *clients,
                    chromium: chromium.clone(),
                    database_url,
                    sqlite_cache_mib,
                    database_max_connections,
                },
            )),
            BenchCommand::Commerce {
                orders,
                clients,
                skus,
                stores,
                order_skus,
                order_stores,
                customers,
                read_rate,
            } => runtime.block_on(crate::bench::commerce::commerce(
                crate::bench::commerce::CommerceBenchOptions {
                    orders: *orders,
                    clients: *clients,
                    skus: *skus,
                    stores: *stores,
                    order_skus: *order_skus,
                    order_stores: *order_stores,
                    customers: *customers,
                    read_rate: *read_rate,
                    database_url,
                    sqlite_cache_mib,
                    database_max_connections,
                },
            )),
            BenchCommand::Sockets {
                addr,
                channel,
                count,
            } => runtime.block_on(crate::bench::conversations::hold_sockets(
                *addr, channel, *count,
            )),
            BenchCommand::Search {
                profiles,
                clients,
                searches,
            } => runtime.block_on(crate::bench::search::search(
                crate::bench::search::SearchBenchOptions {
                    profiles: *profiles,
                    clients: *clients,
                    searches: *searches,
                    database_url,
                    sqlite_cache_mib,
                    database_max_connections,
                },
            )),
        };
        return match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("hilo: {error:#}");
                ExitCode::FAILURE
            }
        };
    }
    let demo = matches!(cli.command, Command::Serve { demo: true });
    let settings = match given_settings(&cli.global, demo).resolve() {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("hilo: {error}");
            return ExitCode::from(2);
        }
    };
    logging::init(settings.log_format, &settings.log_filter);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("hilo: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(execute(cli.command, settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("hilo: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Flags first, then `HILO_*` variables; the file and defaults come in `resolve`.
fn given_settings(args: &GlobalArgs, demo: bool) -> GivenSettings {
    fn pick(flag_value: &Option<String>, flag: &'static str, var: &'static str) -> Given {
        if let Some(value) = flag_value {
            return Some((value.clone(), Origin::Flag(flag)));
        }
        std::env::var(var)
            .ok()
            .filter(|v| !v.is_empty())
            .map(|v| (v, Origin::Env(var)))
    }
    GivenSettings {
        config_file: pick(&args.config, "--config", "HILO_CONFIG"),
        listen: pick(&args.listen, "--listen", "HILO_LISTEN"),
        smtp_listen: pick(&args.smtp_listen, "--smtp-listen", "HILO_SMTP_LISTEN"),
        data_dir: pick(&args.data_dir, "--data-dir", "HILO_DATA_DIR"),
        database_url: pick(&args.database_url, "--database-url", "HILO_DATABASE_URL"),
        database_max_connections: pick(
            &args.database_max_connections,
            "--database-max-connections",
            "HILO_DATABASE_MAX_CONNECTIONS",
        ),
        sqlite_cache_mib: pick(
            &args.sqlite_cache_mib,
            "--sqlite-cache-mib",
            "HILO_SQLITE_CACHE_MIB",
        ),
        public_url: pick(&args.public_url, "--public-url", "HILO_PUBLIC_URL"),
        // Secrets are not accepted as flags: they would show in the process list.
        admin_key: pick(&None, "", "HILO_ADMIN_KEY"),
        metrics_token: pick(&None, "", "HILO_METRICS_TOKEN"),
        secret_key: pick(&None, "", "HILO_SECRET_KEY"),
        trusted_proxies: pick(
            &args.trusted_proxies,
            "--trusted-proxies",
            "HILO_TRUSTED_PROXIES",
        ),
        max_connections: pick(
            &args.max_connections,
            "--max-connections",
            "HILO_MAX_CONNECTIONS",
        ),
        log_format: pick(&args.log_format, "--log-format", "HILO_LOG_FORMAT"),
        log_filter: pick(&args.log, "--log", "HILO_LOG"),
        default_region: pick(
            &args.default_region,
            "--default-region",
            "HILO_DEFAULT_REGION",
        ),
        webhook_allow_private: pick(
            &args.webhook_allow_private.then(|| "true".to_owned()),
            "--webhook-allow-private",
            "HILO_WEBHOOK_ALLOW_PRIVATE",
        ),
        workers: pick(
            &args.no_workers.then(|| "false".to_owned()),
            "--no-workers",
            "HILO_WORKERS",
        ),
        demo,
    }
}

async fn execute(command: Command, settings: Settings) -> anyhow::Result<()> {
    match command {
        Command::Serve { .. } => serve(settings).await,
        Command::Migrate => {
            let store = server::open_store(&settings).await?;
            let applied = store.applied_migrations().await?;
            eprintln!(
                "database {} is up to date: {} migration(s) applied",
                settings.database_url,
                applied.len()
            );
            store.close().await;
            Ok(())
        }
        Command::Keys(command) => keys(command, &settings).await,
        Command::Users(command) => users(command, &settings).await,
        Command::Import(command) => import(command, &settings).await,
        Command::Openapi | Command::Version | Command::Bench(_) => Ok(()),
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    // Listen for signals before announcing the address, so a stop request that arrives
    // as soon as the server is up is a graceful one.
    let signals = ShutdownSignals::install()?;
    let running = server::start(&settings).await?;
    let stopper = running.stopper();
    tokio::spawn(async move {
        signals.received().await;
        let _ = stopper.send(true);
    });
    running.wait().await
}

/// SIGINT and SIGTERM, registered up front.
struct ShutdownSignals {
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
}

impl ShutdownSignals {
    fn install() -> anyhow::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self {
                terminate: signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?,
                interrupt: signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Self {})
        }
    }

    async fn received(mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.terminate.recv() => {},
            _ = self.interrupt.recv() => {},
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

async fn import(command: ImportCommand, settings: &Settings) -> anyhow::Result<()> {
    let hilo = open_app(settings).await?;
    let summary = match command {
        ImportCommand::Customers { file, source } => {
            let source = crate::import::import_source(&hilo, source.as_deref()).await?;
            crate::import::customers(&hilo, &source, &file).await?
        }
        ImportCommand::Products { file } => crate::import_products::products(&hilo, &file).await?,
        ImportCommand::Events { file, source } => {
            let source = crate::import::import_source(&hilo, source.as_deref()).await?;
            crate::import::events(&hilo, &source, &file).await?
        }
    };
    println!("{summary}");
    hilo.store().close().await;
    Ok(())
}

async fn open_app(settings: &Settings) -> anyhow::Result<Hilo> {
    std::fs::create_dir_all(&settings.data_dir)
        .with_context(|| format!("cannot create {}", settings.data_dir.display()))?;
    let store = server::open_store(settings).await?;
    Ok(Hilo::new(store, Arc::new(SystemClock)))
}

const ALL_ROWS: PageRequest = PageRequest {
    limit: PageRequest::MAX_LIMIT,
    after: None,
};

async fn keys(command: KeysCommand, settings: &Settings) -> anyhow::Result<()> {
    let hilo = open_app(settings).await?;
    match command {
        KeysCommand::Create { name, role } => {
            let role: Role = role.parse()?;
            let (record, secret) = hilo
                .access()
                .create_key(&name, role, Some("cli".into()))
                .await?;
            eprintln!(
                "created {} key {} ({}); the key is shown only this once:",
                record.role, record.id, record.name
            );
            println!("{}", secret.expose());
        }
        KeysCommand::List => {
            let mut page = ALL_ROWS;
            println!(
                "{:<36}  {:<9}  {:<12}  {:<24}  {:<24}  NAME",
                "ID", "ROLE", "PREFIX", "LAST USED", "REVOKED"
            );
            loop {
                let rows = hilo.access().list_keys(&page).await?;
                for key in &rows.items {
                    println!(
                        "{:<36}  {:<9}  {:<12}  {:<24}  {:<24}  {}",
                        key.id.to_string(),
                        key.role.as_str(),
                        key.prefix,
                        key.last_used_at.map_or("-".into(), |t| t.to_rfc3339()),
                        key.revoked_at.map_or("-".into(), |t| t.to_rfc3339()),
                        key.name
                    );
                }
                match rows.next {
                    Some(next) => page.after = Some(next),
                    None => break,
                }
            }
        }
        KeysCommand::Revoke { id } => {
            let id = id
                .parse()
                .map_err(|_| anyhow::anyhow!("{id:?} is not a key id"))?;
            let key = hilo.access().revoke_key(id).await.map_err(|e| match e {
                hilo_app::AppError::NotFound => anyhow::anyhow!("no key with id {id}"),
                other => other.into(),
            })?;
            eprintln!("revoked key {} ({})", key.id, key.name);
        }
    }
    hilo.store().close().await;
    Ok(())
}

async fn users(command: UsersCommand, settings: &Settings) -> anyhow::Result<()> {
    let hilo = open_app(settings).await?;
    match command {
        UsersCommand::Create {
            email,
            role,
            name,
            password_stdin,
        } => {
            let role: Role = role.parse()?;
            let (password, generated) = password(password_stdin)?;
            let user = hilo
                .access()
                .create_user(&email, &name, role, &password)
                .await?;
            eprintln!("created {} user {} ({})", user.role, user.email, user.id);
            if generated {
                eprintln!("password (shown only this once):");
                println!("{}", password.expose());
            }
        }
        UsersCommand::ResetPassword {
            email,
            password_stdin,
        } => {
            let (password, generated) = password(password_stdin)?;
            hilo.access()
                .reset_password(&email, &password)
                .await
                .map_err(|e| match e {
                    hilo_app::AppError::NotFound => anyhow::anyhow!("no user with email {email}"),
                    other => other.into(),
                })?;
            eprintln!("password reset for {email}; their sessions were ended");
            if generated {
                eprintln!("new password (shown only this once):");
                println!("{}", password.expose());
            }
        }
        UsersCommand::List => {
            let mut page = ALL_ROWS;
            println!("{:<36}  {:<9}  {:<32}  NAME", "ID", "ROLE", "EMAIL");
            loop {
                let rows = hilo.access().list_users(&page).await?;
                for user in &rows.items {
                    println!(
                        "{:<36}  {:<9}  {:<32}  {}",
                        user.id.to_string(),
                        user.role.as_str(),
                        user.email.as_str(),
                        user.name
                    );
                }
                match rows.next {
                    Some(next) => page.after = Some(next),
                    None => break,
                }
            }
        }
    }
    hilo.store().close().await;
    Ok(())
}

/// The password to set: the first line of stdin, or a generated one.
fn password(from_stdin: bool) -> anyhow::Result<(Secret, bool)> {
    if from_stdin {
        if std::io::stdin().is_terminal() {
            eprintln!("password:");
        }
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read the password from standard input")?;
        return Ok((
            Secret::new(line.trim_end_matches(['\r', '\n']).to_owned()),
            false,
        ));
    }
    let generated = SecretKind::Session
        .generate()
        .map_err(|e| anyhow::anyhow!("random source failed: {e}"))?;
    Ok((
        Secret::new(generated.expose().chars().take(20).collect::<String>()),
        true,
    ))
}
