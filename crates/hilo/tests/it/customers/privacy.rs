//! Consent per channel and purpose, export, and erasure that leaves nothing behind.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{TestApp, error_of, on_both_engines};

on_both_engines!(
    consent_comes_from_events_and_staff_with_history,
    export_holds_everything_about_the_person,
    erasure_leaves_no_personal_value_in_any_table,
    erasure_reaches_into_other_customers_records,
);

async fn consent_comes_from_events_and_staff_with_history(app: TestApp) {
    let (_, web) = app.create_source("Web", "web").await;
    let signup = json!({"userId": "c-1", "traits": {"email": "c1@example.com"}, "messageId": "c1",
        "timestamp": "2026-11-23T10:00:00Z",
        "context": {"consent": {"categoryPreferences": {"email_marketing": true, "sms_marketing": false, "analytics": true}}}});
    assert_eq!(
        app.collect("/v1/identify", &web, &signup).await.status(),
        200
    );
    let customer = app.lookup("user_id", "c-1").await.expect("customer");
    assert_eq!(customer["consent"]["email"]["marketing"]["granted"], true);
    assert_eq!(customer["consent"]["email"]["marketing"]["via"], "web");
    assert_eq!(customer["consent"]["sms"]["marketing"]["granted"], false);
    assert!(customer["consent"].get("analytics").is_none());

    // On the phone, the customer withdraws email marketing.
    let agent = app.key_for("agent").await;
    let id = customer["id"].as_str().expect("id");
    let response = app
        .request(
            Method::POST,
            &format!("/api/v1/customers/{id}/consent"),
            Some(&agent),
        )
        .json(&json!({"via": "call_center", "changes": [
            {"channel": "email", "purpose": "marketing", "granted": false},
            {"channel": "whatsapp", "purpose": "service", "granted": true}]}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let updated: Value = response.json().await.expect("json");
    assert_eq!(updated["consent"]["email"]["marketing"]["granted"], false);
    assert_eq!(
        updated["consent"]["email"]["marketing"]["via"],
        "call_center"
    );
    assert_eq!(updated["consent"]["whatsapp"]["service"]["granted"], true);

    let export: Value = app
        .get(&format!("/api/v1/customers/{id}/export"), &app.admin_key)
        .await
        .json()
        .await
        .expect("json");
    let history: Vec<(String, bool)> = export["consent_history"]
        .as_array()
        .expect("history")
        .iter()
        .filter(|c| c["channel"] == "email")
        .map(|c| {
            (
                c["via"].as_str().unwrap_or("").to_owned(),
                c["granted"].as_bool().unwrap_or(true),
            )
        })
        .collect();
    assert_eq!(
        history,
        [("web".to_owned(), true), ("call_center".to_owned(), false)]
    );

    for (body, field) in [
        (
            json!({"changes": [{"channel": "fax", "purpose": "marketing", "granted": true}]}),
            "changes[0].channel",
        ),
        (
            json!({"changes": [{"channel": "sms", "purpose": "spam", "granted": true}]}),
            "changes[0].purpose",
        ),
        (json!({"changes": []}), "changes"),
    ] {
        let response = app
            .request(
                Method::POST,
                &format!("/api/v1/customers/{id}/consent"),
                Some(&agent),
            )
            .json(&body)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 400);
        assert_eq!(error_of(response).await.1.as_deref(), Some(field));
    }
}

async fn export_holds_everything_about_the_person(app: TestApp) {
    let (_, web) = app.create_source("Web", "web").await;
    let (_, store) = app.create_source("Store", "pos").await;
    let messages = [
        (
            &web,
            json!({"type": "page", "anonymousId": "e-dev", "name": "Home", "messageId": "e1"}),
        ),
        (
            &web,
            json!({"type": "identify", "anonymousId": "e-dev", "userId": "e-user",
                      "traits": {"email": "e@example.com", "name": "Elena"}, "messageId": "e2"}),
        ),
        (
            &store,
            json!({"type": "track", "userId": "e-user", "event": "Order Completed", "messageId": "e3"}),
        ),
    ];
    for (key, message) in messages {
        assert_eq!(
            app.collect("/v1/batch", key, &json!({"batch": [message]}))
                .await
                .status(),
            200
        );
    }
    let customer = app
        .lookup("email", "e@example.com")
        .await
        .expect("customer");
    let id = customer["id"].as_str().expect("id");
    let export: Value = app
        .get(&format!("/api/v1/customers/{id}/export"), &app.admin_key)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(export["customer_id"], id);
    assert_eq!(export["timeline"].as_array().map(Vec::len), Some(3));
    assert_eq!(export["traits"]["name"], "Elena");
    assert_eq!(export["identities"].as_array().map(Vec::len), Some(3));
    let agent = app.key_for("agent").await;
    assert_eq!(
        app.get(&format!("/api/v1/customers/{id}/export"), &agent)
            .await
            .status(),
        403
    );
}

const PERSONAL: [&str; 6] = [
    "ana.secreta@example.com",
    "+34611222333",
    "Ana Secreta",
    "kiosk-ana",
    "LC-ANA-1",
    "ana-user-1",
];

/// Every text value in every table that contains one of `needles` (case-insensitive).
pub(crate) async fn find_anywhere(store: &hilo_store::Store, needles: &[&str]) -> Vec<String> {
    use sqlx::Row;
    let mut found = Vec::new();
    let columns: Vec<(String, String)> = match store {
        hilo_store::Store::Sqlite(pool) => {
            let tables: Vec<String> =
                sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'")
                    .fetch_all(pool)
                    .await
                    .expect("tables");
            let mut columns = Vec::new();
            for table in tables {
                let names: Vec<String> = sqlx::query_scalar(
                    "SELECT name FROM pragma_table_info($1) WHERE type = 'TEXT'",
                )
                .bind(&table)
                .fetch_all(pool)
                .await
                .expect("columns");
                columns.extend(names.into_iter().map(|c| (table.clone(), c)));
            }
            columns
        }
        hilo_store::Store::Postgres(pool) => sqlx::query_as(
            "SELECT table_name::text, column_name::text FROM information_schema.columns \
             WHERE table_schema = 'public' AND data_type IN ('text', 'character varying')",
        )
        .fetch_all(pool)
        .await
        .expect("columns"),
    };
    assert!(columns.len() > 20, "all tables scanned: {columns:?}");
    for (table, column) in columns {
        let sql = format!("SELECT {column} FROM {table}");
        let values: Vec<Option<String>> = match store {
            hilo_store::Store::Sqlite(pool) => sqlx::query(sqlx::AssertSqlSafe(sql))
                .fetch_all(pool)
                .await
                .expect("scan")
                .iter()
                .map(|row| row.try_get::<Option<String>, _>(0).ok().flatten())
                .collect(),
            hilo_store::Store::Postgres(pool) => sqlx::query(sqlx::AssertSqlSafe(sql))
                .fetch_all(pool)
                .await
                .expect("scan")
                .iter()
                .map(|row| row.try_get::<Option<String>, _>(0).ok().flatten())
                .collect(),
        };
        for value in values.into_iter().flatten() {
            let lower = value.to_lowercase();
            for needle in needles {
                if lower.contains(&needle.to_lowercase()) {
                    found.push(format!("{table}.{column}: {needle}"));
                }
            }
        }
    }
    found
}

async fn erasure_leaves_no_personal_value_in_any_table(app: TestApp) {
    let (_, web) = app.create_source("Web", "web").await;
    let (_, kiosk) = app.create_source("Kiosk", "kiosk").await;
    let batch = json!({"batch": [
        {"type": "page", "anonymousId": "kiosk-ana", "name": "Home", "messageId": "a1"},
        {"type": "identify", "anonymousId": "kiosk-ana", "userId": "ana-user-1", "messageId": "a2",
         "traits": {"email": "Ana.Secreta@example.com", "phone": "611 222 333", "name": "Ana Secreta"},
         "context": {"externalIds": [{"id": "LC-ANA-1", "type": "loyalty_card"}],
                     "consent": {"categoryPreferences": {"email_marketing": true}}}},
        {"type": "track", "userId": "ana-user-1", "event": "Order Completed", "messageId": "a3"}
    ]});
    assert_eq!(app.collect("/v1/batch", &web, &batch).await.status(), 200);
    // Bo signs in on Ana's kiosk: his message quotes her device id.
    let bo = json!({"userId": "bo", "anonymousId": "kiosk-ana", "messageId": "b1"});
    assert_eq!(app.collect("/v1/identify", &kiosk, &bo).await.status(), 200);
    let ana = app
        .lookup("email", "ana.secreta@example.com")
        .await
        .expect("ana");
    let id = ana["id"].as_str().expect("id").to_owned();
    let agent = app.key_for("agent").await;
    app.request(
        Method::PATCH,
        &format!("/api/v1/customers/{id}"),
        Some(&agent),
    )
    .json(&json!({"traits": {"note": "Ana Secreta prefers mornings"}}))
    .send()
    .await
    .expect("request");
    let before = find_anywhere(app.store(), &PERSONAL).await;
    for value in PERSONAL {
        assert!(
            before.iter().any(|f| f.ends_with(value)),
            "{value} stored before: {before:?}"
        );
    }

    let response = app
        .request(
            Method::POST,
            &format!("/api/v1/customers/{id}/erase"),
            Some(&agent),
        )
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 403, "agents may not erase");
    let response = app
        .request(
            Method::POST,
            &format!("/api/v1/customers/{id}/erase"),
            Some(&app.admin_key),
        )
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let result: Value = response.json().await.expect("json");
    assert_eq!(result["timeline_items"], 3);
    assert_eq!(result["redacted_items"], 1);

    let after = find_anywhere(app.store(), &PERSONAL).await;
    assert!(after.is_empty(), "personal data left: {after:?}");
    assert_eq!(
        app.get(&format!("/api/v1/customers/{id}"), &app.admin_key)
            .await
            .status(),
        404
    );
    let bo = app.lookup("user_id", "bo").await.expect("Bo is untouched");
    assert_eq!(app.timeline(bo["id"].as_str().expect("id")).await.len(), 1);
    let audit = app.store().audit_of(&id).await.expect("audit");
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].3, "customer.erased");

    // Later events carrying her identifiers do not recreate her.
    let again = json!({"userId": "ana-user-1", "anonymousId": "new-phone", "event": "App Opened", "messageId": "a4"});
    assert_eq!(app.collect("/v1/track", &web, &again).await.status(), 200);
    assert!(app.lookup("user_id", "ana-user-1").await.is_none());
    assert!(app.lookup("anonymous_id", "new-phone").await.is_none());
    assert!(find_anywhere(app.store(), &PERSONAL).await.is_empty());
}

/// Vera's identifiers as other customers' messages and staff may spell them.
const VERA: [&str; 8] = [
    "vera.ruiz@example.com",
    "+34612345678",
    "612345678",
    "612 345 678",
    "612-345-678",
    "612 34 56 78",
    "+34 (612) 345-678",
    "vera-1",
];

async fn erasure_reaches_into_other_customers_records(app: TestApp) {
    let (_, web) = app.create_source("Web", "web").await;
    let vera = json!({"userId": "vera-1", "messageId": "v1",
        "traits": {"email": "Vera.Ruiz@example.com", "phone": "612 345 678", "name": "Vera"}});
    assert_eq!(app.collect("/v1/identify", &web, &vera).await.status(), 200);
    // Wes's messages carry her in every place a message can: traits, context traits,
    // properties (nested, in arrays, inside longer text), a group's traits.
    let wes = json!({"batch": [
        {"type": "identify", "userId": "wes", "messageId": "w1",
         "traits": {"name": "Wes", "gift_recipient": "vera.ruiz@example.com",
                    "emergency_contact": "+34 612 34 56 78"},
         "context": {"traits": {"referred_by": "VERA.RUIZ@EXAMPLE.COM"}}},
        {"type": "track", "userId": "wes", "event": "Referral Sent", "messageId": "w2",
         "properties": {"friend": {"email": "vera.ruiz@example.com", "phones": ["612345678"]},
                        "note": "invited vera.ruiz@example.com, phone 612-345-678",
                        "friend_user": "vera-1", "plan": "gold"}},
        {"type": "page", "userId": "wes", "name": "Search", "messageId": "w3",
         "properties": {"query": "vera-1", "phone": "+34 (612) 345-678"}},
        {"type": "group", "userId": "wes", "groupId": "g1", "messageId": "w4",
         "traits": {"owner_email": "vera.ruiz@example.com", "owner_phone": "612 34 56 78"}}
    ]});
    assert_eq!(app.collect("/v1/batch", &web, &wes).await.status(), 200);
    let wes = app.lookup("user_id", "wes").await.expect("wes");
    let wes_id = wes["id"].as_str().expect("id").to_owned();
    let agent = app.key_for("agent").await;
    let response = app
        .request(
            Method::PATCH,
            &format!("/api/v1/customers/{wes_id}"),
            Some(&agent),
        )
        .json(&json!({"traits": {"note": "call Vera on 612 345 678"}}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let planted = find_anywhere(app.store(), &VERA).await;
    for needle in ["timeline.body", "profiles.traits"] {
        assert!(planted.iter().any(|f| f.starts_with(needle)), "{planted:?}");
    }

    let vera = app.lookup("user_id", "vera-1").await.expect("vera");
    let response = app
        .post_json(
            &format!(
                "/api/v1/customers/{}/erase",
                vera["id"].as_str().expect("id")
            ),
            &app.admin_key,
            &json!({}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let result: Value = response.json().await.expect("json");
    assert_eq!(
        result["redacted_items"], 5,
        "four messages and Wes's traits: {result}"
    );

    let left = find_anywhere(app.store(), &VERA).await;
    assert!(left.is_empty(), "Vera left in: {left:?}");
    // Wes keeps everything that is his.
    let wes = app.lookup("user_id", "wes").await.expect("wes");
    assert_eq!(wes["traits"]["name"], "Wes");
    assert_eq!(wes["traits"]["gift_recipient"], "[erased]");
    assert_eq!(wes["traits"]["note"], "call Vera on [erased]");
    let timeline = app.timeline(&wes_id).await;
    assert_eq!(timeline.len(), 4, "his four messages");
    let referral = timeline
        .iter()
        .find(|item| item["name"] == "Referral Sent")
        .expect("referral");
    assert_eq!(referral["body"]["properties"]["plan"], "gold");
    assert_eq!(
        referral["body"]["properties"]["note"],
        "invited [erased], phone [erased]"
    );
    let export: Value = app
        .get(
            &format!("/api/v1/customers/{wes_id}/export"),
            &app.admin_key,
        )
        .await
        .json()
        .await
        .expect("json");
    let text = export.to_string().to_lowercase();
    for needle in VERA {
        assert!(
            !text.contains(&needle.to_lowercase()),
            "{needle} in Wes's export"
        );
    }
}
