//! Many staff writes at once: every one succeeds, whatever the pool size (no use case
//! holds a second connection while its transaction holds one).

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{TestApp, on_both_engines};

on_both_engines!(two_hundred_concurrent_staff_writes_of_every_kind_all_succeed);

async fn two_hundred_concurrent_staff_writes_of_every_kind_all_succeed(app: TestApp) {
    let admin = app.admin_key.clone();
    let mut customers = Vec::new();
    for n in 0..20 {
        let response = app
            .post_json(
                "/api/v1/customers",
                &admin,
                &json!({"identifiers": [{"type": "email", "value": format!("c{n}@example.com")}]}),
            )
            .await;
        assert_eq!(response.status(), 201);
        let body: Value = response.json().await.expect("json");
        customers.push(body["id"].as_str().expect("id").to_owned());
    }
    let app = std::sync::Arc::new(app);
    let mut writes = tokio::task::JoinSet::new();
    for n in 0..200usize {
        let app = app.clone();
        let admin = admin.clone();
        let customer = customers[n % customers.len()].clone();
        writes.spawn(async move {
            let (method, path, body) = match n % 4 {
                0 => (
                    Method::PATCH,
                    format!("/api/v1/customers/{customer}"),
                    json!({"traits": {"visits": n}}),
                ),
                1 => (
                    Method::POST,
                    format!("/api/v1/customers/{customer}/consent"),
                    json!({"changes": [{"channel": "email", "purpose": "marketing",
                        "granted": n % 8 == 1}]}),
                ),
                2 => (
                    Method::POST,
                    "/api/v1/customers".to_owned(),
                    json!({"identifiers": [{"type": "email", "value": format!("new{n}@example.com")}],
                        "traits": {"name": format!("New {n}")}}),
                ),
                _ => (
                    Method::POST,
                    "/api/v1/keys".to_owned(),
                    json!({"name": format!("key {n}"), "role": "agent"}),
                ),
            };
            let response = app
                .request(method.clone(), &path, Some(&admin))
                .json(&body)
                .send()
                .await
                .expect("request");
            (n, method, path, response.status())
        });
    }
    let mut failed = Vec::new();
    while let Some(done) = writes.join_next().await {
        let (n, method, path, status) = done.expect("task");
        if !status.is_success() {
            failed.push(format!("#{n} {method} {path}: {status}"));
        }
    }
    assert!(failed.is_empty(), "{} failed: {failed:?}", failed.len());

    // Every write is there.
    let customer: Value = app
        .get(&format!("/api/v1/customers/{}", customers[0]), &admin)
        .await
        .json()
        .await
        .expect("json");
    assert!(customer["traits"]["visits"].is_number(), "{customer}");
    let keys: Value = app
        .get("/api/v1/keys?limit=200", &admin)
        .await
        .json()
        .await
        .expect("json");
    let made = keys["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter(|key| {
            key["name"]
                .as_str()
                .is_some_and(|name| name.starts_with("key "))
        })
        .count();
    assert_eq!(made, 50);
    assert!(app.lookup("email", "new198@example.com").await.is_some());
}

/// With a pool of one connection, any use case that reads through a second connection
/// while its transaction holds the first waits for the pool's timeout and fails: every
/// staff action must answer at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_staff_action_works_on_a_single_connection_sqlite() {
    let app = TestApp::start_sqlite_with(|s| s.database_max_connections = 1).await;
    every_staff_action_answers_at_once(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_staff_action_works_on_a_single_connection_postgres() {
    if let Some(app) = TestApp::start_postgres_with(|s| s.database_max_connections = 1).await {
        every_staff_action_answers_at_once(&app).await;
    }
}

async fn every_staff_action_answers_at_once(app: &TestApp) {
    let admin = app.admin_key.clone();
    let call = |method: Method, path: String, body: Option<Value>| {
        let admin = admin.clone();
        async move {
            let started = std::time::Instant::now();
            let mut request = app.request(method.clone(), &path, Some(&admin));
            if let Some(body) = body {
                request = request.json(&body);
            }
            let response = request.send().await.expect("request");
            let status = response.status();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            assert!(status.is_success(), "{method} {path}: {status} {body}");
            assert!(
                started.elapsed() < std::time::Duration::from_secs(5),
                "{method} {path} waited {:?}",
                started.elapsed()
            );
            body
        }
    };
    let ana = call(
        Method::POST,
        "/api/v1/customers".into(),
        Some(json!({"identifiers": [{"type": "email", "value": "ana@example.com"}]})),
    )
    .await;
    call(
        Method::POST,
        "/api/v1/customers".into(),
        Some(json!({"identifiers": [{"type": "phone", "value": "+34 612 345 678"}]})),
    )
    .await;
    // One person after all: the registration merges the two.
    let merged = call(
        Method::POST,
        "/api/v1/customers".into(),
        Some(
            json!({"identifiers": [{"type": "email", "value": "ana@example.com"},
            {"type": "phone", "value": "+34 612 345 678"}]}),
        ),
    )
    .await;
    let id = merged["id"].as_str().expect("id").to_owned();
    assert_eq!(
        merged["merged_ids"].as_array().map(Vec::len),
        Some(1),
        "{merged}"
    );
    let ana = ana["id"].as_str().expect("id");
    call(
        Method::POST,
        format!("/api/v1/customers/{id}/unmerge"),
        Some(json!({})),
    )
    .await;
    call(
        Method::PATCH,
        format!("/api/v1/customers/{ana}"),
        Some(json!({"traits": {"name": "Ana"}})),
    )
    .await;
    call(
        Method::POST,
        format!("/api/v1/customers/{ana}/consent"),
        Some(json!({"changes": [{"channel": "email", "purpose": "marketing", "granted": true}]})),
    )
    .await;
    call(Method::GET, format!("/api/v1/customers/{ana}/export"), None).await;
    call(
        Method::GET,
        format!("/api/v1/customers/{ana}/timeline"),
        None,
    )
    .await;
    call(Method::GET, "/api/v1/customers?q=ana".into(), None).await;
    let rules = call(Method::GET, "/api/v1/identity/rules".into(), None).await;
    call(Method::PUT, "/api/v1/identity/rules".into(), Some(rules)).await;
    call(
        Method::POST,
        format!("/api/v1/customers/{ana}/erase"),
        Some(json!({"suppress": true})),
    )
    .await;
    let key = call(
        Method::POST,
        "/api/v1/keys".into(),
        Some(json!({"name": "till", "role": "store"})),
    )
    .await;
    call(
        Method::DELETE,
        format!("/api/v1/keys/{}", key["id"].as_str().expect("id")),
        None,
    )
    .await;
    let source = call(
        Method::POST,
        "/api/v1/sources".into(),
        Some(json!({"name": "Shop", "channel": "web"})),
    )
    .await;
    call(
        Method::DELETE,
        format!("/api/v1/sources/{}", source["id"].as_str().expect("id")),
        None,
    )
    .await;
    call(
        Method::POST,
        "/api/v1/users".into(),
        Some(json!({"email": "agent@example.com", "role": "agent",
            "password": "a long enough password", "name": "Agent"})),
    )
    .await;
    let hook = call(
        Method::POST,
        "/api/v1/webhooks".into(),
        Some(json!({"url": "http://127.0.0.1:9/hook", "events": ["customer.created"]})),
    )
    .await;
    let hook = hook["id"].as_str().expect("id").to_owned();
    call(Method::POST, format!("/api/v1/webhooks/{hook}/test"), None).await;
    call(
        Method::POST,
        format!("/api/v1/webhooks/{hook}/secret/rotate"),
        None,
    )
    .await;
    call(
        Method::PATCH,
        format!("/api/v1/webhooks/{hook}"),
        Some(json!({"description": "kept"})),
    )
    .await;
    call(Method::GET, "/api/v1/jobs?status=pending".into(), None).await;
    app.step_workers().await;
    call(Method::DELETE, format!("/api/v1/webhooks/{hook}"), None).await;
}
