//! The console's sign-in: cookies, CSRF, rate limiting, languages, sessions on the API.

use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::support::{TestApp, error_of, form_encode, on_both_engines};

on_both_engines!(
    sign_in_and_out_with_safe_cookies,
    forms_without_the_csrf_token_are_refused,
    failed_logins_are_rate_limited_per_account,
    the_console_speaks_spanish_and_english,
    sessions_call_the_api_with_their_role_and_csrf_header,
    password_reset_ends_sessions,
);

const PASSWORD: &str = "correct horse battery";

#[tokio::test]
async fn cookies_are_secure_behind_an_https_public_url() {
    let app = TestApp::start_sqlite_with(|settings| {
        settings.public_url = "https://hilo.example.com".into();
    })
    .await;
    app.create_user("ana@example.com", "agent", PASSWORD).await;
    let form = app
        .client
        .get(app.url("/console/login"))
        .send()
        .await
        .expect("request");
    let csrf_cookie = set_cookie(&form, "hilo_login_csrf").expect("csrf cookie");
    assert!(csrf_cookie.contains("; Secure"), "{csrf_cookie}");
    let response = submit_login(&app, "ana@example.com", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let session = set_cookie(&response, "hilo_session").expect("session cookie");
    assert!(session.contains("; Secure"), "{session}");
    assert!(session.contains("HttpOnly"), "{session}");
}

/// The value of a cookie set by a response.
fn set_cookie(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

fn cookie_value(set_cookie: &str) -> String {
    let pair = set_cookie.split(';').next().unwrap_or("");
    pair.split_once('=').map_or("", |(_, v)| v).to_owned()
}

fn hidden_csrf(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("csrf field") + marker.len();
    html[start..].split('"').next().unwrap_or("").to_owned()
}

/// Opens the login form: returns the login CSRF cookie and the form's token.
async fn open_login(app: &TestApp) -> (String, String) {
    let response = app
        .client
        .get(app.url("/console/login"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let cookie = cookie_value(&set_cookie(&response, "hilo_login_csrf").expect("csrf cookie"));
    let html = response.text().await.expect("html");
    (cookie, hidden_csrf(&html))
}

async fn submit_login(app: &TestApp, email: &str, password: &str) -> Response {
    submit_login_from(app, None, email, password).await
}

/// Signs in as a client behind a proxy that names it in `X-Forwarded-For`.
async fn submit_login_from(
    app: &TestApp,
    forwarded_for: Option<&str>,
    email: &str,
    password: &str,
) -> Response {
    let (cookie, token) = open_login(app).await;
    let mut request = app.client.post(app.url("/console/login"));
    if let Some(client) = forwarded_for {
        request = request.header("x-forwarded-for", client);
    }
    request
        .header("cookie", format!("hilo_login_csrf={cookie}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_encode(&[
            ("email", email),
            ("password", password),
            ("csrf", &token),
        ]))
        .send()
        .await
        .expect("request")
}

/// Signs in with `password` as a browser would: the session cookie's value and the
/// CSRF token the console's pages carry, for API calls made with the session.
pub(crate) async fn console_session(
    app: &TestApp,
    email: &str,
    password: &str,
) -> (String, String) {
    let response = submit_login(app, email, password).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let session = cookie_value(&set_cookie(&response, "hilo_session").expect("session cookie"));
    let home = app
        .client
        .get(app.url("/console"))
        .header("cookie", format!("hilo_session={session}"))
        .send()
        .await
        .expect("request")
        .text()
        .await
        .expect("html");
    (session, hidden_csrf(&home))
}

/// Signs in and returns the session cookie's value.
async fn sign_in(app: &TestApp, email: &str) -> String {
    let response = submit_login(app, email, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    cookie_value(&set_cookie(&response, "hilo_session").expect("session cookie"))
}

async fn sign_in_and_out_with_safe_cookies(app: TestApp) {
    app.create_user("ana@example.com", "agent", PASSWORD).await;

    let home = app
        .client
        .get(app.url("/console"))
        .send()
        .await
        .expect("request");
    assert_eq!(home.status(), StatusCode::SEE_OTHER);
    assert_eq!(home.headers()["location"], "/console/login");

    let response = submit_login(&app, "Ana@Example.com", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/console");
    let cookie = set_cookie(&response, "hilo_session").expect("session cookie");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "plain-http public URL: {cookie}"
    );
    let session = cookie_value(&cookie);

    let home = app
        .client
        .get(app.url("/console"))
        .header("cookie", format!("hilo_session={session}"))
        .send()
        .await
        .expect("request");
    assert_eq!(home.status(), 200);
    assert!(home.headers()["content-security-policy"].to_str().is_ok());
    let html = home.text().await.expect("html");
    assert!(html.contains("ana@example.com"));
    assert!(html.contains("agent"));
    assert!(!html.contains("<table>"), "agents do not see sources");
    let logout_token = hidden_csrf(&html);

    let logout = app
        .client
        .post(app.url("/console/logout"))
        .header("cookie", format!("hilo_session={session}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_encode(&[("csrf", &logout_token)]))
        .send()
        .await
        .expect("request");
    assert_eq!(logout.status(), StatusCode::SEE_OTHER);
    assert!(set_cookie(&logout, "hilo_session").is_some_and(|c| c.contains("Max-Age=0")));
    let home = app
        .client
        .get(app.url("/console"))
        .header("cookie", format!("hilo_session={session}"))
        .send()
        .await
        .expect("request");
    assert_eq!(
        home.status(),
        StatusCode::SEE_OTHER,
        "the old cookie is dead"
    );

    // A signed-out visit to a deeper page comes back to it after signing in; a `next`
    // that leaves the console goes home instead.
    let asked = app
        .client
        .get(app.url("/console/inbox?status=pending"))
        .send()
        .await
        .expect("request");
    assert_eq!(asked.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        asked.headers()["location"],
        "/console/login?next=%2Fconsole%2Finbox%3Fstatus%3Dpending"
    );
    for (next, lands) in [
        (
            "/console/inbox?status=pending",
            "/console/inbox?status=pending",
        ),
        ("https://evil.example/console", "/console"),
        ("//evil.example/console", "/console"),
    ] {
        let (cookie, token) = open_login(&app).await;
        let response = app
            .client
            .post(app.url("/console/login"))
            .header("cookie", format!("hilo_login_csrf={cookie}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form_encode(&[
                ("email", "ana@example.com"),
                ("password", PASSWORD),
                ("csrf", &token),
                ("next", next),
            ]))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(response.headers()["location"], lands, "next {next}");
    }

    // Wrong passwords and unknown accounts look the same.
    let wrong = submit_login(&app, "ana@example.com", "not the password").await;
    assert_eq!(wrong.status(), 401);
    let wrong_page = wrong.text().await.expect("html");
    let unknown = submit_login(&app, "nobody@example.com", "not the password").await;
    assert_eq!(unknown.status(), 401);
    let unknown_page = unknown.text().await.expect("html");
    assert!(wrong_page.contains("Wrong email or password."));
    assert!(unknown_page.contains("Wrong email or password."));
}

async fn forms_without_the_csrf_token_are_refused(app: TestApp) {
    app.create_user("ana@example.com", "admin", PASSWORD).await;
    let (cookie, _token) = open_login(&app).await;
    for (cookie_header, token) in [
        (format!("hilo_login_csrf={cookie}"), "forged"),
        (String::new(), cookie.as_str()),
        (format!("hilo_login_csrf={cookie}"), ""),
    ] {
        let mut request = app
            .client
            .post(app.url("/console/login"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form_encode(&[
                ("email", "ana@example.com"),
                ("password", PASSWORD),
                ("csrf", token),
            ]));
        if !cookie_header.is_empty() {
            request = request.header("cookie", cookie_header);
        }
        let response = request.send().await.expect("request");
        assert_eq!(response.status(), 403);
        assert!(set_cookie(&response, "hilo_session").is_none());
    }

    let session = sign_in(&app, "ana@example.com").await;
    let logout = app
        .client
        .post(app.url("/console/logout"))
        .header("cookie", format!("hilo_session={session}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_encode(&[("csrf", "forged")]))
        .send()
        .await
        .expect("request");
    assert_eq!(logout.status(), 403);
    let home = app
        .client
        .get(app.url("/console"))
        .header("cookie", format!("hilo_session={session}"))
        .send()
        .await
        .expect("request");
    assert_eq!(
        home.status(),
        200,
        "a forged logout does not end the session"
    );
}

async fn failed_logins_are_rate_limited_per_account(app: TestApp) {
    app.create_user("ana@example.com", "agent", PASSWORD).await;
    app.create_user("bo@example.com", "agent", PASSWORD).await;
    for _ in 0..5 {
        let response = submit_login(&app, "ana@example.com", "guess guess guess").await;
        assert_eq!(response.status(), 401);
    }
    // Locked now, even with the right password.
    let locked = submit_login(&app, "ana@example.com", PASSWORD).await;
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(locked.headers().get("retry-after").is_some());
    assert!(set_cookie(&locked, "hilo_session").is_none());
    // Other accounts are not affected.
    sign_in(&app, "bo@example.com").await;
    // After the window, the right password works again.
    app.clock.advance_millis(15 * 60 * 1000 + 1);
    sign_in(&app, "ana@example.com").await;
}

async fn the_console_speaks_spanish_and_english(app: TestApp) {
    let spanish = app
        .client
        .get(app.url("/console/login"))
        .header("accept-language", "es-ES,es;q=0.9,en;q=0.5")
        .send()
        .await
        .expect("request")
        .text()
        .await
        .expect("html");
    assert!(spanish.contains("Iniciar sesión"), "{spanish}");
    assert!(spanish.contains("lang=\"es\""));

    let english = app
        .client
        .get(app.url("/console/login"))
        .header("accept-language", "en-GB")
        .send()
        .await
        .expect("request")
        .text()
        .await
        .expect("html");
    assert!(english.contains("Sign in"));

    let switch = app
        .client
        .get(app.url("/console/lang/es"))
        .send()
        .await
        .expect("request");
    let cookie = set_cookie(&switch, "hilo_lang").expect("language cookie");
    let chosen = app
        .client
        .get(app.url("/console/login"))
        .header("accept-language", "en-GB")
        .header("cookie", format!("hilo_lang={}", cookie_value(&cookie)))
        .send()
        .await
        .expect("request")
        .text()
        .await
        .expect("html");
    assert!(
        chosen.contains("Iniciar sesión"),
        "the chosen language wins"
    );
}

async fn sessions_call_the_api_with_their_role_and_csrf_header(app: TestApp) {
    app.create_user("admin@example.com", "admin", PASSWORD)
        .await;
    app.create_user("agent@example.com", "agent", PASSWORD)
        .await;
    let agent = sign_in(&app, "agent@example.com").await;
    let me = app
        .request(Method::GET, "/api/v1/me", None)
        .header("cookie", format!("hilo_session={agent}"))
        .send()
        .await
        .expect("request");
    assert_eq!(me.status(), 200);
    let me: Value = me.json().await.expect("json");
    assert_eq!(me["kind"], "user");
    assert_eq!(me["email"], "agent@example.com");
    let sources = app
        .request(Method::GET, "/api/v1/sources", None)
        .header("cookie", format!("hilo_session={agent}"))
        .send()
        .await
        .expect("request");
    assert_eq!(sources.status(), 403);

    let (admin, csrf) = console_session(&app, "admin@example.com", PASSWORD).await;
    let body = json!({"name": "Web", "channel": "web"});
    let without = app
        .request(Method::POST, "/api/v1/sources", None)
        .header("cookie", format!("hilo_session={admin}"))
        .json(&body)
        .send()
        .await
        .expect("request");
    assert_eq!(without.status(), 403);
    assert_eq!(error_of(without).await.0, "csrf");
    let with = app
        .request(Method::POST, "/api/v1/sources", None)
        .header("cookie", format!("hilo_session={admin}"))
        .header("x-csrf-token", csrf)
        .json(&body)
        .send()
        .await
        .expect("request");
    assert_eq!(with.status(), 201);

    // Sessions expire.
    app.clock.advance_millis(12 * 60 * 60 * 1000 + 1);
    let expired = app
        .request(Method::GET, "/api/v1/me", None)
        .header("cookie", format!("hilo_session={admin}"))
        .send()
        .await
        .expect("request");
    assert_eq!(expired.status(), 401);
}

async fn password_reset_ends_sessions(app: TestApp) {
    app.create_user("ana@example.com", "agent", PASSWORD).await;
    let session = sign_in(&app, "ana@example.com").await;
    let hilo = hilo_app::Hilo::new(app.store().clone(), std::sync::Arc::new(app.clock.clone()));
    hilo.access()
        .reset_password(
            "ana@example.com",
            &hilo_domain::Secret::new("a brand new password"),
        )
        .await
        .expect("reset");
    let me = app
        .request(Method::GET, "/api/v1/me", None)
        .header("cookie", format!("hilo_session={session}"))
        .send()
        .await
        .expect("request");
    assert_eq!(me.status(), 401);
    assert_eq!(
        submit_login(&app, "ana@example.com", PASSWORD)
            .await
            .status(),
        401
    );
    assert_eq!(
        submit_login(&app, "ana@example.com", "a brand new password")
            .await
            .status(),
        303
    );
}

/// Behind a trusted reverse proxy, sign-in limits follow the client the proxy names:
/// one noisy address never shuts out a rightful user, even one behind the same address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_noisy_address_slows_guessing_but_never_locks_out_the_rightful() {
    let app = TestApp::start_sqlite_with(|settings| {
        settings.trusted_proxies =
            hilo_web::client_ip::TrustedProxies::parse("127.0.0.1, ::1").expect("proxies");
    })
    .await;
    app.create_user("ana@example.com", "agent", PASSWORD).await;
    app.create_user("bo@example.com", "agent", PASSWORD).await;
    let attacker = Some("203.0.113.66");
    // Spraying unknown accounts from one address: every attempt is a plain failure.
    for n in 0..32 {
        let response =
            submit_login_from(&app, attacker, &format!("nobody{n}@example.com"), "guess").await;
        assert_eq!(response.status(), 401, "attempt {n}");
    }
    // Guessing Bo's password from there: after five, Bo waits there, doubling.
    for _ in 0..6 {
        submit_login_from(&app, attacker, "bo@example.com", "guess guess").await;
    }
    let refused = submit_login_from(&app, attacker, "bo@example.com", PASSWORD).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = refused.headers()["retry-after"]
        .to_str()
        .expect("text")
        .parse()
        .expect("seconds");
    assert!(
        (1..=4).contains(&wait),
        "a short wait, not a lockout: {wait}"
    );
    // Bo at home signs in; Ana, even behind the noisy address, signs in too (slowed).
    let home = submit_login_from(&app, Some("198.51.100.7"), "bo@example.com", PASSWORD).await;
    assert_eq!(home.status(), StatusCode::SEE_OTHER);
    let started = std::time::Instant::now();
    let ana = submit_login_from(&app, attacker, "ana@example.com", PASSWORD).await;
    assert_eq!(ana.status(), StatusCode::SEE_OTHER);
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(900),
        "slowed down"
    );
    // Once the wait is over Bo gets in from there as well.
    app.clock
        .advance_millis(i64::try_from(wait).expect("secs") * 1000);
    let later = submit_login_from(&app, attacker, "bo@example.com", PASSWORD).await;
    assert_eq!(later.status(), StatusCode::SEE_OTHER);
}

/// Without a trusted proxy, `X-Forwarded-For` is the client's own word: ignored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forwarded_for_header_from_an_untrusted_peer_is_ignored() {
    let app = TestApp::start_sqlite().await;
    app.create_user("carl@example.com", "agent", PASSWORD).await;
    for n in 0..5 {
        let claimed = format!("198.51.100.{n}");
        let response =
            submit_login_from(&app, Some(&claimed), "carl@example.com", "guess guess").await;
        assert_eq!(response.status(), 401);
    }
    let refused = submit_login_from(&app, Some("192.0.2.200"), "carl@example.com", PASSWORD).await;
    assert_eq!(
        refused.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "every attempt came from the same peer"
    );
}
