//! The commerce part's demo: Madrid and Barcelona stores and a warehouse, a small
//! catalogue with stock, Lucía's cart (filled by voice), Ana's wish list and an order of
//! hers waiting at the Gran Vía desk, Carlos's parcel from the warehouse, and two
//! promotions.

use std::collections::BTreeMap;

use hilo_domain::commerce::catalogue::VariantInput;
use hilo_domain::commerce::inventory::Reason;
use hilo_domain::commerce::location::{LocationInput, LocationKind, Offer, Point};
use hilo_domain::commerce::money::Money;
use hilo_domain::commerce::order::OrderChannel;
use hilo_domain::commerce::promotion::Discount;
use hilo_domain::{PageRequest, Principal, Role};
use serde_json::json;
use tracing::info;

use super::pickups::Step;
use super::{
    CustomerRef, FulfillmentRequest, LineChange, LineRequest, ListKind, OrderRequest, ProductInput,
    PromotionInput, ShipAddress, StockChange,
};
use crate::{AppError, AppResult, Hilo};

fn hours(open: &str, close: &str, days: &[&str]) -> BTreeMap<String, Vec<[String; 2]>> {
    days.iter()
        .map(|d| ((*d).to_owned(), vec![[open.to_owned(), close.to_owned()]]))
        .collect()
}

impl Hilo {
    /// Adds the commerce demo; call once, after `load_demo` and its events.
    pub async fn load_demo_commerce(&self) -> AppResult<()> {
        let commerce = self.commerce();
        let users = self
            .store
            .list_users(&PageRequest::parse(None, None)?)
            .await?;
        let admin = users
            .iter()
            .find(|u| u.role == Role::Admin)
            .ok_or_else(|| AppError::Internal("the demo has an admin".into()))?;
        let by = Principal::User {
            id: admin.id,
            email: admin.email.clone(),
            role: admin.role,
        };
        let week = ["mon", "tue", "wed", "thu", "fri", "sat"];
        let store =
            |name: &str, address: &str, lat: f64, lng: f64, zone: &str, prep: u32| LocationInput {
                name: name.into(),
                kind: LocationKind::Store,
                address: address.into(),
                point: Point { lat, lng },
                timezone: zone.into(),
                opening_hours: hours("10:00", "21:00", &week),
                offers: vec![Offer::Pickup, Offer::Returns],
                pickup_prep_minutes: prep,
                priority: 0,
            };
        let gran_via = commerce
            .create_location(store(
                "Madrid Gran Vía",
                "Gran Vía 32, 28013 Madrid",
                40.4200,
                -3.7058,
                "Europe/Madrid",
                30,
            ))
            .await?;
        let sol = commerce
            .create_location(store(
                "Madrid Sol",
                "Puerta del Sol 1, 28013 Madrid",
                40.4169,
                -3.7035,
                "Europe/Madrid",
                45,
            ))
            .await?;
        let barcelona = commerce
            .create_location(store(
                "Barcelona Passeig de Gràcia",
                "Passeig de Gràcia 55, 08007 Barcelona",
                41.3926,
                2.1640,
                "Europe/Madrid",
                30,
            ))
            .await?;
        let warehouse = commerce
            .create_location(LocationInput {
                name: "Almacén Getafe / Getafe warehouse".into(),
                kind: LocationKind::Warehouse,
                address: "Calle de la Logística 4, 28906 Getafe".into(),
                point: Point {
                    lat: 40.3057,
                    lng: -3.7329,
                },
                timezone: "Europe/Madrid".into(),
                opening_hours: BTreeMap::new(),
                offers: vec![Offer::Ship],
                pickup_prep_minutes: 0,
                priority: 10,
            })
            .await?;
        let eur = |cents: i64| {
            Money::new(
                cents,
                "EUR"
                    .parse()
                    .unwrap_or_else(|_| unreachable!("EUR is a code")),
            )
        };
        let variant = |sku: &str, cents: i64, size: Option<&str>| VariantInput {
            sku: sku.into(),
            prices: vec![eur(cents)],
            attributes: size
                .map(|s| BTreeMap::from([("talla".to_owned(), s.to_owned())]))
                .unwrap_or_default(),
            images: vec![],
        };
        let products = [
            (
                "Carrito de bebé Trío X",
                "Trio X stroller",
                "bebe",
                vec![variant("CARRITO-TRIO-X", 54_900, None)],
            ),
            (
                "Café orgánico 1 kg",
                "Organic coffee 1 kg",
                "alimentacion",
                vec![variant("CAFE-ORG-1KG", 1_590, None)],
            ),
            (
                "Zapatillas Runner",
                "Runner trainers",
                "calzado",
                vec![
                    variant("ZAP-RUN-42", 7_999, Some("42")),
                    variant("ZAP-RUN-43", 7_999, Some("43")),
                ],
            ),
        ];
        for (es, en, category, variants) in products {
            commerce
                .create_product(ProductInput {
                    name_es: es.into(),
                    name_en: en.into(),
                    description_es: String::new(),
                    description_en: String::new(),
                    categories: vec![category.into()],
                    variants,
                })
                .await?;
        }
        let stock = [
            ("CARRITO-TRIO-X", gran_via.id, 2),
            ("CARRITO-TRIO-X", warehouse.id, 12),
            ("CAFE-ORG-1KG", gran_via.id, 40),
            ("CAFE-ORG-1KG", sol.id, 25),
            ("CAFE-ORG-1KG", warehouse.id, 300),
            ("ZAP-RUN-42", gran_via.id, 3),
            ("ZAP-RUN-42", sol.id, 1),
            ("ZAP-RUN-43", barcelona.id, 4),
            ("ZAP-RUN-43", warehouse.id, 20),
        ];
        for (sku, location, on_hand) in stock {
            commerce
                .set_stock(
                    sku,
                    location,
                    StockChange {
                        on_hand: Some(on_hand),
                        reason: Reason::Counted,
                        safety: None,
                        note: "inventario inicial".into(),
                    },
                    &by,
                )
                .await?;
        }
        let user = |id: &str| {
            CustomerRef::Identifier(hilo_domain::customers::identity::Identifier {
                kind: hilo_domain::customers::identity::IdentifierType::user_id(),
                value: id.into(),
            })
        };
        // Lucía's cart, filled by voice; Ana's wish list.
        commerce
            .change_list(
                &user("cli-3003"),
                ListKind::Cart,
                "CAFE-ORG-1KG",
                LineChange::Add(2),
                "voice_assistant",
                &by,
            )
            .await?;
        commerce
            .change_list(
                &user("cli-1001"),
                ListKind::Wishlist,
                "ZAP-RUN-43",
                LineChange::Add(1),
                "app",
                &by,
            )
            .await?;
        let order = |customer: &str,
                     channel: OrderChannel,
                     sku: &str,
                     fulfillment: FulfillmentRequest| OrderRequest {
            customer: user(customer),
            channel,
            lines: Some(vec![LineRequest {
                sku: sku.into(),
                quantity: 1,
            }]),
            fulfillment,
            currency: None,
            payment: Some(json!({"provider": "demo", "reference": "DEMO-1", "status": "captured"})),
            staff: None,
            coupon_code: None,
            idempotency_key: None,
            request_digest: String::new(),
        };
        // Ana's trainers wait at the Gran Vía desk.
        let ana = commerce
            .place_order(
                order(
                    "cli-1001",
                    OrderChannel::Web,
                    "ZAP-RUN-42",
                    FulfillmentRequest::Pickup(gran_via.id),
                ),
                &by,
            )
            .await?
            .order;
        if let Some(fulfilment) = ana.record.fulfillments.first() {
            commerce
                .advance(ana.record.id, fulfilment.id, Step::Ready, "pos", &by)
                .await?;
        }
        // Carlos's coffee comes from the warehouse.
        commerce
            .place_order(
                order(
                    "cli-2002",
                    OrderChannel::CallCenter,
                    "CAFE-ORG-1KG",
                    FulfillmentRequest::Ship {
                        address: Box::new(ShipAddress {
                            name: "Carlos Ruiz".into(),
                            line1: "Calle de Alcalá 100".into(),
                            line2: String::new(),
                            city: "Madrid".into(),
                            postal_code: "28009".into(),
                            region: String::new(),
                            country: "ES".into(),
                            lat: Some(40.4237),
                            lng: Some(-3.6805),
                        }),
                        from: None,
                    },
                ),
                &by,
            )
            .await?;
        let promotion =
            |code: &str, name: &str, discount: Discount, new_only: bool| PromotionInput {
                name: name.into(),
                code: Some(code.into()),
                discount,
                min_spend: None,
                skus: vec![],
                categories: vec![],
                new_customers_only: new_only,
                max_redemptions: None,
                per_customer_limit: Some(1),
                starts_at: None,
                ends_at: None,
            };
        commerce
            .create_promotion(promotion(
                "BIENVENIDA10",
                "Bienvenida / Welcome",
                Discount::Percent(10),
                true,
            ))
            .await?;
        commerce
            .create_promotion(promotion(
                "CAFE5",
                "5 € en café / 5 € off coffee",
                Discount::Fixed(eur(500)),
                false,
            ))
            .await?;
        info!("commerce demo loaded");
        Ok(())
    }
}
