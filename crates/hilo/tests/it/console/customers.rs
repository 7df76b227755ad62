//! Customer search and the customer 360 in the browser: one customer found by any
//! identifier, with a timeline across two channels and its filters.

use reqwest::StatusCode;
use serde_json::json;

use super::{PASSWORD, Shop, message};
use crate::support::twilio::AUTH_TOKEN;
use crate::support::{TestApp, on_both_engines};

on_both_engines!(
    the_customer_360_shows_every_channel,
    admins_unmerge_and_erase_from_the_360,
    the_360_pages_its_timeline_and_lists_every_consent_decision
);

async fn the_customer_360_shows_every_channel(app: TestApp) {
    let Some(shop) = Shop::open(&app).await else {
        return;
    };
    let browser = &shop.browser;
    let (sms, whatsapp) = (&shop.sms_hook, &shop.whatsapp_hook);
    for (hook, from, to, sid, body) in [
        (
            whatsapp,
            "whatsapp:+34600555666",
            "whatsapp:+34910000002",
            "SM00000000000000000000000000000011",
            "Quiero cambiar la talla",
        ),
        (
            sms,
            "+34600555666",
            "+34910000001",
            "SM00000000000000000000000000000012",
            "Os lo digo también por SMS",
        ),
    ] {
        let form = message(from, to, sid, body);
        assert_eq!(
            app.twilio_hook(hook, AUTH_TOKEN, &form).await.status(),
            StatusCode::OK
        );
    }
    app.consume_feed().await;

    browser.open(&app.url("/console/customers")).await;
    shop.sign_in().await;
    browser
        .wait_until(
            "location.pathname === '/console/customers' && document.readyState === 'complete'",
        )
        .await;
    browser
        .follow("document.querySelector('input[name=q]').value = '600555666'; document.querySelector('form[role=search]').submit(); true")
        .await;
    browser
        .wait_until("location.search.includes('q=') && document.readyState === 'complete'")
        .await;
    let found = browser.text().await;
    assert!(found.contains("+34600555666"), "{found}");
    browser
        .follow("document.querySelector('.conversations a').click(); true")
        .await;
    browser.wait_until("location.pathname.startsWith('/console/customers/') && document.readyState === 'complete'").await;
    let timeline = browser
        .eval("document.getElementById('timeline').innerText")
        .await;
    let timeline = timeline.as_str().unwrap_or("");
    assert!(
        timeline.contains("Quiero cambiar la talla")
            && timeline.contains("Os lo digo también por SMS"),
        "{timeline}"
    );
    assert_eq!(
        browser
            .eval("document.querySelectorAll('#timeline .mark-whatsapp').length")
            .await,
        1
    );
    assert_eq!(
        browser
            .eval("document.querySelectorAll('#timeline .mark-sms').length")
            .await,
        1
    );
    browser.screenshot("console-customer").await;

    // The channel filter keeps one channel's items.
    browser
        .follow("Array.from(document.querySelectorAll('.chips a')).find(a => a.textContent.trim() === 'sms').click(); true")
        .await;
    browser
        .wait_until("location.search.includes('channel=sms') && document.readyState === 'complete'")
        .await;
    let filtered = browser
        .eval("document.getElementById('timeline').innerText")
        .await;
    let filtered = filtered.as_str().unwrap_or("");
    assert!(
        filtered.contains("Os lo digo también por SMS") && !filtered.contains("Quiero cambiar"),
        "{filtered}"
    );

    browser.set_width(768).await;
    browser.follow("location.reload(); true").await;
    browser
        .wait_until("document.readyState === 'complete' && !!document.getElementById('timeline')")
        .await;
    let wide = browser.eval("document.documentElement.scrollWidth").await;
    assert!(wide.as_u64().unwrap_or(u64::MAX) <= 768, "{wide} px wide");
    browser.screenshot("console-customer-768").await;

    // A role without conversations gets neither the inbox page nor its link.
    app.create_user("marta@shop.example", "marketer", PASSWORD)
        .await;
    let (session, _) =
        crate::platform::console::console_session(&app, "marta@shop.example", PASSWORD).await;
    let page = |path: &'static str| {
        app.client
            .get(app.url(path))
            .header("cookie", format!("hilo_session={session}"))
            .send()
    };
    assert_eq!(
        page("/console/inbox").await.expect("request").status(),
        StatusCode::FORBIDDEN
    );
    let home = page("/console")
        .await
        .expect("request")
        .text()
        .await
        .expect("html");
    assert!(!home.contains("/console/inbox"), "{home}");
}

/// An admin sees a customer's merge history on the 360, undoes a merge and erases a
/// customer, each with the session's form token; an agent gets neither action.
async fn admins_unmerge_and_erase_from_the_360(app: TestApp) {
    let (_, web) = app.create_source("Web", "web").await;
    let sign = json!({"userId": "u-360", "traits": {"email": "ines@example.com"},
                      "messageId": "m1", "timestamp": "2026-11-23T08:00:00Z"});
    assert_eq!(app.collect("/v1/identify", &web, &sign).await.status(), 200);
    let device = json!({"anonymousId": "dev-360", "event": "Viewed", "messageId": "m2",
                        "timestamp": "2026-11-23T08:10:00Z"});
    assert_eq!(app.collect("/v1/track", &web, &device).await.status(), 200);
    let bridge = json!({"anonymousId": "dev-360", "userId": "u-360", "event": "Signed In",
                        "messageId": "m3", "timestamp": "2026-11-23T09:00:00Z"});
    assert_eq!(app.collect("/v1/track", &web, &bridge).await.status(), 200);
    let merged = app.lookup("anonymous_id", "dev-360").await.expect("merged");
    let id = merged["id"].as_str().expect("id").to_owned();

    app.create_user("admin@shop.example", "admin", PASSWORD)
        .await;
    app.create_user("lucia@shop.example", "agent", PASSWORD)
        .await;
    let page = |session: String, path: String| {
        app.client
            .get(app.url(&path))
            .header("cookie", format!("hilo_session={session}"))
            .send()
    };
    let post = |session: String, path: String, form: Vec<(&'static str, String)>| {
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        app.client
            .post(app.url(&path))
            .header("cookie", format!("hilo_session={session}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(crate::support::form_encode(&pairs))
            .send()
    };
    let (agent, agent_csrf) =
        crate::platform::console::console_session(&app, "lucia@shop.example", PASSWORD).await;
    let seen = page(agent.clone(), format!("/console/customers/{id}"))
        .await
        .expect("request")
        .text()
        .await
        .expect("html");
    assert!(
        !seen.contains("/unmerge") && !seen.contains("/erase"),
        "agents get no admin actions"
    );
    let refused = post(
        agent,
        format!("/console/customers/{id}/erase"),
        vec![("csrf", agent_csrf), ("confirm", "yes".into())],
    )
    .await
    .expect("request");
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    let (admin, csrf) =
        crate::platform::console::console_session(&app, "admin@shop.example", PASSWORD).await;
    let html = page(admin.clone(), format!("/console/customers/{id}"))
        .await
        .expect("request")
        .text()
        .await
        .expect("html");
    assert!(
        html.contains("Merge history") && html.contains("anonymous_id: dev-360"),
        "{html}"
    );
    let marker = "name=\"merge_id\" value=\"";
    let start = html.find(marker).expect("an unmerge form") + marker.len();
    let merge_id = html[start..]
        .split('"')
        .next()
        .expect("merge id")
        .to_owned();
    // Without the form's token nothing happens.
    let forged = post(
        admin.clone(),
        format!("/console/customers/{id}/unmerge"),
        vec![("merge_id", merge_id.clone())],
    )
    .await
    .expect("request");
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let undone = post(
        admin.clone(),
        format!("/console/customers/{id}/unmerge"),
        vec![("csrf", csrf.clone()), ("merge_id", merge_id)],
    )
    .await
    .expect("request");
    assert_eq!(undone.status(), StatusCode::SEE_OTHER);
    let apart = app
        .lookup("anonymous_id", "dev-360")
        .await
        .expect("the device's own");
    assert_ne!(apart["id"], merged["id"], "the merge is undone");

    // Erasing needs the box ticked; then the customer is gone.
    let unticked = post(
        admin.clone(),
        format!("/console/customers/{id}/erase"),
        vec![("csrf", csrf.clone())],
    )
    .await
    .expect("request");
    assert_eq!(unticked.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(app.lookup("user_id", "u-360").await.is_some());
    let erased = post(
        admin,
        format!("/console/customers/{id}/erase"),
        vec![("csrf", csrf), ("confirm", "yes".into())],
    )
    .await
    .expect("request");
    assert_eq!(erased.status(), StatusCode::SEE_OTHER);
    assert_eq!(erased.headers()["location"], "/console/customers?erased=1");
    assert!(app.lookup("user_id", "u-360").await.is_none(), "erased");
}

/// A customer with more than a page of timeline: the 360 links to the older items, with
/// the filters kept, and lists every consent decision, newest first.
async fn the_360_pages_its_timeline_and_lists_every_consent_decision(app: TestApp) {
    let (_, write_key) = app.create_source("Web", "web").await;
    let events: Vec<serde_json::Value> = (0..205)
        .map(|n| {
            json!({"type": "track", "userId": "cliente-7", "event": format!("Viewed Product {n}"),
                   "messageId": format!("m-{n}"),
                   "timestamp": format!("2026-11-01T10:{:02}:{:02}Z", n / 60, n % 60)})
        })
        .collect();
    let response = app
        .collect("/v1/batch", &write_key, &json!({"batch": events}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    app.consume_feed().await;
    let customer = app.lookup("user_id", "cliente-7").await.expect("customer");
    let id = customer["id"].as_str().expect("id").to_owned();
    for (granted, via) in [(true, "web"), (false, "call_center")] {
        let response = app
            .post_json(
                &format!("/api/v1/customers/{id}/consent"),
                &app.admin_key,
                &json!({"via": via, "changes": [{"channel": "email", "purpose": "marketing", "granted": granted}]}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    app.create_user("admin@shop.example", "admin", PASSWORD)
        .await;
    let (admin, _) =
        crate::platform::console::console_session(&app, "admin@shop.example", PASSWORD).await;

    let html = super::page(&app, &admin, &format!("/console/customers/{id}?type=event"))
        .await
        .text()
        .await
        .expect("html");
    assert!(html.contains("Viewed Product 204") && !html.contains("Viewed Product 0<"));
    let older = html
        .split("href=\"")
        .map(|rest| rest.split('"').next().unwrap_or(""))
        .find(|href| href.contains("before="))
        .expect("a link to older items")
        .replace("&#38;", "&");
    assert!(older.contains("type=event"), "the filter is kept: {older}");
    // Every decision, newest first, and the current state once.
    let history = html
        .split("id=\"consent-history\"")
        .nth(1)
        .expect("the consent history");
    let withdrawn = history.find("call_center").expect("the withdrawal");
    let granted = history.find("\">web").expect("the grant");
    assert!(withdrawn < granted, "newest first");

    let html = super::page(&app, &admin, &older)
        .await
        .text()
        .await
        .expect("html");
    assert!(
        html.contains("Viewed Product 0<"),
        "the oldest items are on the older page"
    );
    assert!(!html.contains("Viewed Product 204"));
    assert!(!html.contains("before="), "nothing older");
    assert!(
        html.contains(&format!("/console/customers/{id}?type=event\"")),
        "a way back"
    );
    let bad = super::page(
        &app,
        &admin,
        &format!("/console/customers/{id}?before=nonsense"),
    )
    .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
}
