//! `hilo bench ingest`: a load generator that drives the real collection API and, in
//! the same run, measures the limits it is compared with, so results stay comparable on
//! a shared machine whose speed drifts:
//!
//! - (a) the write limit: the same number of rows of the same size, appended by a bare
//!   prepared-insert loop, 1,000 rows a transaction, into a fresh table with an integer
//!   key and no other index, on the same engine with the same durability settings;
//! - (b) the bare HTTP round-trip rate of a trivial endpoint (`/healthz`).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use hilo_domain::SourceChannel;
use hilo_store::{ConnectOptions, DatabaseUrl, Store};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::config::Settings;
use crate::server;

mod browser;
pub mod commerce;
pub mod conversations;
pub mod search;

/// What to run.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    pub messages: usize,
    pub customers: usize,
    pub batch: usize,
    pub batch_clients: usize,
    pub single_requests: usize,
    pub single_clients: usize,
    /// PostgreSQL server to run on; SQLite in a temporary folder when absent.
    pub database_url: Option<String>,
    /// Run the server's background workers (jobs, feed consumers), as `serve` does;
    /// `--no-workers` measures ingestion alone.
    pub workers: bool,
    /// SQLite: page cache of each pool connection, in MiB (`--sqlite-cache-mib`).
    pub sqlite_cache_mib: u32,
}

const ADMIN_KEY: &str = "bench-admin-key-0123456789abcdefghijkl";

/// Runs the whole benchmark and prints a report.
pub async fn ingest(options: BenchOptions) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("hilo-bench-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir)?;
    let result = run(&options, &dir).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn run(options: &BenchOptions, dir: &std::path::Path) -> anyhow::Result<()> {
    let mut settings = Settings::with_data_dir(dir.join("data"));
    settings.listen = "127.0.0.1:0".parse()?;
    settings.admin_key = Some(hilo_domain::Secret::new(ADMIN_KEY));
    settings.database_max_connections = 16;
    settings.run_workers = options.workers;
    settings.sqlite_cache_mib = options.sqlite_cache_mib;
    let (database, bare_url) = match &options.database_url {
        Some(url) => (
            url.parse::<DatabaseUrl>().map_err(anyhow::Error::msg)?,
            url.parse::<DatabaseUrl>().map_err(anyhow::Error::msg)?,
        ),
        None => (
            DatabaseUrl::sqlite_file(dir.join("data/hilo.db")),
            DatabaseUrl::sqlite_file(dir.join("bare/bare.db")),
        ),
    };
    settings.database_url = database.clone();
    println!("# hilo bench ingest\n");
    println!(
        "engine: {} · messages: {} · customers: {} · batch: {} × {} clients · single: {} requests × {} clients\n",
        database.engine(),
        options.messages,
        options.customers,
        options.batch,
        options.batch_clients,
        options.single_requests,
        options.single_clients
    );

    let workload = Workload::new(options.customers, options.messages);
    let average_size = workload.average_size();

    // (a) The write limit.
    let bare = bare_insert_rate(&bare_url, options.messages, average_size, 1_000).await?;
    println!(
        "(a) bare insert loop: {:.0} rows/s ({} rows of {} bytes, 1,000 a transaction)",
        bare, options.messages, average_size
    );

    let running = server::start(&settings).await?;
    let base = running.addr;
    let (_, write_key) = running
        .hilo
        .access()
        .create_source("Benchmark", SourceChannel::Web)
        .await?;
    let auth = basic_auth(write_key.expose());

    // (b) The HTTP round-trip limit.
    let round_trips = options.single_requests.min(100_000);
    let (http_rate, _) = drive(base, options.single_clients, round_trips, |_| {
        ("GET", "/healthz".to_owned(), String::new(), Vec::new())
    })
    .await?;
    println!(
        "(b) bare HTTP round trips (GET /healthz): {http_rate:.0} requests/s with {} clients\n",
        options.single_clients
    );

    // Batches of a realistic mix.
    let workload = Arc::new(workload);
    let batches = options.messages.div_ceil(options.batch);
    let started = Instant::now();
    let (batch_rate, batch_latency) = {
        let workload = workload.clone();
        let auth = auth.clone();
        let batch = options.batch;
        drive(base, options.batch_clients, batches, move |index| {
            let from = index * batch;
            let to = (from + batch).min(workload.len());
            (
                "POST",
                "/v1/batch".to_owned(),
                auth.clone(),
                workload.batch_body(from, to).into_bytes(),
            )
        })
        .await?
    };
    let elapsed = started.elapsed();
    let messages_per_second = options.messages as f64 / elapsed.as_secs_f64();
    println!(
        "batches: {messages_per_second:.0} messages/s ({:.0} batches/s), {:.1}% of the write limit (a)",
        batch_rate,
        100.0 * messages_per_second / bare
    );
    println!(
        "         batch latency p50 {:.1} ms, p99 {:.1} ms",
        batch_latency.p50_ms, batch_latency.p99_ms
    );

    // A profile read right after the 200 reflects the message.
    let fresh = format!("bench-fresh-{}", uuid::Uuid::new_v4().simple());
    let mut connection = Connection::open(base).await?;
    let body =
        json!({"userId": fresh, "traits": {"email": format!("{fresh}@example.com")}}).to_string();
    let (status, _) = connection
        .request("POST", "/v1/identify", &auth, body.as_bytes())
        .await?;
    anyhow::ensure!(status == 200, "identify answered {status}");
    let (status, _) = connection
        .request(
            "GET",
            &format!("/api/v1/customers/lookup?type=user_id&value={fresh}"),
            &format!("Authorization: Bearer {ADMIN_KEY}\r\n"),
            &[],
        )
        .await?;
    println!(
        "read after write: {}",
        if status == 200 {
            "the profile reflects the message at once"
        } else {
            "NOT REFLECTED"
        }
    );

    // One message per request, as browser SDKs send.
    let singles = Arc::new(Workload::new(options.customers, options.single_requests));
    let (single_rate, single_latency) = {
        let auth = auth.clone();
        drive(
            base,
            options.single_clients,
            options.single_requests,
            move |index| {
                let mut body = String::with_capacity(512);
                singles.render(index, Mix::TrackOnly, &mut body);
                (
                    "POST",
                    "/v1/track".to_owned(),
                    auth.clone(),
                    body.into_bytes(),
                )
            },
        )
        .await?
    };
    println!(
        "single-message requests: {single_rate:.0} requests/s with {} clients, p99 {:.1} ms",
        options.single_clients, single_latency.p99_ms
    );

    // Mixed load: ingestion, profile reads and searches at once, as a working instance
    // sees them; memory is read after it. The statistics are brought up to date first,
    // as autovacuum would have done by then on a running instance (it may be off on a
    // test machine, and the tables were empty an instant ago).
    running.hilo.store().refresh_statistics().await?;
    let mixed = options.single_requests;
    let searches = (mixed / 100).max(20);
    let customers = options.customers;
    let bearer = format!("Authorization: Bearer {ADMIN_KEY}\r\n");
    let more = Arc::new(Workload::new(options.customers, mixed));
    let ((track_rate, _), (read_rate, read_latency), (search_rate, search_latency)) = tokio::try_join!(
        drive(base, options.single_clients / 2, mixed, {
            let auth = auth.clone();
            move |index| {
                let mut body = String::with_capacity(512);
                more.render(index + 1_000_000_000, Mix::TrackOnly, &mut body);
                (
                    "POST",
                    "/v1/track".to_owned(),
                    auth.clone(),
                    body.into_bytes(),
                )
            }
        }),
        drive(base, 20, mixed, {
            let bearer = bearer.clone();
            let sent = workload.clone();
            move |index| {
                // A customer the batches sent, so every lookup finds one.
                let customer = sent.customer_of(index % sent.len().max(1));
                (
                    "GET",
                    format!("/api/v1/customers/lookup?type=anonymous_id&value=anon-{customer}"),
                    bearer.clone(),
                    Vec::new(),
                )
            }
        }),
        drive(base, 20, searches, move |index| {
            let customer = splitmix(index as u64 + 7) as usize % customers;
            (
                "GET",
                format!("/api/v1/customers?q=cliente%20{customer}&limit=10"),
                bearer.clone(),
                Vec::new(),
            )
        }),
    )?;
    println!(
        "mixed: {track_rate:.0} tracks/s with profile reads {read_rate:.0}/s (p99 {:.1} ms) \
         and searches {search_rate:.0}/s (p99 {:.1} ms), 20 clients each",
        read_latency.p99_ms, search_latency.p99_ms
    );

    let (rss, peak) = memory();
    println!(
        "memory: resident {rss} MB, peak {peak} MB (whole process: server and load generator)"
    );
    running.stop().await?;
    Ok(())
}

/// The messages of the run, each made from its index, so the generator holds nothing
/// in memory and the measured process is the server. Messages are written as JSON text
/// directly: building them as values and serialising those took a third of the request
/// threads' time, taken from the server being measured.
struct Workload {
    customers: usize,
    count: usize,
}

/// Which messages a workload renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mix {
    /// The realistic mix, for batches.
    Realistic,
    /// Every message a track (as browser SDKs send one per request), with its own ids.
    TrackOnly,
}

impl Workload {
    /// `count` messages across `customers`: 60% track, 20% page, 10% identify (email and
    /// phone), 5% alias, 5% group. 30% of customers are anonymous first and identified
    /// later (in the second half of the run).
    fn new(customers: usize, count: usize) -> Self {
        Self {
            customers: customers.max(1),
            count,
        }
    }

    fn len(&self) -> usize {
        self.count
    }

    /// A batch request's body with messages `from..to`.
    fn batch_body(&self, from: usize, to: usize) -> String {
        let mut body = String::with_capacity((to - from) * 480 + 64);
        body.push_str(r#"{"batch":["#);
        for index in from..to.min(self.count) {
            if index > from {
                body.push(',');
            }
            self.render(index, Mix::Realistic, &mut body);
        }
        body.push_str(r#"],"sentAt":"2026-11-23T12:00:00Z"}"#);
        body
    }

    /// Message `index` as JSON text, appended to `out`. Every value is made here from
    /// digits and fixed words, so none needs escaping.
    fn render(&self, index: usize, mix: Mix, out: &mut String) {
        use std::fmt::Write;
        let mut random = XorShift(splitmix(index as u64));
        let customer = (random.next() as usize) % self.customers;
        let anonymous_first = customer % 10 < 3;
        let identified = !anonymous_first || index * 2 > self.count;
        let roll = random.next() % 100;
        let (kind, stream) = match mix {
            Mix::Realistic => (Kind::of(roll, identified), 0),
            Mix::TrackOnly => (Kind::Track, 1),
        };
        // Written to a String, which cannot fail.
        let _ = match kind {
            Kind::Track => {
                let event = EVENTS[(random.next() % 4) as usize];
                let sku = random.next() % 5000;
                let cents = random.next() % 20000;
                write!(
                    out,
                    r#"{{"type":"track","event":"{event}","properties":{{"sku":"SKU-{sku}","price":{}.{:02},"currency":"EUR"}}"#,
                    cents / 100,
                    cents % 100
                )
            }
            Kind::Page => write!(
                out,
                r#"{{"type":"page","name":"Producto","properties":{{"path":"/p/{}","referrer":"https://www.google.com/"}}"#,
                random.next() % 5000
            ),
            Kind::Identify => write!(
                out,
                r#"{{"type":"identify","traits":{{"email":"user-{customer}@example.com","phone":"+34 6{customer:08}","name":"Cliente {customer}"}}"#
            ),
            Kind::Alias => write!(out, r#"{{"type":"alias","previousId":"anon-{customer}""#),
            Kind::Group => write!(
                out,
                r#"{{"type":"group","groupId":"company-{}","traits":{{"name":"Empresa"}}"#,
                customer % 1000
            ),
            // Identifies later: until then its identify or alias is a visit.
            Kind::Welcome => write!(out, r#"{{"type":"page","name":"Inicio""#),
        };
        let _ = write!(
            out,
            r#","messageId":"{}","anonymousId":"anon-{customer}""#,
            message_id(index, stream)
        );
        if identified {
            let _ = write!(out, r#","userId":"user-{customer}""#);
        }
        out.push_str(concat!(
            r#","originalTimestamp":"2026-11-23T11:59:59.000Z","context":{"#,
            r#""library":{"name":"analytics.js","version":"2.11.1"},"#,
            r#""ip":"203.0.113.7","locale":"es-ES","#,
            r#""userAgent":"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15"}}"#
        ));
    }

    /// The customer message `index` comes from.
    fn customer_of(&self, index: usize) -> usize {
        (XorShift(splitmix(index as u64)).next() as usize) % self.customers
    }

    fn average_size(&self) -> usize {
        let sample = 1000.min(self.count);
        let mut text = String::new();
        for index in 0..sample {
            self.render(index, Mix::Realistic, &mut text);
        }
        text.len().checked_div(sample).unwrap_or(0)
    }
}

/// What a message of the mix is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Track,
    Page,
    Identify,
    Alias,
    Group,
    /// A page view in place of the identify or alias of a customer not identified yet.
    Welcome,
}

impl Kind {
    fn of(roll: u64, identified: bool) -> Self {
        match roll {
            0..=59 => Self::Track,
            60..=79 => Self::Page,
            80..=89 if identified => Self::Identify,
            90..=94 if identified => Self::Alias,
            80..=94 => Self::Welcome,
            _ => Self::Group,
        }
    }
}

/// A random-looking UUIDv4 made from the message's index, as SDKs send: deduplication
/// then writes all over its index, as in production, and a rerun sends the same ids.
fn message_id(index: usize, stream: u64) -> String {
    let high = splitmix((index as u64) ^ (stream << 62));
    let low = splitmix(high);
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&high.to_le_bytes());
    bytes[8..].copy_from_slice(&low.to_le_bytes());
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

fn splitmix(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    (z ^ (z >> 31)) | 1
}

const EVENTS: [&str; 4] = [
    "Product Viewed",
    "Product Added",
    "Checkout Started",
    "Order Completed",
];

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Rows per second of a bare prepared-insert loop, `per_transaction` rows a transaction,
/// into a fresh table with an integer key and no other index.
async fn bare_insert_rate(
    url: &DatabaseUrl,
    rows: usize,
    size: usize,
    per_transaction: usize,
) -> anyhow::Result<f64> {
    let store = Store::connect(&ConnectOptions::new(url.clone(), 1)).await?;
    let elapsed = store
        .bare_insert_loop(rows, &"x".repeat(size), per_transaction)
        .await?;
    store.close().await;
    Ok(rows as f64 / elapsed.as_secs_f64())
}

#[derive(Debug, Clone, Copy)]
struct Latency {
    p50_ms: f64,
    p99_ms: f64,
}

/// Sends `total` requests over `clients` keep-alive connections; returns requests per
/// second and latency percentiles. Every answer must be a success (2xx).
async fn drive<F>(
    addr: std::net::SocketAddr,
    clients: usize,
    total: usize,
    make: F,
) -> anyhow::Result<(f64, Latency)>
where
    F: Fn(usize) -> (&'static str, String, String, Vec<u8>) + Send + Sync + 'static,
{
    let make = Arc::new(make);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients.max(1) {
        let make = make.clone();
        let next = next.clone();
        tasks.push(tokio::spawn(async move {
            let mut connection = Connection::open(addr).await?;
            let mut latencies = Vec::new();
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= total {
                    break;
                }
                let sent = Instant::now();
                connection.succeed(make(index)).await?;
                latencies.push(sent.elapsed());
            }
            Ok::<_, anyhow::Error>(latencies)
        }));
    }
    let latencies = gather(tasks, total).await?;
    let rate = total as f64 / started.elapsed().as_secs_f64();
    Ok((rate, Latency::of(latencies)))
}

/// Every client's latencies.
async fn gather(
    tasks: Vec<tokio::task::JoinHandle<anyhow::Result<Vec<Duration>>>>,
    total: usize,
) -> anyhow::Result<Vec<Duration>> {
    let mut latencies: Vec<Duration> = Vec::with_capacity(total);
    for task in tasks {
        latencies.extend(task.await.context("client task")??);
    }
    Ok(latencies)
}

impl Latency {
    fn of(mut latencies: Vec<Duration>) -> Self {
        latencies.sort_unstable();
        let percentile = |p: f64| {
            latencies
                .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
                .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
        };
        Self {
            p50_ms: percentile(0.50),
            p99_ms: percentile(0.99),
        }
    }
}

/// Sends `total` requests at a steady `rate` a second over `clients` keep-alive
/// connections (request `i` due at `i / rate` seconds, on connection `i % clients`), as
/// shoppers arrive whatever the server is doing; returns the rate achieved and the
/// latency percentiles, each counted from when its request was due, so a request that
/// waited for its connection counts its wait. Every answer must be a success (2xx).
async fn drive_paced<F>(
    addr: std::net::SocketAddr,
    clients: usize,
    rate: usize,
    total: usize,
    make: F,
) -> anyhow::Result<(f64, Latency)>
where
    F: Fn(usize) -> (&'static str, String, String, Vec<u8>) + Send + Sync + 'static,
{
    let make = Arc::new(make);
    let clients = clients.max(1);
    let interval = 1.0 / rate.max(1) as f64;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for client in 0..clients {
        let make = make.clone();
        tasks.push(tokio::spawn(async move {
            let mut connection = Connection::open(addr).await?;
            let mut latencies = Vec::new();
            for index in (client..total).step_by(clients) {
                let due = started + Duration::from_secs_f64(index as f64 * interval);
                tokio::time::sleep_until(due.into()).await;
                connection.succeed(make(index)).await?;
                latencies.push(due.elapsed());
            }
            Ok::<_, anyhow::Error>(latencies)
        }));
    }
    let latencies = gather(tasks, total).await?;
    let achieved = total as f64 / started.elapsed().as_secs_f64();
    Ok((achieved, Latency::of(latencies)))
}

/// A minimal HTTP/1.1 keep-alive client: enough for a load generator, with nothing in the
/// way of measuring the server.
struct Connection {
    stream: BufReader<TcpStream>,
}

impl Connection {
    /// Sends a request; an error unless it succeeds (2xx).
    async fn succeed(
        &mut self,
        (method, path, headers, body): (&'static str, String, String, Vec<u8>),
    ) -> anyhow::Result<()> {
        let (status, answer) = self.request(method, &path, &headers, &body).await?;
        anyhow::ensure!(
            (200..300).contains(&status),
            "{method} {path} answered {status}: {}",
            String::from_utf8_lossy(&answer)
        );
        Ok(())
    }

    async fn open(addr: std::net::SocketAddr) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Self {
            stream: BufReader::new(stream),
        })
    }

    async fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &str,
        body: &[u8],
    ) -> anyhow::Result<(u16, Vec<u8>)> {
        self.request_typed(method, path, headers, "application/json", body)
            .await
    }

    async fn request_typed(
        &mut self,
        method: &str,
        path: &str,
        headers: &str,
        content_type: &str,
        body: &[u8],
    ) -> anyhow::Result<(u16, Vec<u8>)> {
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: bench\r\n{headers}Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        let stream = self.stream.get_mut();
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(body).await?;
        let mut line = String::new();
        self.stream.read_line(&mut line).await?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .context("bad status line")?;
        let mut length = 0usize;
        loop {
            line.clear();
            self.stream.read_line(&mut line).await?;
            let trimmed = line.trim_end();
            if trimmed.is_empty() {
                break;
            }
            if let Some((name, value)) = trimmed.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut answer = vec![0u8; length];
        self.stream.read_exact(&mut answer).await?;
        Ok((status, answer))
    }
}

fn basic_auth(key: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let input = format!("{key}:");
    let bytes = input.as_bytes();
    let mut encoded = String::new();
    for chunk in bytes.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= chunk.len() {
                encoded.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                encoded.push('=');
            }
        }
    }
    format!("Authorization: Basic {encoded}\r\n")
}

/// Resident and peak resident memory of this process, in MB.
fn memory() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<u64>().ok())
            .map_or(0, |kb| kb / 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use std::collections::HashMap;

    fn parsed(workload: &Workload, index: usize, mix: Mix) -> Value {
        let mut text = String::new();
        workload.render(index, mix, &mut text);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("message {index}: {e}: {text}"))
    }

    #[test]
    fn the_mix_is_valid_json_in_the_stated_shares() {
        let workload = Workload::new(1_000, 20_000);
        let mut counts: HashMap<String, usize> = HashMap::new();
        for index in 0..workload.len() {
            let message = parsed(&workload, index, Mix::Realistic);
            assert!(message["anonymousId"].is_string(), "{message}");
            let kind = message["type"].as_str().unwrap_or_default().to_owned();
            if matches!(kind.as_str(), "identify" | "alias") {
                assert!(message["userId"].is_string(), "{message}");
            }
            *counts.entry(kind).or_default() += 1;
        }
        let share = |kind: &str| 100 * counts.get(kind).copied().unwrap_or(0) / workload.len();
        assert!((57..=63).contains(&share("track")), "{counts:?}");
        // Pages include the visits of customers who identify later.
        assert!((21..=27).contains(&share("page")), "{counts:?}");
        assert!((7..=10).contains(&share("identify")), "{counts:?}");
        assert!((3..=5).contains(&share("alias")), "{counts:?}");
        assert!((4..=6).contains(&share("group")), "{counts:?}");
    }

    #[test]
    fn batches_and_single_tracks_parse_with_distinct_ids() {
        let workload = Workload::new(100, 1_000);
        let batch: Value = serde_json::from_str(&workload.batch_body(990, 1_010)).expect("json");
        assert_eq!(batch["batch"].as_array().map(Vec::len), Some(10));
        let single = parsed(&workload, 3, Mix::TrackOnly);
        assert_eq!(single["type"], "track");
        assert_ne!(
            single["messageId"],
            parsed(&workload, 3, Mix::Realistic)["messageId"]
        );
    }
}
