//! Customer search: by any word of what a profile shows, by prefix, accents and case
//! aside, from the engine's full-text index, which follows every change to a profile.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{TestApp, error_of, on_both_engines};

on_both_engines!(
    customers_are_searchable_and_private,
    search_matches_only_what_a_profile_shows,
    search_finds_by_prefix_without_accents_and_phones_by_their_digits,
    search_follows_merges_unmerges_edits_and_erasure,
    search_pages_through_every_match,
    search_lists_words_written_together_first,
);

impl TestApp {
    /// The ids found for `q`, once the index has heard of every change.
    async fn found(&self, q: &str) -> Vec<String> {
        self.consume_feed().await;
        self.found_now(q).await
    }

    /// The ids found for `q`, page by page of `limit`, following each next cursor.
    async fn pages(&self, q: &str, limit: u32) -> Vec<Vec<String>> {
        self.consume_feed().await;
        let mut pages = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let (ids, next) = self.search_page(q, limit, cursor.as_deref()).await;
            pages.push(ids);
            match next {
                Some(next) => cursor = Some(next),
                None => return pages,
            }
            assert!(pages.len() < 50, "q={q}: pages without end");
        }
    }

    /// The ids found for `q` as the index stands.
    async fn found_now(&self, q: &str) -> Vec<String> {
        self.search_page(q, 200, None).await.0
    }

    /// One page of a search: the ids, and the next cursor.
    async fn search_page(
        &self,
        q: &str,
        limit: u32,
        cursor: Option<&str>,
    ) -> (Vec<String>, Option<String>) {
        let mut query = vec![("q", q.to_owned()), ("limit", limit.to_string())];
        if let Some(cursor) = cursor {
            query.push(("cursor", cursor.to_owned()));
        }
        let response = self
            .client
            .get(self.url("/api/v1/customers"))
            .query(&query)
            .bearer_auth(&self.admin_key)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 200, "q={q}");
        let page: Value = response.json().await.expect("json");
        let ids = page["data"]
            .as_array()
            .expect("data")
            .iter()
            .map(|c| c["id"].as_str().expect("id").to_owned())
            .collect();
        (ids, page["next_cursor"].as_str().map(str::to_owned))
    }
}

async fn search_finds_by_prefix_without_accents_and_phones_by_their_digits(app: TestApp) {
    let (_, web) = app.create_source("Web", "web").await;
    for (user, name, email, phone) in [
        (
            "u-jose",
            "José Álvarez Núñez",
            "jose.alvarez@example.com",
            "+34 611 222 333",
        ),
        (
            "u-josefa",
            "Josefa Ruiz",
            "josefa@correo.es",
            "+33 6 12 34 56 78",
        ),
        (
            "u-maria",
            "María Gómez",
            "maria@example.com",
            "+34 699 111 222",
        ),
    ] {
        let message = json!({"userId": user, "messageId": user,
            "traits": {"name": name, "email": email, "phone": phone}});
        assert_eq!(
            app.collect("/v1/identify", &web, &message).await.status(),
            200
        );
    }
    let id = |user: &str| {
        let app = &app;
        let user = user.to_owned();
        async move {
            app.lookup("user_id", &user).await.expect("customer")["id"]
                .as_str()
                .expect("id")
                .to_owned()
        }
    };
    let (jose, josefa, maria) = (
        id("u-jose").await,
        id("u-josefa").await,
        id("u-maria").await,
    );
    let sorted = |mut ids: Vec<String>| {
        ids.sort();
        ids
    };
    assert_eq!(
        sorted(app.found("jos").await),
        sorted(vec![jose.clone(), josefa.clone()])
    );
    for q in [
        "JOSE ALV",
        "alvarez",
        "ÁLVAREZ",
        "nunez",
        "Núñez josé",
        "jose.alvarez@exa",
        "jose.alvarez@example.com",
        "611222333",
        "+34 611 22",
        "34611222333",
    ] {
        assert_eq!(app.found(q).await, vec![jose.clone()], "q={q}");
    }
    // A result is the customer as the API shows them anywhere, read many at a time.
    let listed: Value = app
        .get("/api/v1/customers?q=alvarez", &app.admin_key)
        .await
        .json()
        .await
        .expect("json");
    let alone: Value = app
        .get(&format!("/api/v1/customers/{jose}"), &app.admin_key)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(listed["data"][0], alone);
    assert_eq!(alone["computed"]["event_count"], 1, "{alone}");
    assert_eq!(alone["computed"]["channels"], json!(["web"]), "{alone}");
    // A French number by its national digits and by its digits with the country code.
    for q in ["612345678", "33612345678", "u-josefa"] {
        assert_eq!(app.found(q).await, vec![josefa.clone()], "q={q}");
    }
    assert_eq!(app.found("maría").await, vec![maria.clone()]);
    assert_eq!(
        sorted(app.found("example").await),
        sorted(vec![jose.clone(), maria.clone()])
    );
    // Every word must be found: a word nobody holds finds nobody.
    assert_eq!(app.found("jose zapata").await, Vec::<String>::new());
    // A single character matches a whole word only, not every word it starts.
    assert_eq!(app.found("j").await, Vec::<String>::new());
    // Hostile text is words like any other.
    for q in [
        "\"\" OR 1",
        "jos* NEAR(x)",
        "'; DROP TABLE profiles; --",
        "a:* & b",
        "%_",
    ] {
        let response = app
            .client
            .get(app.url("/api/v1/customers"))
            .query(&[("q", q)])
            .bearer_auth(&app.admin_key)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 200, "q={q}");
    }
    assert_eq!(app.found("alvarez\"*").await, vec![jose.clone()]);
}

async fn search_follows_merges_unmerges_edits_and_erasure(app: TestApp) {
    let (_, web) = app.create_source("Web", "web").await;
    let identify = json!({"userId": "u-lola", "messageId": "m1",
        "traits": {"name": "Lola Flores", "email": "lola@example.com"}});
    assert_eq!(
        app.collect("/v1/identify", &web, &identify).await.status(),
        200
    );
    let browse = json!({"anonymousId": "tablet-77", "event": "Viewed", "messageId": "m2"});
    assert_eq!(app.collect("/v1/track", &web, &browse).await.status(), 200);
    let lola = app.lookup("user_id", "u-lola").await.expect("lola")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let anonymous = app.lookup("anonymous_id", "tablet-77").await.expect("anon")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(app.found("tablet").await, vec![anonymous.clone()]);

    // An identifier joins an existing profile: found by it.
    let more =
        json!({"userId": "u-lola", "messageId": "m3", "traits": {"phone": "+34 655 443 322"}});
    assert_eq!(app.collect("/v1/identify", &web, &more).await.status(), 200);
    assert_eq!(app.found("655443322").await, vec![lola.clone()]);

    // A merge: the absorbed profile's words are the survivor's.
    let bridge = json!({"userId": "u-lola", "anonymousId": "tablet-77", "event": "Signed In",
        "messageId": "m4"});
    assert_eq!(app.collect("/v1/track", &web, &bridge).await.status(), 200);
    assert_eq!(app.found("tablet 77").await, vec![lola.clone()]);
    assert_eq!(app.found("lola").await, vec![lola.clone()]);

    // An unmerge gives each its own words back.
    let response = app
        .request(
            Method::POST,
            &format!("/api/v1/customers/{lola}/unmerge"),
            Some(&app.admin_key),
        )
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    assert_eq!(app.found("tablet").await, vec![anonymous.clone()]);
    assert_eq!(app.found("lola").await, vec![lola.clone()]);

    // A staff edit of traits.
    let response = app
        .request(
            Method::PATCH,
            &format!("/api/v1/customers/{lola}"),
            Some(&app.admin_key),
        )
        .json(&json!({"traits": {"city": "Cádiz", "name": "Dolores Flores"}}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    assert_eq!(app.found("cadiz").await, vec![lola.clone()]);
    assert_eq!(app.found("dolores").await, vec![lola.clone()]);
    // The old name is no longer what the profile shows (the email still holds "lola").
    assert_eq!(app.found("lola flores").await, vec![lola.clone()]);
    assert_eq!(app.found("lola").await, vec![lola.clone()]);
    // Nor are its pairs: "lola flores" finds her only with the words apart, on one
    // page, and the new name as written.
    assert_eq!(app.pages("lola flores", 50).await, [vec![lola.clone()]]);
    let renamed = app.pages("dolores flo", 50).await;
    assert_eq!(renamed[0], vec![lola.clone()], "{renamed:?}");

    // Another customer whose traits name Lola: found by her email until she is erased.
    let friend = json!({"userId": "u-friend", "messageId": "m5",
        "traits": {"name": "Pepa", "referred_by": "lola@example.com"}});
    assert_eq!(
        app.collect("/v1/identify", &web, &friend).await.status(),
        200
    );
    let friend_id = app.lookup("user_id", "u-friend").await.expect("friend")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let mut both = vec![lola.clone(), friend_id.clone()];
    both.sort();
    let mut found = app.found("lola@example.com").await;
    found.sort();
    assert_eq!(found, both);

    let response = app
        .request(
            Method::POST,
            &format!("/api/v1/customers/{lola}/erase"),
            Some(&app.admin_key),
        )
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    // Gone from search in the erasure's own commit, before the index hears of it.
    assert!(!app.found_now("dolores").await.contains(&lola));
    assert_eq!(app.found("dolores").await, Vec::<String>::new());
    assert_eq!(app.found("lola@example.com").await, Vec::<String>::new());
    assert_eq!(app.found("pepa").await, vec![friend_id]);
}

async fn search_pages_through_every_match(app: TestApp) {
    let store = app.key_for("store").await;
    for n in 0..5 {
        let response = app
            .post_json(
                "/api/v1/customers",
                &store,
                &json!({"identifiers": [{"type": "email", "value": format!("pagina{n}@example.com")}],
                    "traits": {"name": format!("Página {n}")}}),
            )
            .await;
        assert_eq!(response.status(), 201);
    }
    let pages = app.pages("pagina", 2).await;
    assert_eq!(pages.len(), 3, "{pages:?}");
    let mut distinct: Vec<String> = pages.concat();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 5, "{pages:?}");

    // A cursor of the plain list is not a cursor of a search.
    let list: Value = app
        .get("/api/v1/customers?limit=1", &app.admin_key)
        .await
        .json()
        .await
        .expect("json");
    let cursor = list["next_cursor"].as_str().expect("cursor");
    let response = app
        .get(
            &format!("/api/v1/customers?q=pagina&cursor={cursor}"),
            &app.admin_key,
        )
        .await;
    assert_eq!(response.status(), 400);
    assert_eq!(error_of(response).await.1.as_deref(), Some("cursor"));
}

async fn customers_are_searchable_and_private(app: TestApp) {
    let (_, web) = app.create_source("Web", "web").await;
    for (user, name, email) in [
        ("s-1", "Lucía Pérez", "lucia@example.com"),
        ("s-2", "Mario Ruiz", "mario@example.com"),
    ] {
        let message =
            json!({"userId": user, "traits": {"name": name, "email": email}, "messageId": user});
        assert_eq!(
            app.collect("/v1/identify", &web, &message).await.status(),
            200
        );
    }
    app.consume_feed().await;
    let found: Value = app
        .get("/api/v1/customers?q=MARIO", &app.admin_key)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(found["data"].as_array().map(Vec::len), Some(1));
    assert_eq!(found["data"][0]["traits"]["name"], "Mario Ruiz");
    let all: Value = app
        .get("/api/v1/customers?limit=1", &app.admin_key)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(all["data"].as_array().map(Vec::len), Some(1));
    let cursor = all["next_cursor"].as_str().expect("a second page");
    let second: Value = app
        .get(
            &format!("/api/v1/customers?limit=1&cursor={cursor}"),
            &app.admin_key,
        )
        .await
        .json()
        .await
        .expect("json");
    assert_ne!(second["data"][0]["id"], all["data"][0]["id"]);
    let wildcard: Value = app
        .get("/api/v1/customers?q=%25", &app.admin_key)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        wildcard["data"],
        json!([]),
        "a query of no word finds nobody"
    );

    let id = all["data"][0]["id"].as_str().expect("id").to_owned();
    for (role, expected) in [
        ("agent", 200),
        ("marketer", 200),
        ("store", 200),
        ("read_only", 403),
    ] {
        let key = app.key_for(role).await;
        for path in [
            format!("/api/v1/customers/{id}"),
            format!("/api/v1/customers/{id}/timeline"),
            "/api/v1/customers".to_owned(),
            "/api/v1/customers/lookup?type=user_id&value=s-1".to_owned(),
        ] {
            assert_eq!(
                app.get(&path, &key).await.status(),
                expected,
                "{role} {path}"
            );
        }
        let conflicts = app.get("/api/v1/identity/conflicts", &key).await;
        assert_eq!(conflicts.status(), 403, "{role}");
    }
    assert_eq!(
        app.get(&format!("/api/v1/customers/{id}"), &web)
            .await
            .status(),
        403
    );
    assert_eq!(
        app.request(Method::GET, &format!("/api/v1/customers/{id}"), None)
            .send()
            .await
            .expect("request")
            .status(),
        401
    );
    assert_eq!(
        app.get(
            "/api/v1/customers/01a20000-0000-7000-8000-000000000000",
            &app.admin_key
        )
        .await
        .status(),
        404
    );
}

async fn search_matches_only_what_a_profile_shows(app: TestApp) {
    let store = app.key_for("store").await;
    for (email, name) in [
        ("nina@example.com", "Nina Sol"),
        ("omar@example.com", "Omar Paz"),
    ] {
        let response = app
            .post_json(
                "/api/v1/customers",
                &store,
                &json!({"identifiers": [{"type": "email", "value": email}],
                    "traits": {"name": name, "tier": 3}}),
            )
            .await;
        assert_eq!(response.status(), 201);
    }
    app.consume_feed().await;
    let count = |q: &str| {
        let path = format!("/api/v1/customers?q={q}");
        let app = &app;
        async move {
            let found: Value = app
                .get(&path, &app.admin_key)
                .await
                .json()
                .await
                .expect("json");
            found["data"].as_array().map_or(0, Vec::len)
        }
    };
    // What the profile shows is found: names, identifiers, trait values.
    assert_eq!(count("nina").await, 1);
    assert_eq!(count("PAZ").await, 1);
    assert_eq!(count("omar%40example").await, 1);
    assert_eq!(count("3").await, 2, "a number trait's value");
    // Hidden provenance, trait names and JSON syntax are not.
    for hidden in [
        "api_key",
        "api_key%3A",
        "%7B%22",
        "by",
        "tier",
        "name",
        "%22v%22",
    ] {
        assert_eq!(count(hidden).await, 0, "q={hidden}");
    }
}

async fn search_lists_words_written_together_first(app: TestApp) {
    let store = app.key_for("store").await;
    let mut ids = std::collections::HashMap::new();
    for (key, name, email) in [
        ("together", "Ana Ruiz", "a1@example.com"),
        ("typed_on", "Ana Ruizón López", "a2@example.com"),
        ("surname_first", "Ruiz, Ana", "a3@example.com"),
        ("apart_in_email", "Rosa Ruiz", "ana.rosa@example.com"),
        ("apart_in_traits", "Ana Gómez", "a5@example.com"),
        ("neither", "Ana López", "a6@example.com"),
    ] {
        let mut traits = json!({"name": name});
        if key == "apart_in_traits" {
            traits["city"] = json!("Ruiz");
        }
        if key == "together" {
            traits["floor"] = json!(12);
        }
        let response = app
            .post_json(
                "/api/v1/customers",
                &store,
                &json!({"identifiers": [{"type": "email", "value": email}], "traits": traits}),
            )
            .await;
        assert_eq!(response.status(), 201);
        let body: Value = response.json().await.expect("json");
        ids.insert(key, body["id"].as_str().expect("id").to_owned());
    }
    let set = |keys: &[&str]| {
        let mut set: Vec<String> = keys.iter().map(|key| ids[key].clone()).collect();
        set.sort();
        set
    };
    let sorted = |mut page: Vec<String>| {
        page.sort();
        page
    };
    // Written together as typed (the first word of a value follows its last), then
    // apart: a page of the first part ends early, its cursor leading to the second.
    let pages = app.pages("ana ruiz", 50).await;
    assert_eq!(pages.len(), 2, "{pages:?}");
    assert_eq!(
        sorted(pages[0].clone()),
        set(&["together", "typed_on", "surname_first"])
    );
    assert_eq!(
        sorted(pages[1].clone()),
        set(&["apart_in_email", "apart_in_traits"])
    );
    // Smaller pages cross from one part to the other without losing or repeating.
    let small = app.pages("ana ruiz", 2).await;
    assert_eq!(small.iter().map(Vec::len).collect::<Vec<_>>(), [2, 1, 2]);
    assert_eq!(sorted(small[..2].concat()), sorted(pages[0].clone()));
    assert_eq!(sorted(small[2].clone()), sorted(pages[1].clone()));
    // Nobody with the words together: the others on the first page, no cursor.
    assert_eq!(app.pages("rosa ana", 50).await, [set(&["apart_in_email"])]);
    // Nobody apart: the first part's last page still leads on, to an empty page
    // without a cursor. A value's last word is followed by its first.
    let around = app.pages("lopez ana", 50).await;
    assert_eq!(around.len(), 2, "{around:?}");
    assert_eq!(sorted(around[0].clone()), set(&["neither", "typed_on"]));
    assert_eq!(around[1], Vec::<String>::new());
    assert_eq!(app.pages("ruiz zapata", 50).await, [Vec::<String>::new()]);
    // A pair longer than the longest indexed prefix still needs its whole last word:
    // "Ana Ruizón López" holds no word starting "lopera".
    assert_eq!(
        app.pages("ana ruizon lopera", 50).await,
        [Vec::<String>::new()]
    );
    // A word in no pair (digits) is asked of the same profiles.
    assert_eq!(
        app.pages("ana ruiz 12", 50).await,
        [set(&["together"]), Vec::new()]
    );
    // The first letter of a surname typed after the name.
    assert_eq!(
        sorted(app.pages("ana r", 50).await[0].clone()),
        set(&["together", "typed_on", "surname_first"])
    );
}
