//! Dates and times: when an incident happened (with its precision), when a source
//! published, and the points in time that queries name.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// How precisely an incident's date is known: the view document's type, so the domain and
/// the `chronicle.views/1` schema cannot drift apart.
pub use chronicle_plugin_sdk::view::DatePrecision;

/// When an incident happened, as precisely as it is known: a span of days with a precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IncidentDate {
    /// The first day it may have happened on.
    pub start: NaiveDate,
    /// The last day it may have happened on (`start <= end`).
    pub end: NaiveDate,
    /// How it was given.
    pub precision: DatePrecision,
}

/// Why a date or time was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TimeError(String);

const DATE_FORMS: &str = "a date is `2020-07-30` (day), `2020-W29` (ISO week), `2020-07` (month), `2020` (year) or `2020-07-14/2020-07-16` (a span of days)";

/// A calendar day, `YYYY-MM-DD` exactly (`2020-02-30` is refused: "not a calendar date").
/// The day flags of the reads (`--from`, `--to`) and the days inside incident dates.
pub fn parse_day(s: &str) -> Result<NaiveDate, TimeError> {
    let b = s.as_bytes();
    let shape_ok = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape_ok {
        return Err(TimeError(format!(
            "{s:?} is not a calendar date (YYYY-MM-DD)"
        )));
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| TimeError(format!("{s:?} is not a calendar date (YYYY-MM-DD)")))
}

impl IncidentDate {
    /// A single day.
    pub fn day(date: NaiveDate) -> Self {
        IncidentDate {
            start: date,
            end: date,
            precision: DatePrecision::Day,
        }
    }
}

impl FromStr for IncidentDate {
    type Err = TimeError;

    fn from_str(text: &str) -> Result<Self, TimeError> {
        let t = text.trim();
        let fail = |why: String| TimeError(format!("{why}; {DATE_FORMS}"));
        if let Some((a, b)) = t.split_once('/') {
            let (start, end) = (
                parse_day(a).map_err(|e| fail(e.0))?,
                parse_day(b).map_err(|e| fail(e.0))?,
            );
            if start > end {
                return Err(fail(format!("the span {t} ends before it starts")));
            }
            return Ok(IncidentDate {
                start,
                end,
                precision: DatePrecision::Range,
            });
        }
        if let Some((y, w)) = t.split_once("-W") {
            let year: i32 = y
                .parse()
                .map_err(|_| fail(format!("{t:?} has no valid year")))?;
            let week: u32 = w
                .parse()
                .map_err(|_| fail(format!("{t:?} has no valid week")))?;
            let start = NaiveDate::from_isoywd_opt(year, week, chrono::Weekday::Mon)
                .ok_or_else(|| fail(format!("{t:?}: year {year} has no ISO week {week}")))?;
            return Ok(IncidentDate {
                start,
                end: start + Duration::days(6),
                precision: DatePrecision::Week,
            });
        }
        let parts: Vec<&str> = t.split('-').collect();
        let year = |s: &str| -> Result<i32, TimeError> {
            if s.len() == 4 && s.bytes().all(|b| b.is_ascii_digit()) {
                s.parse()
                    .map_err(|_| fail(format!("{t:?} has no valid year")))
            } else {
                Err(fail(format!("{t:?} is not a date")))
            }
        };
        match parts.as_slice() {
            [y] => {
                let y = year(y)?;
                let (Some(start), Some(end)) = (
                    NaiveDate::from_ymd_opt(y, 1, 1),
                    NaiveDate::from_ymd_opt(y, 12, 31),
                ) else {
                    return Err(fail(format!("{t:?} is out of range")));
                };
                Ok(IncidentDate {
                    start,
                    end,
                    precision: DatePrecision::Year,
                })
            }
            [y, m] => {
                let y = year(y)?;
                let m: u32 = m
                    .parse()
                    .ok()
                    .filter(|m| (1..=12).contains(m) && parts[1].len() == 2)
                    .ok_or_else(|| fail(format!("{t:?} has no valid month")))?;
                let start = NaiveDate::from_ymd_opt(y, m, 1)
                    .ok_or_else(|| fail(format!("{t:?} is out of range")))?;
                let next = if m == 12 {
                    NaiveDate::from_ymd_opt(y + 1, 1, 1)
                } else {
                    NaiveDate::from_ymd_opt(y, m + 1, 1)
                };
                let end = next
                    .and_then(|d| d.pred_opt())
                    .ok_or_else(|| fail(format!("{t:?} is out of range")))?;
                Ok(IncidentDate {
                    start,
                    end,
                    precision: DatePrecision::Month,
                })
            }
            [_, _, _] => Ok(IncidentDate::day(parse_day(t).map_err(|e| fail(e.0))?)),
            _ => Err(fail(format!("{t:?} is not a date"))),
        }
    }
}

/// The canonical text form, which parses back to the same value.
impl fmt::Display for IncidentDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.precision {
            // A date's Display is its `%Y-%m-%d` (see the test `a_dates_display_is_its_iso_day`),
            // without parsing a format string for every date a rebuild writes.
            DatePrecision::Day => write!(f, "{}", self.start),
            DatePrecision::Week => {
                let w = self.start.iso_week();
                write!(f, "{}-W{:02}", w.year(), w.week())
            }
            DatePrecision::Month => write!(f, "{}", self.start.format("%Y-%m")),
            DatePrecision::Year => write!(f, "{}", self.start.format("%Y")),
            DatePrecision::Range => write!(f, "{}/{}", self.start, self.end),
        }
    }
}

impl IncidentDate {
    /// The date as people write it: `30 July 2020`, `July 2020`, `week 29 of 2020`, `14-16 July 2020`.
    pub fn prose(&self) -> String {
        match self.precision {
            DatePrecision::Day => self.start.format("%-d %B %Y").to_string(),
            DatePrecision::Week => {
                let w = self.start.iso_week();
                format!("week {} of {}", w.week(), w.year())
            }
            DatePrecision::Month => self.start.format("%B %Y").to_string(),
            DatePrecision::Year => self.start.format("%Y").to_string(),
            DatePrecision::Range => {
                if self.start.year() == self.end.year() && self.start.month() == self.end.month() {
                    format!(
                        "{}-{}",
                        self.start.format("%-d"),
                        self.end.format("%-d %B %Y")
                    )
                } else {
                    format!(
                        "{} - {}",
                        self.start.format("%-d %B %Y"),
                        self.end.format("%-d %B %Y")
                    )
                }
            }
        }
    }
}

macro_rules! string_serde {
    ($ty:ty, $expecting:expr) => {
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl serde::de::Visitor<'_> for V {
                    type Value = $ty;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<$ty, E> {
                        v.parse().map_err(E::custom)
                    }
                }
                d.deserialize_str(V)
            }
        }
    };
}

string_serde!(IncidentDate, "a date string such as \"2020-07-30\"");
string_serde!(
    Published,
    "a date (\"2020-07-30\") or an RFC 3339 time (\"2020-07-30T14:00:00Z\")"
);

/// When a source published a claim: a day, or an exact moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Published {
    /// Only the day is known.
    Day(NaiveDate),
    /// The moment, in UTC.
    At(DateTime<Utc>),
}

impl Published {
    /// The earliest moment the claim can have been public: the start of the day for a bare date.
    pub fn earliest(&self) -> DateTime<Utc> {
        match *self {
            Published::Day(d) => d.and_time(NaiveTime::MIN).and_utc(),
            Published::At(t) => t,
        }
    }
}

impl PartialOrd for Published {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Published {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.earliest()
            .cmp(&other.earliest())
            .then_with(|| self.to_string().cmp(&other.to_string()))
    }
}

impl FromStr for Published {
    type Err = TimeError;
    fn from_str(s: &str) -> Result<Self, TimeError> {
        let s = s.trim();
        if let Ok(d) = parse_day(s) {
            return Ok(Published::Day(d));
        }
        DateTime::parse_from_rfc3339(s)
            .map(|t| Published::At(t.with_timezone(&Utc)))
            .map_err(|_| {
                TimeError(format!(
                    "{s:?} is neither a date (2020-07-30) nor an RFC 3339 time (2020-07-30T14:00:00Z)"
                ))
            })
    }
}

impl fmt::Display for Published {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Published::Day(d) => write!(f, "{d}"),
            Published::At(t) => f.write_str(&t.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
        }
    }
}

/// Parses a query's point in time: an RFC 3339 time, or a bare date meaning the **end** of
/// that day in UTC (so `--as-of 2020-07-30` includes everything recorded on the 30th).
pub fn parse_time_point(s: &str) -> Result<DateTime<Utc>, TimeError> {
    let s = s.trim();
    if let Ok(d) = parse_day(s) {
        let end = NaiveTime::from_hms_micro_opt(23, 59, 59, 999_999)
            .ok_or_else(|| TimeError("internal: bad end of day".into()))?;
        return Ok(d.and_time(end).and_utc());
    }
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            TimeError(format!(
                "{s:?} is not a time: give a date (2020-07-30, meaning the end of that day, UTC) or an RFC 3339 time (2020-07-30T14:00:00Z)"
            ))
        })
}

/// The fixed-width text form of recorded times: `2026-11-25T16:02:13.123456Z`.
/// Fixed width makes text order equal time order, in SQL too.
pub fn format_recorded(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// Reads a recorded time written by [`format_recorded`].
pub fn parse_recorded(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_dates_display_is_its_iso_day() {
        // The views and the JSON document write dates with Display; it must stay the
        // `%Y-%m-%d` they were written with, at every year chrono holds.
        for year in [-10_000, -1, 0, 1, 999, 1900, 2020, 9999, 10_000, 262_000] {
            for (month, day) in [(1, 1), (2, 28), (12, 31)] {
                let d = NaiveDate::from_ymd_opt(year, month, day).unwrap();
                assert_eq!(d.to_string(), d.format("%Y-%m-%d").to_string(), "{year}");
            }
        }
    }

    #[test]
    fn incident_date_forms() {
        for (text, start, end, prec) in [
            ("2020-07-30", "2020-07-30", "2020-07-30", DatePrecision::Day),
            ("2020-07", "2020-07-01", "2020-07-31", DatePrecision::Month),
            ("2020-02", "2020-02-01", "2020-02-29", DatePrecision::Month),
            ("2020-12", "2020-12-01", "2020-12-31", DatePrecision::Month),
            ("2020", "2020-01-01", "2020-12-31", DatePrecision::Year),
            ("2020-W29", "2020-07-13", "2020-07-19", DatePrecision::Week),
            (
                "2020-07-14/2020-07-16",
                "2020-07-14",
                "2020-07-16",
                DatePrecision::Range,
            ),
        ] {
            let d: IncidentDate = text.parse().unwrap();
            assert_eq!(d.start.to_string(), start, "{text}");
            assert_eq!(d.end.to_string(), end, "{text}");
            assert_eq!(d.precision, prec);
            assert_eq!(d.to_string(), text);
        }
    }

    #[test]
    fn refuses_unreal_dates() {
        for bad in [
            "2020-02-30",
            "2021-02-29",
            "2020-13",
            "2020-7",
            "20-07-01",
            "July 2020",
            "2020-07-16/2020-07-14",
            "2020-W54",
            "",
        ] {
            let err = bad.parse::<IncidentDate>().unwrap_err().to_string();
            assert!(err.contains("a date is"), "{bad}: {err}");
        }
    }

    #[test]
    fn prose() {
        let p = |s: &str| s.parse::<IncidentDate>().unwrap().prose();
        assert_eq!(p("2020-07-08"), "8 July 2020");
        assert_eq!(p("2020-07"), "July 2020");
        assert_eq!(p("2020-07-14/2020-07-16"), "14-16 July 2020");
    }

    #[test]
    fn time_points() {
        assert_eq!(
            format_recorded(parse_time_point("2020-07-30").unwrap()),
            "2020-07-30T23:59:59.999999Z"
        );
        assert_eq!(
            format_recorded(parse_time_point("2020-07-30T14:00:00+02:00").unwrap()),
            "2020-07-30T12:00:00.000000Z"
        );
        assert!(parse_time_point("yesterday").is_err());
    }

    #[test]
    fn published_orders_by_earliest_moment() {
        let a: Published = "2020-07-30".parse().unwrap();
        let b: Published = "2020-07-30T10:00:00Z".parse().unwrap();
        assert!(a < b);
        assert_eq!(b.to_string(), "2020-07-30T10:00:00Z");
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(s in ".{0,30}") {
            let _ = s.parse::<IncidentDate>();
            let _ = s.parse::<Published>();
            let _ = parse_time_point(&s);
        }
    }
}
