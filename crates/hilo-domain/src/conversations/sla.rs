//! Service levels: a first response and a resolution within so many minutes of a
//! conversation's start, counted in business hours when the business keeps them, in
//! its time zone (with its daylight saving). When each is due is decided here, from
//! values alone; the conversation keeps the times, so a breach is a comparison.

use std::collections::BTreeMap;

use jiff::civil::Weekday;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use crate::{Invalid, Timestamp};

/// Longest target, in minutes (ten weeks).
pub const MAX_MINUTES: u32 = 100_800;
const DAYS: [(&str, Weekday); 7] = [
    ("mon", Weekday::Monday),
    ("tue", Weekday::Tuesday),
    ("wed", Weekday::Wednesday),
    ("thu", Weekday::Thursday),
    ("fri", Weekday::Friday),
    ("sat", Weekday::Saturday),
    ("sun", Weekday::Sunday),
];

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

/// Business hours read: minutes after midnight, per weekday (Monday first).
#[derive(Debug, Clone)]
pub struct Schedule {
    time_zone: TimeZone,
    days: [Vec<(i32, i32)>; 7],
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

fn minute_of(text: &str) -> Option<i32> {
    let (h, m) = text.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
    ((0..=24).contains(&h) && (0..60).contains(&m) && h * 60 + m <= 24 * 60).then_some(h * 60 + m)
}

impl BusinessHours {
    pub fn schedule(&self, zone: impl Fn(&str) -> Option<TimeZone>) -> Result<Schedule, Invalid> {
        let time_zone = zone(&self.time_zone).ok_or_else(|| {
            Invalid::new(
                "business_hours.time_zone",
                "is not a time zone: use an IANA name such as Europe/Madrid",
            )
        })?;
        let mut days: [Vec<(i32, i32)>; 7] = Default::default();
        for (name, intervals) in &self.days {
            let field = format!("business_hours.days.{name}");
            let Some(index) = DAYS.iter().position(|(d, _)| d == name) else {
                return Err(Invalid::new(
                    "business_hours.days",
                    "days are mon, tue, wed, thu, fri, sat and sun",
                ));
            };
            if intervals.len() > 4 {
                return Err(Invalid::new(field, "at most 4 intervals a day"));
            }
            let mut read = Vec::new();
            for [from, to] in intervals {
                match (minute_of(from), minute_of(to)) {
                    (Some(from), Some(to)) if from < to => read.push((from, to)),
                    _ => {
                        return Err(Invalid::new(
                            field,
                            "each interval is [\"HH:MM\", \"HH:MM\"], the first before the second",
                        ));
                    }
                }
            }
            read.sort_unstable();
            if read.windows(2).any(|w| w[0].1 > w[1].0) {
                return Err(Invalid::new(field, "intervals must not overlap"));
            }
            days[index] = read;
        }
        if days.iter().all(Vec::is_empty) {
            return Err(Invalid::new(
                "business_hours.days",
                "must open on at least one day",
            ));
        }
        Ok(Schedule { time_zone, days })
    }
}

/// When a target of `minutes` set at `start` is due: that many minutes later, or that
/// many minutes of business hours later when there is a schedule.
pub fn due_at(start: Timestamp, minutes: u32, schedule: Option<&Schedule>) -> Timestamp {
    let wanted = i64::from(minutes) * 60_000;
    let Some(schedule) = schedule else {
        return start.plus_millis(wanted);
    };
    let mut left = wanted;
    let Ok(at) = jiff::Timestamp::from_millisecond(start.millis()) else {
        return start.plus_millis(wanted);
    };
    let mut day = at.to_zoned(schedule.time_zone.clone()).date();
    // Ten weeks of minutes need at most ten weeks and a day of calendar.
    for _ in 0..(7 * 11 + 1) {
        let index = DAYS
            .iter()
            .position(|(_, d)| *d == day.weekday())
            .unwrap_or(0);
        for &(from, to) in &schedule.days[index] {
            let (Some(open), Some(close)) =
                (instant(schedule, day, from), instant(schedule, day, to))
            else {
                continue;
            };
            let begin = open.max(start.millis());
            if begin >= close {
                continue;
            }
            if close - begin >= left {
                return Timestamp::from_millis(begin + left);
            }
            left -= close - begin;
        }
        let Ok(next) = day.tomorrow() else { break };
        day = next;
    }
    start.plus_millis(wanted)
}

/// The instant a minute of a local day is, in Unix milliseconds (24:00 is the next
/// day's midnight; a time skipped by daylight saving is read as the clocks read it).
fn instant(schedule: &Schedule, day: jiff::civil::Date, minute: i32) -> Option<i64> {
    let (day, minute) = if minute == 24 * 60 {
        (day.tomorrow().ok()?, 0)
    } else {
        (day, minute)
    };
    let time = jiff::civil::Time::new(
        i8::try_from(minute / 60).ok()?,
        i8::try_from(minute % 60).ok()?,
        0,
        0,
    )
    .ok()?;
    let zoned = day
        .to_datetime(time)
        .to_zoned(schedule.time_zone.clone())
        .ok()?;
    Some(zoned.timestamp().as_millisecond())
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
