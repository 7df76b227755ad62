//! Customer search and the customer 360 in the browser: one customer found by any
//! identifier, with a timeline across two channels and its filters.

use reqwest::StatusCode;

use super::{PASSWORD, Shop, message};
use crate::support::twilio::AUTH_TOKEN;
use crate::support::{TestApp, on_both_engines};

on_both_engines!(the_customer_360_shows_every_channel);

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
