//! `hilo bench commerce`: orders from many clients at once through the real API, with
//! their stock reserved in each order's transaction, across many SKUs and stores and
//! all on one hot SKU, and availability read while orders are placed. In the same run
//! it measures the limits these are compared with, since the machine's speed drifts:
//!
//! - (a) the write limit: a bare prepared-insert loop, 1,000 rows a transaction, on the
//!   same engine with the same durability settings (an order writes about ten rows in
//!   one transaction: the order, its line, fulfilment and reservation, the level and its
//!   movement, its history, a timeline item and a change);
//! - (b) the bare HTTP round trip (`GET /healthz`) with as many clients.

use std::sync::Arc;
use std::time::Instant;

use hilo_domain::SourceChannel;
use hilo_domain::commerce::catalogue::VariantInput;
use hilo_domain::commerce::inventory::Reason;
use hilo_domain::commerce::location::{LocationInput, LocationKind, Offer, Point};
use hilo_domain::commerce::money::Money;
use hilo_domain::{Principal, Role};
use hilo_store::DatabaseUrl;
use serde_json::json;

use super::{
    ADMIN_KEY, Connection, XorShift, bare_insert_rate, basic_auth, drive, memory, splitmix,
};
use crate::config::Settings;
use crate::server;

/// What to run.
#[derive(Debug, Clone)]
pub struct CommerceBenchOptions {
    pub orders: usize,
    pub clients: usize,
    pub skus: usize,
    pub stores: usize,
    pub customers: usize,
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
        "engine: {} · orders: {} × 3 runs · clients: {} · SKUs: {} · stores: {} · customers: {}\n",
        database.engine(),
        options.orders,
        options.clients,
        options.skus,
        options.stores,
        options.customers
    );

    // (a) The write limit: as many rows as the spread run's orders write.
    let rows = options.orders * 10;
    let bare = bare_insert_rate(&bare_url, rows, 200).await?;
    println!(
        "(a) bare insert loop: {bare:.0} rows/s ({rows} rows of 200 bytes, 1,000 a transaction)"
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

    // The shop: stores across Spain and a warehouse, SKUs stocked everywhere.
    let started = Instant::now();
    let by = Principal::ApiKey {
        id: hilo_domain::ApiKeyId::generate(),
        role: Role::Admin,
    };
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
    for product in 0..options.skus.div_ceil(10) {
        let variants = (0..10)
            .map(|v| product * 10 + v)
            .filter(|s| *s < options.skus)
            .map(|s| VariantInput {
                sku: format!("SKU-{s}"),
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
    for sku in 0..options.skus {
        for (location, _, _) in &stores {
            commerce
                .set_stock(
                    &format!("SKU-{sku}"),
                    *location,
                    hilo_app::commerce::StockChange {
                        on_hand: Some(1_000_000),
                        reason: Reason::Counted,
                        safety: None,
                        note: String::new(),
                    },
                    &by,
                )
                .await?;
        }
    }
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
    println!(
        "set up {} stores × {} SKUs and {} customers in {:.1} s\n",
        options.stores,
        options.skus,
        options.customers,
        started.elapsed().as_secs_f64()
    );

    let bearer = format!("Authorization: Bearer {ADMIN_KEY}\r\n");
    let store_ids: Arc<Vec<String>> = Arc::new(stores.iter().map(|s| s.0.to_string()).collect());
    let order = |customer: usize, sku: usize, store: &str| {
        json!({"customer_id": format!("user_id:bench-{customer}"), "channel": "web",
            "lines": [{"sku": format!("SKU-{sku}"), "quantity": 1}],
            "fulfillment": {"type": "pickup", "location_id": store}})
        .to_string()
        .into_bytes()
    };

    // Orders spread over SKUs and stores.
    let (spread, spread_latency) = {
        let bearer = bearer.clone();
        let stores = store_ids.clone();
        let (skus, customers) = (options.skus, options.customers);
        drive(base, options.clients, options.orders, move |index| {
            let pick = splitmix(index as u64 + 11);
            let body = order(
                pick as usize % customers,
                (pick >> 20) as usize % skus,
                &stores[(pick >> 40) as usize % stores.len()],
            );
            ("POST", "/api/v1/orders".to_owned(), bearer.clone(), body)
        })
        .await?
    };
    println!(
        "orders over {} SKUs × {} stores: {spread:.0} orders/s ({:.1}% of the write limit (a) at ten rows an order), p50 {:.1} ms, p99 {:.1} ms",
        options.skus,
        options.stores,
        100.0 * spread * 10.0 / bare,
        spread_latency.p50_ms,
        spread_latency.p99_ms
    );

    // One hot SKU at one store: every order takes the same level's row in turn.
    let (hot, hot_latency) = {
        let bearer = bearer.clone();
        let store = store_ids[0].clone();
        let customers = options.customers;
        drive(base, options.clients, options.orders, move |index| {
            let body = order(index % customers, 0, &store);
            ("POST", "/api/v1/orders".to_owned(), bearer.clone(), body)
        })
        .await?
    };
    println!(
        "orders of one hot SKU at one store: {hot:.0} orders/s, p50 {:.1} ms, p99 {:.1} ms",
        hot_latency.p50_ms, hot_latency.p99_ms
    );

    // Availability read while orders are placed.
    let reads = options.orders;
    let ((mixed, _), (availability, availability_latency)) = tokio::try_join!(
        {
            let bearer = bearer.clone();
            let stores = store_ids.clone();
            let (skus, customers) = (options.skus, options.customers);
            drive(base, options.clients / 2, options.orders, move |index| {
                let pick = splitmix(index as u64 + 1_000_003);
                let body = order(
                    pick as usize % customers,
                    (pick >> 20) as usize % skus,
                    &stores[(pick >> 40) as usize % stores.len()],
                );
                ("POST", "/api/v1/orders".to_owned(), bearer.clone(), body)
            })
        },
        {
            let bearer = bearer.clone();
            let skus = options.skus;
            drive(base, options.clients / 2, reads, move |index| {
                let pick = splitmix(index as u64 + 77);
                let lat = 36.5 + (pick % 700) as f64 / 100.0;
                let lng = -8.5 + ((pick >> 16) % 1_100) as f64 / 100.0;
                (
                    "GET",
                    format!(
                        "/api/v1/availability?sku=SKU-{}&lat={lat}&lng={lng}",
                        (pick >> 32) as usize % skus
                    ),
                    bearer.clone(),
                    Vec::new(),
                )
            })
        },
    )?;
    println!(
        "availability while {mixed:.0} orders/s are placed: {availability:.0} reads/s, p50 {:.1} ms, p99 {:.1} ms",
        availability_latency.p50_ms, availability_latency.p99_ms
    );

    // The hot level holds a unit for every hot order (and any spread order of it).
    let mut connection = Connection::open(base).await?;
    let (status, body) = connection
        .request("GET", "/api/v1/inventory/SKU-0", &bearer, &[])
        .await?;
    anyhow::ensure!(status == 200, "inventory answered {status}");
    let levels: serde_json::Value = serde_json::from_slice(&body)?;
    let reserved = levels["data"]
        .as_array()
        .and_then(|all| {
            all.iter()
                .find(|l| l["location_id"] == store_ids[0].as_str())
        })
        .and_then(|l| l["reserved"].as_i64())
        .unwrap_or(0);
    anyhow::ensure!(
        reserved >= options.orders as i64,
        "the hot level holds {reserved} units for {} orders",
        options.orders
    );
    println!("the hot level holds {reserved} units reserved: one for each order of it\n");
    let (rss, peak) = memory();
    println!(
        "memory: resident {rss} MB, peak {peak} MB (whole process: server and load generator)"
    );
    running.stop().await?;
    Ok(())
}
