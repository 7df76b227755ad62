//! `hilo import products`: the catalogue from CSV, one row per variant. Rows with the
//! same `product` key (or, without one, each row alone) make one product; a row whose
//! SKU is already in the catalogue was imported before and changes nothing, so running
//! an import twice stores nothing twice. Rejected rows go to a file beside the input,
//! with the reason.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use hilo_app::Hilo;
use hilo_app::commerce::ProductInput;
use hilo_domain::commerce::catalogue::VariantInput;
use hilo_domain::commerce::money::{Currency, Money};

use crate::import::{Progress, Rejects, Summary, csv_line};

/// One row as read.
struct Row {
    line: u64,
    cells: Vec<String>,
    sku: String,
    variant: Result<VariantInput, String>,
}

/// Reads `19.99` (or `19,99`) of a currency with two decimals as minor units.
fn minor_units(text: &str) -> Result<i64, String> {
    let text = text.trim().replace(',', ".");
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    if whole.is_empty()
        || fraction.len() > 2
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(format!("price {text:?} is not an amount such as 19.99"));
    }
    let whole: i64 = whole
        .parse()
        .map_err(|_| format!("price {text:?} is too large"))?;
    let cents: i64 = format!("{fraction:0<2}").parse().unwrap_or(0);
    whole
        .checked_mul(100)
        .and_then(|w| w.checked_add(cents))
        .ok_or_else(|| format!("price {text:?} is too large"))
}

pub async fn products(hilo: &Hilo, path: &Path) -> anyhow::Result<Summary> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_path(path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let headers: Vec<String> = reader
        .headers()
        .context("the file needs a header row")?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    let column = |name: &str| headers.iter().position(|h| h == name);
    let sku_at = column("sku").context("the file needs a sku column")?;
    let price_at = column("price").context("the file needs a price column")?;
    let mut rejects = Rejects::beside(path, ".rejected.csv");
    rejects.write(&csv_line(
        headers.iter().map(String::as_str).chain(["error"]),
    ))?;
    let progress = Progress::for_file(path);
    let mut summary = Summary::default();
    // Products in the order their first row comes.
    let mut order: Vec<String> = Vec::new();
    let mut groups: BTreeMap<String, Vec<Row>> = BTreeMap::new();
    let mut record = csv::StringRecord::new();
    let mut line = 1u64;
    loop {
        line += 1;
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(error) => {
                summary.read += 1;
                summary.rejected += 1;
                rejects.write(&csv_line([
                    format!("line {line}").as_str(),
                    &error.to_string(),
                ]))?;
                continue;
            }
        }
        summary.read += 1;
        let cells: Vec<String> = record.iter().map(|c| c.trim().to_owned()).collect();
        let cell = |name: &str| {
            column(name)
                .and_then(|i| cells.get(i))
                .cloned()
                .unwrap_or_default()
        };
        let sku = cells.get(sku_at).cloned().unwrap_or_default();
        let variant = (|| {
            let currency: Currency = {
                let code = cell("currency");
                if code.is_empty() {
                    "EUR".to_owned()
                } else {
                    code.to_uppercase()
                }
            }
            .parse()
            .map_err(|_| "currency is not an ISO 4217 code such as EUR".to_owned())?;
            let amount = minor_units(cells.get(price_at).map(String::as_str).unwrap_or(""))?;
            let attributes = headers
                .iter()
                .zip(&cells)
                .filter_map(|(h, v)| {
                    h.strip_prefix("attr:")
                        .filter(|_| !v.is_empty())
                        .map(|name| (name.to_owned(), v.clone()))
                })
                .collect();
            let images = cell("image")
                .split(';')
                .map(str::trim)
                .filter(|i| !i.is_empty())
                .map(str::to_owned)
                .collect();
            Ok(VariantInput {
                sku: sku.clone(),
                prices: vec![Money::new(amount, currency)],
                attributes,
                images,
            })
        })();
        let key = match cell("product") {
            key if key.is_empty() => format!("sku:{sku}"),
            key => format!("product:{key}"),
        };
        if !groups.contains_key(&key) {
            order.push(key.clone());
        }
        groups.entry(key).or_default().push(Row {
            line,
            cells,
            sku,
            variant,
        });
        if summary.read % 100 == 0 {
            progress.show(reader.position().byte(), summary.read);
        }
    }
    let commerce = hilo.commerce();
    for key in order {
        let rows = groups.remove(&key).unwrap_or_default();
        let skus: Vec<String> = rows.iter().map(|r| r.sku.trim().to_owned()).collect();
        let known = hilo.store().variants(&skus).await?;
        let mut fresh = Vec::new();
        for row in rows {
            if known.iter().any(|v| v.sku == row.sku.trim()) {
                summary.duplicates += 1;
                continue;
            }
            match &row.variant {
                Ok(_) => fresh.push(row),
                Err(reason) => {
                    summary.rejected += 1;
                    rejects.write(&csv_line(
                        row.cells
                            .iter()
                            .map(String::as_str)
                            .chain([reason.as_str()]),
                    ))?;
                }
            }
        }
        let Some(first) = fresh.first() else { continue };
        let cell = |name: &str| {
            column(name)
                .and_then(|i| first.cells.get(i))
                .cloned()
                .unwrap_or_default()
        };
        let input = ProductInput {
            name_es: cell("name_es"),
            name_en: match cell("name_en") {
                name if name.is_empty() => cell("name_es"),
                name => name,
            },
            description_es: cell("description_es"),
            description_en: cell("description_en"),
            categories: cell("category")
                .split(';')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
                .collect(),
            variants: fresh
                .iter()
                .filter_map(|r| r.variant.clone().ok())
                .collect(),
        };
        match commerce.create_product(input).await {
            Ok(_) => summary.stored += fresh.len() as u64,
            Err(error) => {
                let reason = format!("line {}: {error}", fresh[0].line);
                for row in &fresh {
                    summary.rejected += 1;
                    rejects.write(&csv_line(
                        row.cells
                            .iter()
                            .map(String::as_str)
                            .chain([reason.as_str()]),
                    ))?;
                }
            }
        }
    }
    progress.show(u64::MAX, summary.read);
    eprintln!();
    summary.rejected_file = if summary.rejected > 0 {
        rejects.finish()?
    } else {
        let _ = rejects.finish()?.map(std::fs::remove_file);
        None
    };
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::minor_units;

    #[test]
    fn prices_are_read_as_minor_units() {
        assert_eq!(minor_units("19.99"), Ok(1999));
        assert_eq!(minor_units("19,9"), Ok(1990));
        assert_eq!(minor_units("7"), Ok(700));
        assert!(minor_units("1.999").is_err());
        assert!(minor_units("-3").is_err());
        assert!(minor_units("").is_err());
    }
}
