//! `/api/v1/products`: the catalogue, each product with its variants known by SKU.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use hilo_app::commerce::ProductInput;
use hilo_domain::commerce::catalogue::VariantInput;
use hilo_domain::{Page, PageRequest, Permission, ProductId};
use hilo_store::commerce::{ProductRecord, VariantRecord};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use super::Amount;
use crate::api::{IdPath, List, Paging};
use crate::auth::Caller;
use crate::error::ErrorBody;
use crate::json::JsonBody;
use crate::{ApiError, AppState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/products", get(list).post(create))
        .route("/products/{id}", get(show))
}

#[derive(OpenApi)]
#[openapi(
    paths(list, create, show),
    components(schemas(Product, Variant, ProductBody, VariantBody, Names, Descriptions, Amount, List<Product>))
)]
pub struct ProductsApi;

/// A text in Spanish and English.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Names {
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub es: String,
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub en: String,
}

/// A longer text in Spanish and English.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Descriptions {
    #[serde(default)]
    #[schema(max_length = 5000)]
    pub es: String,
    #[serde(default)]
    #[schema(max_length = 5000)]
    pub en: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Product {
    pub id: String,
    pub name: Names,
    pub description: Descriptions,
    pub categories: Vec<String>,
    pub variants: Vec<Variant>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Variant {
    pub sku: String,
    /// The main price.
    pub price: Amount,
    /// Every price, one per currency, the main one first.
    pub prices: Vec<Amount>,
    #[schema(value_type = Object)]
    pub attributes: BTreeMap<String, String>,
    pub images: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductBody {
    pub name: Names,
    #[serde(default)]
    pub description: Descriptions,
    #[serde(default)]
    #[schema(max_items = 20)]
    pub categories: Vec<String>,
    #[schema(min_items = 1, max_items = 100)]
    pub variants: Vec<VariantBody>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VariantBody {
    /// 1 to 64 letters, digits, '.', '_' or '-'; unique across the catalogue.
    #[schema(pattern = "^\\s*[A-Za-z0-9._-]{1,64}\\s*$")]
    pub sku: String,
    /// The main price.
    pub price: Amount,
    /// Prices in other currencies, at most one per currency.
    #[serde(default)]
    #[schema(max_items = 20)]
    pub prices: Vec<Amount>,
    /// Up to 50 names (1 to 100 characters) with values of up to 200.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub attributes: BTreeMap<String, String>,
    /// Up to 20 http(s) addresses.
    #[serde(default)]
    #[schema(max_items = 20)]
    pub images: Vec<String>,
}

fn variant_view(v: VariantRecord) -> Variant {
    Variant {
        price: v.prices.first().copied().map(Amount::of).unwrap_or(Amount {
            amount: 0,
            currency: String::new(),
        }),
        prices: v.prices.into_iter().map(Amount::of).collect(),
        sku: v.sku,
        attributes: v.attributes,
        images: v.images,
    }
}

pub fn view(p: ProductRecord) -> Product {
    Product {
        id: p.id.to_string(),
        name: Names {
            es: p.name_es,
            en: p.name_en,
        },
        description: Descriptions {
            es: p.description_es,
            en: p.description_en,
        },
        categories: p.categories,
        variants: p.variants.into_iter().map(variant_view).collect(),
        created_at: p.created_at.to_rfc3339(),
        updated_at: p.updated_at.to_rfc3339(),
    }
}

/// Create a product
///
/// Admins only. Its variants' SKUs must be new to the catalogue (409 otherwise).
#[utoipa::path(post, path = "/api/v1/products", tag = "commerce",
    request_body = ProductBody,
    responses(
        (status = 201, body = Product),
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
) -> Result<(StatusCode, Json<Product>), ApiError> {
    caller.require(Permission::ManageCatalogue)?;
    let body: ProductBody = json.parse()?;
    let mut variants = Vec::with_capacity(body.variants.len());
    for (i, v) in body.variants.into_iter().enumerate() {
        let field = format!("variants[{i}]");
        let mut prices = vec![v.price.money(&format!("{field}.price"))?];
        for (j, p) in v.prices.iter().enumerate() {
            let price = p.money(&format!("{field}.prices[{j}]"))?;
            // The main price may be repeated among the others.
            if price != prices[0] {
                prices.push(price);
            }
        }
        variants.push(VariantInput {
            sku: v.sku,
            prices,
            attributes: v.attributes,
            images: v.images,
        });
    }
    let product = state
        .hilo
        .commerce()
        .create_product(ProductInput {
            name_es: body.name.es,
            name_en: body.name.en,
            description_es: body.description.es,
            description_en: body.description.en,
            categories: body.categories,
            variants,
        })
        .await?;
    Ok((StatusCode::CREATED, Json(view(product))))
}

/// Get a product
#[utoipa::path(get, path = "/api/v1/products/{id}", tag = "commerce",
    params(("id" = String, Path, description = "The product's id")),
    responses(
        (status = 200, body = Product),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    id: IdPath<ProductId>,
) -> Result<Json<Product>, ApiError> {
    caller.require(Permission::ReadCatalogue)?;
    Ok(Json(view(state.hilo.commerce().product(id.id()?).await?)))
}

/// List or search products
///
/// In id order; with `q`, those whose Spanish or English name or a SKU holds it (case
/// aside).
#[utoipa::path(get, path = "/api/v1/products", tag = "commerce",
    params(
        Paging,
        ("q" = Option<String>, Query, max_length = 100, description = "Text or SKU to look for"),
    ),
    responses(
        (status = 200, body = List<Product>),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    paging: Paging,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<List<Product>>, ApiError> {
    caller.require(Permission::ReadCatalogue)?;
    let PageRequest { limit, after } = paging.request;
    let after = after.map(|c| c.as_str().to_owned());
    let products = state
        .hilo
        .commerce()
        .products(
            params.get("q").map(String::as_str),
            after.as_deref(),
            limit + 1,
        )
        .await?;
    let page = Page::from_rows(products, limit, |p: &ProductRecord| p.id.to_string());
    Ok(Json(List::from_page(page, view)))
}
