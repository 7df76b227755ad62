//! Signed outbound webhooks, end to end: endpoints registered over the API, events from
//! the change feed, deliveries by durable jobs to a receiver on loopback, signatures
//! checked by the published Standard Webhooks verifier.

use std::collections::HashMap;

use hilo_domain::customers::changes::ChangeKind;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::receiver::{Receiver, verify_with_standard_webhooks};
use crate::support::{TestApp, error_of, on_both_engines};

on_both_engines!(
    a_new_customer_reaches_a_subscribed_endpoint_signed,
    failed_deliveries_retry_with_one_id_then_die_and_an_admin_retries_them,
    an_endpoint_failing_for_five_days_is_disabled_until_enabled,
    the_webhook_api_checks_input_and_permission,
    an_erased_customer_leaves_no_personal_value_in_webhooks,
    a_node_that_dies_mid_delivery_loses_nothing,
    two_nodes_deliver_each_message_exactly_once,
    the_consumer_sees_changes_that_commit_out_of_order,
    a_new_endpoint_hears_from_then_on_not_history,
);

async fn register_customer(app: &TestApp, email: &str) -> String {
    let response = app
        .post_json(
            "/api/v1/customers",
            &app.admin_key,
            &json!({"identifiers": [{"type": "email", "value": email}], "traits": {"name": "Ana"}}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.expect("json");
    body["id"].as_str().expect("id").to_owned()
}

async fn json_of(app: &TestApp, path: &str) -> Value {
    let response = app.get(path, &app.admin_key).await;
    assert_eq!(response.status(), StatusCode::OK, "GET {path}");
    response.json().await.expect("json")
}

/// The jobs of one status, as an admin lists them.
async fn jobs(app: &TestApp, status: &str) -> Vec<Value> {
    json_of(app, &format!("/api/v1/jobs?status={status}")).await["data"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

async fn a_new_customer_reaches_a_subscribed_endpoint_signed(app: TestApp) {
    let receiver = Receiver::start().await;
    let (hook, secret) = app
        .create_webhook(&receiver.url, &["customer.created", "customer.updated"])
        .await;
    assert!(secret.starts_with("whsec_"));
    // The secret is shown once: neither the list nor the endpoint shows it again.
    let listed = json_of(&app, "/api/v1/webhooks").await;
    assert_eq!(listed["data"][0]["id"], hook.as_str());
    assert_eq!(listed["data"][0]["status"], "enabled");
    assert!(listed.to_string().find(&secret).is_none());
    assert!(
        json_of(&app, &format!("/api/v1/webhooks/{hook}"))
            .await
            .get("secret")
            .is_none()
    );

    app.clock_to_real_time();
    let customer = register_customer(&app, "ana@example.com").await;
    assert_eq!(app.step_workers().await, 1, "one delivery job ran");
    let received = receiver.received();
    assert_eq!(received.len(), 1);
    let body = received[0].json();
    assert_eq!(body["type"], "customer.created");
    assert_eq!(body["data"]["customer_id"], customer.as_str());
    assert!(body["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')));
    assert!(
        !String::from_utf8_lossy(&received[0].body).contains("ana@example.com"),
        "payloads carry ids, not personal values"
    );
    assert!(received[0].header("webhook-id").starts_with("msg_"));
    assert!(received[0].header("webhook-signature").starts_with("v1,"));
    verify_with_standard_webhooks(&secret, &received);

    // A staff edit of traits is a customer.updated, naming the trait, not its value.
    let response = app
        .request(
            Method::PATCH,
            &format!("/api/v1/customers/{customer}"),
            Some(&app.admin_key),
        )
        .json(&json!({"traits": {"city": "Sevilla"}}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    // A test event goes to this endpoint whatever it subscribed to.
    let response = app
        .request(
            Method::POST,
            &format!("/api/v1/webhooks/{hook}/test"),
            Some(&app.admin_key),
        )
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    app.step_workers().await;
    let received = receiver.received();
    let mut types: Vec<String> = received
        .iter()
        .map(|r| r.json()["type"].as_str().unwrap_or("").to_owned())
        .collect();
    types.sort();
    assert_eq!(
        types,
        ["customer.created", "customer.updated", "webhook.test"]
    );
    let updated = received
        .iter()
        .find(|r| r.json()["type"] == "customer.updated")
        .expect("updated");
    assert_eq!(updated.json()["data"]["traits"], json!(["city"]));
    assert!(!String::from_utf8_lossy(&updated.body).contains("Sevilla"));
    verify_with_standard_webhooks(&secret, &received);

    let deliveries = json_of(&app, &format!("/api/v1/webhooks/{hook}/deliveries")).await;
    let deliveries = deliveries["data"].as_array().expect("list");
    assert_eq!(deliveries.len(), 3);
    assert!(
        deliveries
            .iter()
            .all(|d| d["status_code"] == 200 && d["succeeded"] == true)
    );
    let ids: Vec<&str> = deliveries.iter().filter_map(|d| d["id"].as_str()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");
    assert!(jobs(&app, "pending").await.is_empty());

    // Rotating the secret: the old one no longer verifies, the new one does.
    let response = app
        .request(
            Method::POST,
            &format!("/api/v1/webhooks/{hook}/secret/rotate"),
            Some(&app.admin_key),
        )
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    let rotated: Value = response.json().await.expect("json");
    let new_secret = rotated["secret"].as_str().expect("secret").to_owned();
    assert_ne!(new_secret, secret);
    app.request(
        Method::POST,
        &format!("/api/v1/webhooks/{hook}/test"),
        Some(&app.admin_key),
    )
    .send()
    .await
    .expect("request");
    app.step_workers().await;
    let last = receiver.received().last().cloned().expect("a delivery");
    verify_with_standard_webhooks(&new_secret, std::slice::from_ref(&last));

    // Deleting an endpoint takes its messages and attempts with it.
    let response = app
        .request(
            Method::DELETE,
            &format!("/api/v1/webhooks/{hook}"),
            Some(&app.admin_key),
        )
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let deliveries = app
        .get(
            &format!("/api/v1/webhooks/{hook}/deliveries"),
            &app.admin_key,
        )
        .await;
    assert_eq!(deliveries.status(), StatusCode::NOT_FOUND);
}

async fn failed_deliveries_retry_with_one_id_then_die_and_an_admin_retries_them(app: TestApp) {
    let receiver = Receiver::start().await;
    receiver.answer(500);
    let (hook, _) = app
        .create_webhook(&receiver.url, &["customer.created"])
        .await;
    register_customer(&app, "retry@example.com").await;
    assert_eq!(app.step_workers().await, 1);
    let hook_path = format!("/api/v1/webhooks/{hook}");
    assert_eq!(json_of(&app, &hook_path).await["status"], "failing");
    let pending = jobs(&app, "pending").await;
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0]["attempts"], 1);
    assert_eq!(pending[0]["last_error"], "HTTP 500");

    // Nothing runs before the first wait (5 s) is over; then each wait of the
    // reference schedule, with up to a tenth of jitter, brings one more attempt.
    app.clock.advance_millis(4_000);
    assert_eq!(app.step_workers().await, 0);
    for wait_secs in [5, 300, 1_800, 7_200, 18_000, 36_000, 36_000] {
        app.clock.advance_millis(wait_secs * 1_100);
        assert_eq!(app.step_workers().await, 1, "attempt after {wait_secs} s");
    }
    let received = receiver.received();
    assert_eq!(received.len(), 8, "the first attempt and seven retries");
    let ids: std::collections::HashSet<&str> =
        received.iter().map(|r| r.header("webhook-id")).collect();
    assert_eq!(ids.len(), 1, "every retry repeats the webhook-id");
    assert!(jobs(&app, "pending").await.is_empty());
    let dead = jobs(&app, "dead").await;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0]["kind"], "webhook.delivery");
    assert_eq!(dead[0]["attempts"], 8);
    assert_eq!(dead[0]["last_error"], "HTTP 500");
    app.clock.advance_millis(86_400_000);
    assert_eq!(app.step_workers().await, 0, "a dead job stays dead");

    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("request")
        .text()
        .await
        .expect("text");
    assert!(metrics.contains("hilo_jobs{kind=\"webhook.delivery\",status=\"dead\"} 1"));
    assert!(metrics.contains("hilo_job_failures_total{kind=\"webhook.delivery\"} 8"));
    assert!(metrics.contains("hilo_jobs_oldest_due_seconds 0"));

    // Retrying: only admins; a retried job runs once more, with the same webhook-id.
    let job = dead[0]["id"].as_str().expect("id");
    let agent = app.key_for("agent").await;
    let response = app
        .request(
            Method::POST,
            &format!("/api/v1/jobs/{job}/retry"),
            Some(&agent),
        )
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    receiver.answer(204);
    let response = app
        .request(
            Method::POST,
            &format!("/api/v1/jobs/{job}/retry"),
            Some(&app.admin_key),
        )
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(app.step_workers().await, 1);
    let received = receiver.received();
    assert_eq!(received.len(), 9);
    assert_eq!(
        received[8].header("webhook-id"),
        received[0].header("webhook-id")
    );
    assert!(jobs(&app, "dead").await.is_empty());
    assert_eq!(json_of(&app, &hook_path).await["status"], "enabled");
    // A done job is not retried again.
    let response = app
        .request(
            Method::POST,
            &format!("/api/v1/jobs/{job}/retry"),
            Some(&app.admin_key),
        )
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let response = app
        .request(
            Method::POST,
            "/api/v1/jobs/0190a000-0000-7000-8000-000000000000/retry",
            Some(&app.admin_key),
        )
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = app
        .get("/api/v1/jobs?status=sleeping", &app.admin_key)
        .await;
    assert_eq!(error_of(response).await.1.as_deref(), Some("status"));
}

async fn an_endpoint_failing_for_five_days_is_disabled_until_enabled(app: TestApp) {
    let receiver = Receiver::start().await;
    receiver.answer(503);
    let (hook, _) = app
        .create_webhook(&receiver.url, &["customer.created"])
        .await;
    let hook_path = format!("/api/v1/webhooks/{hook}");
    register_customer(&app, "first@example.com").await;
    app.step_workers().await;
    let failing_since = json_of(&app, &hook_path).await["failing_since"].clone();
    assert!(failing_since.is_string());
    // Four days on, still failing, still enabled.
    app.clock.advance_millis(4 * 86_400_000);
    register_customer(&app, "second@example.com").await;
    app.step_workers().await;
    let endpoint = json_of(&app, &hook_path).await;
    assert_eq!(endpoint["status"], "failing");
    assert_eq!(endpoint["failing_since"], failing_since);
    // Past five days of failures, the next failure disables it.
    app.clock.advance_millis(86_400_000 + 1_000);
    app.step_workers().await;
    let endpoint = json_of(&app, &hook_path).await;
    assert_eq!(endpoint["status"], "disabled");
    assert!(
        endpoint["disabled_reason"]
            .as_str()
            .is_some_and(|r| r.contains("five days"))
    );
    // Disabled: nothing more is sent to it, new events included.
    let sent = receiver.received().len();
    register_customer(&app, "third@example.com").await;
    app.clock.advance_millis(86_400_000);
    app.step_workers().await;
    assert_eq!(receiver.received().len(), sent);
    assert!(jobs(&app, "pending").await.is_empty());

    // An admin enables it again; it receives new events.
    receiver.answer(200);
    let response = app
        .request(Method::PATCH, &hook_path, Some(&app.admin_key))
        .json(&json!({"enabled": true}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    let endpoint: Value = response.json().await.expect("json");
    assert_eq!(endpoint["status"], "enabled");
    assert!(endpoint["failing_since"].is_null());
    register_customer(&app, "fourth@example.com").await;
    app.step_workers().await;
    assert_eq!(receiver.received().len(), sent + 1);
}

async fn the_webhook_api_checks_input_and_permission(app: TestApp) {
    let create = |body: Value, key: String| {
        let app = &app;
        async move { app.post_json("/api/v1/webhooks", &key, &body).await }
    };
    let admin = app.admin_key.clone();
    for role in ["agent", "marketer", "store", "read_only"] {
        let key = app.key_for(role).await;
        let response = create(
            json!({"url": "http://127.0.0.1:9/", "events": ["customer.created"]}),
            key.clone(),
        )
        .await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{role}");
        let response = app.get("/api/v1/webhooks", &key).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{role}");
        let response = app.get("/api/v1/jobs", &key).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{role}");
    }
    let response = app
        .request(Method::GET, "/api/v1/webhooks", None)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    for (body, field) in [
        (
            json!({"url": "ftp://example.com/", "events": ["customer.created"]}),
            "url",
        ),
        (
            json!({"url": "not a url", "events": ["customer.created"]}),
            "url",
        ),
        (
            json!({"url": "https://user:pw@example.com/", "events": ["customer.created"]}),
            "url",
        ),
        (
            json!({"url": "http://127.0.0.1:9/", "events": []}),
            "events",
        ),
        (
            json!({"url": "http://127.0.0.1:9/", "events": ["customer.exploded"]}),
            "events",
        ),
        (
            json!({"url": "http://127.0.0.1:9/", "events": ["webhook.test"]}),
            "events",
        ),
        (
            json!({"url": "http://127.0.0.1:9/", "events": ["customer.created"], "description": "x".repeat(501)}),
            "description",
        ),
    ] {
        let response = create(body.clone(), admin.clone()).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(error_of(response).await.1.as_deref(), Some(field), "{body}");
    }
    let response = create(json!({"events": ["customer.created"]}), admin.clone()).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    let (hook, _) = app
        .create_webhook(
            "http://127.0.0.1:9/h",
            &["customer.merged", "customer.merged", "consent.changed"],
        )
        .await;
    let endpoint = json_of(&app, &format!("/api/v1/webhooks/{hook}")).await;
    assert_eq!(
        endpoint["events"],
        json!(["customer.merged", "consent.changed"]),
        "deduplicated, in the list's order"
    );
    let response = app
        .request(
            Method::PATCH,
            &format!("/api/v1/webhooks/{hook}"),
            Some(&admin),
        )
        .json(&json!({"events": ["customer.erased"], "description": "erasures", "enabled": false}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    let endpoint: Value = response.json().await.expect("json");
    assert_eq!(endpoint["events"], json!(["customer.erased"]));
    assert_eq!(endpoint["description"], "erasures");
    assert_eq!(endpoint["status"], "disabled");

    for path in [
        "/api/v1/webhooks/not-an-id".to_owned(),
        "/api/v1/webhooks/0190a000-0000-7000-8000-000000000000".to_owned(),
        "/api/v1/webhooks/0190a000-0000-7000-8000-000000000000/deliveries".to_owned(),
    ] {
        assert_eq!(
            app.get(&path, &admin).await.status(),
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let response = app
        .request(
            Method::DELETE,
            &format!("/api/v1/webhooks/{hook}"),
            Some(&admin),
        )
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.get(&format!("/api/v1/webhooks/{hook}"), &admin)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
}

/// Without `--webhook-allow-private`, destinations inside the network are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn internal_destinations_are_refused_unless_allowed() {
    let app = TestApp::start_sqlite_with(|settings| settings.webhook_allow_private = false).await;
    for url in [
        "http://127.0.0.1:8080/",
        "http://localhost:8080/hook",
        "http://[::1]/",
        "http://10.0.0.5/",
        "http://192.168.1.10/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0/",
    ] {
        let response = app
            .post_json(
                "/api/v1/webhooks",
                &app.admin_key,
                &json!({"url": url, "events": ["customer.created"]}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{url}");
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["error"]["field"], "url", "{url}");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("--webhook-allow-private")),
            "{url}: {body}"
        );
    }
}

/// A name that resolves inward at delivery time is refused then too, not only when the
/// endpoint is saved: the check runs on the addresses the delivery would connect to.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_check_the_addresses_they_connect_to() {
    let app = TestApp::start_sqlite_with(|settings| settings.webhook_allow_private = false).await;
    let receiver = Receiver::start().await;
    let port = receiver.url.rsplit(':').next().expect("port").to_owned();
    // Saved as if `localhost` had resolved outward when it was checked.
    let now = hilo_app::Clock::now(&app.clock);
    let endpoint = hilo_store::webhooks::EndpointRecord {
        id: hilo_domain::WebhookId::generate(),
        url: format!("http://localhost:{port}"),
        description: String::new(),
        events: vec![hilo_domain::webhooks::EventType::CustomerCreated],
        secret: hilo_domain::webhooks::SigningSecret::generate().expect("secret"),
        failing_since: None,
        disabled_at: None,
        disabled_reason: None,
        enabled_since: now,
        created_at: now,
        updated_at: now,
    };
    app.store().insert_webhook(&endpoint).await.expect("insert");
    register_customer(&app, "rebind@example.com").await;
    assert_eq!(app.step_workers().await, 1);
    assert!(
        receiver.received().is_empty(),
        "nothing reached the loopback receiver"
    );
    let deliveries = json_of(
        &app,
        &format!("/api/v1/webhooks/{}/deliveries", endpoint.id),
    )
    .await;
    let attempt = &deliveries["data"][0];
    assert_eq!(attempt["succeeded"], false);
    assert!(attempt["status_code"].is_null());
    assert!(
        attempt["response"]
            .as_str()
            .is_some_and(|r| r.contains("--webhook-allow-private")),
        "{attempt}"
    );
}

async fn an_erased_customer_leaves_no_personal_value_in_webhooks(app: TestApp) {
    let receiver = Receiver::start().await;
    receiver.answer(500);
    let (hook, _) = app
        .create_webhook(
            &receiver.url,
            &["customer.created", "customer.updated", "customer.erased"],
        )
        .await;
    let customer = register_customer(&app, "gone@example.com").await;
    app.step_workers().await;
    let response = app
        .post_json(
            &format!("/api/v1/customers/{customer}/erase"),
            &app.admin_key,
            &json!({}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    receiver.answer(200);
    app.clock.advance_millis(60_000);
    app.step_workers().await;
    let received = receiver.received();
    let erased = received
        .iter()
        .map(|r| r.json())
        .find(|b| b["type"] == "customer.erased")
        .expect("a customer.erased event");
    assert_eq!(erased["data"], json!({"customer_id": customer}));
    // The earlier message about the person, retried after the erasure, carries the id
    // alone; and no stored webhook row names them.
    let retried = received
        .iter()
        .rev()
        .find(|r| r.json()["type"] == "customer.created")
        .expect("retried");
    assert_eq!(
        retried.json()["data"],
        json!({"customer_id": customer, "erased": true})
    );
    let deliveries = json_of(
        &app,
        &format!("/api/v1/webhooks/{hook}/deliveries?limit=200"),
    )
    .await;
    assert!(!deliveries.to_string().contains("gone@example.com"));
}

async fn a_node_that_dies_mid_delivery_loses_nothing(app: TestApp) {
    let receiver = Receiver::start().await;
    app.create_webhook(&receiver.url, &["customer.created"])
        .await;
    register_customer(&app, "lease@example.com").await;
    app.consume_feed().await;
    // A worker claims the job and dies before finishing it.
    let now = hilo_app::Clock::now(&app.clock);
    let claimed = app
        .store()
        .claim_due_jobs(now, 10, "a-node-that-dies")
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 1);
    assert_eq!(jobs(&app, "running").await.len(), 1);
    assert_eq!(
        app.step_workers().await,
        0,
        "leased: no one else takes it yet"
    );
    // When its lease runs out, another worker does.
    app.clock
        .advance_millis(hilo_domain::jobs::LEASE_MILLIS + 1);
    assert_eq!(app.step_workers().await, 1);
    assert_eq!(receiver.received().len(), 1);
    let done = jobs(&app, "done").await;
    assert_eq!(done.len(), 1);
    assert_eq!(done[0]["attempts"], 2, "the lost attempt counts");
    // The dead worker's late word changes nothing.
    assert!(
        !app.store()
            .complete_job(&claimed[0], now)
            .await
            .expect("complete")
    );
}

/// With two nodes on one PostgreSQL, each message is queued once and delivered once,
/// however the nodes' consumers and workers interleave.
async fn two_nodes_deliver_each_message_exactly_once(app: TestApp) {
    let Some((_, node, _dir)) = app.second_node().await else {
        return;
    };
    let receiver = Receiver::start().await;
    app.create_webhook(&receiver.url, &["customer.created"])
        .await;
    let count = 40;
    for i in 0..count {
        register_customer(&app, &format!("twin{i}@example.com")).await;
        if i % 10 == 9 {
            let (a, b) = tokio::join!(
                app.hilo().run_feed_consumers(),
                node.hilo.run_feed_consumers()
            );
            a.expect("consumer a");
            b.expect("consumer b");
        }
    }
    app.consume_feed().await;
    let (a, b) = tokio::join!(app.hilo().run_due_jobs(), node.hilo.run_due_jobs());
    let (a, b) = (a.expect("node a"), b.expect("node b"));
    assert_eq!(
        a + b,
        count,
        "every job ran once: {a} on one node, {b} on the other"
    );
    let received = receiver.received();
    let mut per_id: HashMap<String, usize> = HashMap::new();
    let mut customers = std::collections::HashSet::new();
    for delivery in &received {
        *per_id
            .entry(delivery.header("webhook-id").to_owned())
            .or_default() += 1;
        customers.insert(
            delivery.json()["data"]["customer_id"]
                .as_str()
                .expect("id")
                .to_owned(),
        );
    }
    assert_eq!(received.len(), count);
    assert!(per_id.values().all(|n| *n == 1));
    assert_eq!(customers.len(), count, "one message per customer");
}

/// On PostgreSQL a change can commit after one with a higher `seq`; the consumer still
/// acts on it, once.
async fn the_consumer_sees_changes_that_commit_out_of_order(app: TestApp) {
    let store = app.store();
    let now = hilo_app::Clock::now(&app.clock);
    let early = hilo_domain::CustomerId::generate();
    let late = hilo_domain::CustomerId::generate();
    // Takes its seq first, commits last.
    let mut slow = store.begin().await.expect("begin");
    slow.record_change(ChangeKind::ProfileCreated, early, "{}", now)
        .await
        .expect("change");
    let committed_first = async {
        let mut fast = store.begin().await.expect("begin");
        fast.record_change(ChangeKind::ProfileCreated, late, "{}", now)
            .await
            .expect("change");
        fast.commit().await.expect("commit");
    };
    if store.engine() == hilo_store::Engine::Sqlite {
        // One writer at a time: commits follow seq by construction.
        slow.commit().await.expect("commit");
        committed_first.await;
    } else {
        committed_first.await;
        let claim = app
            .hilo()
            .claim_changes("out-of-order-test", 100)
            .await
            .expect("claim");
        let seen: Vec<_> = claim.changes().iter().map(|c| c.customer).collect();
        assert!(
            !seen.contains(&late),
            "held back behind a change still running"
        );
        claim.commit().await.expect("commit");
        slow.commit().await.expect("commit");
    }
    let mut seen = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let claim = app
            .hilo()
            .claim_changes("out-of-order-test", 100)
            .await
            .expect("claim");
        if claim.changes().is_empty() {
            if claim.held_back() && std::time::Instant::now() < deadline {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
            break;
        }
        seen.extend(claim.changes().iter().map(|c| c.customer));
        claim.commit().await.expect("commit");
    }
    assert_eq!(seen.iter().filter(|c| **c == early).count(), 1);
    assert_eq!(seen.iter().filter(|c| **c == late).count(), 1);
}

/// Changes made while no endpoint existed are not sent to one registered later.
async fn a_new_endpoint_hears_from_then_on_not_history(app: TestApp) {
    register_customer(&app, "before@example.com").await;
    app.step_workers().await;
    app.clock.advance_millis(1);
    let receiver = Receiver::start().await;
    app.create_webhook(&receiver.url, &["customer.created"])
        .await;
    let after = register_customer(&app, "after@example.com").await;
    app.step_workers().await;
    let received = receiver.received();
    assert_eq!(
        received.len(),
        1,
        "only the customer made after the endpoint"
    );
    assert_eq!(received[0].json()["data"]["customer_id"], after.as_str());
}
