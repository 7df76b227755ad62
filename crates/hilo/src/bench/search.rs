//! `hilo bench search`: customer search at scale. Loads profiles through the collection
//! API (as a site's identify calls would), lets the search index catch up as `serve`'s
//! workers do, then runs searches of what people type into a search box from many
//! clients at once. In the same run it measures the limits a search is compared with,
//! since the machine's speed drifts:
//!
//! - (a) the bare HTTP round trip (`GET /healthz`) with as many clients;
//! - (b) a profile read by an identifier (`GET /api/v1/customers/lookup`), a point
//!   read on a B-tree, with as many clients: the cheapest read that returns a profile.

use std::sync::Arc;
use std::time::{Duration, Instant};

use hilo_domain::SourceChannel;
use hilo_domain::customers::search::fold;
use hilo_store::DatabaseUrl;
use serde_json::Value;

use super::{ADMIN_KEY, Connection, Latency, XorShift, basic_auth, drive, memory, splitmix};
use crate::config::Settings;
use crate::server;

/// What to run.
#[derive(Debug, Clone)]
pub struct SearchBenchOptions {
    pub profiles: usize,
    pub clients: usize,
    pub searches: usize,
    /// PostgreSQL server to run on; SQLite in a temporary folder when absent.
    pub database_url: Option<String>,
    pub sqlite_cache_mib: u32,
    /// The pool's size (serve's default unless `--database-max-connections`).
    pub database_max_connections: u32,
}

const FIRST: [&str; 40] = [
    "José", "María", "Lucía", "Álvaro", "Íñigo", "Begoña", "Nuria", "Jorge", "Josefa", "Ramón",
    "Inés", "Sofía", "Martín", "Andrés", "Raúl", "Mónica", "Julián", "Ángela", "Iván", "Óscar",
    "Carmen", "Pilar", "Elena", "Javier", "David", "Laura", "Marta", "Pablo", "Sergio", "Adrián",
    "Noemí", "Rocío", "Joaquín", "Belén", "Tomás", "Jesús", "Irene", "Hugo", "Zoe", "Leire",
];
const SURNAMES: [&str; 40] = [
    "García",
    "Fernández",
    "González",
    "Rodríguez",
    "López",
    "Martínez",
    "Sánchez",
    "Pérez",
    "Gómez",
    "Martín",
    "Jiménez",
    "Ruiz",
    "Hernández",
    "Díaz",
    "Moreno",
    "Muñoz",
    "Álvarez",
    "Romero",
    "Alonso",
    "Gutiérrez",
    "Navarro",
    "Torres",
    "Domínguez",
    "Vázquez",
    "Ramos",
    "Gil",
    "Ramírez",
    "Serrano",
    "Blanco",
    "Molina",
    "Morales",
    "Suárez",
    "Ortega",
    "Delgado",
    "Castro",
    "Ortiz",
    "Rubio",
    "Marín",
    "Sanz",
    "Núñez",
];
const DOMAINS: [&str; 5] = [
    "example.com",
    "correo.es",
    "gmail.com",
    "empresa.es",
    "mail.com",
];
const CITIES: [&str; 8] = [
    "Madrid",
    "Barcelona",
    "Sevilla",
    "Málaga",
    "Cádiz",
    "Bilbao",
    "A Coruña",
    "León",
];

/// Profile `n` of the run: made from its number alone, so the generator keeps nothing.
struct Person {
    first: &'static str,
    surname: &'static str,
    second: &'static str,
    domain: &'static str,
    city: &'static str,
    n: usize,
}

impl Person {
    fn of(n: usize) -> Self {
        let mut random = XorShift(splitmix(n as u64 ^ 0x5eed));
        let mut pick = |len: usize| (random.next() % len as u64) as usize;
        Self {
            first: FIRST[pick(FIRST.len())],
            surname: SURNAMES[pick(SURNAMES.len())],
            second: SURNAMES[pick(SURNAMES.len())],
            domain: DOMAINS[pick(DOMAINS.len())],
            city: CITIES[pick(CITIES.len())],
            n,
        }
    }

    fn name(&self) -> String {
        format!("{} {} {}", self.first, self.surname, self.second)
    }

    fn email(&self) -> String {
        format!(
            "{}.{}{}@{}",
            fold(self.first),
            fold(self.surname),
            self.n,
            self.domain
        )
    }

    /// A Spanish mobile number, one per profile.
    fn phone_digits(&self) -> String {
        format!("6{:08}", self.n)
    }

    fn identify(&self, out: &mut String) {
        use std::fmt::Write;
        let _ = write!(
            out,
            r#"{{"type":"identify","userId":"c-{}","messageId":"p-{}","traits":{{"name":"{}","email":"{}","phone":"+34 {}","city":"{}"}}}}"#,
            self.n,
            self.n,
            self.name(),
            self.email(),
            self.phone_digits(),
            self.city
        );
    }
}

/// What people type, by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Typed {
    /// The first letters of a first name, as typed keystroke by keystroke ("jos").
    NamePrefix,
    /// A first name and the start of a surname, with or without accents ("jose garc").
    NameAndSurname,
    /// A whole name as written ("José García López").
    FullName,
    /// A whole name surname first, as lists of people write it ("García López, José").
    SurnameFirst,
    /// A whole email address.
    Email,
    /// A mobile number as a person writes it (national digits in groups).
    Phone,
    /// A customer number (`c-123456`).
    UserId,
}

const KINDS: [Typed; 7] = [
    Typed::NamePrefix,
    Typed::NameAndSurname,
    Typed::FullName,
    Typed::SurnameFirst,
    Typed::Email,
    Typed::Phone,
    Typed::UserId,
];

impl Typed {
    fn label(self) -> &'static str {
        match self {
            Self::NamePrefix => "first letters of a name (\"jos\")",
            Self::NameAndSurname => "name and start of a surname (\"jose garc\")",
            Self::FullName => "whole name (\"José García López\")",
            Self::SurnameFirst => "surname first (\"García López, José\")",
            Self::Email => "whole email",
            Self::Phone => "phone (\"612 345 678\")",
            Self::UserId => "customer number (\"c-123456\")",
        }
    }

    /// Query `index` of this kind, of one of the `profiles` loaded.
    fn query(self, index: usize, profiles: usize) -> String {
        let mut random = XorShift(splitmix(index as u64 ^ 0xfeed));
        let person = Person::of((random.next() % profiles as u64) as usize);
        let accents = random.next().is_multiple_of(2);
        let spelled = |text: &str| if accents { text.to_owned() } else { fold(text) };
        match self {
            Self::NamePrefix => {
                let letters = 3 + (random.next() % 3) as usize;
                spelled(person.first).chars().take(letters).collect()
            }
            Self::NameAndSurname => {
                let letters = 3 + (random.next() % 3) as usize;
                let surname: String = spelled(person.surname).chars().take(letters).collect();
                format!("{} {surname}", spelled(person.first))
            }
            Self::FullName => spelled(&person.name()),
            Self::SurnameFirst => spelled(&format!(
                "{} {}, {}",
                person.surname, person.second, person.first
            )),
            Self::Email => person.email(),
            Self::Phone => {
                let d = person.phone_digits();
                format!("{} {} {}", &d[..3], &d[3..6], &d[6..])
            }
            Self::UserId => format!("c-{}", person.n),
        }
    }
}

/// Runs the whole benchmark and prints a report.
pub async fn search(options: SearchBenchOptions) -> anyhow::Result<()> {
    // HILO_BENCH_REUSE=DIR searches the database a kept run left in DIR (SQLite,
    // with the same --profiles), without loading it again.
    let reuse = std::env::var_os("HILO_BENCH_REUSE").map(std::path::PathBuf::from);
    let dir = reuse.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!(
            "hilo-bench-search-{}",
            uuid::Uuid::new_v4().simple()
        ))
    });
    std::fs::create_dir_all(&dir)?;
    let result = run(&options, &dir, reuse.is_some()).await;
    // HILO_BENCH_KEEP=1 leaves the database for a closer look.
    if reuse.is_some() || std::env::var_os("HILO_BENCH_KEEP").is_some() {
        println!("data kept in {}", dir.display());
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
    result
}

async fn run(
    options: &SearchBenchOptions,
    dir: &std::path::Path,
    reuse: bool,
) -> anyhow::Result<()> {
    let mut settings = Settings::with_data_dir(dir.join("data"));
    settings.listen = "127.0.0.1:0".parse()?;
    settings.admin_key = Some(hilo_domain::Secret::new(ADMIN_KEY));
    // serve's default pool unless told: on two cores more connections only added
    // PostgreSQL backends switching in and out (thirteenth pass).
    settings.database_max_connections = options.database_max_connections;
    settings.run_workers = true;
    settings.sqlite_cache_mib = options.sqlite_cache_mib;
    let database = match &options.database_url {
        Some(url) => url.parse::<DatabaseUrl>().map_err(anyhow::Error::msg)?,
        None => DatabaseUrl::sqlite_file(dir.join("data/hilo.db")),
    };
    settings.database_url = database.clone();
    println!("# hilo bench search\n");
    println!(
        "engine: {} · profiles: {} · {} concurrent clients · {} searches\n",
        database.engine(),
        options.profiles,
        options.clients,
        options.searches
    );

    let running = server::start(&settings).await?;
    let base = running.addr;
    let (_, write_key) = running
        .hilo
        .access()
        .create_source("Benchmark", SourceChannel::Web)
        .await?;
    let auth = basic_auth(write_key.expose());
    let bearer = format!("Authorization: Bearer {ADMIN_KEY}\r\n");

    // On PostgreSQL, statistics are refreshed every few seconds while the tables fill,
    // as autovacuum does on a running instance (it may be off on a test machine, and
    // then the feed's consumers plan their reads for empty tables).
    let analyser = matches!(running.hilo.store(), hilo_store::Store::Postgres(_)).then(|| {
        let store = running.hilo.store().clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(10)).await;
                let _ = store.refresh_statistics().await;
            }
        })
    });

    // Load: one identify per profile, 500 a batch, as a site's backend would send them.
    const BATCH: usize = 500;
    let profiles = options.profiles.max(1);
    let started = Instant::now();
    let batches = if reuse { 0 } else { profiles.div_ceil(BATCH) };
    drive(base, 4, batches, move |index| {
        let from = index * BATCH;
        let to = (from + BATCH).min(profiles);
        let mut body = String::with_capacity((to - from) * 220 + 32);
        body.push_str(r#"{"batch":["#);
        for n in from..to {
            if n > from {
                body.push(',');
            }
            Person::of(n).identify(&mut body);
        }
        body.push_str("]}");
        (
            "POST",
            "/v1/batch".to_owned(),
            auth.clone(),
            body.into_bytes(),
        )
    })
    .await?;
    let loaded = started.elapsed();
    println!(
        "load: {profiles} profiles in {:.1} s ({:.0} profiles/s, each with a name, email, phone and city)",
        loaded.as_secs_f64(),
        profiles as f64 / loaded.as_secs_f64()
    );
    while running.hilo.customers().search_index_behind().await? {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let indexed = started.elapsed();
    println!(
        "index: caught up {:.1} s after the last batch was acknowledged ({:.0} profiles/s from the first)",
        (indexed - loaded).as_secs_f64(),
        profiles as f64 / indexed.as_secs_f64()
    );
    if let Some(analyser) = analyser {
        analyser.abort();
    }
    // As autovacuum would once the tables stop growing (it may be off on a test
    // machine; Hilo warns of it at start).
    let vacuumed = Instant::now();
    running.hilo.store().vacuum().await?;
    println!(
        "vacuum and statistics: {:.1} s",
        vacuumed.elapsed().as_secs_f64()
    );

    // Every kind of query finds the person it was made from before anything is timed.
    let mut connection = Connection::open(base).await?;
    for kind in KINDS {
        for index in 0..20 {
            let q = kind.query(index, profiles);
            let path = format!("/api/v1/customers?q={}&limit=20", encode(&q));
            let (status, body) = connection.request("GET", &path, &bearer, &[]).await?;
            anyhow::ensure!(status == 200, "{path} answered {status}");
            let body: Value = serde_json::from_slice(&body)?;
            let found = body["data"].as_array().map_or(0, Vec::len);
            anyhow::ensure!(found > 0, "{q:?} ({}) found nobody", kind.label());
        }
    }

    let clients = options.clients;
    let per_kind = (options.searches / KINDS.len()).max(clients);
    let (healthz_rate, healthz) = drive(base, clients, per_kind, |_| {
        ("GET", "/healthz".to_owned(), String::new(), Vec::new())
    })
    .await?;
    println!(
        "\n(a) bare HTTP round trips: {healthz_rate:.0}/s, p50 {:.1} ms, p99 {:.1} ms",
        healthz.p50_ms, healthz.p99_ms
    );
    let (lookup_rate, lookup) = drive(base, clients, per_kind, {
        let bearer = bearer.clone();
        move |index| {
            let n = splitmix(index as u64) as usize % profiles;
            (
                "GET",
                format!("/api/v1/customers/lookup?type=user_id&value=c-{n}"),
                bearer.clone(),
                Vec::new(),
            )
        }
    })
    .await?;
    println!(
        "(b) profile read by identifier: {lookup_rate:.0}/s, p50 {:.1} ms, p99 {:.1} ms\n",
        lookup.p50_ms, lookup.p99_ms
    );

    let search_of = |kinds: Arc<Vec<Typed>>| {
        let bearer = bearer.clone();
        move |index: usize| {
            let kind = kinds[index % kinds.len()];
            let q = kind.query(index, profiles);
            (
                "GET",
                format!("/api/v1/customers?q={}&limit=20", encode(&q)),
                bearer.clone(),
                Vec::new(),
            )
        }
    };
    println!("searches, {clients} clients, 20 results a page:");
    for kind in KINDS {
        let (rate, latency) =
            drive(base, clients, per_kind, search_of(Arc::new(vec![kind]))).await?;
        print_row(kind.label(), rate, latency);
    }
    let (rate, latency) = drive(
        base,
        clients,
        options.searches,
        search_of(Arc::new(KINDS.to_vec())),
    )
    .await?;
    print_row("all kinds mixed", rate, latency);

    let (rss, peak) = memory();
    println!(
        "\nmemory: resident {rss} MB, peak {peak} MB (whole process: server and load generator)"
    );
    running.stop().await?;
    Ok(())
}

fn print_row(label: &str, rate: f64, latency: Latency) {
    println!(
        "  {label:<48} {rate:>6.0}/s  p50 {:>6.1} ms  p99 {:>6.1} ms",
        latency.p50_ms, latency.p99_ms
    );
}

/// Percent-encodes a query value.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn people_are_valid_json_and_queries_are_of_them() {
        let mut text = String::new();
        Person::of(12).identify(&mut text);
        let message: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        assert_eq!(message["userId"], "c-12");
        assert_eq!(message["traits"]["phone"], "+34 600000012");
        assert_eq!(Typed::UserId.query(3, 1), "c-0");
        assert_eq!(Typed::Phone.query(3, 1), "600 000 000");
        assert_eq!(encode("José g@x"), "Jos%C3%A9%20g%40x");
    }
}
