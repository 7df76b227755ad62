//! Settings, resolved in order: command-line flags, then `HILO_*` environment variables,
//! then an optional TOML file (`--config`), then defaults. A wrong value stops start-up
//! with a message naming the setting, where it came from and the expected form.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use hilo_domain::Secret;
use hilo_store::DatabaseUrl;
use serde::Deserialize;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:7878";
pub const DEFAULT_DATA_DIR: &str = "./hilo-data";
pub const DEFAULT_MAX_CONNECTIONS: u32 = 10;
/// HTTP connections served at once by default.
pub const DEFAULT_MAX_HTTP_CONNECTIONS: usize = 1024;
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;
pub const DEFAULT_SHUTDOWN_GRACE_SECS: u64 = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Everything the server needs to start. `Debug` shows no secret.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    /// Where Hilo takes mail for its email channels over SMTP; `None`: it does not.
    pub smtp_listen: Option<SocketAddr>,
    pub data_dir: PathBuf,
    pub database_url: DatabaseUrl,
    pub database_max_connections: u32,
    /// SQLite: page cache of each pool connection, in MiB.
    pub sqlite_cache_mib: u32,
    /// Base URL the outside world uses, without a trailing slash.
    pub public_url: String,
    /// An admin key chosen by the operator instead of a generated one.
    pub admin_key: Option<Secret>,
    /// When set, `/metrics` answers only requests bearing this token.
    pub metrics_token: Option<Secret>,
    /// The key that seals channel credentials; `None`: the data directory's key file,
    /// made on first start.
    pub secret_key: Option<Secret>,
    /// Reverse proxies whose `X-Forwarded-For` names the client (sign-in limits).
    pub trusted_proxies: hilo_web::client_ip::TrustedProxies,
    pub log_format: LogFormat,
    /// A tracing filter such as `info` or `info,hilo_app=debug`.
    pub log_filter: String,
    pub body_limit: usize,
    /// Connections served at once; past it a connection gets a 503 and is closed.
    pub max_connections: usize,
    /// How long a client has to send a request's headers.
    pub header_timeout: std::time::Duration,
    /// How long a request's body may pause between two pieces.
    pub body_timeout: std::time::Duration,
    pub shutdown_grace_secs: u64,
    /// Fill an empty database with demo data at start.
    pub demo: bool,
    /// Region (ISO 3166 alpha-2) for phone numbers written without a country code.
    pub default_region: String,
    /// Let webhooks reach loopback, private and link-local addresses (receivers on the
    /// same host or network; tests). Off by default: server-side request forgery.
    pub webhook_allow_private: bool,
    /// Run this node's background workers (jobs, change-feed consumers). Off for a node
    /// that only serves requests while others do the work; tests turn them off and step
    /// the runner themselves.
    pub run_workers: bool,
}

impl Settings {
    /// Defaults for a data directory: SQLite inside it, listening on the default port.
    pub fn with_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        let data_dir = data_dir.into();
        let listen: SocketAddr = SocketAddr::from(([127, 0, 0, 1], 7878));
        Self {
            listen,
            smtp_listen: None,
            database_url: DatabaseUrl::sqlite_file(data_dir.join("hilo.db")),
            data_dir,
            database_max_connections: DEFAULT_MAX_CONNECTIONS,
            sqlite_cache_mib: hilo_store::DEFAULT_SQLITE_CACHE_MIB,
            public_url: format!("http://{listen}"),
            admin_key: None,
            metrics_token: None,
            secret_key: None,
            trusted_proxies: Default::default(),
            log_format: LogFormat::Text,
            log_filter: "info".into(),
            body_limit: DEFAULT_BODY_LIMIT,
            max_connections: DEFAULT_MAX_HTTP_CONNECTIONS,
            header_timeout: std::time::Duration::from_secs(10),
            body_timeout: std::time::Duration::from_secs(10),
            shutdown_grace_secs: DEFAULT_SHUTDOWN_GRACE_SECS,
            demo: false,
            default_region: "ES".into(),
            webhook_allow_private: false,
            run_workers: true,
        }
    }
}

/// Where a value came from, to say so when it is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Flag(&'static str),
    Env(&'static str),
    File(PathBuf),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Flag(flag) => write!(f, "flag {flag}"),
            Self::Env(var) => write!(f, "environment variable {var}"),
            Self::File(path) => write!(f, "config file {}", path.display()),
        }
    }
}

/// A setting that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid setting `{setting}` (from {origin}): {problem}")]
pub struct SettingsError {
    pub setting: &'static str,
    pub origin: String,
    pub problem: String,
}

/// One setting as given: its text and where it came from.
pub type Given = Option<(String, Origin)>;

/// Settings as given on the command line or in the environment, before the file and
/// defaults fill the gaps.
#[derive(Debug, Default, Clone)]
pub struct GivenSettings {
    pub config_file: Given,
    pub listen: Given,
    pub smtp_listen: Given,
    pub data_dir: Given,
    pub database_url: Given,
    pub database_max_connections: Given,
    pub sqlite_cache_mib: Given,
    pub public_url: Given,
    pub admin_key: Given,
    pub metrics_token: Given,
    pub secret_key: Given,
    pub max_connections: Given,
    pub trusted_proxies: Given,
    pub log_format: Given,
    pub log_filter: Given,
    pub default_region: Given,
    pub webhook_allow_private: Given,
    pub workers: Given,
    pub demo: bool,
}

/// The TOML file's keys; an unknown key is an error, so typos do not pass silently.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    listen: Option<String>,
    smtp_listen: Option<String>,
    data_dir: Option<String>,
    database_url: Option<String>,
    database_max_connections: Option<u32>,
    sqlite_cache_mib: Option<u32>,
    public_url: Option<String>,
    admin_key: Option<String>,
    metrics_token: Option<String>,
    secret_key: Option<String>,
    max_connections: Option<u32>,
    trusted_proxies: Option<String>,
    log_format: Option<String>,
    log: Option<String>,
    default_region: Option<String>,
    webhook_allow_private: Option<bool>,
    workers: Option<bool>,
    demo: Option<bool>,
}

impl GivenSettings {
    /// Fills what flags and environment left open from the TOML file, then defaults, and
    /// checks every value.
    pub fn resolve(mut self) -> Result<Settings, SettingsError> {
        if let Some((path, origin)) = self.config_file.clone() {
            self.merge_file(Path::new(&path), &origin)?;
        }
        let data_dir = PathBuf::from(
            self.data_dir
                .as_ref()
                .map_or(DEFAULT_DATA_DIR, |(v, _)| v.as_str()),
        );
        if data_dir.as_os_str().is_empty() {
            return Err(problem("data_dir", &self.data_dir, "must not be empty"));
        }
        let mut settings = Settings::with_data_dir(&data_dir);
        settings.demo = self.demo;
        if let Some((text, _)) = &self.listen {
            settings.listen = text.trim().parse().map_err(|_| {
                problem(
                    "listen",
                    &self.listen,
                    format!("expected HOST:PORT such as {DEFAULT_LISTEN}, got {text:?}"),
                )
            })?;
        }
        if let Some((text, _)) = &self.smtp_listen {
            settings.smtp_listen = Some(text.trim().parse().map_err(|_| {
                problem(
                    "smtp_listen",
                    &self.smtp_listen,
                    format!("expected HOST:PORT such as 127.0.0.1:2525, got {text:?}"),
                )
            })?);
        }
        settings.public_url = format!("http://{}", settings.listen);
        if let Some((text, _)) = &self.public_url {
            settings.public_url = parse_public_url(text)
                .map_err(|reason| problem("public_url", &self.public_url, reason))?;
        }
        if let Some((text, _)) = &self.database_url {
            settings.database_url = text.trim().parse().map_err(|reason: String| {
                // The value may hold a password: describe it, never echo it.
                problem("database_url", &self.database_url, reason)
            })?;
        }
        if let Some((text, _)) = &self.database_max_connections {
            settings.database_max_connections = text
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=1000).contains(n))
                .ok_or_else(|| {
                    problem(
                        "database_max_connections",
                        &self.database_max_connections,
                        format!("expected a whole number from 1 to 1000, got {text:?}"),
                    )
                })?;
        }
        if let Some((text, _)) = &self.sqlite_cache_mib {
            settings.sqlite_cache_mib = text
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=4096).contains(n))
                .ok_or_else(|| {
                    problem(
                        "sqlite_cache_mib",
                        &self.sqlite_cache_mib,
                        format!("expected a whole number of MiB from 1 to 4096, got {text:?}"),
                    )
                })?;
        }
        if let Some((text, _)) = &self.admin_key {
            settings.admin_key = Some(
                hilo_app::access::keys::parse_preset_key(text.trim())
                    .map_err(|invalid| problem("admin_key", &self.admin_key, invalid.reason))?,
            );
        }
        if let Some((text, _)) = &self.metrics_token {
            let token = text.trim();
            if token.chars().count() < 16 || !token.chars().all(|c| c.is_ascii_graphic()) {
                return Err(problem(
                    "metrics_token",
                    &self.metrics_token,
                    "expected at least 16 printable characters without spaces",
                ));
            }
            settings.metrics_token = Some(Secret::new(token));
        }
        if let Some((text, _)) = &self.secret_key {
            hilo_domain::sealing::SealingKey::from_text(text)
                .map_err(|invalid| problem("secret_key", &self.secret_key, invalid.reason))?;
            settings.secret_key = Some(Secret::new(text.trim()));
        }
        if let Some((text, _)) = &self.max_connections {
            settings.max_connections = text
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=100_000).contains(n))
                .ok_or_else(|| {
                    problem(
                        "max_connections",
                        &self.max_connections,
                        format!("expected a whole number from 1 to 100000, got {text:?}"),
                    )
                })?;
        }
        if let Some((text, _)) = &self.trusted_proxies {
            settings.trusted_proxies =
                hilo_web::client_ip::TrustedProxies::parse(text).map_err(|reason| {
                    problem(
                        "trusted_proxies",
                        &self.trusted_proxies,
                        format!("expected addresses or networks such as 10.0.0.0/8, ::1: {reason}"),
                    )
                })?;
        }
        if let Some((text, _)) = &self.default_region {
            let region = text.trim().to_ascii_uppercase();
            if !hilo_domain::customers::identity::is_known_region(&region) {
                return Err(problem(
                    "default_region",
                    &self.default_region,
                    format!("expected an ISO 3166 country code such as ES, MX or US, got {text:?}"),
                ));
            }
            settings.default_region = region;
        }
        if let Some((text, _)) = &self.webhook_allow_private {
            settings.webhook_allow_private = parse_bool(text).ok_or_else(|| {
                problem(
                    "webhook_allow_private",
                    &self.webhook_allow_private,
                    format!("expected true or false, got {text:?}"),
                )
            })?;
        }
        if let Some((text, _)) = &self.workers {
            settings.run_workers = parse_bool(text).ok_or_else(|| {
                problem(
                    "workers",
                    &self.workers,
                    format!("expected true or false, got {text:?}"),
                )
            })?;
        }
        if let Some((text, _)) = &self.log_format {
            settings.log_format = match text.trim().to_ascii_lowercase().as_str() {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                _ => {
                    return Err(problem(
                        "log_format",
                        &self.log_format,
                        format!("expected text or json, got {text:?}"),
                    ));
                }
            };
        }
        if let Some((text, _)) = &self.log_filter {
            if tracing_subscriber::EnvFilter::try_new(text).is_err() {
                return Err(problem(
                    "log",
                    &self.log_filter,
                    format!("expected a filter such as info or info,hilo_app=debug, got {text:?}"),
                ));
            }
            settings.log_filter = text.clone();
        }
        Ok(settings)
    }

    fn merge_file(&mut self, path: &Path, origin: &Origin) -> Result<(), SettingsError> {
        let from_origin = |problem: String| SettingsError {
            setting: "config",
            origin: origin.to_string(),
            problem,
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| from_origin(format!("cannot read {}: {e}", path.display())))?;
        let file: FileSettings = toml::from_str(&text)
            .map_err(|e| from_origin(format!("{} is not valid: {e}", path.display())))?;
        let here = || Origin::File(path.to_owned());
        let fill = |slot: &mut Given, value: Option<String>| {
            if slot.is_none() {
                *slot = value.map(|v| (v, here()));
            }
        };
        fill(&mut self.listen, file.listen);
        fill(&mut self.smtp_listen, file.smtp_listen);
        fill(&mut self.data_dir, file.data_dir);
        fill(&mut self.database_url, file.database_url);
        fill(
            &mut self.database_max_connections,
            file.database_max_connections.map(|n| n.to_string()),
        );
        fill(
            &mut self.sqlite_cache_mib,
            file.sqlite_cache_mib.map(|n| n.to_string()),
        );
        fill(&mut self.public_url, file.public_url);
        fill(&mut self.admin_key, file.admin_key);
        fill(&mut self.metrics_token, file.metrics_token);
        fill(&mut self.secret_key, file.secret_key);
        fill(&mut self.trusted_proxies, file.trusted_proxies);
        fill(
            &mut self.max_connections,
            file.max_connections.map(|n| n.to_string()),
        );
        fill(&mut self.log_format, file.log_format);
        fill(&mut self.log_filter, file.log);
        fill(&mut self.default_region, file.default_region);
        fill(
            &mut self.webhook_allow_private,
            file.webhook_allow_private.map(|b| b.to_string()),
        );
        fill(&mut self.workers, file.workers.map(|b| b.to_string()));
        self.demo = self.demo || file.demo.unwrap_or(false);
        Ok(())
    }
}

fn problem(setting: &'static str, given: &Given, problem: impl Into<String>) -> SettingsError {
    SettingsError {
        setting,
        origin: given
            .as_ref()
            .map_or_else(|| "defaults".to_owned(), |(_, origin)| origin.to_string()),
        problem: problem.into(),
    }
}

fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// An absolute http(s) URL with a host, kept without a trailing slash.
fn parse_public_url(text: &str) -> Result<String, String> {
    let expected = "expected an absolute URL such as https://hilo.example.com";
    let text = text.trim().trim_end_matches('/');
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"))
        .ok_or_else(|| format!("{expected}, got {text:?}"))?;
    let host = rest.split('/').next().unwrap_or("");
    if host.is_empty() || rest.contains(char::is_whitespace) || rest.contains(['?', '#']) {
        return Err(format!("{expected}, got {text:?}"));
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(value: &str, var: &'static str) -> Given {
        Some((value.to_owned(), Origin::Env(var)))
    }

    #[test]
    fn defaults_use_sqlite_in_the_data_dir() {
        let settings = GivenSettings::default().resolve().unwrap();
        assert_eq!(settings.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(
            settings.database_url,
            DatabaseUrl::sqlite_file(PathBuf::from(DEFAULT_DATA_DIR).join("hilo.db"))
        );
        assert_eq!(settings.public_url, "http://127.0.0.1:7878");
    }

    #[test]
    fn errors_name_setting_and_origin() {
        let given = GivenSettings {
            listen: env("localhost", "HILO_LISTEN"),
            ..Default::default()
        };
        let err = given.resolve().unwrap_err();
        assert_eq!(err.setting, "listen");
        assert!(err.to_string().contains("HILO_LISTEN"), "{err}");
        assert!(err.to_string().contains("HOST:PORT"), "{err}");
    }

    #[test]
    fn database_url_errors_do_not_echo_the_value() {
        let given = GivenSettings {
            database_url: env("mysql://root:hunter2@db/hilo", "HILO_DATABASE_URL"),
            ..Default::default()
        };
        let err = given.resolve().unwrap_err().to_string();
        assert!(!err.contains("hunter2"), "{err}");
        assert!(err.contains("postgres://"), "{err}");
    }

    #[test]
    fn public_url_is_checked_and_trimmed() {
        assert_eq!(
            parse_public_url("https://hilo.example.com/").unwrap(),
            "https://hilo.example.com"
        );
        assert!(parse_public_url("hilo.example.com").is_err());
        assert!(parse_public_url("https://").is_err());
    }

    #[test]
    fn settings_debug_hides_secrets() {
        let given = GivenSettings {
            admin_key: env("k".repeat(40).as_str(), "HILO_ADMIN_KEY"),
            metrics_token: env("mmmm-metrics-token", "HILO_METRICS_TOKEN"),
            database_url: env("postgres://u:pw-secret@localhost/db", "HILO_DATABASE_URL"),
            ..Default::default()
        };
        let shown = format!("{:?}", given.resolve().unwrap());
        assert!(!shown.contains("kkkk"), "{shown}");
        assert!(!shown.contains("mmmm"), "{shown}");
        assert!(!shown.contains("pw-secret"), "{shown}");
    }

    #[test]
    fn the_sqlite_cache_and_connection_limit_are_bounded() {
        let settings = GivenSettings {
            sqlite_cache_mib: env("32", "HILO_SQLITE_CACHE_MIB"),
            max_connections: env("64", "HILO_MAX_CONNECTIONS"),
            ..Default::default()
        }
        .resolve()
        .unwrap();
        assert_eq!(
            (settings.sqlite_cache_mib, settings.max_connections),
            (32, 64)
        );
        for (cache, connections, setting) in [
            ("0", "64", "sqlite_cache_mib"),
            ("lots", "64", "sqlite_cache_mib"),
            ("8", "0", "max_connections"),
        ] {
            let err = GivenSettings {
                sqlite_cache_mib: env(cache, "HILO_SQLITE_CACHE_MIB"),
                max_connections: env(connections, "HILO_MAX_CONNECTIONS"),
                ..Default::default()
            }
            .resolve()
            .unwrap_err();
            assert_eq!(err.setting, setting);
        }
    }

    #[test]
    fn a_metrics_token_is_long_and_printable() {
        for bad in ["short", "sixteen chars ok"] {
            let given = GivenSettings {
                metrics_token: env(bad, "HILO_METRICS_TOKEN"),
                ..Default::default()
            };
            let err = given.resolve().unwrap_err();
            assert_eq!(err.setting, "metrics_token");
            assert!(!err.to_string().contains(bad), "{err}");
        }
    }
}
