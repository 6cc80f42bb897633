//! One YAML file being read: its text, its node positions, and diagnostics pointing into it.
//! Public so that other YAML files (the gateway's configuration) point at their problems
//! with the same node index: [`Doc::indexed`], then [`Doc::at_key`] / [`Doc::at_value`].

use std::path::Path;

use crate::diag::{Diagnostic, Source};
use crate::yaml::PosIndex;

/// A file with its position index.
#[derive(Debug)]
pub struct Doc {
    /// The text (for snippets).
    pub(crate) source: Source,
    /// Where each node was written.
    pub(crate) index: PosIndex,
}

impl Doc {
    /// A document whose node positions are indexed, for a text already known to parse as
    /// YAML (duplicate keys and syntax errors are not reported here).
    pub fn indexed(path: &Path, text: &str) -> Doc {
        let (index, _, _) = PosIndex::build(text);
        Doc {
            source: Source::new(path, text),
            index,
        }
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
