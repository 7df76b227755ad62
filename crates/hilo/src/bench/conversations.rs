//! `hilo bench conversations`: the conversations part under load, with the limits it is
//! compared with measured in the same run.
//!
//! - (a) bare HTTP round trips (`GET /healthz`) over the same clients;
//! - live delivery: signed Twilio webhooks at a steady rate, each a new message, and an
//!   agent subscribed to `/api/v1/live`: how long from each webhook's sending to its
//!   `message.created` event reaching the agent;
//! - widget sockets: many web chat visitors connected at once (opened by a second
//!   process, `hilo bench sockets`, so each process stays within its file limit and the
//!   server's memory is measured alone);
//! - the inbox list for an agent at scale: a large inbox written straight into the
//!   tables, then listed by many clients with the filters agents use;
//! - the console's pages rendered on the server for a signed-in agent: the inbox, and a
//!   conversation of 1,000 messages (sent first as webhooks from one number);
//! - with `--chromium`, the console in a headless browser: the inbox's first contentful
//!   paint (beside a one-word page's, the browser's own floor) and how soon a webhook's
//!   message shows in an open inbox after its 200.

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use hilo_domain::Role;
use hilo_store::DatabaseUrl;
use hilo_store::conversations::SampleInbox;
use serde_json::{Map, Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::Mutex;

use super::browser::Chromium;
use super::{ADMIN_KEY, Latency, drive, memory};
use crate::config::Settings;
use crate::server;

/// What to run.
#[derive(Debug, Clone)]
pub struct ConversationsBenchOptions {
    pub conversations: usize,
    pub messages_per_conversation: usize,
    pub sockets: usize,
    pub webhooks: usize,
    /// Webhooks a second.
    pub rate: usize,
    /// Distinct numbers the webhooks come from (fewer than webhooks: most messages are
    /// from customers known already).
    pub senders: usize,
    /// Concurrent clients listing the inbox.
    pub clients: usize,
    /// A Chromium to open the console in.
    pub chromium: Option<std::path::PathBuf>,
    pub database_url: Option<String>,
    pub sqlite_cache_mib: u32,
    /// The pool's size (serve's default unless `--database-max-connections`).
    pub database_max_connections: u32,
}

const AUTH_TOKEN: &str = "bench-auth-token-0123456789abcdef";
const ACCOUNT: &str = "AC00000000000000000000000000000000";

pub async fn conversations(options: ConversationsBenchOptions) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!(
        "hilo-bench-conversations-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir)?;
    let result = run(&options, &dir).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// The inbox's customers: one for ten conversations, and never fewer than the numbers
/// the webhooks come from. A server taking a thousand messages a second from new
/// customers already has many: an inbox of a hundred customers would have its tables
/// grow eighty-fold during the measurement, which no server in service sees.
fn sample_customers(options: &ConversationsBenchOptions) -> usize {
    (options.conversations / 10).max(options.senders).max(1)
}

async fn run(options: &ConversationsBenchOptions, dir: &std::path::Path) -> anyhow::Result<()> {
    let mut settings = Settings::with_data_dir(dir.join("data"));
    settings.listen = "127.0.0.1:0".parse()?;
    settings.admin_key = Some(hilo_domain::Secret::new(ADMIN_KEY));
    settings.database_max_connections = options.database_max_connections;
    settings.run_workers = false;
    settings.sqlite_cache_mib = options.sqlite_cache_mib;
    settings.database_url = match &options.database_url {
        Some(url) => url.parse::<DatabaseUrl>().map_err(anyhow::Error::msg)?,
        None => DatabaseUrl::sqlite_file(dir.join("data/hilo.db")),
    };
    println!("# hilo bench conversations\n");
    println!(
        "engine: {} · inbox: {} customers, {} conversations × {} messages · {} sockets · {} webhooks at {}/s from {} numbers\n",
        settings.database_url.engine(),
        sample_customers(options),
        options.conversations,
        options.messages_per_conversation,
        options.sockets,
        options.webhooks,
        options.rate,
        options.senders,
    );
    let running = server::start(&settings).await?;
    let base = running.addr;
    let hilo = running.hilo.clone();
    let bearer = format!("Authorization: Bearer {ADMIN_KEY}\r\n");

    // (a) The HTTP round-trip limit.
    let (http_rate, http) = drive(base, 20, 20_000, |_| {
        ("GET", "/healthz".to_owned(), String::new(), Vec::new())
    })
    .await?;
    println!(
        "(a) bare HTTP round trips (GET /healthz): {http_rate:.0}/s, p99 {:.1} ms with 20 clients",
        http.p99_ms
    );

    let settings_of = |value: Value| value.as_object().cloned().unwrap_or_else(Map::new);
    let sms = hilo
        .channels()
        .create(
            "twilio_sms",
            "Bench SMS",
            &settings_of(json!({"account_sid": ACCOUNT, "auth_token": AUTH_TOKEN,
                                "phone_number": "+34910000001", "api_base_url": "http://127.0.0.1:9"})),
        )
        .await?;
    let hook_url = sms
        .channel
        .webhook_url
        .clone()
        .context("an SMS channel has a webhook URL")?;
    let chat = hilo
        .channels()
        .create("web_chat", "Bench chat", &Map::new())
        .await?;

    // The inbox, written first: webhooks then arrive at a server with history, its
    // tables' statistics known, as they would be in use.
    let mut agents = Vec::new();
    for n in 0..5 {
        let user = hilo
            .access()
            .create_user(
                &format!("agent{n}@bench.example"),
                &format!("Agent {n}"),
                Role::Agent,
                &hilo_domain::Secret::new("bench password 0123"),
            )
            .await?;
        agents.push(user.id);
    }
    let started = Instant::now();
    let rows = hilo
        .store()
        .load_sample_inbox(&SampleInbox {
            customers: sample_customers(options),
            conversations: options.conversations,
            messages_per_conversation: options.messages_per_conversation,
            channel: sms.channel.id,
            agents: agents.clone(),
            now: hilo.now(),
        })
        .await?;
    println!(
        "inbox written: {rows} rows in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    // Settled as a server in service is: statistics and visibility as autovacuum
    // leaves them (it is off on some machines), and the load's pages on disk, so its
    // write-back does not land in the measurement.
    let started = Instant::now();
    hilo.store().vacuum().await?;
    hilo.store().checkpoint().await?;
    println!(
        "inbox settled (VACUUM ANALYZE, CHECKPOINT): {:.1} s",
        started.elapsed().as_secs_f64()
    );
    // Live delivery of signed webhooks to a subscribed agent.
    let delivery = live_delivery(
        base,
        &hook_url,
        options.webhooks,
        options.rate,
        options.senders,
    )
    .await?;
    if let Some(first) = &delivery.warm_up {
        println!(
            "webhooks, the first second (a cold pool; not counted below): \
             the agent's live event p50 {:.1} ms, p99 {:.1} ms",
            first.p50_ms, first.p99_ms
        );
    }
    println!(
        "webhooks: {:.0}/s signed and stored (answer p99 {:.1} ms); \
         the agent's live event after sending: p50 {:.1} ms, p99 {:.1} ms",
        delivery.sent_rate, delivery.answers.p99_ms, delivery.live.p50_ms, delivery.live.p99_ms
    );

    // Widget sockets held at once.
    if options.sockets > 0 {
        let (before, _) = memory();
        let mut holder = tokio::process::Command::new(std::env::current_exe()?)
            .args([
                "bench",
                "sockets",
                "--addr",
                &base.to_string(),
                "--channel",
                &chat.channel.id.to_string(),
                "--count",
                &options.sockets.to_string(),
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("start the socket holder")?;
        let mut lines = BufReader::new(holder.stdout.take().context("stdout")?).lines();
        let opened = tokio::time::timeout(Duration::from_secs(300), lines.next_line())
            .await
            .context("the sockets did not open within five minutes")??
            .unwrap_or_default();
        tokio::time::sleep(Duration::from_secs(2)).await;
        let (with, _) = memory();
        println!(
            "widget sockets: {opened}; server resident memory {before} MB before, {with} MB \
             with them ({:.1} KB a socket)",
            (with.saturating_sub(before)) as f64 * 1024.0 / options.sockets as f64
        );
        drop(holder);
    }

    // The inbox list at scale.
    let agent = agents[0];
    let kinds: [(&str, String); 4] = [
        (
            "everything, newest first",
            "/api/v1/conversations?limit=25".into(),
        ),
        ("open", "/api/v1/conversations?status=open&limit=25".into()),
        (
            "an agent's open",
            format!("/api/v1/conversations?status=open&assignee={agent}&limit=25"),
        ),
        (
            "unassigned",
            "/api/v1/conversations?unassigned=true&limit=25".into(),
        ),
    ];
    let lists = 2_000;
    for (label, path) in &kinds {
        let path = path.clone();
        let bearer = bearer.clone();
        let (rate, latency) = drive(base, options.clients, lists, move |_| {
            ("GET", path.clone(), bearer.clone(), Vec::new())
        })
        .await?;
        println!(
            "inbox list, {label}: {rate:.0}/s, p50 {:.1} ms, p99 {:.1} ms with {} clients",
            latency.p50_ms, latency.p99_ms, options.clients
        );
    }
    console_pages(base, &hilo, &hook_url, options).await?;
    if let Some(program) = &options.chromium {
        in_the_browser(program, &dir.join("chromium"), base, &hilo, &hook_url).await?;
    }
    let (rss, peak) = memory();
    println!("memory: resident {rss} MB, peak {peak} MB");
    running.stop().await?;
    Ok(())
}

/// An SMS as Twilio posts it to `hook_url`: the signature header and the form.
fn twilio_sms(hook_url: &str, from: &str, sid: String, body: String) -> (String, String) {
    let params = vec![
        ("AccountSid".to_owned(), ACCOUNT.to_owned()),
        ("Body".to_owned(), body),
        ("From".to_owned(), from.to_owned()),
        ("MessageSid".to_owned(), sid),
        ("To".to_owned(), "+34910000001".to_owned()),
    ];
    let signature = hilo_domain::conversations::twilio::signature(AUTH_TOKEN, hook_url, &params);
    let form = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.iter())
        .finish();
    (format!("X-Twilio-Signature: {signature}\r\n"), form)
}

/// Posts a signed form; the status and the answer.
async fn post_form(
    connection: &mut super::Connection,
    path: &str,
    headers: &str,
    form: &str,
) -> anyhow::Result<(u16, Vec<u8>)> {
    connection
        .request_typed(
            "POST",
            path,
            headers,
            "application/x-www-form-urlencoded",
            form.as_bytes(),
        )
        .await
}

/// Messages in the long conversation the console renders.
const LONG_CONVERSATION: usize = 1_000;

/// Times the console's pages as an agent's browser asks for them: the inbox, and a
/// conversation of a thousand messages, each rendered whole on the server.
async fn console_pages(
    base: std::net::SocketAddr,
    hilo: &hilo_app::Hilo,
    hook_url: &str,
    options: &ConversationsBenchOptions,
) -> anyhow::Result<()> {
    let clients = options.clients;
    let number = "+34699000001";
    let path = hook_url
        .split_once("/webhooks/")
        .map(|(_, rest)| format!("/webhooks/{rest}"))
        .context("a webhook path")?;
    let mut connection = super::Connection::open(base).await?;
    for index in 0..LONG_CONVERSATION {
        let (headers, form) = twilio_sms(
            hook_url,
            number,
            format!("SMlong{index:026}"),
            format!(
                "Mensaje {index} de una conversación larga: ¿me confirmáis el cambio de talla?"
            ),
        );
        let (status, _) = post_form(&mut connection, &path, &headers, &form).await?;
        anyhow::ensure!(
            status == 200,
            "the long conversation's webhook answered {status}"
        );
    }
    let customer = hilo.customers().lookup("phone", number).await?;
    let filter = hilo_store::conversations::ConversationFilter {
        customer: Some(customer.id),
        ..Default::default()
    };
    let page = hilo_domain::PageRequest {
        limit: 1,
        after: None,
    };
    let conversation = hilo
        .conversations()
        .list(filter, &page)
        .await?
        .items
        .first()
        .map(|c| c.id)
        .context("the long conversation")?;
    let session = hilo
        .access()
        .login(
            "agent0@bench.example",
            &hilo_domain::Secret::new("bench password 0123"),
            "127.0.0.1",
        )
        .await?;
    let cookie = format!("Cookie: hilo_session={}\r\n", session.token.expose());
    let pages = [
        (
            "the inbox (open, 50 a page)",
            "/console/inbox?status=open".to_owned(),
        ),
        (
            "the inbox, everything",
            "/console/inbox?status=all".to_owned(),
        ),
        (
            "a conversation of 1,000 messages",
            format!("/console/conversations/{conversation}"),
        ),
        // Every sample message says "talla"; each names its conversation's number.
        (
            "the inbox searched for a word every message has",
            "/console/inbox?status=all&q=talla".to_owned(),
        ),
        (
            "the inbox searched for one conversation's number",
            format!("/console/inbox?status=all&q={}", options.conversations / 2),
        ),
        (
            "the inbox searched for a word no message has",
            "/console/inbox?status=all&q=zapatos".to_owned(),
        ),
    ];
    for (label, path) in pages {
        let cookie = cookie.clone();
        let (rate, latency) = drive(base, clients.min(4), 200, move |_| {
            ("GET", path.clone(), cookie.clone(), Vec::new())
        })
        .await?;
        println!(
            "console page, {label}: {rate:.0}/s, p50 {:.1} ms, p99 {:.1} ms rendered on the server",
            latency.p50_ms, latency.p99_ms
        );
    }
    Ok(())
}

/// Page loads timed in the browser, and webhooks whose arrival is watched.
const BROWSER_LOADS: usize = 10;
const BROWSER_UPDATES: usize = 20;

/// The console in a headless Chromium, signed in as an agent: the inbox's first
/// contentful paint beside a one-word page's (the browser's floor on this machine now),
/// then webhooks from new numbers, each timed from its 200 to its row in the open inbox
/// (the live event, the list fragment fetched again and put in the page).
async fn in_the_browser(
    program: &std::path::Path,
    profile: &std::path::Path,
    base: std::net::SocketAddr,
    hilo: &hilo_app::Hilo,
    hook_url: &str,
) -> anyhow::Result<()> {
    let session = hilo
        .access()
        .login(
            "agent1@bench.example",
            &hilo_domain::Secret::new("bench password 0123"),
            "127.0.0.1",
        )
        .await?;
    let mut browser = Chromium::start(program, profile).await?;
    let origin = format!("http://{base}");
    browser
        .call(
            "Network.setCookie",
            json!({"name": "hilo_session", "value": session.token.expose(), "url": origin,
                   "httpOnly": true}),
        )
        .await?;
    let inbox = format!("{origin}/console/inbox");
    let mut floor = Vec::new();
    let mut paints = Vec::new();
    for _ in 0..BROWSER_LOADS {
        floor.push(browser.first_paint("data:text/html,Hilo").await?);
        paints.push(browser.first_paint(&inbox).await?);
    }
    let (floor, paints) = (milliseconds(floor), milliseconds(paints));
    println!(
        "console in Chromium: the inbox's first contentful paint p50 {:.0} ms, worst {:.0} ms \
         ({BROWSER_LOADS} loads); a one-word page's p50 {:.0} ms, worst {:.0} ms",
        paints.p50_ms, paints.p99_ms, floor.p50_ms, floor.p99_ms
    );

    // Rows that show in the list are stamped with the page's clock (the same system
    // clock as this one's), so polling adds nothing to what is measured.
    browser
        .eval(
            "window.hiloWanted = ''; window.hiloSeen = {}; \
             new MutationObserver(() => { const list = document.getElementById('inbox-list'); \
             const wanted = window.hiloWanted; \
             if (wanted && !window.hiloSeen[wanted] && list && list.textContent.includes(wanted)) \
             { window.hiloSeen[wanted] = performance.timeOrigin + performance.now(); } }) \
             .observe(document.body, {childList: true, subtree: true}); true",
        )
        .await?;
    let path = hook_url
        .split_once("/webhooks/")
        .map(|(_, rest)| format!("/webhooks/{rest}"))
        .context("a webhook path")?;
    let mut connection = super::Connection::open(base).await?;
    let mut shown = Vec::new();
    for index in 0..BROWSER_UPDATES {
        let number = format!("+34677{index:06}");
        browser
            .eval(&format!("window.hiloWanted = '{number}'; true"))
            .await?;
        let (headers, form) = twilio_sms(
            hook_url,
            &number,
            format!("SMbrowser{index:023}"),
            "¿Tenéis esta chaqueta en azul?".to_owned(),
        );
        let (status, _) = post_form(&mut connection, &path, &headers, &form).await?;
        let answered = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs_f64()
            * 1000.0;
        anyhow::ensure!(status == 200, "the webhook answered {status}");
        let seen = browser
            .wait_for(
                &format!("window.hiloSeen['{number}'] || null"),
                Duration::from_secs(30),
            )
            .await?
            .as_f64()
            .context("a time")?;
        shown.push((seen - answered).max(0.0));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let shown = milliseconds(shown);
    println!(
        "console in Chromium: a webhook's message in the open inbox after its 200: \
         p50 {:.0} ms, worst {:.0} ms ({BROWSER_UPDATES} webhooks)",
        shown.p50_ms, shown.p99_ms
    );
    Ok(())
}

/// Times in milliseconds as the median and the worst.
fn milliseconds(mut values: Vec<f64>) -> Latency {
    values.sort_by(f64::total_cmp);
    Latency {
        p50_ms: values.get(values.len() / 2).copied().unwrap_or(0.0),
        p99_ms: values.last().copied().unwrap_or(0.0),
    }
}

/// How webhooks went: the rate achieved, the send-to-event latencies of the first
/// second (when measured apart) and of the rest, and the rest's answer latencies.
struct Delivery {
    sent_rate: f64,
    warm_up: Option<Latency>,
    live: Latency,
    answers: Latency,
}

/// The webhooks of the first second, measured apart when at least two seconds are
/// sent: a node just started opens its pool's connections and prepares its statements
/// on each as the first messages come, which a node in service has done long before.
fn warm_up(count: usize, rate: usize) -> usize {
    if count >= 2 * rate { rate } else { 0 }
}

/// Posts `count` signed Twilio webhooks at `rate` a second, each a new customer's
/// message, while an agent listens on `/api/v1/live`.
async fn live_delivery(
    base: std::net::SocketAddr,
    hook_url: &str,
    count: usize,
    rate: usize,
    senders: usize,
) -> anyhow::Result<Delivery> {
    let arrivals: Arc<Mutex<HashMap<usize, Instant>>> = Arc::default();
    let listener = {
        let arrivals = arrivals.clone();
        let mut stream = TcpStream::connect(base).await?;
        stream
            .write_all(
                format!(
                    "GET /api/v1/live HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {ADMIN_KEY}\r\n\r\n"
                )
                .as_bytes(),
            )
            .await?;
        tokio::spawn(async move {
            let mut reader = BufReader::new(stream);
            let mut line = String::new();
            while reader.read_line(&mut line).await.unwrap_or(0) > 0 {
                if let Some(at) = line.find("bench-message-") {
                    let digits: String = line[at + 14..]
                        .chars()
                        .take_while(char::is_ascii_digit)
                        .collect();
                    if let Ok(index) = digits.parse::<usize>() {
                        arrivals
                            .lock()
                            .await
                            .entry(index)
                            .or_insert_with(Instant::now);
                    }
                }
                line.clear();
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let path = hook_url
        .split_once("/webhooks/")
        .map(|(_, rest)| format!("/webhooks/{rest}"))
        .context("a webhook path")?;
    let sent: Arc<Mutex<HashMap<usize, Instant>>> = Arc::default();
    let started = Instant::now();
    let clients = 64.min(count.max(1));
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let next = next.clone();
        let sent = sent.clone();
        let path = path.clone();
        let hook_url = hook_url.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut connection = super::Connection::open(base).await?;
            let mut answers = Vec::new();
            loop {
                let index = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if index >= count {
                    break;
                }
                let due = started + Duration::from_secs_f64(index as f64 / rate.max(1) as f64);
                tokio::time::sleep_until(due.into()).await;
                let (headers, form) = twilio_sms(
                    &hook_url,
                    &format!("+3462{:07}", index % senders.max(1)),
                    format!("SM{index:032}"),
                    format!("bench-message-{index} ¿tenéis la talla M?"),
                );
                let at = Instant::now();
                sent.lock().await.insert(index, at);
                let (status, answer) = post_form(&mut connection, &path, &headers, &form).await?;
                answers.push((index, at.elapsed()));
                anyhow::ensure!(
                    status == 200,
                    "the webhook answered {status}: {}",
                    String::from_utf8_lossy(&answer)
                );
            }
            Ok::<_, anyhow::Error>(answers)
        }));
    }
    let mut answers = Vec::new();
    for task in tasks {
        answers.extend(task.await.context("webhook client")??);
    }
    let sent_rate = count as f64 / started.elapsed().as_secs_f64();
    // The last events arrive a moment after the last answer.
    for _ in 0..100 {
        if arrivals.lock().await.len() >= count {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    listener.abort();
    let arrivals = arrivals.lock().await;
    let sent = sent.lock().await;
    anyhow::ensure!(
        arrivals.len() >= count,
        "only {} of {count} messages reached the agent",
        arrivals.len()
    );
    let warming = warm_up(count, rate);
    let (mut delays, mut first) = (Vec::new(), Vec::new());
    for (i, at) in sent.iter() {
        if let Some(arrived) = arrivals.get(i) {
            let delay = arrived.saturating_duration_since(*at);
            if *i < warming {
                first.push(delay);
            } else {
                delays.push(delay);
            }
        }
    }
    let answers = answers
        .into_iter()
        .filter(|(i, _)| *i >= warming)
        .map(|(_, answer)| answer)
        .collect();
    Ok(Delivery {
        sent_rate,
        warm_up: (warming > 0).then(|| percentiles(first)),
        live: percentiles(delays),
        answers: percentiles(answers),
    })
}

fn percentiles(mut values: Vec<Duration>) -> Latency {
    values.sort_unstable();
    let at = |p: f64| {
        values
            .get(((values.len() as f64 * p) as usize).min(values.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    Latency {
        p50_ms: at(0.50),
        p99_ms: at(0.99),
    }
}

/// `hilo bench sockets`: opens `count` widget sockets to `addr` for `channel`, each
/// saying hello as a new visitor and waiting for `ready`; prints a line once all are
/// open and holds them until its standard input closes.
pub async fn hold_sockets(
    addr: std::net::SocketAddr,
    channel: &str,
    count: usize,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut openers = Vec::new();
    for _ in 0..100.min(count.max(1)) {
        let next = next.clone();
        let channel = channel.to_owned();
        openers.push(tokio::spawn(async move {
            let mut held = Vec::new();
            loop {
                let index = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if index >= count {
                    return Ok::<_, anyhow::Error>(held);
                }
                held.push(open_socket(addr, &channel, index).await?);
            }
        }));
    }
    let mut held = Vec::new();
    for opener in openers {
        held.extend(opener.await.context("socket opener")??);
    }
    println!(
        "{} open in {:.1} s",
        held.len(),
        started.elapsed().as_secs_f64()
    );
    let mut stdin = tokio::io::stdin();
    let mut sink = Vec::new();
    let _ = stdin.read_to_end(&mut sink).await;
    drop(held);
    Ok(())
}

/// One visitor's socket, said hello on, with its `ready` read.
async fn open_socket(
    addr: std::net::SocketAddr,
    channel: &str,
    index: usize,
) -> anyhow::Result<TcpStream> {
    let mut stream =
        super::browser::open_websocket(&addr.to_string(), &format!("widget/{channel}/socket"))
            .await?;
    // A client's frames are masked; a zero key leaves the text as it is.
    let hello = format!(r#"{{"type":"hello","anonymous_id":"bench-visitor-{index}"}}"#);
    let mut frame = vec![
        0x81,
        0x80 | u8::try_from(hello.len()).context("a short hello")?,
    ];
    frame.extend_from_slice(&[0, 0, 0, 0]);
    frame.extend_from_slice(hello.as_bytes());
    stream.write_all(&frame).await?;
    let mut header = [0u8; 2];
    stream.read_exact(&mut header).await?;
    let length = match header[1] & 0x7f {
        126 => {
            let mut extended = [0u8; 2];
            stream.read_exact(&mut extended).await?;
            usize::from(u16::from_be_bytes(extended))
        }
        127 => anyhow::bail!("a ready frame too long"),
        short => usize::from(short),
    };
    let mut payload = vec![0u8; length];
    stream.read_exact(&mut payload).await?;
    anyhow::ensure!(
        String::from_utf8_lossy(&payload).contains("\"ready\""),
        "no ready frame"
    );
    Ok(stream)
}
