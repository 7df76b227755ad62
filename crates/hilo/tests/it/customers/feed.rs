//! The change feed: every profile change and event, in order, resumable after a restart.

use std::sync::Arc;
use std::time::Duration;

use hilo_app::feed::{FeedItem, FeedPosition};
use reqwest::Method;
use serde_json::json;

use crate::support::{TestApp, on_both_engines};

on_both_engines!(
    consumers_see_every_change_in_order_and_resume_after_restart,
    the_feed_is_read_in_index_order_without_sorting,
);

fn kinds(items: &[FeedItem]) -> (Vec<String>, usize) {
    let changes = items
        .iter()
        .filter_map(|item| match item {
            FeedItem::Change { kind, .. } => Some(kind.clone()),
            FeedItem::Timeline { .. } => None,
        })
        .collect();
    let events = items
        .iter()
        .filter(|item| matches!(item, FeedItem::Timeline { .. }))
        .count();
    (changes, events)
}

async fn consumers_see_every_change_in_order_and_resume_after_restart(app: TestApp) {
    let hilo = app.hilo().clone();
    assert_eq!(
        hilo.feed_position("segments").await.expect("position"),
        FeedPosition::default()
    );

    // A consumer waiting for news is woken by the commit.
    let waiter = {
        let hilo = hilo.clone();
        tokio::spawn(async move { hilo.feed_signal().notified().await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let (_, web) = app.create_source("Web", "web").await;
    let batch = json!({"batch": [
        {"type": "page", "anonymousId": "f-dev", "name": "Home", "messageId": "f1"},
        {"type": "identify", "userId": "f-user", "traits": {"name": "Fe"}, "messageId": "f2"},
        {"type": "identify", "userId": "f-user", "anonymousId": "f-dev", "messageId": "f3"}
    ]});
    assert_eq!(app.collect("/v1/batch", &web, &batch).await.status(), 200);
    tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .expect("woken by the commit")
        .expect("waiter");

    let customer = app.lookup("user_id", "f-user").await.expect("customer");
    let id = customer["id"].as_str().expect("id");
    app.request(
        Method::PATCH,
        &format!("/api/v1/customers/{id}"),
        Some(&app.admin_key),
    )
    .json(&json!({"traits": {"tier": "gold"}}))
    .send()
    .await
    .expect("request");

    let batch = hilo
        .read_feed(FeedPosition::default(), 100)
        .await
        .expect("read");
    let (changes, events) = kinds(&batch.items);
    assert_eq!(
        changes,
        [
            "profile.created",
            "profile.created",
            "profile.traits",
            "profile.merged",
            "profile.traits"
        ]
    );
    assert_eq!(events, 3);
    let merged_into = batch.items.iter().find_map(|item| match item {
        FeedItem::Change { kind, customer, .. } if kind == "profile.merged" => {
            Some(customer.to_string())
        }
        _ => None,
    });
    assert_eq!(merged_into.as_deref(), Some(id));

    // Reading in small pages sees the same items, in order, once.
    let mut position = FeedPosition::default();
    let mut paged = Vec::new();
    loop {
        let page = hilo.read_feed(position, 2).await.expect("read");
        if page.items.is_empty() {
            break;
        }
        paged.extend(page.items);
        position = page.next;
    }
    assert_eq!(kinds(&paged), kinds(&batch.items));

    hilo.save_feed_position("segments", batch.next)
        .await
        .expect("save");
    // A restart: a new application on the same database resumes where the consumer stopped.
    let restarted = hilo_app::Hilo::new(app.store().clone(), Arc::new(app.clock.clone()));
    let resumed = restarted.feed_position("segments").await.expect("position");
    assert_eq!(resumed, batch.next);
    assert!(
        restarted
            .read_feed(resumed, 100)
            .await
            .expect("read")
            .items
            .is_empty()
    );
    let more = json!({"userId": "f-user", "event": "Order Completed", "messageId": "f4"});
    assert_eq!(app.collect("/v1/track", &web, &more).await.status(), 200);
    let news = restarted.read_feed(resumed, 100).await.expect("read");
    assert_eq!(kinds(&news.items), (vec![], 1));
    // Saving an older position never moves the cursor back.
    restarted
        .save_feed_position("segments", FeedPosition::default())
        .await
        .expect("save");
    assert_eq!(
        restarted.feed_position("segments").await.expect("position"),
        batch.next
    );
}

/// With sorting ruled out where the planner has a choice, the plan of a consumer's
/// feed read holds no sort: an index gives the order, so a read far behind the head
/// costs a page of rows, not a sort of everything after its position.
async fn the_feed_is_read_in_index_order_without_sorting(app: TestApp) {
    let (sqlite, postgres) = hilo_store::customers::feed::CHANGES_AFTER;
    match app.store() {
        hilo_store::Store::Sqlite(pool) => {
            let sql = format!(
                "EXPLAIN QUERY PLAN {}",
                sqlite.replace("$1", "0").replace("$2", "200")
            );
            let plan: Vec<(i64, i64, i64, String)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .fetch_all(pool)
                .await
                .expect("plan");
            assert!(
                !plan
                    .iter()
                    .any(|(.., detail)| detail.contains("TEMP B-TREE")),
                "{plan:?}"
            );
        }
        hilo_store::Store::Postgres(pool) => {
            let mut conn = pool.acquire().await.expect("connection");
            sqlx::query("SET enable_sort = off")
                .execute(&mut *conn)
                .await
                .expect("set");
            let sql = format!(
                "EXPLAIN {}",
                postgres
                    .replace("$1", "0")
                    .replace("$2", "0")
                    .replace("$3", "200")
            );
            let plan: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .fetch_all(&mut *conn)
                .await
                .expect("plan");
            assert!(
                !plan.iter().any(|(line,)| line.contains("Sort")),
                "{plan:?}"
            );
            sqlx::query("RESET enable_sort")
                .execute(&mut *conn)
                .await
                .expect("reset");
        }
    }
}
