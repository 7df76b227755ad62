//! An agent's inbox in the browser (S16, S2): what arrives by webhook appears without a
//! reload, a reply chosen on another channel reaches that provider, and nothing a
//! customer writes runs as script.

use std::time::Instant;

use reqwest::StatusCode;

use super::{Shop, message};
use crate::support::twilio::AUTH_TOKEN;
use crate::support::{TestApp, on_both_engines};

on_both_engines!(
    an_agent_works_the_inbox_live_in_the_browser,
    many_console_tabs_share_one_live_stream
);

const ANA: &str = "+34600111222";
const LUIS: &str = "+34600333444";
const HOSTILE: &str =
    "<img src=x onerror=\"window.__pwned=1;alert(1)\"><script>window.__pwned=1;alert(2)</script>";

async fn an_agent_works_the_inbox_live_in_the_browser(app: TestApp) {
    let Some(shop) = Shop::open(&app).await else {
        return;
    };
    let Shop {
        browser,
        peer,
        whatsapp,
        sms_hook,
        whatsapp_hook,
    } = &shop;
    // Ana writes on WhatsApp, then by SMS: one customer, one conversation.
    let whatsapp_from = format!("whatsapp:{ANA}");
    let hooks = [
        (
            &whatsapp_hook,
            message(
                &whatsapp_from,
                "whatsapp:+34910000002",
                "SM00000000000000000000000000000001",
                "Hola, ¿tenéis la talla M?",
            ),
        ),
        (
            &sms_hook,
            message(
                ANA,
                "+34910000001",
                "SM00000000000000000000000000000002",
                "Os escribo también por SMS",
            ),
        ),
    ];
    for (hook, form) in hooks {
        assert_eq!(
            app.twilio_hook(hook, AUTH_TOKEN, &form).await.status(),
            StatusCode::OK
        );
    }

    // Signed out, the inbox sends the agent to sign in, and back to it after.
    browser.open(&app.url("/console/inbox?status=open")).await;
    browser
        .wait_until("location.pathname === '/console/login'")
        .await;
    browser.screenshot("console-sign-in").await;
    shop.sign_in().await;
    browser
        .wait_until("location.pathname === '/console/inbox' && document.readyState === 'complete'")
        .await;
    let inbox = browser.text().await;
    assert!(inbox.contains(ANA), "Ana's conversation is listed: {inbox}");
    assert!(inbox.contains("Inbox"), "{inbox}");
    // Two messages unanswered.
    assert_eq!(
        browser
            .eval("document.querySelector('#inbox-list .count').firstChild.textContent.trim()")
            .await,
        "2"
    );
    browser
        .wait_until("document.documentElement.getAttribute('data-live-connected') === 'true'")
        .await;

    // A new customer's message appears in the open inbox without a reload.
    browser.eval("window.__same_page = true").await;
    let sent = Instant::now();
    let form = message(
        LUIS,
        "+34910000001",
        "SM00000000000000000000000000000003",
        "¿Abrís el domingo?",
    );
    assert_eq!(
        app.twilio_hook(sms_hook, AUTH_TOKEN, &form).await.status(),
        StatusCode::OK
    );
    let answered = sent.elapsed();
    browser
        .wait_until(&format!(
            "document.getElementById('inbox-list').innerText.includes('{LUIS}')"
        ))
        .await;
    let shown = sent.elapsed();
    assert_eq!(
        browser.eval("window.__same_page === true").await,
        true,
        "no reload"
    );
    eprintln!(
        "live inbox: the webhook answered in {:.1} ms, its row shown {:.1} ms after sending",
        answered.as_secs_f64() * 1e3,
        shown.as_secs_f64() * 1e3
    );
    browser.screenshot("console-inbox").await;
    // The inbox's first paint, as the browser measured it (reported, not asserted).
    let paint = browser
        .eval("(performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime || null")
        .await;
    eprintln!("inbox first contentful paint: {paint} ms after navigation");

    // The agent opens Ana's conversation: both channels in one thread.
    browser
        .follow(&format!(
            "Array.from(document.querySelectorAll('#inbox-list a')).find(a => a.innerText.includes('{ANA}')).click(); true"
        ))
        .await;
    browser.wait_until("location.pathname.startsWith('/console/conversations/') && document.readyState === 'complete'").await;
    let thread = browser
        .eval("document.getElementById('thread').innerText")
        .await;
    let thread = thread.as_str().unwrap_or("");
    assert!(
        thread.contains("Hola, ¿tenéis la talla M?")
            && thread.contains("Os escribo también por SMS"),
        "{thread}"
    );
    assert_eq!(
        browser
            .eval("document.querySelectorAll('#thread .mark-whatsapp').length")
            .await,
        1
    );
    assert_eq!(
        browser
            .eval("document.querySelectorAll('#thread .mark-sms').length")
            .await,
        1
    );

    // S2: the last message came by SMS; the agent answers on WhatsApp.
    browser
        .follow(&format!(
            "document.querySelector('select[name=channel_id]').value = '{whatsapp}';\
             document.querySelector('textarea[name=content]').value = 'Sí, la tenemos en la tienda de Sol';\
             document.getElementById('composer').submit(); true"
        ))
        .await;
    browser.wait_until("document.readyState === 'complete' && document.getElementById('thread') && document.getElementById('thread').innerText.includes('la tienda de Sol')").await;
    app.step_workers().await;
    let sent = peer.sent();
    let reply = sent
        .iter()
        .find(|m| {
            m.form.get("Body").map(String::as_str) == Some("Sí, la tenemos en la tienda de Sol")
        })
        .unwrap_or_else(|| panic!("the reply reached Twilio: {sent:?}"));
    assert_eq!(
        reply.form.get("To").map(String::as_str),
        Some(whatsapp_from.as_str())
    );
    assert_eq!(
        reply.form.get("From").map(String::as_str),
        Some("whatsapp:+34910000002")
    );
    browser.screenshot("console-conversation").await;

    // A hostile body is shown as text and runs nothing, live or on a fresh load.
    let form = message(
        ANA,
        "+34910000001",
        "SM00000000000000000000000000000004",
        HOSTILE,
    );
    assert_eq!(
        app.twilio_hook(sms_hook, AUTH_TOKEN, &form).await.status(),
        StatusCode::OK
    );
    browser
        .wait_until("document.getElementById('thread').innerText.includes('onerror')")
        .await;
    browser.follow("location.reload(); true").await;
    browser.wait_until("document.readyState === 'complete' && !!document.getElementById('thread') && document.getElementById('thread').innerText.includes('onerror')").await;
    assert_eq!(browser.eval("typeof window.__pwned").await, "undefined");
    assert_eq!(
        browser
            .eval("document.querySelectorAll('#thread img, #thread script').length")
            .await,
        0
    );
    assert!(browser.dialogs().await.is_empty(), "no dialog opened");

    // Spanish, from the language link, on the same page.
    browser
        .follow("document.querySelector('a.lang').click(); true")
        .await;
    browser
        .wait_until("document.documentElement.lang === 'es' && document.readyState === 'complete'")
        .await;
    assert!(browser.text().await.contains("Bandeja"));
    assert!(
        browser
            .eval("location.pathname")
            .await
            .as_str()
            .unwrap_or("")
            .starts_with("/console/conversations/")
    );

    // A tablet: nothing wider than 768 px on the pages used.
    let conversation = browser.eval("location.pathname").await;
    let conversation = conversation.as_str().expect("path").to_owned();
    browser.set_width(768).await;
    for (path, name) in [
        ("/console/inbox", "console-inbox-768"),
        (conversation.as_str(), "console-conversation-768"),
        ("/console", "console-home-768"),
    ] {
        browser.open(&app.url(path)).await;
        let wide = browser.eval("document.documentElement.scrollWidth").await;
        assert!(
            wide.as_u64().unwrap_or(u64::MAX) <= 768,
            "{path}: {wide} px wide"
        );
        browser.screenshot(name).await;
    }
    assert!(browser.dialogs().await.is_empty());
}

/// Tabs beyond the six connections a browser opens to one server all load and all
/// update live: the tabs share one stream, and when the tab reading it closes another
/// takes over.
async fn many_console_tabs_share_one_live_stream(app: TestApp) {
    let Some(shop) = Shop::open(&app).await else {
        return;
    };
    let browser = &shop.browser;
    browser.open(&app.url("/console/inbox")).await;
    shop.sign_in().await;
    browser
        .wait_until("location.pathname === '/console/inbox' && document.readyState === 'complete'")
        .await;
    let mut tabs = Vec::new();
    for _ in 0..8 {
        let tab = browser.open_tab(&app.url("/console/inbox")).await;
        browser
            .wait_until_in(
                &tab,
                "document.readyState === 'complete' && \
                 document.documentElement.getAttribute('data-live-connected') === 'true'",
            )
            .await;
        tabs.push(tab);
    }
    let arrives = |n: u32, number: &'static str| {
        let app = &app;
        let hook = shop.sms_hook.clone();
        async move {
            let sid = format!("SM{n:032}");
            let form = message(number, "+34910000001", &sid, "¿Abrís el domingo?");
            assert_eq!(
                app.twilio_hook(&hook, AUTH_TOKEN, &form).await.status(),
                StatusCode::OK
            );
        }
    };
    arrives(51, LUIS).await;
    for tab in tabs.iter().chain(std::iter::once(&String::new())) {
        let check = format!("document.getElementById('inbox-list').innerText.includes('{LUIS}')");
        if tab.is_empty() {
            browser.wait_until(&check).await;
        } else {
            browser.wait_until_in(tab, &check).await;
        }
    }
    // The first tab, which holds the stream, goes: another takes it over.
    browser.open("about:blank").await;
    arrives(52, ANA).await;
    for tab in &tabs {
        browser
            .wait_until_in(
                tab,
                &format!("document.getElementById('inbox-list').innerText.includes('{ANA}')"),
            )
            .await;
    }
}
