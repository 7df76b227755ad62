//! Instants, stored as Unix milliseconds and shown as RFC 3339 UTC.

use std::fmt;

use crate::Invalid;

/// Milliseconds since the Unix epoch, UTC. Stored as a BIGINT on every engine, so
/// instants sort and compare the same everywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    pub const fn from_millis(millis: i64) -> Self {
        Self(millis)
    }

    pub fn millis(self) -> i64 {
        self.0
    }

    pub fn plus_millis(self, millis: i64) -> Self {
        Self(self.0.saturating_add(millis))
    }

    /// RFC 3339 in UTC with millisecond precision, e.g. `2026-11-23T13:19:00.000Z`.
    pub fn to_rfc3339(self) -> String {
        let millis = self.0.rem_euclid(1000);
        let seconds = self.0.div_euclid(1000);
        let days = seconds.div_euclid(86_400);
        let second_of_day = seconds.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        if !(0..=9999).contains(&year) {
            return formatted(self);
        }
        // Written digit by digit: every stored message carries two of these, and the
        // formatting machinery cost more than the rest of its parsing together.
        let mut text = String::with_capacity(24);
        push_digits(&mut text, year, 4);
        text.push('-');
        push_digits(&mut text, month, 2);
        text.push('-');
        push_digits(&mut text, day, 2);
        text.push('T');
        push_digits(&mut text, second_of_day / 3600, 2);
        text.push(':');
        push_digits(&mut text, (second_of_day % 3600) / 60, 2);
        text.push(':');
        push_digits(&mut text, second_of_day % 60, 2);
        text.push('.');
        push_digits(&mut text, millis, 3);
        text.push('Z');
        text
    }
}

impl Timestamp {
    /// Parses an RFC 3339 / ISO 8601 instant: `2026-11-23T12:00:00Z`,
    /// `2026-11-23T13:00:00.123+01:00`, `2026-11-23 12:00:00.123456+0000`. An instant
    /// without an offset is read as UTC, as Segment's own API does.
    pub fn parse_rfc3339(text: &str) -> Result<Self, Invalid> {
        parse(text.trim()).ok_or_else(|| {
            Invalid::new(
                "timestamp",
                "must be an ISO 8601 date-time such as 2026-11-23T12:00:00.000Z",
            )
        })
    }
}

fn parse(text: &str) -> Option<Timestamp> {
    let bytes = text.as_bytes();
    let digits = |from: usize, len: usize| -> Option<i64> {
        let slice = bytes.get(from..from + len)?;
        slice.iter().try_fold(0i64, |acc, b| {
            b.is_ascii_digit().then(|| acc * 10 + i64::from(b - b'0'))
        })
    };
    let year = digits(0, 4)?;
    let month = digits(5, 2)?;
    let day = digits(8, 2)?;
    if bytes.get(4) != Some(&b'-') || bytes.get(7) != Some(&b'-') {
        return None;
    }
    if !matches!(bytes.get(10), Some(b'T' | b't' | b' ')) {
        return None;
    }
    let hour = digits(11, 2)?;
    let minute = digits(14, 2)?;
    if bytes.get(13) != Some(&b':') {
        return None;
    }
    let (second, mut index) = if bytes.get(16) == Some(&b':') {
        (digits(17, 2)?, 19)
    } else {
        (0, 16)
    };
    let mut millis = 0i64;
    if bytes.get(index) == Some(&b'.') || bytes.get(index) == Some(&b',') {
        index += 1;
        let start = index;
        while bytes.get(index).is_some_and(u8::is_ascii_digit) {
            if index - start < 3 {
                millis = millis * 10 + i64::from(bytes[index] - b'0');
            }
            index += 1;
        }
        let taken = index - start;
        if taken == 0 {
            return None;
        }
        for _ in taken..3 {
            millis *= 10;
        }
    }
    let offset_minutes = match bytes.get(index) {
        None => 0,
        Some(b'Z' | b'z') if index + 1 == bytes.len() => 0,
        Some(sign @ (b'+' | b'-')) => {
            let hours = digits(index + 1, 2)?;
            let (minutes, end) = if bytes.get(index + 3) == Some(&b':') {
                (digits(index + 4, 2)?, index + 6)
            } else if index + 3 == bytes.len() {
                (0, index + 3)
            } else {
                (digits(index + 3, 2)?, index + 5)
            };
            if end != bytes.len() || hours > 23 || minutes > 59 {
                return None;
            }
            let total = hours * 60 + minutes;
            if *sign == b'-' { -total } else { total }
        }
        Some(_) => return None,
    };
    let valid = (1..=12).contains(&month)
        && (1..=days_in_month(year, month)).contains(&day)
        && hour < 24
        && minute < 60
        && second < 61;
    if !valid {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second.min(59) - offset_minutes * 60;
    Some(Timestamp(seconds * 1000 + millis))
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month_index = if month > 2 { month - 3 } else { month + 9 };
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// [`Timestamp::to_rfc3339`] through `format!`, for years outside 0–9999.
fn formatted(at: Timestamp) -> String {
    let millis = at.0.rem_euclid(1000);
    let seconds = at.0.div_euclid(1000);
    let second_of_day = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(seconds.div_euclid(86_400));
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        second_of_day / 3600,
        (second_of_day % 3600) / 60,
        second_of_day % 60
    )
}

/// `value` (0 ≤ value < 10^width) in exactly `width` decimal digits.
fn push_digits(text: &mut String, value: i64, width: u32) {
    for place in (0..width).rev() {
        let digit = (value / 10_i64.pow(place)) % 10;
        text.push(char::from(b'0' + digit as u8));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn written_digit_by_digit_as_format_writes_it(
            // Years 0 to 9999, and past both ends.
            millis in -62_200_000_000_000i64..253_500_000_000_000,
        ) {
            let at = Timestamp::from_millis(millis);
            proptest::prop_assert_eq!(at.to_rfc3339(), formatted(at));
        }
    }

    #[test]
    fn parses_the_forms_sdks_send() {
        let noon = 1_795_435_200_000;
        for (text, millis) in [
            ("2026-11-23T12:00:00Z", noon),
            ("2026-11-23T12:00:00.000Z", noon),
            ("2026-11-23T12:00:00.5Z", noon + 500),
            ("2026-11-23T12:00:00.123456+00:00", noon + 123),
            ("2026-11-23T13:00:00+01:00", noon),
            ("2026-11-23T07:00:00-0500", noon),
            ("2026-11-23 12:00:00", noon),
            ("2026-11-23T12:00Z", noon),
            ("1969-12-31T23:59:59.999Z", -1),
        ] {
            assert_eq!(
                Timestamp::parse_rfc3339(text).map(Timestamp::millis),
                Ok(millis),
                "{text}"
            );
        }
        for bad in [
            "",
            "yesterday",
            "2026-13-01T00:00:00Z",
            "2026-02-30T00:00:00Z",
            "2026-11-23T25:00:00Z",
            "2026-11-23T12:00:00+25:00",
            "2026-11-23T12:00:00Zjunk",
            "2026-11-23T12:00:00.Z",
        ] {
            assert!(Timestamp::parse_rfc3339(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn parsing_inverts_formatting() {
        for millis in [
            0,
            951_782_400_123,
            1_795_435_200_000,
            -86_400_001,
            4_102_444_799_999,
        ] {
            let text = Timestamp::from_millis(millis).to_rfc3339();
            assert_eq!(
                Timestamp::parse_rfc3339(&text).map(Timestamp::millis),
                Ok(millis)
            );
        }
    }

    #[test]
    fn formats_known_instants() {
        assert_eq!(
            Timestamp::from_millis(0).to_rfc3339(),
            "1970-01-01T00:00:00.000Z"
        );
        assert_eq!(
            Timestamp::from_millis(951_782_400_123).to_rfc3339(),
            "2000-02-29T00:00:00.123Z"
        );
        assert_eq!(
            Timestamp::from_millis(1_795_435_200_000).to_rfc3339(),
            "2026-11-23T12:00:00.000Z"
        );
        assert_eq!(
            Timestamp::from_millis(-1).to_rfc3339(),
            "1969-12-31T23:59:59.999Z"
        );
    }
}
