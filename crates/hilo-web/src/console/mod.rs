//! The web console, rendered on the server: one module per part of Hilo (its pages and
//! their routes), the frame they share in `shell`, their words in `texts`, their
//! templates under `templates/`. Pages work without JavaScript; `console.js` adds live
//! updates by fetching the server's own fragments again.

mod access;
mod account;
mod admin;
mod admin_canned;
mod admin_channels;
mod admin_keys;
mod admin_operations;
mod admin_settings;
mod admin_teams;
mod conversations;
mod customers;
mod pages;
mod shell;
mod store;
mod store_aisle;
mod texts;

use axum::Router;
use axum::http::header;
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;

use crate::AppState;

const CSS: &str = include_str!("../../templates/console.css");
const SCRIPT: &str = include_str!("../../templates/console.js");

pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(access::routes())
        .merge(account::routes())
        .merge(admin::routes())
        .merge(admin_canned::routes())
        .merge(admin_teams::routes())
        .merge(admin_channels::routes())
        .merge(admin_keys::routes())
        .merge(admin_operations::routes())
        .merge(store::routes())
        .merge(store_aisle::routes())
        .merge(admin_settings::routes())
        .merge(conversations::routes())
        .merge(customers::routes())
        .route("/assets/console.css", get(stylesheet))
        .route("/assets/console.js", get(script))
}

/// An amount in minor units as people read it: `59.99 EUR`.
pub(crate) fn amount_text(amount: i64, currency: &str) -> String {
    let sign = if amount < 0 { "-" } else { "" };
    let amount = amount.unsigned_abs();
    format!("{sign}{}.{:02} {currency}", amount / 100, amount % 100)
}

/// An amount as staff type it (`12.50`, `12,50`, `12`) in minor units; `None` for
/// anything else, a negative or zero amount, or more than two decimals.
pub(crate) fn amount_from_text(text: &str) -> Option<i64> {
    let text = text.trim().replace(',', ".");
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    if whole.is_empty()
        || whole.len() > 10
        || fraction.len() > 2
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let cents = match fraction.len() {
        0 => 0,
        1 => fraction.parse::<i64>().ok()? * 10,
        _ => fraction.parse::<i64>().ok()?,
    };
    let minor = whole.parse::<i64>().ok()? * 100 + cents;
    (minor > 0).then_some(minor)
}

pub async fn to_console() -> Redirect {
    Redirect::to("/console")
}

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        CSS,
    )
}

async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        SCRIPT,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_typed_at_a_desk() {
        assert_eq!(amount_from_text("12.50"), Some(1250));
        assert_eq!(amount_from_text(" 12,5 "), Some(1250));
        assert_eq!(amount_from_text("7"), Some(700));
        assert_eq!(
            amount_text(amount_from_text("59,99").unwrap(), "EUR"),
            "59.99 EUR"
        );
        for bad in ["", "0", "0.00", "-1", "1.234", "1e3", ".5", "1 000", "١٢"] {
            assert_eq!(amount_from_text(bad), None, "{bad:?}");
        }
    }
}
