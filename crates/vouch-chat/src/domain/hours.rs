//! A widget's business hours: opening ranges per weekday in an IANA time zone, checked on save and
//! asked "open now?" on every config request.
//!
//! Time zones come from `jiff` (its zone rules follow the system's tz database, with a copy of
//! the IANA database built in for machines that have none): a named zone, not a fixed offset, so
//! opening hours follow daylight-saving changes.

use std::collections::BTreeMap;

use serde_json::Value;

/// Most opening ranges one day may have.
pub const MAX_RANGES_PER_DAY: usize = 12;
/// Longest offline message, in characters.
pub const MAX_OFFLINE_MESSAGE: usize = 1000;

/// The weekdays, in the order and spelling of the API (`mon` … `sun`).
pub const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// When a widget's team is at work. Serialized as the API writes it:
/// `{"timezone": "Europe/Berlin", "days": {"mon": [["09:00","17:00"]], …}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessHours {
    pub timezone: String,
    /// Index 0 = Monday. Each range is `[start, end)` in minutes after midnight, sorted, disjoint;
    /// `end` may be 1440 (`"24:00"`). A day without ranges is closed.
    pub days: [Vec<(u16, u16)>; 7],
}

/// Why a `business_hours` value is refused (the message names the part that is wrong).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct HoursError(pub String);

fn bad(m: impl Into<String>) -> HoursError {
    HoursError(m.into())
}

/// `"HH:MM"` (00:00–23:59, and 24:00 when `end`) as minutes after midnight.
fn parse_time(s: &str, end: bool) -> Option<u16> {
    let (h, m) = s.split_once(':')?;
    if h.len() != 2 || m.len() != 2 || !h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    match (h, m) {
        (0..=23, 0..=59) => Some(h * 60 + m),
        (24, 0) if end => Some(24 * 60),
        _ => None,
    }
}

fn format_time(minutes: u16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

impl BusinessHours {
    /// Reads and checks a `business_hours` JSON value; `null` is `None` (always open).
    pub fn from_json(v: &Value) -> Result<Option<BusinessHours>, HoursError> {
        let obj = match v {
            Value::Null => return Ok(None),
            Value::Object(o) => o,
            _ => return Err(bad("business_hours must be an object or null")),
        };
        if let Some(k) = obj.keys().find(|k| *k != "timezone" && *k != "days") {
            return Err(bad(format!(
                "business_hours has an unknown field {k:?}: use timezone and days"
            )));
        }
        let timezone =
            match obj.get("timezone") {
                Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
                _ => return Err(bad(
                    "business_hours.timezone is required: an IANA time zone such as Europe/Berlin",
                )),
            };
        if timezone.len() > 64 || jiff::tz::TimeZone::get(&timezone).is_err() {
            return Err(bad(format!(
                "business_hours.timezone {timezone:?} is not an IANA time zone (such as Europe/Berlin or America/New_York)"
            )));
        }
        let days_obj = match obj.get("days") {
            Some(Value::Object(d)) => d,
            _ => {
                return Err(bad(
                    "business_hours.days is required: an object such as {\"mon\": [[\"09:00\", \"17:00\"]]}",
                ))
            }
        };
        let mut days: [Vec<(u16, u16)>; 7] = Default::default();
        for (day, ranges) in days_obj {
            let Some(i) = DAYS.iter().position(|d| d == day) else {
                return Err(bad(format!(
                    "business_hours.days has an unknown day {day:?}: use mon, tue, wed, thu, fri, sat, sun"
                )));
            };
            let Value::Array(ranges) = ranges else {
                return Err(bad(format!(
                    "business_hours.days.{day} must be a list of [\"HH:MM\", \"HH:MM\"] ranges"
                )));
            };
            if ranges.len() > MAX_RANGES_PER_DAY {
                return Err(bad(format!(
                    "business_hours.days.{day} may have at most {MAX_RANGES_PER_DAY} ranges"
                )));
            }
            let mut parsed = Vec::with_capacity(ranges.len());
            for r in ranges {
                let pair = match r {
                    Value::Array(p) if p.len() == 2 => (p[0].as_str(), p[1].as_str()),
                    _ => (None, None),
                };
                let (Some(a), Some(b)) = pair else {
                    return Err(bad(format!(
                        "business_hours.days.{day}: each range must be [\"HH:MM\", \"HH:MM\"]"
                    )));
                };
                let start = parse_time(a, false).ok_or_else(|| {
                    bad(format!(
                        "business_hours.days.{day}: {a:?} is not a time: write HH:MM from 00:00 to 23:59"
                    ))
                })?;
                let end = parse_time(b, true).ok_or_else(|| {
                    bad(format!(
                        "business_hours.days.{day}: {b:?} is not a time: write HH:MM from 00:00 to 24:00"
                    ))
                })?;
                if end <= start {
                    return Err(bad(format!(
                        "business_hours.days.{day}: the range {a}–{b} ends before it starts (split a range past midnight into two days)"
                    )));
                }
                parsed.push((start, end));
            }
            parsed.sort_unstable();
            if let Some(w) = parsed.windows(2).find(|w| w[1].0 < w[0].1) {
                return Err(bad(format!(
                    "business_hours.days.{day}: the ranges {}–{} and {}–{} overlap",
                    format_time(w[0].0),
                    format_time(w[0].1),
                    format_time(w[1].0),
                    format_time(w[1].1)
                )));
            }
            days[i] = parsed;
        }
        Ok(Some(BusinessHours { timezone, days }))
    }

    /// The API's JSON form (what [`BusinessHours::from_json`] reads back).
    pub fn to_json(&self) -> Value {
        let days: BTreeMap<&str, Vec<[String; 2]>> = DAYS
            .iter()
            .zip(&self.days)
            .filter(|(_, r)| !r.is_empty())
            .map(|(d, r)| {
                (
                    *d,
                    r.iter()
                        .map(|&(a, b)| [format_time(a), format_time(b)])
                        .collect(),
                )
            })
            .collect();
        serde_json::json!({ "timezone": self.timezone, "days": days })
    }

    /// Whether the team is at work at `at` (Unix milliseconds). A zone that no longer resolves
    /// (a tz database without it) counts as closed, and is logged.
    pub fn is_open_at(&self, at_ms: i64) -> bool {
        let tz = match jiff::tz::TimeZone::get(&self.timezone) {
            Ok(tz) => tz,
            Err(e) => {
                tracing::warn!(timezone = %self.timezone, error = %e, "business hours: unknown time zone");
                return false;
            }
        };
        let Ok(ts) = jiff::Timestamp::from_millisecond(at_ms) else {
            return false;
        };
        let local = tz.to_datetime(ts);
        let day = local.weekday().to_monday_zero_offset() as usize;
        let minute = local.hour() as u16 * 60 + local.minute() as u16;
        self.days[day]
            .iter()
            .any(|&(start, end)| start <= minute && minute < end)
    }
}

impl serde::Serialize for BusinessHours {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for BusinessHours {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        BusinessHours::from_json(&v)
            .map_err(serde::de::Error::custom)?
            .ok_or_else(|| serde::de::Error::custom("business hours are null"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn hours(v: Value) -> Result<Option<BusinessHours>, HoursError> {
        BusinessHours::from_json(&v)
    }

    /// Unix ms of a civil time in a zone.
    fn at(zone: &str, y: i16, mo: i8, d: i8, h: i8, mi: i8) -> i64 {
        jiff::civil::date(y, mo, d)
            .at(h, mi, 0, 0)
            .in_tz(zone)
            .unwrap()
            .timestamp()
            .as_millisecond()
    }

    #[test]
    fn null_is_always_open_and_a_round_trip_keeps_the_value() {
        assert_eq!(hours(Value::Null).unwrap(), None);
        let v = json!({"timezone": "Europe/Berlin", "days": {"mon": [["13:00", "17:00"], ["09:00", "12:00"]], "sat": [["10:00", "24:00"]]}});
        let h = hours(v).unwrap().unwrap();
        assert_eq!(h.days[0], vec![(540, 720), (780, 1020)]);
        assert_eq!(
            h.to_json(),
            json!({"timezone": "Europe/Berlin", "days": {"mon": [["09:00", "12:00"], ["13:00", "17:00"]], "sat": [["10:00", "24:00"]]}})
        );
        assert_eq!(hours(h.to_json()).unwrap().unwrap(), h);
    }

    #[test]
    fn refusals_name_what_is_wrong() {
        let cases = [
            (json!("9-5"), "object or null"),
            (json!({"days": {}}), "timezone is required"),
            (
                json!({"timezone": "Mars/Olympus", "days": {}}),
                "not an IANA time zone",
            ),
            (json!({"timezone": "Europe/Berlin"}), "days is required"),
            (
                json!({"timezone": "UTC", "days": {"monday": []}}),
                "unknown day \"monday\"",
            ),
            (
                json!({"timezone": "UTC", "days": {"mon": [["9:00", "17:00"]]}}),
                "\"9:00\" is not a time",
            ),
            (
                json!({"timezone": "UTC", "days": {"mon": [["09:00", "24:01"]]}}),
                "\"24:01\" is not a time",
            ),
            (
                json!({"timezone": "UTC", "days": {"mon": [["24:00", "24:00"]]}}),
                "\"24:00\" is not a time",
            ),
            (
                json!({"timezone": "UTC", "days": {"tue": [["17:00", "09:00"]]}}),
                "ends before it starts",
            ),
            (
                json!({"timezone": "UTC", "days": {"tue": [["09:00", "09:00"]]}}),
                "ends before it starts",
            ),
            (
                json!({"timezone": "UTC", "days": {"wed": [["09:00", "13:00"], ["12:00", "17:00"]]}}),
                "overlap",
            ),
            (
                json!({"timezone": "UTC", "days": {"wed": [["09:00"]]}}),
                "each range",
            ),
            (
                json!({"timezone": "UTC", "days": {}, "extra": 1}),
                "unknown field",
            ),
        ];
        for (v, want) in cases {
            let e = hours(v.clone()).expect_err(&v.to_string());
            assert!(e.0.contains(want), "{v}: {e} lacks {want:?}");
        }
        // Touching ranges are fine.
        assert!(hours(
            json!({"timezone": "UTC", "days": {"wed": [["09:00", "12:00"], ["12:00", "17:00"]]}})
        )
        .is_ok());
    }

    #[test]
    fn open_follows_the_zone_and_its_daylight_saving() {
        let h = hours(json!({"timezone": "Europe/Berlin", "days": {"mon": [["09:00", "17:00"]]}}))
            .unwrap()
            .unwrap();
        // Monday 2026-03-23 (winter time, UTC+1) and 2026-03-30 (summer time, UTC+2).
        for (d, open) in [(23, true), (30, true), (24, false)] {
            assert_eq!(
                h.is_open_at(at("Europe/Berlin", 2026, 3, d, 9, 0)),
                open,
                "{d} 09:00"
            );
            assert!(!h.is_open_at(at("Europe/Berlin", 2026, 3, d, 8, 59)));
            assert!(!h.is_open_at(at("Europe/Berlin", 2026, 3, d, 17, 0)));
        }
        // 08:30 UTC on that Monday is 09:30 in Berlin (open) but 04:30 in New York.
        let utc = at("UTC", 2026, 3, 23, 8, 30);
        assert!(h.is_open_at(utc));
        let ny =
            hours(json!({"timezone": "America/New_York", "days": {"mon": [["09:00", "17:00"]]}}))
                .unwrap()
                .unwrap();
        assert!(!ny.is_open_at(utc));
        // Up to midnight with 24:00.
        let late = hours(json!({"timezone": "UTC", "days": {"mon": [["20:00", "24:00"]]}}))
            .unwrap()
            .unwrap();
        assert!(late.is_open_at(at("UTC", 2026, 3, 23, 23, 59)));
        assert!(!late.is_open_at(at("UTC", 2026, 3, 24, 0, 0)));
    }
}
