//! One YAML file being read: its text, its node positions, and diagnostics pointing into it.
//! Public so that other YAML files (the gateway's configuration) are read the same way and
//! point at their problems with the same node index: [`Doc::read`] (YAML syntax, duplicate
//! keys, the value tree), then [`Doc::at_key`] / [`Doc::at_value`] / [`Doc::path_at`].

use std::path::Path;

use crate::diag::{Diagnostic, Diagnostics, Source};
use crate::yaml::{Pos, PosIndex};

/// Largest mapping or profile file read, in bytes (a large site is a few hundred KiB).
pub(crate) const MAX_FILE_BYTES: usize = 4 * 1024 * 1024;

/// A file with its position index.
#[derive(Debug)]
pub struct Doc {
    /// The text (for snippets).
    pub(crate) source: Source,
    /// Where each node was written.
    pub(crate) index: PosIndex,
}

impl Doc {
    /// Reads `text` (named `path`) as YAML, whatever kind of file it is: the one place a
    /// syntax error (a tab, bad indentation, an unclosed bracket), a duplicate key (both
    /// places) or an oversized file is reported, with line and column. On success, the
    /// indexed document and its value tree (decide the file's kind from its top-level keys).
    pub fn read(path: &Path, text: &str) -> Result<(Doc, serde_yaml::Value), Diagnostics> {
        match Doc::read_parts(path, text) {
            (doc, Some(value), diags) if diags.is_empty() => Ok((doc, value)),
            (_, _, diags) => Err(Diagnostics(diags)),
        }
    }

    /// [`Doc::read`] in parts: the document (indexed as far as the text allows), the value
    /// if the text parsed, and the problems found (duplicate keys may come with a value).
    pub(crate) fn read_parts(
        path: &Path,
        text: &str,
    ) -> (Doc, Option<serde_yaml::Value>, Vec<Diagnostic>) {
        let mut doc = Doc::new(path, text);
        if text.len() > MAX_FILE_BYTES {
            let d = doc.whole(format!(
                "the file is {} bytes; at most {MAX_FILE_BYTES} are read",
                text.len()
            ));
            return (doc, None, vec![d]);
        }
        // serde_norway first: it bounds nesting depth and alias expansion, so the position
        // pass below only ever indexes documents of reasonable shape.
        let parsed: Result<serde_yaml::Value, _> = serde_yaml::from_str(text);
        let duplicate_entry =
            matches!(&parsed, Err(e) if e.to_string().contains("duplicate entry"));
        let (index, duplicates, rust_yaml_error) = if parsed.is_ok() || duplicate_entry {
            PosIndex::build(text)
        } else {
            (PosIndex::default(), Vec::new(), None)
        };
        doc.index = index;
        let duplicate_diags: Vec<Diagnostic> = duplicates
            .iter()
            .map(|d| {
                Diagnostic::at(
                    &doc.source,
                    d.second.line,
                    d.second.column,
                    &doc.index.display(&d.pointer),
                    format!(
                        "`{}` is given twice in the same mapping (first on line {})",
                        d.key, d.first.line
                    ),
                )
            })
            .collect();
        match parsed {
            Ok(value) => (doc, Some(value), duplicate_diags),
            // The position pass names every duplicate, with both places.
            Err(_) if duplicate_entry && !duplicate_diags.is_empty() => {
                (doc, None, duplicate_diags)
            }
            Err(e) => {
                let (line, column) = e
                    .location()
                    .map(|l| (l.line(), l.column()))
                    .or(rust_yaml_error.as_ref().map(|(p, _)| (p.line, p.column)))
                    .unwrap_or((0, 0));
                let message = strip_location(&e.to_string());
                let d = Diagnostic::at(
                    &doc.source,
                    line,
                    column,
                    "",
                    format!("not valid YAML: {message}"),
                );
                (doc, None, vec![d])
            }
        }
    }

    /// The readable key path (`security.created_window_secs`) of the node whose key or value
    /// starts at `line`:`column`, if one does (to name the key of an error found by position).
    pub fn path_at(&self, line: usize, column: usize) -> Option<String> {
        self.index
            .pointer_at(Pos { line, column })
            .map(|p| self.index.display(&p))
    }

    /// A diagnostic at `line`:`column` (1-based, 0 unknown) with key path `path` as written
    /// (`server.listen[1]`), for a problem another parser found by position.
    pub fn at_position(
        &self,
        line: usize,
        column: usize,
        path: &str,
        message: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic::at(&self.source, line, column, path, message)
    }

    /// A document not yet indexed.
    pub(crate) fn new(path: &Path, text: &str) -> Doc {
        Doc {
            source: Source::new(path, text),
            index: PosIndex::default(),
        }
    }

    /// A diagnostic pointing at the value at JSON pointer `pointer` (`/server/listen/1`), or
    /// its nearest written ancestor; the diagnostic's path reads `server.listen[1]`.
    pub fn at_value(&self, pointer: &str, message: impl Into<String>) -> Diagnostic {
        let pos = self.index.value_pos(pointer);
        self.diag(pos, pointer, message)
    }

    /// A diagnostic pointing at the key naming `pointer` (for unknown or misplaced keys); a
    /// sequence item has no key, and the diagnostic points at its value.
    pub fn at_key(&self, pointer: &str, message: impl Into<String>) -> Diagnostic {
        let pos = self.index.key_pos(pointer);
        self.diag(pos, pointer, message)
    }

    /// A diagnostic for the whole file (no position).
    pub(crate) fn whole(&self, message: impl Into<String>) -> Diagnostic {
        Diagnostic::at(&self.source, 0, 0, "", message)
    }

    /// The 1-based line the value at `pointer` starts on (0 if unknown).
    pub(crate) fn line_of(&self, pointer: &str) -> usize {
        self.index.value_pos(pointer).map_or(0, |p| p.line)
    }

    fn diag(
        &self,
        pos: Option<crate::yaml::Pos>,
        pointer: &str,
        message: impl Into<String>,
    ) -> Diagnostic {
        let (line, column) = pos.map_or((0, 0), |p| (p.line, p.column));
        Diagnostic::at(
            &self.source,
            line,
            column,
            &self.index.display(pointer),
            message,
        )
    }
}

/// serde_norway's message without its own ` at line L column C` suffix (the diagnostic
/// carries the position).
pub(crate) fn strip_location(message: &str) -> String {
    message
        .split(" at line ")
        .next()
        .unwrap_or(message)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_err(text: &str) -> Diagnostics {
        Doc::read(Path::new("site.yaml"), text).unwrap_err()
    }

    #[test]
    fn syntax_errors_have_line_and_column_whatever_the_file() {
        for (text, line) in [
            ("controllers:\n\t- name: a\n", 2),
            ("server:\n  listen: [a]\n   realm: x\n", 3),
            ("device: {name: a\nserver: {}\n", 2),
        ] {
            let d = read_err(text);
            assert_eq!(d.0.len(), 1, "{d}");
            assert_eq!(d.0[0].line, line, "{text:?}: {d}");
            assert!(d.0[0].column > 0, "{d}");
            assert!(d.0[0].message.starts_with("not valid YAML: "), "{d}");
            assert!(!d.0[0].message.contains(" at line "), "{d}");
        }
    }

    /// Found by the mapping_yaml fuzz target: an unclosed flow mapping at the end of a file
    /// without a final line break was reported on a line past the end of the file.
    #[test]
    fn an_error_at_the_end_of_the_text_is_on_its_last_line() {
        let text = "controllers:\n  - name: line\n    modbus_rtu: {device: ";
        let d = read_err(text);
        assert_eq!((d.0[0].line, d.0[0].column), (3, 26), "{d}");
        // With a final line break the end is the start of the (empty) next line, as before.
        let d = read_err("controllers:\n  - {name: a\n");
        assert_eq!(d.0[0].line, 3, "{d}");
    }

    #[test]
    fn duplicate_keys_name_both_places() {
        let d = read_err("server:\n  realm: a\n  realm: b\n");
        assert_eq!((d.0[0].line, d.0[0].column), (3, 3), "{d}");
        assert!(d.0[0].message.contains("first on line 2"), "{d}");
    }

    #[test]
    fn a_good_file_gives_its_value_and_paths_by_position() {
        let (doc, value) = Doc::read(
            Path::new("c.yaml"),
            "security:\n  realm: x\n  max_users: 3\n",
        )
        .unwrap();
        assert!(value.get("security").is_some());
        assert_eq!(doc.path_at(3, 3).as_deref(), Some("security.max_users"));
        assert_eq!(doc.path_at(3, 14).as_deref(), Some("security.max_users"));
        assert_eq!(doc.path_at(9, 1), None);
    }
}
