//! Clock facts: broken-down local time, the POSIX TZ rule, NTP sync state.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::debug;

/// Broken-down local (wall-clock) time as `localtime_r(3)` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalTime {
    /// Full year, e.g. 2024.
    pub year: i32,
    /// Month, 1..=12.
    pub month: u32,
    /// Day of month, 1..=31.
    pub day: u32,
    /// Hour, 0..=23.
    pub hour: u32,
    /// Minute, 0..=59.
    pub minute: u32,
    /// Second, 0..=60 (60 only for a leap second).
    pub second: u32,
    /// Daylight saving time is in effect.
    pub dst: bool,
}

/// Converts `at` to local time with `localtime_r(3)` (which honours `$TZ`
/// and `/etc/localtime`); `None` if the instant is out of range.
#[allow(
    unsafe_code,
    reason = "no maintained crate exposes localtime_r's DST flag; the call is checked below"
)]
pub fn local_time(at: SystemTime) -> Option<LocalTime> {
    let secs = match at.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).ok()?,
        // Round towards negative infinity for instants before the epoch.
        Err(e) => {
            let d = e.duration();
            -i64::try_from(d.as_secs()).ok()? - i64::from(d.subsec_nanos() > 0)
        }
    };
    let t = libc::time_t::try_from(secs).ok()?;
    let mut tm = std::mem::MaybeUninit::<libc::tm>::uninit();
    // SAFETY: both pointers refer to live locals; localtime_r is the
    // thread-safe variant, fully initialises `tm` when it returns non-null,
    // and returns null (leaving `tm` unread) on failure.
    let tm = unsafe {
        if libc::localtime_r(&raw const t, tm.as_mut_ptr()).is_null() {
            debug!(secs, "localtime_r failed");
            return None;
        }
        tm.assume_init()
    };
    let field = |v: libc::c_int| u32::try_from(v).ok();
    Some(LocalTime {
        year: tm.tm_year.checked_add(1900)?,
        month: field(tm.tm_mon)? + 1,
        day: field(tm.tm_mday)?,
        hour: field(tm.tm_hour)?,
        minute: field(tm.tm_min)?,
        second: field(tm.tm_sec)?,
        dst: tm.tm_isdst > 0,
    })
}

/// The POSIX TZ rule in force (e.g. `CET-1CEST,M3.5.0,M10.5.0/3`):
/// - `$TZ` itself when it is a POSIX rule; `Some("UTC0")` when it is empty
///   (glibc treats an empty `TZ` as UTC);
/// - when `$TZ` names a zone (`Europe/Berlin`, `:Europe/Berlin` or an absolute
///   path), the footer of that file under `/usr/share/zoneinfo`;
/// - when `$TZ` is unset, the footer of `/etc/localtime`.
///
/// `None` if the file is missing, is TZif version 1, or has an empty footer.
pub fn posix_tz() -> Option<String> {
    let path = match std::env::var_os("TZ") {
        None => PathBuf::from("/etc/localtime"),
        Some(tz) => {
            let tz = tz.to_str()?;
            if tz.is_empty() {
                return Some("UTC0".to_owned());
            }
            if is_posix_rule(tz) {
                return Some(tz.to_owned());
            }
            zone_file(tz)?
        }
    };
    let bytes = std::fs::read(&path)
        .map_err(|error| debug!(path = %path.display(), %error, "cannot read zone file"))
        .ok()?;
    tzif_footer(&bytes)
}

/// [`posix_tz`], re-read at most every ten seconds: GetSystemDateAndTime is called often
/// (every client, first), and the zone rarely changes.
pub fn posix_tz_cached() -> Option<String> {
    use parking_lot::Mutex;
    use std::time::{Duration, Instant};
    static CACHE: Mutex<Option<(Instant, Option<String>)>> = Mutex::new(None);
    let mut cache = CACHE.lock();
    match &*cache {
        Some((at, tz)) if at.elapsed() < Duration::from_secs(10) => tz.clone(),
        _ => {
            let tz = posix_tz();
            *cache = Some((Instant::now(), tz.clone()));
            tz
        }
    }
}

/// Maps a `$TZ` zone name or `:path` to a file; rejects `..` components.
fn zone_file(tz: &str) -> Option<PathBuf> {
    let name = tz.strip_prefix(':').unwrap_or(tz);
    if name.is_empty() {
        return Some(PathBuf::from("/etc/localtime"));
    }
    if name.split('/').any(|c| c == "..") {
        return None;
    }
    Some(Path::new("/usr/share/zoneinfo").join(name))
}

/// Whether `tz` looks like a POSIX TZ rule rather than a zone name: a
/// standard-time name (3+ letters or `<...>`) followed by an offset.
fn is_posix_rule(tz: &str) -> bool {
    let rest = if let Some(quoted) = tz.strip_prefix('<') {
        quoted.split_once('>').map_or("", |(_, rest)| rest)
    } else {
        let letters = tz.bytes().take_while(u8::is_ascii_alphabetic).count();
        if letters < 3 { "" } else { &tz[letters..] }
    };
    let rest = rest.strip_prefix(['+', '-']).unwrap_or(rest);
    rest.starts_with(|c: char| c.is_ascii_digit())
}

/// Extracts the POSIX TZ footer of a TZif file (version 2 or later), which
/// ends with `"\n<rule>\n"`. `None` for other data or an empty footer.
pub fn tzif_footer(bytes: &[u8]) -> Option<String> {
    if bytes.len() < 44 || !bytes.starts_with(b"TZif") || bytes[4] < b'2' {
        return None;
    }
    let body = bytes.strip_suffix(b"\n")?;
    let start = body.iter().rposition(|&b| b == b'\n')? + 1;
    let footer = std::str::from_utf8(&body[start..]).ok()?;
    let valid = !footer.is_empty() && footer.bytes().all(|b| b.is_ascii_graphic());
    valid.then(|| footer.to_owned())
}

/// Kernel NTP state via `adjtimex(2)` in read-only mode (`modes = 0`):
/// `Some(false)` if `STA_UNSYNC` is set, `Some(true)` otherwise, `None` if
/// the call fails (e.g. in a sandbox that does not implement it).
#[allow(
    unsafe_code,
    reason = "nix does not wrap adjtimex(2); a read-only call on a zeroed local"
)]
pub fn clock_synchronized() -> Option<bool> {
    // SAFETY: `timex` is plain integers, so all-zero is a valid value; with
    // `modes == 0` adjtimex only reads the kernel state into the live local.
    let (rc, status) = unsafe {
        let mut tx: libc::timex = std::mem::zeroed();
        (libc::adjtimex(&raw mut tx), tx.status)
    };
    if rc == -1 {
        debug!(error = %std::io::Error::last_os_error(), "adjtimex failed");
        return None;
    }
    Some(status & libc::STA_UNSYNC == 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn footer_from_synthetic_tzif() {
        let mut file = b"TZif2".to_vec();
        file.resize(44, 0);
        file.extend_from_slice(b"\0\x01\nbinary\0\0\nCET-1CEST,M3.5.0,M10.5.0/3\n");
        assert_eq!(
            tzif_footer(&file).as_deref(),
            Some("CET-1CEST,M3.5.0,M10.5.0/3")
        );
        file[4] = 0; // version 1 files have no footer
        assert_eq!(tzif_footer(&file), None);
        let mut empty = b"TZif3".to_vec();
        empty.resize(50, 0);
        empty.extend_from_slice(b"\n\n");
        assert_eq!(tzif_footer(&empty), None);
        assert_eq!(tzif_footer(b""), None);
        assert_eq!(tzif_footer(b"TZif2\n"), None);
    }

    #[test]
    fn footer_from_real_zone_files() {
        let cases = [
            ("Europe/Berlin", "CET-1CEST,M3.5.0,M10.5.0/3"),
            ("America/New_York", "EST5EDT,M3.2.0,M11.1.0"),
            ("Etc/UTC", "UTC0"),
        ];
        for (zone, rule) in cases {
            let Ok(bytes) = std::fs::read(Path::new("/usr/share/zoneinfo").join(zone)) else {
                continue; // tzdata not installed
            };
            assert_eq!(tzif_footer(&bytes).as_deref(), Some(rule), "{zone}");
        }
    }

    #[test]
    fn posix_rules_vs_zone_names() {
        for rule in "UTC0 CET-1CEST,M3.5.0,M10.5.0/3 <+03>-3 EST5EDT JST-9".split(' ') {
            assert!(is_posix_rule(rule), "{rule}");
        }
        for name in "UTC Europe/Berlin :Europe/Berlin /etc/localtime <+03 X1".split(' ') {
            assert!(!is_posix_rule(name), "{name}");
        }
        assert_eq!(zone_file("../../etc/passwd"), None);
        assert_eq!(
            zone_file(":Europe/Berlin"),
            Some(PathBuf::from("/usr/share/zoneinfo/Europe/Berlin"))
        );
        assert_eq!(
            zone_file("/etc/localtime"),
            Some(PathBuf::from("/etc/localtime"))
        );
    }

    #[test]
    fn local_time_matches_chrono() {
        use chrono::{Local, TimeZone};
        let now = local_time(SystemTime::now()).expect("local time of now");
        assert!(now.year >= 2024 && (1..=12).contains(&now.month));
        let at = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let o = local_time(at).unwrap();
        let ours = format!(
            "{}-{:02}-{:02} {:02}:{:02}:{:02}",
            o.year, o.month, o.day, o.hour, o.minute, o.second
        );
        let theirs = Local.timestamp_opt(1_700_000_000, 0).unwrap();
        assert_eq!(ours, theirs.format("%Y-%m-%d %H:%M:%S").to_string());
        let before = local_time(UNIX_EPOCH - Duration::from_millis(1500));
        assert_eq!(before, local_time(UNIX_EPOCH - Duration::from_secs(2)));
    }

    #[test]
    fn live_clock_readers() {
        let _ = (posix_tz(), clock_synchronized());
    }
}
