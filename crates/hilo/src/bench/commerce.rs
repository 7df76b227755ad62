//! `hilo bench commerce`: orders from many clients at once through the real API, with
//! their stock reserved in each order's transaction: orders of three lines across many
//! SKUs and stores, orders all of one hot SKU with just enough stock, and availability
//! (the nearest stores with stock among every store) read while orders are placed. In
//! the same run it measures the limits these are compared with, since the machine's
//! speed drifts:
//!
//! - (a) the write limit: bare transactions of as many row writes as an order of three
//!   lines makes ([`ORDER_ROWS`]), one after another, each committed as durably, on the
//!   same engine;
//! - (b) the bare HTTP round trip (`GET /healthz`) with as many clients.

use std::sync::Arc;
use std::time::Instant;

use hilo_domain::SourceChannel;
use hilo_domain::commerce::catalogue::VariantInput;
use hilo_domain::commerce::location::{LocationInput, LocationKind, Offer, Point};
use hilo_domain::commerce::money::Money;
use hilo_store::DatabaseUrl;
use serde_json::json;

use super::{
    ADMIN_KEY, Connection, XorShift, bare_insert_rate, basic_auth, drive, drive_paced, memory,
    splitmix,
};
use crate::config::Settings;
use crate::server;

/// Rows an order of three lines at one store writes: the order, three lines, the
/// fulfilment, three levels with three movements and three reservations, its history,
/// a timeline item with its index entry, and a change.
const ORDER_ROWS: usize = 18;
/// Lines in each spread order.
const LINES: usize = 3;
/// SKUs stocked in every store (the rest in `ORDER_STORES`' worth of stores each).
const BESTSELLERS: usize = 100;

/// What to run.
#[derive(Debug, Clone)]
pub struct CommerceBenchOptions {
    pub orders: usize,
    pub clients: usize,
    /// SKUs in the catalogue, every one stocked somewhere.
    pub skus: usize,
    /// Stores, each stocking some of the catalogue.
    pub stores: usize,
    /// The SKUs orders are spread over, all stocked in each of the first `order_stores`.
    pub order_skus: usize,
    pub order_stores: usize,
    pub customers: usize,
    /// Availability reads a second in the steady-rate run.
    pub read_rate: usize,
    /// PostgreSQL server to run on; SQLite in a temporary folder when absent.
    pub database_url: Option<String>,
    pub sqlite_cache_mib: u32,
    pub database_max_connections: u32,
}

pub async fn commerce(options: CommerceBenchOptions) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("hilo-bench-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir)?;
    let result = run(&options, &dir).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn run(options: &CommerceBenchOptions, dir: &std::path::Path) -> anyhow::Result<()> {
    let mut settings = Settings::with_data_dir(dir.join("data"));
    settings.listen = "127.0.0.1:0".parse()?;
    settings.admin_key = Some(hilo_domain::Secret::new(ADMIN_KEY));
    settings.database_max_connections = options.database_max_connections;
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
    println!("# hilo bench commerce\n");
    println!(
        "engine: {} · orders: {} a run · clients: {} · catalogue: {} SKUs in {} stores · orders over {} SKUs × {} stores, {LINES} lines each · customers: {}\n",
        database.engine(),
        options.orders,
        options.clients,
        options.skus,
        options.stores,
        options.order_skus,
        options.order_stores,
        options.customers
    );
    anyhow::ensure!(
        options.order_stores <= options.stores && options.order_skus <= options.skus,
        "orders are spread over some of the stores and SKUs"
    );

    // (a) The write limit: transactions of as many rows as an order writes.
    let transactions = options.orders.max(1_000);
    let bare = bare_insert_rate(&bare_url, transactions * ORDER_ROWS, 200, ORDER_ROWS).await?
        / ORDER_ROWS as f64;
    println!(
        "(a) bare transactions of {ORDER_ROWS} row writes, one after another: {bare:.0} transactions/s"
    );

    let running = server::start(&settings).await?;
    let base = running.addr;
    let hilo = running.hilo.clone();
    let (http_rate, _) = drive(base, options.clients, 50_000, |_| {
        ("GET", "/healthz".to_owned(), String::new(), Vec::new())
    })
    .await?;
    println!(
        "(b) bare HTTP round trips (GET /healthz): {http_rate:.0} requests/s with {} clients\n",
        options.clients
    );

    let started = Instant::now();
    let shop = Shop::open(&hilo, options).await?;
    // The customers, known before they order (their identify calls).
    let (_, write_key) = hilo
        .access()
        .create_source("Benchmark", SourceChannel::Web)
        .await?;
    let auth = basic_auth(write_key.expose());
    let batches = options.customers.div_ceil(100);
    let customers = options.customers;
    drive(base, 8, batches, move |index| {
        let batch: Vec<serde_json::Value> = (index * 100..((index + 1) * 100).min(customers))
            .map(|c| json!({"type": "identify", "userId": format!("bench-{c}"), "messageId": format!("bench-id-{c}")}))
            .collect();
        ("POST", "/v1/batch".to_owned(), auth.clone(), json!({"batch": batch}).to_string().into_bytes())
    })
    .await?;
    // The shop as after a bulk load: statistics read, the log copied into the
    // database, so the runs measure orders rather than the setup's aftermath.
    hilo.store().vacuum().await?;
    hilo.store().checkpoint().await?;
    println!(
        "set up {} stores × {} SKUs ({} levels) and {} customers in {:.1} s\n",
        options.stores,
        options.skus,
        shop.levels,
        options.customers,
        started.elapsed().as_secs_f64()
    );

    let bearer = format!("Authorization: Bearer {ADMIN_KEY}\r\n");
    let store_ids: Arc<Vec<String>> =
        Arc::new(shop.stores.iter().map(|s| s.0.to_string()).collect());
    let spread_order = {
        let stores = store_ids.clone();
        let (order_skus, order_stores, customers) =
            (options.order_skus, options.order_stores, options.customers);
        move |seed: u64| {
            let pick = splitmix(seed);
            let first = (pick >> 20) as usize % order_skus;
            // Three different SKUs, in no particular order.
            let lines: Vec<serde_json::Value> = (0..LINES)
                .map(|k| {
                    let sku = (first + k * (order_skus / LINES).max(1) + k) % order_skus;
                    json!({"sku": format!("SKU-{sku}"), "quantity": 1})
                })
                .collect();
            json!({"customer_id": format!("user_id:bench-{}", pick as usize % customers),
                "channel": "web", "lines": lines,
                "fulfillment": {"type": "pickup", "location_id": stores[(pick >> 40) as usize % order_stores]}})
            .to_string()
            .into_bytes()
        }
    };

    // Orders of three lines spread over SKUs and stores.
    let (spread, spread_latency) = {
        let bearer = bearer.clone();
        let make = spread_order.clone();
        drive(base, options.clients, options.orders, move |index| {
            (
                "POST",
                "/api/v1/orders".to_owned(),
                bearer.clone(),
                make(index as u64 + 11),
            )
        })
        .await?
    };
    println!(
        "orders of {LINES} lines over {} SKUs × {} stores: {spread:.0} orders/s ({:.2}× the bare transactions (a)), p50 {:.1} ms, p99 {:.1} ms",
        options.order_skus,
        options.order_stores,
        spread / bare,
        spread_latency.p50_ms,
        spread_latency.p99_ms
    );

    // One hot SKU at one store, stocked with exactly one unit per order: every order
    // takes the same level's row in turn, and none may take a unit twice.
    let (hot, hot_latency) = {
        let bearer = bearer.clone();
        let store = store_ids[0].clone();
        let customers = options.customers;
        drive(base, options.clients, options.orders, move |index| {
            let body = json!({"customer_id": format!("user_id:bench-{}", index % customers),
                "channel": "app", "lines": [{"sku": "SKU-HOT", "quantity": 1}],
                "fulfillment": {"type": "pickup", "location_id": store}});
            (
                "POST",
                "/api/v1/orders".to_owned(),
                bearer.clone(),
                body.to_string().into_bytes(),
            )
        })
        .await?
    };
    println!(
        "orders of one hot SKU at one store: {hot:.0} orders/s, p50 {:.1} ms, p99 {:.1} ms",
        hot_latency.p50_ms, hot_latency.p99_ms
    );
    let mut connection = Connection::open(base).await?;
    let one_more = json!({"customer_id": "user_id:bench-0", "channel": "app",
        "lines": [{"sku": "SKU-HOT", "quantity": 1}],
        "fulfillment": {"type": "pickup", "location_id": store_ids[0]}});
    let (status, _) = connection
        .request(
            "POST",
            "/api/v1/orders",
            &bearer,
            one_more.to_string().as_bytes(),
        )
        .await?;
    anyhow::ensure!(
        status == 409,
        "an order past the last hot unit answered {status}"
    );
    let (status, body) = connection
        .request("GET", "/api/v1/inventory/SKU-HOT", &bearer, &[])
        .await?;
    anyhow::ensure!(status == 200, "inventory answered {status}");
    let levels: serde_json::Value = serde_json::from_slice(&body)?;
    let hot_level = &levels["data"][0];
    anyhow::ensure!(
        hot_level["on_hand"] == options.orders
            && hot_level["reserved"] == options.orders
            && hot_level["available"] == 0,
        "the hot level is {hot_level} after {} orders of its {} units",
        options.orders,
        options.orders
    );
    println!(
        "the hot level: {} units, {} reserved, 0 available, the next order refused (409): no unit sold twice\n",
        options.orders, options.orders
    );

    // Availability among every store: read alone as fast as the clients can, then at a
    // steady rate (the shoppers of a busy shop), then while orders are placed.
    let reads = options.orders;
    let (alone, alone_latency) = drive(
        base,
        options.clients,
        reads,
        availability_read(bearer.clone(), options.skus, 0),
    )
    .await?;
    println!(
        "availability among {} stores × {} SKUs, read alone by {} clients as fast as they can: {alone:.0} reads/s, p50 {:.1} ms, p99 {:.1} ms",
        options.stores, options.skus, options.clients, alone_latency.p50_ms, alone_latency.p99_ms
    );
    let steady_reads = (options.read_rate * 5).max(reads);
    let (steady, steady_latency) = drive_paced(
        base,
        options.clients,
        options.read_rate,
        steady_reads,
        availability_read(bearer.clone(), options.skus, reads),
    )
    .await?;
    println!(
        "availability at a steady {} reads/s ({steady:.0} achieved, {steady_reads} reads from {} connections): p50 {:.1} ms, p99 {:.1} ms",
        options.read_rate, options.clients, steady_latency.p50_ms, steady_latency.p99_ms
    );
    let ((mixed, _), (availability, availability_latency)) = tokio::try_join!(
        {
            let bearer = bearer.clone();
            let make = spread_order.clone();
            drive(base, options.clients / 2, options.orders, move |index| {
                (
                    "POST",
                    "/api/v1/orders".to_owned(),
                    bearer.clone(),
                    make(index as u64 + 1_000_003),
                )
            })
        },
        drive(
            base,
            options.clients / 2,
            reads,
            availability_read(bearer.clone(), options.skus, reads + steady_reads)
        ),
    )?;
    println!(
        "availability, read by {} clients while {} others place {mixed:.0} orders/s: {availability:.0} reads/s, p50 {:.1} ms, p99 {:.1} ms\n",
        options.clients / 2,
        options.clients / 2,
        availability_latency.p50_ms,
        availability_latency.p99_ms
    );
    let (rss, peak) = memory();
    println!(
        "memory: resident {rss} MB, peak {peak} MB (whole process: server and load generator)"
    );
    running.stop().await?;
    Ok(())
}

/// The `index`th availability read (from `first`): a shopper somewhere in Spain asking
/// for a SKU, half the time a bestseller stocked in every store.
fn availability_read(
    bearer: String,
    skus: usize,
    first: usize,
) -> impl Fn(usize) -> (&'static str, String, String, Vec<u8>) + Send + Sync + 'static {
    move |index| {
        let pick = splitmix((first + index) as u64 + 77);
        let lat = 36.5 + (pick % 700) as f64 / 100.0;
        let lng = -8.5 + ((pick >> 16) % 1_100) as f64 / 100.0;
        let sku = if pick >> 63 == 0 {
            (pick >> 32) as usize % BESTSELLERS
        } else {
            (pick >> 32) as usize % skus
        };
        (
            "GET",
            format!("/api/v1/availability?sku=SKU-{sku}&lat={lat}&lng={lng}"),
            bearer.clone(),
            Vec::new(),
        )
    }
}

/// The benchmark's shop: stores across Spain, a catalogue of ten-variant products, and
/// its stock (each SKU in some stores, bestsellers in all, the hot SKU in one).
struct Shop {
    stores: Vec<(hilo_domain::LocationId, f64, f64)>,
    levels: usize,
}

impl Shop {
    async fn open(hilo: &hilo_app::Hilo, options: &CommerceBenchOptions) -> anyhow::Result<Self> {
        let commerce = hilo.commerce();
        let mut random = XorShift(0x5eed_c0de);
        let mut stores = Vec::with_capacity(options.stores);
        for i in 0..options.stores {
            let lat = 36.5 + (random.next() % 700) as f64 / 100.0;
            let lng = -8.5 + (random.next() % 1_100) as f64 / 100.0;
            let location = commerce
                .create_location(LocationInput {
                    name: format!("Tienda {i}"),
                    kind: LocationKind::Store,
                    address: String::new(),
                    point: Point { lat, lng },
                    timezone: "Europe/Madrid".into(),
                    opening_hours: ["mon", "tue", "wed", "thu", "fri", "sat"]
                        .iter()
                        .map(|d| {
                            (
                                (*d).to_owned(),
                                vec![["10:00".to_owned(), "21:00".to_owned()]],
                            )
                        })
                        .collect(),
                    offers: vec![Offer::Pickup, Offer::Returns],
                    pickup_prep_minutes: 30,
                    priority: 0,
                })
                .await?;
            stores.push((location.id, lat, lng));
        }
        let eur = "EUR".parse().map_err(anyhow::Error::msg)?;
        let sku_name = |s: usize| {
            if s == options.skus {
                "SKU-HOT".to_owned()
            } else {
                format!("SKU-{s}")
            }
        };
        for product in 0..(options.skus + 1).div_ceil(10) {
            let variants = (0..10)
                .map(|v| product * 10 + v)
                .filter(|s| *s <= options.skus)
                .map(|s| VariantInput {
                    sku: sku_name(s),
                    prices: vec![Money::new(1_000 + (s as i64 % 90) * 100, eur)],
                    attributes: Default::default(),
                    images: vec![],
                })
                .collect();
            commerce
                .create_product(hilo_app::commerce::ProductInput {
                    name_es: format!("Producto {product}"),
                    name_en: format!("Product {product}"),
                    description_es: String::new(),
                    description_en: String::new(),
                    categories: vec![],
                    variants,
                })
                .await?;
        }
        let deep = 1_000_000;
        let per_sku = options.order_stores.max(1);
        let mut levels = Vec::new();
        for sku in 0..options.skus {
            let name = sku_name(sku);
            if sku < BESTSELLERS {
                levels.extend(stores.iter().map(|s| (name.clone(), s.0, deep)));
            } else if sku < options.order_skus {
                levels.extend(stores[..per_sku].iter().map(|s| (name.clone(), s.0, deep)));
            } else {
                let from = sku * 37 % stores.len();
                levels.extend(
                    (0..per_sku.min(stores.len()))
                        .map(|k| (name.clone(), stores[(from + k) % stores.len()].0, deep)),
                );
            }
        }
        levels.push(("SKU-HOT".to_owned(), stores[0].0, options.orders as i64));
        hilo.store()
            .stock_new_levels(&levels, "bench", hilo.now())
            .await?;
        Ok(Self {
            stores,
            levels: levels.len(),
        })
    }
}
