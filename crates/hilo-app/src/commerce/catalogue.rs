//! Products and their variants.

use hilo_domain::commerce::catalogue::{VariantInput, check_text, check_variants};
use hilo_domain::{Invalid, ProductId};
use hilo_store::StoreError;
use hilo_store::commerce::{ProductRecord, VariantRecord};
use tracing::info;

use super::Commerce;
use crate::{AppError, AppResult};

/// A product as given.
#[derive(Debug, Clone)]
pub struct ProductInput {
    pub name_es: String,
    pub name_en: String,
    pub description_es: String,
    pub description_en: String,
    pub categories: Vec<String>,
    pub variants: Vec<VariantInput>,
}

impl Commerce<'_> {
    pub async fn create_product(&self, input: ProductInput) -> AppResult<ProductRecord> {
        let name_es = check_text("name.es", &input.name_es, 200, true)?;
        let name_en = check_text("name.en", &input.name_en, 200, true)?;
        let description_es = check_text("description.es", &input.description_es, 5_000, false)?;
        let description_en = check_text("description.en", &input.description_en, 5_000, false)?;
        if input.categories.len() > 20 {
            return Err(Invalid::new("categories", "at most 20 categories").into());
        }
        let categories = input
            .categories
            .iter()
            .map(|c| check_text("categories", c, 100, true))
            .collect::<Result<Vec<_>, _>>()?;
        check_variants(&input.variants)?;
        let now = self.hilo.now();
        let id = ProductId::generate();
        let product = ProductRecord {
            id,
            variants: input
                .variants
                .into_iter()
                .map(|v| VariantRecord {
                    sku: v.sku.trim().to_owned(),
                    product_id: id,
                    attributes: v.attributes,
                    images: v.images,
                    prices: v.prices,
                    name_es: name_es.clone(),
                    name_en: name_en.clone(),
                    categories: categories.clone(),
                })
                .collect(),
            name_es,
            name_en,
            description_es,
            description_en,
            categories,
            created_at: now,
            updated_at: now,
        };
        match self.hilo.store.insert_product(&product).await {
            Ok(()) => {}
            Err(StoreError::Conflict) => {
                return Err(AppError::Conflict(
                    "variants: a SKU is already another product's".into(),
                ));
            }
            Err(other) => return Err(other.into()),
        }
        info!(product = %product.id, variants = product.variants.len(), "product created");
        Ok(product)
    }

    pub async fn product(&self, id: ProductId) -> AppResult<ProductRecord> {
        self.hilo.store.product(id).await?.ok_or(AppError::NotFound)
    }

    /// Products in id order after `after`, those whose names or SKUs hold `query`.
    pub async fn products(
        &self,
        query: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> AppResult<Vec<ProductRecord>> {
        let query = query.map(str::trim).filter(|q| !q.is_empty());
        if query.is_some_and(|q| q.chars().count() > 100) {
            return Err(Invalid::new("q", "at most 100 characters").into());
        }
        Ok(self.hilo.store.products(query, after, limit).await?)
    }
}
