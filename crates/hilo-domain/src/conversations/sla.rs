//! Service levels: a first response and a resolution within so many minutes of a
//! conversation's start, counted in business hours when the business keeps them, in
//! its time zone (with its daylight saving). When each is due is decided here, from
//! values alone; the conversation keeps the times, so a breach is a comparison.

use std::collections::BTreeMap;

use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use crate::Invalid;
#[cfg(test)]
use crate::Timestamp;
pub use crate::hours::{Schedule, due_at};

/// Longest target, in minutes (ten weeks).
pub const MAX_MINUTES: u32 = 100_800;

/// The SLA settings as given.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaSettings {
    #[serde(default)]
    pub first_response_minutes: Option<u32>,
    #[serde(default)]
    pub resolution_minutes: Option<u32>,
    /// `None`: the clock runs all the time.
    #[serde(default)]
    pub business_hours: Option<BusinessHours>,
}

/// Opening hours in a time zone: `{"time_zone": "Europe/Madrid", "days": {"mon":
/// [["09:00", "14:00"], ["15:00", "18:00"]], …}}`; a day left out is closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BusinessHours {
    pub time_zone: String,
    pub days: BTreeMap<String, Vec<[String; 2]>>,
}

impl SlaSettings {
    /// Checks the targets and the hours; `zone` finds a time zone by its name.
    pub fn check(
        &self,
        zone: impl Fn(&str) -> Option<TimeZone>,
    ) -> Result<Option<Schedule>, Invalid> {
        for (field, minutes) in [
            ("first_response_minutes", self.first_response_minutes),
            ("resolution_minutes", self.resolution_minutes),
        ] {
            if minutes.is_some_and(|m| !(1..=MAX_MINUTES).contains(&m)) {
                return Err(Invalid::new(
                    field,
                    format!("must be from 1 to {MAX_MINUTES}"),
                ));
            }
        }
        self.business_hours
            .as_ref()
            .map(|hours| hours.schedule(zone))
            .transpose()
    }
}
impl BusinessHours {
    pub fn schedule(&self, zone: impl Fn(&str) -> Option<TimeZone>) -> Result<Schedule, Invalid> {
        Schedule::read(
            ("business_hours.time_zone", &self.time_zone),
            ("business_hours.days", &self.days),
            zone,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn madrid_office() -> Schedule {
        let hours = BusinessHours {
            time_zone: "Europe/Madrid".into(),
            days: ["mon", "tue", "wed", "thu", "fri"]
                .iter()
                .map(|d| {
                    (
                        (*d).to_owned(),
                        vec![
                            ["09:00".into(), "14:00".into()],
                            ["15:00".into(), "18:00".into()],
                        ],
                    )
                })
                .collect(),
        };
        hours
            .schedule(|name| TimeZone::get(name).ok())
            .expect("a schedule")
    }

    fn at(text: &str) -> Timestamp {
        let zoned: jiff::Zoned = text.parse().expect("a zoned time");
        Timestamp::from_millis(zoned.timestamp().as_millisecond())
    }

    #[test]
    fn the_clock_runs_in_business_hours_only() {
        let office = madrid_office();
        // Friday 17:30: half an hour on Friday, half on Monday.
        assert_eq!(
            due_at(at("2026-12-04T17:30[Europe/Madrid]"), 60, Some(&office)),
            at("2026-12-07T09:30[Europe/Madrid]")
        );
        // Lunch is not counted.
        assert_eq!(
            due_at(at("2026-12-07T13:30[Europe/Madrid]"), 60, Some(&office)),
            at("2026-12-07T15:30[Europe/Madrid]")
        );
        // Saturday: from Monday's opening.
        assert_eq!(
            due_at(at("2026-12-05T11:00[Europe/Madrid]"), 30, Some(&office)),
            at("2026-12-07T09:30[Europe/Madrid]")
        );
        // Without hours, the clock always runs.
        assert_eq!(
            due_at(at("2026-12-05T11:00[Europe/Madrid]"), 30, None),
            at("2026-12-05T11:30[Europe/Madrid]")
        );
        // Across the spring change of clocks, still 09:00 local.
        assert_eq!(
            due_at(at("2027-03-26T17:30[Europe/Madrid]"), 60, Some(&office)),
            at("2027-03-29T09:30[Europe/Madrid]")
        );
    }

    #[test]
    fn settings_are_checked() {
        let zone = |name: &str| TimeZone::get(name).ok();
        let mut settings = SlaSettings {
            first_response_minutes: Some(0),
            ..SlaSettings::default()
        };
        assert_eq!(
            settings.check(zone).unwrap_err().field,
            "first_response_minutes"
        );
        settings.first_response_minutes = Some(30);
        settings.business_hours = Some(BusinessHours {
            time_zone: "Mars/Olympus".into(),
            days: BTreeMap::new(),
        });
        assert_eq!(
            settings.check(zone).unwrap_err().field,
            "business_hours.time_zone"
        );
        settings.business_hours = Some(BusinessHours {
            time_zone: "Europe/Madrid".into(),
            days: BTreeMap::from([("mon".into(), vec![["18:00".into(), "09:00".into()]])]),
        });
        assert_eq!(
            settings.check(zone).unwrap_err().field,
            "business_hours.days.mon"
        );
    }
}
