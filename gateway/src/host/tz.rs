//! POSIX TZ rules (IEEE 1003.1, section 8.3): the time zone ONVIF's `tt:TimeZone` carries,
//! such as `CET-1CEST,M3.5.0,M10.5.0/3` or `<+0330>-3:30`.
//!
//! [`PosixTz::parse`] is the validation SetSystemDateAndTime applies (a string it refuses is
//! `ter:InvalidTimeZone`); [`PosixTz::offset_at`] evaluates a rule at an instant, for the
//! local time of a host whose zone is only this string (the sandbox backend).
//!
//! Accepted: a standard-time name of three or more letters, or `<...>` quoting letters,
//! digits, `+` and `-`; an offset `[+-]hh[:mm[:ss]]` with `hh` 0–24 (west of Greenwich is
//! positive, as POSIX has it); optionally a daylight-time name, its offset (one hour ahead of
//! standard time when omitted) and the rule `,start[/time],end[/time]`, each date `Jn`
//! (1–365, February 29 never counted), `n` (0–365) or `Mm.w.d`, each time `[+-]hh[:mm[:ss]]`
//! with `hh` up to 167 (the extension RFC 8536 and POSIX.1-2024 allow). A daylight name
//! without a rule takes the United States rule (`M3.2.0,M11.1.0`), as glibc does.

use std::fmt;

use chrono::{Datelike, NaiveDate, Timelike};

use super::clock::LocalTime;

/// Why a TZ string is not a POSIX rule (the text is for the fault's detail).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TzError(pub String);

impl fmt::Display for TzError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The day a daylight-time period starts or ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Day {
    /// `Jn`: day 1–365, February 29 not counted.
    Julian1(u16),
    /// `n`: day 0–365, February 29 counted.
    Julian0(u16),
    /// `Mm.w.d`: weekday `d` (0 = Sunday) of week `w` (5 = the last) of month `m`.
    Month { month: u8, week: u8, weekday: u8 },
}

/// A transition: its day and the local time of day (seconds; may exceed a day).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Transition {
    day: Day,
    time: i32,
}

/// The daylight-time part of a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Daylight {
    name: String,
    /// Seconds west of UTC.
    west: i32,
    start: Transition,
    end: Transition,
}

/// A parsed POSIX TZ rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PosixTz {
    text: String,
    /// Where the standard part (name and offset) ends in `text`.
    std_end: usize,
    std_name: String,
    /// Seconds west of UTC during standard time.
    std_west: i32,
    daylight: Option<Daylight>,
}

/// The offset in force at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offset {
    /// Seconds east of UTC (local = UTC + this).
    pub east: i32,
    /// Daylight-saving time is in force.
    pub dst: bool,
}

struct Cursor<'a> {
    s: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.at).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn done(&self) -> bool {
        self.at == self.s.len()
    }

    fn number(&mut self, what: &str, max_digits: usize) -> Result<u32, TzError> {
        let start = self.at;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) && self.at - start < max_digits {
            self.at += 1;
        }
        if self.at == start {
            return Err(TzError(format!(
                "{what} expected at position {}",
                start + 1
            )));
        }
        let digits = std::str::from_utf8(&self.s[start..self.at]).unwrap_or("0");
        Ok(digits.parse().unwrap_or(0))
    }

    fn name(&mut self, what: &str) -> Result<String, TzError> {
        let start = self.at;
        let name = if self.eat(b'<') {
            let inner = self.at;
            while self
                .peek()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'+' || c == b'-')
            {
                self.at += 1;
            }
            let name = &self.s[inner..self.at];
            if !self.eat(b'>') {
                return Err(TzError(format!(
                    "{what} opened with < is not closed with >"
                )));
            }
            name
        } else {
            while self.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
                self.at += 1;
            }
            &self.s[start..self.at]
        };
        if name.len() < 3 {
            return Err(TzError(format!(
                "{what} must have at least three characters (position {})",
                start + 1
            )));
        }
        Ok(String::from_utf8_lossy(name).into_owned())
    }

    /// `[+-]hh[:mm[:ss]]` in seconds, `hh` at most `max_hours`.
    fn hms(&mut self, what: &str, max_hours: u32) -> Result<i32, TzError> {
        let negative = if self.eat(b'-') {
            true
        } else {
            self.eat(b'+');
            false
        };
        let hours = self.number(what, 3)?;
        if hours > max_hours {
            return Err(TzError(format!(
                "{what}: {hours} hours is more than {max_hours}"
            )));
        }
        let mut seconds = hours * 3600;
        for unit in [60, 1] {
            if !self.eat(b':') {
                break;
            }
            let v = self.number(what, 2)?;
            if v > 59 {
                return Err(TzError(format!("{what}: {v} is not a minute or second")));
            }
            seconds += v * unit;
        }
        let seconds = i32::try_from(seconds).unwrap_or(i32::MAX);
        Ok(if negative { -seconds } else { seconds })
    }

    fn day(&mut self) -> Result<Day, TzError> {
        if self.eat(b'J') {
            let n = self.number("a Julian day", 3)?;
            return match u16::try_from(n) {
                Ok(n @ 1..=365) => Ok(Day::Julian1(n)),
                _ => Err(TzError(format!("J{n} is not a day 1 to 365"))),
            };
        }
        if self.eat(b'M') {
            let month = self.number("a month", 2)?;
            let week = self
                .eat(b'.')
                .then(|| self.number("a week", 1))
                .transpose()?;
            let weekday = self
                .eat(b'.')
                .then(|| self.number("a weekday", 1))
                .transpose()?;
            let (Some(week), Some(weekday)) = (week, weekday) else {
                return Err(TzError("a month rule is Mm.w.d".into()));
            };
            if !(1..=12).contains(&month) || !(1..=5).contains(&week) || weekday > 6 {
                return Err(TzError(format!(
                    "M{month}.{week}.{weekday}: month 1-12, week 1-5, weekday 0-6"
                )));
            }
            // In range, checked above.
            return Ok(Day::Month {
                month: month as u8,
                week: week as u8,
                weekday: weekday as u8,
            });
        }
        let n = self.number("a day", 3)?;
        match u16::try_from(n) {
            Ok(n @ 0..=365) => Ok(Day::Julian0(n)),
            _ => Err(TzError(format!("{n} is not a day 0 to 365"))),
        }
    }

    fn transition(&mut self) -> Result<Transition, TzError> {
        let day = self.day()?;
        let time = if self.eat(b'/') {
            self.hms("a transition time", 167)?
        } else {
            2 * 3600
        };
        Ok(Transition { day, time })
    }
}

impl PosixTz {
    /// Parses and validates a POSIX TZ rule.
    ///
    /// # Errors
    /// What is wrong, and where.
    pub fn parse(text: &str) -> Result<PosixTz, TzError> {
        if text.is_empty() {
            return Err(TzError("the time zone is empty".into()));
        }
        if text.starts_with(':') || text.contains('/') && !text.contains(',') {
            return Err(TzError(format!(
                "{text:?} is a zone name, not a POSIX TZ rule such as CET-1CEST,M3.5.0,M10.5.0/3"
            )));
        }
        let mut c = Cursor {
            s: text.as_bytes(),
            at: 0,
        };
        let std_name = c.name("the standard time name")?;
        let std_west = c.hms("the standard time offset", 24)?;
        let std_end = c.at;
        let mut daylight = None;
        if !c.done() {
            let name = c.name("the daylight time name")?;
            let west = if c.peek().is_some_and(|b| b != b',') {
                c.hms("the daylight time offset", 24)?
            } else {
                std_west - 3600
            };
            let (start, end) = if c.eat(b',') {
                let start = c.transition()?;
                if !c.eat(b',') {
                    return Err(TzError("the rule needs a start and an end date".into()));
                }
                (start, c.transition()?)
            } else {
                let us = |month, week| Transition {
                    day: Day::Month {
                        month,
                        week,
                        weekday: 0,
                    },
                    time: 2 * 3600,
                };
                (us(3, 2), us(11, 1))
            };
            daylight = Some(Daylight {
                name,
                west,
                start,
                end,
            });
        }
        if !c.done() {
            return Err(TzError(format!(
                "unexpected {:?} at position {}",
                char::from(text.as_bytes()[c.at]),
                c.at + 1
            )));
        }
        Ok(PosixTz {
            text: text.to_owned(),
            std_end,
            std_name,
            std_west,
            daylight,
        })
    }

    /// The rule as given.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The standard-time part alone (`CET-1` of `CET-1CEST,M3.5.0,M10.5.0/3`).
    pub fn standard_part(&self) -> String {
        self.text[..self.std_end].to_owned()
    }

    /// Whether the rule has a daylight-saving part.
    pub fn has_daylight(&self) -> bool {
        self.daylight.is_some()
    }

    /// The offset at `unix` (seconds since the epoch, UTC). With `use_dst` false the
    /// daylight part is ignored (ONVIF's DaylightSavings flag cleared).
    pub fn offset_at(&self, unix: i64, use_dst: bool) -> Offset {
        let standard = Offset {
            east: -self.std_west,
            dst: false,
        };
        let Some(d) = self.daylight.as_ref().filter(|_| use_dst) else {
            return standard;
        };
        let year = chrono::DateTime::from_timestamp(unix - i64::from(self.std_west), 0)
            .map_or(1970, |t| t.year());
        // The period that contains `unix` may have started in the previous year (southern
        // hemisphere rules run across new year), so both years' periods are checked.
        for y in [year - 1, year] {
            let (Some(start), Some(end)) = (
                instant(y, d.start, self.std_west),
                instant(y, d.end, d.west),
            ) else {
                continue;
            };
            let in_period = if start <= end {
                (start..end).contains(&unix)
            } else {
                let next_end = instant(y + 1, d.end, d.west).unwrap_or(i64::MAX);
                (start..next_end).contains(&unix)
            };
            if in_period {
                return Offset {
                    east: -d.west,
                    dst: true,
                };
            }
        }
        standard
    }
}

impl PosixTz {
    /// Local time at `wall` by this rule (the daylight part ignored unless `use_dst`).
    pub fn local_time(&self, wall: std::time::SystemTime, use_dst: bool) -> Option<LocalTime> {
        let unix =
            i64::try_from(wall.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs()).ok()?;
        let offset = self.offset_at(unix, use_dst);
        let t = chrono::DateTime::from_timestamp(unix + i64::from(offset.east), 0)?;
        Some(LocalTime {
            year: t.year(),
            month: t.month(),
            day: t.day(),
            hour: t.hour(),
            minute: t.minute(),
            second: t.second(),
            dst: offset.dst,
        })
    }
}

impl fmt::Display for PosixTz {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The UTC instant of a transition in `year`, the local time of day counted in the offset
/// `west` in force before it.
fn instant(year: i32, t: Transition, west: i32) -> Option<i64> {
    let jan1 = NaiveDate::from_ymd_opt(year, 1, 1)?;
    let leap = NaiveDate::from_ymd_opt(year, 2, 29).is_some();
    let date = match t.day {
        Day::Julian1(n) => {
            let skip_leap = leap && n >= 60;
            jan1 + chrono::Days::new(u64::from(n) - 1 + u64::from(skip_leap))
        }
        Day::Julian0(n) => jan1 + chrono::Days::new(u64::from(n)),
        Day::Month {
            month,
            week,
            weekday,
        } => {
            let first = NaiveDate::from_ymd_opt(year, u32::from(month), 1)?;
            let first_weekday = first.weekday().num_days_from_sunday();
            let mut day =
                1 + (u32::from(weekday) + 7 - first_weekday) % 7 + 7 * (u32::from(week) - 1);
            let length = days_in_month(year, u32::from(month));
            while day > length {
                day -= 7;
            }
            NaiveDate::from_ymd_opt(year, u32::from(month), day)?
        }
    };
    let midnight = date.and_hms_opt(0, 0, 0)?.and_utc().timestamp();
    Some(midnight + i64::from(t.time) + i64::from(west))
}

fn days_in_month(year: i32, month: u32) -> u32 {
    let next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)
    };
    next.and_then(|n| n.pred_opt()).map_or(28, |d| d.day())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> i64 {
        NaiveDate::from_ymd_opt(y, m, d)
            .and_then(|d| d.and_hms_opt(h, min, 0))
            .map(|t| t.and_utc().timestamp())
            .unwrap_or_default()
    }

    #[test]
    fn rules_clients_send_are_accepted() {
        for tz in [
            "UTC0",
            "GMT0",
            "CET-1CEST,M3.5.0,M10.5.0/3",
            "EST5EDT,M3.2.0,M11.1.0",
            "EST5EDT",
            "AEST-10AEDT,M10.1.0,M4.1.0/3",
            "<+0330>-3:30",
            "<-03>3",
            "IST-5:30",
            "NZST-12NZDT,M9.5.0,M4.1.0/3",
            "WART4WARST,J1/0,J365/25",
            "XXX3YYY,0/0,365/-1",
            "EET-2EEST,M3.5.0/3,M10.5.0/4",
            "<+13>-13",
            "AAA-24",
        ] {
            assert!(PosixTz::parse(tz).is_ok(), "{tz}: {:?}", PosixTz::parse(tz));
        }
    }

    #[test]
    fn malformed_rules_are_refused_with_a_reason() {
        for (tz, says) in [
            ("", "empty"),
            ("Europe/Berlin", "zone name"),
            (":Europe/Berlin", "zone name"),
            ("CE-1", "three characters"),
            ("CET", "offset expected"),
            ("CET-25", "more than 24"),
            ("CET-1:60", "not a minute"),
            ("CET-1CEST,M3.5.0", "start and an end"),
            ("CET-1CEST,M13.5.0,M10.5.0", "month 1-12"),
            ("CET-1CEST,M3.6.0,M10.5.0", "week 1-5"),
            ("CET-1CEST,M3.5.7,M10.5.0", "weekday 0-6"),
            ("CET-1CEST,J0,J365", "J0"),
            ("CET-1CEST,366,J365", "366"),
            ("CET-1CEST,M3.5.0/168,M10.5.0", "more than 167"),
            ("<+03", "not closed"),
            ("CET-1 ", "position 6"),
            ("CET-1CEST,M3.5.0,M10.5.0/3x", "unexpected"),
        ] {
            let error = PosixTz::parse(tz).expect_err(tz);
            assert!(error.0.contains(says), "{tz}: {error}");
        }
    }

    #[test]
    fn central_european_time_switches_at_the_hours_the_rule_says() {
        let tz = PosixTz::parse("CET-1CEST,M3.5.0,M10.5.0/3").unwrap();
        // 2026: last Sunday of March is the 29th, of October the 25th.
        let winter = Offset {
            east: 3600,
            dst: false,
        };
        let summer = Offset {
            east: 7200,
            dst: true,
        };
        assert_eq!(tz.offset_at(utc(2026, 3, 29, 0, 59), true), winter);
        assert_eq!(tz.offset_at(utc(2026, 3, 29, 1, 0), true), summer);
        assert_eq!(tz.offset_at(utc(2026, 10, 25, 0, 59), true), summer);
        assert_eq!(tz.offset_at(utc(2026, 10, 25, 1, 0), true), winter);
        assert_eq!(tz.offset_at(utc(2026, 7, 1, 12, 0), false), winter);
    }

    #[test]
    fn southern_rules_run_across_new_year() {
        let tz = PosixTz::parse("AEST-10AEDT,M10.1.0,M4.1.0/3").unwrap();
        assert!(tz.offset_at(utc(2026, 1, 15, 0, 0), true).dst);
        assert!(!tz.offset_at(utc(2026, 6, 15, 0, 0), true).dst);
        assert!(tz.offset_at(utc(2026, 12, 15, 0, 0), true).dst);
        assert_eq!(tz.offset_at(utc(2026, 12, 15, 0, 0), true).east, 11 * 3600);
    }

    #[test]
    fn fixed_and_fractional_offsets() {
        let tz = PosixTz::parse("<+0330>-3:30").unwrap();
        assert_eq!(
            tz.offset_at(utc(2026, 6, 1, 0, 0), true).east,
            3 * 3600 + 1800
        );
        assert!(!tz.has_daylight());
        let us = PosixTz::parse("EST5EDT").unwrap();
        // The default (US) rule: second Sunday of March, 2026-03-08 at 07:00 UTC.
        assert!(!us.offset_at(utc(2026, 3, 8, 6, 59), true).dst);
        assert!(us.offset_at(utc(2026, 3, 8, 7, 0), true).dst);
        assert_eq!(us.offset_at(utc(2026, 3, 8, 7, 0), true).east, -4 * 3600);
    }

    #[test]
    fn julian_days_skip_or_count_february_29() {
        // 2028 is a leap year: J60 is March 1, day 59 (zero-based) is February 29.
        let j = PosixTz::parse("AAA0BBB,J60/0,J300/0").unwrap();
        assert!(!j.offset_at(utc(2028, 2, 29, 12, 0), true).dst);
        assert!(j.offset_at(utc(2028, 3, 1, 0, 0), true).dst);
        let n = PosixTz::parse("AAA0BBB,59/0,300/0").unwrap();
        assert!(n.offset_at(utc(2028, 2, 29, 0, 0), true).dst);
    }
}
