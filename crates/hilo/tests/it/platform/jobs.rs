//! Durable jobs beside other writes. (The runner itself is exercised end to end by the
//! webhook deliveries in `webhooks.rs`: retries, death, admin retry, leases, two nodes.)

use std::time::Duration;

use hilo_domain::jobs::JobKind;
use hilo_store::jobs::NewJob;
use reqwest::StatusCode;
use serde_json::json;

use crate::support::{TestApp, on_both_engines};

on_both_engines!(
    writes_of_other_parts_never_wait_on_the_graph_version,
    a_job_is_written_with_its_cause_or_not_at_all,
);

pub(crate) async fn enqueue(
    tx: &mut hilo_store::Tx,
    app: &TestApp,
    key: Option<&str>,
) -> Option<hilo_domain::JobId> {
    let now = hilo_app::Clock::now(&app.clock);
    let payload = json!({"message_id": "msg_none"});
    tx.enqueue_job(
        &NewJob {
            kind: JobKind::WebhookDelivery,
            payload: &payload,
            run_at: now,
            idempotency_key: key,
        },
        now,
    )
    .await
    .expect("enqueue")
}

/// On PostgreSQL, a transaction that changes no identity (a job, here) leaves the graph
/// version alone, so a second such transaction commits while the first is still open;
/// a change of the identity graph still raises it. (SQLite has one writer at a time.)
async fn writes_of_other_parts_never_wait_on_the_graph_version(app: TestApp) {
    let store = app.store();
    if store.engine() == hilo_store::Engine::Sqlite {
        return;
    }
    let version = |store: &hilo_store::Store| {
        let store = store.clone();
        async move {
            let mut tx = store.begin().await.expect("begin");
            tx.graph_version()
                .await
                .expect("version")
                .expect("PostgreSQL keeps one")
        }
    };
    let before = version(store).await;
    let mut open = store.begin().await.expect("begin");
    enqueue(&mut open, &app, None).await;
    let second = async {
        let mut tx = store.begin().await.expect("begin");
        enqueue(&mut tx, &app, None).await;
        tx.commit_versioned().await.expect("commit")
    };
    let commit = tokio::time::timeout(Duration::from_secs(5), second)
        .await
        .expect("the second transaction commits while the first is open")
        .expect("a version is reported");
    assert_eq!((commit.previous, commit.current), (before, before));
    open.commit().await.expect("commit");
    assert_eq!(
        version(store).await,
        before,
        "no graph change, no new version"
    );

    let response = app
        .post_json(
            "/api/v1/customers",
            &app.admin_key,
            &json!({"identifiers": [{"type": "email", "value": "graph@example.com"}]}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(
        version(store).await,
        before + 1,
        "a new identity raises the version"
    );
}

/// A job rolled back with its transaction never runs; an idempotency key writes once.
async fn a_job_is_written_with_its_cause_or_not_at_all(app: TestApp) {
    let store = app.store();
    let mut tx = store.begin().await.expect("begin");
    assert!(enqueue(&mut tx, &app, None).await.is_some());
    drop(tx);
    let mut tx = store.begin().await.expect("begin");
    assert!(enqueue(&mut tx, &app, Some("once")).await.is_some());
    assert!(enqueue(&mut tx, &app, Some("once")).await.is_none());
    tx.commit().await.expect("commit");
    let body: serde_json::Value = app
        .get("/api/v1/jobs", &app.admin_key)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(body["data"].as_array().map(Vec::len), Some(1));
    assert_eq!(body["data"][0]["status"], "pending");
    assert_eq!(body["data"][0]["max_attempts"], 8);
    // Its message does not exist: the delivery dies at once, with the reason.
    assert_eq!(app.step_workers().await, 1);
    let dead: serde_json::Value = app
        .get("/api/v1/jobs?status=dead", &app.admin_key)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(dead["data"][0]["attempts"], 1);
    assert!(
        dead["data"][0]["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("deleted"))
    );
}
