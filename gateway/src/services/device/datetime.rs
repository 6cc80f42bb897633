//! GetSystemDateAndTime (read without authentication, so clients can compute the offset they
//! add to a UsernameToken's Created) and SetSystemDateAndTime, both through the host backend.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};

use super::host_fault;
use crate::host::settings::{ClockMode, DateTimeChange};
use crate::host::tz::PosixTz;
use crate::services::{Ctx, OpResult, parse_bool, required_text};
use crate::soap::SoapFault;
use crate::xml::ns::{TDS, TT};
use crate::xml::write::bool_str;
use crate::xml::{Element, XmlWriter};

/// A `tt:DateTime`: (year, month, day) and (hour, minute, second).
struct Fields {
    date: (i32, u32, u32),
    time: (u32, u32, u32),
}

fn write_date_time(w: &mut XmlWriter, tag: &str, f: &Fields) {
    w.with(tag, &[], |w| {
        w.with("tt:Time", &[], |w| {
            w.leaf("tt:Hour", &f.time.0.to_string());
            w.leaf("tt:Minute", &f.time.1.to_string());
            w.leaf("tt:Second", &f.time.2.to_string());
        });
        w.with("tt:Date", &[], |w| {
            w.leaf("tt:Year", &f.date.0.to_string());
            w.leaf("tt:Month", &f.date.1.to_string());
            w.leaf("tt:Day", &f.date.2.to_string());
        });
    });
}

pub(super) async fn get_system_date_and_time(ctx: &Ctx, _req: &Element) -> OpResult {
    let state = ctx.app.host.date_time().await;
    let utc: DateTime<Utc> = state.wall.into();
    let mut w = XmlWriter::new();
    w.with("tds:GetSystemDateAndTimeResponse", &[], |w| {
        w.with("tds:SystemDateAndTime", &[], |w| {
            w.leaf(
                "tt:DateTimeType",
                match state.mode {
                    ClockMode::Ntp => "NTP",
                    ClockMode::Manual => "Manual",
                },
            );
            w.leaf("tt:DaylightSavings", bool_str(state.dst_now));
            if let Some(tz) = &state.tz {
                w.with("tt:TimeZone", &[], |w| {
                    w.leaf("tt:TZ", tz);
                });
            }
            let utc = Fields {
                date: (utc.year(), utc.month(), utc.day()),
                time: (utc.hour(), utc.minute(), utc.second()),
            };
            write_date_time(w, "tt:UTCDateTime", &utc);
            if let Some(l) = state.local {
                let local = Fields {
                    date: (l.year, l.month, l.day),
                    time: (l.hour, l.minute, l.second),
                };
                write_date_time(w, "tt:LocalDateTime", &local);
            }
        });
    });
    Ok(w.finish())
}

pub(super) async fn set_system_date_and_time(ctx: &Ctx, req: &Element) -> OpResult {
    let change = parse_change(req)?;
    ctx.app
        .host
        .set_date_time(&change)
        .await
        .map_err(host_fault)?;
    tracing::info!(
        mode = ?change.mode,
        tz = change.tz.as_ref().map(PosixTz::as_str),
        set_time = change.utc.is_some(),
        by = ctx.principal.log_name(),
        "system date and time set"
    );
    Ok("<tds:SetSystemDateAndTimeResponse/>".into())
}

fn invalid_date_time(detail: String) -> SoapFault {
    SoapFault::invalid_arg_val(Some("ter:InvalidDateTime"), detail)
}

/// Reads and validates a SetSystemDateAndTime request.
fn parse_change(req: &Element) -> Result<DateTimeChange, SoapFault> {
    let mode = match required_text(req, TDS, "DateTimeType")? {
        "Manual" => ClockMode::Manual,
        "NTP" => ClockMode::Ntp,
        other => {
            return Err(SoapFault::invalid_args(format!(
                "DateTimeType {other:?} is not Manual or NTP"
            )));
        }
    };
    let dst_text = required_text(req, TDS, "DaylightSavings")?;
    let daylight_savings = parse_bool(dst_text).ok_or_else(|| {
        SoapFault::invalid_args(format!("DaylightSavings {dst_text:?} is not a boolean"))
    })?;
    let tz = match req.child(TDS, "TimeZone") {
        None => None,
        Some(zone) => {
            let text = zone.child(TT, "TZ").map_or("", Element::text_trim);
            Some(PosixTz::parse(text).map_err(|e| {
                SoapFault::invalid_arg_val(
                    Some("ter:InvalidTimeZone"),
                    format!("{text:?} is not a POSIX TZ rule: {e}"),
                )
            })?)
        }
    };
    let utc = match (mode, req.child(TDS, "UTCDateTime")) {
        // "If DateTimeType is NTP, UTCDateTime has no meaning."
        (ClockMode::Ntp, _) | (ClockMode::Manual, None) => None,
        (ClockMode::Manual, Some(dt)) => Some(parse_utc(dt)?),
    };
    Ok(DateTimeChange {
        mode,
        daylight_savings,
        tz,
        utc,
    })
}

/// A `tt:DateTime` in UTC, as an instant; refused (`ter:InvalidDateTime`) when it is no
/// date, before 1970 or after 9999.
fn parse_utc(dt: &Element) -> Result<SystemTime, SoapFault> {
    let number = |parent: &str, name: &'static str| -> Result<i64, SoapFault> {
        let text = dt
            .child(TT, parent)
            .and_then(|p| p.child(TT, name))
            .map(Element::text_trim)
            .ok_or_else(|| SoapFault::missing_tag(format!("UTCDateTime needs {parent}/{name}")))?;
        text.parse()
            .map_err(|_| invalid_date_time(format!("{name} {text:?} is not a number")))
    };
    let (year, month, day) = (
        number("Date", "Year")?,
        number("Date", "Month")?,
        number("Date", "Day")?,
    );
    let (hour, minute, second) = (
        number("Time", "Hour")?,
        number("Time", "Minute")?,
        number("Time", "Second")?,
    );
    let text = format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02}");
    let date = i32::try_from(year)
        .ok()
        .filter(|y| (1970..=9999).contains(y))
        .zip(u32::try_from(month).ok())
        .zip(u32::try_from(day).ok())
        .and_then(|((y, m), d)| NaiveDate::from_ymd_opt(y, m, d));
    let time = u32::try_from(hour)
        .ok()
        .zip(u32::try_from(minute).ok())
        .zip(u32::try_from(second).ok())
        .and_then(|((h, m), s)| date?.and_hms_opt(h, m, s));
    let Some(time) = time else {
        return Err(invalid_date_time(format!(
            "{text} is not a date and time from 1970 to 9999"
        )));
    };
    let secs = u64::try_from(time.and_utc().timestamp()).unwrap_or(0);
    Ok(UNIX_EPOCH + Duration::from_secs(secs))
}
