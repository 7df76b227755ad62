//! Racing checkouts: a thousand buyers for a hundred units end with exactly a hundred
//! orders and nothing left to promise; a thousand orders with one single-use coupon end
//! with exactly one redemption; on SQLite and on PostgreSQL with two nodes.

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::Semaphore;

use crate::support::TestApp;

const BUYERS: usize = 1_000;
const UNITS: i64 = 100;

async fn race(app: &TestApp, bases: Vec<String>) {
    let store = app
        .create_location("Gran Vía", "store", 40.42, -3.70, &["pickup"])
        .await;
    app.create_product("Edición limitada", &[("LIM-1", 19900)])
        .await;
    app.stock("LIM-1", &store, UNITS).await;
    let key = app.key_for("storefront").await;
    let gate = Arc::new(Semaphore::new(64));
    let mut buyers = Vec::with_capacity(BUYERS);
    for i in 0..BUYERS {
        let client = app.client.clone();
        let url = format!("{}/api/v1/orders", bases[i % bases.len()]);
        let key = key.clone();
        let gate = gate.clone();
        let body = json!({"customer_id": format!("user_id:buyer-{i}"), "channel": "web",
            "lines": [{"sku": "LIM-1", "quantity": 1}],
            "fulfillment": {"type": "pickup", "location_id": store}});
        buyers.push(tokio::spawn(async move {
            let _turn = gate.acquire().await.unwrap();
            let response = client
                .post(url)
                .bearer_auth(key)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = response.status();
            let body: Value = response.json().await.unwrap();
            (status, body)
        }));
    }
    let (mut sold, mut refused) = (0, 0);
    for buyer in buyers {
        let (status, body) = buyer.await.unwrap();
        match status {
            StatusCode::CREATED => sold += 1,
            StatusCode::CONFLICT => {
                assert_eq!(body["error"]["code"], "out_of_stock", "{body}");
                refused += 1;
            }
            other => panic!("a buyer got {other}: {body}"),
        }
    }
    assert_eq!((sold, refused), (UNITS as usize, BUYERS - UNITS as usize));
    assert_eq!(app.level("LIM-1", &store).await, (UNITS, UNITS, 0));
    // The level is the sum of its movements.
    let mut reserved = 0;
    let mut before: Option<i64> = None;
    loop {
        let path = match before {
            Some(b) => format!("/api/v1/inventory/LIM-1/{store}/movements?limit=200&before={b}"),
            None => format!("/api/v1/inventory/LIM-1/{store}/movements?limit=200"),
        };
        let page: Value = app.get(&path, &app.admin_key).await.json().await.unwrap();
        for m in page["data"].as_array().unwrap() {
            reserved += m["reserved_change"].as_i64().unwrap();
        }
        match page["next_before"].as_i64() {
            Some(b) => before = Some(b),
            None => break,
        }
    }
    assert_eq!(reserved, UNITS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_buyers_for_a_hundred_units_on_sqlite() {
    let app = TestApp::start_sqlite().await;
    let bases = vec![app.base.clone()];
    race(&app, bases).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_buyers_for_a_hundred_units_on_two_postgres_nodes() {
    let Some(app) = TestApp::start_postgres().await else {
        return;
    };
    let (second, _node, _dir) = app.second_node().await.expect("a second node");
    race(&app, vec![app.base.clone(), second]).await;
}

/// A thousand orders on every node at once, each with the same single-use coupon.
async fn coupon_race(app: &TestApp, bases: Vec<String>) {
    let store = app
        .create_location("Gran Vía", "store", 40.42, -3.70, &["pickup"])
        .await;
    app.create_product("Gorra", &[("GOR-1", 1999)]).await;
    app.stock("GOR-1", &store, 5_000).await;
    let response = app
        .post_json(
            "/api/v1/promotions",
            &app.admin_key,
            &json!({"kind": "percent", "value": 50}),
        )
        .await;
    let promotion: Value = response.json().await.unwrap();
    let id = promotion["id"].as_str().unwrap().to_owned();
    let response = app
        .post_json(
            &format!("/api/v1/promotions/{id}/coupons"),
            &app.admin_key,
            &json!({"count": 1}),
        )
        .await;
    let code = response.json::<Value>().await.unwrap()["codes"][0]
        .as_str()
        .unwrap()
        .to_owned();
    let key = app.key_for("storefront").await;
    let gate = Arc::new(Semaphore::new(64));
    let mut buyers = Vec::with_capacity(BUYERS);
    for i in 0..BUYERS {
        let client = app.client.clone();
        let url = format!("{}/api/v1/orders", bases[i % bases.len()]);
        let key = key.clone();
        let gate = gate.clone();
        let body = json!({"customer_id": format!("user_id:coupon-{i}"), "channel": "app",
            "coupon_code": code, "lines": [{"sku": "GOR-1", "quantity": 1}],
            "fulfillment": {"type": "pickup", "location_id": store}});
        buyers.push(tokio::spawn(async move {
            let _turn = gate.acquire().await.unwrap();
            let response = client
                .post(url)
                .bearer_auth(key)
                .json(&body)
                .send()
                .await
                .unwrap();
            (response.status(), response.json::<Value>().await.unwrap())
        }));
    }
    let (mut redeemed, mut refused) = (0, 0);
    for buyer in buyers {
        let (status, body) = buyer.await.unwrap();
        match status {
            StatusCode::CREATED => {
                assert_eq!(body["discount"]["amount"], 1000);
                redeemed += 1;
            }
            StatusCode::CONFLICT => {
                assert!(
                    body["error"]["message"]
                        .as_str()
                        .unwrap()
                        .starts_with("coupon_code"),
                    "{body}"
                );
                refused += 1;
            }
            other => panic!("a buyer got {other}: {body}"),
        }
    }
    assert_eq!((redeemed, refused), (1, BUYERS - 1));
    let read: Value = app
        .get(&format!("/api/v1/promotions/{id}"), &app.admin_key)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read["redemptions"], 1);
    // Nothing of the refused orders was kept: one unit promised.
    assert_eq!(app.level("GOR-1", &store).await, (5_000, 1, 4_999));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_orders_with_one_single_use_coupon_on_sqlite() {
    let app = TestApp::start_sqlite().await;
    let bases = vec![app.base.clone()];
    coupon_race(&app, bases).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_orders_with_one_single_use_coupon_on_two_postgres_nodes() {
    let Some(app) = TestApp::start_postgres().await else {
        return;
    };
    let (second, _node, _dir) = app.second_node().await.expect("a second node");
    coupon_race(&app, vec![app.base.clone(), second]).await;
}
