//! One profile per customer: real-time identity resolution, merges, conflicts, unmerge,
//! staff edits and who may see what (search: `search.rs`).

use proptest::prelude::{Strategy, any};
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config as ProptestConfig, TestRunner};
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{TestApp, error_of, identities as ids, on_both_engines};

on_both_engines!(
    an_anonymous_visitor_becomes_known_and_keeps_their_history,
    a_shared_device_never_fuses_two_people,
    unmerge_restores_both_profiles_exactly,
    custom_identifiers_link_every_touchpoint,
    blocked_values_and_bad_identifiers_link_nothing,
    repeated_digit_phones_link_nothing_in_any_country,
    staff_edit_traits_and_newest_wins,
    identity_rules_are_readable_and_settable,
    staff_register_customers_who_then_meet_their_events,
    merge_then_unmerge_restores_random_profiles,
    one_batch_resolves_like_one_message_at_a_time,
    nodes_sharing_a_database_act_on_each_others_identities,
    one_message_sent_to_two_nodes_at_once_is_stored_once,
);

/// Two nodes on one PostgreSQL database: what one node's ingestion writer remembers of
/// the identity graph between groups never hides what the other stored meanwhile.
/// (SQLite serves one node; there the test has nothing to do.)
async fn nodes_sharing_a_database_act_on_each_others_identities(app: TestApp) {
    let Some((other, _node, _dir)) = app.second_node().await else {
        return;
    };
    let (_, web) = app.create_source("Web", "web").await;
    let send = async |base: &str, message: Value| {
        let response = app.batch_to(base, &web, message).await;
        assert_eq!(
            response.status(),
            200,
            "{}",
            response.text().await.unwrap_or_default()
        );
    };
    // This node meets a device and remembers who holds what.
    send(
        &app.base,
        json!({"type": "identify", "anonymousId": "dev-k",
        "messageId": "n1", "timestamp": "2026-11-23T10:00:00Z"}),
    )
    .await;
    // The other node learns whose device it is.
    send(
        &other,
        json!({"type": "identify", "anonymousId": "dev-k", "userId": "kim",
        "messageId": "n2", "timestamp": "2026-11-23T10:01:00Z"}),
    )
    .await;
    // Back on this node, someone else signs in on that device: the customer already has
    // a user id, so the second one must not join it.
    send(
        &app.base,
        json!({"type": "identify", "anonymousId": "dev-k", "userId": "lee",
        "messageId": "n3", "timestamp": "2026-11-23T10:02:00Z"}),
    )
    .await;
    let kim = app.lookup("user_id", "kim").await.expect("kim");
    let user_ids: Vec<&Value> = kim["identities"]
        .as_array()
        .expect("identities")
        .iter()
        .filter(|identity| identity["type"] == "user_id")
        .collect();
    assert_eq!(user_ids.len(), 1, "{kim}");
    let lee = app.lookup("user_id", "lee").await.expect("lee");
    assert_ne!(lee["id"], kim["id"]);
    let conflicts: Value = app.conflicts().await;
    assert!(
        conflicts["data"]
            .as_array()
            .expect("data")
            .iter()
            .any(|c| c["message_id"] == "n3" && c["reason"] == "limit_exceeded"),
        "{conflicts}"
    );
}

/// An SDK's retry can reach another node while the first attempt is still being stored
/// there. With different identifiers (a retry after the app reset its anonymous id),
/// neither node's locks hold the other up: both find the message new, the database
/// refuses the second copy, and that node stores nothing of it — no event, no customer —
/// and still answers 200. (SQLite serves one node; there the test has nothing to do.)
async fn one_message_sent_to_two_nodes_at_once_is_stored_once(app: TestApp) {
    let Some((other, _node, _dir)) = app.second_node().await else {
        return;
    };
    let (_, web) = app.create_source("Web", "web").await;
    let send = async |base: &str, message: Value| {
        let response = app.batch_to(base, &web, message).await;
        let status = response.status();
        (status, response.text().await.unwrap_or_default())
    };
    let message = |i: usize, device: &str| {
        json!({"type": "track", "event": "Viewed", "anonymousId": format!("twice-{i}-{device}"),
               "messageId": format!("twice-{i}"), "timestamp": "2026-11-23T10:00:00Z"})
    };
    for i in 0..20 {
        let (here, there) = tokio::join!(
            send(&app.base, message(i, "a")),
            send(&other, message(i, "b"))
        );
        assert_eq!(here.0, 200, "{}", here.1);
        assert_eq!(there.0, 200, "{}", there.1);
    }
    for i in 0..20 {
        let a = app.lookup("anonymous_id", &format!("twice-{i}-a")).await;
        let b = app.lookup("anonymous_id", &format!("twice-{i}-b")).await;
        let stored: Vec<Value> = a.into_iter().chain(b).collect();
        assert_eq!(
            stored.len(),
            1,
            "message {i} made {} customers",
            stored.len()
        );
        let id = stored[0]["id"].as_str().expect("id").to_owned();
        let events = app.timeline(&id).await;
        assert_eq!(events.len(), 1, "{events:?}");
    }
}

/// A story of one person's devices, sent once as a single batch (one group commit, with
/// the group's reads and writes kept in memory) and once a message per request: both
/// end in the same customers, identities, traits, history and conflicts.
async fn one_batch_resolves_like_one_message_at_a_time(app: TestApp) {
    let (_, web) = app.create_source("Web", "web").await;
    let story = |p: &str| {
        vec![
            json!({"type": "page", "anonymousId": format!("{p}-dev1"), "name": "Home",
                   "messageId": format!("{p}-1"), "timestamp": "2026-11-23T10:00:00Z"}),
            json!({"type": "identify", "anonymousId": format!("{p}-dev1"), "userId": format!("{p}-u1"),
                   "traits": {"email": format!("{p}-Ana@Example.com"), "name": "Ana"},
                   "messageId": format!("{p}-2"), "timestamp": "2026-11-23T10:01:00Z"}),
            json!({"type": "track", "anonymousId": format!("{p}-dev2"), "event": "Viewed",
                   "messageId": format!("{p}-3"), "timestamp": "2026-11-23T10:02:00Z"}),
            json!({"type": "alias", "previousId": format!("{p}-dev2"), "userId": format!("{p}-u1"),
                   "messageId": format!("{p}-4"), "timestamp": "2026-11-23T10:03:00Z"}),
            json!({"type": "identify", "anonymousId": format!("{p}-dev1"), "userId": format!("{p}-u2"),
                   "messageId": format!("{p}-5"), "timestamp": "2026-11-23T10:04:00Z"}),
            json!({"type": "identify", "userId": format!("{p}-u1"), "traits": {"name": "Ana B"},
                   "messageId": format!("{p}-6"), "timestamp": "2026-11-23T10:05:00Z"}),
            json!({"type": "track", "userId": format!("{p}-u1"), "event": "Bought",
                   "context": {"externalIds": [{"id": format!("{p}-card1"), "type": "loyalty_card"}]},
                   "messageId": format!("{p}-7"), "timestamp": "2026-11-23T10:06:00Z"}),
            json!({"type": "track", "userId": format!("{p}-u1"), "event": "Bought",
                   "messageId": format!("{p}-7"), "timestamp": "2026-11-23T10:06:00Z"}),
        ]
    };
    let batched = app
        .collect("/v1/batch", &web, &json!({"batch": story("b")}))
        .await;
    assert_eq!(batched.status(), 200);
    for message in story("s") {
        let path = format!("/v1/{}", message["type"].as_str().expect("type"));
        assert_eq!(app.collect(&path, &web, &message).await.status(), 200);
    }
    let conflicts: Value = app.conflicts().await;
    let summary = |p: &'static str| {
        let app = &app;
        let conflicts = &conflicts;
        async move {
            let u1 = app.lookup("user_id", &format!("{p}-u1")).await.expect("u1");
            let u2 = app.lookup("user_id", &format!("{p}-u2")).await.expect("u2");
            let strip = |c: &Value| -> Vec<String> {
                ids(c)
                    .iter()
                    .map(|i| i.replace(&format!("{p}-"), ""))
                    .collect()
            };
            let timeline = app.timeline(u1["id"].as_str().expect("id")).await;
            let mine: Vec<Value> = conflicts["data"]
                .as_array()
                .expect("conflicts")
                .iter()
                .filter(|c| c["identifier_value"].as_str().unwrap_or("").starts_with(p))
                .map(|c| json!([c["reason"], c["identifier_type"]]))
                .collect();
            json!({
                "u1": strip(&u1), "u2": strip(&u2),
                "name": u1["traits"]["name"], "email_trait": u1["traits"]["email"].as_str().map(|e| e.replace(&format!("{p}-"), "")),
                "events": u1["computed"]["event_count"], "merged": u1["merged_ids"].as_array().map(Vec::len),
                "timeline": timeline.len(), "conflicts": mine,
            })
        }
    };
    let batch = summary("b").await;
    let single = summary("s").await;
    assert_eq!(batch, single);
    assert_eq!(batch["name"], "Ana B");
    assert_eq!(batch["merged"], 1, "{batch}");
    assert_eq!(
        batch["u1"],
        json!([
            "anonymous_id:dev1",
            "anonymous_id:dev2",
            "email:ana@example.com",
            "loyalty_card:card1",
            "user_id:u1"
        ])
    );
    assert_eq!(batch["u2"], json!(["user_id:u2"]));
    assert_eq!(batch["events"], 6, "{batch}");
    assert_eq!(
        batch["conflicts"].as_array().map(Vec::len),
        Some(1),
        "{batch}"
    );
}

/// A customer as a property test draws it, before the merge: traits, a contact
/// identifier or not, events from some of the sources, and maybe a second device
/// merged in already (so unmerge must undo only the latest merge).
#[derive(Debug, Clone)]
struct Side {
    /// (trait name index, value).
    traits: Vec<(usize, u8)>,
    contact: bool,
    /// The source index of each event.
    events: Vec<usize>,
    second_device: bool,
}

fn side() -> impl Strategy<Value = Side> {
    (
        proptest::collection::vec((0..4usize, any::<u8>()), 0..4),
        any::<bool>(),
        proptest::collection::vec(0..3usize, 0..4),
        any::<bool>(),
    )
        .prop_map(|(traits, contact, events, second_device)| Side {
            traits,
            contact,
            events,
            second_device,
        })
}

const TRAIT_KEYS: [&str; 4] = ["city", "plan", "name", "tier"];

/// Merge then unmerge restores both customers exactly, whatever they held: a property
/// test over the HTTP API. A failing case is shrunk to the smallest one that still fails
/// before the test reports it.
async fn merge_then_unmerge_restores_random_profiles(app: TestApp) {
    let sources = [
        app.create_source("Web", "web").await.1,
        app.create_source("App", "app").await.1,
        app.create_source("Store", "pos").await.1,
    ];
    let strategy = (side(), side(), 0..3usize);
    let mut runner = TestRunner::new(ProptestConfig {
        cases: 12,
        ..ProptestConfig::default()
    });
    let mut case = 0usize;
    for _ in 0..runner.config().cases {
        let mut tree = strategy.new_tree(&mut runner).expect("a case");
        case += 1;
        let Err(first) = merge_and_unmerge(&app, &sources, case, &tree.current()).await else {
            continue;
        };
        // Shrink: keep simplifying while the case still fails.
        let mut failure = (tree.current(), first);
        while tree.simplify() {
            case += 1;
            match merge_and_unmerge(&app, &sources, case, &tree.current()).await {
                Err(reason) => failure = (tree.current(), reason),
                Ok(()) => {
                    if !tree.complicate() {
                        break;
                    }
                }
            }
        }
        panic!(
            "merge then unmerge changed a customer: {}\nminimal case: {:?}",
            failure.1, failure.0
        );
    }
}

/// Builds customers A (a user) and B (an anonymous device) as drawn, merges them with a
/// message carrying both, unmerges, and compares. Identifiers are unique per `case`.
async fn merge_and_unmerge(
    app: &TestApp,
    sources: &[String; 3],
    case: usize,
    (a, b, bridge_source): &(Side, Side, usize),
) -> Result<(), String> {
    let user = format!("prop-user-{case}");
    let device_a = format!("prop-dev-a-{case}");
    let device_b = format!("prop-dev-b-{case}");
    let device_b2 = format!("prop-dev-b2-{case}");
    let card = json!([{"id": format!("prop-card-{case}"), "type": "loyalty_card"}]);
    let mut sent = 0;
    let mut send = async |source: usize, body: Value| {
        sent += 1;
        let mut body = body;
        body["messageId"] = json!(format!("p{case}-m{sent}"));
        body["timestamp"] = json!(format!("2026-11-2{}T1{}:00:00Z", 1 + sent % 3, sent % 10));
        let status = app
            .collect("/v1/batch", &sources[source], &json!({"batch": [body]}))
            .await
            .status();
        if status == 200 {
            Ok(())
        } else {
            Err(format!("message {sent} answered {status}"))
        }
    };
    let traits = |side: &Side, prefix: &str| {
        let mut traits = serde_json::Map::new();
        for (key, value) in &side.traits {
            traits.insert(TRAIT_KEYS[*key].into(), json!(format!("{prefix}-{value}")));
        }
        traits
    };

    let mut traits_a = traits(a, "a");
    if a.contact {
        traits_a.insert("email".into(), json!(format!("prop{case}@example.com")));
    }
    send(
        0,
        json!({"type": "identify", "userId": user, "traits": traits_a}),
    )
    .await?;
    for &source in &a.events {
        send(
            source,
            json!({"type": "track", "userId": user, "event": "Viewed"}),
        )
        .await?;
    }
    if a.second_device {
        send(
            1,
            json!({"type": "page", "anonymousId": device_a, "name": "Home"}),
        )
        .await?;
        send(
            1,
            json!({"type": "identify", "userId": user, "anonymousId": device_a}),
        )
        .await?;
    }

    let mut traits_b = traits(b, "b");
    if b.contact {
        traits_b.insert("phone".into(), json!(format!("+34 6{:08}", 20_000 + case)));
    }
    send(
        2,
        json!({"type": "identify", "anonymousId": device_b, "traits": traits_b,
                   "context": {"externalIds": card}}),
    )
    .await?;
    for &source in &b.events {
        send(
            source,
            json!({"type": "page", "anonymousId": device_b, "name": "Home"}),
        )
        .await?;
    }
    if b.second_device {
        send(
            0,
            json!({"type": "page", "anonymousId": device_b2, "name": "Offers",
                       "context": {"externalIds": card}}),
        )
        .await?;
    }

    let customer = async |kind: &str, value: &str| {
        app.lookup(kind, value)
            .await
            .ok_or_else(|| format!("no customer has {kind} {value}"))
    };
    let before_a = customer("user_id", &user).await?;
    let before_b = customer("anonymous_id", &device_b).await?;
    let id = |customer: &Value| customer["id"].as_str().unwrap_or_default().to_owned();
    if before_a["id"] == before_b["id"] {
        return Err("A and B were one customer before the bridge".into());
    }
    let timeline_a = app.timeline(&id(&before_a)).await;
    let timeline_b = app.timeline(&id(&before_b)).await;

    send(
        *bridge_source,
        json!({"type": "track", "userId": user, "anonymousId": device_b, "event": "Bridge"}),
    )
    .await?;
    let merged = customer("anonymous_id", &device_b).await?;
    if merged["id"] != before_a["id"] {
        return Err(format!("the bridge did not merge B into A: {merged}"));
    }
    let unmerge = app
        .request(
            Method::POST,
            &format!("/api/v1/customers/{}/unmerge", id(&merged)),
            Some(&app.admin_key),
        )
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if unmerge.status() != 200 {
        return Err(format!("unmerge answered {}", unmerge.status()));
    }

    let after_a = customer("user_id", &user).await?;
    let after_b = customer("anonymous_id", &device_b).await?;
    for (name, before, after) in [("A", &before_a, &after_a), ("B", &before_b, &after_b)] {
        for field in ["id", "traits", "merged_ids"] {
            if after[field] != before[field] {
                return Err(format!(
                    "{name}'s {field} was {} and is {}",
                    before[field], after[field]
                ));
            }
        }
        if ids(after) != ids(before) {
            return Err(format!(
                "{name}'s identities were {:?} and are {:?}",
                ids(before),
                ids(after)
            ));
        }
    }
    if app.timeline(&id(&after_b)).await != timeline_b {
        return Err("B's timeline changed".into());
    }
    // A keeps its history, plus the bridging message it received.
    let mut after_timeline_a = app.timeline(&id(&after_a)).await;
    let bridge = after_timeline_a
        .iter()
        .position(|item| item["name"] == "Bridge")
        .ok_or("the bridge left A")?;
    after_timeline_a.remove(bridge);
    if after_timeline_a != timeline_a {
        return Err("A's timeline changed".into());
    }
    Ok(())
}

async fn staff_register_customers_who_then_meet_their_events(app: TestApp) {
    let store = app.key_for("store").await;
    let body = json!({"channel": "pos", "traits": {"name": "Rosa Díaz"},
        "identifiers": [{"type": "email", "value": "Rosa@Example.com"}, {"type": "loyalty_card", "value": "LC-77"}]});
    let response = app
        .request(Method::POST, "/api/v1/customers", Some(&store))
        .json(&body)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.expect("json");
    assert_eq!(
        ids(&created),
        ["email:rosa@example.com", "loyalty_card:LC-77"]
    );
    assert_eq!(created["traits"]["name"], "Rosa Díaz");
    assert_eq!(created["computed"]["channels"], json!(["pos"]));

    // Her first web visit with that email lands on the same profile.
    let (_, web) = app.create_source("Web", "web").await;
    let visit =
        json!({"userId": "web-rosa", "traits": {"email": "rosa@example.com"}, "messageId": "r1"});
    assert_eq!(
        app.collect("/v1/identify", &web, &visit).await.status(),
        200
    );
    let after = app.lookup("user_id", "web-rosa").await.expect("customer");
    assert_eq!(after["id"], created["id"]);

    // Registering her again by card finds her: 200, same customer, traits updated.
    let again = json!({"channel": "call_center", "traits": {"city": "Sevilla"},
        "identifiers": [{"type": "loyalty_card", "value": "LC-77"}]});
    let agent = app.key_for("agent").await;
    let response = app
        .request(Method::POST, "/api/v1/customers", Some(&agent))
        .json(&again)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let updated: Value = response.json().await.expect("json");
    assert_eq!(updated["id"], created["id"]);
    assert_eq!(updated["traits"]["city"], "Sevilla");
    let timeline = app.timeline(created["id"].as_str().expect("id")).await;
    let kinds: Vec<(&str, &str)> = timeline
        .iter()
        .map(|t| {
            (
                t["type"].as_str().unwrap_or(""),
                t["channel"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [("staff", "call_center"), ("event", "web"), ("staff", "pos")]
    );

    for (body, field) in [
        (json!({"identifiers": []}), "identifiers"),
        (
            json!({"identifiers": [{"type": "email", "value": "nope"}]}),
            "identifiers[0].value",
        ),
        (
            json!({"identifiers": [{"type": "bad type", "value": "x"}]}),
            "identifiers[0].type",
        ),
        (
            json!({"identifiers": [{"type": "email", "value": "a@b.co"}], "channel": "fax"}),
            "channel",
        ),
        (
            json!({"identifiers": [{"type": "user_id", "value": "null"},
                {"type": "email", "value": "test@test.com"}]}),
            "identifiers",
        ),
    ] {
        let response = app
            .request(Method::POST, "/api/v1/customers", Some(&store))
            .json(&body)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 400, "{body}");
        assert_eq!(error_of(response).await.1.as_deref(), Some(field), "{body}");
    }
    let marketer = app.key_for("marketer").await;
    let response = app
        .request(Method::POST, "/api/v1/customers", Some(&marketer))
        .json(&body)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 403);
}

async fn an_anonymous_visitor_becomes_known_and_keeps_their_history(app: TestApp) {
    let (_, web) = app.create_source("Web", "web").await;
    let (_, store) = app.create_source("Store", "pos").await;
    for (i, page) in ["Strollers", "Stroller X"].iter().enumerate() {
        let message = json!({"anonymousId": "visitor-1", "name": page, "messageId": format!("p{i}"),
                             "timestamp": format!("2026-11-23T10:0{i}:00Z")});
        assert_eq!(app.collect("/v1/page", &web, &message).await.status(), 200);
    }
    let anonymous = app
        .lookup("anonymous_id", "visitor-1")
        .await
        .expect("anonymous profile");
    // In the store, a loyalty card and an email identify someone with their own history.
    let store_visit = json!({"userId": "cust-9", "traits": {"email": "eva@example.com"},
                             "messageId": "s1", "timestamp": "2026-11-23T09:00:00Z"});
    assert_eq!(
        app.collect("/v1/identify", &store, &store_visit)
            .await
            .status(),
        200
    );
    let known = app
        .lookup("user_id", "cust-9")
        .await
        .expect("known profile");
    assert_ne!(known["id"], anonymous["id"]);

    // An email click on the web links the device to the person.
    let click = json!({"anonymousId": "visitor-1", "userId": "cust-9", "messageId": "link",
                       "timestamp": "2026-11-23T10:05:00Z"});
    assert_eq!(
        app.collect("/v1/identify", &web, &click).await.status(),
        200
    );
    let merged = app
        .lookup("anonymous_id", "visitor-1")
        .await
        .expect("merged");
    assert_eq!(merged["id"], known["id"], "the identified profile survives");
    assert_eq!(merged["merged_ids"], json!([anonymous["id"]]));
    assert_eq!(merged["computed"]["channels"], json!(["pos", "web"]));
    assert_eq!(merged["computed"]["event_count"], 4);
    assert_eq!(merged["computed"]["first_seen"], "2026-11-23T09:00:00.000Z");
    // The merged-away id still finds the survivor.
    let via_old_id: Value = app
        .get(
            &format!(
                "/api/v1/customers/{}",
                anonymous["id"].as_str().expect("id")
            ),
            &app.admin_key,
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(via_old_id["id"], known["id"]);
    let timeline = app.timeline(known["id"].as_str().expect("id")).await;
    let names: Vec<&str> = timeline
        .iter()
        .map(|t| {
            t["name"]
                .as_str()
                .unwrap_or(t["kind"].as_str().unwrap_or(""))
        })
        .collect();
    assert_eq!(names, ["identify", "Stroller X", "Strollers", "identify"]);
    let channels: Vec<&str> = timeline
        .iter()
        .filter_map(|t| t["channel"].as_str())
        .collect();
    assert_eq!(channels, ["web", "web", "web", "pos"]);
}

async fn a_shared_device_never_fuses_two_people(app: TestApp) {
    let (_, kiosk) = app.create_source("Kiosk", "kiosk").await;
    let first = json!({"userId": "ana", "anonymousId": "kiosk-7", "messageId": "k1"});
    assert_eq!(
        app.collect("/v1/identify", &kiosk, &first).await.status(),
        200
    );
    let second = json!({"userId": "bo", "anonymousId": "kiosk-7", "messageId": "k2"});
    assert_eq!(
        app.collect("/v1/identify", &kiosk, &second).await.status(),
        200
    );

    let ana = app.lookup("user_id", "ana").await.expect("ana");
    let bo = app.lookup("user_id", "bo").await.expect("bo");
    assert_ne!(ana["id"], bo["id"], "two people, two profiles");
    assert_eq!(ids(&ana), ["anonymous_id:kiosk-7", "user_id:ana"]);
    assert_eq!(ids(&bo), ["user_id:bo"]);

    let conflicts: Value = app.conflicts().await;
    let conflict = &conflicts["data"][0];
    assert_eq!(conflict["reason"], "limit_exceeded");
    assert_eq!(conflict["identifier_type"], "anonymous_id");
    assert_eq!(conflict["identifier_value"], "kiosk-7");
    assert_eq!(conflict["customer_id"], bo["id"]);
    assert_eq!(conflict["other_customer_id"], ana["id"]);
    assert_eq!(conflict["message_id"], "k2");
}

async fn unmerge_restores_both_profiles_exactly(app: TestApp) {
    let (_, web) = app.create_source("Web", "web").await;
    let (_, app_source) = app.create_source("App", "app").await;
    let one = json!({"userId": "u-a", "traits": {"email": "shared@example.com", "city": "Madrid"},
                     "messageId": "a1", "timestamp": "2026-11-23T08:00:00Z"});
    assert_eq!(app.collect("/v1/identify", &web, &one).await.status(), 200);
    let other = json!({"anonymousId": "dev-b", "traits": {"phone": "+34 699 000 111", "city": "Lima"},
                       "messageId": "b1", "timestamp": "2026-11-23T08:30:00Z"});
    assert_eq!(
        app.collect("/v1/identify", &app_source, &other)
            .await
            .status(),
        200
    );
    let before_a = app.lookup("user_id", "u-a").await.expect("a");
    let before_b = app.lookup("anonymous_id", "dev-b").await.expect("b");
    let timeline_b = app.timeline(before_b["id"].as_str().expect("id")).await;

    // A message carrying both identifiers merges them.
    let bridge = json!({"anonymousId": "dev-b", "userId": "u-a", "event": "Signed In",
                        "messageId": "bridge", "timestamp": "2026-11-23T09:00:00Z"});
    assert_eq!(
        app.collect("/v1/track", &app_source, &bridge)
            .await
            .status(),
        200
    );
    let merged = app.lookup("anonymous_id", "dev-b").await.expect("merged");
    assert_eq!(merged["id"], before_a["id"]);
    assert_eq!(merged["traits"]["city"], "Lima", "the newest value wins");

    let response = app
        .request(
            Method::POST,
            &format!(
                "/api/v1/customers/{}/unmerge",
                merged["id"].as_str().expect("id")
            ),
            Some(&app.admin_key),
        )
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let result: Value = response.json().await.expect("json");
    assert_eq!(result["restored"]["id"], before_b["id"]);

    let after_a = app.lookup("user_id", "u-a").await.expect("a");
    let after_b = app.lookup("anonymous_id", "dev-b").await.expect("b");
    assert_eq!(after_b["id"], before_b["id"]);
    assert_eq!(ids(&after_a), ids(&before_a));
    assert_eq!(ids(&after_b), ids(&before_b));
    assert_eq!(after_a["traits"], before_a["traits"]);
    assert_eq!(after_b["traits"], before_b["traits"]);
    assert_eq!(after_b["merged_ids"], json!([]));
    assert_eq!(
        app.timeline(after_b["id"].as_str().expect("id")).await,
        timeline_b
    );
    // The message that bridged them stays with the profile it went to.
    assert_eq!(
        app.timeline(after_a["id"].as_str().expect("id"))
            .await
            .len(),
        2
    );

    // They do not merge again on their own; the attempt is a recorded conflict.
    let again = json!({"anonymousId": "dev-b", "userId": "u-a", "event": "Signed In", "messageId": "again"});
    assert_eq!(
        app.collect("/v1/track", &app_source, &again).await.status(),
        200
    );
    let still_b = app.lookup("anonymous_id", "dev-b").await.expect("b");
    assert_eq!(still_b["id"], before_b["id"]);
    let conflicts: Value = app.conflicts().await;
    assert_eq!(conflicts["data"][0]["reason"], "separated");

    // Nothing left to undo.
    let response = app
        .request(
            Method::POST,
            &format!(
                "/api/v1/customers/{}/unmerge",
                still_b["id"].as_str().expect("id")
            ),
            Some(&app.admin_key),
        )
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 400);
    assert_eq!(error_of(response).await.1.as_deref(), Some("merge_id"));
}

async fn custom_identifiers_link_every_touchpoint(app: TestApp) {
    let (_, park) = app.create_source("Park gates", "pos").await;
    let (_, web) = app.create_source("Web", "web").await;
    let gate = json!({"anonymousId": "gate-terminal-3", "event": "Gate Entered", "messageId": "w1",
                      "context": {"externalIds": [{"id": "WB-1001", "type": "wristband", "collection": "users"}]}});
    assert_eq!(app.collect("/v1/track", &park, &gate).await.status(), 200);
    let booking = json!({"userId": "family-7", "messageId": "w2",
                         "context": {"externalIds": [{"id": "WB-1001", "type": "wristband"}]}});
    assert_eq!(
        app.collect("/v1/identify", &web, &booking).await.status(),
        200
    );
    let by_band = app
        .lookup("wristband", "WB-1001")
        .await
        .expect("by wristband");
    let by_user = app.lookup("user_id", "family-7").await.expect("by user");
    assert_eq!(by_band["id"], by_user["id"]);
    assert!(app.lookup("wristband", "WB-404").await.is_none());

    let response = app
        .client
        .get(app.url("/api/v1/customers/lookup"))
        .query(&[("type", "bad type!"), ("value", "x")])
        .bearer_auth(&app.admin_key)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 400);
    assert_eq!(error_of(response).await.1.as_deref(), Some("type"));
}

async fn blocked_values_and_bad_identifiers_link_nothing(app: TestApp) {
    let (_, web) = app.create_source("Web", "web").await;
    for (user, message_id) in [("p-1", "b1"), ("p-2", "b2")] {
        let message =
            json!({"userId": user, "traits": {"email": "test@test.com"}, "messageId": message_id});
        assert_eq!(
            app.collect("/v1/identify", &web, &message).await.status(),
            200
        );
    }
    let one = app.lookup("user_id", "p-1").await.expect("p-1");
    let two = app.lookup("user_id", "p-2").await.expect("p-2");
    assert_ne!(one["id"], two["id"], "a placeholder email fuses no one");
    assert_eq!(one["traits"]["email"], "test@test.com", "kept as a trait");

    let bad = json!({"userId": "p-3", "traits": {"email": "not-an-email", "phone": "123"}, "messageId": "b3"});
    assert_eq!(app.collect("/v1/identify", &web, &bad).await.status(), 200);
    let three = app.lookup("user_id", "p-3").await.expect("p-3");
    assert_eq!(ids(&three), ["user_id:p-3"]);
    assert_eq!(three["traits"]["email"], "not-an-email");
    let conflicts: Value = app.conflicts().await;
    let reasons: Vec<(&str, &str)> = conflicts["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|c| {
            (
                c["reason"].as_str().unwrap_or(""),
                c["identifier_type"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert!(reasons.contains(&("unparseable", "email")), "{reasons:?}");
    assert!(reasons.contains(&("unparseable", "phone")), "{reasons:?}");
}

async fn staff_edit_traits_and_newest_wins(app: TestApp) {
    let (_, web) = app.create_source("Web", "web").await;
    let newer = json!({"userId": "t-1", "traits": {"plan": "gold"}, "timestamp": "2026-11-23T10:00:00Z", "messageId": "n"});
    let older = json!({"userId": "t-1", "traits": {"plan": "silver", "age": 30}, "timestamp": "2026-11-20T10:00:00Z", "messageId": "o"});
    assert_eq!(
        app.collect("/v1/identify", &web, &newer).await.status(),
        200
    );
    assert_eq!(
        app.collect("/v1/identify", &web, &older).await.status(),
        200
    );
    let customer = app.lookup("user_id", "t-1").await.expect("customer");
    assert_eq!(
        customer["traits"]["plan"], "gold",
        "an older message does not overwrite"
    );
    assert_eq!(customer["traits"]["age"], 30);

    let agent = app.key_for("agent").await;
    let id = customer["id"].as_str().expect("id");
    let response = app
        .request(
            Method::PATCH,
            &format!("/api/v1/customers/{id}"),
            Some(&agent),
        )
        .json(&json!({"traits": {"plan": "platinum", "age": null}}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let edited: Value = response.json().await.expect("json");
    assert_eq!(edited["traits"]["plan"], "platinum");
    assert!(edited["traits"].get("age").is_none(), "null removes");

    // Events after the edit build on it: the ingestion writer does not keep an old copy.
    let later = json!({"userId": "t-1", "traits": {"city": "Lima"}, "messageId": "l"});
    assert_eq!(
        app.collect("/v1/identify", &web, &later).await.status(),
        200
    );
    let customer = app.lookup("user_id", "t-1").await.expect("customer");
    assert_eq!(customer["traits"]["plan"], "platinum", "{customer}");
    assert_eq!(customer["traits"]["city"], "Lima");
    assert!(customer["traits"].get("age").is_none(), "{customer}");

    let marketer = app.key_for("marketer").await;
    let response = app
        .request(
            Method::PATCH,
            &format!("/api/v1/customers/{id}"),
            Some(&marketer),
        )
        .json(&json!({"traits": {"plan": "x"}}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 403);
    let response = app
        .request(
            Method::PATCH,
            &format!("/api/v1/customers/{id}"),
            Some(&agent),
        )
        .json(&json!({"traits": {"": 1}}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 400);
}

async fn identity_rules_are_readable_and_settable(app: TestApp) {
    let rules: Value = app
        .get("/api/v1/identity/rules", &app.admin_key)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(rules["limits"]["user_id"]["max"], 1);
    assert_eq!(rules["default_limit"]["max"], 5);
    assert!(
        rules["blocked_values"]
            .as_array()
            .expect("list")
            .contains(&json!("undefined"))
    );

    let mut changed = rules.clone();
    changed["limits"]["email"] = json!({"max": 1});
    changed["blocked_values"]
        .as_array_mut()
        .expect("list")
        .push(json!("Shared@Family.com"));
    let response = app
        .request(Method::PUT, "/api/v1/identity/rules", Some(&app.admin_key))
        .json(&changed)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let stored: Value = response.json().await.expect("json");
    assert_eq!(stored["limits"]["email"]["max"], 1);

    // The new blocked value applies from now on.
    let (_, web) = app.create_source("Web", "web").await;
    for (user, id) in [("f-1", "f1"), ("f-2", "f2")] {
        let message =
            json!({"userId": user, "traits": {"email": "shared@family.com"}, "messageId": id});
        assert_eq!(
            app.collect("/v1/identify", &web, &message).await.status(),
            200
        );
    }
    assert!(app.lookup("email", "shared@family.com").await.is_none());

    let mut bad = rules.clone();
    bad["limits"]["user_id"]["max"] = json!(0);
    let response = app
        .request(Method::PUT, "/api/v1/identity/rules", Some(&app.admin_key))
        .json(&bad)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 400);
    assert_eq!(
        error_of(response).await.1.as_deref(),
        Some("limits.user_id.max")
    );
    let read_only = app.key_for("read_only").await;
    assert_eq!(
        app.get("/api/v1/identity/rules", &read_only).await.status(),
        200
    );
    let response = app
        .request(Method::PUT, "/api/v1/identity/rules", Some(&read_only))
        .json(&rules)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 403);
}

async fn repeated_digit_phones_link_nothing_in_any_country(app: TestApp) {
    let (_, web) = app.create_source("Web", "web").await;
    for (n, phone) in ["+34 666 666 666", "+33 6 66 66 66 66", "+39 333 3333333"]
        .iter()
        .enumerate()
    {
        for side in ["a", "b"] {
            let message = json!({"userId": format!("{side}-{n}"), "traits": {"phone": phone},
                "messageId": format!("{side}{n}")});
            assert_eq!(
                app.collect("/v1/identify", &web, &message).await.status(),
                200
            );
        }
        let a = app.lookup("user_id", &format!("a-{n}")).await.expect("a");
        let b = app.lookup("user_id", &format!("b-{n}")).await.expect("b");
        assert_ne!(a["id"], b["id"], "{phone} fused two people");
        assert_eq!(
            ids(&a),
            [format!("user_id:a-{n}")],
            "{phone} is no identity"
        );
    }
    // A real French mobile still links two devices.
    for side in ["a", "b"] {
        let message = json!({"anonymousId": format!("{side}-fr"),
            "traits": {"phone": "+33 6 12 34 56 78"}, "messageId": format!("{side}fr")});
        assert_eq!(
            app.collect("/v1/identify", &web, &message).await.status(),
            200
        );
    }
    let a = app.lookup("anonymous_id", "a-fr").await.expect("a");
    let b = app.lookup("anonymous_id", "b-fr").await.expect("b");
    assert_eq!(a["id"], b["id"]);
}
