//! `railgate check FILE`: a mapping file, or a configuration and the mapping it names.
//! Every problem is reported with file, line and column; warnings (likely mistakes that
//! work as written) are printed and do not fail the check. With `--explain`, the resolved
//! table of every point follows (see `explain`).

use std::path::Path;
use std::process::ExitCode;

use railgate_mappings::{Checked, Diagnostics};

use super::files::{self, Site};
use super::out::{self, OutError};
use super::{EX_CONFIG, explain};

/// Runs the check; `explain` prints the table of each mapping that compiled.
pub(crate) fn run(path: &Path, explain: bool) -> Result<ExitCode, OutError> {
    let ok = match files::read(path) {
        Err(diagnostics) => {
            out::note(&diagnostics);
            false
        }
        Ok(Site::Mapping(checked)) => report(path, checked, explain)?,
        Ok(Site::Config(mapping)) => {
            out::line(format_args!("{}: ok", path.display()))?;
            match mapping {
                Some((m, checked)) => report(&m, checked, explain)?,
                None => true,
            }
        }
    };
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EX_CONFIG)
    })
}

/// Prints a mapping's warnings or errors, its table when asked, and `ok`; whether it is.
fn report(
    path: &Path,
    checked: Result<Checked, Diagnostics>,
    explain: bool,
) -> Result<bool, OutError> {
    match checked {
        Ok(checked) => {
            if !checked.warnings.0.is_empty() {
                out::note(&checked.warnings);
            }
            if explain {
                for line in explain::table(&checked.plan) {
                    out::line(line)?;
                }
            }
            out::line(format_args!("{}: ok", path.display()))?;
            Ok(true)
        }
        Err(diagnostics) => {
            out::note(&diagnostics);
            Ok(false)
        }
    }
}
