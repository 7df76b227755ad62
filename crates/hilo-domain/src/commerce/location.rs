//! Locations: stores and warehouses, where they are and what they offer, and how far a
//! customer is from each.

use std::collections::BTreeMap;
use std::str::FromStr;

use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use super::catalogue::check_text;
use crate::Invalid;
use crate::hours::Schedule;

/// Longest preparation time, in minutes (a week).
pub const MAX_PREP_MINUTES: u32 = 10_080;

/// A location as given.
#[derive(Debug, Clone, PartialEq)]
pub struct LocationInput {
    pub name: String,
    pub kind: LocationKind,
    pub address: String,
    pub point: Point,
    pub timezone: String,
    /// `{"mon": [["09:00", "21:00"]], …}`; empty: always open.
    pub opening_hours: BTreeMap<String, Vec<[String; 2]>>,
    pub offers: Vec<Offer>,
    pub pickup_prep_minutes: u32,
    pub priority: i64,
}

impl LocationInput {
    /// Checks the input and reads its opening hours (`None`: always open); `zone` finds
    /// a time zone by its name. Offers come back sorted, each once.
    pub fn check(
        mut self,
        zone: impl Fn(&str) -> Option<TimeZone>,
    ) -> Result<(Self, Option<Schedule>), Invalid> {
        self.name = check_text("name", &self.name, 200, true)?;
        self.address = check_text("address", &self.address, 500, false)?;
        if self.pickup_prep_minutes > MAX_PREP_MINUTES {
            return Err(Invalid::new(
                "pickup_prep_minutes",
                format!("must be from 0 to {MAX_PREP_MINUTES}"),
            ));
        }
        if !(-1_000..=1_000).contains(&self.priority) {
            return Err(Invalid::new("priority", "must be from -1000 to 1000"));
        }
        if zone(&self.timezone).is_none() {
            return Err(Invalid::new(
                "timezone",
                "is not a time zone: use an IANA name such as Europe/Madrid",
            ));
        }
        let schedule = if self.opening_hours.is_empty() {
            None
        } else {
            Some(Schedule::read(
                ("timezone", &self.timezone),
                ("opening_hours", &self.opening_hours),
                zone,
            )?)
        };
        self.offers.sort_unstable();
        self.offers.dedup();
        Ok((self, schedule))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LocationKind {
    Store,
    Warehouse,
}

impl LocationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Store => "store",
            Self::Warehouse => "warehouse",
        }
    }
}

impl FromStr for LocationKind {
    type Err = Invalid;

    fn from_str(text: &str) -> Result<Self, Invalid> {
        match text {
            "store" => Ok(Self::Store),
            "warehouse" => Ok(Self::Warehouse),
            _ => Err(Invalid::new("kind", "must be store or warehouse")),
        }
    }
}

/// What a location does for customers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Offer {
    /// Orders are collected here.
    Pickup,
    /// Orders are shipped from here.
    Ship,
    /// Returns are taken here.
    Returns,
}

impl Offer {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pickup => "pickup",
            Self::Ship => "ship",
            Self::Returns => "returns",
        }
    }
}

impl FromStr for Offer {
    type Err = Invalid;

    fn from_str(text: &str) -> Result<Self, Invalid> {
        match text {
            "pickup" => Ok(Self::Pickup),
            "ship" => Ok(Self::Ship),
            "returns" => Ok(Self::Returns),
            _ => Err(Invalid::new(
                "offers",
                "each must be pickup, ship or returns",
            )),
        }
    }
}

/// A point on Earth in degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub lat: f64,
    pub lng: f64,
}

impl Point {
    /// A point checked: latitude within ±90, longitude within ±180, both finite.
    pub fn new(lat: f64, lng: f64) -> Result<Self, Invalid> {
        if !(lat.is_finite() && (-90.0..=90.0).contains(&lat)) {
            return Err(Invalid::new("lat", "must be from -90 to 90"));
        }
        if !(lng.is_finite() && (-180.0..=180.0).contains(&lng)) {
            return Err(Invalid::new("lng", "must be from -180 to 180"));
        }
        Ok(Self { lat, lng })
    }

    /// The great-circle distance to `other` in kilometres (haversine, on a sphere of
    /// Earth's mean radius: within 0.5% of the true distance, plenty to rank stores).
    pub fn distance_km(&self, other: &Point) -> f64 {
        const EARTH_KM: f64 = 6_371.008_8;
        let (lat1, lat2) = (self.lat.to_radians(), other.lat.to_radians());
        let dlat = lat2 - lat1;
        let dlng = (other.lng - self.lng).to_radians();
        let h = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlng / 2.0).sin().powi(2);
        2.0 * EARTH_KM * h.sqrt().min(1.0).asin()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn distances_between_known_places() {
        let sol = Point::new(40.416_9, -3.703_5).unwrap(); // Madrid, Puerta del Sol
        let gran_via = Point::new(40.420_0, -3.705_8).unwrap();
        let barcelona = Point::new(41.387_4, 2.168_6).unwrap();
        assert!((sol.distance_km(&gran_via) - 0.39).abs() < 0.05);
        assert!((sol.distance_km(&barcelona) - 505.0).abs() < 5.0);
        assert_eq!(sol.distance_km(&sol), 0.0);
    }

    #[test]
    fn coordinates_and_names_are_checked() {
        assert_eq!(Point::new(91.0, 0.0).unwrap_err().field, "lat");
        assert_eq!(Point::new(0.0, f64::NAN).unwrap_err().field, "lng");
        assert_eq!(
            "store".parse::<LocationKind>().unwrap(),
            LocationKind::Store
        );
        assert!("shop".parse::<LocationKind>().is_err());
        assert_eq!("returns".parse::<Offer>().unwrap(), Offer::Returns);
    }

    proptest! {
        #[test]
        fn distance_is_symmetric_and_bounded(
            a in (-90.0f64..=90.0, -180.0f64..=180.0),
            b in (-90.0f64..=90.0, -180.0f64..=180.0),
        ) {
            let (a, b) = (Point::new(a.0, a.1).unwrap(), Point::new(b.0, b.1).unwrap());
            let d = a.distance_km(&b);
            prop_assert!((d - b.distance_km(&a)).abs() < 1e-6);
            prop_assert!((0.0..=20_016.0).contains(&d));
        }
    }
}
