//! Profiles: the points of a controller model, written once and instantiated per controller.
//!
//! A profile named `NAME` is looked up first as `profiles/NAME.yaml` next to the site file
//! (so a site can carry its own or override a built-in one), then among the built-in profiles
//! compiled into the binary from `mappings/profiles/`.

use std::path::{Path, PathBuf};

/// The built-in profiles: (name, YAML text).
const BUILTIN: &[(&str, &str)] = &[
    (
        "generic-io-16di-8do",
        include_str!("../profiles/generic-io-16di-8do.yaml"),
    ),
    (
        "generic-alarm-panel",
        include_str!("../profiles/generic-alarm-panel.yaml"),
    ),
    (
        "moxa-iologik-e1210",
        include_str!("../profiles/moxa-iologik-e1210.yaml"),
    ),
    (
        "moxa-iologik-e1211",
        include_str!("../profiles/moxa-iologik-e1211.yaml"),
    ),
    (
        "moxa-iologik-e1212",
        include_str!("../profiles/moxa-iologik-e1212.yaml"),
    ),
    (
        "moxa-iologik-e1212-dio-out",
        include_str!("../profiles/moxa-iologik-e1212-dio-out.yaml"),
    ),
    (
        "moxa-iologik-e1214",
        include_str!("../profiles/moxa-iologik-e1214.yaml"),
    ),
    (
        "advantech-adam-6050",
        include_str!("../profiles/advantech-adam-6050.yaml"),
    ),
    (
        "advantech-adam-6060",
        include_str!("../profiles/advantech-adam-6060.yaml"),
    ),
    (
        "advantech-adam-4055",
        include_str!("../profiles/advantech-adam-4055.yaml"),
    ),
    (
        "generic-relay-8ch-rtu",
        include_str!("../profiles/generic-relay-8ch-rtu.yaml"),
    ),
];

/// The built-in profiles as (name, YAML text), in a stable order.
pub fn builtin_profiles() -> impl Iterator<Item = (&'static str, &'static str)> {
    BUILTIN.iter().copied()
}

/// The names of the built-in profiles.
/// Built-in line protocol profiles (`line_controllers[].protocol: NAME`), apart from the
/// controller profiles above.
const LINE_BUILTIN: &[(&str, &str)] = &[("dsc-it100", include_str!("../profiles/dsc-it100.yaml"))];

/// Names of the built-in line protocols.
pub(crate) const LINE_PROTOCOLS: &[&str] = &["dsc-it100"];

/// A line protocol profile: `profiles/NAME.yaml` next to the site file, then built in.
pub(crate) fn find_line(name: &str, dir: Option<&Path>) -> Found {
    find_in(name, dir, LINE_BUILTIN)
}

pub(crate) fn builtin_names() -> Vec<&'static str> {
    BUILTIN.iter().map(|(n, _)| *n).collect()
}

/// Where a profile was found.
#[derive(Debug)]
pub(crate) enum Found {
    /// A file next to the site file.
    File(PathBuf, String),
    /// A built-in profile (pseudo path for messages, text).
    Builtin(PathBuf, &'static str),
    /// The file exists but cannot be read.
    Unreadable(PathBuf, String),
    /// Nowhere.
    Missing,
}

/// Whether `name` is a usable profile name: lowercase letters, digits, `-`, `_`, `.`; no path.
pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'))
}

/// Looks `name` up in `dir/profiles/` (when given) and then among the built-in profiles.
pub(crate) fn find(name: &str, dir: Option<&Path>) -> Found {
    find_in(name, dir, BUILTIN)
}

fn find_in(name: &str, dir: Option<&Path>, builtin: &[(&'static str, &'static str)]) -> Found {
    if let Some(dir) = dir {
        let path = dir.join("profiles").join(format!("{name}.yaml"));
        if path.is_file() {
            return match read_limited(&path) {
                Ok(text) => Found::File(path, text),
                Err(e) => Found::Unreadable(path, e),
            };
        }
    }
    match builtin.iter().find(|(n, _)| *n == name) {
        Some((n, text)) => {
            Found::Builtin(PathBuf::from(format!("<built-in>/profiles/{n}.yaml")), text)
        }
        None => Found::Missing,
    }
}

/// Reads a file of at most [`crate::doc::MAX_FILE_BYTES`].
pub(crate) fn read_limited(path: &Path) -> Result<String, String> {
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if meta.len() > crate::doc::MAX_FILE_BYTES as u64 {
        return Err(format!(
            "the file is {} bytes; at most {} are read",
            meta.len(),
            crate::doc::MAX_FILE_BYTES
        ));
    }
    std::fs::read_to_string(path).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cannot_escape_the_profiles_folder() {
        assert!(valid_name("generic-io-16di-8do"));
        assert!(!valid_name("../etc/passwd"));
        assert!(!valid_name("a/b"));
        assert!(!valid_name(".hidden"));
        assert!(!valid_name("Upper"));
        assert!(!valid_name(""));
    }

    #[test]
    fn builtins_are_found_without_a_folder() {
        assert!(matches!(
            find("generic-alarm-panel", None),
            Found::Builtin(..)
        ));
        assert!(matches!(find("nope", None), Found::Missing));
        assert_eq!(builtin_profiles().count(), BUILTIN.len());
    }
}
