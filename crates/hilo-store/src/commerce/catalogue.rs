//! Products and their variants, known by SKU.

use std::collections::BTreeMap;

use hilo_domain::commerce::money::Money;
use hilo_domain::{ProductId, Timestamp};

use super::{json, parse};
use crate::customers::like_in_order;
use crate::tx::{Tx, on_tx};
use crate::{Store, StoreResult, on_pool};

/// A stored product with its variants in order.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductRecord {
    pub id: ProductId,
    pub name_es: String,
    pub name_en: String,
    pub description_es: String,
    pub description_en: String,
    pub categories: Vec<String>,
    pub variants: Vec<VariantRecord>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// One sellable variant of a product.
#[derive(Debug, Clone, PartialEq)]
pub struct VariantRecord {
    pub sku: String,
    pub product_id: ProductId,
    pub attributes: BTreeMap<String, String>,
    pub images: Vec<String>,
    /// One per currency, the first the main one.
    pub prices: Vec<Money>,
    /// The product's names, for lines and lists.
    pub name_es: String,
    pub name_en: String,
    /// The product's categories, for promotions.
    pub categories: Vec<String>,
}

impl VariantRecord {
    pub fn price_in(&self, currency: hilo_domain::commerce::money::Currency) -> Option<Money> {
        self.prices.iter().copied().find(|p| p.currency == currency)
    }
}

type ProductRow = (String, String, String, String, String, String, i64, i64);
pub(super) type VariantRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
);

macro_rules! products {
    ($rest:literal) => {
        concat!(
            "SELECT id, name_es, name_en, description_es, description_en, \
    categories, created_at, updated_at FROM products",
            " ",
            $rest
        )
    };
}
/// A variant's columns, with its product's, and the tables they come from.
macro_rules! variant_columns {
    () => {
        "v.sku, v.product_id, v.attributes, v.images, v.prices, \
    p.name_es, p.name_en, p.categories FROM variants v JOIN products p ON p.id = v.product_id"
    };
}
pub(super) use variant_columns;

macro_rules! variants {
    ($rest:literal) => {
        concat!("SELECT ", variant_columns!(), " ", $rest)
    };
}

pub(super) fn variant(row: VariantRow) -> StoreResult<VariantRecord> {
    let (sku, product, attributes, images, prices, name_es, name_en, categories) = row;
    Ok(VariantRecord {
        sku,
        product_id: parse("product id", &product)?,
        attributes: json("variant attributes", &attributes)?,
        images: json("variant images", &images)?,
        prices: json("variant prices", &prices)?,
        name_es,
        name_en,
        categories: json("product categories", &categories)?,
    })
}

fn products_of(
    rows: Vec<ProductRow>,
    variants: Vec<VariantRow>,
) -> StoreResult<Vec<ProductRecord>> {
    let mut by_product: BTreeMap<String, Vec<VariantRecord>> = BTreeMap::new();
    for row in variants {
        by_product
            .entry(row.1.clone())
            .or_default()
            .push(variant(row)?);
    }
    rows.into_iter()
        .map(
            |(
                id,
                name_es,
                name_en,
                description_es,
                description_en,
                categories,
                created,
                updated,
            )| {
                Ok(ProductRecord {
                    variants: by_product.remove(&id).unwrap_or_default(),
                    id: parse("product id", &id)?,
                    name_es,
                    name_en,
                    description_es,
                    description_en,
                    categories: json("product categories", &categories)?,
                    created_at: Timestamp::from_millis(created),
                    updated_at: Timestamp::from_millis(updated),
                })
            },
        )
        .collect()
}

fn text<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

impl Store {
    /// Stores a product and its variants at once; a SKU already taken is a conflict.
    pub async fn insert_product(&self, product: &ProductRecord) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        on_tx!(&mut tx, |conn| sqlx::query(
            "INSERT INTO products (id, name_es, name_en, description_es, description_en, \
             categories, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)"
        )
        .bind(product.id.to_string())
        .bind(&product.name_es)
        .bind(&product.name_en)
        .bind(&product.description_es)
        .bind(&product.description_en)
        .bind(text(&product.categories))
        .bind(product.created_at.millis())
        .execute(conn)
        .await?
        .rows_affected());
        for (position, v) in product.variants.iter().enumerate() {
            on_tx!(&mut tx, |conn| sqlx::query(
                "INSERT INTO variants (sku, product_id, position, attributes, images, prices) \
                 VALUES ($1, $2, $3, $4, $5, $6)"
            )
            .bind(&v.sku)
            .bind(product.id.to_string())
            .bind(i64::try_from(position).unwrap_or(0))
            .bind(text(&v.attributes))
            .bind(text(&v.images))
            .bind(text(&v.prices))
            .execute(conn)
            .await?
            .rows_affected());
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn product(&self, id: ProductId) -> StoreResult<Option<ProductRecord>> {
        let (rows, variants) = on_pool!(self, |pool| (
            sqlx::query_as::<_, ProductRow>(products!("WHERE id = $1"))
                .bind(id.to_string())
                .fetch_all(pool)
                .await?,
            sqlx::query_as::<_, VariantRow>(variants!(
                "WHERE v.product_id = $1 ORDER BY v.position"
            ))
            .bind(id.to_string())
            .fetch_all(pool)
            .await?
        ));
        Ok(products_of(rows, variants)?.pop())
    }

    /// Products after `after` in id order, those whose names or SKUs hold `words`
    /// (lower-cased) when given.
    pub async fn products(
        &self,
        words: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<ProductRecord>> {
        let pattern = words.map(|w| like_in_order(&[w.to_lowercase()]));
        const SQL: &str = "SELECT p.id, p.name_es, p.name_en, p.description_es, \
            p.description_en, p.categories, p.created_at, p.updated_at FROM products p \
            WHERE ($1 IS NULL OR p.id > $1) AND ($2 IS NULL \
            OR lower(p.name_es) LIKE $2 ESCAPE '\\' OR lower(p.name_en) LIKE $2 ESCAPE '\\' \
            OR EXISTS (SELECT 1 FROM variants v WHERE v.product_id = p.id \
                       AND lower(v.sku) LIKE $2 ESCAPE '\\')) \
            ORDER BY p.id LIMIT $3";
        let rows = on_pool!(self, |pool| sqlx::query_as::<_, ProductRow>(SQL)
            .bind(after)
            .bind(pattern.as_deref())
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?);
        let ids: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
        let variants = self.variants_of_products(&ids).await?;
        products_of(rows, variants)
    }

    async fn variants_of_products(&self, ids: &[String]) -> StoreResult<Vec<VariantRow>> {
        let mut all = Vec::new();
        for id in ids {
            let rows = on_pool!(self, |pool| sqlx::query_as::<_, VariantRow>(variants!(
                "WHERE v.product_id = $1 ORDER BY v.position"
            ))
            .bind(id)
            .fetch_all(pool)
            .await?);
            all.extend(rows);
        }
        Ok(all)
    }

    /// The variants of these SKUs that exist.
    /// The variants of these SKUs that exist, in one statement.
    pub async fn variants(&self, skus: &[String]) -> StoreResult<Vec<VariantRecord>> {
        let rows: Vec<VariantRow> = match self {
            Self::Sqlite(pool) => {
                sqlx::query_as(SQLITE_VARIANTS_IN)
                    .bind(sku_list(skus))
                    .fetch_all(pool)
                    .await?
            }
            Self::Postgres(pool) => {
                sqlx::query_as(POSTGRES_VARIANTS_IN)
                    .bind(skus)
                    .fetch_all(pool)
                    .await?
            }
        };
        rows.into_iter().map(variant).collect()
    }
}

/// The variants of the SKUs in the JSON array `$1`, on SQLite.
pub(super) const SQLITE_VARIANTS_IN: &str =
    variants!("WHERE v.sku IN (SELECT value FROM json_each($1))");
const POSTGRES_VARIANTS_IN: &str = variants!("WHERE v.sku = ANY($1)");

/// SKUs as the JSON array [`SQLITE_VARIANTS_IN`] reads.
pub(super) fn sku_list(skus: &[String]) -> String {
    serde_json::to_string(skus).unwrap_or_else(|_| "[]".into())
}

impl Tx {
    /// The variants of these SKUs that exist, read in this transaction.
    pub async fn variants(&mut self, skus: &[String]) -> StoreResult<Vec<VariantRecord>> {
        let rows: Vec<VariantRow> = match self {
            Tx::Sqlite(tx, _) => {
                sqlx::query_as(SQLITE_VARIANTS_IN)
                    .bind(sku_list(skus))
                    .fetch_all(&mut **tx)
                    .await?
            }
            Tx::Postgres(tx) => {
                sqlx::query_as(POSTGRES_VARIANTS_IN)
                    .bind(skus)
                    .fetch_all(&mut **tx)
                    .await?
            }
        };
        rows.into_iter().map(variant).collect()
    }
}
