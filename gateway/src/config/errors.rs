//! serde's errors on a configuration file, as diagnostics of a mapping's quality: file, line
//! and column, the key path, "did you mean" for unknown keys (the mapping crate's
//! [`railgate_mappings::diag::did_you_mean`]) and hints for the mistakes integrators make:
//! a key in the wrong section (`listen:` at the top level), a duration where whole seconds
//! are expected (`created_window_secs: 5m`), a word where a list is expected
//! (`interfaces: of`).
//!
//! The field lists come from the types themselves (serde names them when asked for an
//! unknown field), so they cannot drift from the configuration.

use railgate_mappings::diag::{did_you_mean, unknown_key};
use railgate_mappings::{Diagnostic, Doc};
use serde::de::DeserializeOwned;

use super::{
    DeviceConfig, DiscoveryConfig, EventsConfig, HostConfig, MetricsConfig, SecurityConfig,
    ServerConfig,
};

/// The sections of the file and the keys each takes, from their types.
fn sections() -> Vec<(&'static str, Vec<String>)> {
    vec![
        ("device", fields_of::<DeviceConfig>()),
        ("server", fields_of::<ServerConfig>()),
        ("security", fields_of::<SecurityConfig>()),
        ("events", fields_of::<EventsConfig>()),
        ("discovery", fields_of::<DiscoveryConfig>()),
        ("host", fields_of::<HostConfig>()),
        ("metrics", fields_of::<MetricsConfig>()),
    ]
}

/// The field names of `T`, as serde lists them for an unknown field.
fn fields_of<T: DeserializeOwned>() -> Vec<String> {
    match serde_yaml::from_str::<T>("not_a_field_of_any_section: 0") {
        Ok(_) => Vec::new(),
        Err(e) => expected_fields(&e.to_string()).unwrap_or_default(),
    }
}

/// The backquoted names after "expected" in serde's unknown-field message
/// (`expected one of `a`, `b``, `expected `a` or `b``, `there are no fields`).
fn expected_fields(message: &str) -> Option<Vec<String>> {
    if message.contains("there are no fields") {
        return Some(Vec::new());
    }
    let (_, list) = message.split_once("expected ")?;
    Some(
        list.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect(),
    )
}

/// The diagnostic for serde error `e` on the file of `doc`.
pub(super) fn diagnose(doc: &Doc, e: &serde_yaml::Error) -> Diagnostic {
    let (line, column) = e
        .location()
        .map(|l| (l.line(), l.column()))
        .unwrap_or((0, 0));
    let full = e.to_string();
    let message = full.split(" at line ").next().unwrap_or(&full);
    // serde_norway puts the path of the value in front: `security.created_window_secs: ...`.
    let (prefix, message) = match message.split_once(": ") {
        Some((p, m)) if !p.contains(' ') => (p.to_string(), m.to_string()),
        _ => (String::new(), message.to_string()),
    };
    let path = doc.path_at(line, column).unwrap_or(prefix);
    doc.at_position(line, column, &path, explain(&path, &message))
}

/// serde's `message` about the key at `path`, in the integrator's words.
fn explain(path: &str, message: &str) -> String {
    if let Some(rest) = message.strip_prefix("unknown field `")
        && let Some((key, _)) = rest.split_once('`')
    {
        return unknown_field(path, key, message);
    }
    let leaf = path.rsplit(['.', ']']).next().unwrap_or(path);
    if let Some(found) = invalid_string(message) {
        if leaf.ends_with("_secs") && message.contains("expected u64") {
            let seconds = duration_secs(&found)
                .map(|s| format!(" (`{found}` is {s})"))
                .unwrap_or_default();
            return format!(
                "`{found}` is not a number of seconds: durations here are whole seconds, e.g. `{leaf}: 300`{seconds}"
            );
        }
        if message.contains("expected a sequence") {
            let meant = if leaf == "interfaces" {
                interface_keyword(&found).unwrap_or(&found).to_string()
            } else {
                found.clone()
            };
            let dym = if meant != found {
                format!("; did you mean `{meant}`?")
            } else {
                String::new()
            };
            return format!("`{leaf}` takes a list, e.g. `{leaf}: [{meant}]`{dym}");
        }
    }
    if message.starts_with("invalid socket address syntax") {
        return format!("{message}: write an address and port, e.g. `0.0.0.0:8080` or `[::]:8080`");
    }
    message.to_string()
}

/// `foo` of `invalid type: string "foo", ...` (or of an unquoted scalar serde read as a
/// string).
fn invalid_string(message: &str) -> Option<String> {
    let rest = message.strip_prefix("invalid type: string \"")?;
    let (found, _) = rest.split_once("\", expected")?;
    Some(found.to_string())
}

/// An unknown key: "did you mean" among the keys allowed there, or the section it belongs
/// in when it is a key of another one (`listen` at the top level goes under `server:`).
fn unknown_field(path: &str, key: &str, message: &str) -> String {
    let allowed = expected_fields(message).unwrap_or_default();
    let allowed: Vec<&str> = allowed.iter().map(String::as_str).collect();
    let parent = path.rsplit_once('.').map_or("", |(p, _)| p);
    let homes: Vec<&str> = sections()
        .into_iter()
        .filter(|(section, fields)| *section != parent && fields.iter().any(|f| f == key))
        .map(|(section, _)| section)
        .collect();
    if did_you_mean(key, &allowed).is_none()
        && let [home, others @ ..] = homes.as_slice()
    {
        let here = if parent.is_empty() {
            "at the top level".to_string()
        } else {
            format!("in `{parent}:`")
        };
        // The first section in the file's order is the likely one (`listen`: `server:`).
        let also = if others.is_empty() {
            String::new()
        } else {
            let list: Vec<String> = others.iter().map(|o| format!("`{o}:`")).collect();
            format!(" (or {})", list.join(", "))
        };
        return format!("unknown key `{key}` {here}: `{key}` goes under `{home}:`{also}");
    }
    unknown_key(key, &allowed)
}

/// `all` or `off` when `name` is a near miss of one of them (`of`, `Off`, `al`) rather
/// than an interface name (those nearly always carry a digit, or are `lo`).
pub(super) fn interface_keyword(name: &str) -> Option<&'static str> {
    const KEYWORDS: [&str; 2] = ["all", "off"];
    if KEYWORDS.contains(&name) || name == "lo" || name.bytes().any(|b| b.is_ascii_digit()) {
        return None;
    }
    let lower = name.to_ascii_lowercase();
    did_you_mean(name, &KEYWORDS).or_else(|| {
        KEYWORDS
            .into_iter()
            .find(|k| lower.len() >= 2 && k.starts_with(lower.as_str()))
    })
}

/// The seconds of a duration written as `5m`, `90s`, `2h` or `1d` (to say what to write).
fn duration_secs(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().ok()?;
    let factor = match unit.trim() {
        "s" | "sec" | "secs" | "seconds" => 1,
        "m" | "min" | "mins" | "minutes" => 60,
        "h" | "hour" | "hours" => 3600,
        "d" | "day" | "days" => 86_400,
        _ => return None,
    };
    n.checked_mul(factor)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::Config;
    use super::*;

    fn error(yaml: &str) -> Diagnostic {
        let d = Config::parse(Path::new("site.yaml"), yaml).unwrap_err();
        assert_eq!(d.0.len(), 1, "{d}");
        d.0.into_iter().next().unwrap()
    }

    #[test]
    fn field_lists_come_from_the_types() {
        let server = fields_of::<ServerConfig>();
        assert!(server.iter().any(|f| f == "listen"), "{server:?}");
        assert!(
            fields_of::<DiscoveryConfig>()
                .iter()
                .any(|f| f == "interfaces")
        );
    }

    #[test]
    fn a_duration_where_seconds_are_expected_says_so() {
        let d = error("security:\n  created_window_secs: 5m\n");
        assert_eq!((d.line, d.column), (2, 24), "{d}");
        assert_eq!(d.path, "security.created_window_secs");
        assert!(
            d.message.contains("durations here are whole seconds"),
            "{d}"
        );
        assert!(d.message.contains("`5m` is 300"), "{d}");
    }

    #[test]
    fn a_word_for_a_list_gets_did_you_mean() {
        let d = error("discovery:\n  interfaces: of\n");
        assert_eq!(d.line, 2, "{d}");
        assert_eq!(d.path, "discovery.interfaces");
        assert!(d.message.contains("did you mean `off`?"), "{d}");
        assert!(d.message.contains("`interfaces: [off]`"), "{d}");
        // In a list too, and a real interface name is left alone.
        let d = Config::parse(
            Path::new("s.yaml"),
            "discovery:\n  interfaces: [eth0, Off]\n",
        )
        .unwrap_err();
        assert_eq!(d.0.len(), 1, "{d}");
        assert_eq!(d.0[0].path, "discovery.interfaces[1]");
        assert!(d.0[0].message.contains("did you mean `off`?"), "{d}");
        Config::parse(
            Path::new("s.yaml"),
            "discovery:\n  interfaces: [lo, eth0, all]\n",
        )
        .unwrap();
    }

    #[test]
    fn a_key_in_the_wrong_section_names_its_section() {
        let d = error("listen: [0.0.0.0:8080]\n");
        assert_eq!((d.line, d.column), (1, 1), "{d}");
        assert_eq!(d.path, "listen");
        assert!(
            d.message
                .contains("unknown key `listen` at the top level: `listen` goes under `server:`"),
            "{d}"
        );
        assert!(d.message.contains("(or `metrics:`)"), "{d}");
        let d = error("server:\n  realm: x\n");
        assert!(d.message.contains("`realm` goes under `security:`"), "{d}");
        assert_eq!(d.path, "server.realm");
    }

    #[test]
    fn unknown_keys_get_did_you_mean_or_the_allowed_list() {
        let d = error("securty:\n  realm: x\n");
        assert!(
            d.message.contains("did you mean `security`?"),
            "{}",
            d.message
        );
        let d = error("server:\n  zzzzzz: 1\n");
        assert!(d.message.contains("allowed here: listen,"), "{}", d.message);
        assert!(
            d.to_string().contains("\n 2 |   zzzzzz: 1\n   |   ^"),
            "{d}"
        );
    }

    #[test]
    fn yaml_syntax_errors_are_reported_as_such() {
        let d = error("server:\n\tlisten: [0.0.0.0:80]\n");
        assert!(d.message.starts_with("not valid YAML"), "{d}");
        assert_eq!(d.line, 2, "{d}");
        assert!(!d.message.contains("unknown field"), "{d}");
        let d = error("device: {name: a\nserver: {}\n");
        assert!(d.message.starts_with("not valid YAML"), "{d}");
        let d = error("server:\n  realm: a\n  realm: b\n");
        assert!(d.message.contains("given twice"), "{d}");
    }

    #[test]
    fn addresses_get_an_example() {
        let d = error("server:\n  listen: [8080]\n");
        assert!(d.message.contains("e.g. `0.0.0.0:8080`"), "{d}");
    }
}
