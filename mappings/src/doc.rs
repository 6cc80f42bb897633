//! One YAML file being read: its text, its node positions, and diagnostics pointing into it.

use std::path::Path;

use crate::diag::{Diagnostic, Source};
use crate::yaml::PosIndex;

/// A file with its position index.
#[derive(Debug)]
pub(crate) struct Doc {
    /// The text (for snippets).
    pub source: Source,
    /// Where each node was written.
    pub index: PosIndex,
}

impl Doc {
    /// A document not yet indexed.
    pub(crate) fn new(path: &Path, text: &str) -> Doc {
        Doc {
            source: Source::new(path, text),
            index: PosIndex::default(),
        }
    }

    /// A diagnostic pointing at the value at `pointer` (or its nearest written ancestor).
    pub(crate) fn at_value(&self, pointer: &str, message: impl Into<String>) -> Diagnostic {
        let pos = self.index.value_pos(pointer);
        self.diag(pos, pointer, message)
    }

    /// A diagnostic pointing at the key naming `pointer` (for unknown or misplaced keys).
    pub(crate) fn at_key(&self, pointer: &str, message: impl Into<String>) -> Diagnostic {
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
