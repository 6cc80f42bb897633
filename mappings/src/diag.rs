//! Diagnostics that point into the file the integrator wrote.

use std::fmt;
use std::path::PathBuf;

/// A configuration file kept in memory so diagnostics can quote it.
#[derive(Clone, Debug)]
pub struct Source {
    /// Where it was read from (shown in diagnostics).
    pub path: PathBuf,
    /// Its full text.
    pub text: String,
}

impl Source {
    /// Wraps a text read from `path`.
    pub fn new(path: impl Into<PathBuf>, text: impl Into<String>) -> Self {
        Source {
            path: path.into(),
            text: text.into(),
        }
    }

    /// The 1-based line `line` of the text, without its line end.
    pub fn line(&self, line: usize) -> Option<&str> {
        self.text.lines().nth(line.checked_sub(1)?)
    }
}

/// How bad a finding is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Severity {
    /// The file cannot be used.
    #[default]
    Error,
    /// Likely a mistake, but the file works as written: `railgate check` prints it and
    /// still succeeds; the gateway logs it at start.
    Warning,
}

impl Severity {
    /// `error` or `warning`, as printed.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// One problem found in a file: where, and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file.
    pub file: PathBuf,
    /// 1-based line; 0 when unknown.
    pub line: usize,
    /// 1-based column; 0 when unknown.
    pub column: usize,
    /// The key path, e.g. `server.listen[1]`; empty when unknown.
    pub path: String,
    /// What is wrong, in the integrator's words.
    pub message: String,
    /// The offending source line, if known, for the caret display.
    pub snippet: Option<String>,
    /// Error (the file is refused) or warning.
    pub severity: Severity,
}

impl Diagnostic {
    /// A diagnostic at `line`:`column` of `source` (1-based; 0 for unknown).
    pub fn at(
        source: &Source,
        line: usize,
        column: usize,
        path: &str,
        message: impl Into<String>,
    ) -> Self {
        let (line, column) = within_text(&source.text, line, column);
        Diagnostic {
            file: source.path.clone(),
            line,
            column,
            path: path.to_string(),
            message: message.into(),
            snippet: source.line(line).map(str::to_string),
            severity: Severity::Error,
        }
    }

    /// The same finding as a warning.
    pub fn warning(mut self) -> Self {
        self.severity = Severity::Warning;
        self
    }

    /// Whether it is only a warning.
    pub fn is_warning(&self) -> bool {
        self.severity == Severity::Warning
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if self.line > 0 {
            write!(f, ":{}:{}", self.line, self.column)?;
        }
        write!(f, ": {}: {}", self.severity.as_str(), self.message)?;
        if !self.path.is_empty() {
            write!(f, " (at `{}`)", self.path)?;
        }
        if let Some(snippet) = &self.snippet {
            let gutter = self.line.to_string();
            write!(f, "\n {gutter} | {snippet}")?;
            if self.column > 0 {
                // Tabs keep their width so the caret lines up under the column.
                let pad: String = snippet
                    .chars()
                    .take(self.column - 1)
                    .map(|c| if c == '\t' { '\t' } else { ' ' })
                    .collect();
                write!(f, "\n {} | {pad}^", " ".repeat(gutter.len()))?;
            }
        }
        Ok(())
    }
}

/// The YAML parsers put a position at the end of a text that does not end with a line break
/// (a syntax error there, an empty value) on the line after its last one; such a position is
/// moved to the end of the last line, so that a diagnostic always names a place in the file. Lines are counted as YAML counts them (LF,
/// CR LF, a lone CR, NEL, LS, PS).
fn within_text(text: &str, line: usize, column: usize) -> (usize, usize) {
    let mut breaks = 0;
    let mut last_start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        let is_break = match c {
            '\r' => {
                chars.next_if(|&(_, n)| n == '\n');
                true
            }
            '\n' | '\u{85}' | '\u{2028}' | '\u{2029}' => true,
            _ => false,
        };
        if is_break {
            breaks += 1;
            last_start = chars.peek().map_or(text.len(), |&(i, _)| i);
        }
    }
    let last = breaks + 1;
    if line > last {
        (last, text[last_start..].chars().count() + 1)
    } else {
        (line, column)
    }
}

/// The candidate `word` most likely meant (a typo, a different case, a common synonym such as
/// `slave` for `unit`), if one is close enough: the one "did you mean" of both files.
pub fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    crate::suggest::did_you_mean(word, candidates)
}

/// The message for key `key` where only `allowed` are known: "unknown key `nmae`; did you
/// mean `name`?", or the allowed keys when none is close.
pub fn unknown_key(key: &str, allowed: &[&str]) -> String {
    let suggestion = crate::suggest::hint(key, allowed);
    let mut message = format!("unknown key `{key}`{suggestion}");
    if !allowed.is_empty() && suggestion.is_empty() {
        message.push_str(&format!(" (allowed here: {})", allowed.join(", ")));
    }
    message
}

/// Every problem found in one pass: validation reports them all at once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

#[cfg(test)]
mod tests {
    #[test]
    fn positions_past_the_end_are_on_the_last_line() {
        assert_eq!(within_text("a\rb\r\nc", 9, 1), (3, 2));
        assert_eq!(within_text("a\rb", 2, 1), (2, 1));
        assert_eq!(within_text("ab\n", 2, 1), (2, 1));
        assert_eq!(within_text("ab", 0, 0), (0, 0));
        let d = Diagnostic::at(&Source::new("x.yaml", "k: !t"), 2, 1, "", "m");
        assert_eq!((d.line, d.column), (1, 6));
    }

    use super::*;

    #[test]
    fn renders_file_line_column_path_and_caret() {
        let src = Source::new("site.yaml", "server:\n  listen: [1]\n");
        let d = Diagnostic::at(&src, 2, 12, "server.listen[0]", "expected an address");
        assert_eq!(
            d.to_string(),
            "site.yaml:2:12: error: expected an address (at `server.listen[0]`)\n 2 |   listen: [1]\n   |            ^"
        );
    }

    #[test]
    fn a_warning_says_so() {
        let src = Source::new("site.yaml", "a: 40001\n");
        let d = Diagnostic::at(&src, 1, 4, "a", "looks odd").warning();
        assert!(d.is_warning());
        assert!(
            d.to_string()
                .starts_with("site.yaml:1:4: warning: looks odd")
        );
    }

    #[test]
    fn unknown_keys_suggest_or_list() {
        assert_eq!(
            unknown_key("nmae", &["name", "model"]),
            "unknown key `nmae`; did you mean `name`?"
        );
        assert_eq!(
            unknown_key("zzz", &["name", "model"]),
            "unknown key `zzz` (allowed here: name, model)"
        );
        assert_eq!(did_you_mean("Off", &["all", "off"]), Some("off"));
    }

    #[test]
    fn unknown_position_has_no_snippet() {
        let src = Source::new("x.yaml", "a: 1\n");
        let d = Diagnostic::at(&src, 0, 0, "", "empty");
        assert_eq!(d.to_string(), "x.yaml: error: empty");
    }
}
