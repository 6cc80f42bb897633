//! From ONVIF's POSIX TZ rules to the zone names systemd-timedated takes, and back: a rule
//! is the footer of a TZif file (`clock::tzif_footer`), so the zone for a rule is one whose
//! file under `zoneinfo` ends with that rule (preferring the canonical zones of
//! `zone1970.tab`, then any, each in name order), and the rule of a zone is its footer.
//! Rules without daylight saving that no zone file has are fixed offsets, `Etc/GMT±N`,
//! where N is a whole number of hours.

use std::path::{Path, PathBuf};

use super::clock::tzif_footer;
use super::tz::PosixTz;

/// The system's zone folder.
pub const ZONEINFO: &str = "/usr/share/zoneinfo";

/// The POSIX rule of zone `name` (e.g. `Europe/Berlin`), from its file's footer.
pub fn rule_of(zoneinfo: &Path, name: &str) -> Option<String> {
    if name.split('/').any(|c| c == ".." || c.is_empty()) {
        return None;
    }
    tzif_footer(&std::fs::read(zoneinfo.join(name)).ok()?)
}

/// A zone whose rule is `tz` (with the daylight part dropped when `use_dst` is false), or
/// `None` if no zone has that rule.
pub fn zone_for(zoneinfo: &Path, tz: &PosixTz, use_dst: bool) -> Option<String> {
    let wanted = if use_dst || !tz.has_daylight() {
        tz.as_str().to_owned()
    } else {
        tz.standard_part()
    };
    if matches!(wanted.as_str(), "UTC0" | "GMT0" | "<UTC>0" | "<GMT>0") {
        return Some("Etc/UTC".into());
    }
    let preferred = canonical_zones(zoneinfo);
    let others = {
        let mut all = Vec::new();
        walk(zoneinfo, zoneinfo, &mut all);
        all.sort();
        all
    };
    let found = preferred
        .iter()
        .chain(others.iter())
        .find(|name| rule_of(zoneinfo, name).as_deref() == Some(wanted.as_str()))
        .cloned();
    found.or_else(|| fixed_offset_zone(&wanted))
}

/// `Etc/GMT±N` for a rule that is a whole-hour offset without daylight saving.
fn fixed_offset_zone(rule: &str) -> Option<String> {
    let tz = PosixTz::parse(rule).ok()?;
    if tz.has_daylight() {
        return None;
    }
    let east = tz.offset_at(0, false).east;
    if east % 3600 != 0 || !(-12..=14).contains(&(east / 3600)) {
        return None;
    }
    // Etc/GMT's sign is POSIX's: Etc/GMT-1 is one hour east of Greenwich.
    Some(match east / 3600 {
        0 => "Etc/UTC".into(),
        h if h > 0 => format!("Etc/GMT-{h}"),
        h => format!("Etc/GMT+{}", -h),
    })
}

/// The zones of `zone1970.tab`, in file order, each once.
fn canonical_zones(zoneinfo: &Path) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(zoneinfo.join("zone1970.tab")) else {
        return Vec::new();
    };
    let mut zones: Vec<String> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split('\t').nth(2).map(str::to_owned))
        .collect();
    zones.sort();
    zones.dedup();
    zones
}

/// Every zone file under `dir`, as names relative to `root` (the `posix/` and `right/`
/// copies and the tables left out).
fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path: PathBuf = e.path();
        let Ok(rel) = path.strip_prefix(root) else {
            continue;
        };
        let name = rel.to_string_lossy().into_owned();
        if ["posix", "right", "posixrules", "localtime", "Factory"].contains(&name.as_str())
            || name.contains('.')
        {
            continue;
        }
        match e.file_type() {
            Ok(t) if t.is_dir() => walk(root, &path, out),
            Ok(_) => out.push(name),
            Err(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zoneinfo() -> Option<&'static Path> {
        let p = Path::new(ZONEINFO);
        p.join("Europe/Berlin").exists().then_some(p)
    }

    #[test]
    fn rules_find_zones_with_the_same_rule() {
        let Some(z) = zoneinfo() else {
            eprintln!("skipped: no {ZONEINFO} here");
            return;
        };
        let cet = PosixTz::parse("CET-1CEST,M3.5.0,M10.5.0/3").unwrap();
        let zone = zone_for(z, &cet, true).expect("a zone");
        assert_eq!(rule_of(z, &zone).as_deref(), Some(cet.as_str()), "{zone}");
        let utc = PosixTz::parse("UTC0").unwrap();
        assert_eq!(zone_for(z, &utc, true).as_deref(), Some("Etc/UTC"));
        // DaylightSavings false: the standard part only, a fixed offset.
        let fixed = zone_for(z, &cet, false).expect("a zone");
        assert_eq!(
            PosixTz::parse(&rule_of(z, &fixed).unwrap())
                .unwrap()
                .offset_at(0, true)
                .east,
            3600,
            "{fixed}"
        );
        // Half an hour off a whole hour with no zone of that rule: none.
        let odd = PosixTz::parse("XYZ-1:17").unwrap();
        assert_eq!(zone_for(z, &odd, true), None);
        assert_eq!(rule_of(z, "../../etc/passwd"), None);
    }

    #[test]
    fn fixed_offsets_follow_etc_gmt_sign_convention() {
        assert_eq!(fixed_offset_zone("<+03>-3").as_deref(), Some("Etc/GMT-3"));
        assert_eq!(fixed_offset_zone("<-05>5").as_deref(), Some("Etc/GMT+5"));
        assert_eq!(fixed_offset_zone("IST-5:30"), None);
    }
}
