//! Who may do what: the 401/403/2xx matrix for every role and key kind.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{TestApp, error_of, on_both_engines};

on_both_engines!(
    every_role_and_key_kind_gets_exactly_its_permissions,
    missing_wrong_and_revoked_credentials_are_401,
    forbidden_callers_cannot_learn_what_exists,
    permission_is_checked_before_the_body,
);

/// Expected status for each caller: admin, agent, marketer, store, read_only, write key.
struct Case {
    method: Method,
    path: String,
    body: Option<Value>,
    expected: [u16; 6],
}

const CALLERS: [&str; 6] = [
    "admin",
    "agent",
    "marketer",
    "store",
    "read_only",
    "write_key",
];

async fn every_role_and_key_kind_gets_exactly_its_permissions(app: TestApp) {
    let mut keys = vec![app.admin_key.clone()];
    for role in ["agent", "marketer", "store", "read_only"] {
        keys.push(app.key_for(role).await);
    }
    let (source_id, write_key) = app.create_source("Web shop", "web").await;
    keys.push(write_key);
    let listed: Value = app
        .get("/api/v1/keys", &app.admin_key)
        .await
        .json()
        .await
        .expect("json");
    // The first key after the initial admin key: the agent's.
    let key_id = listed["data"][1]["id"].as_str().expect("key id").to_owned();

    let ok = 200;
    let cases = [
        Case {
            method: Method::GET,
            path: "/api/v1/me".into(),
            body: None,
            expected: [ok, ok, ok, ok, ok, 403],
        },
        Case {
            method: Method::GET,
            path: "/api/v1/sources".into(),
            body: None,
            expected: [ok, 403, 403, 403, ok, 403],
        },
        Case {
            method: Method::GET,
            path: format!("/api/v1/sources/{source_id}"),
            body: None,
            expected: [ok, 403, 403, 403, ok, 403],
        },
        Case {
            method: Method::POST,
            path: "/api/v1/sources".into(),
            body: Some(json!({"name": "Kiosk", "channel": "kiosk"})),
            expected: [201, 403, 403, 403, 403, 403],
        },
        Case {
            method: Method::GET,
            path: "/api/v1/keys".into(),
            body: None,
            expected: [ok, 403, 403, 403, 403, 403],
        },
        Case {
            method: Method::GET,
            path: format!("/api/v1/keys/{key_id}"),
            body: None,
            expected: [ok, 403, 403, 403, 403, 403],
        },
        Case {
            method: Method::POST,
            path: "/api/v1/keys".into(),
            body: Some(json!({"name": "Integration", "role": "agent"})),
            expected: [201, 403, 403, 403, 403, 403],
        },
        Case {
            method: Method::GET,
            path: "/api/v1/users".into(),
            body: None,
            expected: [ok, 403, 403, 403, 403, 403],
        },
        Case {
            method: Method::POST,
            path: "/api/v1/users".into(),
            body: Some(
                json!({"email": "new@example.com", "role": "agent", "password": "long enough password"}),
            ),
            expected: [201, 403, 403, 403, 403, 403],
        },
    ];
    for case in &cases {
        // Non-admins first, so the admin's successful write does not change what they see.
        for index in [1, 2, 3, 4, 5, 0] {
            let mut request = app.request(case.method.clone(), &case.path, Some(&keys[index]));
            if let Some(body) = &case.body {
                request = request.json(body);
            }
            let response = request.send().await.expect("request");
            let status = response.status().as_u16();
            assert_eq!(
                status, case.expected[index],
                "{} {} as {}",
                case.method, case.path, CALLERS[index]
            );
            if status == 403 {
                assert_eq!(error_of(response).await.0, "forbidden");
            }
        }
    }

    // Destructive operations last: non-admins are refused and nothing changes.
    for (index, key) in keys.iter().enumerate().skip(1) {
        for path in [
            format!("/api/v1/sources/{source_id}"),
            format!("/api/v1/keys/{key_id}"),
        ] {
            let response = app
                .request(Method::DELETE, &path, Some(key))
                .send()
                .await
                .expect("request");
            assert_eq!(
                response.status(),
                403,
                "DELETE {path} as {}",
                CALLERS[index]
            );
        }
    }
    let still_there = app
        .get(&format!("/api/v1/sources/{source_id}"), &app.admin_key)
        .await;
    assert_eq!(still_there.status(), 200);
    let deleted = app
        .request(
            Method::DELETE,
            &format!("/api/v1/sources/{source_id}"),
            Some(&app.admin_key),
        )
        .send()
        .await
        .expect("request");
    assert_eq!(deleted.status(), 204);
    let revoked = app
        .request(
            Method::DELETE,
            &format!("/api/v1/keys/{key_id}"),
            Some(&app.admin_key),
        )
        .send()
        .await
        .expect("request");
    assert_eq!(revoked.status(), 200);
}

async fn missing_wrong_and_revoked_credentials_are_401(app: TestApp) {
    let no_credentials = app
        .request(Method::GET, "/api/v1/me", None)
        .send()
        .await
        .expect("request");
    assert_eq!(no_credentials.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_of(no_credentials).await.0, "unauthorized");

    for header in [
        "Bearer hilo_sk_000000000000000000000000000000000000000000000000",
        "Bearer hilo_wk_000000000000000000000000000000000000000000000000",
        "Basic YWRtaW46YWRtaW4=",
        "Bearer",
        "garbage",
    ] {
        let response = app
            .client
            .get(app.url("/api/v1/me"))
            .header("authorization", header)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 401, "Authorization: {header}");
        assert_eq!(error_of(response).await.0, "unauthorized");
    }

    // A revoked key stops working at once.
    let agent = app.key_for("agent").await;
    assert_eq!(app.get("/api/v1/me", &agent).await.status(), 200);
    let me: Value = app
        .get("/api/v1/me", &agent)
        .await
        .json()
        .await
        .expect("json");
    let id = me["id"].as_str().expect("id");
    let revoked = app
        .request(
            Method::DELETE,
            &format!("/api/v1/keys/{id}"),
            Some(&app.admin_key),
        )
        .send()
        .await
        .expect("request");
    assert_eq!(revoked.status(), 200);
    let body: Value = revoked.json().await.expect("json");
    assert!(body["revoked_at"].is_string());
    assert_eq!(app.get("/api/v1/me", &agent).await.status(), 401);

    // A deleted source's write key stops working too.
    let (source_id, write_key) = app.create_source("Old kiosk", "kiosk").await;
    assert_eq!(app.get("/api/v1/me", &write_key).await.status(), 403);
    app.request(
        Method::DELETE,
        &format!("/api/v1/sources/{source_id}"),
        Some(&app.admin_key),
    )
    .send()
    .await
    .expect("request");
    assert_eq!(app.get("/api/v1/me", &write_key).await.status(), 401);
}

async fn forbidden_callers_cannot_learn_what_exists(app: TestApp) {
    let (source_id, _) = app.create_source("Store", "pos").await;
    let agent = app.key_for("agent").await;
    let missing = "01a20000-0000-7000-8000-000000000000";
    let mut bodies = Vec::new();
    for id in [source_id.as_str(), missing, "not-an-id"] {
        let response = app.get(&format!("/api/v1/sources/{id}"), &agent).await;
        assert_eq!(response.status(), 403);
        bodies.push(response.text().await.expect("body"));
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "{bodies:?}");

    // The admin does learn it: existing → 200, missing or malformed → 404.
    assert_eq!(
        app.get(&format!("/api/v1/sources/{source_id}"), &app.admin_key)
            .await
            .status(),
        200
    );
    for id in [missing, "not-an-id"] {
        let response = app
            .get(&format!("/api/v1/sources/{id}"), &app.admin_key)
            .await;
        assert_eq!(response.status(), 404);
        assert_eq!(error_of(response).await.0, "not_found");
    }
}

/// A caller who may not use an endpoint hears 403 whatever body they send: a malformed
/// body never earns a 400 that describes the fields expected.
async fn permission_is_checked_before_the_body(app: TestApp) {
    let read_only = app.key_for("read_only").await;
    let (_, write_key) = app.create_source("Web", "web").await;
    let some_id = "01a20000-0000-7000-8000-000000000000";
    let endpoints = [
        (Method::POST, "/api/v1/customers".to_owned()),
        (Method::PATCH, format!("/api/v1/customers/{some_id}")),
        (Method::POST, format!("/api/v1/customers/{some_id}/consent")),
        (Method::POST, format!("/api/v1/customers/{some_id}/erase")),
        (Method::POST, format!("/api/v1/customers/{some_id}/unmerge")),
        (Method::PUT, "/api/v1/identity/rules".to_owned()),
        (Method::POST, "/api/v1/sources".to_owned()),
        (Method::POST, "/api/v1/keys".to_owned()),
        (Method::POST, "/api/v1/users".to_owned()),
        (Method::POST, "/api/v1/webhooks".to_owned()),
        (Method::PATCH, format!("/api/v1/webhooks/{some_id}")),
    ];
    for (method, path) in &endpoints {
        for (body, content_type) in [
            ("{\"nonsense\": ", "application/json"),
            ("[1, 2, 3]", "application/json"),
            ("a=b", "application/x-www-form-urlencoded"),
        ] {
            for (who, key) in [("read_only", &read_only), ("write key", &write_key)] {
                let response = app
                    .request(method.clone(), path, Some(key))
                    .header("content-type", content_type)
                    .body(body)
                    .send()
                    .await
                    .expect("request");
                let status = response.status();
                let (code, field) = error_of(response).await;
                assert!(
                    status == StatusCode::FORBIDDEN || status == StatusCode::UNAUTHORIZED,
                    "{who} {method} {path} with {body:?}: {status} {code} {field:?}"
                );
                assert_eq!(field, None, "{who} {method} {path}: names no field");
            }
        }
    }
}
