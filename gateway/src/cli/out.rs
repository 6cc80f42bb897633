//! Output of the subcommands: results on standard output through [`line`], safe against a
//! closed pipe (`railgate check --explain site.yaml | head` ends quietly, with success),
//! messages on standard error through [`note`] (never fails: with no one to tell, there is
//! nothing to do), and aligned columns through [`table`].

use std::fmt::Display;
use std::io::{ErrorKind, Write};
use std::process::ExitCode;

use super::EX_IOERR;

/// Why a result could not be printed.
#[derive(Debug)]
pub(crate) enum OutError {
    /// The reader went away (EPIPE): stop printing, successfully.
    Closed,
    /// Writing failed otherwise (e.g. a full disk behind a redirection).
    Failed(std::io::Error),
}

/// Prints one line of a result on standard output.
pub(crate) fn line(text: impl Display) -> Result<(), OutError> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")
        .and_then(|()| out.flush())
        .map_err(|e| match e.kind() {
            ErrorKind::BrokenPipe => OutError::Closed,
            _ => OutError::Failed(e),
        })
}

/// Prints a message on standard error, ignoring failure.
pub(crate) fn note(text: impl Display) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

/// The exit code of a subcommand that printed through [`line`]: a closed pipe is success.
pub(crate) fn finish(result: Result<ExitCode, OutError>) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(OutError::Closed) => ExitCode::SUCCESS,
        Err(OutError::Failed(e)) => {
            note(format_args!("railgate: cannot write the output: {e}"));
            ExitCode::from(EX_IOERR)
        }
    }
}

/// `rows` as lines of columns separated by two spaces, each column as wide as its widest
/// cell (the last one is not padded).
pub(crate) fn table(rows: &[Vec<String>]) -> Vec<String> {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    rows.iter()
        .map(|row| {
            let mut text = String::new();
            for (c, cell) in row.iter().enumerate() {
                if c + 1 == row.len() {
                    text.push_str(cell);
                } else {
                    let pad = widths[c].saturating_sub(cell.chars().count());
                    text.push_str(cell);
                    text.push_str(&" ".repeat(pad + 2));
                }
            }
            text
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up() {
        let rows = vec![
            vec!["A".into(), "BB".into(), "C".into()],
            vec!["aaa".into(), "b".into(), "c".into()],
        ];
        assert_eq!(table(&rows), ["A    BB  C", "aaa  b   c"]);
    }
}
