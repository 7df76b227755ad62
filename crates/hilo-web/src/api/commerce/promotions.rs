//! `/api/v1/promotions` and `/api/v1/customers/{id}/coupons`: promotions, their coupons,
//! and the API that issues a coupon to a customer.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use hilo_app::commerce::PromotionInput;
use hilo_domain::commerce::money::{Currency, Money};
use hilo_domain::commerce::promotion::Discount;
use hilo_domain::{Invalid, Permission, Timestamp};
use hilo_store::commerce::{CouponRecord, PromotionRecord};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use crate::api::IdPath;
use crate::auth::Caller;
use crate::error::ErrorBody;
use crate::json::JsonBody;
use crate::{ApiError, AppState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/promotions", get(list).post(create))
        .route("/promotions/{id}", get(show))
        .route("/promotions/{id}/coupons", post(bulk))
        .route("/customers/{id}/coupons", get(of_customer).post(issue))
}

#[derive(OpenApi)]
#[openapi(
    paths(create, list, show, bulk, issue, of_customer),
    components(schemas(
        Promotion,
        PromotionList,
        PromotionBody,
        BulkBody,
        BulkCodes,
        Coupon,
        CouponList,
        IssueBody
    ))
)]
pub struct PromotionsApi;

#[derive(Debug, Serialize, ToSchema)]
pub struct Promotion {
    pub id: String,
    pub name: String,
    /// The shared code anyone may use, when there is one.
    pub code: Option<String>,
    /// percent or fixed.
    pub kind: String,
    /// Whole percent, or minor units of `currency`.
    pub value: i64,
    pub currency: Option<String>,
    pub min_spend: Option<i64>,
    pub skus: Vec<String>,
    pub categories: Vec<String>,
    pub new_customers_only: bool,
    pub max_redemptions: Option<i64>,
    pub per_customer_limit: Option<i64>,
    /// Redemptions in force (cancelled orders' are reverted).
    pub redemptions: i64,
    pub starts_at: Option<String>,
    pub ends_at: Option<String>,
    pub created_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PromotionList {
    pub data: Vec<Promotion>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PromotionBody {
    /// A shared code anyone may use (3 to 40 letters, digits, '-' or '_'; case aside);
    /// leave out for coupons only.
    #[serde(default)]
    #[schema(pattern = "^\\s*[A-Za-z0-9_-]{3,40}\\s*$")]
    pub code: Option<String>,
    #[serde(default)]
    #[schema(
        max_length = 200,
        pattern = "^[^\\u0000-\\u0008\\u000B-\\u001F\\u007F-\\u009F]*$"
    )]
    pub name: String,
    /// percent (of the eligible items) or fixed (an amount off, never more than them).
    #[schema(pattern = "^(percent|fixed)$")]
    pub kind: String,
    /// Whole percent (1 to 100), or minor units of `currency`.
    #[serde(deserialize_with = "crate::json::integer")]
    #[schema(minimum = 1, maximum = 1_000_000_000_000i64)]
    pub value: i64,
    /// ISO 4217: required for a fixed amount or a minimum spend.
    #[serde(default)]
    #[schema(pattern = "^[A-Z]{3}$")]
    pub currency: Option<String>,
    /// Minor units of `currency` the eligible items must add up to.
    #[serde(default, deserialize_with = "crate::json::optional_integer")]
    #[schema(minimum = 1, maximum = 1_000_000_000_000i64)]
    pub min_spend: Option<i64>,
    /// Only these SKUs are eligible (none: every SKU)…
    #[serde(default)]
    #[schema(max_items = 1000)]
    pub skus: Vec<String>,
    /// …or products in these categories.
    #[serde(default)]
    #[schema(max_items = 100)]
    pub categories: Vec<String>,
    /// Refused to anyone who has ordered on any channel, however they were identified.
    #[serde(default)]
    pub new_customers_only: bool,
    #[serde(default, deserialize_with = "crate::json::optional_integer")]
    #[schema(minimum = 1, maximum = 100_000_000)]
    pub max_redemptions: Option<i64>,
    #[serde(default, deserialize_with = "crate::json::optional_integer")]
    #[schema(minimum = 1, maximum = 100_000_000)]
    pub per_customer_limit: Option<i64>,
    /// RFC 3339.
    #[serde(default)]
    #[schema(format = "date-time")]
    pub starts_at: Option<String>,
    /// RFC 3339; after `starts_at`.
    #[serde(default)]
    #[schema(format = "date-time")]
    pub ends_at: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkBody {
    /// How many single-use codes, 1 to 10000.
    #[serde(deserialize_with = "crate::json::integer")]
    #[schema(minimum = 1, maximum = 10000)]
    pub count: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BulkCodes {
    pub promotion_id: String,
    pub codes: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Coupon {
    pub code: String,
    pub promotion_id: String,
    pub customer_id: Option<String>,
    pub redeemed_at: Option<String>,
    pub order_id: Option<String>,
    pub created_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CouponList {
    pub data: Vec<Coupon>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueBody {
    #[schema(min_length = 1, max_length = 64)]
    pub promotion_id: String,
}

fn view(p: PromotionRecord) -> Promotion {
    Promotion {
        id: p.id,
        name: p.name,
        code: p.code,
        kind: p.kind,
        value: p.value,
        currency: p.currency,
        min_spend: p.min_spend,
        skus: p.skus,
        categories: p.categories,
        new_customers_only: p.new_customers_only,
        max_redemptions: p.max_redemptions,
        per_customer_limit: p.per_customer_limit,
        redemptions: p.redemptions,
        starts_at: p.starts_at.map(Timestamp::to_rfc3339),
        ends_at: p.ends_at.map(Timestamp::to_rfc3339),
        created_at: p.created_at.to_rfc3339(),
    }
}

fn coupon_view(c: CouponRecord) -> Coupon {
    Coupon {
        code: c.code,
        promotion_id: c.promotion_id,
        customer_id: c.profile_id,
        redeemed_at: c.redeemed_at.map(Timestamp::to_rfc3339),
        order_id: c.order_id,
        created_at: c.created_at.to_rfc3339(),
    }
}

fn input(body: PromotionBody) -> Result<PromotionInput, Invalid> {
    let currency: Option<Currency> = body
        .currency
        .as_deref()
        .map(|c| c.parse().map_err(|e: Invalid| e.in_field("currency")))
        .transpose()?;
    let discount = match body.kind.as_str() {
        "percent" => Discount::Percent(
            u32::try_from(body.value)
                .ok()
                .filter(|v| (1..=100).contains(v))
                .ok_or_else(|| Invalid::new("value", "a percent is from 1 to 100"))?,
        ),
        "fixed" => Discount::Fixed(
            Money::new(
                body.value,
                currency
                    .ok_or_else(|| Invalid::new("currency", "is required for a fixed amount"))?,
            )
            .check_price("value")?,
        ),
        _ => return Err(Invalid::new("kind", "must be percent or fixed")),
    };
    let min_spend = match body.min_spend {
        Some(amount) => Some(
            Money::new(
                amount,
                currency.ok_or_else(|| Invalid::new("currency", "is required with min_spend"))?,
            )
            .check_price("min_spend")?,
        ),
        None => None,
    };
    let at = |field: &str, text: &Option<String>| {
        text.as_deref()
            .map(|t| Timestamp::parse_rfc3339(t).map_err(|e| e.in_field(field)))
            .transpose()
    };
    for (i, sku) in body.skus.iter().enumerate() {
        hilo_domain::commerce::catalogue::check_sku(&format!("skus[{i}]"), sku)?;
    }
    Ok(PromotionInput {
        name: body.name,
        code: body.code,
        discount,
        min_spend,
        skus: body.skus.iter().map(|s| s.trim().to_owned()).collect(),
        categories: body.categories,
        new_customers_only: body.new_customers_only,
        max_redemptions: body.max_redemptions,
        per_customer_limit: body.per_customer_limit,
        starts_at: at("starts_at", &body.starts_at)?,
        ends_at: at("ends_at", &body.ends_at)?,
    })
}

/// Create a promotion
///
/// Admins and marketers. A shared `code` another promotion has is a 409.
#[utoipa::path(post, path = "/api/v1/promotions", tag = "commerce",
    request_body = PromotionBody,
    responses(
        (status = 201, body = Promotion),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    json: JsonBody,
) -> Result<(StatusCode, Json<Promotion>), ApiError> {
    caller.require(Permission::ManagePromotions)?;
    let body: PromotionBody = json.parse()?;
    let promotion = state.hilo.commerce().create_promotion(input(body)?).await?;
    Ok((StatusCode::CREATED, Json(view(promotion))))
}

/// List promotions
///
/// Newest first (the latest 500).
#[utoipa::path(get, path = "/api/v1/promotions", tag = "commerce",
    responses(
        (status = 200, body = PromotionList),
        (status = 401, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<PromotionList>, ApiError> {
    caller.require(Permission::ReadCatalogue)?;
    let data = state.hilo.commerce().promotions().await?;
    Ok(Json(PromotionList {
        data: data.into_iter().map(view).collect(),
    }))
}

/// Get a promotion
#[utoipa::path(get, path = "/api/v1/promotions/{id}", tag = "commerce",
    params(("id" = String, Path, description = "The promotion's id")),
    responses(
        (status = 200, body = Promotion),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    id: IdPath<uuid::Uuid>,
) -> Result<Json<Promotion>, ApiError> {
    caller.require(Permission::ReadCatalogue)?;
    let id = id.id()?;
    Ok(Json(view(
        state.hilo.commerce().promotion(&id.to_string()).await?,
    )))
}

/// Generate coupons in bulk
///
/// Single-use codes of the promotion, bound to nobody. Admins and marketers.
#[utoipa::path(post, path = "/api/v1/promotions/{id}/coupons", tag = "commerce",
    params(("id" = String, Path, description = "The promotion's id")),
    request_body = BulkBody,
    responses(
        (status = 201, body = BulkCodes),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn bulk(
    State(state): State<AppState>,
    caller: Caller,
    id: IdPath<uuid::Uuid>,
    json: JsonBody,
) -> Result<(StatusCode, Json<BulkCodes>), ApiError> {
    caller.require(Permission::ManagePromotions)?;
    let id = id.id()?.to_string();
    let body: BulkBody = json.parse()?;
    let count = usize::try_from(body.count).unwrap_or(0);
    let codes = state.hilo.commerce().bulk_coupons(&id, count).await?;
    Ok((
        StatusCode::CREATED,
        Json(BulkCodes {
            promotion_id: id,
            codes,
        }),
    ))
}

/// Issue a coupon to a customer
///
/// A single-use code of the promotion bound to this customer's profile: only they may
/// redeem it, on any channel. Admins and marketers (and the engagement part's
/// automations).
#[utoipa::path(post, path = "/api/v1/customers/{id}/coupons", tag = "commerce",
    params(("id" = String, Path, description = "The customer's id, or an identifier written type:value")),
    request_body = IssueBody,
    responses(
        (status = 201, body = Coupon),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn issue(
    State(state): State<AppState>,
    caller: Caller,
    axum::extract::Path(customer): axum::extract::Path<String>,
    json: JsonBody,
) -> Result<(StatusCode, Json<Coupon>), ApiError> {
    caller.require(Permission::ManagePromotions)?;
    let commerce = state.hilo.commerce();
    let who = super::customer_in_path(&commerce, &customer)?;
    let body: IssueBody = json.parse()?;
    let coupon = commerce
        .issue_coupon(&who, body.promotion_id.trim())
        .await?;
    Ok((StatusCode::CREATED, Json(coupon_view(coupon))))
}

/// A customer's coupons
#[utoipa::path(get, path = "/api/v1/customers/{id}/coupons", tag = "commerce",
    params(("id" = String, Path, description = "The customer's id, or an identifier written type:value")),
    responses(
        (status = 200, body = CouponList),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn of_customer(
    State(state): State<AppState>,
    caller: Caller,
    axum::extract::Path(customer): axum::extract::Path<String>,
) -> Result<Json<CouponList>, ApiError> {
    caller.require(Permission::ReadOrders)?;
    let commerce = state.hilo.commerce();
    let who = super::customer_in_path(&commerce, &customer)?;
    let data = commerce.coupons_of(&who).await?;
    Ok(Json(CouponList {
        data: data.into_iter().map(coupon_view).collect(),
    }))
}
