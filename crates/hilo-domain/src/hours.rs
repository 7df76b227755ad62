//! Opening hours in a time zone (with its daylight saving), and time counted within
//! them: a service level's minutes of business hours, a store's preparation time before
//! an order can be collected. Values alone; the caller brings the time zone database.

use std::collections::BTreeMap;

use jiff::civil::Weekday;
use jiff::tz::TimeZone;

use crate::{Invalid, Timestamp};

const DAYS: [(&str, Weekday); 7] = [
    ("mon", Weekday::Monday),
    ("tue", Weekday::Tuesday),
    ("wed", Weekday::Wednesday),
    ("thu", Weekday::Thursday),
    ("fri", Weekday::Friday),
    ("sat", Weekday::Saturday),
    ("sun", Weekday::Sunday),
];

/// Opening hours read: minutes after midnight, per weekday (Monday first).
#[derive(Debug, Clone)]
pub struct Schedule {
    time_zone: TimeZone,
    days: [Vec<(i32, i32)>; 7],
}

fn minute_of(text: &str) -> Option<i32> {
    let (h, m) = text.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
    ((0..=24).contains(&h) && (0..60).contains(&m) && h * 60 + m <= 24 * 60).then_some(h * 60 + m)
}

impl Schedule {
    /// Reads opening hours: `days` maps mon…sun to at most four `["HH:MM", "HH:MM"]`
    /// intervals (a day left out is closed) in the time zone named `time_zone`; errors
    /// name `zone_field` or `days_field` (with the day).
    pub fn read(
        (zone_field, time_zone): (&str, &str),
        (days_field, given): (&str, &BTreeMap<String, Vec<[String; 2]>>),
        zone: impl Fn(&str) -> Option<TimeZone>,
    ) -> Result<Self, Invalid> {
        let time_zone = zone(time_zone).ok_or_else(|| {
            Invalid::new(
                zone_field,
                "is not a time zone: use an IANA name such as Europe/Madrid",
            )
        })?;
        let mut days: [Vec<(i32, i32)>; 7] = Default::default();
        for (name, intervals) in given {
            let field = format!("{days_field}.{name}");
            let Some(index) = DAYS.iter().position(|(d, _)| d == name) else {
                return Err(Invalid::new(
                    days_field,
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
            return Err(Invalid::new(days_field, "must open on at least one day"));
        }
        Ok(Schedule { time_zone, days })
    }
}

/// When `minutes` counted from `start` end: that many minutes later, or that many
/// minutes within the opening hours when there is a schedule.
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

    #[test]
    fn a_preparation_time_waits_for_the_store_to_open() {
        let days = BTreeMap::from([("mon".to_owned(), vec![["10:00".into(), "21:00".into()]])]);
        let store = Schedule::read(
            ("timezone", "Europe/Madrid"),
            ("opening_hours", &days),
            |n| TimeZone::get(n).ok(),
        )
        .unwrap();
        let at = |text: &str| {
            let zoned: jiff::Zoned = text.parse().unwrap();
            Timestamp::from_millis(zoned.timestamp().as_millisecond())
        };
        // Monday 20:30 plus an hour: half an hour today, half next Monday.
        assert_eq!(
            due_at(at("2026-12-07T20:30[Europe/Madrid]"), 60, Some(&store)),
            at("2026-12-14T10:30[Europe/Madrid]")
        );
        let closed = BTreeMap::from([("sun".to_owned(), vec![])]);
        let err = Schedule::read(
            ("timezone", "Europe/Madrid"),
            ("opening_hours", &closed),
            |n| TimeZone::get(n).ok(),
        )
        .unwrap_err();
        assert_eq!(err.field, "opening_hours");
    }
}
