//! GetSystemDateAndTime: the host clock, read without authentication so clients can compute
//! the offset they add to a UsernameToken's Created.

use std::time::SystemTime;

use chrono::{DateTime, Datelike, Timelike, Utc};

use crate::host::clock;
use crate::services::{Ctx, OpResult};
use crate::xml::write::bool_str;
use crate::xml::{Element, XmlWriter};

#[allow(clippy::too_many_arguments)]
fn write_date_time(
    w: &mut XmlWriter,
    tag: &str,
    year: i32,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
) {
    w.with(tag, &[], |w| {
        w.with("tt:Time", &[], |w| {
            w.leaf("tt:Hour", &hour.to_string());
            w.leaf("tt:Minute", &minute.to_string());
            w.leaf("tt:Second", &second.to_string());
        });
        w.with("tt:Date", &[], |w| {
            w.leaf("tt:Year", &year.to_string());
            w.leaf("tt:Month", &month.to_string());
            w.leaf("tt:Day", &day.to_string());
        });
    });
}

pub(super) async fn get_system_date_and_time(_ctx: &Ctx, _req: &Element) -> OpResult {
    let now = SystemTime::now();
    let utc: DateTime<Utc> = now.into();
    let local = clock::local_time(now);
    let ntp = clock::clock_synchronized().unwrap_or(false);
    let mut w = XmlWriter::new();
    w.with("tds:GetSystemDateAndTimeResponse", &[], |w| {
        w.with("tds:SystemDateAndTime", &[], |w| {
            w.leaf("tt:DateTimeType", if ntp { "NTP" } else { "Manual" });
            w.leaf(
                "tt:DaylightSavings",
                bool_str(local.as_ref().is_some_and(|l| l.dst)),
            );
            if let Some(tz) = clock::posix_tz_cached() {
                w.with("tt:TimeZone", &[], |w| {
                    w.leaf("tt:TZ", &tz);
                });
            }
            write_date_time(
                w,
                "tt:UTCDateTime",
                utc.year(),
                utc.month(),
                utc.day(),
                utc.hour(),
                utc.minute(),
                utc.second(),
            );
            if let Some(l) = local {
                write_date_time(
                    w,
                    "tt:LocalDateTime",
                    l.year,
                    l.month,
                    l.day,
                    l.hour,
                    l.minute,
                    l.second,
                );
            }
        });
    });
    Ok(w.finish())
}
