//! Times in event requests: xs:duration, xs:dateTime, and WS-BaseNotification's
//! AbsoluteOrRelativeTimeType (either of them), and the UTC `Z` form responses use.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::security::wsse::parse_created;

/// Parses an xs:duration (`PT600S`, `PT10M`, `P1D`, `PT0.5S`, `P1DT2H`). Years and months
/// have no fixed length and are refused; so are negative durations.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let rest = s.strip_prefix('P')?;
    let (date, time) = match rest.split_once('T') {
        Some((d, t)) => {
            if t.is_empty() {
                return None;
            }
            (d, Some(t))
        }
        None => (rest, None),
    };
    if date.is_empty() && time.is_none() {
        return None;
    }
    let mut total = 0f64;
    let mut parse_part = |part: &str, units: &[(char, f64)], allow_fraction: bool| -> Option<()> {
        let mut number = String::new();
        let mut unit_index = 0;
        for c in part.chars() {
            if c.is_ascii_digit() || (allow_fraction && c == '.') {
                number.push(c);
                continue;
            }
            let position = units.iter().skip(unit_index).position(|(u, _)| *u == c)? + unit_index;
            let value: f64 = number.parse().ok()?;
            if number.contains('.') && units[position].0 != 'S' {
                return None;
            }
            total += value * units[position].1;
            unit_index = position + 1;
            number.clear();
        }
        number.is_empty().then_some(())
    };
    parse_part(date, &[('D', 86_400.0)], false)?;
    if let Some(t) = time {
        parse_part(t, &[('H', 3600.0), ('M', 60.0), ('S', 1.0)], true)?;
    }
    (total.is_finite() && total <= 10.0 * 365.0 * 86_400.0).then(|| Duration::from_secs_f64(total))
}

/// Parses a wsnt:AbsoluteOrRelativeTimeType relative to `now`.
pub fn parse_termination(s: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if s.starts_with('P') {
        let d = chrono::Duration::from_std(parse_duration(s)?).ok()?;
        return now.checked_add_signed(d);
    }
    parse_created(s)
}

/// `2026-11-25T12:00:00Z` (milliseconds when not whole). Written by hand: it runs for every
/// message of every response.
pub fn utc(t: DateTime<Utc>) -> String {
    use chrono::{Datelike, Timelike};
    use std::fmt::Write;
    let mut out = String::with_capacity(24);
    let _ = write!(
        out,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    let millis = t.timestamp_subsec_millis();
    if millis != 0 {
        let _ = write!(out, ".{millis:03}");
    }
    out.push('Z');
    out
}

/// An xs:duration of whole seconds (`PT60S`).
pub fn duration(d: Duration) -> String {
    format!("PT{}S", d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_home_assistant_and_others_send() {
        for (text, secs) in [
            ("PT600S", 600.0),
            ("PT10M", 600.0),
            ("P1D", 86_400.0),
            ("PT1M", 60.0),
            ("PT0.5S", 0.5),
            ("P1DT2H", 93_600.0),
            ("PT1H1M1S", 3661.0),
            (" PT60S ", 60.0),
        ] {
            assert_eq!(
                parse_duration(text).map(|d| d.as_secs_f64()),
                Some(secs),
                "{text}"
            );
        }
        for bad in [
            "",
            "P",
            "PT",
            "P1DT",
            "10S",
            "PT1S1M",
            "P1Y",
            "P1M",
            "-PT1S",
            "PT1.5M",
            "PTS",
            "PT99999999999999999999H",
        ] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn absolute_or_relative() {
        let now = parse_created("2026-01-01T00:00:00Z").unwrap();
        assert_eq!(
            utc(parse_termination("PT60S", now).unwrap()),
            "2026-01-01T00:01:00Z"
        );
        assert_eq!(
            utc(parse_termination("2026-01-01T01:00:00+01:00", now).unwrap()),
            "2026-01-01T00:00:00Z"
        );
        assert_eq!(
            utc(parse_termination("2026-01-01T00:00:00.250Z", now).unwrap()),
            "2026-01-01T00:00:00.250Z"
        );
        assert!(parse_termination("tomorrow", now).is_none());
    }

    /// Extreme values clients may send: refused or saturated, never a panic.
    #[test]
    fn extremes_never_panic() {
        for bad in [
            "P9999999Y",
            "P9999999999999999999999D",
            "PT1e308S",
            "-P1D",
            "P-1D",
            "PT.S",
            "PT1..5S",
            "PT184467440737095516160S",
            "P3651D",
        ] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
        assert_eq!(parse_duration("PT0S"), Some(Duration::ZERO));
        assert_eq!(parse_duration("P0D"), Some(Duration::ZERO));
        assert_eq!(
            parse_duration("P3650D"),
            Some(Duration::from_secs(3650 * 86_400))
        );
        let end = DateTime::<Utc>::MAX_UTC;
        assert_eq!(parse_termination("PT1S", end), None);
        assert_eq!(parse_termination("P3650D", end), None);
        let now = parse_created("2026-01-01T00:00:00Z").unwrap();
        assert_eq!(
            utc(parse_termination("9999-12-31T23:59:59Z", now).unwrap()),
            "9999-12-31T23:59:59Z"
        );
        assert!(parse_termination("0000-01-01T00:00:00Z", now).is_some());
        for bad in [
            "+262144-01-01T00:00:00",
            "99999999999-01-01T00:00:00Z",
            "9999-12-31T24:00:01Z",
            "-PT1S",
            "",
        ] {
            assert_eq!(parse_termination(bad, now), None, "{bad}");
        }
        // The last instant chrono holds is reachable from a client (the far-future Seek).
        assert_eq!(
            parse_termination("+262142-12-31T23:59:59.999999999", now),
            Some(end)
        );
        // The ends of chrono's range print.
        assert!(utc(end).ends_with('Z'));
        assert!(utc(DateTime::<Utc>::MIN_UTC).ends_with('Z'));
    }
}
