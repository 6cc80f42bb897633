//! Reading the file a subcommand is given: a configuration, or a mapping file. The text is
//! read as YAML once ([`railgate_mappings::Doc::read`]), so a syntax error is reported as
//! one, with its line and column, whatever the kind of file; only then is the kind decided,
//! from the top-level keys.

use std::path::{Path, PathBuf};

use railgate::config::Config;
use railgate_mappings::{Checked, Diagnostic, Diagnostics, Doc, Source};

/// Keys only a mapping file has at its top level.
const MAPPING_KEYS: &[&str] = &[
    "controllers",
    "inputs",
    "relays",
    "values",
    "commands",
    "topic_namespaces",
    "serial_ports",
    "card_readers",
];

/// What a file turned out to be.
#[derive(Debug)]
pub(crate) enum Site {
    /// A mapping file.
    Mapping(Result<Checked, Diagnostics>),
    /// A valid configuration, and the mapping it names (checked), if it names one.
    Config(Option<(PathBuf, Result<Checked, Diagnostics>)>),
}

/// Reads `path`: every problem of the file itself (unreadable, not YAML, a bad
/// configuration) is the error; a configuration's mapping is checked too, its problems kept
/// beside it.
pub(crate) fn read(path: &Path) -> Result<Site, Diagnostics> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Diagnostics(vec![Diagnostic::at(
            &Source::new(path, ""),
            0,
            0,
            "",
            format!("cannot read: {e}"),
        )])
    })?;
    let (_, value) = Doc::read(path, &text)?;
    let is_mapping = value.as_mapping().is_some_and(|m| {
        m.keys()
            .filter_map(|k| k.as_str())
            .any(|k| MAPPING_KEYS.contains(&k))
    });
    if is_mapping {
        return Ok(Site::Mapping(railgate_mappings::check_str(path, &text)));
    }
    let config = Config::from_file_text(path, &text)?;
    let mapping = config
        .mapping
        .clone()
        .map(|m| (m.clone(), railgate_mappings::check_file(&m)));
    Ok(Site::Config(mapping))
}

/// The compiled mapping of `path` (a mapping file, or a configuration naming one), for the
/// subcommands that need one (`check --explain`, `probe`).
pub(crate) fn mapping(path: &Path) -> Result<Checked, Diagnostics> {
    match read(path)? {
        Site::Mapping(checked) => checked,
        Site::Config(Some((_, checked))) => checked,
        Site::Config(None) => Err(Diagnostics(vec![Diagnostic::at(
            &Source::new(path, ""),
            0,
            0,
            "mapping",
            "the configuration names no mapping file (`mapping:`), so it has no points",
        )])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn a_syntax_error_is_reported_whatever_the_kind() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            dir.path(),
            "site.yaml",
            "controllers:\n  - name: a\n\tunit: 1\n",
        );
        let d = read(&p).unwrap_err();
        let text = d.to_string();
        assert!(text.contains("site.yaml:3:"), "{text}");
        assert!(text.contains("not valid YAML"), "{text}");
        assert!(!text.contains("unknown"), "{text}");
    }

    #[test]
    fn the_kind_comes_from_the_top_level_keys() {
        let dir = tempfile::tempdir().unwrap();
        let m = write(
            dir.path(),
            "m.yaml",
            "controllers:\n  - {name: io, modbus_tcp: {host: 127.0.0.1}, unit: 1, address_base: 0}\ninputs:\n  - {token: D1, controller: io, coil: 0}\n",
        );
        assert!(matches!(read(&m).unwrap(), Site::Mapping(Ok(_))));
        let c = write(dir.path(), "c.yaml", "mapping: m.yaml\n");
        match read(&c).unwrap() {
            Site::Config(Some((path, Ok(_)))) => assert_eq!(path, m),
            other => panic!("{other:?}"),
        }
        assert_eq!(mapping(&c).unwrap().plan.inputs.len(), 1);
        let bare = write(dir.path(), "b.yaml", "server: {}\n");
        assert!(
            mapping(&bare)
                .unwrap_err()
                .to_string()
                .contains("names no mapping")
        );
    }
}
